"""Everything due by the clock's now, fired in time order: the heart of the calendar.

Recurring jobs come from the registry's declarations (`plan`), one-shots from the `due_jobs`
table, retries of failed periods from `job_firings`. The next period of each recurring job is
kept in memory, counted from the latest recorded firing when first seen, so a restart or a
takeover carries on where the last firing left off. The server's runner calls `run_due` and
sleeps until `next_due`; the console does the same with its simulated clock.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from hearth.handlers.hub import Hearth
from hearth.scheduler import plan
from hearth.scheduler.firing import Firing, Outcome, RetryPolicy, fire, one_shot, recurring
from hearth.scheduler.plan import PlannedJob
from hearth.storage import firings
from hearth.storage import jobs as stored_jobs
from hearth.storage.models import JobFiring

log = logging.getLogger(__name__)

BATCH = 100
"""Most one-shots (and, apart, retries) taken in one pass; the rest in the next."""
SCOPES = ("community", "platform")


@dataclass
class Counts:
    """Firings since start-up, by outcome (for /metrics)."""

    runs: int = 0
    failures: int = 0
    """Failed attempts, dead letters included."""
    dead_letters: int = 0


class Scheduler:
    """Fires due jobs for one process's hub; only the leader should call `run_due`."""

    def __init__(
        self,
        hub: Hearth,
        *,
        policy: RetryPolicy | None = None,
        scopes: tuple[str, ...] = SCOPES,
        before_firing: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """`before_firing`: awaited before each firing (to let storing events go first)."""
        self.hub = hub
        self.before_firing = before_firing
        self.policy = policy or RetryPolicy()
        self.scopes = scopes
        self.counts = Counts()
        self._next: dict[str, datetime | None] = {}
        self._started = hub.clock.now()
        self._triggers = plan.Triggers()

    def reset(self) -> None:
        """Forget what is known of the recurring jobs (another process may have fired them):
        on taking over, they are counted again from the recorded firings."""
        self._next.clear()
        self._started = self.hub.clock.now()

    async def next_due(self) -> datetime | None:
        """When something is next due (a time already past: due now)."""
        async with self.hub.db.transaction() as session:
            jobs = await self._jobs(session, self.hub.clock.now())
        return await self._next_due(jobs)

    async def run_due(self) -> int:
        """Fire everything due by now, in time order; how many firings ran or failed."""
        fired, _ = await self._run_due()
        return fired

    async def tick(self) -> tuple[int, datetime | None]:
        """`run_due`, then `next_due`, planning the recurring jobs once (the runner's pass)."""
        fired, jobs = await self._run_due()
        return fired, await self._next_due(jobs)

    async def _next_due(self, jobs: list[PlannedJob]) -> datetime | None:
        now = self.hub.clock.now()
        platforms = list(self.hub.messengers)
        async with self.hub.db.transaction() as session:
            times = [
                await stored_jobs.next_due(session, platforms),
                await firings.next_retry(session),
            ]
        for job in jobs:
            runnable, ahead = plan.due_periods(job, self._next[job.name], now)
            if not runnable:
                self._next[job.name] = ahead  # what was missed is past making up
            times.append(runnable[0] if runnable else ahead)
        return min((t for t in times if t is not None), default=None)

    async def _run_due(self) -> tuple[int, list[PlannedJob]]:
        now = self.hub.clock.now()
        platforms = list(self.hub.messengers)
        async with self.hub.db.transaction() as session:
            jobs = await self._jobs(session, now)
            rows = await stored_jobs.due(session, now, BATCH, platforms)
            retries = await firings.retries_due(session, now, BATCH)
        queue: list[tuple[Firing, PlannedJob | None]] = []
        for job in jobs:
            runnable, ahead = plan.due_periods(job, self._next[job.name], now)
            if not runnable:
                self._next[job.name] = ahead
            queue += [(recurring(self.hub, job, period), job) for period in runnable]
        queue += [(one_shot(self.hub, row), None) for row in rows]
        by_name = {job.name: job for job in jobs}
        for retry in retries:
            job = by_name.get(retry.job)
            if job is not None:
                queue.append((recurring(self.hub, job, retry.period, due=retry.retry_at), None))
            else:
                await self._undeclared(retry)
        queue.sort(key=lambda entry: entry[0].due)
        done = 0
        for firing, job in queue:
            if self.before_firing is not None:
                await self.before_firing()
            outcome = await fire(self.hub, firing, self.policy)
            if job is not None and firing.event.period is not None:
                self._next[job.name] = job.after(firing.event.period)
            done += self._count(outcome)
        return done, jobs

    async def _jobs(self, session: AsyncSession, now: datetime) -> list[PlannedJob]:
        """The recurring jobs, each with its next period known."""
        hub = self.hub
        jobs = await plan.planned(
            session, hub.registry, list(hub.messengers), hub.defaults, self.scopes, self._triggers
        )
        unknown = [job for job in jobs if job.name not in self._next]
        latest = await firings.latest(session, [job.name for job in unknown])
        for job in unknown:
            self._next[job.name] = plan.first_candidate(
                job, latest.get(job.name), self._started, now
            )
        return jobs

    async def _undeclared(self, retry: JobFiring) -> None:
        """A failed period of a job that no longer exists (its community went): dead."""
        async with self.hub.db.transaction() as session:
            await firings.failed(
                session,
                retry.job,
                retry.period,
                "the job is no longer declared",
                attempt=retry.attempts,
                retry_at=None,
                now=self.hub.clock.now(),
            )
        self._count(Outcome.DEAD)

    def _count(self, outcome: Outcome) -> int:
        match outcome:
            case Outcome.RAN:
                self.counts.runs += 1
            case Outcome.FAILED:
                self.counts.failures += 1
            case Outcome.DEAD:
                self.counts.failures += 1
                self.counts.dead_letters += 1
            case Outcome.SKIPPED:
                return 0
        return 1
