"""Forms: one neutral definition, shown by each platform, read back with one check."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from hearth.handlers import build_registry
from hearth.handlers.cards import Card, Field, Form, unmarked
from hearth.handlers.commands import Args, CommandError
from hearth.handlers.context import Context
from hearth.handlers.events import FormSubmitted
from hearth.handlers.forms import read
from hearth.handlers.registry import Registry
from hearth.storage.db import Database
from hearth.storage.models import Poll
from tests.console_helpers import expected, transcript
from tests.slack_helpers import eventually, running_hearth
from tests.test_slack_forms_files import submission

ASK = Form(
    "Ask a question",
    "test.ask",
    (
        Field("question", "Your question", multiline=True),
        Field("anonymous", "Ask anonymously", "yesno", required=False),
        Field("topics", "Topics", "choices", ("Risk", "Tools"), required=False),
        Field("urgency", "Urgency", "choice", ("Low", "High")),
    ),
    context="42",
)


def test_read_types_and_checks_values() -> None:
    values = read(
        ASK, {"question": " Why? ", "anonymous": "yes", "topics": ["Risk"], "urgency": "Low"}
    )
    assert values == {"question": "Why?", "anonymous": True, "topics": ["Risk"], "urgency": "Low"}
    assert read(ASK, {"question": "x", "urgency": "High"})["anonymous"] is False


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"urgency": "Low"}, "Ask a question: please fill in “Your question”."),
        ({"question": "x", "urgency": "Medium"}, "Ask a question: “Urgency” is one of Low, High."),
        (
            {"question": "x", "urgency": "Low", "anonymous": "maybe"},
            "“Ask anonymously” is yes or no.",
        ),
        (
            {"question": "x", "urgency": "Low", "topics": ["Cake"]},
            "“Topics” is one of Risk, Tools.",
        ),
        ({"question": "x", "urgency": "Low", "colour": "red"}, "there is no field colour."),
    ],
)
def test_read_says_what_is_wrong(values: dict[str, str | list[str]], message: str) -> None:
    with pytest.raises(CommandError) as caught:
        read(ASK, values)
    assert message in unmarked(str(caught.value))


def registry_with_a_form() -> Registry:
    registry = build_registry()

    @registry.command("form-test", summary="a test form", needs_community=False)
    async def ask(context: Context, args: Args) -> None:
        context.open_form(ASK)

    @registry.form("test.ask")
    async def asked(context: Context, event: FormSubmitted) -> None:
        values = read(ASK, event.values)
        context.reply_privately(
            Card(f"Got {values['question']!r} ({event.context}, {values['topics']})")
        )
        context.send_file("answer.csv", b"question,urgency\nWhy RAID?,High\n", "Your answer")

    return registry


async def test_a_form_round_trip_in_the_console(db: Database) -> None:
    out = await transcript(
        db,
        """
        alice: /cop form-test
        alice submits 1 question="" urgency=High
        alice submits 1 question="Why RAID?" urgency=High topics=Risk,Tools
        """,
        registry=registry_with_a_form(),
    )
    assert out == expected(
        """\
        -- 2026-12-01 09:00 UTC --
        [1] form for @alice "Ask a question": question (text), anonymous (yes/no), topics (any of Risk/Tools), urgency (one of Low/High)
        [2] (only @alice) bot: Ask a question: please fill in “Your question”.
        [3] (only @alice) bot: Got 'Why RAID?' (42, ['Risk', 'Tools'])
        [4] (only @alice) bot: Your answer [file answer.csv, 32 bytes]
            question,urgency
            Why RAID?,High
        """
    )  # a refused submission leaves the form open; the accepted one closes it


PROFILE = Form(
    "Your profile",
    "test.profile",
    (
        Field("name", "Name", initial='Alice "Al" Smith'),
        Field("team", "Team", required=False),
        Field("notify", "Notify me", "yesno", initial="yes"),
        Field(
            "topics",
            "Topics",
            "choices",
            ("Risk", "Tools", "Events & meetups"),
            required=False,
            initial=("Risk", "Events & meetups"),
        ),
        Field("level", "Level", "choice", ("Low", "High"), initial="High"),
    ),
)


def registry_with_a_prefilled_form() -> Registry:
    registry = build_registry()

    @registry.command("profile", summary="profile", needs_community=False)
    async def profile(context: Context, args: Args) -> None:
        context.open_form(PROFILE)

    @registry.form("test.profile")
    async def saved(context: Context, event: FormSubmitted) -> None:
        context.reply_privately(Card(repr(read(PROFILE, event.values))))

    return registry


async def test_a_form_shows_its_prefilled_values_and_keeps_the_fields_not_given(
    db: Database,
) -> None:
    """As Slack and Teams send a prefilled field back unless the member changes it; each value
    is shown as a submit line would write it."""
    out = await transcript(
        db,
        """
        alice: /cop profile
        alice submits 1 level=Low
        alice: /cop profile
        alice submits 3 name="Alice \\"Al\\" Smith" topics= notify=no team="Delivery, north"
        """,
        registry=registry_with_a_prefilled_form(),
    )
    assert out == expected(
        """\
        -- 2026-12-01 09:00 UTC --
        [1] form for @alice "Your profile": name (text) = "Alice \\"Al\\" Smith", team (text), notify (yes/no) = yes, topics (any of Risk/Tools/Events & meetups) = "Risk,Events & meetups", level (one of Low/High) = High
        [2] (only @alice) bot: {'name': 'Alice "Al" Smith', 'team': '', 'notify': True, 'topics': ['Risk', 'Events & meetups'], 'level': 'Low'}
        [3] form for @alice "Your profile": name (text) = "Alice \\"Al\\" Smith", team (text), notify (yes/no) = yes, topics (any of Risk/Tools/Events & meetups) = "Risk,Events & meetups", level (one of Low/High) = High
        [4] (only @alice) bot: {'name': 'Alice "Al" Smith', 'team': 'Delivery, north', 'notify': False, 'topics': [], 'level': 'High'}
        """
    )


async def test_a_poll_modal_submitted_twice_posts_one_poll(sqlite_url: str) -> None:
    """However often one form's submission reaches Hearth, it posts at most one poll."""
    async with running_hearth(sqlite_url) as hearth:
        await hearth.command("setup Sharing delivery practice")
        await hearth.command("poll")
        await eventually(lambda: hearth.fake.calls_to("views.open"), what="views.open")
        [opened] = hearth.fake.calls_to("views.open")
        for question in ("Lunch?", "Dinner?"):
            values = {
                "question": {"question": {"type": "plain_text_input", "value": question}},
                "options": {"options": {"type": "plain_text_input", "value": "Pizza | Salad"}},
            }
            count = len(hearth.handled)
            payload = {"payload": json.dumps(submission(opened["view"], values))}
            assert (await hearth.post_form(payload)).status == 200
            await eventually(lambda n=count: len(hearth.handled) > n, what="the submission")
        await eventually(lambda: len(hearth.fake.calls_to("chat.postEphemeral")) == 2, what="why")
        refused = hearth.fake.calls_to("chat.postEphemeral")[1]["text"]
        assert refused == "This form was already used; `/cop poll` opens a new one."
        assert [p.question for (p,) in await hearth.rows(select(Poll))] == ["Lunch?"]
        assert hearth.fake.violations == []


async def test_a_survey_modal_submitted_twice_saves_one_draft_and_one_edit(
    sqlite_url: str,
) -> None:
    """A survey form (new or edit) saves at most once, however often it is submitted."""
    async with running_hearth(sqlite_url) as hearth:
        await hearth.command("setup Sharing delivery practice")

        async def submit_twice(view: dict, titles: tuple[str, str]) -> str:
            before = len(hearth.fake.calls_to("chat.postEphemeral"))
            for title in titles:
                values = {
                    "title": {"title": {"type": "plain_text_input", "value": title}},
                    "q1": {"q1": {"type": "plain_text_input", "value": "How was it?"}},
                }
                count = len(hearth.handled)
                payload = {"payload": json.dumps(submission(view, values))}
                assert (await hearth.post_form(payload)).status == 200
                await eventually(lambda n=count: len(hearth.handled) > n, what="the submission")
            await eventually(
                lambda: len(hearth.fake.calls_to("chat.postEphemeral")) == before + 2,
                what="both answers",
            )
            return hearth.fake.calls_to("chat.postEphemeral")[-1]["text"]

        await hearth.command("survey")
        await eventually(lambda: hearth.fake.calls_to("views.open"), what="views.open")
        [opened] = hearth.fake.calls_to("views.open")
        refused = await submit_twice(opened["view"], ("Check-in", "Second check-in"))
        assert refused == "This survey form was already used; `/cop survey` opens a new one."
        [(survey,)] = await hearth.rows(select(Poll))
        assert (survey.kind, survey.question) == ("survey", "Check-in")

        await hearth.command(f"survey edit {survey.id}")
        await eventually(lambda: len(hearth.fake.calls_to("views.open")) == 2, what="the edit")
        edit = hearth.fake.calls_to("views.open")[1]["view"]
        refused = await submit_twice(edit, ("Renamed", "Renamed again"))
        assert refused == "This survey form was already used; `/cop survey` opens a new one."
        assert [p.question for (p,) in await hearth.rows(select(Poll))] == ["Renamed"]
        assert hearth.fake.violations == []
