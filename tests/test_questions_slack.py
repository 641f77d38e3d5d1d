"""Questions on Slack, through the real app and the spec-checked fake Web API: a question is
noticed, answered with ✅, its knowledge suggested to the next asker, who is routed to the
expert by DM; I'll answer, the follow-up's Mark as answered, search, and an anonymous ask."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from hearth.bot.app import SCHEDULER
from hearth.storage.models import KnowledgeEntry, Question
from tests.fakes.slack_api import SPEC_MISSING_REASON, spec_available
from tests.slack_helpers import (
    CHANNEL,
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

START = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # a Tuesday morning
ASKER, EXPERT, NEWCOMER = "U111", "U555", "U999"


@pytest.fixture
async def slack(database_url: str) -> AsyncIterator[HearthHarness]:
    async with running_hearth(database_url, clock=SettableClock(START)) as harness:
        yield harness
        assert harness.fake.violations == []


async def say(hearth: HearthHarness, user: str, text: str, ts: str, thread: str | None = None):
    extra = {"thread_ts": thread} if thread else {}
    payload = event_callback(
        "message_channel", channel=CHANNEL, user=user, text=text, ts=ts, event_ts=ts, **extra
    )
    payload["event"].pop("blocks", None)
    await hearth.send_event(payload)


async def react(hearth: HearthHarness, user: str, ts: str) -> None:
    item = {"type": "message", "channel": CHANNEL, "ts": ts}
    await hearth.send_event(
        event_callback(
            "reaction_added", user=user, item=item, reaction="white_check_mark", item_user=user
        )
    )


async def tick(hearth: HearthHarness) -> None:
    """Let Slack's pace (a message a second per conversation) allow the next sends."""
    assert hearth.clock is not None
    hearth.clock.advance(seconds=2)
    hearth.sender.wake()


def dms(hearth: HearthHarness, user: str) -> list[dict[str, Any]]:
    return hearth.posts_to("D" + user)


async def click(hearth: HearthHarness, user: str, post: dict[str, Any], label: str) -> None:
    """`user` clicks the button labelled `label` on the DM `post` (as it landed)."""
    channel = "D" + user
    [landed] = [m for m in hearth.fake.channel_messages(channel) if m.get("text") == post["text"]]
    [button] = [
        b
        for block in post.get("blocks") or []
        if block["type"] == "actions"
        for b in block["elements"]
        if b["text"]["text"] == label
    ]
    payload = load_event("block_actions")
    payload["user"] = {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM}
    payload["container"] = {
        "type": "message",
        "message_ts": landed["ts"],
        "channel_id": channel,
        "is_ephemeral": False,
    }
    payload["channel"] = {"id": channel, "name": "directmessage"}
    payload["response_url"] = hearth.fake.response_url(f"{user}-{len(label)}")
    payload["actions"][0].update(
        action_id=button["action_id"], value=button["value"], text=button["text"]
    )
    await hearth.click(payload)


async def test_a_question_on_slack_from_notice_to_knowledge(slack: HearthHarness) -> None:
    clock = slack.clock
    assert clock is not None
    await slack.command("setup Sharing delivery practice")
    await eventually(lambda: slack.fake.calls_to("conversations.join"), what="the bot to join")

    # A question, a reply in its thread, the asker's ✅: answered and kept; Bob is thanked.
    await say(slack, ASKER, "Has anyone used a RAID log on a small project?", "1773133200.000100")
    await say(
        slack,
        EXPERT,
        "Yes, keep it to one page with owners for each risk.",
        "1773133260.000200",
        thread="1773133200.000100",
    )
    await react(slack, ASKER, "1773133200.000100")
    await eventually(lambda: dms(slack, EXPERT), what="Bob's thanks")
    assert "Your answer to “Has anyone used a RAID log" in dms(slack, EXPERT)[0]["text"]
    await eventually(
        lambda: [
            p
            for p in slack.posts_to(CHANNEL)
            if p.get("thread_ts") == "1773133200.000100" and "Marked as answered" in p["text"]
        ],
        what="the thread to hear it was answered",
    )

    # The next asker gets "this may help" in the thread, and Bob a request with buttons.
    await say(
        slack, NEWCOMER, "How do I start a RAID log for a small project?", "1773133320.000300"
    )
    await tick(slack)
    await eventually(lambda: len(dms(slack, EXPERT)) == 2, what="Bob's request")
    request = dms(slack, EXPERT)[1]
    assert "asked in" in request["text"] and "How do I start a RAID log" in request["text"]
    labels = [b["text"]["text"] for b in dm_buttons(request, "questions.take")]
    labels += [b["text"]["text"] for b in dm_buttons(request, "questions.pass")]
    assert labels == ["I'll answer", "Not me"]
    assert "https://slack.com/archives/C111/p1773133320000300" in message_text(request)
    [suggestion] = [
        p
        for p in slack.posts_to(CHANNEL)
        if p.get("thread_ts") == "1773133320.000300" and "This may help" in p["text"]
    ]
    assert "https://slack.com/archives/C111/p1773133260000200" in suggestion["text"]

    await eventually(
        lambda: [p for p in slack.posts_to(CHANNEL) if "This may help" in p["text"]],
        what="the suggestion",
    )
    await click(slack, EXPERT, request, "I'll answer")
    await eventually(lambda: slack.fake.calls_to("chat.update"), what="the request updated")
    assert "You're answering" in slack.fake.calls_to("chat.update")[-1]["text"]
    await say(
        slack,
        EXPERT,
        "Start with the top five risks and give each an owner.",
        "1773133380.000400",
        thread="1773133320.000300",
    )

    # Four hours later the asker is asked, once; Mark as answered closes it.
    clock.set(START + timedelta(hours=4, minutes=5))
    slack.client.app[SCHEDULER].wake()
    slack.sender.wake()
    await eventually(lambda: dms(slack, NEWCOMER), what="the follow-up")
    followup = [d for d in dms(slack, NEWCOMER) if "Did you get the answer" in d["text"]]
    assert len(followup) == 1
    await click(slack, NEWCOMER, followup[0], "Mark as answered")
    await tick(slack)
    await eventually(lambda: len(dms(slack, EXPERT)) == 3, what="Bob's second thanks")
    [[question]] = await slack.rows(
        select(Question).where(Question.message_id == "1773133320.000300")
    )
    assert question.status == "answered" and question.answer_message_id == "1773133380.000400"
    assert len(await slack.rows(select(KnowledgeEntry))) == 2

    replies = await slack.command("search raid log owner", user=NEWCOMER)
    assert "Found in" in json.dumps(replies) and "top five risks" not in json.dumps(replies)
    assert "How do I start a RAID log for a small project?" in message_text(replies[0])


async def test_an_anonymous_question_on_slack_names_nobody(slack: HearthHarness) -> None:
    await slack.command("setup Sharing delivery practice")
    await eventually(lambda: slack.fake.calls_to("conversations.join"), what="the bot to join")
    replies = await slack.command("ask --anonymous Is it ok to say no to a sponsor?", user=ASKER)
    assert "posted anonymously" in message_text(replies[0])
    await eventually(lambda: slack.posts_to(CHANNEL), what="the question in the channel")
    [post] = slack.posts_to(CHANNEL)
    assert "A member asks, anonymously" in post["text"]
    assert ASKER not in json.dumps(post) and "ursula" not in json.dumps(post).lower()
    [landed] = slack.fake.channel_messages(CHANNEL)
    await say(slack, EXPERT, "Yes, with a clear reason.", "1773133500.000100", thread=landed["ts"])
    await tick(slack)
    await eventually(lambda: dms(slack, ASKER), what="the answer to reach the asker")
    [forwarded] = dms(slack, ASKER)
    assert "replied to your anonymous question" in forwarded["text"]
    others = [c for c in slack.fake.calls_to("chat.postMessage") if c["channel"] != "D" + ASKER]
    assert all(ASKER not in json.dumps(c) for c in others)
