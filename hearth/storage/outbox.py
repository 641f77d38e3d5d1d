"""The outbox table: bot-initiated messages written with the change that caused them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hearth.storage.db import insert_ignore
from hearth.storage.models import OutboxMessage

PENDING, SENDING, SENT, FAILED, SKIPPED, CANCELLED = (
    "pending",
    "sending",
    "sent",
    "failed",
    "skipped",
    "cancelled",
)


class TargetLike(Protocol):
    kind: str
    id: str
    thread: str | None


async def enqueue(
    session: AsyncSession,
    *,
    key: str,
    kind: str,
    platform: str,
    workspace: str,
    target: TargetLike,
    card: dict[str, Any],
    due_at: datetime,
    member_id: int | None,
    now: datetime,
) -> bool:
    """Add a message unless one with `key` exists; True when added."""
    return await insert_ignore(
        session,
        OutboxMessage,
        {
            "key": key,
            "kind": kind,
            "platform": platform,
            "workspace": workspace,
            "target_kind": target.kind,
            "target_id": target.id,
            "thread": target.thread,
            "member_id": member_id,
            "card": card,
            "status": PENDING,
            "due_at": due_at,
            "attempts": 0,
            "created_at": now,
        },
    )


async def replace_pending(session: AsyncSession, key: str, card: dict[str, Any]) -> bool:
    """Change a message that has not gone out yet; False if it is sent, sending or absent."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.key == key, OutboxMessage.status == PENDING)
        .values(card=card)
    )
    return result.rowcount == 1


async def requeue(session: AsyncSession, key: str, card: dict[str, Any], due_at: datetime) -> bool:
    """Send a delivered (or failed) message again with a new card, keeping its key and target.

    For a message updated in place again and again (a poll's results): one row holds only the
    latest card. False if the row is pending, being sent, or absent.
    """
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.key == key, OutboxMessage.status.in_((SENT, FAILED)))
        .values(
            status=PENDING,
            card=card,
            due_at=due_at,
            attempts=0,
            claimed_at=None,
            last_error=None,
            sent_at=None,
        )
    )
    return result.rowcount == 1


async def cancel_pending(session: AsyncSession, key: str) -> bool:
    """Withdraw a message that has not gone out yet."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.key == key, OutboxMessage.status == PENDING)
        .values(status=CANCELLED)
    )
    return result.rowcount == 1


async def due(
    session: AsyncSession, now: datetime, limit: int, platforms: list[str]
) -> list[OutboxMessage]:
    """Pending messages due by `now`, oldest first."""
    query = (
        select(OutboxMessage)
        .where(
            OutboxMessage.status == PENDING,
            OutboxMessage.due_at <= now,
            OutboxMessage.platform.in_(platforms),
        )
        .order_by(OutboxMessage.due_at, OutboxMessage.id)
        .limit(limit)
    )
    return list(await session.scalars(query))


async def next_due(session: AsyncSession, platforms: list[str]) -> datetime | None:
    """When the next pending message falls due."""
    query = select(OutboxMessage.due_at).where(
        OutboxMessage.status == PENDING, OutboxMessage.platform.in_(platforms)
    )
    return await session.scalar(query.order_by(OutboxMessage.due_at).limit(1))


@dataclass(frozen=True)
class Claim:
    """A message taken for delivery."""

    card: dict[str, Any]
    """The card as it is now (`replace_pending` may have changed it since `due()` read it)."""
    tag: str
    """Names this delivery (not the key: a message queued again is a new delivery), so a post
    can be found on the platform after an attempt whose outcome is unknown."""
    retry: bool
    """An earlier attempt of this delivery was made: it may have reached the platform."""


async def claim(session: AsyncSession, message_id: int, now: datetime) -> Claim | None:
    """Take a pending message for delivery; None if another sender took it first."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == PENDING)
        .values(
            status=SENDING,
            attempts=OutboxMessage.attempts + 1,
            claimed_at=func.coalesce(
                OutboxMessage.claimed_at, literal(now, OutboxMessage.claimed_at.type)
            ),
        )
        .returning(
            OutboxMessage.key, OutboxMessage.card, OutboxMessage.attempts, OutboxMessage.claimed_at
        )
    )
    row = result.one_or_none()
    if row is None:
        return None
    key, card, attempts, claimed_at = row
    digest = hashlib.sha256(f"{key}|{claimed_at.isoformat()}".encode()).hexdigest()
    return Claim(card=card, tag=digest[:32], retry=attempts > 1)


async def finish(session: AsyncSession, message_id: int, **values: Any) -> None:
    """Record the outcome of a delivery attempt."""
    await session.execute(
        update(OutboxMessage).where(OutboxMessage.id == message_id).values(**values)
    )


async def release_abandoned(session: AsyncSession) -> int:
    """Put back messages a crashed sender had claimed (run when the sole sender starts)."""
    result = await session.execute(
        update(OutboxMessage).where(OutboxMessage.status == SENDING).values(status=PENDING)
    )
    return result.rowcount


async def count_by_status(session: AsyncSession) -> dict[str, int]:
    """How many outbox messages are in each status (an index-only scan of ix_outbox_status_due)."""
    query = select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    return {status: count for status, count in await session.execute(query)}
