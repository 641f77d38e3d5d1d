"""Queries of hot seats and their early questions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hearth.storage.models import HotSeat, HotSeatQuestion, Message, OutboxMessage

PROPOSED, ACCEPTED, DECLINED, CANCELLED, CLOSED = (
    "proposed",
    "accepted",
    "declined",
    "cancelled",
    "closed",
)
LIVE = (PROPOSED, ACCEPTED)


async def lock(session: AsyncSession, hot_seat_id: int) -> HotSeat | None:
    """The hot seat, its row locked for this transaction (PostgreSQL; SQLite has one writer)."""
    return await session.scalar(
        select(HotSeat)
        .where(HotSeat.id == hot_seat_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def live(session: AsyncSession, community_id: int, now: datetime) -> list[HotSeat]:
    """Proposed and accepted hot seats that have not ended, soonest first."""
    query = (
        select(HotSeat)
        .where(
            HotSeat.community_id == community_id,
            HotSeat.status.in_(LIVE),
            HotSeat.ends_at > now,
        )
        .order_by(HotSeat.starts_at, HotSeat.id)
    )
    return list(await session.scalars(query))


async def overlapping(
    session: AsyncSession,
    community_id: int,
    starts_at: datetime,
    ends_at: datetime,
    *,
    other_than: int | None = None,
) -> HotSeat | None:
    """A live hot seat of the community whose days overlap [starts_at, ends_at]."""
    query = select(HotSeat).where(
        HotSeat.community_id == community_id,
        HotSeat.status.in_(LIVE),
        HotSeat.starts_at <= ends_at,
        HotSeat.ends_at >= starts_at,
    )
    if other_than is not None:
        query = query.where(HotSeat.id != other_than)
    return await session.scalar(query.limit(1))


async def running(session: AsyncSession, community_id: int, now: datetime) -> HotSeat | None:
    """The accepted hot seat running at `now`, if any."""
    return await session.scalar(
        select(HotSeat)
        .where(
            HotSeat.community_id == community_id,
            HotSeat.status == ACCEPTED,
            HotSeat.starts_at <= now,
            HotSeat.ends_at > now,
        )
        .order_by(HotSeat.starts_at)
        .limit(1)
    )


async def questions(session: AsyncSession, hot_seat_id: int) -> list[HotSeatQuestion]:
    query = (
        select(HotSeatQuestion)
        .where(HotSeatQuestion.hot_seat_id == hot_seat_id)
        .order_by(HotSeatQuestion.number)
    )
    return list(await session.scalars(query))


async def question_count(session: AsyncSession, hot_seat_id: int) -> int:
    count = select(func.count()).where(HotSeatQuestion.hot_seat_id == hot_seat_id)
    return int(await session.scalar(count) or 0)


async def posted_threads(session: AsyncSession, keys: list[str]) -> dict[str, str]:
    """Outbox key → the message id it was posted as, for those already sent."""
    if not keys:
        return {}
    rows = await session.execute(
        select(OutboxMessage.key, OutboxMessage.sent_message_id).where(
            OutboxMessage.key.in_(keys), OutboxMessage.sent_message_id.is_not(None)
        )
    )
    return {key: sent for key, sent in rows if sent}


async def replies(
    session: AsyncSession, community_id: int, threads: list[str]
) -> dict[str, list[Message]]:
    """Members' replies in these threads (by thread id), oldest first; deleted ones left out."""
    if not threads:
        return {}
    rows = await session.scalars(
        select(Message)
        .where(
            Message.community_id == community_id,
            Message.thread_id.in_(threads),
            Message.from_bot.is_(False),
            Message.deleted_at.is_(None),
            Message.text.is_not(None),
        )
        .order_by(Message.posted_at, Message.id)
    )
    found: dict[str, list[Message]] = {}
    for message in rows:
        found.setdefault(message.thread_id or "", []).append(message)
    return found
