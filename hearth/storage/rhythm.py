"""Queries of the community's rhythm: themes, articles, digest cadences and runs, thread counters.

Every digest query reads an indexed range of its period (threads by `last_at`, memberships by
`joined_at`, messages by `posted_at`): its cost follows the window, not the history.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hearth.storage.db import dialect_insert, insert_ignore
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


async def count_message(
    session: AsyncSession,
    community_id: int,
    member_id: int,
    message_id: str,
    thread_id: str | None,
    at: datetime,
) -> None:
    """Count one message: a top-level message starts its thread, a reply adds to its thread's
    replies and, from a new face, to its participants. Two statements per message."""
    thread = thread_id or message_id
    new_face = await insert_ignore(
        session,
        ThreadParticipant,
        {"community_id": community_id, "thread_id": thread, "member_id": member_id},
    )
    replies = 1 if thread_id else 0
    joined = 1 if new_face else 0
    insert = dialect_insert(session)(ThreadActivity).values(
        community_id=community_id,
        thread_id=thread,
        replies=replies,
        participants=joined,
        started_at=at,
        last_at=at,
    )
    table = ThreadActivity.__table__.c
    sqlite = session.bind is not None and session.bind.dialect.name == "sqlite"
    latest = (func.max if sqlite else func.greatest)(table.last_at, insert.excluded.last_at)
    await session.execute(
        insert.on_conflict_do_update(
            index_elements=[table.community_id, table.thread_id],
            set_={
                "replies": table.replies + replies,
                "participants": table.participants + joined,
                "last_at": latest,
            },
        )
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
