"""Members in control on Slack, end to end: the App Home, the settings modal, my-data as a file,
and what Slack says about accounts (user_change, team_join) reaching the member record."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from slack_sdk.models.views import View
from sqlalchemy import select

from hearth.storage import outbox
from hearth.storage.models import Member, MemberSettings, OutboxMessage
from tests.fakes.slack_api import SPEC_MISSING_REASON, spec_available
from tests.slack_helpers import (
    CHANNEL,
    FACILITATOR,
    NEWCOMER,
    TEAM,
    HearthHarness,
    event_callback,
    eventually,
    load_event,
    running_hearth,
)

pytestmark = pytest.mark.skipif(not spec_available(), reason=SPEC_MISSING_REASON)

UMA = {"id": NEWCOMER, "username": "uma", "name": "uma", "team_id": TEAM}


@pytest.fixture
async def hearth(sqlite_url: str) -> AsyncIterator[HearthHarness]:
    async with running_hearth(sqlite_url) as harness:
        yield harness
        assert harness.fake.violations == []


async def open_home(hearth: HearthHarness, tab: str = "home") -> None:
    payload = event_callback("app_home_opened", user=NEWCOMER, channel="D" + NEWCOMER, tab=tab)
    payload.pop("enterprise_id")
    payload["authorizations"][0].update(enterprise_id=None, team_id=TEAM)
    if tab == "home":
        await hearth.send_event(payload)
    else:  # not Hearth's business: acknowledged, never handled
        assert (await hearth.post_json(payload)).status == 200


def account_event(kind: str, user: dict[str, Any]) -> dict[str, Any]:
    """`user_change` / `team_join` in an event_callback envelope, the user object as Slack sends
    it (the shape of the shared `…__java_sdk_shape` samples, whose envelopes are left blank)."""
    sample = load_event(f"{kind}__java_sdk_shape")["event"]
    assert set(sample["user"]) >= {"id", "deleted", "tz"}
    payload = event_callback("app_home_opened")
    payload["event"] = {**sample, "user": copy.deepcopy(user), "event_ts": "1700000000.000100"}
    return payload


def home_buttons(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        element["text"]["text"]: element
        for block in view["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    }


def click_in_home(hearth: HearthHarness, button: dict[str, Any]) -> dict[str, Any]:
    """A block_actions payload for a button on the App Home (no channel, no response_url)."""
    click = load_event("block_actions")
    click["user"] = UMA
    click["container"] = {"type": "view", "view_id": "V1"}
    click.pop("channel")
    click.pop("response_url")
    click["trigger_id"] = f"{uuid.uuid4().hex}.home"
    click["actions"][0].update(
        action_id=button["action_id"], value=button["value"], text=button["text"]
    )
    return click


def submission(view: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """A view_submission of `view` with its inputs' state as Slack sends it."""
    return {
        "type": "view_submission",
        "team": {"id": TEAM, "domain": "workspace-domain"},
        "user": UMA,
        "api_app_id": "A111",
        "token": "verification_token",
        "trigger_id": "111.222.valid",
        "view": {**view, "id": "V111", "team_id": TEAM, "state": {"values": values}},
    }


def state_of(view: dict[str, Any], **changes: str) -> dict[str, Any]:
    """Every input of a settings modal as its initial value, with `changes` typed in."""
    values: dict[str, Any] = {}
    for block in view["blocks"]:
        element, name = block["element"], block["block_id"]
        kind = element["type"]
        if kind == "plain_text_input":
            value = changes.get(name, element.get("initial_value", ""))
            values[name] = {name: {"type": kind, "value": value}}
        elif kind in ("radio_buttons", "static_select"):
            chosen = changes.get(name) or (element.get("initial_option") or {}).get("value")
            option = {"value": chosen} if chosen else None
            values[name] = {name: {"type": kind, "selected_option": option}}
        else:
            chosen_list = [{"value": o["value"]} for o in element.get("initial_options", [])]
            values[name] = {name: {"type": kind, "selected_options": chosen_list}}
    return values


async def test_the_home_tab_shows_the_members_settings(hearth: HearthHarness) -> None:
    await open_home(hearth, tab="messages")
    await open_home(hearth)
    await eventually(lambda: hearth.fake.calls_to("views.publish"), what="views.publish")
    [published] = hearth.fake.calls_to("views.publish")
    view = published["view"]
    assert published["user_id"] == NEWCOMER and view["type"] == "home"
    View(**view).validate_json()
    shown = json.dumps(view)
    assert "Time zone: Europe/Paris" in shown  # what Slack says about Uma
    assert "Quiet hours: 21:00-08:00" in shown
    assert list(home_buttons(view)) == [
        "Edit settings",
        "Pause messages",
        "Send me my data",
        "Forget me…",
    ]

    # Edit settings: the same form as /cop settings, opened from the Home tab
    await hearth.click(click_in_home(hearth, home_buttons(view)["Edit settings"]))
    await eventually(lambda: hearth.fake.calls_to("views.open"), what="views.open")
    modal = hearth.fake.calls_to("views.open")[0]["view"]
    assert json.loads(modal["private_metadata"])["channel"] == ""
    count = len(hearth.handled)
    values = state_of(modal, quiet_hours="22:00-07:00", nudges="no")
    response = await hearth.post_form({"payload": json.dumps(submission(modal, values))})
    assert response.status == 200
    await eventually(lambda: len(hearth.handled) > count, what="the submission")
    await eventually(lambda: len(hearth.fake.calls_to("views.publish")) == 2, what="a new home")
    refreshed = json.dumps(hearth.fake.calls_to("views.publish")[1]["view"])
    assert "Quiet hours: 22:00-07:00" in refreshed and "nudges off" in refreshed
    [[stored]] = await hearth.rows(select(MemberSettings))
    assert (stored.quiet_hours, stored.dms, stored.tz) == ("22:00-07:00", {"nudges": False}, None)

    # Pause messages, from the Home tab: the view follows
    await hearth.click(click_in_home(hearth, home_buttons(view)["Pause messages"]))
    await eventually(lambda: len(hearth.fake.calls_to("views.publish")) == 3, what="paused")
    paused = hearth.fake.calls_to("views.publish")[2]["view"]
    assert "Resume messages" in home_buttons(paused)
    [[uma]] = await hearth.rows(select(Member).where(Member.user_id == NEWCOMER))
    assert uma.unsolicited_dms_off

    # Send me my data: a JSON file in Uma's DM with Hearth
    await hearth.click(click_in_home(hearth, home_buttons(view)["Send me my data"]))
    await eventually(lambda: hearth.fake.calls_to("files.completeUploadExternal"), what="a file")
    [upload] = hearth.fake.files.values()
    assert (upload["filename"], upload["channel"]) == ("hearth-my-data.json", "D" + NEWCOMER)
    assert json.loads(upload["content"])["profile"]["name"] == "Uma Newcomer"


async def test_cop_settings_opens_a_modal_filled_in_and_saves_it(hearth: HearthHarness) -> None:
    await hearth.command("setup Sharing delivery practice")
    await hearth.command("settings", user=NEWCOMER)
    await eventually(lambda: hearth.fake.calls_to("views.open"), what="views.open")
    [opened] = hearth.fake.calls_to("views.open")
    modal = opened["view"]
    View(**modal).validate_json()
    assert (modal["callback_id"], modal["title"]["text"]) == (
        "member.settings",
        "Your Hearth settings",
    )
    inputs = {b["block_id"]: b["element"] for b in modal["blocks"]}
    assert inputs["timezone"]["initial_value"] == "Europe/Paris"
    assert inputs["quiet_hours"]["initial_value"] == "21:00-08:00"
    assert inputs["nudges"]["initial_option"]["value"] == "yes"
    assert inputs["digest"]["initial_option"]["value"] == "off"

    values = state_of(modal, timezone="Asia/Tokyo", working_hours="mon-fri 9-17")
    count = len(hearth.handled)
    await hearth.post_form({"payload": json.dumps(submission(modal, values))})
    await eventually(lambda: len(hearth.handled) > count, what="the submission")
    await eventually(lambda: hearth.fake.calls_to("chat.postEphemeral"), what="the answer")
    [answer] = hearth.fake.calls_to("chat.postEphemeral")
    assert (answer["channel"], answer["user"]) == (CHANNEL, NEWCOMER)
    assert "Working hours: Mon-Fri 09:00-17:00" in json.dumps(answer["blocks"])
    [[stored]] = await hearth.rows(select(MemberSettings))
    assert (stored.tz, stored.working_hours) == ("Asia/Tokyo", "Mon-Fri 09:00-17:00")

    wrong = state_of(modal, timezone="Mars/Olympus")
    await hearth.post_form({"payload": json.dumps(submission(modal, wrong))})
    await eventually(lambda: len(hearth.fake.calls_to("chat.postEphemeral")) == 2, what="why")
    assert "isn't a time zone I know" in hearth.fake.calls_to("chat.postEphemeral")[1]["text"]


async def test_a_deactivated_account_is_marked_and_never_messaged(hearth: HearthHarness) -> None:
    await hearth.command("setup Sharing delivery practice")
    await hearth.supervisor.stop_loop("outbox-sender")  # hold the welcome DM in the outbox
    joined = event_callback("member_joined_channel", user=NEWCOMER, channel=CHANNEL)
    await hearth.send_event(joined)
    hearth.fake.users[NEWCOMER]["deleted"] = True
    await hearth.send_event(account_event("user_change", hearth.fake.users[NEWCOMER]))
    [[uma]] = await hearth.rows(select(Member).where(Member.user_id == NEWCOMER))
    assert uma.deactivated
    await hearth.sender.deliver_due()
    [[welcome]] = await hearth.rows(select(OutboxMessage).where(OutboxMessage.kind == "welcome"))
    assert (welcome.status, welcome.last_error) == (outbox.SKIPPED, "deactivated")
    assert hearth.posts_to("D" + NEWCOMER) == []

    # a new account in the workspace is not stored until it takes part
    hearth.fake.add_user("U777", "newbie")
    await hearth.send_event(account_event("team_join", hearth.fake.users["U777"]))
    assert await hearth.rows(select(Member).where(Member.user_id == "U777")) == []


async def test_forget_me_from_the_home_tab(hearth: HearthHarness) -> None:
    await open_home(hearth)
    await eventually(lambda: hearth.fake.calls_to("views.publish"), what="the home")
    home = hearth.fake.calls_to("views.publish")[0]["view"]

    await hearth.click(click_in_home(hearth, home_buttons(home)["Forget me…"]))
    await eventually(lambda: len(hearth.fake.calls_to("views.publish")) == 2, what="the question")
    asked = hearth.fake.calls_to("views.publish")[1]["view"]
    assert "Forget you? This can't be undone." in json.dumps(asked)
    await hearth.click(click_in_home(hearth, home_buttons(asked)["Cancel"]))
    await eventually(lambda: len(hearth.fake.calls_to("views.publish")) == 3, what="cancelled")
    cancelled = hearth.fake.calls_to("views.publish")[2]["view"]
    assert "Edit settings" in home_buttons(cancelled)

    await hearth.click(click_in_home(hearth, home_buttons(asked)["Yes, forget me"]))  # stale
    await eventually(lambda: hearth.posts_to("D" + NEWCOMER), what="the refusal")
    [refused] = hearth.posts_to("D" + NEWCOMER)
    assert refused["text"].startswith("That confirmation is no longer valid")
    assert len(await hearth.rows(select(Member))) == 1

    await hearth.click(click_in_home(hearth, home_buttons(cancelled)["Forget me…"]))
    await eventually(lambda: len(hearth.fake.calls_to("views.publish")) == 4, what="asked again")
    asked = hearth.fake.calls_to("views.publish")[3]["view"]
    await hearth.click(click_in_home(hearth, home_buttons(asked)["Yes, forget me"]))
    await eventually(lambda: len(hearth.fake.calls_to("views.publish")) == 5, what="forgotten")
    done = hearth.fake.calls_to("views.publish")[4]["view"]
    assert "Done: Hearth has forgotten you." in json.dumps(done)
    assert "Europe/Paris" not in json.dumps(done)  # her settings are off the Home tab too
    assert await hearth.rows(select(Member)) == []


async def test_a_refusal_from_the_home_tab_comes_as_a_dm(hearth: HearthHarness) -> None:
    """The Home tab has no channel and no response_url: a private answer goes to the DM."""
    await hearth.command("setup Sharing delivery practice")  # W111 is the only facilitator
    payload = event_callback("app_home_opened", user=FACILITATOR, channel="D" + FACILITATOR)
    payload["event"]["tab"] = "home"
    await hearth.send_event(payload)
    await eventually(lambda: hearth.fake.calls_to("views.publish"), what="the home")
    home = hearth.fake.calls_to("views.publish")[0]["view"]
    click = click_in_home(hearth, home_buttons(home)["Forget me…"])
    click["user"] = {"id": FACILITATOR, "username": "wendy", "name": "wendy", "team_id": TEAM}
    await hearth.click(click)
    await eventually(lambda: hearth.posts_to("D" + FACILITATOR), what="the answer")
    [answer] = hearth.posts_to("D" + FACILITATOR)
    assert answer["text"].startswith("You're the only facilitator of #random.")
