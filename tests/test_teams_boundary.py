"""The Teams boundary, cause by cause: wrong shapes are 400s that change nothing, a header that
is not ASCII is a 401, ids fit their columns, and the signing keys never stall the event loop."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

pytest.importorskip("botbuilder.integration.aiohttp", reason="botbuilder is not installed")

from tests.fakes.teams_connector import require_teams_specs

require_teams_specs()

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402
from botbuilder.integration.aiohttp import ConfigurationBotFrameworkAuthentication  # noqa: E402

from hearth.bot.app import init_app  # noqa: E402
from hearth.bot.settings import Settings  # noqa: E402
from hearth.bot.teams.auth import ReusedCredentialsFactory  # noqa: E402
from hearth.storage.models import InboundEvent  # noqa: E402
from tests.fakes._loopback import LoopbackServer  # noqa: E402
from tests.fakes.botframework_auth import BotAuthConfig, BotFrameworkAuthStub  # noqa: E402
from tests.fakes.teams_connector import FakeConnector  # noqa: E402
from tests.fuzzing import crashes, row_counts  # noqa: E402
from tests.teams_helpers import (  # noqa: E402
    APP_ID,
    APP_PASSWORD,
    TeamsHarness,
    activity,
    eventually,
    running,
    serve_teams,
)

ADAPTER = "hearth.bot.teams.adapter"


@pytest.fixture
async def teams(tmp_path: Path, database_url: str) -> AsyncIterator[TeamsHarness]:
    async with serve_teams(tmp_path, database_url=database_url) as harness:
        yield harness


def personal(h: TeamsHarness, **changes: Any) -> dict[str, Any]:
    return activity("message__personal_aad_object_id_v3", h.connector, text="help", **changes)


def _with(h: TeamsHarness, path: str, value: Any) -> dict[str, Any]:
    sent = personal(h)
    *parents, last = path.split(".")
    holder = sent
    for step in parents:
        holder = holder.setdefault(step, {})
    holder[last] = copy.deepcopy(value)
    return sent


CAUSES: dict[str, tuple[str, Any]] = {
    "timestamp before year 1": ("timestamp", "0001-01-01T00:00:00+01:00"),
    "timestamp after year 9999": ("timestamp", "9999-12-31T23:59:59-01:00"),
    "timestamp not a date": ("timestamp", "2026-02-30T10:00:00Z"),
    "NUL in text": ("text", "help\x00"),
    "lone surrogate in text": ("text", "help \ud800"),
    "NUL in a field Hearth ignores": ("locale", "en\x00"),
    "text a list": ("text", ["help"]),
    "sender id longer than its column": ("from.id", "29:" + "x" * 300),
    "member id longer than its column": ("from.aadObjectId", "a" * 300),
    "conversation id longer than its column": ("conversation.id", "a:" + "x" * 300),
    "tenant an int": ("conversation.tenantId", 5),
    "entities not a list": ("entities", {"type": "mention"}),
    "mention not an object": ("entities", [{"type": "mention", "mentioned": "someone"}]),
    "membersAdded of strings": ("membersAdded", ["29:bob"]),
    "isGroup a string": ("conversation.isGroup", "yes"),
    "team not an object": ("channelData.team", "19:team"),
    "channel name too long for #name": ("channelData.channel", {"id": "19:c", "name": "c" * 255}),
}


@pytest.mark.parametrize("cause", list(CAUSES))
async def test_each_named_cause_is_a_400_logged_once_that_changes_nothing(
    teams: TeamsHarness, caplog: pytest.LogCaptureFixture, cause: str
) -> None:
    caplog.set_level(logging.INFO, logger=ADAPTER)
    path, value = CAUSES[cause]
    before = await row_counts(teams.db)
    status, answer = await teams.post(_with(teams, path, value))
    assert status == 400, answer
    assert "error" in answer
    assert await row_counts(teams.db) == before
    assert teams.connector.calls == ()
    refusals = [r for r in caplog.records if r.name == ADAPTER and "refused" in r.getMessage()]
    assert len(refusals) == 1 and refusals[0].exc_info is None
    assert not crashes(caplog.records)


@pytest.mark.parametrize(
    "deep", ["[" * 100_000 + "]" * 100_000, '{"a":' * 100_000 + "1" + "}" * 100_000]
)
async def test_json_nested_100000_deep_is_a_400(
    teams: TeamsHarness, deep: str, caplog: Any
) -> None:
    status, answer = await teams.post(deep.encode())
    assert status == 400 and "nested" in answer["error"]
    assert not crashes(caplog.records)


async def test_long_ids_still_give_an_event_id_that_fits_its_column(teams: TeamsHarness) -> None:
    """Conversation, type and activity id together pass 255 characters: the key is hashed."""
    sent = personal(teams, id="1" * 200)
    sent["conversation"]["id"] = "a:" + "x" * 200
    status, _ = await teams.post(sent)
    assert status == 200
    [row] = await teams.rows(InboundEvent)
    assert row.event_id.startswith("sha256:") and len(row.event_id) <= 255
    assert (await teams.post(sent))[0] == 200  # the repeat is recognised by the same key
    assert len(await teams.rows(InboundEvent)) == 1


async def test_a_latin1_byte_in_authorization_is_401(teams: TeamsHarness) -> None:
    body = json.dumps(personal(teams)).encode()
    where = urlsplit(teams.url)
    reader, writer = await asyncio.open_connection(where.hostname, where.port)
    writer.write(
        b"POST /api/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer ey\xe9.x.y\r\nConnection: close\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    await writer.wait_closed()
    assert status_line.split()[1] == b"401", status_line
    assert await teams.rows(InboundEvent) == []


async def test_signing_keys_are_fetched_once_and_cached(teams: TeamsHarness) -> None:
    assert teams.auth is not None
    for n in range(3):
        assert (await teams.post(personal(teams, id=f"activity-{n}")))[0] == 200
    assert (teams.auth.metadata_fetches, teams.auth.jwks_fetches) == (1, 1)


class HeldMetadata:
    """An OpenID metadata endpoint that answers (500) only when the test lets it."""

    def __init__(self) -> None:
        self.requests = 0
        self.release = threading.Event()
        app = web.Application()
        app.router.add_get("/metadata", self._metadata)
        self.server = LoopbackServer(app, name="held-metadata")

    @property
    def url(self) -> str:
        return f"{self.server.base_url}/metadata"

    async def _metadata(self, request: web.Request) -> web.Response:
        self.requests += 1
        await asyncio.to_thread(self.release.wait, 30)
        return web.json_response({"error": "unavailable"}, status=500)


async def test_a_key_fetch_that_fails_never_stalls_other_requests(tmp_path: Path) -> None:
    """A token naming the channel issuer makes Hearth fetch the keys: /healthz answers while the
    fetch hangs, the request gets 503 when it fails, and the next one 503 without a new fetch."""
    held = HeldMetadata()
    stub = BotFrameworkAuthStub()  # mints tokens only; its keys are not the held endpoint's

    def authentication(settings: Settings) -> ConfigurationBotFrameworkAuthentication:
        config = BotAuthConfig(
            APP_ID=APP_ID,
            APP_PASSWORD=APP_PASSWORD,
            TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL=held.url,
            TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL=held.url,
        )
        return ConfigurationBotFrameworkAuthentication(
            config, credentials_factory=ReusedCredentialsFactory(credentials)
        )

    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/hearth.db",
        microsoft_app_id=APP_ID,
        microsoft_app_password=APP_PASSWORD,
    )
    async with held.server, FakeConnector() as connector:
        credentials = connector.credentials_factory(APP_ID)
        app = init_app(settings, teams_authentication=authentication)
        async with running(app) as base, aiohttp.ClientSession() as http:
            await held_fetch_never_stalls(base, http, connector, stub, held)


async def held_fetch_never_stalls(
    base: str,
    http: aiohttp.ClientSession,
    connector: FakeConnector,
    stub: BotFrameworkAuthStub,
    held: HeldMetadata,
) -> None:
    sent = activity("message__personal_aad_object_id_v3", connector, text="help")
    header = stub.auth_header(app_id=APP_ID, service_url=connector.service_url)

    async def post() -> int:
        url = f"{base}/api/messages"
        async with http.post(url, json=sent, headers={"Authorization": header}) as response:
            return response.status

    first = asyncio.create_task(post())
    await eventually(lambda: held.requests == 1, what="the key fetch to start")
    async with http.get(f"{base}/healthz") as health:
        assert health.status == 200
    assert not first.done()  # the event loop served /healthz while the fetch hung
    held.release.set()
    assert await first == 503
    assert await post() == 503  # the failure is remembered: no second fetch
    assert held.requests == 1
