"""Whole console transcripts for setup, help, facilitator commands and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from hearth.bot import cli
from hearth.handlers import build_registry
from hearth.handlers.registry import GROUPS
from hearth.storage.db import Database
from hearth.storage.models import Community
from tests.console_helpers import expected, transcript


async def test_help_is_grouped_and_shows_a_member_what_they_can_do(db: Database) -> None:
    out = await transcript(db, "alice: /cop help")
    assert out == expected(
        """\
        -- 2026-12-01 09:00 UTC --
        [1] (only @alice) bot: Here's what you can do:
            *Community*
            • `/cop facilitator list` — who facilitates this community
            • `/cop help` — what you can do here
            • `/cop setup` — make this channel a community
            *Polls and surveys*
            • `/cop poll` — post a poll (no arguments: a form)
            • `/cop poll close` — close a poll or survey (its creator or a facilitator)
            • `/cop poll export` — a poll's or survey's results as CSV, privately (its creator or a facilitator)
            • `/cop poll list` — the open polls and surveys here
            *Questions and experts*
            • `/cop ask` — ask the community a question (Hearth finds people who know; --anonymous: nobody sees it was you)
            • `/cop expertise add` — say you know a topic (others may ask you)
            • `/cop expertise list` — the topics you're known for here
            • `/cop expertise remove` — stop saying you know a topic
            • `/cop experts` — who knows a topic (declared, assigned or answering)
            • `/cop search` — search the answered questions and lessons learned
            *Community rhythm*
            • `/cop article suggest` — suggest an article of the month
            • `/cop calendar` — what is scheduled in the next 30 days
            • `/cop digest preview` — the next digest as it stands, just for you
            • `/cop digest stats` — activity after the last digests (the newsletter spike)
            • `/cop theme list` — this month's theme and the ones planned
            *Hot seats, library and jobs*
            • `/cop hotseat list` — hot seats proposed, coming up and running
            • `/cop job post` — put a job on the board (closes in 30 days unless said)
            • `/cop job remove` — take a job off the board (its poster or a facilitator)
            • `/cop jobs` — the open jobs on the board
            • `/cop resource add` — suggest a link for the library (facilitators: add it straight away)
            • `/cop resources` — find links in the library by title, tags, description
            *Members and privacy*
            • `/cop away` — no requests for help until a date (like until 2026-12-20)
            • `/cop back` — take requests for help again
            • `/cop forget-me` — delete everything Hearth stores about you
            • `/cop my-data` — get everything Hearth stores about you, as a file
            • `/cop optin` — let Hearth message you again
            • `/cop optout` — stop every message Hearth starts on its own
            • `/cop settings` — choose what Hearth sends you, and when
            (`/cop help <command>` tells you more about one. No question is too small — just ask in the community channel.)
        """
    )


async def test_a_facilitator_sees_their_commands_grouped_by_task(db: Database) -> None:
    out = await transcript(db, "facilitator: /cop help")
    assert out.startswith(
        "-- 2026-12-01 09:00 UTC --\n"
        "[1] (only @facilitator) bot: Here's what you can do, as a facilitator:\n"
    )
    headings = [line.strip() for line in out.splitlines() if line.strip().startswith("*")]
    assert headings == [
        "*Community*",
        "*Welcoming newcomers*",
        "*Polls and surveys*",
        "*Questions and experts*",
        "*Community rhythm*",
        "*Hot seats, library and jobs*",
        "*Members and privacy*",
    ]
    registry = build_registry()
    for command in registry.commands.values():  # generated from the registry: all are there
        assert f"• `/cop {command.name}` — {command.summary}\n" in out
    assert {c.group for c in registry.commands.values()} == set(GROUPS)


async def test_help_for_one_command_or_a_family(db: Database) -> None:
    out = await transcript(
        db,
        """
        alice: /cop help poll stop
        alice: /cop help welcome
        alice: /cop help frobnicate
        """,
    )
    assert out == expected(
        """\
        -- 2026-12-01 09:00 UTC --
        [1] (only @alice) bot: `/cop poll stop R<id>`
            Stop a recurring poll. Facilitators of the community can use it.
        [2] (only @alice) bot: The `welcome` commands:
            • `/cop welcome preview` — see the welcome DM as a newcomer will
            • `/cop welcome reset` — go back to the standard welcome DM
            • `/cop welcome set <message>` — set the welcome DM; placeholders: {name}, {community}, {purpose}, {facilitators}
        [3] (only @alice) bot: I don't know the command `frobnicate`.
            Usage: `/cop help [command]`
        """
    )


async def test_facilitators_share_the_work_and_others_are_refused_politely(db: Database) -> None:
    out = await transcript(
        db,
        """
        alice joins
        alice: /cop facilitator add @bob
        facilitator: /cop facilitator add @bob
        facilitator: /cop facilitator add @alice
        facilitator: /cop facilitator add @alice
        alice: /cop facilitator list
        alice: /cop facilitator remove @facilitator
        facilitator: /cop facilitator remove @bob
        alice: /cop facilitator remove @alice
        facilitator: /cop facilitator remove @facilitator
        """,
    )
    assert out.split("[Stop messages from Hearth]\n")[1] == expected(
        """\
        [2] (only @alice) bot: Sorry, only facilitators of #community can use `/cop facilitator add`.
        [3] (only @facilitator) bot: I haven't seen Bob in #community, and a facilitator must be a member of it: once they have joined or posted there, add them again.
        [4] (only @facilitator) bot: @alice is now a facilitator of #community.
        [5] (only @facilitator) bot: @alice is already a facilitator of #community.
        [6] (only @alice) bot: Facilitators of #community: @facilitator, @alice.
        [7] (only @alice) bot: @facilitator is no longer a facilitator of #community.
        [8] (only @facilitator) bot: Sorry, only facilitators of #community can use `/cop facilitator remove`.
        [9] (only @alice) bot: #community needs at least one facilitator; add another one first.
        [10] (only @facilitator) bot: Sorry, only facilitators of #community can use `/cop facilitator remove`.
        """
    )


async def test_the_welcome_names_only_facilitators_still_in_the_community(db: Database) -> None:
    out = await transcript(
        db,
        """
        alice joins
        facilitator: /cop facilitator add @alice
        alice: hello, I was here before
        facilitator: /cop facilitator add @alice
        bob: I was here before setup
        facilitator: /cop facilitator add @bob
        alice leaves
        facilitator: /cop facilitator add @alice
        carol joins
        carol: /cop facilitator list
        """,
    )
    assert "[2] (only @facilitator) bot: @alice is now a facilitator of #community." in out
    assert "@bob is now a facilitator of #community." in out  # seen posting: a member
    assert "Alice has left #community, and a facilitator must be a member of it." in out
    carol = out[out.index("DM @carol") :]
    assert "Your facilitators (@facilitator, @bob) are here for you too." in carol
    assert (
        "(only @carol) bot: Facilitators of #community: @facilitator, "
        "@alice (has left #community), @bob." in carol
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
        facilitator: /cop segments set "Unbalanced "quote
        facilitator: /cop segments set "Only one"
        facilitator: /cop segments set "A" "​" "B"
        facilitator: /cop segments set "Same" "same"
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
        [6] (only @facilitator) bot: A quote isn't closed: “"unclosed” needs a closing " at its end.
            Usage: `/cop segments set "Group one" "Group two" …`
        [7] (only @facilitator) bot: Put a space after the closing quote: “"Unbalanced "quote”.
            Usage: `/cop segments set "Group one" "Group two" …`
        [8] (only @facilitator) bot: Give at least 2 groups, so there is a choice to make.
            Usage: `/cop segments set "Group one" "Group two" …`
        [9] (only @facilitator) bot: Choice 2 is empty (or only spaces or invisible characters); give it some text or leave it out.
            Usage: `/cop segments set "Group one" "Group two" …`
        [10] (only @facilitator) bot: Each choice must be different.
            Usage: `/cop segments set "Group one" "Group two" …`
        [11] (only @facilitator) bot: #community is already a community. `/cop facilitator list` shows who facilitates it.
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
        [1] (only @alice) bot: `/cop facilitator list` is about a community, and you aren't in one yet: join a community's channel first.
        [2] (only @alice) bot: Run `/cop setup` in the channel that should become a community.
        [3] DM @alice @alice: hello?
        [4] (only @alice) bot: Hi! I'm Hearth, the community's helper. Type `/cop help` to see what I can do — and ask your questions in the community channel: no question is too small.
        """
    )


async def test_commands_in_a_dm_answer_for_the_members_community(db: Database) -> None:
    out = await transcript(
        db,
        """
        alice joins
        alice dm: /cop poll "Lunch?" "Pizza" "Salad"
        alice dm: /cop facilitator list
        facilitator dm: /cop retention 30
        alice dm: /cop retention 30
        """,
    )
    assert out.split("[Stop messages from Hearth]\n")[1] == expected(
        """\
        [2] (only @alice) bot: Poll #1 is posted in #community.
            (`/cop poll close 1` closes it; `/cop poll export 1` sends you the results.)
        [3] #community bot: 📊 Lunch?
            Pizza 0 · 0%
            Salad 0 · 0%
            [Pizza] [Salad]
            (Poll #1 by @alice · choose one · 0 votes)
        [4] (only @alice) bot: Facilitators of #community: @facilitator.
        [5] (only @facilitator) bot: #community keeps the text of its messages for 30 days.
            (The messages' rows stay (author, thread, time) for the community's counts.)
        [6] (only @alice) bot: Sorry, only facilitators of #community can use `/cop retention`.
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
        ("alice tz Mars/Olympus", "“Mars/Olympus” isn't a time zone I know"),
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
    assert "[2] #community @alice: Hello all!\n[3] #community thread [2] bot: Welcome" in out
    assert out.endswith("(Only facilitators get this.)\n* @bob reacted :wave: to [2]\n")
