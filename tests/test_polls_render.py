"""Poll and survey cards are valid Block Kit and Adaptive Cards 1.5, within Slack's limits,
at their largest: ten options of 75 characters, eight long questions, many voters."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import jsonschema
import pytest
from slack_sdk.models.blocks import Block

from hearth.bot.slack import render as slack
from hearth.bot.teams import render as teams
from hearth.handlers.cards import Card, Form
from hearth.handlers.poll_cards import Question, Tally, poll_card, survey_card, survey_summary
from hearth.handlers.poll_spec import MAX_OPTION_LENGTH, MAX_OPTIONS, MAX_QUESTION_LENGTH
from hearth.handlers.polls import poll_form
from hearth.handlers.surveys import MAX_ANSWER_LENGTH, MAX_QUESTIONS, answer_form, survey_form
from hearth.storage.models import Community, Member, Poll

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
COMMUNITY = Community(id=1, name="#community", timezone="Europe/London", channel="C1")
CREATOR = Member(id=1, user_id="U0CREATOR", name="Fran Facilitator")
VOTERS = [Member(id=n, user_id=f"U{n:08d}", name=f"Voter number {n}") for n in range(2, 60)]
OPTIONS = [f"{n} " + "x" * (MAX_OPTION_LENGTH - 2) for n in range(MAX_OPTIONS)]
QUESTIONS = [
    Question("choice", "q" * MAX_QUESTION_LENGTH, tuple(OPTIONS)),
    Question("scale", "s" * MAX_QUESTION_LENGTH),
    Question("text", "t" * MAX_QUESTION_LENGTH),
] + [Question("choice", "c" * MAX_QUESTION_LENGTH, tuple(OPTIONS))] * (MAX_QUESTIONS - 3)
SLACK_MODAL_TITLE = 24
SLACK_OPTIONS = 10  # radio buttons and checkboxes; a static select takes up to 100
SLACK_OPTION_TEXT = 75
SLACK_LABEL = 2000
TEAMS_CARD_LIMIT = 28 * 1024


def a_poll(**values: Any) -> Poll:
    fields: dict[str, Any] = {
        "id": 12345,
        "kind": "poll",
        "question": "?" * MAX_QUESTION_LENGTH,
        "options": OPTIONS,
        "questions": [],
        "multi": False,
        "anonymous": False,
        "hidden": False,
        "status": "open",
        "closes_at": NOW,
        "closed_at": None,
    }
    return Poll(**(fields | values))


def a_survey(**values: Any) -> Poll:
    return a_poll(kind="survey", options=[], questions=[q.to_json() for q in QUESTIONS], **values)


TALLY = Tally(
    {i: 5 + i for i in range(MAX_OPTIONS)},
    sum(5 + i for i in range(MAX_OPTIONS)),
    {i: VOTERS[i * 5 : i * 5 + 5] for i in range(MAX_OPTIONS)},
)
ANSWERS = [
    (f"voter{n}", None, {0: OPTIONS[n % 10], 1: str(n % 5 + 1), 2: "a" * MAX_ANSWER_LENGTH})
    for n in range(30)
]
CARDS = {
    "open poll": poll_card(a_poll(), COMMUNITY, CREATOR, TALLY),
    "hidden anonymous poll": poll_card(a_poll(hidden=True, anonymous=True), COMMUNITY, None, TALLY),
    "closed poll": poll_card(a_poll(status="closed", closed_at=NOW), COMMUNITY, CREATOR, TALLY),
    "survey": survey_card(a_survey(), COMMUNITY, CREATOR, 1000),
    "closed survey": survey_card(a_survey(status="closed", closed_at=NOW), COMMUNITY, None, 3),
    "survey summary": survey_summary(a_survey(), ANSWERS, "/cop"),
}
FORMS = {
    "new poll": poll_form(),
    "new survey": survey_form(),
    "answer": answer_form(a_survey(), {0: OPTIONS[3], 1: "4", 2: "a" * MAX_ANSWER_LENGTH}),
}


@pytest.fixture(scope="module")
def adaptive_card_schema() -> jsonschema.Draft6Validator:
    schema = json.loads(
        resources.files("adaptive_cards").joinpath("schemas/schema-1.5.json").read_text("utf-8")
    )
    jsonschema.Draft6Validator.check_schema(schema)
    return jsonschema.Draft6Validator(schema)


def adaptive_card_errors(validator: jsonschema.Draft6Validator, card: dict[str, Any]) -> list:
    """Schema errors (the `msteams` extension is Teams' own, outside the schema) and size."""
    core = {key: value for key, value in card.items() if key != "msteams"}
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(core)]
    if len(json.dumps(card).encode()) > TEAMS_CARD_LIMIT:
        errors.append("larger than Teams accepts")
    return errors


@pytest.mark.parametrize("name", CARDS)
def test_cards_are_valid_block_kit_within_slack_limits(name: str) -> None:
    card = CARDS[name]
    rendered = slack.blocks(card)
    assert len(rendered) <= slack.MAX_BLOCKS
    for block in rendered:
        Block.parse(block).validate_json()  # slack_sdk's own checks, lengths included
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= slack.MAX_SECTION_TEXT
            assert not block["text"]["text"].endswith("…"), "nothing is cut off"
        if block["type"] == "actions":
            assert len(block["elements"]) <= slack.MAX_ACTION_ELEMENTS
            labels = [e["text"]["text"] for e in block["elements"]]
            assert all(len(label) <= slack.MAX_BUTTON_TEXT and "…" not in label for label in labels)
    ids = [e["action_id"] for b in rendered if b["type"] == "actions" for e in b["elements"]]
    assert len(ids) == len(set(ids))
    assert len(slack.fallback_text(card)) <= slack.MAX_FALLBACK_TEXT


@pytest.mark.parametrize("name", CARDS)
def test_cards_are_valid_adaptive_cards(
    name: str, adaptive_card_schema: jsonschema.Draft6Validator
) -> None:
    card = teams.adaptive_card(CARDS[name])
    assert adaptive_card_errors(adaptive_card_schema, card) == []
    assert card["version"] == "1.5"


@pytest.mark.parametrize("name", FORMS)
def test_forms_are_valid_adaptive_cards_within_slack_modal_limits(
    name: str, adaptive_card_schema: jsonschema.Draft6Validator
) -> None:
    form: Form = FORMS[name]
    card = teams.form_card(form)
    assert adaptive_card_errors(adaptive_card_schema, card) == []
    assert len(form.title) <= SLACK_MODAL_TITLE
    assert len(form.submit_label) <= SLACK_MODAL_TITLE
    for field in form.fields:
        assert len(field.label) <= SLACK_LABEL
        assert len(field.options) <= SLACK_OPTIONS
        assert all(len(option) <= SLACK_OPTION_TEXT for option in field.options)


def test_the_largest_poll_shows_every_option_and_the_first_voters() -> None:
    card: Card = CARDS["open poll"]
    assert [b.label for b in card.buttons()] == OPTIONS
    lines = card.blocks[0].text.splitlines()  # type: ignore[union-attr]
    assert len(lines) == MAX_OPTIONS
    assert lines[9].endswith(
        "▇ 14 · 15% — <@U00000047>, <@U00000048>, <@U00000049>, <@U00000050>, <@U00000051> +9"
    )
