"""Whole console transcripts for setup, help, facilitator commands and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from hearth.bot import cli
from hearth.storage.db import Database
from hearth.storage.models import Community
from tests.console_helpers import expected, transcript


async def test_help_is_generated_from_the_registry(db: Database) -> None:
    out = await transcript(db, "alice: /cop help")
    assert out == expected(
        """\
        -- 2026-12-01 09:00 UTC --
        [1] (only @alice) bot: Here's what I can do:
            • `/cop facilitator list` — who facilitates this community
            • `/cop forget-me` — delete everything Hearth stores about you
            • `/cop help` — list what I can do
            • `/cop my-data` — get everything Hearth stores about you, as a file
            • `/cop optin` — let Hearth message you again
            • `/cop optout` — stop every message Hearth starts on its own
            • `/cop poll "Question" "Option" "Option" … [--multi] [--anonymous] [--hidden] [--closes 3d] [--every "first monday 10:00"]` — post a poll (no arguments: a form)
            • `/cop poll close <id>` — close a poll or survey (its creator or a facilitator)
            • `/cop poll export <id>` — a poll's or survey's results as CSV, privately (its creator or a facilitator)
            • `/cop poll list` — the open polls and surveys here
            • `/cop settings` — choose what Hearth sends you, and when
            • `/cop setup [purpose]` — make this channel a community
            *For facilitators:*
            • `/cop audit` — who changed what in this community, and when
            • `/cop facilitator add @someone` — make someone a facilitator
            • `/cop facilitator remove @someone` — stop someone being a facilitator
            • `/cop interests set "Topic one" "Topic two" …` — the interests newcomers pick from
            • `/cop members` — how many members, by group (counts only)
            • `/cop poll stop R<id>` — stop a recurring poll
            • `/cop retention [<days> | off]` — how long the text of messages here is kept
            • `/cop segments set "Group one" "Group two" …` — the groups newcomers choose from
            • `/cop survey` — ask several questions at once (opens a form)
            • `/cop survey post <id>` — post a survey in this channel
            • `/cop survey results <id>` — a survey's results, privately
            • `/cop welcome preview` — see the welcome DM as a newcomer will
            • `/cop welcome reset` — go back to the standard welcome DM
            • `/cop welcome set <message>` — set the welcome DM; placeholders: {name}, {community}, {purpose}, {facilitators}
            (No question is too small — just ask in the community channel.)
        """
    )


async def test_facilitators_share_the_work_and_others_are_refused_politely(db: Database) -> None:
    out = await transcript(
        db,
        """
        alice: /cop facilitator add @bob
        facilitator: /cop facilitator add @alice
        facilitator: /cop facilitator add @alice
        alice: /cop facilitator list
        alice: /cop facilitator remove @facilitator
        facilitator: /cop facilitator remove @bob
        alice: /cop facilitator remove @alice
        facilitator: /cop facilitator remove @facilitator
        """,
    )
    assert out == expected(
        """\
        -- 2026-12-01 09:00 UTC --
        [1] (only @alice) bot: Sorry, only facilitators of #community can use `/cop facilitator add`.
        [2] (only @facilitator) bot: @alice is now a facilitator of #community.
        [3] (only @facilitator) bot: @alice is already a facilitator of #community.
        [4] (only @alice) bot: Facilitators of #community: @facilitator, @alice.
        [5] (only @alice) bot: @facilitator is no longer a facilitator of #community.
        [6] (only @facilitator) bot: Sorry, only facilitators of #community can use `/cop facilitator remove`.
        [7] (only @alice) bot: #community needs at least one facilitator; add another one first.
        [8] (only @facilitator) bot: Sorry, only facilitators of #community can use `/cop facilitator remove`.
        """
    )


async def test_unknown_commands_and_bad_arguments_get_usage(db: Database) -> None:
    out = await transcript(
        db,
        """
        alice: /cop frobnicate
        alice: /cop facilitator
        facilitator: /cop facilitator add bob
        facilitator: /cop welcome set Hello {nmae}
        facilitator: /cop welcome set
        facilitator: /cop segments set "unclosed
        facilitator: /cop setup
        """,
    )
    assert out == expected(
        """\
        -- 2026-12-01 09:00 UTC --
        [1] (only @alice) bot: I don't know the command `frobnicate`.
            Try `/cop help` to see what I can do.
        [2] (only @alice) bot: `facilitator` needs one of: `facilitator list`, `facilitator add @someone`, `facilitator remove @someone`.
            Try `/cop help` to see what I can do.
        [3] (only @facilitator) bot: Mention exactly one person, like `@alex`.
            Usage: `/cop facilitator add @someone`
        [4] (only @facilitator) bot: Unknown placeholder {nmae}; use {name}, {community}, {purpose}, {facilitators}.
            Usage: `/cop welcome set <message>`
        [5] (only @facilitator) bot: Give the message text.
            Usage: `/cop welcome set <message>`
        [6] (only @facilitator) bot: I couldn't read that: No closing quotation.
            Usage: `/cop segments set "Group one" "Group two" …`
        [7] (only @facilitator) bot: #community is already a community. `/cop facilitator list` shows who facilitates it.
        """
    )


async def test_refused_commands_change_nothing(db: Database) -> None:
    await transcript(db, 'alice: /cop segments set "Only me"\nfacilitator: /cop welcome set {oops')
    async with db.transaction() as session:
        community = (await session.scalars(select(Community))).one()
    assert community.segments[0] == "Delivery teams & managers"
    assert community.welcome_template is None


async def test_commands_outside_a_community(db: Database) -> None:
    out = await transcript(
        db, "alice dm: /cop facilitator list\nalice dm: /cop setup\nalice dm: hello?"
    )
    assert out == expected(
        """\
        -- 2026-12-01 09:00 UTC --
        [1] (only @alice) bot: This channel isn't a community yet. A facilitator can run `/cop setup` here to make it one.
        [2] (only @alice) bot: Run `/cop setup` in the channel that should become a community.
        [3] DM @alice @alice: hello?
        [4] (only @alice) bot: Hi! I'm Hearth, the community's helper. Type `/cop help` to see what I can do — and ask your questions in the community channel: no question is too small.
        """
    )


async def test_welcome_text_with_placeholders_and_preview(db: Database) -> None:
    out = await transcript(
        db,
        """
        facilitator: /cop welcome set Hello {name}! {community} is run by {facilitators}. {{literally}}
        facilitator: /cop welcome reset
        """,
    )
    assert "[1] (only @facilitator) bot: Saved. Newcomers will get this:\n" in out
    assert "    Hello Facilitator! #community is run by @facilitator. {literally}\n" in out
    assert (
        "[2] (only @facilitator) bot: Back to the standard welcome. Newcomers will get this:\n"
        in out
    )
    assert "    Hi Facilitator, welcome to #community! 👋\n" in out


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("alice dances", "can't read 'alice dances'"),
        ('alice clicks "Go" on 9', "there is no item [9]"),
        ('bob clicks "Delivery teams & managers" on 1', "[1] is only visible to @alice"),
        ('alice clicks "Nope" on 1', '[1] has no button "Nope"'),
        ("alice submits 1 answer=yes", "[1] is not a form"),
        ("alice tz Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
        ("alice in thread 1: hi", "[1] is not in #community"),
        ("alice:", "nothing to say after the colon"),
    ],
)
def test_a_bad_script_line_stops_with_its_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, reason: str
) -> None:
    script = tmp_path / "demo.txt"
    script.write_text(f"# a demo\nalice joins\n{line}\nalice: never reached\n")
    status = cli.main(["console", "--script", str(script), "--start", "2026-12-01T09:00"])
    out, err = capsys.readouterr()
    assert status == 2
    assert err.startswith(f"{script}:3: {reason}")
    assert "never reached" not in out


def test_a_good_script_prints_its_transcript(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "demo.txt"
    script.write_text("alice joins\nalice: Hello all!\nbob reacts :wave: on 2\nwait 90m\n")
    assert cli.main(["console", "--script", str(script), "--start", "2026-12-01T09:00Z"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "-- 2026-12-01 09:00 UTC --\n* @alice joined #community\n[1] DM @alice bot: Hi Alice"
    )
    assert out.endswith("[2] #community @alice: Hello all!\n* @bob reacted :wave: to [2]\n")
