"""What the community knows: `/cop search`, `/cop lesson`, the digest's sections, and what
questions keep about members (my-data, forget-me, retention)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update

from hearth.handlers.cards import Card, ContextLine, Section, typed
from hearth.handlers.commands import Args, CommandError, UsageError
from hearth.handlers.context import Context
from hearth.handlers.jobs import JobDue
from hearth.handlers.questions import sealing
from hearth.handlers.questions.timing import link, message_of
from hearth.handlers.registry import DigestItem, DigestPeriod, DigestSection
from hearth.handlers.retention import effective_days
from hearth.storage import questions as stored
from hearth.storage.models import (
    Community,
    KnowledgeEntry,
    Member,
    Question,
    QuestionRequest,
)

RESULTS = 5
SEARCH_USAGE = "<words>"
LESSON_USAGE = '<link or thread id> "summary"'


async def search_command(context: Context, args: Args) -> None:
    """`/cop search <words>`: answered questions and lessons, best first (privately)."""
    community = await context.require_community()
    words = stored.terms(args.text)
    if not words:
        raise UsageError("Give some words to look for, like `search RAID log template`.")
    found = await stored.search(context.session, community.id, words, limit=RESULTS)
    if not found:
        found = await stored.search(context.session, community.id, words, every=False, limit=3)
        if not found:
            context.reply_privately(
                Card(
                    f"Nothing in {typed(community.name)}'s knowledge matches "
                    f"“{typed(args.text)}” yet.",
                    (ContextLine(f"Ask the community: `{context.prefix} ask <your question>`."),),
                )
            )
            return
    lines = []
    for entry in found:
        helper = await context.session.get(Member, entry.helper_id) if entry.helper_id else None
        if entry.kind == "lesson":
            lines.append(f"• Lesson: “{typed(entry.title)}” — {entry.link}")
        else:
            by = f", answered by {typed(helper.name)}" if helper else ""
            lines.append(f"• “{typed(entry.title)}”{by} — {entry.link}")
    context.reply_privately(
        Card(f"Found in {typed(community.name)}'s knowledge:", (Section("\n".join(lines)),))
    )


async def lesson_command(context: Context, args: Args) -> None:
    """`/cop lesson <link or thread id> "summary"` (facilitators): save a thread as a lesson."""
    community = await context.require_community()
    words = args.words
    if len(words) < 2:
        raise UsageError('Name the thread and give a summary, like `lesson 12 "What we learned"`.')
    root = message_of(community.platform, words[0].text)
    summary = " ".join(w.text for w in words[1:]).strip()
    if root is None or not summary:
        raise UsageError("Name the thread (its link or id) and give a short summary.")
    messages = await stored.thread(context.session, community.id, root)
    texts = [m.text for m in messages if m.text]
    if not messages:
        raise CommandError(f"I can't find that thread in {typed(community.name)}.")
    if messages[0].message_id != root:  # a reply's id: the thread is its root's
        root = messages[0].thread_id or root
        messages = await stored.thread(context.session, community.id, root)
        texts = [m.text for m in messages if m.text]
    member = await context.member()
    where = link(community.platform, community.workspace, community.channel, root)
    await stored.add_knowledge(
        context.session,
        KnowledgeEntry(
            community_id=community.id,
            kind="lesson",
            question_id=None,
            title=summary,
            body="\n".join(texts),
            helper_id=member.id,
            thread_id=root,
            link=where,
            created_at=context.now(),
        ),
    )
    context.reply_privately(
        Card(
            f"Saved as a lesson learned: “{typed(summary)}” ({where}).",
            (ContextLine(f"`{context.prefix} search` finds it."),),
        )
    )


# The digest


async def waiting_section(context: Context, period: DigestPeriod) -> DigestSection | None:
    """Questions still waiting for help."""
    community = await context.session.get(Community, period.community_id)
    if community is None:
        return None
    questions = await stored.waiting(context.session, community.id, period.end)
    items = tuple(
        DigestItem(
            f"“{typed(q.text or '')}”",
            link(community.platform, community.workspace, community.channel, q.message_id),
        )
        for q in questions[:10]
    )
    return DigestSection("Questions still waiting for help", items, news=False) if items else None


async def helpers_section(context: Context, period: DigestPeriod) -> DigestSection | None:
    """Thanks to the members whose answers were accepted most in the period."""
    rows = await stored.helpers(context.session, period.community_id, period.start, period.end)
    items = []
    for member_id, answers in rows[:5]:
        member = await context.session.get(Member, member_id)
        if member is not None:
            counted = "1 answer" if answers == 1 else f"{answers} answers"
            items.append(DigestItem(f"{typed(member.name)} — {counted}"))
    if not items:
        return None
    return DigestSection("Thanks to the members who helped most", tuple(items))


# Personal data


async def export(context: Context, member: Member) -> list[dict[str, Any]]:
    """The member's questions (not anonymous ones: nothing ties those to them), the requests to
    help they got, their accepted answers and the lessons they saved, one record each."""
    session = context.session
    records: list[dict[str, Any]] = []
    for q in await session.scalars(
        select(Question).where(Question.asker_id == member.id).order_by(Question.id)
    ):
        records.append(
            {"asked": q.text, "status": q.status, "at": q.asked_at.isoformat(), "question": q.id}
        )
    for r in await session.scalars(
        select(QuestionRequest)
        .where(QuestionRequest.member_id == member.id)
        .order_by(QuestionRequest.question_id)
    ):
        records.append(
            {"asked_to_help_with": r.question_id, "status": r.status, "at": r.asked_at.isoformat()}
        )
    for q in await session.scalars(
        select(Question).where(Question.answerer_id == member.id).order_by(Question.id)
    ):
        records.append({"answered": q.text, "question": q.id})
    for k in await session.scalars(
        select(KnowledgeEntry).where(
            KnowledgeEntry.helper_id == member.id, KnowledgeEntry.kind == "lesson"
        )
    ):
        records.append({"lesson_saved": k.title, "at": k.created_at.isoformat()})
    return records


async def forget(context: Context, member: Member) -> None:
    """Their questions lose their text and their name; knowledge made of their words goes
    (their questions and accepted answers); their requests go; anonymous questions they asked
    lose the seal and the text (found by unsealing, the one way to know they were theirs)."""
    session = context.session
    theirs = select(Question.id).where(Question.asker_id == member.id)
    await session.execute(delete(KnowledgeEntry).where(KnowledgeEntry.question_id.in_(theirs)))
    await session.execute(delete(KnowledgeEntry).where(KnowledgeEntry.helper_id == member.id))
    await session.execute(
        update(Question).where(Question.asker_id == member.id).values(asker_id=None, text=None)
    )
    await session.execute(
        update(Question)
        .where(Question.answerer_id == member.id)
        .values(answerer_id=None, answer_message_id=None)
    )
    await session.execute(delete(QuestionRequest).where(QuestionRequest.member_id == member.id))
    sealed = await session.scalars(
        select(Question).where(Question.anonymous, Question.asker_sealed.is_not(None))
    )
    for question in sealed:
        if sealing.unseal(context.defaults.secret, question.asker_sealed) == member.user_id:
            question.asker_sealed = None
            question.text = None


async def retention_job(context: Context, job: JobDue) -> None:
    """Question text follows the community's message retention (knowledge entries stay: they
    are what the community chose to keep)."""
    community = await context.session.get(Community, int(job.payload["community"]))
    if community is None:
        return
    days = effective_days(context.defaults.retention_days, community.retention_days)
    if days is None:
        return
    await purge(context, community, context.now() - timedelta(days=days))


async def purge(context: Context, community: Community, before: datetime) -> None:
    await context.session.execute(
        update(Question)
        .where(
            Question.community_id == community.id,
            Question.asked_at < before,
            Question.text.is_not(None),
        )
        .values(text=None, asker_sealed=None)
    )
