"""Driving the real Hearth aiohttp app with signed Slack requests, against the fake Web API."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select
from sqlalchemy.sql import Select

from hearth.bot.app import DATABASE, HUB, SENDER, SUPERVISOR, init_app
from hearth.bot.outbox_sender import OutboxSender
from hearth.bot.settings import Settings
from hearth.bot.supervisor import Supervisor
from hearth.handlers.events import Event
from hearth.storage.db import Database
from tests.conftest import shared_path
from tests.fakes.slack_api import FakeSlackApi
from tests.recording import SettableClock
from tests.waiting import Predicate, eventually  # noqa: F401 (re-exported for tests)

SIGNING_SECRET = "hearth-test-signing-secret"
BOT_TOKEN = "xoxb-test"
TEAM = "T111"
CHANNEL = "C111"
"""The community channel: the channel of the shared slash_command / event payloads."""
FACILITATOR = "W111"
NEWCOMER = "U999"
USERS: dict[str, dict[str, Any]] = {
    FACILITATOR: {"name": "wendy", "real_name": "Wendy Owner", "tz": "Europe/London"},
    NEWCOMER: {"name": "uma", "real_name": "Uma Newcomer", "tz": "Europe/Paris"},
    "U111": {"name": "ursula", "real_name": "Ursula Poster"},
    "U222": {"name": "ulf", "real_name": "Ulf Inviter"},
    "U555": {"name": "bob", "real_name": "Bob Member"},
    "UBOT": {"name": "otherbot", "real_name": "Some Other Bot", "is_bot": True},
}


# ---------------------------------------------------------------- signing


def slack_signature(secret: str, timestamp: str, body: bytes | str) -> str:
    """Slack's request signature: `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}`."""
    raw = body.encode() if isinstance(body, str) else body
    base = b"v0:" + timestamp.encode() + b":" + raw
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(
    body: bytes,
    *,
    content_type: str = "application/json",
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
) -> dict[str, str]:
    """Headers Slack would send with `body`, signed now (or at `timestamp`)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": slack_signature(secret, stamp, body),
    }


# ---------------------------------------------------------------- time and waiting


# ---------------------------------------------------------------- payloads


def load_event(name: str) -> dict[str, Any]:
    """A payload from ../shared/specs/slack/events/<name>.json (skips when ../shared is absent)."""
    path = shared_path("specs", "slack", "events", f"{name}.json")
    return json.loads(path.read_text(encoding="utf-8"))


def event_callback(name: str, *, event_id: str | None = None, **event: Any) -> dict[str, Any]:
    """An event_callback payload from the shared file, with a fresh (or given) event_id.

    Keyword arguments replace fields of the inner `event`.
    """
    payload = copy.deepcopy(load_event(name))
    payload["event_id"] = event_id or f"Ev{uuid.uuid4().hex[:12].upper()}"
    payload["event"].update(event)
    return payload


def dm_buttons(post: Mapping[str, Any], action: str) -> list[dict[str, Any]]:
    """The button elements of a posted message whose action_id is `action#n`."""
    return [
        element
        for block in post.get("blocks") or []
        if block["type"] == "actions"
        for element in block["elements"]
        if element["action_id"].split("#")[0] == action
    ]


def message_text(message: Mapping[str, Any]) -> str:
    """Everything a person would read in a posted / responded message (text plus blocks)."""
    parts = [str(message.get("text") or "")]
    for block in message.get("blocks") or []:
        if isinstance(block.get("text"), dict):
            parts.append(block["text"]["text"])
        parts += [f["text"] for f in block.get("fields", [])]
        parts += [e["text"] for e in block.get("elements", []) if e.get("type") == "mrkdwn"]
        parts += [e["text"]["text"] for e in block.get("elements", []) if e.get("type") == "button"]
    return "\n".join(parts)


# ---------------------------------------------------------------- the running app


@dataclass
class Handled:
    """One event the hub has finished with, and its outcome."""

    event: Event
    outcome: bool | BaseException


@dataclass
class HearthHarness:
    """The real app on a free port, the fake Slack Web API and ways to talk to both."""

    client: TestClient[Any, Any]
    fake: FakeSlackApi
    clock: SettableClock | None
    handled: list[Handled] = field(default_factory=list)

    @property
    def db(self) -> Database:
        return self.client.app[DATABASE]  # type: ignore[index]

    @property
    def sender(self) -> OutboxSender:
        return self.client.app[SENDER]  # type: ignore[index]

    @property
    def supervisor(self) -> Supervisor:
        return self.client.app[SUPERVISOR]  # type: ignore[index]

    # -- requests

    async def post(self, body: bytes, headers: Mapping[str, str]) -> ClientResponse:
        """POST raw bytes with the given headers to /slack/events."""
        response = await self.client.post("/slack/events", data=body, headers=dict(headers))
        await response.read()
        return response

    async def post_json(
        self, payload: Any, *, extra_headers: Mapping[str, str] | None = None
    ) -> ClientResponse:
        """A signed JSON request (Events API)."""
        body = json.dumps(payload).encode()
        return await self.post(body, {**signed_headers(body), **(extra_headers or {})})

    async def post_form(self, fields: Mapping[str, str]) -> ClientResponse:
        """A signed form-encoded request (slash commands, interactivity)."""
        body = urlencode(fields).encode()
        headers = signed_headers(body, content_type="application/x-www-form-urlencoded")
        return await self.post(body, headers)

    async def send_event(self, payload: dict[str, Any], *, retry_num: int | None = None) -> None:
        """Deliver an event (acknowledged with 200) and wait until Hearth has handled it."""
        before = self.outcomes(payload["event_id"])
        extra = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        response = await self.post_json(payload, extra_headers=extra if retry_num else None)
        assert response.status == 200, await response.text()
        await self.wait_handled(payload["event_id"], len(before) + 1)

    async def command(
        self,
        text: str,
        *,
        user: str = FACILITATOR,
        channel: str = CHANNEL,
        channel_name: str = "random",
        token: str | None = None,
    ) -> list[dict[str, Any]]:
        """Run `/cop <text>` like slack_command.json does; returns what reached the response_url."""
        token = token or uuid.uuid4().hex
        fields = {k: str(v) for k, v in load_event("slash_command").items()}
        fields.update(
            command="/cop",
            text=text,
            user_id=user,
            user_name=str(USERS.get(user, {}).get("name", user)),
            channel_id=channel,
            channel_name=channel_name,
            response_url=self.fake.response_url(token),
        )
        count = len(self.handled)
        response = await self.post_form(fields)
        assert response.status == 200, await response.text()
        await eventually(lambda: len(self.handled) > count, what=f"/cop {text} to be handled")
        return self.fake.responses_for(token)

    async def click(self, payload: dict[str, Any]) -> None:
        """Send a block_actions payload and wait until Hearth has handled it."""
        count = len(self.handled)
        response = await self.post_form({"payload": json.dumps(payload)})
        assert response.status == 200, await response.text()
        await eventually(lambda: len(self.handled) > count, what="the click to be handled")

    # -- observing

    def outcomes(self, event_id: str) -> list[bool | BaseException]:
        return [h.outcome for h in self.handled if h.event.event_id == event_id]

    async def wait_handled(self, event_id: str, count: int = 1, timeout: float = 5.0) -> None:
        """Wait until the hub has finished with `count` deliveries of `event_id`."""
        await eventually(
            lambda: len(self.outcomes(event_id)) >= count,
            timeout,
            f"{count} deliveries of {event_id} to be handled",
        )
        errors = [o for o in self.outcomes(event_id) if isinstance(o, BaseException)]
        assert not errors, f"handling {event_id} raised {errors!r}"

    async def rows(self, query: Select[Any]) -> list[Any]:
        """Run a SELECT on the app's own database."""
        async with self.db.transaction() as session:
            return list((await session.execute(query)).all())

    async def count(self, model: type[Any], *where: Any) -> int:
        async with self.db.transaction() as session:
            return int(await session.scalar(select(func.count()).select_from(model).where(*where)))

    def posts_to(self, channel: str) -> list[dict[str, Any]]:
        """Successful chat.postMessage calls into `channel`."""
        return [
            c
            for c in self.fake.calls_to("chat.postMessage", include_failed=False)
            if c["channel"] == channel
        ]


@asynccontextmanager
async def running_hearth(
    database_url: str,
    *,
    clock: SettableClock | None = None,
    users: Mapping[str, Mapping[str, Any]] = USERS,
    supervisor: Supervisor | None = None,
) -> AsyncIterator[HearthHarness]:
    """Start the fake Web API and the real app (init_app) on free ports; stop both after."""
    async with FakeSlackApi(users=users) as fake:
        settings = Settings(
            database_url=database_url,
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=fake.base_url,
        )
        client: TestClient[Any, Any] = TestClient(
            TestServer(init_app(settings, clock=clock, supervisor=supervisor))
        )
        await client.start_server()
        try:
            harness = HearthHarness(client, fake, clock)
            _record_handling(harness)
            yield harness
        finally:
            await client.close()


def _record_handling(harness: HearthHarness) -> None:
    """Observe the hub so tests can wait for events bolt handles after acknowledging."""
    hub = harness.client.app[HUB]  # type: ignore[index]
    hub.observers.append(lambda event, outcome: harness.handled.append(Handled(event, outcome)))
