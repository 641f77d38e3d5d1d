"""Escalations and follow-ups are durable one-shots: they survive a restart, fire once, and
never act on a question answered (or replied to) in the meantime. The ask form, forget-me."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from hearth.bot.console.workspace import CHANNEL, PLATFORM, WORKSPACE
from hearth.handlers import build_registry
from hearth.handlers.cards import unmarked
from hearth.handlers.context import Context, Defaults
from hearth.handlers.events import ActionClicked
from hearth.handlers.jobs import JobDue
from hearth.handlers.registry import DigestPeriod
from hearth.storage.db import Database
from hearth.storage.models import (
    Community,
    DueJob,
    KnowledgeEntry,
    MemberSettings,
    OutboxMessage,
    Question,
    QuestionRequest,
)
from tests.console_helpers import START, expected
from tests.question_helpers import console, run, transcript
from tests.test_privacy import dump, traces

EXPERTS = """\
frank: Any advice on a RAID log for a programme?
gina in thread 1: Split it per workstream and review it weekly.
frank reacts :white_check_mark: on 1
harry: Who owns the RAID log after go-live?
ivan in thread 5: The service owner, once BAU accepts it.
harry reacts :white_check_mark: on 5
wait 8d
carol: How often should we review the RAID log?
"""


async def count(db: Database, kind: str) -> int:
    async with db.transaction() as session:
        return (
            await session.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == kind)
            )
            or 0
        )


async def test_escalation_survives_restarts_and_fires_once(db: Database) -> None:
    lines: list[str] = []
    first = await console(db, lines)
    await run(first, EXPERTS)
    requests = await count(db, "expert_request")
    async with db.transaction() as session:
        waiting = set(await session.scalars(select(DueJob.kind)))
    assert waiting == {"question.escalate", "question.facilitators"}

    # Hearth stops and starts again (a new process: new hub, scheduler and sender), twice.
    second = await console(db, lines, start=START)
    await run(second, "wait 4h")
    third = await console(db, lines, start=START)
    await run(third, "wait 1d")
    fourth = await console(db, lines, start=START)
    await run(fourth, "wait 3d")
    assert await count(db, "question_escalation") == 1  # the facilitator, once
    async with db.transaction() as session:
        assert list(await session.scalars(select(DueJob.key))) == []
        finding = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.key.like("question:%:thread:finding"))
        )
    assert finding == 1
    assert await count(db, "expert_request") >= requests  # the 4h round asked whoever was left
    assert sum("Great question!" in line for line in lines) == 1


async def test_a_question_replied_to_or_answered_in_time_is_never_escalated(db: Database) -> None:
    out = await transcript(
        db,
        EXPERTS
        + """\
alice in thread 11: Weekly, at the team meeting.
wait 3h
dave: Is there a template for a lessons learned log?
dave reacts :white_check_mark: on 16
wait 3d
""",
    )
    assert "Great question" not in out
    assert await count(db, "question_escalation") == 0
    async with db.transaction() as session:
        assert list(await session.scalars(select(DueJob.key))) == []
        statuses = dict((await session.execute(select(Question.text, Question.status))).all())
    assert statuses["Is there a template for a lessons learned log?"] == "answered"
    assert statuses["How often should we review the RAID log?"] == "open"
    assert out.count("Did you get the answer you needed") == 1  # carol, once, after the reply


async def test_the_ask_form_opens_from_its_action_and_posts_the_question(db: Database) -> None:
    lines: list[str] = []
    session = await console(db, lines)
    await session.hearth.handle(
        ActionClicked(  # a button of another feature: the same action id
            platform=PLATFORM,
            workspace=WORKSPACE,
            channel=CHANNEL,
            user="alice",
            at=session.clock.now(),
            action="questions.ask",
            value="",
        )
    )
    await run(
        session,
        """\
alice submits 1 question="Where do I find the gateway checklist?" anonymous=no
bob in thread 3: It's on the PMO intranet page.
""",
    )
    out = "\n".join(lines) + "\n"
    assert out.startswith(
        expected(
            """\
            -- 2026-12-01 09:00 UTC --
            [1] form for @alice "Ask a question": question (text), anonymous (yes/no)
            [2] (only @alice) bot: Your question is posted in #community; I've asked nobody yet.
            [3] #community bot: ❓ Alice asks: “Where do I find the gateway checklist?”
                (Reply in this thread to help.)
            """
        )
    )
    async with db.transaction() as session_:
        (question,) = await session_.scalars(select(Question))
    assert question.via == "form" and not question.anonymous and question.asker_id is not None
    assert question.message_id == "3" and question.first_reply_at is not None  # learned


async def test_forget_me_erases_questions_answers_and_knowledge(db: Database) -> None:
    lines: list[str] = []
    session = await console(db, lines)
    await run(
        session,
        """\
zelda: Has anyone used a RAID log on a small project?
bob in thread 1: Yes, keep it to one page.
zelda reacts :white_check_mark: on 1
alice: Who owns the benefits register?
zelda in thread 5: The business change manager, in my experience.
alice reacts :white_check_mark: on 8
zelda: /cop forget-me
""",
    )
    confirm = max(session.workspace.items)
    await run(session, f'zelda clicks "Yes, forget me" on {confirm}')
    tables = await dump(db)
    found = [t for t in traces(tables, "zelda") if not t.startswith("messages.")]
    assert found == []
    assert [
        t
        for t in traces(tables, "one page", "business change manager")
        if not t.startswith("messages.")
    ] == []
    async with db.transaction() as session_:
        assert await session_.scalar(select(func.count()).select_from(KnowledgeEntry)) == 0
        texts = list(await session_.scalars(select(Question.text).order_by(Question.id)))
    assert texts == [None, "Who owns the benefits register?"]


async def test_routing_skips_who_stopped_requests_and_who_has_enough_open(db: Database) -> None:
    """With at most one open request each: ivan, asked about carol's question, is not asked
    about dave's; gina stopped requests from her DM's button, so she is asked about neither."""
    lines: list[str] = []
    session = await console(db, lines, defaults=Defaults("UTC", max_open_requests=1))
    await run(session, EXPERTS)
    assert [line for line in lines if line.startswith("[13] DM @gina")]
    await run(
        session,
        """\
gina clicks "Stop these requests" on 13
dave: Who should review the RAID log each week?
""",
    )
    async with db.transaction() as session_:
        asked = (
            await session_.execute(
                select(Question.text, QuestionRequest.member_id, QuestionRequest.status).join(
                    QuestionRequest, QuestionRequest.question_id == Question.id
                )
            )
        ).all()
        settings = list(await session_.scalars(select(MemberSettings.dms)))
    by_question: dict[str, list[str]] = {}
    for text, _member, status in asked:
        by_question.setdefault(text, []).append(status)
    assert sorted(by_question["How often should we review the RAID log?"]) == ["open", "passed"]
    assert "Who should review the RAID log each week?" not in by_question
    assert settings == [{"expert_requests": False}]
    assert "Hearth won't ask you to help with questions any more" in "\n".join(lines)


async def test_digest_sections_show_waiting_questions_and_who_helped(db: Database) -> None:
    lines: list[str] = []
    session = await console(db, lines)
    await run(session, EXPERTS)
    registry = build_registry()
    now = session.clock.now()
    async with db.transaction() as session_:
        community = await session_.scalar(select(Community))
        assert community is not None
        event = JobDue(
            platform=PLATFORM,
            workspace=WORKSPACE,
            channel=CHANNEL,
            user="",
            at=now,
            kind="digest",
            key="test",
        )
        context = Context(session_, event, session.workspace, session.clock, registry, Defaults())
        period = DigestPeriod(community.id, now - timedelta(days=30), now + timedelta(minutes=1))
        sections = {
            name: await provider(context, period)
            for name, (_order, provider) in registry.digest_sections.items()
            if name.startswith("questions.")
        }
    assert [
        order
        for name, (order, _p) in registry.digest_sections.items()
        if name.startswith("questions.")
    ] == [30, 80]
    waiting, helpers = sections["questions.waiting"], sections["questions.helpers"]
    assert waiting is not None and helpers is not None
    assert waiting.title == "Questions still waiting for help"
    assert [unmarked(i.text) for i in waiting.items] == [
        "“How often should we review the RAID log?”"
    ]
    assert waiting.items[0].link == "[11] in #community"
    assert helpers.title == "Thanks to the members who helped most"
    assert [unmarked(i.text) for i in helpers.items] == ["Gina — 1 answer", "Ivan — 1 answer"]


async def test_retention_erases_old_questions_text_and_keeps_knowledge(db: Database) -> None:
    await transcript(
        db,
        """\
alice: Has anyone used a RAID log on a small project?
bob in thread 1: Yes, keep it to one page.
alice reacts :white_check_mark: on 1
carol: Is there a template for a lessons learned log?
facilitator: /cop retention 30
wait 32d
""",
    )
    async with db.transaction() as session:
        texts = list(await session.scalars(select(Question.text).order_by(Question.id)))
        kept = list(await session.scalars(select(KnowledgeEntry.body)))
    assert texts == [None, None]
    assert kept == ["Yes, keep it to one page."]  # what the community chose to keep stays


async def test_replies_in_a_thread_are_never_new_questions(db: Database) -> None:
    await transcript(
        db,
        """\
alice: Has anyone used a RAID log on a small project?
bob in thread 1: Do you mean a project with one team?
alice in thread 1: Yes, how would you set it up?
carol: thanks everyone! https://example.com/raid?template=1
""",
    )
    async with db.transaction() as session:
        texts = list(await session.scalars(select(Question.text)))
    assert texts == ["Has anyone used a RAID log on a small project?"]
