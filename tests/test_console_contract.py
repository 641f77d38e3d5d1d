"""The console keeps CONSOLE.md's contract: it clicks what a message shows now, a form closes
once accepted, prefilled values show and stay, its clock never goes back, and time lines only
head what happened. What Slack or Teams can still deliver (a stale click, a form card submitted
again) is made harmless by the handlers themselves."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hearth.bot import cli
from hearth.bot.console.script import ScriptError
from hearth.bot.console.session import ConsoleSession
from hearth.handlers.context import Defaults
from hearth.storage.db import Database
from hearth.storage.models import Member, Poll
from tests.console_helpers import (
    SHORT_WELCOME,
    START,
    expected,
    stale_click,
    submit_again,
    transcript,
)


async def console(db: Database, lines: list[str]) -> ConsoleSession:
    session = ConsoleSession(db, START, lines.append, Defaults("UTC"))
    await session.start()
    return session


async def run(session: ConsoleSession, script: str) -> None:
    for line in script.strip().splitlines():
        await session.run_line(line.strip())


async def members_named(db: Database, name: str) -> int:
    async with db.transaction() as session:
        return (
            await session.scalar(
                select(func.count()).select_from(Member).where(Member.user_id == name)
            )
            or 0
        )


async def polls(db: Database) -> list[str]:
    async with db.transaction() as session:
        return list(await session.scalars(select(Poll.question).order_by(Poll.id)))


# Clicks


async def test_a_button_an_update_took_away_cannot_be_clicked(db: Database) -> None:
    """Cancel replaces the confirmation: its "Yes, forget me" is gone, on either number."""
    lines: list[str] = []
    session = await console(db, lines)
    await run(session, 'alice: hello\nalice: /cop forget-me\nalice clicks "Cancel" on 2')
    assert lines[-1] == "[3] (update of [2]) (only @alice) bot: Nothing was deleted."
    for number in (2, 3):
        with pytest.raises(ScriptError) as refused:
            await session.run_line(f'alice clicks "Yes, forget me" on {number}')
        assert str(refused.value).endswith('has no button "Yes, forget me" (buttons: none)')
    assert str(refused.value).startswith("[3] has no button")
    with pytest.raises(ScriptError, match=r'^\[2\] is now \[3\], which has no button "Yes'):
        await session.run_line('alice clicks "Yes, forget me" on 2')
    assert await members_named(db, "alice") == 1


async def test_a_click_on_an_earlier_number_uses_the_message_as_it_is_now(db: Database) -> None:
    out = await transcript(
        db,
        SHORT_WELCOME
        + """
        alice joins
        alice clicks "Leadership" on 4
        alice clicks "Delivery" on 4
        """,
    )
    assert out.endswith(
        expected(
            """\
            [6] (update of [5]) DM @alice bot: Hi Alice, welcome to #community!
                Which group are you in?
                [✓ Delivery] [Leadership]
                What would you like to hear about? Pick any.
                [Risk] [Tools]
                (You're getting this because you joined #community.)
                [Stop messages from Hearth]
            """
        )
    )


async def test_a_stale_forget_me_confirmation_deletes_nothing(db: Database) -> None:
    """A platform may deliver a click on the card as it was (a double click, another device):
    a confirmation that was answered, or belongs to a record since forgotten, does nothing."""
    lines: list[str] = []
    session = await console(db, lines)
    await run(session, 'alice: hello\nalice: /cop forget-me\nalice clicks "Cancel" on 2')
    await stale_click(session, "alice", "Yes, forget me", 2)
    assert lines[-1] == (
        "[4] (only @alice) bot: That confirmation is no longer valid, so nothing was deleted."
        " `/cop forget-me` asks again."
    )
    assert await members_named(db, "alice") == 1

    await run(session, "alice: /cop forget-me\nalice: /cop forget-me")  # two cards: [5], [6]
    await run(session, 'alice clicks "Yes, forget me" on 6')
    assert await members_named(db, "alice") == 0
    await run(session, "alice: /cop optin\nalice: I'm back")
    assert await members_named(db, "alice") == 1
    await run(session, 'alice clicks "Yes, forget me" on 5')  # never replaced: still shown
    assert lines[-1].endswith(
        "bot: That confirmation is no longer valid, so nothing was deleted. `/cop forget-me` asks again."
    )
    assert await members_named(db, "alice") == 1


# Forms


async def test_a_form_hearth_accepted_is_closed(db: Database) -> None:
    lines: list[str] = []
    session = await console(db, lines)
    await run(
        session,
        """
        alice: /cop poll
        alice submits 1 question="Lunch?" options="Pizza"
        alice submits 1 question="Lunch?" options="Pizza | Salad"
        """,
    )
    assert lines[2] == "[2] (only @alice) bot: New poll: A poll needs at least two options."
    with pytest.raises(ScriptError, match=r"^\[1\] is already submitted: open the form again$"):
        await session.run_line('alice submits 1 question="Lunch?" options="Pizza | Salad"')
    assert await polls(db) == ["Lunch?"]


async def test_a_poll_form_posts_at_most_one_poll_whatever_is_delivered(db: Database) -> None:
    """Teams keeps a form card in the chat: submitted again, it posts nothing more."""
    lines: list[str] = []
    session = await console(db, lines)
    await run(
        session,
        """
        alice: /cop poll
        alice submits 1 question="Lunch?" options="Pizza | Salad"
        bob: /cop poll
        """,
    )
    await submit_again(session, "alice", 1, question="Dinner?", options="Soup | Stew")
    assert lines[-1] == (
        "[5] (only @alice) bot: This form was already used; `/cop poll` opens a new one."
    )
    await run(session, "wait 8d")
    await session.run_line('bob submits 4 question="Tea?" options="Green | Black"')
    assert lines[-1] == "[6] (only @bob) bot: This form has expired; `/cop poll` opens a new one."
    assert await polls(db) == ["Lunch?"]


async def test_a_prefilled_form_shows_its_values_and_keeps_those_not_given(db: Database) -> None:
    """Answering a survey again with one field changes that answer only."""
    out = await transcript(
        db,
        """
        facilitator: /cop survey
        facilitator submits 1 title="Check-in" q1="scale: How useful?" q2="choice: Next? | Talk | Clinic" q3="What should change?"
        facilitator: /cop survey post 1
        alice clicks "Answer the survey" on 4
        alice submits 5 q1=4 q2=Talk q3="More examples, please"
        alice clicks "Answer the survey" on 4
        alice submits 8 q1=2
        alice clicks "Answer the survey" on 4
        facilitator: /cop survey results 1
        """,
    )
    assert (
        '[8] form for @alice "Check-in": q1 (one of 1/2/3/4/5) = 4, '
        'q2 (one of Talk/Clinic) = Talk, q3 (text) = "More examples, please"\n'
    ) in out
    assert (
        '[10] form for @alice "Check-in": q1 (one of 1/2/3/4/5) = 2, '
        'q2 (one of Talk/Clinic) = Talk, q3 (text) = "More examples, please"\n'
    ) in out
    results = out[out.index("Results of survey #1") :]
    assert "Talk ▇▇▇▇▇▇▇▇▇▇ 1 · 100%" in results
    assert "“More examples, please”" in results


# The clock and time lines


async def test_a_second_run_on_the_same_database_starts_after_the_first(db: Database) -> None:
    """The first run's welcome post went out at 16:00: a second run that started earlier
    would never post its own newcomers' (the day's post is already sent)."""
    await transcript(db, SHORT_WELCOME + "alice joins\nwait 8h\n")
    out = await transcript(db, "bob joins\nwait 1d\n", start=START + timedelta(hours=1))
    assert out.endswith(
        expected(
            """\
            -- 2026-12-02 16:00 UTC --
            [2] #community bot: 🎉 Please welcome our newest member: @bob!
                (Say hello in the thread — and newcomers, tell us what you work on.)
            """
        )
    )
    assert out.startswith(
        expected(
            """\
            -- 2026-12-01 16:00 UTC --
            * the clock starts here, not at 2026-12-01 10:00 UTC: this database has already seen 2026-12-01 16:00 UTC
            * @bob joined #community
            """
        )
    )


async def test_a_later_start_is_kept_and_a_fresh_database_says_nothing(db: Database) -> None:
    first = await transcript(db, "alice: hello\n")
    assert first == "-- 2026-12-01 09:00 UTC --\n[1] #community @alice: hello\n"
    later = await transcript(db, "bob: hi\n", start=START + timedelta(days=3))
    assert later == "-- 2026-12-04 09:00 UTC --\n[1] #community @bob: hi\n"


async def test_time_lines_head_only_what_happened(db: Database) -> None:
    """The nightly retention purge prints nothing, so its times are not shown; nor is the end
    of a wait in which nothing happened."""
    out = await transcript(
        db,
        """
        facilitator: /cop retention 30
        wait 2d
        alice: hello
        wait 1h
        wait 3d
        """,
    )
    times = [line for line in out.splitlines() if line.startswith("-- ")]
    assert times == ["-- 2026-12-01 09:00 UTC --", "-- 2026-12-03 09:00 UTC --"]
    assert out.endswith("-- 2026-12-03 09:00 UTC --\n[2] #community @alice: hello\n")


# The interactive console


def test_the_interactive_console_tells_a_newcomer_how_to_type(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    typed = "help\n/cop help\nalice dances\nwait 1h\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(typed))
    url = f"sqlite+aiosqlite:///{tmp_path / 'console.db'}"
    status = cli.main(["console", "--database", url, "--start", "2026-12-01T09:00"])
    out = capsys.readouterr().out
    assert status == 0
    assert "can't read 'help'" not in out
    assert 'alice clicks "Pizza" on 3' in out  # the kinds of line, with examples
    assert "[1] (only @facilitator) bot: Here's what you can do, as a facilitator:" in out
    assert "! can't read 'alice dances' (`help` shows how to write a line)" in out
    assert "(it is now 2026-12-01 10:00 UTC)" in out
    assert "-- 2026-12-01 10:00 UTC --" not in out
