"""Due jobs: work that must happen at a set time (close a poll, post a recurring one).

A job is a `due_jobs` row written in the transaction that decided it (`schedule`). When it
falls due, `run_due_jobs` deletes the row and does the work in one transaction, through the
handler registered with `registry.job(kind)`: a crash or restart neither loses nor repeats it,
and two processes never run one job twice. The console calls `run_due_jobs` as its simulated
clock moves; the server runs a `JobRunner` (or calls `run_due_jobs` every few seconds).
This is the seam for the calendar scheduler in ARCHITECTURE.md: its jobs can schedule rows
here, or call the same handlers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from hearth.handlers.commands import CommandError
from hearth.handlers.context import Context
from hearth.handlers.events import Event
from hearth.handlers.hub import Hearth
from hearth.handlers.ports import DeliveryError
from hearth.storage import jobs as stored
from hearth.storage.db import Database
from hearth.storage.models import DueJob

log = logging.getLogger(__name__)

POLL_EVERY = 5.0
"""Seconds between looks at the due_jobs table when nothing is due sooner."""


@dataclass(frozen=True, kw_only=True)
class JobDue(Event):
    """A due job, as the event its handler runs under (`user` is empty: nobody acted)."""

    kind: str
    key: str
    payload: dict[str, Any] = field(default_factory=dict)


async def schedule(
    context: Context,
    key: str,
    kind: str,
    due_at: datetime,
    payload: dict[str, Any],
    *,
    channel: str | None = None,
) -> bool:
    """Schedule a job (in the handler's transaction) unless `key` is already waiting.

    Never schedule the key of a job that may be running while you hold a lock its handler
    takes (the insert would wait for it): give repeated jobs distinct keys (a time slot, say).
    """
    event = context.event
    return await stored.schedule(
        context.session,
        key=key,
        kind=kind,
        platform=event.platform,
        workspace=event.workspace,
        channel=channel or event.channel,
        payload=payload,
        due_at=due_at,
        now=context.now(),
    )


async def cancel(context: Context, key: str) -> bool:
    """Drop a waiting job (in the handler's transaction)."""
    return await stored.cancel(context.session, key)


async def run_due_jobs(hub: Hearth, *, limit: int = 100) -> int:
    """Run every job due by now, oldest first, each in its own transaction; how many ran."""
    now = hub.clock.now()
    async with hub.db.transaction() as session:
        due = await stored.due(session, now, limit, list(hub.messengers))
    ran = 0
    for job in due:
        ran += await _run(hub, job)
    return ran


async def next_job_due(db: Database, platforms: list[str]) -> datetime | None:
    """When the next job on these platforms falls due."""
    async with db.transaction() as session:
        return await stored.next_due(session, platforms)


async def _run(hub: Hearth, job: DueJob) -> int:
    event = JobDue(
        platform=job.platform,
        workspace=job.workspace,
        channel=job.channel,
        user="",
        at=hub.clock.now(),
        kind=job.kind,
        key=job.key,
        payload=dict(job.payload),
    )
    messenger = hub.messengers[job.platform]
    try:
        async with hub.db.transaction() as session:
            if not await stored.claim(session, job.id):
                return 0  # another process ran it
            context = Context(session, event, messenger, hub.clock, hub.registry, hub.defaults)
            handler = hub.registry.jobs.get(job.kind)
            if handler is None:
                log.error("dropping job %s: no handler for kind %r", job.key, job.kind)
                return 1
            await handler(context, event)
    except CommandError as error:
        log.warning("dropping job %s: %s", job.key, error)
        async with hub.db.transaction() as session:
            await stored.claim(session, job.id)
        return 1
    for reply in context.replies:
        try:
            await reply(messenger)
        except DeliveryError:
            log.warning("could not deliver a reply from job %s", job.key, exc_info=True)
    if context.enqueued:
        hub.on_enqueued()
    return 1


class JobRunner:
    """Runs due jobs until stopped: the server's loop around `run_due_jobs`."""

    def __init__(self, hub: Hearth, *, poll_every: float = POLL_EVERY) -> None:
        self.hub = hub
        self.poll_every = poll_every
        self._wake = asyncio.Event()
        self._stopping = False

    def wake(self) -> None:
        """A job was scheduled: look again now."""
        self._wake.set()

    def stop(self) -> None:
        """Finish the job in hand, then return from `run()`."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Run due jobs, sleeping until the next is due (at most `poll_every` seconds)."""
        while not self._stopping:
            self._wake.clear()
            delay = self.poll_every
            try:
                await run_due_jobs(self.hub)
                upcoming = await next_job_due(self.hub.db, list(self.hub.messengers))
            except (SQLAlchemyError, OSError):  # asyncpg's connection errors arrive as OSError
                log.warning("due jobs: database error; trying again shortly", exc_info=True)
            else:
                if upcoming is not None:
                    wait = (upcoming - self.hub.clock.now()).total_seconds()
                    delay = min(delay, max(wait, 0.05))
            if not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay)
