"""The library, the jobs board and a hot seat on Slack, end to end through the real app and
the spec-checked fake Web API: slash commands, a reaction that saves a link, the expert's DM
and buttons, the early-question modal, thread replies, scheduled steps and the summary."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from hearth.bot.app import HUB
from hearth.scheduler.scheduler import Scheduler
from hearth.storage.models import (
    DueJob,
    HotSeat,
    HotSeatQuestion,
    JobPosting,
    OutboxMessage,
    Resource,
)
from tests.fakes.slack_api import SPEC_MISSING_REASON, spec_available
from tests.slack_helpers import (
    CHANNEL,
    FACILITATOR,
    TEAM,
    HearthHarness,
    SettableClock,
    dm_buttons,
    event_callback,
    eventually,
    load_event,
    message_text,
    running_hearth,
)

pytestmark = pytest.mark.skipif(not spec_available(), reason=SPEC_MISSING_REASON)

START = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # a Tuesday
EXPERT = "U555"
ASKER = "U111"


@pytest.fixture
async def clocked(database_url: str) -> AsyncIterator[HearthHarness]:
    async with running_hearth(database_url, clock=SettableClock(START)) as harness:
        yield harness
        assert harness.fake.violations == []


async def set_up(hearth: HearthHarness) -> None:
    await hearth.command("setup Sharing delivery practice")
    await eventually(lambda: hearth.fake.calls_to("conversations.join"), what="the bot to join")


async def run_due(hearth: HearthHarness, at: datetime) -> None:
    """Move the clock and run what is due, as the scheduler would; wake the sender."""
    assert hearth.clock is not None
    hearth.clock.set(at)
    await Scheduler(hearth.client.app[HUB]).run_due()  # type: ignore[index]
    hearth.sender.wake()


async def delivered(hearth: HearthHarness, done: Callable[[], bool], what: str) -> None:
    """Wait for the sender, moving the clock a second at a time: posts into one channel are
    paced a second apart on the app's clock, which moves only when the test moves it."""
    assert hearth.clock is not None
    for _ in range(30):
        if done():
            return
        hearth.clock.advance(seconds=1)
        hearth.sender.wake()
        await asyncio.sleep(0.1)
    await eventually(done, what=what)


def text_of(replies: list[dict[str, Any]]) -> str:
    return "\n".join(message_text(r) for r in replies)


def user(user_id: str) -> dict[str, str]:
    return {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": TEAM}


def click_on(
    hearth: HearthHarness, who: str, channel: str, ts: str, button: dict[str, Any]
) -> dict[str, Any]:
    click = load_event("block_actions")
    click["user"] = user(who)
    click["container"] = {
        "type": "message",
        "message_ts": ts,
        "channel_id": channel,
        "is_ephemeral": False,
    }
    click["channel"] = {"id": channel, "name": "somewhere"}
    click["response_url"] = hearth.fake.response_url(uuid.uuid4().hex)
    click["trigger_id"] = f"{uuid.uuid4().hex}.trigger"
    click["actions"][0].update(
        action_id=button["action_id"], value=button["value"], text=button["text"]
    )
    return click


def latest_post(hearth: HearthHarness, channel: str, containing: str) -> dict[str, Any]:
    found = [p for p in hearth.posts_to(channel) if containing in message_text(p)]
    assert found, f"no post in {channel} with {containing!r}"
    return found[-1]


def ts_of(hearth: HearthHarness, channel: str, containing: str) -> str:
    found = [
        m for m in hearth.fake.channel_messages(channel) if containing in str(m.get("text", ""))
    ]
    assert found, f"no message in {channel} with {containing!r}"
    return str(found[-1]["ts"])


async def test_the_library_and_the_jobs_board_on_slack(clocked: HearthHarness) -> None:
    hearth = clocked
    await set_up(hearth)
    replies = await hearth.command(
        'resource add https://example.org/raid "RAID <b>log</b> & more" --tags risk,templates'
    )
    assert "RAID &lt;b&gt;log&lt;/b&gt; &amp; more" in text_of(replies)
    assert "templ" in text_of(await hearth.command("resources templ"))
    assert "Nothing in the library" in text_of(await hearth.command("resources budget"))
    await hearth.command("library reaction :pushpin:")

    shared = event_callback(
        "message_channel",
        channel=CHANNEL,
        user="U555",
        text="Worth a read <https://example.org/tailoring|tailoring guide>",
        ts="1773133200.000100",
        event_ts="1773133200.000100",
    )
    shared["event"].pop("blocks")
    await hearth.send_event(shared)
    reaction = event_callback(
        "reaction_added",
        user=FACILITATOR,
        reaction="pushpin",
        item={"type": "message", "channel": CHANNEL, "ts": "1773133200.000100"},
    )
    await hearth.send_event(reaction)
    saved = await hearth.rows(select(Resource.url, Resource.title, Resource.status))
    assert sorted(saved) == [
        ("https://example.org/raid", "RAID <b>log</b> & more", "approved"),
        ("https://example.org/tailoring", "Worth a read tailoring guide", "approved"),
    ]
    await eventually(
        lambda: hearth.fake.calls_to("chat.postEphemeral"), what="the private confirmation"
    )
    assert "Saved to the library" in message_text(hearth.fake.calls_to("chat.postEphemeral")[-1])
    bad = await hearth.command('resource add javascript:alert(1) "x"', user="U555")
    assert "Only web links are taken" in text_of(bad)

    posted = await hearth.command(
        'job post https://example.org/jobs/1 "Delivery lead" --closes 1d', user="U555"
    )
    assert "On the board" in text_of(posted)
    assert "Delivery lead" in text_of(await hearth.command("jobs"))
    await run_due(hearth, START + timedelta(days=1, seconds=1))
    assert "No open jobs" in text_of(await hearth.command("jobs"))
    assert await hearth.rows(select(JobPosting.id)) == []


async def accepted_and_announced(hearth: HearthHarness) -> str:
    """A hot seat from Tue 17 Mar proposed by slash command, accepted by the expert in their
    DM, and announced (a week ahead is now); the expert's DM channel."""
    await set_up(hearth)
    replies = await hearth.command(f'hotseat <@{EXPERT}> "Assurance" --starts 2026-03-17 --days 1')
    assert "I've asked <@U555>" in text_of(replies)
    dm = "D" + EXPERT
    await eventually(lambda: hearth.posts_to(dm), what="the invitation")
    invite = latest_post(hearth, dm, "invites you to the hot seat")
    [accept] = dm_buttons(invite, "hotseat.accept")
    await hearth.click(click_on(hearth, EXPERT, dm, ts_of(hearth, dm, "invites you"), accept))
    await eventually(lambda: hearth.fake.calls_to("chat.update"), what="the invitation answered")
    assert "Thank you!" in message_text(hearth.fake.calls_to("chat.update")[-1])
    [[status]] = await hearth.rows(select(HotSeat.status))
    assert status == "accepted"
    await run_due(hearth, START + timedelta(seconds=1))
    await eventually(lambda: hearth.posts_to(CHANNEL), what="the announcement")
    return dm


async def test_a_hot_seat_on_slack(clocked: HearthHarness) -> None:
    """Proposed by slash command; the expert accepts in the DM; the announcement (never
    unfurled) opens the early-question modal; an anonymous question gets its own thread on the
    day; the expert's reply there is in the summary."""
    hearth = clocked
    dm = await accepted_and_announced(hearth)
    announcement = latest_post(hearth, CHANNEL, "Coming up")
    assert announcement.get("unfurl_links") in (False, "false", "0", 0)
    assert announcement.get("unfurl_media") in (False, "false", "0", 0)
    [ask] = dm_buttons(announcement, "hotseat.ask")
    ts = ts_of(hearth, CHANNEL, "Coming up")
    await hearth.click(click_on(hearth, ASKER, CHANNEL, ts, ask))
    await eventually(lambda: hearth.fake.calls_to("views.open"), what="the question modal")
    view = hearth.fake.calls_to("views.open")[-1]["view"]
    values = {
        "question": {"question": {"type": "plain_text_input", "value": "Where <do> I start?"}},
        "anonymous": {"anonymous": {"type": "radio_buttons", "selected_option": {"value": "yes"}}},
    }
    submission = {
        "type": "view_submission",
        "team": {"id": TEAM, "domain": "workspace-domain"},
        "user": user(ASKER),
        "api_app_id": "A111",
        "token": "verification_token",
        "trigger_id": "111.222.valid",
        "view": {**view, "id": "V111", "team_id": TEAM, "state": {"values": values}},
    }
    await hearth.click(submission)
    [[asker, text]] = await hearth.rows(select(HotSeatQuestion.asker_id, HotSeatQuestion.text))
    assert (asker, text) == (None, "Where <do> I start?")

    await run_due(hearth, datetime(2026, 3, 17, 9, 0, 1, tzinfo=UTC))

    await delivered(
        hearth,
        lambda: any("Q1 for" in message_text(p) for p in hearth.posts_to(CHANNEL)),
        "the opening and its question",
    )
    question = latest_post(hearth, CHANNEL, "Q1 for")
    assert "asked anonymously" in message_text(question)
    assert "Where &lt;do&gt; I start?" in message_text(question)
    thread = ts_of(hearth, CHANNEL, "Q1 for")
    reply = event_callback(
        "message_channel",
        channel=CHANNEL,
        user=EXPERT,
        text="Start with the risks that scare you",
        ts="1773738000.000200",
        event_ts="1773738000.000200",
        thread_ts=thread,
    )
    reply["event"].pop("blocks")
    await hearth.send_event(reply)

    await run_due(hearth, datetime(2026, 3, 17, 17, 0, 1, tzinfo=UTC))
    await delivered(
        hearth,
        lambda: any("has closed" in message_text(p) for p in hearth.posts_to(CHANNEL)),
        "the summary",
    )
    summary = message_text(latest_post(hearth, CHANNEL, "has closed"))
    assert "Start with the risks that scare you" in summary and "<@U555>" in summary
    await delivered(
        hearth,
        lambda: any("Thank you for the hot seat" in message_text(p) for p in hearth.posts_to(dm)),
        "the thanks",
    )
    assert ASKER not in "\n".join(message_text(p) for p in hearth.posts_to(CHANNEL))


async def test_a_hot_seat_moved_on_slack(clocked: HearthHarness) -> None:
    """Moved a week on after its announcement: a note in the channel and a DM to the expert;
    at the old times nothing is written, at the new ones it opens and closes once."""
    hearth = clocked
    dm = await accepted_and_announced(hearth)
    bad = await hearth.command("hotseat move H1 --starts 2026-03-09")
    assert "that day has begun or passed" in text_of(bad)
    replies = await hearth.command("hotseat move H1 --starts 2026-03-24")
    assert "moves to Tue 24 Mar (it was to run Tue 17 Mar)" in text_of(replies)
    await delivered(
        hearth,
        lambda: (
            any("New dates" in message_text(p) for p in hearth.posts_to(CHANNEL))
            and any("moves to Tue 24 Mar" in message_text(p) for p in hearth.posts_to(dm))
        ),
        "the note and the expert's DM",
    )

    for at in (
        datetime(2026, 3, 17, 9, 0, 1, tzinfo=UTC),
        datetime(2026, 3, 17, 17, 0, 1, tzinfo=UTC),
    ):
        await run_due(hearth, at)
    written = [key for [key] in await hearth.rows(select(OutboxMessage.key))]
    assert not any(k.endswith((":open", ":summary", ":remind:1")) for k in written)

    await run_due(hearth, datetime(2026, 3, 24, 9, 0, 1, tzinfo=UTC))
    await run_due(hearth, datetime(2026, 3, 24, 17, 0, 1, tzinfo=UTC))
    await delivered(
        hearth,
        lambda: any("has closed" in message_text(p) for p in hearth.posts_to(CHANNEL)),
        "the summary",
    )
    posts = [message_text(p) for p in hearth.posts_to(CHANNEL)]
    assert [sum(w in p for p in posts) for w in ("Coming up", "is open", "has closed")] == [1, 1, 1]
    assert "Tue 24 Mar" in next(p for p in posts if "is open" in p)
    assert await hearth.rows(select(DueJob.key)) == []
