"""Templates are plain substitution of documented names, never code; the welcome preview is
exactly what a newcomer gets; a newcomer who stopped Hearth's messages is named in the public
welcome without a ping."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import update

from hearth.bot.slack.render import blocks, fallback_text
from hearth.bot.teams.render import adaptive_card
from hearth.handlers.templates import (
    MAX_LENGTH,
    MAX_PLACEHOLDERS,
    MAX_RENDERED,
    Slot,
    Template,
    TemplateError,
)
from hearth.handlers.welcome import PLACEHOLDERS, welcome_post_card
from hearth.storage.db import Database
from hearth.storage.models import Community, Member
from tests.console_helpers import SHORT_WELCOME, transcript

NAMES = ("name", "community")


def test_placeholders_are_substituted_and_double_braces_are_braces() -> None:
    template = Template.parse("Hi {name}, {{literally}} {community}}} {name}", NAMES)
    assert template.parts == ("Hi ", Slot("name"), ", {literally} ", Slot("community"), "} ",
                              Slot("name"))  # fmt: skip
    assert template.render({"name": "Ann", "community": "#ops"}) == "Hi Ann, {literally} #ops} Ann"
    assert template.render({"name": "{community}", "community": "x"}).startswith("Hi {community}")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "Hi {name:>2000000000}",
            "Placeholders take nothing after the name: write {name} instead of {name:>2000000000}.",
        ),
        (
            "Hi {name!r}",
            "Placeholders take nothing after the name: write {name} instead of {name!r}.",
        ),
        ("Hi {name.__class__}", "Placeholders take nothing after the name: write {name} instead"),
        ("Hi {name[0]}", "Placeholders take nothing after the name: write {name} instead"),
        ("Hi {nmae}", "Unknown placeholder {nmae}; use {name}, {community}."),
        ("Hi {}", "Unknown placeholder {}; use {name}, {community}."),
        ("Hi {0}", "Unknown placeholder {0}; use {name}, {community}."),
        ("Price: 5} ", "There is a stray } at character 9: write }} for a literal one"),
        ("Hi {name", "There is a stray { at character 4: write {{ for a literal one"),
        ("{{{name", "There is a stray { at character 3"),
        ("x" * (MAX_LENGTH + 1), f"keep it under {MAX_LENGTH}"),
        ("{name}" * (MAX_PLACEHOLDERS + 1), f"use at most {MAX_PLACEHOLDERS}"),
    ],
)
def test_anything_else_is_refused_with_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(TemplateError) as refused:
        Template.parse(text, NAMES)
    assert message in str(refused.value)
    assert "Traceback" not in str(refused.value) and "format" not in str(refused.value)


@given(st.text(max_size=200))
def test_any_text_parses_or_is_refused_and_never_grows_past_the_limit(text: str) -> None:
    try:
        template = Template.parse(text, NAMES)
    except TemplateError:
        return
    rendered = template.render({"name": "N" * 10_000, "community": "C" * 10_000})
    assert len(rendered) <= MAX_RENDERED
    assert template.render({"name": "{name}", "community": "{community}"}).count("{") >= sum(
        isinstance(p, Slot) for p in template.parts
    )


async def test_welcome_set_refuses_code_and_the_preview_is_what_newcomers_get(
    db: Database,
) -> None:
    out = await transcript(
        db,
        """
        facilitator: /cop welcome set Hi {name:>2000000000}
        facilitator: /cop welcome set Hi {name!r}
        facilitator: /cop welcome set Hi } there
        facilitator: /cop welcome set Hi {name}, {{braces}} & <!channel> *welcome* to {community}!
        alice joins
        """,
    )
    usage = "    Usage: `/cop welcome set <message>`\n"
    assert out.split("\n", 1)[1].split("[4]")[0] == (
        "[1] (only @facilitator) bot: Placeholders take nothing after the name: write {name} "
        "instead of {name:>2000000000}.\n"
        + usage
        + "[2] (only @facilitator) bot: Placeholders take nothing after the name: write {name} "
        "instead of {name!r}.\n"
        + usage
        + "[3] (only @facilitator) bot: There is a stray } at character 4: write }} for a "
        "literal one, or use {name}, {community}, {purpose}, {facilitators}.\n" + usage
    )
    preview = out.split("[4] (only @facilitator) bot: Saved. Newcomers will get this:\n")[1]
    preview = preview.split("* @alice joined")[0].replace("Facilitator", "Alice")
    sent = out.split("[5] DM @alice bot: ")[1]
    assert "    " + sent == preview  # the preview shows exactly what is sent
    assert sent.startswith("Hi Alice, {braces} & <!channel> *welcome* to #community!\n")
    assert set(PLACEHOLDERS) == {"name", "community", "purpose", "facilitators"}


async def test_a_stored_template_from_before_the_checks_falls_back_to_the_standard(
    db: Database,
) -> None:
    out = await transcript(db, "facilitator: /cop welcome preview\n")
    standard = out.split("\n")[2]
    async with db.transaction() as session:
        await session.execute(update(Community).values(welcome_template="Hi {name:>99999999}"))
    again = await transcript(db, "facilitator: /cop welcome preview\n")
    assert "Hi Facilitator, welcome to #community! 👋" in standard
    assert again.split("\n")[2] == standard


async def test_a_newcomer_who_stopped_messages_is_welcomed_by_name_without_a_ping(
    db: Database,
) -> None:
    out = await transcript(
        db,
        SHORT_WELCOME
        + """
        alice joins
        bob joins
        bob clicks "Stop messages from Hearth" on 5
        wait 8h
        """,
    )
    assert "[7] #community bot: 🎉 Please welcome our newest members: @alice and Bob!" in out


def test_the_welcome_post_pings_only_those_who_did_not_stop_messages() -> None:
    alice = Member(user_id="U0ALICE", name="Alice", unsolicited_dms_off=False)
    bob = Member(user_id="U0BOB", name="Bob <!channel>", unsolicited_dms_off=True)
    card = welcome_post_card([alice, bob])
    slack = blocks(card)[0]["text"]["text"]
    assert slack == "🎉 Please welcome our newest members: <@U0ALICE> and Bob &lt;!channel&gt;!"
    assert fallback_text(card) == slack
    teams = adaptive_card(card)
    assert teams["body"][0]["text"] == (
        "🎉 Please welcome our newest members: <at>Alice</at> and Bob \\<!channel\\>!"
    )
    assert [e["mentioned"]["id"] for e in teams["msteams"]["entities"]] == ["U0ALICE"]
