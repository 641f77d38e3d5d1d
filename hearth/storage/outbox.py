"""The outbox table: bot-initiated messages written with the change that caused them."""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, delete, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hearth.storage.db import dialect_insert, insert_ignore
from hearth.storage.models import DmChannel, OutboxMessage, OutboxPacing

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
            failures=0,
            claimed_at=None,
            claimed_by=None,
            lease_until=None,
            in_doubt=False,
            last_error=None,
            sent_at=None,
        )
    )
    return result.rowcount == 1


async def status_of(session: AsyncSession, key: str) -> str | None:
    """The status of the message written under `key`; None if there is none."""
    return await session.scalar(select(OutboxMessage.status).where(OutboxMessage.key == key))


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
    """Messages to deliver now, oldest first: pending ones that are due, and ones whose
    sender's lease ran out mid-delivery (it crashed, or lost the database)."""
    query = (
        select(OutboxMessage)
        .where(_claimable(now), OutboxMessage.platform.in_(platforms))
        .order_by(OutboxMessage.due_at, OutboxMessage.id)
        .limit(limit)
    )
    return list(await session.scalars(query))


def _claimable(now: datetime) -> ColumnElement[bool]:
    return or_(
        and_(OutboxMessage.status == PENDING, OutboxMessage.due_at <= now),
        and_(
            OutboxMessage.status == SENDING,
            or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now),
        ),
    )


async def next_due(session: AsyncSession, platforms: list[str]) -> datetime | None:
    """When the next message falls due (a pending one, or a lease that runs out)."""
    pending = await session.scalar(
        select(func.min(OutboxMessage.due_at)).where(
            OutboxMessage.status == PENDING, OutboxMessage.platform.in_(platforms)
        )
    )
    leased = await session.scalar(  # a row left `sending` with no lease (before leases): now
        select(func.min(func.coalesce(OutboxMessage.lease_until, OutboxMessage.due_at))).where(
            OutboxMessage.status == SENDING, OutboxMessage.platform.in_(platforms)
        )
    )
    return min((t for t in (pending, leased) if t is not None), default=None)


@dataclass(frozen=True)
class Claim:
    """A message taken for delivery."""

    card: dict[str, Any]
    """The card as it is now (`replace_pending` may have changed it since `due()` read it)."""
    tag: str
    """Names this delivery (not the key: a message queued again is a new delivery), so a post
    can be found on the platform after an attempt whose outcome is unknown."""
    retry: bool
    """An earlier attempt of this delivery may have reached the platform."""
    attempts: int
    """Attempts so far, this one included."""
    failures: int
    """Failed attempts so far (a sender that took it and never came back counts as one)."""


class Paced(Exception):
    """The conversation's next send slot is not yet free (`until`)."""

    def __init__(self, until: datetime) -> None:
        super().__init__(f"paced until {until.isoformat()}")
        self.until = until


async def claim(
    session: AsyncSession,
    message_id: int,
    now: datetime,
    *,
    sender: str,
    lease: timedelta,
    interval: timedelta,
) -> Claim | None:
    """Lease a message to `sender` and take its conversation's next send slot.

    None when the message is no longer claimable (another sender has it, or it was sent).
    Raises `Paced` when the conversation's slot is not free yet; the caller's transaction must
    then be rolled back (nothing of this call is kept).
    """
    row = (
        await session.execute(
            select(OutboxMessage.status, OutboxMessage.in_doubt)
            .where(OutboxMessage.id == message_id, _claimable(now))
            .with_for_update()
        )
    ).one_or_none()
    if row is None:
        return None
    was_in_doubt = bool(row.in_doubt) or row.status == SENDING
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(
            status=SENDING,
            claimed_by=sender,
            lease_until=now + lease,
            in_doubt=True,
            attempts=OutboxMessage.attempts + 1,
            failures=OutboxMessage.failures + (1 if row.status == SENDING else 0),
            claimed_at=func.coalesce(
                OutboxMessage.claimed_at, literal(now, OutboxMessage.claimed_at.type)
            ),
        )
        .returning(
            OutboxMessage.platform,
            OutboxMessage.workspace,
            OutboxMessage.target_kind,
            OutboxMessage.target_id,
            OutboxMessage.key,
            OutboxMessage.card,
            OutboxMessage.attempts,
            OutboxMessage.failures,
            OutboxMessage.claimed_at,
        )
    )
    platform, workspace, kind, target, key, card, attempts, failures, claimed_at = result.one()
    await take_slot(session, (platform, workspace, f"{kind}:{target}"), now, interval)
    digest = hashlib.sha256(f"{key}|{claimed_at.isoformat()}".encode()).hexdigest()
    return Claim(
        card=card, tag=digest[:32], retry=was_in_doubt, attempts=attempts, failures=failures
    )


async def take_slot(
    session: AsyncSession, conversation: tuple[str, str, str], now: datetime, interval: timedelta
) -> None:
    """Take the conversation's send slot if it is free, moving it `interval` on; else `Paced`.

    One statement (an upsert that only updates a free slot), so two senders on one database
    cannot both take the same slot.
    """
    platform, workspace, name = conversation
    insert = dialect_insert(session)
    statement = insert(OutboxPacing).values(
        platform=platform, workspace=workspace, conversation=name, next_slot=now + interval
    )
    statement = statement.on_conflict_do_update(
        index_elements=["platform", "workspace", "conversation"],
        set_={"next_slot": statement.excluded.next_slot},
        where=OutboxPacing.next_slot <= now,
    ).returning(OutboxPacing.next_slot)
    if (await session.execute(statement)).one_or_none() is None:
        until = await session.scalar(
            select(OutboxPacing.next_slot).where(
                OutboxPacing.platform == platform,
                OutboxPacing.workspace == workspace,
                OutboxPacing.conversation == name,
            )
        )
        raise Paced(until or now)


async def hold_conversation(
    session: AsyncSession, conversation: tuple[str, str, str], until: datetime
) -> None:
    """Keep every sender out of a conversation until `until` (the platform asked to wait)."""
    platform, workspace, name = conversation
    await session.execute(
        update(OutboxPacing)
        .where(
            OutboxPacing.platform == platform,
            OutboxPacing.workspace == workspace,
            OutboxPacing.conversation == name,
            OutboxPacing.next_slot < until,
        )
        .values(next_slot=until)
    )


async def finish(
    session: AsyncSession, message_id: int, *, sender: str | None = None, **values: Any
) -> bool:
    """Record the outcome of a delivery attempt and end the lease; False if `sender` no longer
    holds the message (its lease ran out and another sender took it over)."""
    query = update(OutboxMessage).where(OutboxMessage.id == message_id)
    if sender is not None:
        query = query.where(OutboxMessage.claimed_by == sender, OutboxMessage.status == SENDING)
    result = await session.execute(query.values(lease_until=None, **values))
    return result.rowcount == 1


async def renew(
    session: AsyncSession, message_ids: Collection[int], sender: str, until: datetime
) -> int:
    """Extend `sender`'s leases on messages it is still delivering."""
    if not message_ids:
        return 0
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(message_ids),
            OutboxMessage.claimed_by == sender,
            OutboxMessage.status == SENDING,
        )
        .values(lease_until=until)
    )
    return result.rowcount


async def forget_recipient(session: AsyncSession, platform: str, workspace: str, user: str) -> None:
    """Erase what the outbox keeps of a member beyond their rows: their DM's pace and channel."""
    await session.execute(
        delete(OutboxPacing).where(
            OutboxPacing.platform == platform,
            OutboxPacing.workspace == workspace,
            OutboxPacing.conversation == f"dm:{user}",
        )
    )
    await session.execute(
        delete(DmChannel).where(
            DmChannel.platform == platform,
            DmChannel.workspace == workspace,
            DmChannel.user_id == user,
        )
    )


async def prune_pacing(session: AsyncSession, before: datetime) -> int:
    """Forget send slots long past (one row per conversation ever sent to, otherwise)."""
    result = await session.execute(delete(OutboxPacing).where(OutboxPacing.next_slot < before))
    return result.rowcount


async def oldest_due(session: AsyncSession) -> datetime | None:
    """When the longest-waiting pending message fell due (the outbox's lag is now minus this)."""
    query = select(func.min(OutboxMessage.due_at)).where(OutboxMessage.status == PENDING)
    return await session.scalar(query)


async def count_by_status(session: AsyncSession) -> dict[str, int]:
    """How many outbox messages are in each status (an index-only scan of ix_outbox_status_due)."""
    query = select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    return {status: count for status, count in await session.execute(query)}
