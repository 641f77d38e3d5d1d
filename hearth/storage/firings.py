"""The job_firings table: each scheduled job's periods, each run at most once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from hearth.storage.db import insert_ignore
from hearth.storage.models import JobFiring

DONE, RETRYING, DEAD = "done", "retrying", "dead"


async def claim(session: AsyncSession, job: str, period: datetime, now: datetime) -> int | None:
    """Record that `job` runs for `period`, in the transaction that does its work.

    Returns the attempt this is (1 for a first run, more for a retry that was due), or None when
    the period ran already, is dead, or is waiting for a later retry: then do nothing.
    """
    if await insert_ignore(
        session,
        JobFiring,
        {"job": job, "period": period, "status": DONE, "attempts": 1, "fired_at": now},
    ):
        return 1
    retried = await session.execute(
        update(JobFiring)
        .where(
            JobFiring.job == job,
            JobFiring.period == period,
            JobFiring.status == RETRYING,
            JobFiring.retry_at <= now,
        )
        .values(status=DONE, attempts=JobFiring.attempts + 1, retry_at=None, fired_at=now)
    )
    if retried.rowcount != 1:
        return None
    return await session.scalar(
        select(JobFiring.attempts).where(JobFiring.job == job, JobFiring.period == period)
    )


async def failed(
    session: AsyncSession,
    job: str,
    period: datetime,
    error: str,
    *,
    attempt: int,
    retry_at: datetime | None,
    now: datetime,
) -> None:
    """Record failed attempt number `attempt`: retried at `retry_at`, or dead when None."""
    status = RETRYING if retry_at is not None else DEAD
    values = {"status": status, "last_error": error, "retry_at": retry_at, "fired_at": now}
    if not await insert_ignore(
        session, JobFiring, {"job": job, "period": period, "attempts": attempt, **values}
    ):
        await session.execute(
            update(JobFiring)
            .where(JobFiring.job == job, JobFiring.period == period, JobFiring.status != DONE)
            .values(attempts=attempt, **values)
        )


async def latest(session: AsyncSession, jobs: list[str]) -> dict[str, datetime]:
    """The latest recorded period of each of these jobs (whatever became of it)."""
    if not jobs:
        return {}
    rows = await session.execute(
        select(JobFiring.job, func.max(JobFiring.period))
        .where(JobFiring.job.in_(jobs))
        .group_by(JobFiring.job)
    )
    return {job: period for job, period in rows}


async def retries_due(session: AsyncSession, now: datetime, limit: int) -> list[JobFiring]:
    """Failed periods whose next attempt is due, oldest first."""
    return list(
        await session.scalars(
            select(JobFiring)
            .where(JobFiring.status == RETRYING, JobFiring.retry_at <= now)
            .order_by(JobFiring.retry_at, JobFiring.job)
            .limit(limit)
        )
    )


async def next_retry(session: AsyncSession) -> datetime | None:
    """When the next failed period is tried again."""
    return await session.scalar(
        select(func.min(JobFiring.retry_at)).where(JobFiring.status == RETRYING)
    )


async def prune(session: AsyncSession, before: datetime) -> int:
    """Forget firings done or dead before `before`, keeping each job's latest (the scheduler
    counts the next period from it)."""
    other = aliased(JobFiring)
    latest_period = (
        select(func.max(other.period)).where(other.job == JobFiring.job).scalar_subquery()
    )
    result = await session.execute(
        delete(JobFiring).where(
            JobFiring.fired_at < before,
            JobFiring.status != RETRYING,
            JobFiring.period < latest_period,
        )
    )
    return result.rowcount


async def count_dead(session: AsyncSession) -> int:
    """Recurring periods that failed for good (dead letters)."""
    return (
        await session.scalar(
            select(func.count()).select_from(JobFiring).where(JobFiring.status == DEAD)
        )
        or 0
    )
