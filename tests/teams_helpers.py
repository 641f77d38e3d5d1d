"""Driving the real Hearth aiohttp app with Bot Framework activities, against the Teams fakes.

`serve_teams()` starts `init_app(Settings(...))` on a free loopback port with its Bot Framework
authentication pointed at a local OpenID stub (`BotFrameworkAuthStub`) and its outgoing calls
going to `FakeConnector` (every call checked against the shared Connector swagger).
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from botbuilder.integration.aiohttp import ConfigurationBotFrameworkAuthentication
from sqlalchemy import select

from hearth.bot.app import DATABASE, HUB, SENDER, SUPERVISOR, init_app
from hearth.bot.outbox_sender import OutboxSender
from hearth.bot.settings import Settings
from hearth.bot.teams.auth import AuthenticationFactory, ReusedCredentialsFactory
from hearth.bot.teams.messenger import TeamsMessenger
from hearth.storage.db import Database
from tests.fakes.botframework_auth import BotFrameworkAuthStub
from tests.fakes.teams_connector import (
    FakeConnector,
    FixedTokenCredentialsFactory,
    load_sample_activity,
)
from tests.recording import SettableClock
from tests.waiting import eventually  # noqa: F401 (re-exported for tests)

APP_ID = "9a1b2c3d-0000-4000-8000-00000000b07a"
APP_PASSWORD = "not-a-real-secret"
CARD = "application/vnd.microsoft.card.adaptive"

# The team of the `*_v3` samples: its General channel (= the team id) becomes the community.
TENANT = "3b9e9fbb-ed2f-415b-b776-cf788e573366"
TEAM = "19:ThreadID@thread.skype"
BOT = {"id": "28:f7c72d1a-9892-42b7-8fe0-6fb6e7c85851", "name": "TestBot"}
FRAN = {"id": "29:SAMPLEID", "name": "Fran Facilitator", "aadObjectId": "aad-fran-0001"}
BOB = {"id": "29:bob", "name": "Bob Builder", "aadObjectId": "aad-bob-0002"}
ALICE = {"id": "29:UniqueID", "name": "Alice Liddell", "aadObjectId": "aad-alice-0003"}


@dataclass
class TeamsHarness:
    """The app on `url`, its fakes, and ways to post activities and read its database."""

    url: str
    app: web.Application
    http: aiohttp.ClientSession
    connector: FakeConnector
    clock: SettableClock
    auth: BotFrameworkAuthStub | None
    credentials: FixedTokenCredentialsFactory
    """Records every outgoing credential botbuilder asked to be built."""

    @property
    def db(self) -> Database:
        return self.app[DATABASE]

    @property
    def messenger(self) -> TeamsMessenger:
        return self.app[HUB].messengers["teams"]  # type: ignore[return-value]

    @property
    def sender(self) -> OutboxSender:
        return self.app[SENDER]

    def header(self, **kwargs: Any) -> str:
        """A valid channel token for this bot and the fake connector's service URL."""
        assert self.auth is not None
        kwargs.setdefault("app_id", APP_ID)
        kwargs.setdefault("service_url", self.connector.service_url)
        return self.auth.auth_header(**kwargs)

    async def post(
        self, activity: dict[str, Any] | bytes, *, header: str | None = "valid"
    ) -> tuple[int, Any]:
        """POST to /api/messages (with a valid token unless `header` says otherwise)."""
        headers = {"Content-Type": "application/json"}
        if header == "valid":
            header = self.header() if self.auth is not None else None
        if header is not None:
            headers["Authorization"] = header
        body = activity if isinstance(activity, bytes) else json.dumps(activity).encode()
        async with self.http.post(self.url, data=body, headers=headers) as response:
            text = await response.text()
            return response.status, json.loads(text) if text else None

    async def rows(self, model: type[Any], *where: Any) -> list[Any]:
        async with self.db.transaction() as session:
            return list(await session.scalars(select(model).where(*where)))

    def sent_cards(self, conversation: str) -> list[dict[str, Any]]:
        """Adaptive Cards the bot posted into a conversation, in order."""
        return [card(a) for a in self.connector.activities(conversation)]

    def personal_chats(self) -> dict[str, dict[str, Any]]:
        """Conversations the bot created (1:1 chats) → their creation parameters."""
        return self.connector.conversations

    async def flush(self) -> None:
        """Deliver everything due now (the app's own sender may be delivering too)."""
        await self.sender.deliver_due()


def card(activity: dict[str, Any]) -> dict[str, Any]:
    """The one Adaptive Card attached to an activity the bot sent."""
    (attachment,) = activity["attachments"]
    assert attachment["contentType"] == CARD
    return attachment["content"]


def texts(adaptive_card: dict[str, Any]) -> list[str]:
    """Every TextBlock's text, in order."""
    return [e["text"] for e in adaptive_card["body"] if e["type"] == "TextBlock"]


def actions(adaptive_card: dict[str, Any]) -> list[dict[str, Any]]:
    """Every Action.Submit, in order."""
    return [a for e in adaptive_card["body"] if e["type"] == "ActionSet" for a in e["actions"]]


def authentication(
    stub: BotFrameworkAuthStub, credentials: FixedTokenCredentialsFactory
) -> AuthenticationFactory:
    """Bot Framework authentication against the local stub, with fixed outgoing tokens (built
    once each, as in production, by `ReusedCredentialsFactory`)."""

    def build(settings: Settings) -> ConfigurationBotFrameworkAuthentication:
        return ConfigurationBotFrameworkAuthentication(
            stub.bot_config(app_id=APP_ID, app_password=APP_PASSWORD),
            credentials_factory=ReusedCredentialsFactory(credentials),
        )

    return build


@asynccontextmanager
async def serve_teams(
    tmp_path: Path,
    *,
    emulator: bool = False,
    clock: SettableClock | None = None,
    stop_sender: bool = False,
    database_url: str | None = None,
) -> AsyncIterator[TeamsHarness]:
    """The real app with Teams on (authenticated, or emulator mode) on a free port.

    `stop_sender`: the app's own outbox sender stops at once, so a test can drive delivery.
    `database_url`: another database than SQLite in `tmp_path`.
    """
    clock = clock or SettableClock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    url = database_url or f"sqlite+aiosqlite:///{tmp_path}/hearth.db"
    async with (
        FakeConnector(require_auth=not emulator) as connector,
        BotFrameworkAuthStub() as stub,
        aiohttp.ClientSession() as http,
    ):
        credentials = connector.credentials_factory(APP_ID)
        if emulator:
            app = init_app(Settings(database_url=url, teams_emulator=True), clock)
        else:
            settings = Settings(
                database_url=url, microsoft_app_id=APP_ID, microsoft_app_password=APP_PASSWORD
            )
            app = init_app(settings, clock, teams_authentication=authentication(stub, credentials))
        async with running(app) as base:
            if stop_sender:
                await app[SUPERVISOR].stop_loop("outbox-sender")
            auth = None if emulator else stub
            yield TeamsHarness(
                f"{base}/api/messages", app, http, connector, clock, auth, credentials
            )
        connector.assert_no_violations()


@asynccontextmanager
async def running(app: web.Application) -> AsyncIterator[str]:
    """Serve `app` on a free loopback port; yields its base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        port = runner.addresses[0][1]
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def activity(name: str, connector: FakeConnector, **changes: Any) -> dict[str, Any]:
    """A shared sample activity with its serviceUrl on the fake connector and `changes` applied
    (top-level keys; `from_` for `from`)."""
    loaded = load_sample_activity(name, service_url=connector.service_url)
    for key, value in changes.items():
        loaded[key.rstrip("_")] = copy.deepcopy(value)
    return loaded
