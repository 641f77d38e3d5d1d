"""Questions, expert requests and the knowledge base; search with the database's own engine."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, func, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from hearth.storage.db import keep
from hearth.storage.models import (
    Community,
    KnowledgeEntry,
    Member,
    Message,
    OutboxMessage,
    OutboxPacing,
    Question,
    QuestionRequest,
)

OPEN, ANSWERED = "open", "answered"
ASKED, TAKING, PASSED, CLOSED = "open", "taking", "passed", "closed"
"""A request's states: asked (waiting for I'll answer / Not me), taking it, passed, closed."""
_LOOKED_UP = "hearth.questions_by_message"
_TERM = re.compile(r"[a-z0-9]+")
_STOP = """
a an and any anyone are as at be been but by can could do does did for from had has have how i
if in into is it its just me my of on or our should so some someone that the their them there
these this to up us was we were what when where which who why will with would you your all
anybody about get got use using used know
"""
STOPWORDS = frozenset(_STOP.split())


def terms(words: str) -> list[str]:
    """The searchable words of a text: lower case letters and digits, no stop words, in order,
    each once (safe to put in an FTS5 or tsquery expression as they are)."""
    seen: dict[str, None] = {}
    for term in _TERM.findall(words.lower()):
        if term not in STOPWORDS and len(term) > 1:
            seen.setdefault(term[:40])
    return list(seen)


async def lock(session: AsyncSession, question_id: int) -> Question | None:
    """The question, locked until the transaction ends (PostgreSQL), fresh from the database."""
    return await session.scalar(
        select(Question)
        .where(Question.id == question_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def post_key(question_id: int) -> str:
    """The outbox key of the channel post Hearth makes for a question asked with a command."""
    return f"question:{question_id}:post"


async def look_up_threads(session: AsyncSession, threads: set[tuple[int, str]]) -> None:
    """Find the questions of these (community, message id) pairs at once, for `by_message` to
    answer from the session: the threads a batch of replies went to."""
    if not threads:
        return
    for community_id in {c for c, _ in threads}:
        await learn_post_ids(session, community_id)
    found = {
        (q.community_id, q.message_id): q
        for q in await session.scalars(
            select(Question).where(tuple_(Question.community_id, Question.message_id).in_(threads))
        )
    }
    keep(session, found.values())
    session.info.setdefault(_LOOKED_UP, {}).update({pair: found.get(pair) for pair in threads})


async def by_message(session: AsyncSession, community_id: int, message_id: str) -> Question | None:
    """The question whose chat message this is; Hearth's own posts are looked up in the outbox
    once delivered (their message id is learned then)."""
    looked_up = session.info.get(_LOOKED_UP, {})
    if (community_id, message_id) in looked_up:
        return looked_up[(community_id, message_id)]
    found = await session.scalar(
        select(Question).where(
            Question.community_id == community_id, Question.message_id == message_id
        )
    )
    if found is not None:
        return found
    return (await learn_post_ids(session, community_id)).get(message_id)


async def learn_post_ids(session: AsyncSession, community_id: int) -> dict[str, Question]:
    """Give the questions Hearth posted (whose message id it did not know yet) the id their post
    got on delivery; those learned now, by message id."""
    waiting = list(
        await session.scalars(
            select(Question).where(
                Question.community_id == community_id,
                Question.message_id.is_(None),
                Question.status == OPEN,
            )
        )
    )
    if not waiting:
        return {}
    keys = {post_key(q.id): q for q in waiting}
    sent = await session.execute(
        select(OutboxMessage.key, OutboxMessage.sent_message_id).where(
            OutboxMessage.key.in_(keys), OutboxMessage.sent_message_id.is_not(None)
        )
    )
    learned = {}
    for key, sent_id in sent:
        keys[key].message_id = sent_id
        learned[sent_id] = keys[key]
    return learned


async def member_id_of(session: AsyncSession, community: Community, user_id: str) -> int | None:
    """The id of the member with this platform id in the community's workspace."""
    return await session.scalar(
        select(Member.id).where(
            Member.platform == community.platform,
            Member.workspace == community.workspace,
            Member.user_id == user_id,
        )
    )


async def add_knowledge(session: AsyncSession, entry: KnowledgeEntry) -> KnowledgeEntry:
    """Keep an entry (its search index entry is written with it: triggers or GIN index)."""
    session.add(entry)
    await session.flush()
    return entry


async def outbox_rows(session: AsyncSession, prefix: str) -> list[tuple[str, str]]:
    """(key, status) of outbox rows whose key starts with `prefix`."""
    rows = await session.execute(
        select(OutboxMessage.key, OutboxMessage.status).where(OutboxMessage.key.startswith(prefix))
    )
    return [(key, status) for key, status in rows]


async def delete_outbox_rows(session: AsyncSession, keys: list[str], now: datetime) -> None:
    """Delete delivered rows, and the pacing of their conversations once it has passed (it
    would still say that Hearth messaged that conversation)."""
    if not keys:
        return
    rows = await session.execute(
        select(
            OutboxMessage.platform,
            OutboxMessage.workspace,
            OutboxMessage.target_kind,
            OutboxMessage.target_id,
        ).where(OutboxMessage.key.in_(keys))
    )
    for platform, workspace, kind, target in {tuple(r) for r in rows}:
        await session.execute(
            delete(OutboxPacing).where(
                OutboxPacing.platform == platform,
                OutboxPacing.workspace == workspace,
                OutboxPacing.conversation == f"{kind}:{target}",
                OutboxPacing.next_slot <= now,
            )
        )
    await session.execute(delete(OutboxMessage).where(OutboxMessage.key.in_(keys)))


async def asked_members(session: AsyncSession, question_id: int) -> set[int]:
    """Everyone already asked about a question."""
    rows = await session.scalars(
        select(QuestionRequest.member_id).where(QuestionRequest.question_id == question_id)
    )
    return set(rows)


async def open_requests(session: AsyncSession, member_ids: Iterable[int]) -> dict[int, int]:
    """How many requests each member has open (asked or taking, on open questions)."""
    ids = list(member_ids)
    if not ids:
        return {}
    rows = await session.execute(
        select(QuestionRequest.member_id, func.count())
        .join(Question, Question.id == QuestionRequest.question_id)
        .where(
            QuestionRequest.member_id.in_(ids),
            QuestionRequest.status.in_((ASKED, TAKING)),
            Question.status == OPEN,
        )
        .group_by(QuestionRequest.member_id)
    )
    return {member: count for member, count in rows}


async def close_requests(session: AsyncSession, question_id: int) -> list[int]:
    """Close a question's open requests; the members who had one."""
    members = list(
        await session.scalars(
            select(QuestionRequest.member_id).where(
                QuestionRequest.question_id == question_id,
                QuestionRequest.status.in_((ASKED, TAKING)),
            )
        )
    )
    await session.execute(
        update(QuestionRequest)
        .where(
            QuestionRequest.question_id == question_id,
            QuestionRequest.status.in_((ASKED, TAKING)),
        )
        .values(status=CLOSED)
    )
    return members


async def thread(session: AsyncSession, community_id: int, root: str) -> list[Message]:
    """A thread's messages (the root first), oldest first."""
    return list(
        await session.scalars(
            select(Message)
            .where(
                Message.community_id == community_id,
                (Message.message_id == root) | (Message.thread_id == root),
            )
            .order_by(Message.posted_at, Message.id)
        )
    )


async def waiting(session: AsyncSession, community_id: int, before: datetime) -> list[Question]:
    """Questions asked before `before` that nobody has answered yet, oldest first."""
    return list(
        await session.scalars(
            select(Question)
            .where(
                Question.community_id == community_id,
                Question.status == OPEN,
                Question.asked_at < before,
                Question.text.is_not(None),
            )
            .order_by(Question.asked_at, Question.id)
        )
    )


async def helpers(
    session: AsyncSession, community_id: int, start: datetime, end: datetime
) -> list[tuple[int, int]]:
    """(member id, answers accepted) in [start, end), most first."""
    count = func.count().label("answers")
    rows = await session.execute(
        select(Question.answerer_id, count)
        .where(
            Question.community_id == community_id,
            Question.answered_at >= start,
            Question.answered_at < end,
            Question.answerer_id.is_not(None),
        )
        .group_by(Question.answerer_id)
        .order_by(count.desc(), Question.answerer_id)
    )
    return [(member, answers) for member, answers in rows]


async def search(
    session: AsyncSession,
    community_id: int,
    words: list[str],
    *,
    every: bool = True,
    limit: int = 5,
) -> list[KnowledgeEntry]:
    """Knowledge entries matching `words` (from `terms`: every one, or any), best first, with
    the database's full-text engine: FTS5 on SQLite, a GIN-indexed tsvector on PostgreSQL."""
    if not words:
        return []
    dialect = session.bind.dialect.name
    if dialect == "sqlite":
        query = (" " if every else " OR ").join(f'"{w}"' for w in words)
        statement = text(
            "SELECT k.id FROM knowledge_fts JOIN knowledge k ON k.id = knowledge_fts.rowid "
            "WHERE knowledge_fts MATCH :query AND k.community_id = :community "
            "ORDER BY bm25(knowledge_fts), k.id DESC LIMIT :limit"
        )
    else:
        query = (" & " if every else " | ").join(words)
        statement = text(
            "SELECT id FROM knowledge "
            "WHERE to_tsvector('english', title || ' ' || body) @@ to_tsquery('english', :query) "
            "AND community_id = :community "
            "ORDER BY ts_rank(to_tsvector('english', title || ' ' || body), "
            "to_tsquery('english', :query)) DESC, id DESC LIMIT :limit"
        )
    ids = list(
        await session.scalars(
            statement, {"query": query, "community": community_id, "limit": limit}
        )
    )
    if not ids:
        return []
    found = {
        e.id: e
        for e in await session.scalars(select(KnowledgeEntry).where(KnowledgeEntry.id.in_(ids)))
    }
    return [found[i] for i in ids if i in found]
