"""Lurkers on Slack, through the real app and the spec-checking fake Web API: the nudge in the
member's working hours (Paris, Tokyo), its buttons, asking anonymously and "Introduce myself" as
modals, the first-post celebration, an interrupted sweep run again."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk.models.views import View
from sqlalchemy import select

from hearth.bot.app import HUB
from hearth.scheduler.scheduler import Scheduler
from hearth.storage.models import (
    Member,
    MemberSettings,
    Nudge,
    OutboxMessage,
    Participation,
    Question,
)
from tests.fakes.slack_api import SPEC_MISSING_REASON, spec_available
from tests.lurker_helpers import nudge_rows, sweep
from tests.recording import SettableClock
from tests.slack_helpers import (
    CHANNEL,
    FACILITATOR,
    NEWCOMER,
    TEAM,
    USERS,
    HearthHarness,
    dm_buttons,
    event_callback,
    eventually,
    load_event,
    message_text,
    running_hearth,
)

pytestmark = pytest.mark.skipif(not spec_available(), reason=SPEC_MISSING_REASON)

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # a Tuesday
DM = "D" + NEWCOMER  # Uma, in Europe/Paris
SWEEP = START + timedelta(days=14, hours=22)  # Wednesday 16 December, 07:00 UTC


@pytest.fixture
async def hearth(database_url: str) -> AsyncIterator[HearthHarness]:
    async with running_hearth(database_url, clock=SettableClock(START)) as harness:
        yield harness
        assert harness.fake.violations == []


async def set_up(hearth: HearthHarness) -> None:
    await hearth.command("setup Sharing delivery practice")
    await eventually(lambda: hearth.fake.calls_to("conversations.join"), what="the bot to join")
    await hearth.send_event(event_callback("member_joined_channel", user=NEWCOMER, channel=CHANNEL))
    await eventually(lambda: hearth.posts_to(DM), what="the welcome DM")


async def at(hearth: HearthHarness, moment: datetime) -> None:
    """Move the clock, run the jobs due, deliver what is due."""
    assert hearth.clock is not None
    hearth.clock.current = moment
    await Scheduler(hearth.client.app[HUB]).run_due()
    await hearth.sender.deliver_due()


def click(hearth: HearthHarness, message: dict[str, Any], button: dict[str, Any]) -> dict:
    payload = load_event("block_actions")
    payload["user"] = {"id": NEWCOMER, "username": "uma", "name": "uma", "team_id": TEAM}
    payload["container"] = {
        "type": "message",
        "message_ts": message["ts"],
        "channel_id": DM,
        "is_ephemeral": False,
    }
    payload["channel"] = {"id": DM, "name": "directmessage"}
    payload["response_url"] = hearth.fake.response_url("click")
    payload["actions"][0].update(
        action_id=button["action_id"], value=button["value"], text=button["text"]
    )
    return payload


def buttons(post: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        element["text"]["text"]: element
        for block in post.get("blocks") or []
        if block["type"] == "actions"
        for element in block["elements"]
    }


async def nudged(hearth: HearthHarness) -> dict[str, Any]:
    await at(hearth, SWEEP)
    assert len(hearth.posts_to(DM)) == 1  # 08:00 in Paris: before her working hours
    await at(hearth, SWEEP + timedelta(hours=1))  # 09:00 in Paris
    await eventually(lambda: len(hearth.posts_to(DM)) == 2, what="the nudge")
    return hearth.posts_to(DM)[1]


async def test_the_nudge_comes_in_working_hours_and_stop_is_for_good(
    hearth: HearthHarness,
) -> None:
    await set_up(hearth)
    post = await nudged(hearth)
    assert "No question is too small" in message_text(post)
    shown = buttons(post)
    assert list(shown) == ["Ask a question", "Introduce myself", "Not now", "Stop these messages"]
    assert shown["Ask a question"]["action_id"].split("#")[0] == "questions.ask"
    assert dm_buttons(post, "lurkers.stop")
    [message] = [m for m in hearth.fake.channel_messages(DM) if m.get("ts")][1:]

    await hearth.click(click(hearth, message, shown["Stop these messages"]))
    await eventually(lambda: hearth.fake.calls_to("chat.update"), what="the DM to be updated")
    [update] = hearth.fake.calls_to("chat.update")
    assert (update["channel"], update["ts"]) == (DM, message["ts"])
    assert "won't send you these messages again" in update["text"]
    [[stored]] = await hearth.rows(select(MemberSettings))
    assert stored.dms == {"nudges": False}

    for days in (31, 35, 60):
        await at(hearth, SWEEP + timedelta(days=days, hours=1))
    assert len(hearth.posts_to(DM)) == 2
    assert len(await hearth.rows(select(OutboxMessage).where(OutboxMessage.kind == "nudge"))) == 1


async def test_introduce_myself_opens_a_modal_and_posts_in_the_channel(
    hearth: HearthHarness,
) -> None:
    await set_up(hearth)
    post = await nudged(hearth)
    [message] = [m for m in hearth.fake.channel_messages(DM) if m.get("ts")][1:]
    await hearth.click(click(hearth, message, buttons(post)["Introduce myself"]))
    await eventually(lambda: hearth.fake.calls_to("views.open"), what="views.open")
    [opened] = hearth.fake.calls_to("views.open")
    view = opened["view"]
    View(**view).validate_json()
    assert view["callback_id"] == "lurkers.intro"

    submission = {
        "type": "view_submission",
        "team": {"id": TEAM, "domain": "workspace-domain"},
        "user": {"id": NEWCOMER, "username": "uma", "team_id": TEAM},
        "api_app_id": "A111",
        "token": "verification_token",
        "trigger_id": "111.222.valid",
        "view": {
            **view,
            "id": "V111",
            "team_id": TEAM,
            "state": {
                "values": {
                    "intro": {
                        "intro": {
                            "type": "plain_text_input",
                            "value": "I'm Uma, I run delivery in Paris. <!here> Keen on RAID logs.",
                        }
                    }
                }
            },
        },
    }
    response = await hearth.post_form({"payload": json.dumps(submission)})
    assert response.status == 200

    def intros() -> list[dict[str, Any]]:
        return [p for p in hearth.posts_to(CHANNEL) if "introduce" in p["text"]]

    await eventually(intros, what="the introduction")
    [intro] = intros()
    text = message_text(intro)
    assert f"<@{NEWCOMER}> would like to introduce themselves" in text
    assert "Posted by Hearth on behalf of Uma Newcomer" in text
    assert "<!here>" not in text  # typed text: no channel ping
    await eventually(lambda: hearth.posts_to("D" + FACILITATOR), what="the heads-up")
    assert "introduced themselves" in hearth.posts_to("D" + FACILITATOR)[0]["text"]


async def test_a_first_post_gets_a_thread_reply_and_facilitators_a_heads_up(
    hearth: HearthHarness,
) -> None:
    await set_up(hearth)
    first = event_callback(
        "message_channel", channel=CHANNEL, user=NEWCOMER, text="Hello! A first question…"
    )
    await hearth.send_event(first)
    await eventually(lambda: hearth.posts_to(CHANNEL), what="the celebration")
    [reply] = hearth.posts_to(CHANNEL)
    assert reply["thread_ts"] == first["event"]["ts"]
    assert f"Welcome to the conversation, <@{NEWCOMER}>" in reply["text"]
    await eventually(lambda: hearth.posts_to("D" + FACILITATOR), what="the heads-up")
    [heads_up] = hearth.posts_to("D" + FACILITATOR)
    assert f"<@{NEWCOMER}> just posted for the first time" in heads_up["text"]

    again = event_callback(
        "message_channel",
        channel=CHANNEL,
        user=NEWCOMER,
        text="and a second one",
        ts="1596183990.000100",
        event_ts="1596183990.000100",
    )
    await hearth.send_event(again)
    await at(hearth, SWEEP + timedelta(hours=1))
    assert len([p for p in hearth.posts_to(CHANNEL) if "thread_ts" in p]) == 1
    assert len(hearth.posts_to(DM)) == 1  # the welcome; no nudge for someone who posted


async def test_not_now_then_a_second_nudge_33_days_later_and_no_third(
    hearth: HearthHarness,
) -> None:
    await set_up(hearth)
    post = await nudged(hearth)
    [message] = [m for m in hearth.fake.channel_messages(DM) if m.get("ts")][1:]
    await hearth.click(click(hearth, message, buttons(post)["Not now"]))
    await eventually(lambda: hearth.fake.calls_to("chat.update"), what="the DM to be updated")
    assert "No problem" in hearth.fake.calls_to("chat.update")[0]["text"]
    later = SWEEP + timedelta(days=33)  # Monday 18 January, 07:00 UTC
    await at(hearth, later - timedelta(days=4))  # 29 days after: too soon
    await at(hearth, later - timedelta(days=4) + timedelta(hours=1))
    assert len(hearth.posts_to(DM)) == 2
    await at(hearth, later)
    await at(hearth, later + timedelta(hours=1))
    await eventually(lambda: len(hearth.posts_to(DM)) == 3, what="the second nudge")
    assert "This is the last one." in message_text(hearth.posts_to(DM)[2])
    for days in (40, 80):
        await at(hearth, later + timedelta(days=days, hours=1))
    assert len(hearth.posts_to(DM)) == 3


def channel_messages_since(hearth: HearthHarness, count: int) -> list[dict[str, Any]]:
    """What Hearth posted or changed anywhere but the newcomer's DM, after the first `count`
    calls to chat.postMessage and chat.update."""
    calls = hearth.fake.calls_to("chat.postMessage") + hearth.fake.calls_to("chat.update")
    return [c for c in calls[count:] if c["channel"] != DM]


async def test_asking_anonymously_from_the_nudge_names_her_nowhere(
    hearth: HearthHarness,
) -> None:
    await set_up(hearth)
    post = await nudged(hearth)
    [message] = [m for m in hearth.fake.channel_messages(DM) if m.get("ts")][1:]
    before = len(hearth.fake.calls_to("chat.postMessage") + hearth.fake.calls_to("chat.update"))
    await hearth.click(click(hearth, message, buttons(post)["Ask a question"]))
    await eventually(lambda: hearth.fake.calls_to("views.open"), what="the ask form")
    [opened] = hearth.fake.calls_to("views.open")
    view = opened["view"]
    View(**view).validate_json()
    assert view["callback_id"] == "questions.ask"
    assert [b["block_id"] for b in view["blocks"]] == ["question", "anonymous"]
    question = "Is it silly to ask how a RAID log differs from a risk register?"
    yes = {"text": {"type": "plain_text", "text": "Yes"}, "value": "yes"}
    values = {
        "question": {"question": {"type": "plain_text_input", "value": question}},
        "anonymous": {"anonymous": {"type": "radio_buttons", "selected_option": yes}},
    }
    submission = {
        "type": "view_submission",
        "team": {"id": TEAM, "domain": "workspace-domain"},
        "user": {"id": NEWCOMER, "username": "uma", "team_id": TEAM},
        "api_app_id": "A111",
        "token": "verification_token",
        "trigger_id": "111.222.valid",
        "view": {**view, "id": "V112", "team_id": TEAM, "state": {"values": values}},
    }
    assert (await hearth.post_form({"payload": json.dumps(submission)})).status == 200

    def asked() -> list[dict[str, Any]]:
        return [p for p in hearth.posts_to(CHANNEL) if "A member asks, anonymously" in p["text"]]

    await eventually(asked, what="the question in the channel")
    [posted] = asked()
    assert question in message_text(posted)
    [[stored]] = await hearth.rows(select(Question))
    assert (stored.anonymous, stored.asker_id, stored.via) == (True, None, "form")

    # routed like any question: an answer in its thread reaches her, privately
    [landed] = [m for m in hearth.fake.channel_messages(CHANNEL) if question in m.get("text", "")]
    answer = event_callback(
        "message_channel",
        channel=CHANNEL,
        user=FACILITATOR,
        text="Not silly at all: a RAID log tracks more than risks.",
        ts="1797412000.000100",
        event_ts="1797412000.000100",
        thread_ts=landed["ts"],
    )
    answer["event"].pop("blocks", None)
    await hearth.send_event(answer)
    await at(hearth, SWEEP + timedelta(hours=1, minutes=1))
    await eventually(
        lambda: any("anonymous question" in p["text"] for p in hearth.posts_to(DM)),
        what="the answer to reach her",
    )
    [told] = hearth.fake.calls_to("chat.postEphemeral")  # in her DM, to her only
    assert (told["channel"], told["user"]) == (DM, NEWCOMER)
    assert "Your question is posted anonymously" in message_text(told)
    elsewhere = channel_messages_since(hearth, before)
    assert elsewhere, "nothing was posted"
    for call in elsewhere:
        assert NEWCOMER not in json.dumps(call) and "Uma" not in json.dumps(call), call
    mine = select(Participation).join(Member, Member.id == Participation.member_id)
    assert await hearth.rows(mine.where(Member.user_id == NEWCOMER)) == []  # still a lurker


async def test_a_member_in_tokyo_is_nudged_in_tokyo_working_hours(database_url: str) -> None:
    users = {**USERS, NEWCOMER: {**USERS[NEWCOMER], "tz": "Asia/Tokyo"}}
    async with running_hearth(database_url, clock=SettableClock(START), users=users) as hearth:
        await set_up(hearth)
        await at(hearth, SWEEP - timedelta(hours=1))
        assert len(hearth.posts_to(DM)) == 1  # the welcome
        await at(hearth, SWEEP)  # Wednesday 07:00 UTC: 16:00 in Tokyo, before work in London
        await eventually(lambda: len(hearth.posts_to(DM)) == 2, what="the nudge")
        assert "No question is too small" in message_text(hearth.posts_to(DM)[1])
        [[nudge]] = await hearth.rows(select(Nudge))
        assert nudge.due_at == SWEEP  # delivered then: the clock has not moved
        await at(hearth, SWEEP + timedelta(days=3))
        assert len(hearth.posts_to(DM)) == 2
        assert hearth.fake.violations == []


async def test_an_interrupted_then_rerun_sweep_sends_one_nudge(hearth: HearthHarness) -> None:
    await set_up(hearth)
    await at(hearth, SWEEP - timedelta(hours=1))  # 06:00 UTC, before the scheduled sweep
    hub = hearth.client.app[HUB]
    assert await sweep(hub, interrupt=True) == 0
    assert await nudge_rows(hub) == (0, 0)  # rolled back whole
    assert await sweep(hub) == 1
    assert await sweep(hub) == 0
    await at(hearth, SWEEP)  # the scheduled sweep runs too: nothing new
    await at(hearth, SWEEP + timedelta(hours=1))  # 09:00 in Paris
    await eventually(lambda: len(hearth.posts_to(DM)) == 2, what="the nudge")
    await at(hearth, SWEEP + timedelta(days=3))
    assert len(hearth.posts_to(DM)) == 2
    assert await nudge_rows(hub) == (1, 1)
