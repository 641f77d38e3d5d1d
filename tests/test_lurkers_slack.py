"""Lurkers on Slack, through the real app and the spec-checking fake Web API: the nudge in the
member's working hours, its buttons, "Introduce myself" as a modal, the first-post celebration."""

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
from hearth.storage.models import MemberSettings, OutboxMessage
from tests.fakes.slack_api import SPEC_MISSING_REASON, spec_available
from tests.recording import SettableClock
from tests.slack_helpers import (
    CHANNEL,
    FACILITATOR,
    NEWCOMER,
    TEAM,
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
