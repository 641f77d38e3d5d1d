"""Queries of the community's rhythm: themes, articles, digest cadences and runs, thread counters.

Every digest query reads an indexed range of its period (threads by `last_at`, memberships by
`joined_at`, messages by `posted_at`): its cost follows the window, not the history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from hearth.storage.db import defer, dialect_insert
from hearth.storage.models import (
    Article,
    DigestCadence,
    DigestRun,
    Member,
    Membership,
    Message,
    Theme,
    ThreadActivity,
    ThreadParticipant,
)

# Thread counters


def count_message(
    session: AsyncSession,
    community_id: int,
    member_id: int,
    message_id: str,
    thread_id: str | None,
    at: datetime,
) -> None:
    """Count one message: a top-level message starts its thread, a reply adds to its thread's
    replies and, from a new face, to its participants. Written with the session's other deferred
    writes: two statements for a whole batch of messages."""
    counts = defer(session, ThreadCounts, ThreadCounts)
    counts.messages.append((community_id, thread_id or message_id, member_id, thread_id, at))


@dataclass
class ThreadCounts:
    """Messages to count: (community, thread, member, replied-to thread or None, at)."""

    messages: list[tuple[int, str, int, str | None, datetime]] = field(default_factory=list)

    def write(self, session: Session) -> None:
        faces = {(c, t, m): None for c, t, m, _, _ in self.messages}
        participant = ThreadParticipant.__table__
        insert = dialect_insert(session)
        new_faces = {
            tuple(row)
            for row in session.execute(
                insert(participant)
                .on_conflict_do_nothing()
                .returning(participant.c.community_id, participant.c.thread_id),
                [{"community_id": c, "thread_id": t, "member_id": m} for c, t, m in faces],
            )
        }
        threads: dict[tuple[int, str], dict[str, Any]] = {}
        for community_id, thread, _, replied_to, at in self.messages:
            row = threads.setdefault(
                (community_id, thread),
                {
                    "community_id": community_id,
                    "thread_id": thread,
                    "replies": 0,
                    "participants": 0,
                    "started_at": at,
                    "last_at": at,
                },
            )
            row["replies"] += 1 if replied_to else 0
            row["started_at"] = min(row["started_at"], at)
            row["last_at"] = max(row["last_at"], at)
        for community_id, thread in new_faces:
            threads[(community_id, thread)]["participants"] += 1
        table = ThreadActivity.__table__
        upsert = insert(table)
        latest = func.max if session.bind.dialect.name == "sqlite" else func.greatest
        session.execute(
            upsert.on_conflict_do_update(
                index_elements=[table.c.community_id, table.c.thread_id],
                set_={
                    "replies": table.c.replies + upsert.excluded.replies,
                    "participants": table.c.participants + upsert.excluded.participants,
                    "last_at": latest(table.c.last_at, upsert.excluded.last_at),
                },
            ),
            [threads[key] for key in sorted(threads)],  # one lock order for every writer
        )


async def liveliest(
    session: AsyncSession, community_id: int, start: datetime, end: datetime, limit: int
) -> list[tuple[ThreadActivity, str | None]]:
    """Threads (and lone messages) active in [start, end), by distinct participants then replies,
    with the opening message's text when Hearth has it."""
    top = list(
        await session.scalars(
            select(ThreadActivity)
            .where(
                ThreadActivity.community_id == community_id,
                ThreadActivity.last_at >= start,
                ThreadActivity.last_at < end,
            )
            .order_by(
                ThreadActivity.participants.desc(),
                ThreadActivity.replies.desc(),
                ThreadActivity.last_at.desc(),
            )
            .limit(limit)
        )
    )
    if not top:
        return []
    openings = dict(
        (
            await session.execute(
                select(Message.message_id, Message.text).where(
                    Message.community_id == community_id,
                    Message.message_id.in_([t.thread_id for t in top]),
                )
            )
        ).all()
    )
    return [(thread, openings.get(thread.thread_id)) for thread in top]


async def thread(session: AsyncSession, community_id: int, thread_id: str) -> ThreadActivity | None:
    return await session.get(ThreadActivity, (community_id, thread_id))


async def messages_between(
    session: AsyncSession, community_id: int, start: datetime, end: datetime
) -> int:
    """Members' messages (not bots') in [start, end): the spike's measure."""
    return int(
        await session.scalar(
            select(func.count()).where(
                Message.community_id == community_id,
                Message.posted_at >= start,
                Message.posted_at < end,
                Message.from_bot.is_(False),
            )
        )
        or 0
    )


async def joined_between(
    session: AsyncSession, community_id: int, start: datetime, end: datetime, limit: int
) -> tuple[list[Member], int]:
    """Members who joined in [start, end) and are still here (the first `limit`), and how many."""
    where = (
        Membership.community_id == community_id,
        Membership.joined_at >= start,
        Membership.joined_at < end,
        Membership.left_at.is_(None),
    )
    total = await session.scalar(select(func.count()).select_from(Membership).where(*where))
    members = await session.scalars(
        select(Member)
        .join(Membership, Membership.member_id == Member.id)
        .where(*where, Member.is_bot.is_(False))
        .order_by(Membership.joined_at, Member.id)
        .limit(limit)
    )
    return list(members), int(total or 0)


# Themes


async def theme(session: AsyncSession, community_id: int, month: str) -> Theme | None:
    return await session.scalar(
        select(Theme).where(Theme.community_id == community_id, Theme.month == month)
    )


async def themes(session: AsyncSession, community_id: int, since: str | None = None) -> list[Theme]:
    query = select(Theme).where(Theme.community_id == community_id)
    if since is not None:
        query = query.where(Theme.month >= since)
    return list(await session.scalars(query.order_by(Theme.month)))


# Articles


async def articles(session: AsyncSession, community_id: int, *statuses: str) -> list[Article]:
    return list(
        await session.scalars(
            select(Article)
            .where(Article.community_id == community_id, Article.status.in_(statuses))
            .order_by(Article.decided_at.nulls_first(), Article.created_at, Article.id)
        )
    )


async def posted_in(session: AsyncSession, community_id: int, month: str) -> Article | None:
    return await session.scalar(
        select(Article).where(Article.community_id == community_id, Article.posted_month == month)
    )


# Digest cadences and runs


async def cadences(session: AsyncSession, community_id: int) -> dict[str, DigestCadence]:
    rows = await session.scalars(
        select(DigestCadence).where(DigestCadence.community_id == community_id)
    )
    return {row.segment: row for row in rows}


async def run_of(
    session: AsyncSession, community_id: int, kind: str, period_start: datetime
) -> DigestRun | None:
    return await session.scalar(
        select(DigestRun).where(
            DigestRun.community_id == community_id,
            DigestRun.kind == kind,
            DigestRun.period_start == period_start,
        )
    )


async def recent_runs(session: AsyncSession, community_id: int, limit: int) -> list[DigestRun]:
    return list(
        await session.scalars(
            select(DigestRun)
            .where(DigestRun.community_id == community_id)
            .order_by(DigestRun.posted_at.desc(), DigestRun.id.desc())
            .limit(limit)
        )
    )


async def record_spike(session: AsyncSession, run_id: int, after: int, before: int) -> None:
    await session.execute(
        update(DigestRun).where(DigestRun.id == run_id).values(after=after, before=before)
    )
