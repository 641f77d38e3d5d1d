"""The Slack boundary, cause by cause: a payload of the wrong shape is a 400 logged once without
a traceback and changes nothing; a replayed signed request is answered and not run again."""

from __future__ import annotations

import copy
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from hearth.storage import replays
from hearth.storage.db import Database
from hearth.storage.models import Poll, SeenRequest
from tests.fakes.slack_api import SPEC_MISSING_REASON, spec_available
from tests.fuzzing import crashes, row_counts
from tests.slack_helpers import (
    CHANNEL,
    FACILITATOR,
    HearthHarness,
    event_callback,
    eventually,
    load_event,
    running_hearth,
    signed_headers,
)

pytestmark = pytest.mark.skipif(not spec_available(), reason=SPEC_MISSING_REASON)

ADAPTER = "hearth.bot.slack.adapter"
POLL = 'poll "Lunch on Friday?" "Yes" "No"'


@pytest.fixture
async def hearth(database_url: str) -> AsyncIterator[HearthHarness]:
    async with running_hearth(database_url) as harness:
        await harness.command("setup Boundaries")
        yield harness
        assert harness.fake.violations == []


def _event(name: str, **event: Any) -> dict[str, Any]:
    return event_callback(name, channel=CHANNEL, **event)


def _replace(payload: dict[str, Any], **fields: Any) -> dict[str, Any]:
    changed = copy.deepcopy(payload)
    changed.update(fields)
    return changed


def _form(payload: dict[str, Any]) -> tuple[bytes, str]:
    return urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded"


def _json(payload: Any) -> tuple[bytes, str]:
    return json.dumps(payload).encode(), "application/json"


def _command(**fields: str) -> tuple[bytes, str]:
    command = {k: str(v) for k, v in load_event("slash_command").items()}
    command.update({"command": "/cop", "channel_id": CHANNEL, "user_id": FACILITATOR} | fields)
    return urlencode(command).encode(), "application/x-www-form-urlencoded"


DEEP = "[" * 100_000 + "]" * 100_000
CAUSES: dict[str, Any] = {
    "event_ts 1e400": lambda: _json(_event("message_channel", event_ts="1e400")),
    "ts 1e400": lambda: _json(_event("message_channel", ts="1e400", event_ts="1e400")),
    "event.type a list": lambda: _json(_event("message_channel", type=["message"])),
    "message not an object": lambda: _json(_event("message_changed", message="updated")),
    "item not an object": lambda: _json(_event("reaction_added", item=["message"])),
    "text a list": lambda: _json(_event("message_channel", text=["Hello"])),
    "team_id an int": lambda: _json(_replace(_event("message_channel"), team_id=111)),
    "event_time a float": lambda: _json(
        _replace(_event("member_joined_channel"), event_time=1e400)
    ),
    "NUL in text": lambda: _json(_event("message_channel", text="Hello\x00World")),
    "lone surrogate in text": lambda: _json(_event("message_channel", text="Hello \ud800")),
    "user id longer than its column": lambda: _json(
        _event("member_joined_channel", user="U" * 300)
    ),
    "event_id longer than its column": lambda: _json(
        _event("message_channel") | {"event_id": "E" * 300}
    ),
    "JSON 100,000 deep": lambda: (DEEP.encode(), "application/json"),
    "JSON object 100,000 deep": lambda: (
        ('{"type": "event_callback", "event": ' + '{"a":' * 100_000 + "1" + "}" * 100_001).encode(),
        "application/json",
    ),
    "form payload 100,000 deep": lambda: (
        urlencode({"payload": DEEP}).encode(),
        "application/x-www-form-urlencoded",
    ),
    "actions empty": lambda: _form(_replace(load_event("block_actions"), actions=[])),
    "actions null": lambda: _form(_replace(load_event("block_actions"), actions=None)),
    "action_id a number": lambda: _form(
        _replace(load_event("block_actions"), actions=[{"action_id": 5, "value": "x"}])
    ),
    "view null": lambda: _form(_replace(load_event("view_submission"), view=None)),
    "view not Hearth's": lambda: _form(load_event("view_submission")),  # "This is for you!"
    "user not an object": lambda: _form(_replace(load_event("block_actions"), user="W111")),
    "command with NUL": lambda: _command(text="help\x00"),
    "command text not UTF-8": lambda: (
        urlencode({"command": "/cop", "text": "help \ud800"}, errors="surrogatepass").encode(),
        "application/x-www-form-urlencoded",
    ),
    "command channel too long": lambda: _command(channel_id="C" * 300),
    "channel name too long for #name": lambda: _command(channel_name="c" * 255),
    "command response_url not a URL": lambda: _command(response_url="javascript:alert(1)"),
}


@pytest.mark.parametrize("cause", list(CAUSES))
async def test_each_named_cause_is_a_400_logged_once_that_changes_nothing(
    hearth: HearthHarness, caplog: pytest.LogCaptureFixture, cause: str
) -> None:
    caplog.set_level(logging.INFO, logger=ADAPTER)
    body, content_type = CAUSES[cause]()
    before = await row_counts(hearth.db)
    handled = len(hearth.handled)
    response = await hearth.post(body, signed_headers(body, content_type=content_type))
    assert response.status == 400, (response.status, await response.text())
    assert "error" in await response.json()
    assert await row_counts(hearth.db) == before
    assert len(hearth.handled) == handled
    refusals = [r for r in caplog.records if r.name == ADAPTER and "refused" in r.getMessage()]
    assert len(refusals) == 1, [r.getMessage() for r in refusals]
    assert refusals[0].exc_info is None and refusals[0].levelno == logging.INFO
    assert not crashes(caplog.records)


async def test_a_replayed_command_runs_once(hearth: HearthHarness) -> None:
    """Five replays of one signed `/cop poll`: five 200s, one poll."""
    body, content_type = _command(text=POLL, response_url=hearth.fake.response_url("poll"))
    headers = signed_headers(body, content_type=content_type)
    handled = len(hearth.handled)
    statuses = [(await hearth.post(body, headers)).status for _ in range(5)]
    assert statuses == [200] * 5
    await eventually(lambda: len(hearth.handled) > handled, what="the poll command")
    assert await hearth.count(Poll) == 1
    assert len(hearth.handled) == handled + 1
    assert await hearth.count(SeenRequest) == 2  # the setup command and this one

    # the same command typed again is a new request (another timestamp): it runs
    earlier = int(headers["X-Slack-Request-Timestamp"]) - 1
    again = signed_headers(body, content_type=content_type, timestamp=earlier)
    assert again["X-Slack-Signature"] != headers["X-Slack-Signature"]
    assert (await hearth.post(body, again)).status == 200
    await eventually(lambda: len(hearth.handled) > handled + 1, what="the second poll")
    assert await hearth.count(Poll) == 2


async def test_replays_of_a_click_and_a_form_run_once(hearth: HearthHarness) -> None:
    click = load_event("block_actions")
    click["response_url"] = hearth.fake.response_url("click")
    body, content_type = _form(click)
    headers = signed_headers(body, content_type=content_type)
    handled = len(hearth.handled)
    assert [(await hearth.post(body, headers)).status for _ in range(3)] == [200] * 3
    await eventually(lambda: len(hearth.handled) > handled, what="the click")
    form = load_event("view_submission")
    form["view"]["private_metadata"] = json.dumps({"channel": CHANNEL, "context": ""})
    body, content_type = _form(form)
    headers = signed_headers(body, content_type=content_type)
    assert [(await hearth.post(body, headers)).status for _ in range(3)] == [200] * 3
    await eventually(lambda: len(hearth.handled) > handled + 1, what="the form")
    assert len(hearth.handled) == handled + 2


async def test_a_replay_sent_to_another_replica_does_not_run(database_url: str) -> None:
    """Two apps on one database (as two processes would be): the replay is recognised."""
    async with running_hearth(database_url) as first, running_hearth(database_url) as second:
        await first.command("setup Two replicas")
        body, content_type = _command(text=POLL, response_url=first.fake.response_url("poll"))
        headers = signed_headers(body, content_type=content_type)
        handled = len(first.handled)
        assert (await first.post(body, headers)).status == 200
        await eventually(lambda: len(first.handled) > handled, what="the poll command")
        assert (await second.post(body, headers)).status == 200
        assert second.handled == []
        assert await first.count(Poll) == 1


async def test_seen_requests_are_forgotten_after_the_signing_window(db: Database) -> None:
    now = int(time.time())
    async with db.transaction() as session:
        assert await replays.first_sight(session, "v0=old", now - 400, oldest=now - 800)
        assert await replays.first_sight(session, "v0=new", now, oldest=now - 800)
        assert not await replays.first_sight(session, "v0=new", now, oldest=now - 800)
    async with db.transaction() as session:
        assert await replays.first_sight(session, "v0=newer", now + 1, oldest=now - 360)
        kept = set(await session.scalars(select(SeenRequest.signature)))
    assert kept == {"v0=new", "v0=newer"}


async def test_a_command_mentioning_payload_is_read_as_a_command(hearth: HearthHarness) -> None:
    """bolt's own parser reads any form body containing "payload" as interactivity."""
    handled = len(hearth.handled)
    body, content_type = _command(
        text='poll "Which payload format?" "JSON" "XML"',
        response_url=hearth.fake.response_url("payload"),
    )
    response = await hearth.post(body, signed_headers(body, content_type=content_type))
    assert response.status == 200
    await eventually(lambda: len(hearth.handled) > handled, what="the poll command")
    [[poll]] = await hearth.rows(select(Poll))
    assert poll.question == "Which payload format?"


async def test_an_event_hearth_does_not_listen_to_is_taken_and_ignored(
    hearth: HearthHarness, caplog: pytest.LogCaptureFixture
) -> None:
    before = await row_counts(hearth.db)
    odd = {"type": "event_callback", "event_id": "Ev9", "event": {"type": "app_mention", "x": [1]}}
    response = await hearth.post_json(odd)
    assert response.status == 200
    assert await row_counts(hearth.db) == before
    assert not crashes(caplog.records)
