"""The server's scheduler loop: lead or stand by, fire what is due, sleep until the next.

It survives its jobs (each firing is isolated, see `firing`) and the database going away (it
logs and tries again). A supervisor can watch `heartbeat` (time.monotonic(), renewed at least
every `beat_every` seconds while the loop is healthy) and `counts`, and restart `run()`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError

from hearth.handlers.hub import Hearth
from hearth.scheduler.leader import Leadership, leadership_for
from hearth.scheduler.scheduler import Counts, Scheduler

log = logging.getLogger(__name__)

POLL_EVERY = 5.0
"""Seconds between looks at the tables (one-shots written by other processes) at most."""
STANDBY_EVERY = 5.0
"""Seconds between a stand-by's tries for the lead."""
BEAT_EVERY = 2.0


class SchedulerRunner:
    """Runs a `Scheduler` in this process while it leads; `stop()` ends `run()`."""

    def __init__(
        self,
        scheduler: Scheduler,
        leadership: Leadership,
        *,
        poll_every: float = POLL_EVERY,
        standby_every: float = STANDBY_EVERY,
        beat_every: float = BEAT_EVERY,
    ) -> None:
        self.scheduler = scheduler
        self.leadership = leadership
        self.poll_every = poll_every
        self.standby_every = standby_every
        self.beat_every = beat_every
        self.heartbeat = time.monotonic()
        self.leading = False
        self._wake = asyncio.Event()
        self._stopping = False
        self._announced = False
        scheduler.hub.registry.on_scheduled.append(self.wake)

    @classmethod
    def for_hub(
        cls, hub: Hearth, before_firing: Callable[[], Awaitable[None]] | None = None
    ) -> SchedulerRunner:
        return cls(Scheduler(hub, before_firing=before_firing), leadership_for(hub.db))

    @property
    def counts(self) -> Counts:
        return self.scheduler.counts

    def wake(self, due: datetime | None = None) -> None:
        """Look again now (a one-shot was scheduled in this process)."""
        self._wake.set()

    def stop(self) -> None:
        """Finish the firing in hand, then return from `run()`."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Lead (or wait to), fire what is due, sleep until the next is due; until stopped."""
        try:
            while not self._stopping:
                self.heartbeat = time.monotonic()
                await self._sleep(await self._pass())
        finally:
            await self.leadership.release()
            self.leading = False

    async def _pass(self) -> float:
        """One look: fire what is due; returns how long to sleep."""
        scheduler = self.scheduler
        try:
            leading = await self.leadership.hold()
            if leading != self.leading or not self._announced:
                log.info("scheduler: %s", "leading" if leading else "standing by")
                scheduler.reset()
                self.leading, self._announced = leading, True
            if not leading:
                return self.standby_every
            fired, upcoming = await scheduler.tick()
        except (SQLAlchemyError, OSError):
            log.warning("scheduler: database error; trying again shortly", exc_info=True)
            return self.poll_every
        if upcoming is None:
            return self.poll_every
        wait = (upcoming - scheduler.hub.clock.now()).total_seconds()
        return min(self.poll_every, max(wait, 0.0 if fired else 0.05))

    async def _sleep(self, delay: float) -> None:
        """Wait `delay` seconds or until woken, renewing the heartbeat meanwhile."""
        deadline = time.monotonic() + delay
        while not self._stopping:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            try:
                await asyncio.wait_for(self._wake.wait(), min(remaining, self.beat_every))
            except TimeoutError:
                self.heartbeat = time.monotonic()
                continue
            self._wake.clear()
            return
