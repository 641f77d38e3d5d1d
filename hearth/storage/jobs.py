"""The due_jobs table: durable one-shots, work that must happen at a set time across restarts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hearth.storage.db import insert_ignore, insert_ignore_later
from hearth.storage.models import DueJob


async def schedule(session: AsyncSession, **job: Any) -> bool:
    """Add a job (the fields of `job_row`) unless one with its key is waiting; True when added."""
    return await insert_ignore(session, DueJob, job_row(**job))


def schedule_later(session: AsyncSession, **job: Any) -> None:
    """`schedule`, written with the session's other deferred writes (see `insert_ignore_later`):
    for what each event of a batch schedules, when whether it was added does not matter."""
    insert_ignore_later(session, DueJob, job_row(**job))


def job_row(
    *,
    key: str,
    kind: str,
    platform: str,
    workspace: str,
    channel: str,
    payload: dict[str, Any],
    due_at: datetime,
    now: datetime,
) -> dict[str, Any]:
    """A due_jobs row: the job `kind` under `key`, due at `due_at`, scheduled `now`."""
    return {
        "key": key,
        "kind": kind,
        "platform": platform,
        "workspace": workspace,
        "channel": channel,
        "payload": payload,
        "due_at": due_at,
        "created_at": now,
    }


async def cancel(session: AsyncSession, key: str) -> bool:
    """Drop a waiting job; one being run right now is left alone (never waited for, so that a
    caller holding a lock the job needs cannot deadlock with it): its handler must check."""
    waiting = await session.scalar(
        select(DueJob.id).where(DueJob.key == key).with_for_update(skip_locked=True)
    )
    if waiting is None:
        return False
    await session.execute(delete(DueJob).where(DueJob.id == waiting))
    return True


async def due(
    session: AsyncSession, now: datetime, limit: int, platforms: list[str]
) -> list[DueJob]:
    """Jobs due by `now` (dead letters aside), oldest first."""
    query = (
        select(DueJob)
        .where(DueJob.due_at <= now, DueJob.platform.in_(platforms), DueJob.failed_at.is_(None))
        .order_by(DueJob.due_at, DueJob.id)
        .limit(limit)
    )
    return list(await session.scalars(query))


async def next_due(session: AsyncSession, platforms: list[str]) -> datetime | None:
    """When the next job falls due (dead letters aside)."""
    return await session.scalar(
        select(func.min(DueJob.due_at)).where(
            DueJob.platform.in_(platforms), DueJob.failed_at.is_(None)
        )
    )


async def claim(session: AsyncSession, job_id: int) -> bool:
    """Take a job by deleting it, in the transaction that does its work; False if gone."""
    result = await session.execute(delete(DueJob).where(DueJob.id == job_id))
    return result.rowcount == 1


async def failed(
    session: AsyncSession, job_id: int, error: str, *, retry_at: datetime | None, now: datetime
) -> int:
    """Record a failed attempt: due again at `retry_at`, or a dead letter when it is None.
    Returns the attempts made so far (0 if the row is gone)."""
    values: dict[str, Any] = {"attempts": DueJob.attempts + 1, "last_error": error}
    values.update({"due_at": retry_at} if retry_at is not None else {"failed_at": now})
    await session.execute(update(DueJob).where(DueJob.id == job_id).values(**values))
    return await session.scalar(select(DueJob.attempts).where(DueJob.id == job_id)) or 0


async def count_dead(session: AsyncSession) -> int:
    """One-shots that failed for good (dead letters)."""
    return (
        await session.scalar(
            select(func.count()).select_from(DueJob).where(DueJob.failed_at.is_not(None))
        )
        or 0
    )
