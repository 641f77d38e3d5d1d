"""The event journal: acknowledged events, stored before they are handled (models.JournalEntry)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hearth.storage.db import insert_ignore_many
from hearth.storage.models import JournalEntry

PENDING, DEAD = "pending", "dead"


async def append(session: AsyncSession, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert entries (`key`, `platform`, `kind`, `event`, `received_at`, `next_attempt_at`)
    unless their key is already there; the ids of the new ones, by key."""
    new = await insert_ignore_many(
        session,
        JournalEntry,
        [{"status": PENDING, "attempts": 0, "last_error": None, **row} for row in rows],
        "key",
        "id",
    )
    return {key: entry_id for key, entry_id in new}


async def finish(session: AsyncSession, ids: Iterable[int]) -> set[int]:
    """Delete entries being handled in this transaction; the ids that were still there.

    An id missing from the answer was handled by another transaction (another process that
    took the entry over): its event must not be handled again. On PostgreSQL the delete also
    holds the rows until commit, so two transactions cannot both find one.
    """
    ids = list(ids)
    if not ids:
        return set()
    result = await session.execute(
        delete(JournalEntry).where(JournalEntry.id.in_(ids)).returning(JournalEntry.id)
    )
    return set(result.scalars())


async def claim_due(
    session: AsyncSession, now: datetime, lease_until: datetime, limit: int, platforms: list[str]
) -> list[JournalEntry]:
    """Pending entries of `platforms` due by `now`, oldest first, leased to the caller until
    `lease_until`."""
    due = list(
        await session.scalars(
            select(JournalEntry)
            .where(
                JournalEntry.status == PENDING,
                JournalEntry.next_attempt_at <= now,
                JournalEntry.platform.in_(platforms),
            )
            .order_by(JournalEntry.next_attempt_at, JournalEntry.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if due:
        await session.execute(
            update(JournalEntry)
            .where(JournalEntry.id.in_([entry.id for entry in due]))
            .values(next_attempt_at=lease_until)
        )
    return due


async def release(session: AsyncSession, ids: list[int], now: datetime) -> None:
    """Hand back leased entries not handled (at shutdown): due at once, for anyone."""
    await session.execute(
        update(JournalEntry)
        .where(JournalEntry.id.in_(ids), JournalEntry.status == PENDING)
        .values(next_attempt_at=now)
    )


async def record_failure(
    session: AsyncSession,
    entry_id: int,
    *,
    attempts: int,
    error: str,
    retry_at: datetime | None,
) -> None:
    """Note a failed attempt: try again at `retry_at`, or (None) keep it as a dead letter."""
    await session.execute(
        update(JournalEntry)
        .where(JournalEntry.id == entry_id)
        .values(
            attempts=attempts,
            last_error=error[:4000],
            status=PENDING if retry_at is not None else DEAD,
            **({"next_attempt_at": retry_at} if retry_at is not None else {}),
        )
    )


async def requeue_dead(session: AsyncSession, now: datetime, ids: list[int] | None) -> list[int]:
    """Give dead letters (all of them, or those in `ids`) a fresh set of attempts, due now."""
    where = [JournalEntry.status == DEAD]
    if ids is not None:
        where.append(JournalEntry.id.in_(ids))
    result = await session.execute(
        update(JournalEntry)
        .where(*where)
        .values(status=PENDING, attempts=0, next_attempt_at=now)
        .returning(JournalEntry.id)
    )
    return sorted(result.scalars())


async def dead_letters(session: AsyncSession) -> list[JournalEntry]:
    return list(
        await session.scalars(
            select(JournalEntry).where(JournalEntry.status == DEAD).order_by(JournalEntry.id)
        )
    )


async def count_by_status(session: AsyncSession) -> dict[str, int]:
    """How many entries wait (`pending`) and how many are dead letters (`dead`)."""
    rows = await session.execute(
        select(JournalEntry.status, func.count()).group_by(JournalEntry.status)
    )
    return {PENDING: 0, DEAD: 0, **{status: count for status, count in rows.all()}}


async def forget_user(session: AsyncSession, platform: str, workspace: str, users: set[str]) -> int:
    """Delete the entries (pending or dead) of events by any of `users` (platform ids) in the
    workspace: a forgotten member's id must not wait in the journal. How many went."""
    if not users:
        return 0
    result = await session.execute(
        delete(JournalEntry).where(
            JournalEntry.platform == platform,
            JournalEntry.event["workspace"].as_string() == workspace,
            JournalEntry.event["user"].as_string().in_(sorted(users)),
        )
    )
    return result.rowcount
