"""Hot seats in the console: a whole one from proposal to summary, a cancelled one, a restart
in the middle, anonymous early questions, what the questions feature and nudges ask of it,
extended and moved ones, and mistakes."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from hearth.bot.console.session import ConsoleSession
from hearth.handlers.cards import typed
from hearth.handlers.context import Defaults
from hearth.storage.db import Database
from hearth.storage.models import (
    DueJob,
    HotSeatQuestion,
    KnowledgeEntry,
    Member,
    OutboxMessage,
)
from tests.console_helpers import START, community_context, expected, stale_click, transcript
from tests.question_helpers import console as in_order
from tests.question_helpers import run
from tests.test_privacy import dump, traces

WHOLE = """
facilitator: /cop hotseat @bob "Assurance in agile delivery" --starts 2026-12-14 --days 2
facilitator: /cop hotseat list
bob clicks "Accept" on 2
wait 6d
alice clicks "Ask a question early" on 6
alice submits 7 question="How do you assure a team that ships daily?"
carol clicks "Ask a question early" on 6
carol submits 9 question="What evidence do auditors accept?" anonymous=yes
wait 7d
wait 1h
bob in thread 12: Small batches, automated evidence, and a risk owner in the team.
alice in thread 12: Thanks Bob!
wait 1d
bob in thread 13: Working software, traced to the risks it reduces.
wait 1d
alice: /cop search auditors evidence
"""


GOLD = expected(
    """\
        -- 2026-12-01 09:00 UTC --
        [1] (only @facilitator) bot: Hot seat H1 “Assurance in agile delivery”, Mon 14 Dec – Tue 15 Dec: I've asked @bob to accept.
            (`/cop hotseat list` shows where it stands.)
        [2] DM @bob bot: @facilitator invites you to the hot seat in #community: “Assurance in agile delivery”, Mon 14 Dec – Tue 15 Dec.
            For those days members' questions come to you first; Hearth collects questions early, opens with them, reminds you each morning of those still waiting, and closes with a summary of every answer.
            [Accept] [Decline]
            (You're getting this because a facilitator of #community proposed you.)
            [Stop messages from Hearth]
        [3] (only @facilitator) bot: Hot seats in #community:
            • H1 Bob on “Assurance in agile delivery” — Mon 14 Dec – Tue 15 Dec · waiting for the expert to accept · 0 questions sent early
        [4] (update of [2]) DM @bob bot: Thank you! You're in the hot seat “Assurance in agile delivery”, Mon 14 Dec – Tue 15 Dec. Hearth announces it a week ahead and sends you the questions.
        [5] DM @facilitator bot: @bob accepted the hot seat H1 “Assurance in agile delivery”, Mon 14 Dec – Tue 15 Dec.
        -- 2026-12-07 09:00 UTC --
        [6] #community bot: 🔥 Coming up: @bob is in the hot seat on “Assurance in agile delivery”, Mon 14 Dec – Tue 15 Dec.
            Send your questions early: they're collected privately and each opens its own thread on the first day. You can ask anonymously — nobody, facilitators included, will see who asked.
            [Ask a question early]
        [7] form for @alice "Ask the hot seat": question (text), anonymous (yes/no)
        [8] (only @alice) bot: Thank you — your question Q1 for the hot seat “Assurance in agile delivery” is saved. It opens its own thread on the first day.
        [9] form for @carol "Ask the hot seat": question (text), anonymous (yes/no)
        [10] (only @carol) bot: Thank you — your question Q2 for the hot seat “Assurance in agile delivery” is saved anonymously: nobody, facilitators included, will see who asked. It opens its own thread on the first day.
        -- 2026-12-14 09:00 UTC --
        [11] #community bot: 🔥 The hot seat is open: @bob answers your questions on “Assurance in agile delivery” (Mon 14 Dec – Tue 15 Dec).
            The 2 questions sent early follow, each in its own thread: reply there. Questions asked in the channel go to @bob first.
        [12] #community bot: Q1 for @bob (asked by Alice): How do you assure a team that ships daily?
            (Hot seat “Assurance in agile delivery” · reply in this thread)
        [13] #community bot: Q2 for @bob (asked anonymously): What evidence do auditors accept?
            (Hot seat “Assurance in agile delivery” · reply in this thread)
        -- 2026-12-14 09:30 UTC --
        [14] DM @bob bot: Good morning! 2 questions wait for your answer in your hot seat “Assurance in agile delivery” in #community:
            • Q1: How do you assure a team that ships daily?
            • Q2: What evidence do auditors accept?
            (Reply in each question's thread. These reminders stop when the hot seat closes; `/cop settings` turns reminders off.)
        -- 2026-12-14 10:00 UTC --
        [15] #community thread [12] @bob: Small batches, automated evidence, and a risk owner in the team.
        [16] #community thread [12] @alice: Thanks Bob!
        -- 2026-12-14 14:00 UTC --
        [17] DM @alice bot: Did you get the answer you needed to “How do you assure a team that ships daily?”?
            Your question: [12] in #community
            [Mark as answered] [Not yet]
            (You can also react with ✅ to the reply that answered it.)
        -- 2026-12-15 09:30 UTC --
        [18] DM @bob bot: Good morning! 1 question waits for your answer in your hot seat “Assurance in agile delivery” in #community:
            • Q2: What evidence do auditors accept?
            (Reply in each question's thread. These reminders stop when the hot seat closes; `/cop settings` turns reminders off.)
        -- 2026-12-15 10:00 UTC --
        [19] #community thread [13] @bob: Working software, traced to the risks it reduces.
        -- 2026-12-15 17:00 UTC --
        [20] #community thread [12] bot: ✅ Marked as answered — thank you @bob!
        [21] DM @bob bot: Thank you, Bob! Your answer to “How do you assure a team that ships daily?” is the one they marked as answering it.
            (It's kept in the community's knowledge now: `/cop search` finds it for the next person who wonders.)
        [22] #community thread [13] bot: ✅ Marked as answered — thank you @bob!
        [23] DM @bob bot: Thank you, Bob! Your answer to “What evidence do auditors accept?” is the one the asker marked as answering it.
            (It's kept in the community's knowledge now: `/cop search` finds it for the next person who wonders.)
        [24] #community bot: 🔥 The hot seat on “Assurance in agile delivery” (Mon 14 Dec – Tue 15 Dec) has closed. Thank you, @bob, for your answers!
            *Q1* How do you assure a team that ships daily? — [12] in #community
            ↳ @bob: Small batches, automated evidence, and a risk owner in the team. — [15] in #community
            ↳ Alice: Thanks Bob! — [16] in #community
            *Q2* What evidence do auditors accept? — [13] in #community
            ↳ @bob: Working software, traced to the risks it reduces. — [19] in #community
            (2 of 2 questions answered; each question's thread above keeps the whole conversation.)
        [25] DM @bob bot: Thank you for the hot seat “Assurance in agile delivery” in #community! You answered 2 of the questions sent early; the summary is posted in the channel and your answers are kept in the community's knowledge.
        -- 2026-12-16 10:00 UTC --
        [26] (only @alice) bot: Found in #community's knowledge:
            • “What evidence do auditors accept?”, answered by Bob — [19] in #community
        """
)


def items(transcript: str) -> list[str]:
    """A transcript's items without their numbers (and thread references), one string each."""
    found: list[str] = []
    for line in transcript.splitlines():
        if line.startswith("["):
            found.append(line.split("] ", 1)[1])
        elif line.startswith("-- "):
            found.append(line)
        elif found:
            found[-1] += "\n" + line
    return [re.sub(r"\[\d+\]", "[n]", item) for item in found]


def assert_closing_aside(out: str, gold: str, closing: str) -> None:
    """`out` is `gold`; but what the close sends at `closing` goes to two conversations at once
    (the channel and the expert's DM), each at its own pace: from there on, their relative
    order (and so the numbers) may differ between runs."""
    before, _, after = out.partition(closing)
    want_before, _, want_after = gold.partition(closing)
    assert before == want_before
    assert sorted(items(after)) == sorted(items(want_after))


async def test_a_whole_hot_seat_from_proposal_to_summary(db: Database) -> None:
    """Proposed, accepted by the expert, announced a week ahead with the early-question form,
    opened with a thread per question, the expert reminded each morning of what still waits
    (nothing the day all is answered), closed with a summary of every answer, and thanked."""
    out = await transcript(db, WHOLE)
    assert_closing_aside(out, GOLD, "-- 2026-12-15 17:00 UTC --\n")
    async with db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(DueJob)) == 0
        keys = set(await session.scalars(select(OutboxMessage.key)))
    steps = {k.split(":", 2)[2] for k in keys if k.startswith("hotseat:1:")}
    assert steps == {
        "invite",
        "status:accepted",
        "announce",
        "open",
        "remind:1",
        "remind:2",
        "summary",
        "thanks",
    }
    assert {"question:1:post", "question:2:post"} <= keys  # tracked questions' own posts
    async with db.transaction() as session:
        kept = list(await session.execute(select(KnowledgeEntry.title, KnowledgeEntry.body)))
    assert sorted(kept) == [
        (
            "How do you assure a team that ships daily?",
            "Small batches, automated evidence, and a risk owner in the team.",
        ),
        ("What evidence do auditors accept?", "Working software, traced to the risks it reduces."),
    ]


async def test_a_cancelled_hot_seat_stops_every_step(db: Database) -> None:
    """Cancelled after its announcement: the channel and the expert are told, its form takes
    no more questions, and nothing of it is ever posted again."""
    out = await transcript(
        db,
        """
        facilitator: /cop hotseat @bob "Assurance in agile delivery" --starts 2026-12-14 --days 2
        bob clicks "Accept" on 2
        wait 6d
        alice clicks "Ask a question early" on 5
        alice submits 6 question="Is a RAID log enough?" anonymous=yes
        bob: /cop hotseat cancel H1
        facilitator: /cop hotseat cancel H1
        alice clicks "Ask a question early" on 5
        wait 10d
        facilitator: /cop hotseat list
        facilitator: /cop hotseat cancel H1
        """,
    )
    assert out == expected(
        """\
        -- 2026-12-01 09:00 UTC --
        [1] (only @facilitator) bot: Hot seat H1 “Assurance in agile delivery”, Mon 14 Dec – Tue 15 Dec: I've asked @bob to accept.
            (`/cop hotseat list` shows where it stands.)
        [2] DM @bob bot: @facilitator invites you to the hot seat in #community: “Assurance in agile delivery”, Mon 14 Dec – Tue 15 Dec.
            For those days members' questions come to you first; Hearth collects questions early, opens with them, reminds you each morning of those still waiting, and closes with a summary of every answer.
            [Accept] [Decline]
            (You're getting this because a facilitator of #community proposed you.)
            [Stop messages from Hearth]
        [3] (update of [2]) DM @bob bot: Thank you! You're in the hot seat “Assurance in agile delivery”, Mon 14 Dec – Tue 15 Dec. Hearth announces it a week ahead and sends you the questions.
        [4] DM @facilitator bot: @bob accepted the hot seat H1 “Assurance in agile delivery”, Mon 14 Dec – Tue 15 Dec.
        -- 2026-12-07 09:00 UTC --
        [5] #community bot: 🔥 Coming up: @bob is in the hot seat on “Assurance in agile delivery”, Mon 14 Dec – Tue 15 Dec.
            Send your questions early: they're collected privately and each opens its own thread on the first day. You can ask anonymously — nobody, facilitators included, will see who asked.
            [Ask a question early]
        [6] form for @alice "Ask the hot seat": question (text), anonymous (yes/no)
        [7] (only @alice) bot: Thank you — your question Q1 for the hot seat “Assurance in agile delivery” is saved anonymously: nobody, facilitators included, will see who asked. It opens its own thread on the first day.
        [8] (only @bob) bot: Sorry, only facilitators of #community can use `/cop hotseat cancel`.
        [9] (only @facilitator) bot: Hot seat H1 “Assurance in agile delivery” is cancelled; nothing more of it will be posted.
        [10] #community bot: The hot seat “Assurance in agile delivery” (Mon 14 Dec – Tue 15 Dec) is cancelled.
        [11] DM @bob bot: The hot seat “Assurance in agile delivery” (Mon 14 Dec – Tue 15 Dec) is cancelled.
        [12] (only @alice) bot: The hot seat “Assurance in agile delivery” takes no more questions.
        -- 2026-12-17 09:00 UTC --
        [13] (only @facilitator) bot: No hot seats are planned in #community.
            (A facilitator proposes one: `/cop hotseat @expert "topic" --starts 2027-02-01 [--days 5]`.)
        [14] (only @facilitator) bot: Hot seat H1 is cancelled already.
        """
    )
    async with db.transaction() as session:
        assert list(await session.scalars(select(DueJob.key))) == []
        pending = await session.scalars(
            select(OutboxMessage.key).where(OutboxMessage.status == "pending")
        )
        assert list(pending) == []


async def test_mistakes_are_explained_and_change_nothing(db: Database) -> None:
    out = await transcript(
        db,
        """
        facilitator: /cop hotseat @bob "Assurance" --starts 2026-11-30
        facilitator: /cop hotseat @bob "Assurance" --starts 2026-12-40
        facilitator: /cop hotseat @bob "Assurance" --starts 2026-12-14 --days 30
        facilitator: /cop hotseat "Assurance" --starts 2026-12-14
        facilitator: /cop hotseat @bob "Assurance" --starts 2026-12-14 --weeks 2
        alice: /cop hotseat @bob "Assurance" --starts 2026-12-14
        facilitator: /cop hotseat @bob "Assurance" --starts 2026-12-14 --days 3
        facilitator: /cop hotseat @carol "Risk" --starts 2026-12-15
        bob clicks "Decline" on 8
        facilitator: /cop hotseat extend H1 2
        facilitator: /cop hotseat extend H9 2
        """,
    )
    assert out == expected(
        """\
        -- 2026-12-01 09:00 UTC --
        [1] (only @facilitator) bot: --starts: that day has begun or passed; pick a later one.
            Usage: `/cop hotseat @expert "topic" --starts 2027-02-01 [--days 5]`
        [2] (only @facilitator) bot: --starts: that is not a date (day is out of range for month).
            Usage: `/cop hotseat @expert "topic" --starts 2027-02-01 [--days 5]`
        [3] (only @facilitator) bot: Give the number of days, from 1 to 14, like `--days 5`.
            Usage: `/cop hotseat @expert "topic" --starts 2027-02-01 [--days 5]`
        [4] (only @facilitator) bot: Mention the expert, then the topic in quotes: `hotseat @alex "Assurance in agile delivery" --starts 2027-02-01 --days 5`.
            Usage: `/cop hotseat @expert "topic" --starts 2027-02-01 [--days 5]`
        [5] (only @facilitator) bot: I don't know the option `--weeks`; the options are `--starts`, `--days`.
            Usage: `/cop hotseat @expert "topic" --starts 2027-02-01 [--days 5]`
        [6] (only @alice) bot: Sorry, only facilitators of #community can use `/cop hotseat`.
        [7] (only @facilitator) bot: Hot seat H1 “Assurance”, Mon 14 Dec – Wed 16 Dec: I've asked @bob to accept.
            (`/cop hotseat list` shows where it stands.)
        [8] DM @bob bot: @facilitator invites you to the hot seat in #community: “Assurance”, Mon 14 Dec – Wed 16 Dec.
            For those days members' questions come to you first; Hearth collects questions early, opens with them, reminds you each morning of those still waiting, and closes with a summary of every answer.
            [Accept] [Decline]
            (You're getting this because a facilitator of #community proposed you.)
            [Stop messages from Hearth]
        [9] (only @facilitator) bot: Hot seat H1 “Assurance” runs Mon 14 Dec – Wed 16 Dec; one hot seat at a time.
        [10] (update of [8]) DM @bob bot: You declined the hot seat “Assurance”; the facilitators know.
        [11] DM @facilitator bot: @bob declined the hot seat H1 “Assurance”.
        [12] (only @facilitator) bot: Hot seat H1 is declined already.
        [13] (only @facilitator) bot: There is no hot seat H9 in #community.
        """
    )


async def test_an_answer_comes_once_and_a_stale_accept_changes_nothing(db: Database) -> None:
    lines: list[str] = []
    session = ConsoleSession(db, START, lines.append, Defaults(), None)
    await session.start()
    for line in (
        'facilitator: /cop hotseat @bob "Risk" --starts 2026-12-14 --days 1',
        'bob clicks "Decline" on 2',
    ):
        await session.run_line(line)
    await stale_click(session, "bob", "Accept", 2)
    assert lines[-1] == "[5] (only @bob) bot: You already answered: the hot seat is declined."
    async with db.transaction() as s:
        assert list(await s.scalars(select(DueJob.key))) == []


async def test_a_restart_neither_repeats_nor_drops_a_step(db: Database) -> None:
    """Three runs of the console on one database (each a restart): every step happens once,
    in the run that reaches its time."""
    first = await transcript(
        db,
        """
        facilitator: /cop hotseat @bob "Assurance" --starts 2026-12-14 --days 1
        bob clicks "Accept" on 2
        wait 6d
        alice clicks "Ask a question early" on 5
        alice submits 6 question="Where do I start?" anonymous=yes
        """,
    )
    assert "Coming up" in first
    second = await transcript(db, "wait 7d\nwait 1h\n")
    assert second.count("The hot seat is open") == 1
    assert second.count("Q1 for @bob (asked anonymously): Where do I start?") == 1
    assert "Good morning! 1 question waits" in second
    assert "Coming up" not in second
    third = await transcript(db, "wait 1d\n")
    assert third.count("has closed") == 1
    assert "The hot seat is open" not in third and "Good morning" not in third
    fourth = await transcript(db, "wait 3d\n")
    assert "bot:" not in fourth
    async with db.transaction() as session:
        keys = list(await session.scalars(select(OutboxMessage.key)))
    hot = sorted(k for k in keys if k.startswith("hotseat:"))
    assert len(hot) == len(set(hot))
    assert {k.split(":", 2)[2] for k in hot} >= {"announce", "open", "remind:1", "summary"}


ANONYMOUS = """
facilitator: /cop hotseat @bob "Assurance" --starts 2026-12-14 --days 1
bob clicks "Accept" on 2
wait 6d
zed clicks "Ask a question early" on 5
zed submits 6 question="Can I admit I have no risk register?" anonymous=yes
alice clicks "Ask a question early" on 5
alice submits 8 question="What does good look like?"
facilitator: /cop hotseat list
facilitator: /cop my-data
wait 7d
wait 1h
bob in thread 13: Start one today, it is fine.
wait 1d
"""


async def test_anonymous_early_questions_reveal_nobody(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """Zed asks anonymously: no message anyone else sees, no row of any table, no log line
    names or numbers Zed; Alice, who asked by name, is named."""
    caplog.set_level(logging.DEBUG)
    out = await transcript(db, ANONYMOUS)
    assert "Q1 for @bob (asked anonymously): Can I admit I have no risk register?" in out
    assert "Q2 for @bob (asked by Alice): What does good look like?" in out
    assert "has closed" in out
    for line in out.splitlines():
        if "zed" in line.lower():
            assert line.startswith(("form for @zed", "[6] form for @zed", "[7] (only @zed)")), line
    tables = await dump(db)
    assert traces(tables, "zed") == []
    assert traces(tables, "alice") != []  # the check sees a name when one is there
    async with db.transaction() as session:
        askers = list(await session.scalars(select(HotSeatQuestion.asker_id)))
    assert askers[0] is None and askers[1] is not None
    logged = [record.getMessage().lower() for record in caplog.records]
    assert [line for line in logged if "zed" in line] == []


async def test_the_expert_is_asked_first_and_the_week_highlighted(db: Database) -> None:
    """What the questions feature (`first_responder`) and nudges (`highlight`) get: nothing
    before it is accepted, the coming week's line, the expert while it runs, nothing after."""
    console = ConsoleSession(db, START, lambda line: None, Defaults(), None)
    await console.start()
    await console.run_line(
        'facilitator: /cop hotseat @bob "Assurance" --starts 2026-12-14 --days 2'
    )

    async def ask(at: datetime) -> tuple[list[int], str | None]:
        async with community_context(db, at) as (context, community):
            registry = context.registry
            first = await registry.first_responders["hotseat"](context, community.id, at)
            line = await registry.highlights["hotseat"](context, community.id, at)
            return first, line

    assert await ask(datetime(2026, 12, 14, 10, tzinfo=UTC)) == ([], None)  # not accepted
    await console.run_line('bob clicks "Accept" on 2')
    assert await ask(datetime(2026, 12, 2, 9, tzinfo=UTC)) == ([], None)
    first, line = await ask(datetime(2026, 12, 8, 9, tzinfo=UTC))
    assert first == [] and line is not None and "Mon 14 Dec – Tue 15 Dec" in line
    first, line = await ask(datetime(2026, 12, 15, 12, tzinfo=UTC))
    async with db.transaction() as session:
        bob = await session.scalar(select(Member.id).where(Member.user_id == "bob"))
    assert first == [bob]
    assert (
        line
        == "🔥 Hot seat this week: "
        + typed("Bob")
        + " answers questions on “"
        + typed("Assurance")
        + "” (now)."
    )
    assert await ask(datetime(2026, 12, 15, 18, tzinfo=UTC)) == ([], None)


async def test_an_extended_hot_seat_reminds_and_closes_later(db: Database) -> None:
    """Extended while it runs: the channel and the expert are told, a reminder comes on the
    new day, the close moves (the old close does nothing), nothing is announced again."""
    out = await transcript(
        db,
        """
        facilitator: /cop hotseat @bob "Assurance" --starts 2026-12-14 --days 1
        bob clicks "Accept" on 2
        wait 6d
        alice clicks "Ask a question early" on 5
        alice submits 6 question="Where do I start?"
        wait 7d
        wait 2h
        facilitator: /cop hotseat extend H1 1
        facilitator: /cop hotseat extend H1 13
        wait 8h
        """,
    )
    assert "now runs Mon 14 Dec – Tue 15 Dec" in out
    assert "Your hot seat “Assurance” in #community now runs Mon 14 Dec – Tue 15 Dec." in out
    assert "A hot seat lasts at most 14 days." in out
    assert "has closed" not in out  # not at 17:00 on the first day any more
    assert out.count("Coming up") == 1
    more = await transcript(db, "wait 2d\n")  # a restart: it resumes where the last run stopped
    assert more.count("Good morning! 1 question waits") == 1
    assert more.count("has closed") == 1 and "-- 2026-12-15 17:00 UTC --" in more


async def test_a_question_in_the_channel_goes_to_the_expert_first(db: Database) -> None:
    """While the hot seat runs, the questions feature asks its expert before anyone else."""
    out = await transcript(
        db,
        """
        facilitator: /cop hotseat @bob "Assurance" --starts 2026-12-08 --days 2
        bob clicks "Accept" on 2
        wait 7d
        dave: Does anyone have a template for assurance plans?
        """,
    )
    assert out.endswith(
        expected(
            """\
            [7] #community @dave: Does anyone have a template for assurance plans?
            [8] #community thread [7] bot: Thanks for asking! I've asked one person who may know to have a look.
            [9] DM @bob bot: Dave asked in #community: “Does anyone have a template for assurance plans?” — could you help?
                The question: [7] in #community
                [I'll answer] [Not me] [Stop these requests]
                (“Not me” passes it on to someone else at once.)
            """
        )
    )


async def job_keys(db: Database) -> list[str]:
    async with db.transaction() as session:
        return sorted(await session.scalars(select(DueJob.key)))


async def test_a_moved_hot_seat_fires_nothing_at_the_old_times_and_once_at_the_new(
    db: Database,
) -> None:
    """Moved a week on after its announcement: a note in the channel instead of a second
    announcement, a DM to the expert; every step waits under a key naming the new first day;
    the old days pass in silence, Hearth restarts, and the new days open, remind and close
    once each, with the question sent early."""
    lines: list[str] = []
    console = await in_order(db, lines)  # the note and the DM print in the order written
    await run(
        console,
        """
        facilitator: /cop hotseat @bob "Assurance in agile delivery" --starts 2026-12-14 --days 2
        bob clicks "Accept" on 2
        wait 6d
        alice clicks "Ask a question early" on 5
        alice submits 6 question="Where do I start?"
        facilitator: /cop hotseat move H1 --starts 2026-12-21
        """,
    )
    assert await job_keys(db) == [
        "hotseat:1:close:2@2026-12-21",
        "hotseat:1:open@2026-12-21",
        "hotseat:1:remind:1@2026-12-21",
        "hotseat:1:remind:2@2026-12-21",
    ]
    await run(
        console,
        """
        wait 8d
        wait 9h
        restart
        facilitator: /cop hotseat list
        wait 6d
        wait 1d
        wait 7d
        """,
    )
    assert_closing_aside(
        "\n".join(lines) + "\n",
        expected(
            """\
            -- 2026-12-01 09:00 UTC --
            [1] (only @facilitator) bot: Hot seat H1 “Assurance in agile delivery”, Mon 14 Dec – Tue 15 Dec: I've asked @bob to accept.
                (`/cop hotseat list` shows where it stands.)
            [2] DM @bob bot: @facilitator invites you to the hot seat in #community: “Assurance in agile delivery”, Mon 14 Dec – Tue 15 Dec.
                For those days members' questions come to you first; Hearth collects questions early, opens with them, reminds you each morning of those still waiting, and closes with a summary of every answer.
                [Accept] [Decline]
                (You're getting this because a facilitator of #community proposed you.)
                [Stop messages from Hearth]
            [3] (update of [2]) DM @bob bot: Thank you! You're in the hot seat “Assurance in agile delivery”, Mon 14 Dec – Tue 15 Dec. Hearth announces it a week ahead and sends you the questions.
            [4] DM @facilitator bot: @bob accepted the hot seat H1 “Assurance in agile delivery”, Mon 14 Dec – Tue 15 Dec.
            -- 2026-12-07 09:00 UTC --
            [5] #community bot: 🔥 Coming up: @bob is in the hot seat on “Assurance in agile delivery”, Mon 14 Dec – Tue 15 Dec.
                Send your questions early: they're collected privately and each opens its own thread on the first day. You can ask anonymously — nobody, facilitators included, will see who asked.
                [Ask a question early]
            [6] form for @alice "Ask the hot seat": question (text), anonymous (yes/no)
            [7] (only @alice) bot: Thank you — your question Q1 for the hot seat “Assurance in agile delivery” is saved. It opens its own thread on the first day.
            [8] (only @facilitator) bot: Hot seat H1 “Assurance in agile delivery” moves to Mon 21 Dec – Tue 22 Dec (it was to run Mon 14 Dec – Tue 15 Dec). I've told the channel and the expert.
            [9] #community bot: 🔥 New dates: the hot seat with @bob on “Assurance in agile delivery” moves to Mon 21 Dec – Tue 22 Dec (it was to run Mon 14 Dec – Tue 15 Dec).
                (The questions sent early are kept; the announcement's button still takes yours.)
            [10] DM @bob bot: Your hot seat “Assurance in agile delivery” in #community moves to Mon 21 Dec – Tue 22 Dec (it was to run Mon 14 Dec – Tue 15 Dec). Hearth opens it, reminds you and closes it on the new days; the questions sent early are kept.
            -- 2026-12-15 18:00 UTC --
            * Hearth restarted on the same database
            [11] (only @facilitator) bot: Hot seats in #community:
                • H1 Bob on “Assurance in agile delivery” — Mon 21 Dec – Tue 22 Dec · accepted · 1 question sent early
            -- 2026-12-21 09:00 UTC --
            [12] #community bot: 🔥 The hot seat is open: @bob answers your questions on “Assurance in agile delivery” (Mon 21 Dec – Tue 22 Dec).
                The question sent early follows, in its own thread: reply there. Questions asked in the channel go to @bob first.
            [13] #community bot: Q1 for @bob (asked by Alice): Where do I start?
                (Hot seat “Assurance in agile delivery” · reply in this thread)
            -- 2026-12-21 09:30 UTC --
            [14] DM @bob bot: Good morning! 1 question waits for your answer in your hot seat “Assurance in agile delivery” in #community:
                • Q1: Where do I start?
                (Reply in each question's thread. These reminders stop when the hot seat closes; `/cop settings` turns reminders off.)
            -- 2026-12-22 09:30 UTC --
            [15] DM @bob bot: Good morning! 1 question waits for your answer in your hot seat “Assurance in agile delivery” in #community:
                • Q1: Where do I start?
                (Reply in each question's thread. These reminders stop when the hot seat closes; `/cop settings` turns reminders off.)
            -- 2026-12-22 17:00 UTC --
            [16] #community bot: 🔥 The hot seat on “Assurance in agile delivery” (Mon 21 Dec – Tue 22 Dec) has closed. Thank you, @bob, for your answers!
                *Q1* Where do I start? — [13] in #community
                ↳ _no answer in its thread yet_
                (0 of 1 question answered; each question's thread above keeps the whole conversation.)
            [17] DM @bob bot: Thank you for the hot seat “Assurance in agile delivery” in #community! You answered 0 of the questions sent early; the summary is posted in the channel and your answers are kept in the community's knowledge.
            """
        ),
        "-- 2026-12-22 17:00 UTC --\n",
    )
    assert await job_keys(db) == []
    async with db.transaction() as session:
        keys = list(await session.scalars(select(OutboxMessage.key)))
    hot = sorted(k.split(":", 2)[2] for k in keys if k.startswith("hotseat:1:"))
    steps = ["invite", "status:accepted", "announce", "moved", "moved-dm", "open"]
    assert hot == sorted([*steps, "remind:1", "remind:2", "summary", "thanks"])


async def test_a_hot_seat_moved_before_an_answer_or_an_announcement(db: Database) -> None:
    """A proposal whose day passed unanswered is moved: the expert is asked again for the new
    days (and again after a second move); accepted, then moved sooner before its
    announcement: the expert is told, the channel hears of it once, a week before the days it
    finally runs, and none of the days given before fire anything."""
    out = await transcript(
        db,
        """
        facilitator: /cop hotseat @bob "Risk" --starts 2026-12-03 --days 1
        wait 3d
        bob clicks "Accept" on 2
        facilitator: /cop hotseat move H1 --starts 2026-12-28
        facilitator: /cop hotseat move H1 --starts 2026-12-21
        bob clicks "Accept" on 7
        facilitator: /cop hotseat move H1 --starts 2026-12-17
        wait 14d
        wait 30d
        """,
    )
    gold = expected(
        """\
        -- 2026-12-01 09:00 UTC --
        [1] (only @facilitator) bot: Hot seat H1 “Risk”, Thu 3 Dec: I've asked @bob to accept.
            (`/cop hotseat list` shows where it stands.)
        [2] DM @bob bot: @facilitator invites you to the hot seat in #community: “Risk”, Thu 3 Dec.
            For those days members' questions come to you first; Hearth collects questions early, opens with them, reminds you each morning of those still waiting, and closes with a summary of every answer.
            [Accept] [Decline]
            (You're getting this because a facilitator of #community proposed you.)
            [Stop messages from Hearth]
        -- 2026-12-04 09:00 UTC --
        [3] (only @bob) bot: That hot seat was to start already; ask a facilitator for a new date.
        [4] (only @facilitator) bot: Hot seat H1 “Risk” moves to Mon 28 Dec (it was to run Thu 3 Dec). I've asked the expert to accept the new days.
        [5] DM @bob bot: @facilitator invites you to the hot seat in #community: “Risk”, Mon 28 Dec.
            (New dates: it was to run Thu 3 Dec.)
            For those days members' questions come to you first; Hearth collects questions early, opens with them, reminds you each morning of those still waiting, and closes with a summary of every answer.
            [Accept] [Decline]
            (You're getting this because a facilitator of #community proposed you.)
            [Stop messages from Hearth]
        [6] (only @facilitator) bot: Hot seat H1 “Risk” moves to Mon 21 Dec (it was to run Mon 28 Dec). I've asked the expert to accept the new days.
        [7] DM @bob bot: @facilitator invites you to the hot seat in #community: “Risk”, Mon 21 Dec.
            (New dates: it was to run Mon 28 Dec.)
            For those days members' questions come to you first; Hearth collects questions early, opens with them, reminds you each morning of those still waiting, and closes with a summary of every answer.
            [Accept] [Decline]
            (You're getting this because a facilitator of #community proposed you.)
            [Stop messages from Hearth]
        [8] (update of [7]) DM @bob bot: Thank you! You're in the hot seat “Risk”, Mon 21 Dec. Hearth announces it a week ahead and sends you the questions.
        [9] DM @facilitator bot: @bob accepted the hot seat H1 “Risk”, Mon 21 Dec.
        [10] (only @facilitator) bot: Hot seat H1 “Risk” moves to Thu 17 Dec (it was to run Mon 21 Dec). I've told the expert; the channel hears of it a week before the new days.
        [11] DM @bob bot: Your hot seat “Risk” in #community moves to Thu 17 Dec (it was to run Mon 21 Dec). Hearth opens it, reminds you and closes it on the new days; the questions sent early are kept.
        -- 2026-12-10 09:00 UTC --
        [12] #community bot: 🔥 Coming up: @bob is in the hot seat on “Risk”, Thu 17 Dec.
            Send your questions early: they're collected privately and each opens its own thread on the first day. You can ask anonymously — nobody, facilitators included, will see who asked.
            [Ask a question early]
        -- 2026-12-17 09:00 UTC --
        [13] #community bot: 🔥 The hot seat is open: @bob answers your questions on “Risk” (Thu 17 Dec).
            Ask your questions here in the channel. Questions asked in the channel go to @bob first.
        -- 2026-12-17 17:00 UTC --
        [14] #community bot: 🔥 The hot seat on “Risk” (Thu 17 Dec) has closed. Thank you, @bob, for your answers!
            (No questions were sent early; the conversations are in the channel.)
        [15] DM @bob bot: Thank you for the hot seat “Risk” in #community! You answered 0 of the questions sent early; the summary is posted in the channel and your answers are kept in the community's knowledge.
        """
    )
    assert_closing_aside(out, gold, "-- 2026-12-17 17:00 UTC --\n")
    assert await job_keys(db) == []


async def test_moving_explains_mistakes_and_a_running_hot_seat_stays(db: Database) -> None:
    out = await transcript(
        db,
        """
        facilitator: /cop hotseat @bob "Risk" --starts 2026-12-14 --days 2
        facilitator: /cop hotseat @carol "Tools" --starts 2026-12-21 --days 1
        bob: /cop hotseat move H1 --starts 2026-12-28
        facilitator: /cop hotseat move H1
        facilitator: /cop hotseat move --starts 2026-12-28
        facilitator: /cop hotseat move H1 --starts 2026-11-30
        facilitator: /cop hotseat move H1 --starts 2026-12-32
        facilitator: /cop hotseat move H1 --starts 2028-01-04
        facilitator: /cop hotseat move H1 --starts 2026-12-14
        facilitator: /cop hotseat move H1 --starts 2026-12-20
        facilitator: /cop hotseat move H9 --starts 2026-12-28
        facilitator: /cop hotseat move H1 --starts 2026-12-28 --days 3
        bob clicks "Accept" on 2
        wait 13d
        wait 1h
        facilitator: /cop hotseat move H1 --starts 2026-12-28
        facilitator: /cop help hotseat move
        """,
    )
    assert out == expected(
        """\
        -- 2026-12-01 09:00 UTC --
        [1] (only @facilitator) bot: Hot seat H1 “Risk”, Mon 14 Dec – Tue 15 Dec: I've asked @bob to accept.
            (`/cop hotseat list` shows where it stands.)
        [2] DM @bob bot: @facilitator invites you to the hot seat in #community: “Risk”, Mon 14 Dec – Tue 15 Dec.
            For those days members' questions come to you first; Hearth collects questions early, opens with them, reminds you each morning of those still waiting, and closes with a summary of every answer.
            [Accept] [Decline]
            (You're getting this because a facilitator of #community proposed you.)
            [Stop messages from Hearth]
        [3] (only @facilitator) bot: Hot seat H2 “Tools”, Mon 21 Dec: I've asked @carol to accept.
            (`/cop hotseat list` shows where it stands.)
        [4] DM @carol bot: @facilitator invites you to the hot seat in #community: “Tools”, Mon 21 Dec.
            For those days members' questions come to you first; Hearth collects questions early, opens with them, reminds you each morning of those still waiting, and closes with a summary of every answer.
            [Accept] [Decline]
            (You're getting this because a facilitator of #community proposed you.)
            [Stop messages from Hearth]
        [5] (only @bob) bot: Sorry, only facilitators of #community can use `/cop hotseat move`.
        [6] (only @facilitator) bot: Give the hot seat and its new first day, like `hotseat move H1 --starts 2027-02-01`.
            Usage: `/cop hotseat move <id> --starts 2027-02-01`
        [7] (only @facilitator) bot: Give the hot seat and its new first day, like `hotseat move H1 --starts 2027-02-01`.
            Usage: `/cop hotseat move <id> --starts 2027-02-01`
        [8] (only @facilitator) bot: --starts: that day has begun or passed; pick a later one.
            Usage: `/cop hotseat move <id> --starts 2027-02-01`
        [9] (only @facilitator) bot: --starts: that is not a date (day is out of range for month).
            Usage: `/cop hotseat move <id> --starts 2027-02-01`
        [10] (only @facilitator) bot: --starts: that is more than a year away; pick something sooner.
            Usage: `/cop hotseat move <id> --starts 2027-02-01`
        [11] (only @facilitator) bot: Hot seat H1 runs Mon 14 Dec – Tue 15 Dec already.
        [12] (only @facilitator) bot: Hot seat H2 “Tools” runs Mon 21 Dec; one hot seat at a time.
        [13] (only @facilitator) bot: There is no hot seat H9 in #community.
        [14] (only @facilitator) bot: I don't know the option `--days`; the options are `--starts`.
            Usage: `/cop hotseat move <id> --starts 2027-02-01`
        [15] (update of [2]) DM @bob bot: Thank you! You're in the hot seat “Risk”, Mon 14 Dec – Tue 15 Dec. Hearth announces it a week ahead and sends you the questions.
        [16] DM @facilitator bot: @bob accepted the hot seat H1 “Risk”, Mon 14 Dec – Tue 15 Dec.
        -- 2026-12-07 09:00 UTC --
        [17] #community bot: 🔥 Coming up: @bob is in the hot seat on “Risk”, Mon 14 Dec – Tue 15 Dec.
            Send your questions early: they're collected privately and each opens its own thread on the first day. You can ask anonymously — nobody, facilitators included, will see who asked.
            [Ask a question early]
        -- 2026-12-14 09:00 UTC --
        [18] #community bot: 🔥 The hot seat is open: @bob answers your questions on “Risk” (Mon 14 Dec – Tue 15 Dec).
            Ask your questions here in the channel. Questions asked in the channel go to @bob first.
        -- 2026-12-14 10:00 UTC --
        [19] (only @facilitator) bot: Hot seat H1 is running (Mon 14 Dec – Tue 15 Dec): it can't move now. `/cop hotseat extend H1 <days>` gives it more days; `/cop hotseat cancel H1` calls it off.
        [20] (only @facilitator) bot: `/cop hotseat move <id> --starts 2027-02-01`
            Move a hot seat that has not opened to new days (every step with it). Facilitators of the community can use it.
        """,
    )
    async with db.transaction() as session:
        keys = set(await session.scalars(select(DueJob.key)))
    assert "hotseat:1:close:2@2026-12-14" in keys  # the running one still closes on its day


async def test_an_announcement_not_yet_sent_shows_the_new_days(db: Database) -> None:
    """Moved while its announcement waits in the outbox: the announcement goes out once, with
    the new days, and no note follows it."""
    lines: list[str] = []
    console = await in_order(db, lines)
    await run(
        console,
        """
        facilitator: /cop hotseat @bob "Risk" --starts 2026-12-14 --days 1
        bob clicks "Accept" on 2
        """,
    )
    console.clock.current = datetime(2026, 12, 7, 9, tzinfo=UTC)
    await console.scheduler.run_due()  # the announcement is written, not yet sent
    async with db.transaction() as session:
        status = select(OutboxMessage.status).where(OutboxMessage.key == "hotseat:1:announce")
        assert await session.scalar(status) == "pending"
    await run(console, "facilitator: /cop hotseat move H1 --starts 2026-12-21\nwait 15d\n")
    out = "\n".join(lines)
    assert "the announcement about to go out shows the new days" in out
    assert out.count("Coming up") == 1
    assert "🔥 Coming up: @bob is in the hot seat on “Risk”, Mon 21 Dec." in out
    assert "New dates" not in out
    assert out.count("The hot seat is open") == 1 and "-- 2026-12-21 09:00 UTC --" in out
