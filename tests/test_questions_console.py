"""Questions on the console: noticed, routed to who knows, passed on, answered (button and
✅), kept as knowledge and found again, escalated after 4 working hours and after a day, asked
anonymously, saved as lessons; on SQLite and PostgreSQL."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from hearth.storage.db import Database
from hearth.storage.models import (
    DueJob,
    ExpertCommunity,
    ExpertPick,
    KnowledgeEntry,
    OutboxMessage,
    Question,
)
from tests.console_helpers import expected
from tests.question_helpers import transcript
from tests.test_privacy import dump, traces

HISTORY = """\
dave: What is the best tool for resource planning?
erin in thread 1: We use Smartsheet for resource planning.
dave reacts :white_check_mark: on 1
frank: Any advice on a RAID log for a programme?
gina in thread 5: Split it per workstream and review it weekly.
frank reacts :white_check_mark: on 5
alice: Has anyone used a RAID log on a small project?
bob in thread 11: Yes, keep it to one page with owners for each risk.
alice reacts :white_check_mark: on 11
harry: Who owns the RAID log after go-live?
ivan in thread 18: The service owner, once BAU accepts it.
harry reacts :white_check_mark: on 18
wait 8d
"""
"""Four questions answered in the channel (✅ on a question or on its answer): Hearth learns
who answers what (bob and ivan: RAID logs, gina: RAID logs for programmes, erin: planning
tools). A week later the weekly cap on expert requests has room again for everyone."""

HISTORY_SHOWN = """\
-- 2026-12-01 09:00 UTC --
[1] #community @dave: What is the best tool for resource planning?
[2] #community thread [1] @erin: We use Smartsheet for resource planning.
* @dave reacted :white_check_mark: to [1]
[3] DM @erin bot: Thank you, Erin! Your answer to “What is the best tool for resource planning?” is the one they marked as answering it.
    (It's kept in the community's knowledge now: `/cop search` finds it for the next person who wonders.)
[4] #community thread [1] bot: ✅ Marked as answered — thank you @erin!
[5] #community @frank: Any advice on a RAID log for a programme?
[6] DM @erin bot: Frank asked in #community: “Any advice on a RAID log for a programme?” — could you help?
    The question: [5] in #community
    [I'll answer] [Not me] [Stop these requests]
    (“Not me” passes it on to someone else at once.)
[7] #community thread [5] bot: Thanks for asking! I've asked one person who may know to have a look.
[8] #community thread [5] @gina: Split it per workstream and review it weekly.
* @frank reacted :white_check_mark: to [5]
[9] DM @gina bot: Thank you, Gina! Your answer to “Any advice on a RAID log for a programme?” is the one they marked as answering it.
    (It's kept in the community's knowledge now: `/cop search` finds it for the next person who wonders.)
[10] #community thread [5] bot: ✅ Marked as answered — thank you @gina!
[11] #community @alice: Has anyone used a RAID log on a small project?
[12] DM @gina bot: Alice asked in #community: “Has anyone used a RAID log on a small project?” — could you help?
    The question: [11] in #community
    [I'll answer] [Not me] [Stop these requests]
    (“Not me” passes it on to someone else at once.)
[13] DM @erin bot: Alice asked in #community: “Has anyone used a RAID log on a small project?” — could you help?
    The question: [11] in #community
    [I'll answer] [Not me] [Stop these requests]
    (“Not me” passes it on to someone else at once.)
[14] #community thread [11] bot: Thanks for asking! I've asked 2 people who may know to have a look.
[15] #community thread [11] @bob: Yes, keep it to one page with owners for each risk.
* @alice reacted :white_check_mark: to [11]
[16] DM @bob bot: Thank you, Bob! Your answer to “Has anyone used a RAID log on a small project?” is the one they marked as answering it.
    (It's kept in the community's knowledge now: `/cop search` finds it for the next person who wonders.)
[17] #community thread [11] bot: ✅ Marked as answered — thank you @bob!
[18] #community @harry: Who owns the RAID log after go-live?
[19] DM @bob bot: Harry asked in #community: “Who owns the RAID log after go-live?” — could you help?
    The question: [18] in #community
    [I'll answer] [Not me] [Stop these requests]
    (“Not me” passes it on to someone else at once.)
[20] DM @gina bot: Harry asked in #community: “Who owns the RAID log after go-live?” — could you help?
    The question: [18] in #community
    [I'll answer] [Not me] [Stop these requests]
    (“Not me” passes it on to someone else at once.)
[21] DM @erin bot: Harry asked in #community: “Who owns the RAID log after go-live?” — could you help?
    The question: [18] in #community
    [I'll answer] [Not me] [Stop these requests]
    (“Not me” passes it on to someone else at once.)
[22] #community thread [18] bot: Thanks for asking! I've asked 3 people who may know to have a look.
[23] #community thread [18] @ivan: The service owner, once BAU accepts it.
* @harry reacted :white_check_mark: to [18]
[24] DM @ivan bot: Thank you, Ivan! Your answer to “Who owns the RAID log after go-live?” is the one they marked as answering it.
    (It's kept in the community's knowledge now: `/cop search` finds it for the next person who wonders.)
[25] #community thread [18] bot: ✅ Marked as answered — thank you @ivan!
"""


async def test_a_question_goes_to_who_knows_not_me_passes_it_on_and_the_answer_is_kept(
    db: Database,
) -> None:
    """Carol's question goes to bob, ivan and gina (who answered RAID-log questions), with a
    link to the very similar question answered before; bob's Not me brings in erin at once;
    erin takes it and answers; carol is asked 4 hours after the first reply and marks it as
    answered: erin is thanked, the answer is kept, and search finds it."""
    out = await transcript(
        db,
        HISTORY
        + """
        carol: How do I start a RAID log for a small project?
        bob clicks "Not me" on 29
        erin clicks "I'll answer" on 33
        erin in thread 26: Start with the top five risks and give each an owner.
        wait 4h
        carol clicks "Mark as answered" on 36
        facilitator: /cop search start raid log
""",
    )
    assert out == expected(
        HISTORY_SHOWN,
        """
        -- 2026-12-09 09:00 UTC --
        [26] #community @carol: How do I start a RAID log for a small project?
        [27] #community thread [26] bot: This may help: a very similar question was answered before — “Has anyone used a RAID log on a small project?”: [15] in #community
        [28] #community thread [26] bot: Thanks for asking! I've asked 3 people who may know to have a look.
        [29] DM @bob bot: Carol asked in #community: “How do I start a RAID log for a small project?” — could you help?
            The question: [26] in #community
            [I'll answer] [Not me] [Stop these requests]
            (“Not me” passes it on to someone else at once.)
        [30] DM @ivan bot: Carol asked in #community: “How do I start a RAID log for a small project?” — could you help?
            The question: [26] in #community
            [I'll answer] [Not me] [Stop these requests]
            (“Not me” passes it on to someone else at once.)
        [31] DM @gina bot: Carol asked in #community: “How do I start a RAID log for a small project?” — could you help?
            The question: [26] in #community
            [I'll answer] [Not me] [Stop these requests]
            (“Not me” passes it on to someone else at once.)
        [32] (update of [29]) DM @bob bot: No problem: I'll ask someone else about “How do I start a RAID log for a small project?”.
        [33] DM @erin bot: Carol asked in #community: “How do I start a RAID log for a small project?” — could you help?
            The question: [26] in #community
            [I'll answer] [Not me] [Stop these requests]
            (“Not me” passes it on to someone else at once.)
        [34] (update of [33]) DM @erin bot: Thank you! You're answering “How do I start a RAID log for a small project?”: reply in its thread, [26] in #community.
        [35] #community thread [26] @erin: Start with the top five risks and give each an owner.
        -- 2026-12-09 13:00 UTC --
        [36] DM @carol bot: Did you get the answer you needed to “How do I start a RAID log for a small project?”?
            Your question: [26] in #community
            [Mark as answered] [Not yet]
            (You can also react with ✅ to the reply that answered it.)
        [37] (update of [36]) DM @carol bot: Marked as answered: “How do I start a RAID log for a small project?”. Thanks for asking!
        [38] DM @erin bot: Thank you, Erin! Your answer to “How do I start a RAID log for a small project?” is the one they marked as answering it.
            (It's kept in the community's knowledge now: `/cop search` finds it for the next person who wonders.)
        [39] #community thread [26] bot: ✅ Marked as answered — thank you @erin!
        [40] (only @facilitator) bot: Found in #community's knowledge:
            • “How do I start a RAID log for a small project?”, answered by Erin — [35] in #community
""",
    )
    async with db.transaction() as session:
        question = await session.scalar(select(Question).where(Question.message_id == "26"))
        assert question is not None and question.status == "answered"
        assert question.answer_message_id == "35"
        kept = await session.scalar(
            select(KnowledgeEntry).where(KnowledgeEntry.question_id == question.id)
        )
        assert kept is not None and kept.body.startswith("Start with the top five risks")
        assert list(await session.scalars(select(DueJob.key))) == []  # nothing left to fire
        # the four questions routed to someone scored their first picks once answered
        assert await session.scalar(select(ExpertCommunity.calibrated)) == 4
        assert list(await session.scalars(select(ExpertPick.question_id))) == []


async def test_silence_escalates_after_four_working_hours_then_a_day_and_answering_stops_it(
    db: Database,
) -> None:
    """Nobody replies: after 4 working hours erin (the next expert) is asked; after a day the
    facilitator, and the thread hears we're on it. Once answered, nothing more comes."""
    out = await transcript(
        db,
        HISTORY
        + """
        carol: How often should we review the RAID log?
        wait 4h
        wait 1d
        alice in thread 26: Weekly, at the team meeting.
        carol reacts :white_check_mark: on 34
        wait 2d
""",
    )
    assert out == expected(
        HISTORY_SHOWN,
        """
        -- 2026-12-09 09:00 UTC --
        [26] #community @carol: How often should we review the RAID log?
        [27] DM @ivan bot: Carol asked in #community: “How often should we review the RAID log?” — could you help?
            The question: [26] in #community
            [I'll answer] [Not me] [Stop these requests]
            (“Not me” passes it on to someone else at once.)
        [28] DM @bob bot: Carol asked in #community: “How often should we review the RAID log?” — could you help?
            The question: [26] in #community
            [I'll answer] [Not me] [Stop these requests]
            (“Not me” passes it on to someone else at once.)
        [29] DM @gina bot: Carol asked in #community: “How often should we review the RAID log?” — could you help?
            The question: [26] in #community
            [I'll answer] [Not me] [Stop these requests]
            (“Not me” passes it on to someone else at once.)
        [30] #community thread [26] bot: Thanks for asking! I've asked 3 people who may know to have a look.
        -- 2026-12-09 13:00 UTC --
        [31] DM @erin bot: Carol asked in #community: “How often should we review the RAID log?” — could you help?
            The question: [26] in #community
            [I'll answer] [Not me] [Stop these requests]
            (“Not me” passes it on to someone else at once.)
        -- 2026-12-10 09:00 UTC --
        [32] DM @facilitator bot: A question in #community has had no reply for a day: “How often should we review the RAID log?”. Could you answer it, or find someone who can?
            The question: [26] in #community
        [33] #community thread [26] bot: Great question! We're finding the right person to answer it.
        -- 2026-12-10 13:00 UTC --
        [34] #community thread [26] @alice: Weekly, at the team meeting.
        * @carol reacted :white_check_mark: to [34]
        [35] DM @alice bot: Thank you, Alice! Your answer to “How often should we review the RAID log?” is the one they marked as answering it.
            (It's kept in the community's knowledge now: `/cop search` finds it for the next person who wonders.)
        [36] #community thread [26] bot: ✅ Marked as answered — thank you @alice!
""",
    )
    async with db.transaction() as session:
        kinds = list(
            await session.scalars(
                select(OutboxMessage.kind).where(OutboxMessage.key.startswith("question:5:"))
            )
        )
    assert sorted(kinds) == sorted(
        ["expert_request"] * 4 + ["question_escalation", "question_thanks"] + ["question_reply"] * 3
    )


async def test_an_anonymous_question_reveals_nobody(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """Zelda asks anonymously: the channel, bob's request and the thread never name her;
    bob's reply reaches her by DM; she marks it answered. No table and no log line ties her
    to the question (her address in the delivered DMs is erased 10 minutes later)."""
    caplog.set_level(logging.DEBUG)
    out = await transcript(
        db,
        """
        erin: Does anyone have a template for a stakeholder map?
        bob in thread 1: Yes, here is mine.
        erin reacts :white_check_mark: on 2
        zelda: /cop ask --anonymous Is it ok to say no to a sponsor?
        bob in thread 6: Yes, with a clear reason and an alternative.
        wait 4h
        zelda clicks "Mark as answered" on 10
        wait 10m
""",
    )
    assert out == expected(
        """
        -- 2026-12-01 09:00 UTC --
        [1] #community @erin: Does anyone have a template for a stakeholder map?
        [2] #community thread [1] @bob: Yes, here is mine.
        * @erin reacted :white_check_mark: to [2]
        [3] DM @bob bot: Thank you, Bob! Your answer to “Does anyone have a template for a stakeholder map?” is the one they marked as answering it.
            (It's kept in the community's knowledge now: `/cop search` finds it for the next person who wonders.)
        [4] #community thread [1] bot: ✅ Marked as answered — thank you @bob!
        [5] (only @zelda) bot: Your question is posted anonymously in #community; I've asked one person. Answers in its thread come to you here, privately; nobody sees it was you.
        [6] #community bot: ❓ A member asks, anonymously: “Is it ok to say no to a sponsor?”
            (Reply in this thread: Hearth passes your answers on to them privately.)
        [7] DM @bob bot: A member (anonymously) asked in #community: “Is it ok to say no to a sponsor?” — could you help?
            The question: #community
            [I'll answer] [Not me] [Stop these requests]
            (“Not me” passes it on to someone else at once.)
        [8] #community thread [6] @bob: Yes, with a clear reason and an alternative.
        [9] DM @zelda bot: Bob replied to your anonymous question “Is it ok to say no to a sponsor?”: “Yes, with a clear reason and an alternative.”
            (The reply: [8] in #community)
        -- 2026-12-01 13:00 UTC --
        [10] DM @zelda bot: Did you get the answer you needed to “Is it ok to say no to a sponsor?”?
            Your question: [6] in #community
            [Mark as answered] [Not yet]
            (Only you see this: a ✅ reaction would show it was you, the button doesn't.)
        [11] (update of [10]) DM @zelda bot: Marked as answered: “Is it ok to say no to a sponsor?”. Thanks for asking!
        [12] DM @bob bot: Thank you, Bob! Your answer to “Is it ok to say no to a sponsor?” is the one the asker marked as answering it.
            (It's kept in the community's knowledge now: `/cop search` finds it for the next person who wonders.)
        [13] #community thread [6] bot: ✅ Marked as answered — thank you @bob!
""",
    )
    for line in out.splitlines():
        if "@zelda" not in line.split(" bot:")[0]:
            assert "zelda" not in line.lower(), line
    tables = await dump(db)
    assert traces(tables, "zelda") == ["members.user_id: zelda", "members.name: Zelda"]
    (zelda,) = [m["id"] for m in tables["members"] if m["user_id"] == "zelda"]
    links = [
        f"{table}.{column}"
        for table, rows in tables.items()
        for row in rows
        for column, value in row.items()
        if column.endswith("_id")
        and column != "id"
        and value == zelda
        and table not in ("members",)
    ]
    assert links == []
    (question,) = [q for q in tables["questions"] if q["anonymous"]]
    assert question["asker_id"] is None and question["text"] == "Is it ok to say no to a sponsor?"
    assert question["asker_sealed"] is None  # erased once answered
    # Hearth's own log lines at every level, and everyone's from INFO up. (The SQLite driver's
    # DEBUG trace prints every query's parameters: any DM to anyone shows there.)
    logged = [
        record.getMessage().lower()
        for record in caplog.records
        if record.name.startswith("hearth") or record.levelno >= logging.INFO
    ]
    assert [line for line in logged if "zelda" in line] == []


async def test_lessons_and_search_and_bad_input(db: Database) -> None:
    out = await transcript(
        db,
        """
        alice: Has anyone used a RAID log on a small project?
        bob in thread 1: Yes, keep it to one page with owners for each risk.
        carol in thread 1: And review it every week.
        facilitator: /cop lesson 1 "Keep the RAID log to one page and review it weekly"
        alice: /cop lesson 1 "mine"
        facilitator: /cop lesson 99 "nothing there"
        facilitator: /cop lesson 1
        facilitator: /cop search weekly review
        facilitator: /cop search
        facilitator: /cop search budget forecast
        alice: /cop ask
""",
    )
    assert out == expected(
        """
        -- 2026-12-01 09:00 UTC --
        [1] #community @alice: Has anyone used a RAID log on a small project?
        [2] #community thread [1] @bob: Yes, keep it to one page with owners for each risk.
        [3] #community thread [1] @carol: And review it every week.
        [4] (only @facilitator) bot: Saved as a lesson learned: “Keep the RAID log to one page and review it weekly” ([1] in #community).
            (`/cop search` finds it.)
        [5] (only @alice) bot: Sorry, only facilitators of #community can use `/cop lesson`.
        [6] (only @facilitator) bot: I can't find that thread in #community.
        [7] (only @facilitator) bot: Name the thread and give a summary, like `lesson 12 "What we learned"`.
            Usage: `/cop lesson <link or thread id> "summary"`
        [8] (only @facilitator) bot: Found in #community's knowledge:
            • Lesson: “Keep the RAID log to one page and review it weekly” — [1] in #community
        [9] (only @facilitator) bot: Give some words to look for, like `search RAID log template`.
            Usage: `/cop search <words>`
        [10] (only @facilitator) bot: Nothing in #community's knowledge matches “budget forecast” yet.
            (Ask the community: `/cop ask <your question>`.)
        [11] (only @alice) bot: Write your question after `ask`, like `ask How do I start a RAID log?`
            Usage: `/cop ask [--anonymous] <your question>`
""",
    )
