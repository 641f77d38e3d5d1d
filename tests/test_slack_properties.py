"""Property: any correctly signed request to POST /slack/events, however hostile its body, gets
no 5xx, leaves no unhandled exception in the log, and changes nothing when it is refused.

The real app runs on a private event loop (tests/background.py) so that hypothesis can drive it
from a synchronous test; the community is set up first so events reach real handlers.
"""

from __future__ import annotations

import gc
import json
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hearth.bot.app import HUB, JOURNAL
from hearth.storage import journal
from tests.background import Background, background
from tests.fakes.slack_api import SPEC_MISSING_REASON, spec_available
from tests.fuzzing import DEEP, PROPERTY, crashes, fields, mutated, row_counts
from tests.slack_helpers import (
    CHANNEL,
    HearthHarness,
    load_event,
    running_hearth,
    signed_headers,
)
from tests.waiting import eventually

pytestmark = pytest.mark.skipif(not spec_available(), reason=SPEC_MISSING_REASON)

EVENTS = [
    "message_channel",
    "message_changed",
    "message_deleted",
    "message_thread_broadcast",
    "member_joined_channel",
    "member_left_channel",
    "reaction_added",
    "app_home_opened",
]
FORMS = ["slash_command", "block_actions", "view_submission"]
COMMANDS = ["help", "facilitator list", 'poll "Lunch?" "Yes" "No"', "settings", "poll list"]
READ = fields(
    "type event_id event_time team_id event event.type event.subtype event.channel event.user"
    " event.bot_id event.text event.ts event.thread_ts event.event_ts event.team"
    " event.channel_type event.message event.message.ts event.message.text"
    " event.previous_message event.deleted_ts event.item event.item.ts event.item.channel"
    " event.reaction event.tab command text team_id channel_id channel_name user_id"
    " trigger_id user user.id user.team_id team team.id channel container"
    " container.message_ts container.channel_id container.is_ephemeral actions actions.0"
    " actions.0.action_id actions.0.value actions.0.selected_option view view.callback_id"
    " view.private_metadata view.state view.state.values"
)
"""The fields Hearth reads: mutated more often than the rest."""
KEEP = ("response_url",)
"""Never mutated: a reply must go to the fake, not to a host a mutation made up."""


@pytest.fixture
def slack(database_url: str) -> Iterator[tuple[Background, HearthHarness]]:
    """The app with a community set up, on a loop of its own."""
    with background() as loop, loop.entered(running_hearth(database_url)) as harness:
        loop.run(harness.command("setup Fuzzing"))
        # the community's calendar may fire now: not what a refused request may change
        loop.run(harness.supervisor.stop_loop("scheduler"))
        yield loop, harness


def base(name: str, harness: HearthHarness, command: str) -> dict[str, Any]:
    """A realistic request of kind `name`, aimed at the community."""
    payload = load_event(name)
    if name in EVENTS:
        payload["event_id"] = f"Ev{uuid.uuid4().hex[:12].upper()}"
        if "channel" in payload["event"]:
            payload["event"]["channel"] = CHANNEL
    elif name == "slash_command":
        payload.update(command="/cop", text=command, channel_id=CHANNEL)
    else:
        payload["response_url"] = harness.fake.response_url("fuzz")
    if name == "slash_command":
        payload["response_url"] = harness.fake.response_url("fuzz")
    if name == "view_submission":
        payload["view"]["private_metadata"] = json.dumps({"channel": CHANNEL, "context": ""})
    return payload


def encode(name: str, payload: Any) -> tuple[bytes, str]:
    """The body Slack would send for a payload of kind `name`, and its content type."""
    if name == "slash_command" and isinstance(payload, dict):
        fields = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in payload.items()}
        # a lone surrogate goes out as the bytes a broken client would send: not valid UTF-8
        return urlencode(
            fields, errors="surrogatepass"
        ).encode(), "application/x-www-form-urlencoded"
    if name in FORMS:
        return urlencode(
            {"payload": json.dumps(payload)}, errors="surrogatepass"
        ).encode(), "application/x-www-form-urlencoded"
    return json.dumps(payload).encode(), "application/json"


async def settle(harness: HearthHarness) -> None:
    """Wait until the journal has stored and handled everything it took (then the hub idle)."""
    app = harness.client.app
    assert await app[JOURNAL].flush(20)  # type: ignore[index]

    async def handled() -> bool:
        async with harness.db.transaction() as session:
            return (await journal.count_by_status(session))[journal.PENDING] == 0

    await eventually(handled, what="the journal to handle what it stored")
    assert await app[HUB].drain(20)  # type: ignore[index]


def check(
    loop: Background, harness: HearthHarness, body: bytes, content_type: str, caplog: Any
) -> int:
    """Post one signed request and check the property; returns the status."""
    before = loop.run(row_counts(harness.db))
    response = loop.run(harness.post(body, signed_headers(body, content_type=content_type)))
    assert response.status < 500, (response.status, body[:300])
    loop.run(settle(harness))
    if response.status != 200:
        assert loop.run(row_counts(harness.db)) == before, body[:300]
    failures = [h for h in harness.handled if isinstance(h.outcome, BaseException)]
    assert not failures, failures
    assert not crashes(caplog.records), (crashes(caplog.records), body[:300])
    return response.status


@PROPERTY
@given(data=st.data())
def test_signed_slack_payloads_never_break_hearth(
    slack: tuple[Background, HearthHarness], caplog: pytest.LogCaptureFixture, data: st.DataObject
) -> None:
    loop, harness = slack
    name = data.draw(st.sampled_from(EVENTS + FORMS), label="kind")
    command = data.draw(st.sampled_from(COMMANDS) | st.text(max_size=30), label="command")
    payload = data.draw(mutated(base(name, harness, command), KEEP, READ), label="payload")
    body, content_type = encode(name, payload)
    check(loop, harness, body, content_type, caplog)


@PROPERTY
@given(
    body=st.binary(max_size=64)
    | st.sampled_from([d.encode() for d in DEEP])
    | st.sampled_from(DEEP).map(lambda deep: urlencode({"payload": deep}).encode()),
    content_type=st.sampled_from(["application/json", "application/x-www-form-urlencoded"]),
)
def test_signed_garbage_is_refused_without_a_trace(
    slack: tuple[Background, HearthHarness],
    caplog: pytest.LogCaptureFixture,
    body: bytes,
    content_type: str,
) -> None:
    loop, harness = slack
    status = check(loop, harness, body, content_type, caplog)
    assert status >= 400


def test_no_task_died_unseen(slack: tuple[Background, HearthHarness], caplog: Any) -> None:
    """asyncio reports a task whose exception nobody read only when it is collected."""
    loop, harness = slack
    payload = base("member_joined_channel", harness, "")
    body, content_type = encode("member_joined_channel", payload)
    assert check(loop, harness, body, content_type, caplog) == 200
    gc.collect()
    assert not crashes(caplog.records)
