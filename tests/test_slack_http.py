"""End to end on Slack: signed HTTP requests into the real aiohttp app, the Web API a spec-checked
fake. Bolt handles events after acknowledging them, so tests wait (bounded polling) for effects."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from hearth.bot.app import JOURNAL
from hearth.handlers.community import DEFAULT_SEGMENTS
from hearth.storage import outbox
from hearth.storage.models import (
    Community,
    Facilitator,
    InboundEvent,
    Member,
    Message,
    OutboxMessage,
)
from tests.conftest import shared_path
from tests.fakes.slack_api import BOT_ID, BOT_USER_ID, SPEC_MISSING_REASON, spec_available
from tests.slack_helpers import (
    CHANNEL,
    FACILITATOR,
    NEWCOMER,
    TEAM,
    HearthHarness,
    SettableClock,
    dm_buttons,
    event_callback,
    eventually,
    load_event,
    message_text,
    running_hearth,
    signed_headers,
    slack_signature,
)

pytestmark = pytest.mark.skipif(not spec_available(), reason=SPEC_MISSING_REASON)

DM = "D" + NEWCOMER  # the fake names a DM after its user
START = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # a Tuesday morning; the welcome post is at 16:00


@pytest.fixture
async def hearth(database_url: str) -> AsyncIterator[HearthHarness]:
    """The app with the real clock, on SQLite and on PostgreSQL (when reachable)."""
    async with running_hearth(database_url) as harness:
        yield harness
        assert harness.fake.violations == []


@pytest.fixture
async def sqlite_hearth(sqlite_url: str) -> AsyncIterator[HearthHarness]:
    """The app on SQLite only: for request-shape tests that do not depend on the backend."""
    async with running_hearth(sqlite_url) as harness:
        yield harness
        assert harness.fake.violations == []


@pytest.fixture
async def clocked(database_url: str) -> AsyncIterator[HearthHarness]:
    """The app with a clock that moves only when the test says so, on each backend."""
    async with running_hearth(database_url, clock=SettableClock(START)) as harness:
        yield harness
        assert harness.fake.violations == []


async def set_up_community(hearth: HearthHarness) -> list[dict[str, Any]]:
    """`/cop setup` in C111 by W111; returns the response_url replies."""
    replies = await hearth.command("setup Sharing delivery practice")
    await eventually(lambda: hearth.fake.calls_to("conversations.join"), what="the bot to join")
    return replies


async def join(hearth: HearthHarness, user: str = NEWCOMER, **event: Any) -> dict[str, Any]:
    """Deliver member_joined_channel for `user` into the community channel; returns the payload."""
    payload = event_callback("member_joined_channel", **{"user": user, "channel": CHANNEL, **event})
    await hearth.send_event(payload)
    return payload


async def welcome_row(hearth: HearthHarness, user: str = NEWCOMER) -> OutboxMessage:
    """The (single) welcome-DM outbox row of `user`."""
    rows = await hearth.rows(
        select(OutboxMessage)
        .join(Member, Member.id == OutboxMessage.member_id)
        .where(OutboxMessage.kind == "welcome", Member.user_id == user)
    )
    assert len(rows) == 1, rows
    return rows[0][0]


async def stored_messages(hearth: HearthHarness) -> dict[str, Message]:
    return {row[0].message_id: row[0] for row in await hearth.rows(select(Message))}


# ---------------------------------------------------------------- signing and request shape


def test_signer_matches_slacks_test_vector() -> None:
    vector = json.loads(shared_path("specs", "slack", "signing_test_vector.json").read_text())
    headers = vector["headers"]
    signature = slack_signature(
        vector["signing_secret"], headers["X-Slack-Request-Timestamp"], vector["raw_body"]
    )
    assert signature == vector["expected_signature"] == headers["X-Slack-Signature"]
    tampered = vector["negative_cases"][0]["raw_body"]
    assert slack_signature(vector["signing_secret"], "1531420618", tampered) != signature


async def test_url_verification_returns_the_challenge(sqlite_hearth: HearthHarness) -> None:
    payload = load_event("url_verification")
    response = await sqlite_hearth.post_json(payload)
    assert response.status == 200
    assert (await response.json())["challenge"] == payload["challenge"]


async def test_healthz(sqlite_hearth: HearthHarness) -> None:
    response = await sqlite_hearth.client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"ok": True}


@pytest.mark.parametrize(
    "tamper",
    ["missing", "wrong", "stale", "future", "wrong_secret", "garbage_timestamp"],
)
async def test_unsigned_or_badly_signed_requests_are_refused(
    sqlite_hearth: HearthHarness, tamper: str
) -> None:
    payload = event_callback("member_joined_channel", user=NEWCOMER)
    body = json.dumps(payload).encode()
    now = int(time.time())
    headers = {
        "missing": {"Content-Type": "application/json"},
        "wrong": {**signed_headers(body), "X-Slack-Signature": "v0=" + "0" * 64},
        "stale": signed_headers(body, timestamp=now - 5 * 60 - 30),
        "future": signed_headers(body, timestamp=now + 5 * 60 + 30),
        "wrong_secret": signed_headers(body, secret="not-the-secret"),
        "garbage_timestamp": {**signed_headers(body), "X-Slack-Request-Timestamp": "soon"},
    }[tamper]
    response = await sqlite_hearth.post(body, headers)
    assert response.status == 401
    # a slash command signed with the wrong secret is refused too
    form = b"command=%2Fcop&text=setup&team_id=T111&channel_id=C111&user_id=W111"
    bad_form = signed_headers(
        form, content_type="application/x-www-form-urlencoded", secret="not-the-secret"
    )
    assert (await sqlite_hearth.post(form, bad_form)).status == 401
    for model in (InboundEvent, Member, Message, Community, OutboxMessage):
        assert await sqlite_hearth.count(model) == 0, model.__name__
    assert [c.method for c in sqlite_hearth.fake.calls] == ["auth.test"]  # only at start-up
    assert sqlite_hearth.handled == []


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"type": "event_callback", "event": ', "application/json"),  # malformed JSON
        (b"[1, 2, 3]", "application/json"),  # a JSON list
        (b"", "application/json"),  # empty
        (b"\xff\xfe not utf-8", "application/json"),
        (b'"just a string"', "application/json"),
        (b"payload=%7Bnot-json", "application/x-www-form-urlencoded"),
        (b"payload=%5B%5D", "application/x-www-form-urlencoded"),
        (b'{"type": "something_new_from_slack"}', "application/json"),  # unknown type
        (b'{"type": "event_callback", "event_id": "Ev1"}', "application/json"),  # no event
        (b'{"type": "event_callback", "event": "nope"}', "application/json"),
        (  # an event Hearth listens to, without the fields it needs
            b'{"type": "event_callback", "event_id": "Ev2", "event": {"type": "message"}}',
            "application/json",
        ),
        (b'{"type": "block_actions"}', "application/json"),
        (b"command=%2Fsomething-else&text=hi", "application/x-www-form-urlencoded"),
    ],
)
async def test_malformed_signed_requests_get_4xx_never_500(
    sqlite_hearth: HearthHarness, body: bytes, content_type: str
) -> None:
    response = await sqlite_hearth.post(body, signed_headers(body, content_type=content_type))
    assert 400 <= response.status < 500, (response.status, await response.text())
    for model in (InboundEvent, Member, Message, Community):
        assert await sqlite_hearth.count(model) == 0, model.__name__
    assert sqlite_hearth.handled == []


async def test_malformed_json_is_400(sqlite_hearth: HearthHarness) -> None:
    body = b'{"type": "event_callback", "event": {'
    response = await sqlite_hearth.post(body, signed_headers(body))
    assert response.status == 400
    assert "malformed" in (await response.json())["error"]


# ---------------------------------------------------------------- /cop


async def test_cop_setup_creates_the_community_and_joins(hearth: HearthHarness) -> None:
    replies = await set_up_community(hearth)
    [community] = [row[0] for row in await hearth.rows(select(Community))]
    assert (community.platform, community.workspace, community.channel) == ("slack", TEAM, CHANNEL)
    assert community.name == "#random"
    assert community.purpose == "Sharing delivery practice"
    assert hearth.fake.calls_to("conversations.join") == [{"channel": CHANNEL}]
    facilitators = await hearth.rows(
        select(Member.user_id).join(Facilitator, Facilitator.member_id == Member.id)
    )
    assert [f[0] for f in facilitators] == [FACILITATOR]
    [reply] = replies
    assert reply["response_type"] == "ephemeral"
    assert reply["replace_original"] is False
    assert "#random is now a community" in message_text(reply)
    assert [c["user"] for c in hearth.fake.calls_to("users.info")] == [FACILITATOR]
    # a second setup is refused, politely and privately
    [again] = await hearth.command("setup")
    assert "already a community" in message_text(again)
    assert await hearth.count(Community) == 1


async def test_cop_unknown_subcommand_gets_a_usage_hint(hearth: HearthHarness) -> None:
    await set_up_community(hearth)
    [reply] = await hearth.command("nonsense")
    assert reply["response_type"] == "ephemeral"
    assert "`nonsense`" in reply["text"]
    assert "/cop help" in reply["text"]


async def test_cop_facilitator_add_by_a_non_facilitator_is_refused(
    hearth: HearthHarness,
) -> None:
    await set_up_community(hearth)
    [reply] = await hearth.command("facilitator add <@U222|ulf>", user="U555")
    assert reply["response_type"] == "ephemeral"
    assert "only facilitators of #random" in reply["text"]
    assert await hearth.count(Facilitator) == 1
    # ... while the facilitator may, once Ulf is a member (a facilitator must be one)
    [unseen] = await hearth.command("facilitator add <@U222|ulf>")
    assert "I haven't seen Ulf Inviter in #random" in unseen["text"]
    await join(hearth, "U222")
    [done] = await hearth.command("facilitator add <@U222|ulf>")
    assert "<@U222> is now a facilitator of #random" in done["text"]
    assert await hearth.count(Facilitator) == 2


async def test_cop_help_lists_the_commands(hearth: HearthHarness) -> None:
    [reply] = await hearth.command("help", channel="C777", channel_name="elsewhere")
    text = message_text(reply)
    for usage in ("/cop help", "/cop setup", "/cop facilitator list"):
        assert usage in text
    assert "*Community*" in text and "*Polls and surveys*" in text
    assert "/cop facilitator add" not in text  # U555 facilitates no community
    assert "`/cop help &lt;command&gt;` tells you more" in text


async def test_cop_in_a_channel_that_is_not_a_community(hearth: HearthHarness) -> None:
    [reply] = await hearth.command("facilitator list", channel="C777")
    assert "isn't a community yet" in reply["text"]


# ---------------------------------------------------------------- welcome DM


async def test_newcomer_gets_exactly_one_welcome_dm(hearth: HearthHarness) -> None:
    await set_up_community(hearth)
    payload = await join(hearth)
    await eventually(lambda: hearth.posts_to(DM), what="the welcome DM")

    assert {"user": NEWCOMER} in hearth.fake.calls_to("users.info")
    assert hearth.fake.calls_to("conversations.open") == [{"users": NEWCOMER}]
    [dm] = hearth.posts_to(DM)
    assert dm["text"].startswith("Hi Uma, welcome to #random!")
    assert "Sharing delivery practice" in message_text(dm)
    assert "<@W111>" in message_text(dm)  # the facilitator is named
    segments = dm_buttons(dm, "welcome.segment")
    assert [b["text"]["text"] for b in segments] == DEFAULT_SEGMENTS
    action_ids = [b["action_id"] for b in dm_buttons(dm, "welcome.interest") + segments]
    assert len(set(action_ids)) == len(action_ids)  # Slack wants them unique per message
    await eventually(lambda: _status(hearth, outbox.SENT), what="the row to be marked sent")
    row = await welcome_row(hearth)
    assert (row.sent_conversation, row.sent_message_id) == (
        DM,
        hearth.fake.channel_messages(DM)[0]["ts"],
    )

    # Slack retries the same delivery: acknowledged, dropped
    await hearth.send_event(payload, retry_num=1)
    assert hearth.outcomes(payload["event_id"]) == [True, False]
    assert await hearth.count(InboundEvent, InboundEvent.event_id == payload["event_id"]) == 1
    await welcome_row(hearth)
    assert await hearth.sender.deliver_due() == 0
    assert len(hearth.posts_to(DM)) == 1


async def test_a_full_backlog_answers_503_and_the_redelivery_is_handled_once(
    sqlite_hearth: HearthHarness,
) -> None:
    journal = sqlite_hearth.client.app[JOURNAL]  # type: ignore[index]
    await set_up_community(sqlite_hearth)
    payload = event_callback("member_joined_channel", user=NEWCOMER, channel=CHANNEL)
    journal.backlog_limit = 0  # Hearth is as far behind as it will go
    response = await sqlite_hearth.post_json(payload)
    assert response.status == 503  # not acknowledged: Slack delivers it again
    assert sqlite_hearth.outcomes(payload["event_id"]) == []
    assert (
        await sqlite_hearth.count(InboundEvent, InboundEvent.event_id == payload["event_id"]) == 0
    )

    journal.backlog_limit = 100
    await sqlite_hearth.send_event(payload, retry_num=1)
    await sqlite_hearth.send_event(payload, retry_num=2)
    assert sqlite_hearth.outcomes(payload["event_id"]) == [True, False]
    await eventually(lambda: sqlite_hearth.posts_to(DM), what="the welcome DM")
    assert len(sqlite_hearth.posts_to(DM)) == 1


async def test_leaving_and_rejoining_is_not_new(hearth: HearthHarness) -> None:
    await set_up_community(hearth)
    await join(hearth)
    await eventually(lambda: hearth.posts_to(DM), what="the welcome DM")
    left = event_callback("member_left_channel", user=NEWCOMER, channel=CHANNEL)
    await hearth.send_event(left)
    await join(hearth)
    await welcome_row(hearth)  # still exactly one
    assert await hearth.sender.deliver_due() == 0
    assert len(hearth.posts_to(DM)) == 1
    assert len(hearth.fake.calls_to("conversations.open")) == 1


async def test_a_bot_joining_gets_no_dm(hearth: HearthHarness) -> None:
    await set_up_community(hearth)
    await join(hearth, user="UBOT")
    [[member]] = await hearth.rows(select(Member).where(Member.user_id == "UBOT"))
    assert member.is_bot
    assert await hearth.count(OutboxMessage, OutboxMessage.member_id == member.id) == 0
    assert await hearth.sender.deliver_due() == 0
    assert hearth.fake.calls_to("conversations.open") == []
    assert hearth.fake.calls_to("chat.postMessage") == []


async def test_joining_a_channel_that_is_not_a_community(hearth: HearthHarness) -> None:
    await set_up_community(hearth)
    await join(hearth, channel="C777")
    assert await hearth.count(OutboxMessage) == 0
    assert {"user": NEWCOMER} not in hearth.fake.calls_to("users.info")


async def test_ten_concurrent_deliveries_send_one_dm(database_url: str) -> None:
    """Slack retrying while the first delivery is still in flight: one DM, on both backends."""
    async with running_hearth(database_url) as hearth:
        await set_up_community(hearth)
        payload = event_callback("member_joined_channel", user=NEWCOMER, channel=CHANNEL)
        responses = await asyncio.gather(
            *(
                hearth.post_json(
                    payload,
                    extra_headers={"X-Slack-Retry-Num": str(n)} if n else None,
                )
                for n in range(10)
            )
        )
        assert [r.status for r in responses] == [200] * 10
        journal = hearth.client.app[JOURNAL]  # type: ignore[index]
        await eventually(  # a copy that finds the first still in the journal stops there
            lambda: len(hearth.outcomes(payload["event_id"])) + journal.counts.duplicates == 10
        )
        outcomes = hearth.outcomes(payload["event_id"])
        assert sorted(outcomes) == [False] * (len(outcomes) - 1) + [True]
        await eventually(lambda: hearth.posts_to(DM), what="the welcome DM")
        await welcome_row(hearth)
        assert await hearth.sender.deliver_due() == 0
        assert len(hearth.posts_to(DM)) == 1
        assert len(hearth.fake.calls_to("conversations.open")) == 1
        assert await hearth.count(InboundEvent) == 1
        assert hearth.fake.violations == []


# ---------------------------------------------------------------- buttons


async def test_choosing_a_segment_updates_the_dm(hearth: HearthHarness) -> None:
    await set_up_community(hearth)
    await join(hearth)
    await eventually(lambda: hearth.posts_to(DM), what="the welcome DM")
    [posted] = hearth.posts_to(DM)
    [message] = hearth.fake.channel_messages(DM)
    button = dm_buttons(posted, "welcome.segment")[1]

    click = load_event("block_actions")
    click["user"] = {"id": NEWCOMER, "username": "uma", "name": "uma", "team_id": TEAM}
    click["container"] = {
        "type": "message",
        "message_ts": message["ts"],
        "channel_id": DM,
        "is_ephemeral": False,
    }
    click["channel"] = {"id": DM, "name": "directmessage"}
    click["response_url"] = hearth.fake.response_url("click")
    click["actions"][0].update(
        action_id=button["action_id"], value=button["value"], text=button["text"]
    )
    await hearth.click(click)

    await eventually(lambda: hearth.fake.calls_to("chat.update"), what="the DM to be updated")
    [update] = hearth.fake.calls_to("chat.update")
    assert (update["channel"], update["ts"]) == (DM, message["ts"])
    labels = [b["text"]["text"] for b in dm_buttons(update, "welcome.segment")]
    assert labels[1] == f"✓ {DEFAULT_SEGMENTS[1]}"
    assert [label for label in labels if label.startswith("✓")] == [labels[1]]
    assert dm_buttons(update, "welcome.segment")[1]["style"] == "primary"
    [[member]] = await hearth.rows(select(Member).where(Member.user_id == NEWCOMER))
    assert member.segment == DEFAULT_SEGMENTS[1]
    assert hearth.fake.messages[(DM, message["ts"])]["blocks"] == update["blocks"]
    assert hearth.fake.responses_for("click") == []


async def test_an_unknown_button_gets_a_private_apology(sqlite_hearth: HearthHarness) -> None:
    click = load_event("block_actions")
    click["response_url"] = sqlite_hearth.fake.response_url("stale")
    await sqlite_hearth.click(click)
    [reply] = sqlite_hearth.fake.responses_for("stale")
    assert "no longer does anything" in reply["text"]
    assert reply["replace_original"] is False


# ---------------------------------------------------------------- message memory


async def test_channel_messages_are_remembered(hearth: HearthHarness) -> None:
    await set_up_community(hearth)
    top = event_callback("message_channel", channel=CHANNEL)
    await hearth.send_event(top)
    reply = event_callback(
        "message_channel",
        channel=CHANNEL,
        user="U111",
        text="A reply in the thread",
        ts="1596183990.000100",
        event_ts="1596183990.000100",
        thread_ts=top["event"]["ts"],
    )
    await hearth.send_event(reply)
    broadcast = event_callback("message_thread_broadcast", channel=CHANNEL)
    await hearth.send_event(broadcast)
    edited_ts = load_event("message_changed")["event"]["previous_message"]["ts"]
    original = event_callback(
        "message_channel",
        channel=CHANNEL,
        user="U222",
        text="original message",
        ts=edited_ts,
        event_ts=edited_ts,
    )
    await hearth.send_event(original)
    await hearth.send_event(event_callback("message_changed", channel=CHANNEL))
    deleted_ts = load_event("message_deleted")["event"]["deleted_ts"]
    doomed = event_callback(
        "message_channel",
        channel=CHANNEL,
        user="U111",
        text="Delete this message",
        ts=deleted_ts,
        event_ts=deleted_ts,
    )
    await hearth.send_event(doomed)
    await hearth.send_event(event_callback("message_deleted", channel=CHANNEL))
    elsewhere = event_callback("message_channel", channel="C777", ts="1596184000.000100")
    await hearth.send_event(elsewhere)

    members = {m[0].id: m[0].user_id for m in await hearth.rows(select(Member))}
    stored = await stored_messages(hearth)
    assert set(stored) == {
        top["event"]["ts"],
        reply["event"]["ts"],
        broadcast["event"]["ts"],
        edited_ts,
        deleted_ts,
    }

    first = stored[top["event"]["ts"]]
    assert (members[first.member_id], first.text, first.thread_id) == ("W111", "Hello World!", None)
    assert first.posted_at == datetime.fromtimestamp(1596183880.0042, UTC)
    assert not first.from_bot

    in_thread = stored[reply["event"]["ts"]]
    assert (members[in_thread.member_id], in_thread.thread_id) == ("U111", top["event"]["ts"])

    broadcast_row = stored[broadcast["event"]["ts"]]
    assert broadcast_row.thread_id == broadcast["event"]["thread_ts"]
    assert broadcast_row.text == "Hi there!"

    edited = stored[edited_ts]
    assert edited.text == "updated message"
    assert edited.edited_at == datetime.fromtimestamp(1665102362.0136, UTC)
    assert members[edited.member_id] == "U222"  # the author stays the author

    gone = stored[deleted_ts]
    assert gone.text is None
    assert gone.deleted_at == datetime.fromtimestamp(1665368629.0071, UTC)
    assert members[gone.member_id] == "U111"


async def test_a_burst_of_messages_is_stored_once_each(hearth: HearthHarness) -> None:
    """Many messages at once, some delivered twice while the first copy is in flight."""
    await set_up_community(hearth)
    authors = ["W111", "U111", "U222", "U555"]
    payloads = [
        event_callback(
            "message_channel",
            channel=CHANNEL,
            user=authors[n % len(authors)],
            text=f"message {n}",
            ts=f"1700000000.{n:06d}",
            event_ts=f"1700000000.{n:06d}",
        )
        for n in range(60)
    ]
    retried = payloads[::4]
    responses = await asyncio.gather(*(hearth.post_json(p) for p in payloads + retried))
    assert {r.status for r in responses} == {200}
    journal = hearth.client.app[JOURNAL]  # type: ignore[index]
    for payload in payloads:
        await hearth.wait_handled(payload["event_id"])
    await eventually(  # a copy that found the first still in the journal stopped there
        lambda: (
            sum(len(hearth.outcomes(p["event_id"])) for p in payloads)
            == len(payloads) + len(retried) - journal.counts.duplicates
        )
    )
    for payload in payloads:
        assert sorted(hearth.outcomes(payload["event_id"]), reverse=True)[0] is True
        assert hearth.outcomes(payload["event_id"]).count(True) == 1
    members = {m[0].id: m[0].user_id for m in await hearth.rows(select(Member))}
    stored = await stored_messages(hearth)
    assert len(stored) == len(payloads)
    for n, payload in enumerate(payloads):
        row = stored[payload["event"]["ts"]]
        assert (row.text, members[row.member_id]) == (f"message {n}", authors[n % len(authors)])
    assert await hearth.count(InboundEvent) == len(payloads)


async def test_hearths_own_messages_are_acknowledged_and_not_handled(
    hearth: HearthHarness,
) -> None:
    """The app's own events are dropped (bolt's self-event check) before the journal."""
    await set_up_community(hearth)
    own = event_callback(
        "message_channel", channel=CHANNEL, user=BOT_USER_ID, bot_id=BOT_ID, text="Welcome!"
    )
    response = await hearth.post_json(own)
    assert response.status == 200
    after = event_callback("message_channel", channel=CHANNEL, ts="1596184100.000100")
    await hearth.send_event(after)  # handled in arrival order: the first is long decided
    assert hearth.outcomes(own["event_id"]) == []
    assert await hearth.count(InboundEvent, InboundEvent.event_id == own["event_id"]) == 0


async def test_messages_outside_communities_are_not_stored(hearth: HearthHarness) -> None:
    await hearth.send_event(event_callback("message_channel", channel="C777"))
    await hearth.send_event(event_callback("message_thread_broadcast", channel="C777"))
    assert await hearth.count(Message) == 0
    assert await hearth.count(Member) == 0
    assert hearth.fake.calls_to("users.info") == []


# ---------------------------------------------------------------- the outbox


async def test_daily_welcome_post_goes_out_at_four(clocked: HearthHarness) -> None:
    clock = clocked.clock
    assert clock is not None
    await set_up_community(clocked)
    await join(clocked)
    await join(clocked, user="U555")
    await eventually(lambda: len(clocked.posts_to(DM) + clocked.posts_to("DU555")) == 2)
    [[post]] = await clocked.rows(select(OutboxMessage).where(OutboxMessage.kind == "welcome_post"))
    assert post.due_at == START.replace(hour=16)
    assert post.status == outbox.PENDING
    assert await clocked.sender.deliver_due() == 0
    assert clocked.posts_to(CHANNEL) == []

    clock.set(START.replace(hour=16, second=1))
    clocked.sender.wake()
    await eventually(lambda: clocked.posts_to(CHANNEL), what="the welcome post")
    [sent] = clocked.posts_to(CHANNEL)
    assert sent["text"] == "🎉 Please welcome our newest members: <@U999> and <@U555>!"
    assert "thread_ts" not in sent

    async def post_sent() -> bool:
        rows = await clocked.rows(select(OutboxMessage).where(OutboxMessage.id == post.id))
        return rows[0][0].status == outbox.SENT

    await eventually(post_sent, what="the post to be marked sent")
    [[post]] = await clocked.rows(select(OutboxMessage).where(OutboxMessage.id == post.id))
    assert post.sent_conversation == CHANNEL
    assert await clocked.sender.deliver_due() == 0
    assert len(clocked.posts_to(CHANNEL)) == 1


async def test_rate_limited_dm_waits_for_retry_after(clocked: HearthHarness) -> None:
    clock = clocked.clock
    assert clock is not None
    await set_up_community(clocked)
    clocked.fake.fail_next("chat.postMessage", status=429, retry_after=1)
    await join(clocked)
    await eventually(lambda: clocked.fake.calls_to("chat.postMessage"), what="the first try")
    await eventually(lambda: _attempted(clocked, 1), what="the 429 to be recorded")
    row = await welcome_row(clocked)
    assert row.status == outbox.PENDING
    assert row.due_at == START + timedelta(seconds=1)
    assert "rate limited" in (row.last_error or "")
    assert await clocked.sender.deliver_due() == 0  # not before Retry-After
    assert clocked.posts_to(DM) == []

    clock.advance(seconds=1)
    clocked.sender.wake()
    await eventually(lambda: clocked.posts_to(DM), what="the retried DM")
    await eventually(lambda: _status(clocked, outbox.SENT), what="the row to be marked sent")
    assert await clocked.sender.deliver_due() == 0
    assert len(clocked.posts_to(DM)) == 1
    assert len(clocked.fake.calls_to("chat.postMessage")) == 2
    assert (await welcome_row(clocked)).attempts == 2


async def test_server_error_is_retried_later(clocked: HearthHarness) -> None:
    clock = clocked.clock
    assert clock is not None
    await set_up_community(clocked)
    clocked.fake.fail_next("chat.postMessage", status=500)
    await join(clocked)
    await eventually(lambda: _attempted(clocked, 1), what="the 500 to be recorded")
    row = await welcome_row(clocked)
    assert row.status == outbox.PENDING
    assert row.last_error == "internal_error"
    assert START + timedelta(seconds=1) <= row.due_at <= START + timedelta(seconds=3)
    assert await clocked.sender.deliver_due() == 0
    assert clocked.posts_to(DM) == []

    clock.advance(seconds=5)
    clocked.sender.wake()
    await eventually(lambda: _status(clocked, outbox.SENT), what="the retried DM")
    assert await clocked.sender.deliver_due() == 0
    assert len(clocked.posts_to(DM)) == 1


async def test_a_post_slack_took_before_a_lost_answer_is_not_posted_again(
    clocked: HearthHarness,
) -> None:
    """Slack posted the DM but answered 500: the retry finds it by its metadata instead."""
    clock = clocked.clock
    assert clock is not None
    await set_up_community(clocked)
    clocked.fake.fail_next("chat.postMessage", status=500, after_handling=True)
    await join(clocked)
    await eventually(lambda: _attempted(clocked, 1), what="the 500 to be recorded")
    assert len(clocked.fake.channel_messages(DM)) == 1  # it did land
    assert (await welcome_row(clocked)).status == outbox.PENDING

    clock.advance(seconds=5)
    clocked.sender.wake()
    await eventually(lambda: _status(clocked, outbox.SENT), what="the row to be marked sent")
    [posted] = clocked.fake.channel_messages(DM)
    assert (await welcome_row(clocked)).sent_message_id == posted["ts"]
    assert len(clocked.fake.calls_to("chat.postMessage")) == 1
    [looked] = clocked.fake.calls_to("conversations.history")
    assert looked["include_all_metadata"] in (True, "true", "1", 1)
    assert clocked.fake.violations == []


async def test_permanent_failure_is_not_retried(clocked: HearthHarness) -> None:
    clock = clocked.clock
    assert clock is not None
    await set_up_community(clocked)
    clocked.fake.fail_next("chat.postMessage", error="channel_not_found")
    await join(clocked)
    await eventually(lambda: _status(clocked, outbox.FAILED), what="the row to fail")
    row = await welcome_row(clocked)
    assert row.last_error == "channel_not_found"
    assert row.attempts == 1
    clock.advance(hours=1)
    clocked.sender.wake()
    assert await clocked.sender.deliver_due() == 0
    assert clocked.posts_to(DM) == []
    assert len(clocked.fake.calls_to("chat.postMessage")) == 1


async def _attempted(hearth: HearthHarness, attempts: int) -> bool:
    row = await welcome_row(hearth)
    return row.attempts >= attempts and row.status == outbox.PENDING


async def _status(hearth: HearthHarness, status: str) -> bool:
    return (await welcome_row(hearth)).status == status
