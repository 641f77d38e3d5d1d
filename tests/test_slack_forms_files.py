"""Forms as Slack modals (views.open → view_submission) and files sent privately."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from slack_sdk.models.views import View

from hearth.bot.app import HUB
from hearth.handlers.cards import Card, Field, Form
from hearth.handlers.commands import Args
from hearth.handlers.context import Context
from hearth.handlers.events import FormSubmitted
from hearth.handlers.forms import read
from tests.fakes.slack_api import SPEC_MISSING_REASON, spec_available
from tests.slack_helpers import CHANNEL, FACILITATOR, HearthHarness, eventually, running_hearth

pytestmark = pytest.mark.skipif(not spec_available(), reason=SPEC_MISSING_REASON)

FORM = Form(
    "Ask a question",
    "test.ask",
    (
        Field("question", "Your question", multiline=True),
        Field("anonymous", "Ask anonymously", "yesno", required=False, initial="no"),
        Field("topics", "Topics", "choices", ("Risk", "Tools"), required=False),
        Field("urgency", "Urgency", "choice", ("Low", "High")),
    ),
    context="42",
)


@pytest.fixture
async def hearth(sqlite_url: str) -> AsyncIterator[HearthHarness]:
    async with running_hearth(sqlite_url) as harness:
        registry = harness.client.app[HUB].registry

        @registry.command("form-test", summary="a test form", needs_community=False)
        async def ask(context: Context, args: Args) -> None:
            context.open_form(FORM)

        @registry.form("test.ask")
        async def asked(context: Context, event: FormSubmitted) -> None:
            values = read(FORM, event.values)
            context.reply_privately(Card(f"Got {values['question']} / {values['urgency']}"))
            context.send_file("answer.csv", b"question\nWhy RAID?\n", "Your answer, as a file")

        yield harness
        assert harness.fake.violations == []


def submission(view: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """A view_submission payload as Slack sends it for `view` (see view_submission.json)."""
    return {
        "type": "view_submission",
        "team": {"id": "T111", "domain": "workspace-domain"},
        "user": {"id": FACILITATOR, "username": "primary-owner", "team_id": "T111"},
        "api_app_id": "A111",
        "token": "verification_token",
        "trigger_id": "111.222.valid",
        "view": {**view, "id": "V111", "team_id": "T111", "state": {"values": values}},
    }


async def test_a_form_opens_as_a_valid_modal_and_its_submission_comes_back(
    hearth: HearthHarness,
) -> None:
    await hearth.command("form-test")
    await eventually(lambda: hearth.fake.calls_to("views.open"), what="views.open")
    [opened] = hearth.fake.calls_to("views.open")
    view = opened["view"]
    assert opened["trigger_id"]
    View(**view).validate_json()  # slack_sdk's own model of a modal
    assert view["callback_id"] == "test.ask"
    assert json.loads(view["private_metadata"]) == {"channel": CHANNEL, "context": "42"}
    kinds = [block["element"]["type"] for block in view["blocks"]]
    assert kinds == ["plain_text_input", "radio_buttons", "checkboxes", "static_select"]

    values = {
        "question": {"question": {"type": "plain_text_input", "value": "Why RAID?"}},
        "anonymous": {"anonymous": {"type": "radio_buttons", "selected_option": {"value": "no"}}},
        "topics": {"topics": {"type": "checkboxes", "selected_options": [{"value": "Risk"}]}},
        "urgency": {"urgency": {"type": "static_select", "selected_option": {"value": "High"}}},
    }
    count = len(hearth.handled)
    response = await hearth.post_form({"payload": json.dumps(submission(view, values))})
    assert response.status == 200
    await eventually(lambda: len(hearth.handled) > count, what="the submission")
    [submitted] = [h.event for h in hearth.handled[count:]]
    assert isinstance(submitted, FormSubmitted)
    assert (submitted.channel, submitted.context) == (CHANNEL, "42")
    assert submitted.values == {
        "question": "Why RAID?",
        "anonymous": "no",
        "topics": ["Risk"],
        "urgency": "High",
    }
    await eventually(lambda: hearth.fake.calls_to("chat.postEphemeral"), what="the answer")
    [answer] = hearth.fake.calls_to("chat.postEphemeral")
    assert (answer["channel"], answer["user"], answer["text"]) == (
        CHANNEL,
        FACILITATOR,
        "Got Why RAID? / High",
    )

    await eventually(lambda: hearth.fake.calls_to("files.completeUploadExternal"), what="the file")
    [upload] = hearth.fake.files.values()
    assert upload["content"] == b"question\nWhy RAID?\n"
    assert (upload["filename"], upload["channel"], upload["comment"]) == (
        "answer.csv",
        f"D{FACILITATOR}",
        "Your answer, as a file",
    )
