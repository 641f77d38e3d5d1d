"""One firing: claimed and recorded in the transaction that does its work, failures kept.

The claim is the exactly-once guarantee: a one-shot's row is deleted, a recurring period's
(job, period) row inserted, in the same transaction as the handler's effects, so whichever
process commits first runs it and any other finds nothing to do. A handler that raises leaves
nothing behind but its failure: attempts, last error and the time of the next try (exponential
backoff); a permanent error (`CommandError`, a kind nobody handles) or the last attempt makes
it a dead letter. Nothing is retried behind the scheduler's back.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from hearth.handlers.commands import CommandError
from hearth.handlers.context import Context
from hearth.handlers.hub import Hearth
from hearth.handlers.jobs import JobDue
from hearth.handlers.ports import DeliveryError
from hearth.handlers.registry import JobHandler
from hearth.scheduler.plan import PlannedJob
from hearth.storage import firings
from hearth.storage import jobs as stored_jobs
from hearth.storage.models import DueJob

log = logging.getLogger(__name__)

ERROR_KEPT = 2000
"""Characters of an error's text kept with a failed job."""


class Outcome(enum.Enum):
    RAN = "ran"
    SKIPPED = "skipped"
    """Already run (or being retried later) by this or another process: nothing done."""
    FAILED = "failed"
    """Failed; tried again after a backoff."""
    DEAD = "dead"


@dataclass(frozen=True)
class RetryPolicy:
    """How a failing job is retried: `attempts` in all, waiting `first_backoff` doubled each
    time up to `max_backoff`; a firing running longer than `timeout` seconds has failed."""

    attempts: int = 5
    first_backoff: timedelta = timedelta(seconds=30)
    max_backoff: timedelta = timedelta(hours=1)
    timeout: float = 300.0

    def retry_at(self, attempt: int, now: datetime, *, permanent: bool) -> datetime | None:
        """When to try again after failed attempt number `attempt` (None: never)."""
        if permanent or attempt >= self.attempts:
            return None
        return now + min(self.first_backoff * 2 ** (attempt - 1), self.max_backoff)


class Permanent(Exception):
    """A job that no handler can run."""


@dataclass(frozen=True)
class Firing:
    """What to run, under which event, and how its claim and failures are stored."""

    name: str
    due: datetime
    event: JobDue
    handler: JobHandler | None
    claim: Callable[[AsyncSession, datetime], Awaitable[int | None]]
    """The attempt this is, or None: nothing to do."""
    failed: Callable[[AsyncSession, int, str, datetime | None, datetime], Awaitable[None]]
    """Record failed attempt n with its error, retried at the time given (None: dead)."""


def one_shot(hub: Hearth, job: DueJob) -> Firing:
    """The firing of a due one-shot row."""
    period = job.due_at

    async def claim(session: AsyncSession, now: datetime) -> int | None:
        if not await stored_jobs.claim(session, job.id):
            return None  # another process ran it
        await firings.claim(session, f"once:{job.key}", period, now)
        return job.attempts + 1

    async def failed(
        session: AsyncSession, attempt: int, error: str, retry: datetime | None, now: datetime
    ) -> None:
        await stored_jobs.failed(session, job.id, error, retry_at=retry, now=now)

    event = JobDue(
        platform=job.platform,
        workspace=job.workspace,
        channel=job.channel,
        user="",
        at=hub.clock.now(),
        kind=job.kind,
        key=job.key,
        payload=dict(job.payload),
        period=period,
    )
    return Firing(job.key, period, event, hub.registry.jobs.get(job.kind), claim, failed)


def recurring(
    hub: Hearth, job: PlannedJob, period: datetime, *, due: datetime | None = None
) -> Firing:
    """The firing of one period of a recurring job (`due`: when a retry of it is due)."""

    async def claim(session: AsyncSession, now: datetime) -> int | None:
        return await firings.claim(session, job.name, period, now)

    async def failed(
        session: AsyncSession, attempt: int, error: str, retry: datetime | None, now: datetime
    ) -> None:
        await firings.failed(
            session, job.name, period, error, attempt=attempt, retry_at=retry, now=now
        )

    event = JobDue(
        platform=job.platform,
        workspace=job.workspace,
        channel=job.channel,
        user="",
        at=hub.clock.now(),
        kind=job.declaration.name,
        key=job.name,
        payload=dict(job.payload),
        period=period,
    )
    return Firing(job.name, due or period, event, job.declaration.run, claim, failed)


async def fire(hub: Hearth, firing: Firing, policy: RetryPolicy) -> Outcome:
    """Run one firing in its own transaction; a failure is recorded, never raised.

    Database errors while claiming or recording (the database is away) do propagate: nothing
    was recorded, so the firing is still due and is tried again when the database is back.
    """
    now = hub.clock.now()
    event = firing.event
    messenger = hub.messengers[event.platform]
    attempt = 0
    context: Context | None = None
    try:
        async with asyncio.timeout(policy.timeout):
            async with hub.db.transaction() as session:
                claimed = await firing.claim(session, now)
                if claimed is None:
                    return Outcome.SKIPPED
                attempt = claimed
                if firing.handler is None:
                    raise Permanent(f"no handler for job kind {event.kind!r}")
                context = Context(session, event, messenger, hub.clock, hub.registry, hub.defaults)
                await firing.handler(context, event)
    except Exception as error:  # the supervision boundary: recorded on the job, loop goes on
        if attempt == 0:
            raise  # the claim itself failed: nothing ran, nothing to record
        return await _failed(hub, firing, attempt, error, policy)
    assert context is not None, "a firing that ran had a context"
    await _after_commit(hub, firing, context)
    return Outcome.RAN


async def _failed(
    hub: Hearth, firing: Firing, attempt: int, error: Exception, policy: RetryPolicy
) -> Outcome:
    now = hub.clock.now()
    permanent = isinstance(error, CommandError | Permanent)
    retry = policy.retry_at(attempt, now, permanent=permanent)
    text = f"{type(error).__name__}: {error}"[:ERROR_KEPT]
    async with hub.db.transaction() as session:
        await firing.failed(session, attempt, text, retry, now)
    if retry is None:
        log.error(
            "job %s failed (attempt %d) and is dead-lettered: %s",
            firing.name,
            attempt,
            text,
            exc_info=None if permanent else error,
        )
        return Outcome.DEAD
    log.warning(
        "job %s failed (attempt %d), trying again at %s",
        firing.name,
        attempt,
        retry.isoformat(),
        exc_info=error,
    )
    return Outcome.FAILED


async def _after_commit(hub: Hearth, firing: Firing, context: Context) -> None:
    """Send the job's direct replies and wake the outbox sender if it wrote there."""
    for reply in context.replies:
        try:
            await reply(context.messenger)
        except DeliveryError:
            log.warning("could not deliver a reply from job %s", firing.name, exc_info=True)
    if context.enqueued:
        hub.on_enqueued()
