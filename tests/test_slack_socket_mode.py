"""Socket Mode end to end: the real app connects out over a WebSocket and handles envelopes."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from hearth.bot.app import init_app
from hearth.bot.settings import Settings
from tests.fakes.slack_api import SPEC_MISSING_REASON, FakeSlackApi, spec_available
from tests.slack_helpers import (
    BOT_TOKEN,
    CHANNEL,
    FACILITATOR,
    NEWCOMER,
    TEAM,
    USERS,
    event_callback,
    load_event,
    message_text,
)
from tests.waiting import eventually

pytestmark = pytest.mark.skipif(not spec_available(), reason=SPEC_MISSING_REASON)


def acked(fake: FakeSlackApi, envelope_id: str) -> bool:
    return any(ack.get("envelope_id") == envelope_id for ack in fake.socket_acks)


async def test_socket_mode_connects_and_handles_commands_and_events(sqlite_url: str) -> None:
    async with FakeSlackApi(users=USERS) as fake:
        settings = Settings(
            database_url=sqlite_url,
            slack_bot_token=BOT_TOKEN,
            slack_app_token="xapp-1-test",
            slack_api_url=fake.base_url,
        )
        client: TestClient[Any, Any] = TestClient(TestServer(init_app(settings)))
        await client.start_server()
        try:
            await eventually(lambda: fake.socket_connected, what="the Socket Mode connection")
            assert (await client.post("/slack/events", data=b"{}")).status == 404  # no HTTP route

            command = {k: str(v) for k, v in load_event("slash_command").items()}
            command.update(
                command="/cop",
                text="setup",
                team_id=TEAM,
                channel_id=CHANNEL,
                user_id=FACILITATOR,
                response_url=fake.response_url("setup"),
            )
            await fake.socket_send(
                {"envelope_id": "e-1", "type": "slash_commands", "payload": command}
            )
            await eventually(lambda: acked(fake, "e-1"), what="the command's acknowledgement")
            await eventually(lambda: fake.responses_for("setup"), what="the setup reply")
            [reply] = fake.responses_for("setup")
            assert "is now a community" in message_text(reply)

            joined = event_callback("member_joined_channel", user=NEWCOMER, channel=CHANNEL)
            await fake.socket_send(
                {"envelope_id": "e-2", "type": "events_api", "payload": joined, "retry_attempt": 0}
            )
            await eventually(lambda: acked(fake, "e-2"), what="the event's acknowledgement")

            def welcomed() -> list[dict[str, Any]]:
                return [
                    c
                    for c in fake.calls_to("chat.postMessage", include_failed=False)
                    if c["channel"] == f"D{NEWCOMER}"
                ]

            await eventually(welcomed, what="the welcome DM")
            assert len(welcomed()) == 1
            assert [c.token for c in fake.calls if c.method == "apps.connections.open"] == [
                "xapp-1-test"
            ]
        finally:
            await client.close()
        assert fake.violations == []
