"""Keeps named background loops running: a loop that dies is logged and restarted with backoff.

A loop is any object with `async run()` (returns once `stop()` was called), `stop()` and a
`heartbeat` (the `time.monotonic()` of its last sign of life). The supervisor knows, per loop,
whether it runs, how often it was restarted, its last error and whether it stalls (no
heartbeat for longer than the limit it was added with); `/healthz` and `/metrics` read that.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)

FIRST_BACKOFF = 1.0
MAX_BACKOFF = 60.0


class Loop(Protocol):
    """Background work the supervisor can run, stop and watch."""

    heartbeat: float

    async def run(self) -> None: ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class LoopStatus:
    """What the supervisor knows about one loop, at one moment."""

    name: str
    running: bool
    restarts: int
    last_error: str | None
    silent_for: float
    """Seconds since the loop's last heartbeat (or since it was last started, if later)."""
    stall_after: float

    @property
    def stalled(self) -> bool:
        return self.running and self.silent_for > self.stall_after

    @property
    def problem(self) -> str | None:
        """Why this loop is unhealthy, in one line; None when it is fine."""
        if not self.running:
            return f"stopped ({self.last_error or 'not started'}); restarts: {self.restarts}"
        if self.stalled:
            silent, limit = f"{self.silent_for:.0f}s", f"{self.stall_after:.0f}s"
            return f"stalled: no heartbeat for {silent} (limit {limit})"
        return None


@dataclass(eq=False)
class _Supervised:
    name: str
    loop: Loop
    stall_after: float
    running: bool = False
    restarts: int = 0
    last_error: str | None = None
    started_at: float = 0.0
    held: bool = False
    task: asyncio.Task[None] | None = None


class Supervisor:
    """Runs loops as tasks and restarts any that raises or returns without being stopped."""

    def __init__(
        self,
        *,
        first_backoff: float = FIRST_BACKOFF,
        max_backoff: float = MAX_BACKOFF,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.first_backoff = first_backoff
        self.max_backoff = max_backoff
        self.monotonic = monotonic
        self._loops: dict[str, _Supervised] = {}
        self._stopping = asyncio.Event()

    def add(self, name: str, loop: Loop, *, stall_after: float) -> None:
        """Supervise `loop` under `name`; it stalls when silent for `stall_after` seconds.

        Started now if the supervisor already runs, else by `start()`.
        """
        if name in self._loops:
            raise ValueError(f"a loop named {name!r} is already supervised")
        self._loops[name] = _Supervised(name, loop, stall_after)
        if self._started:
            self._launch(self._loops[name])

    def loop(self, name: str) -> Loop:
        """The loop supervised under `name`."""
        return self._loops[name].loop

    @property
    def _started(self) -> bool:
        return any(s.task is not None for s in self._loops.values())

    def start(self) -> None:
        """Start every loop added so far."""
        for supervised in self._loops.values():
            if supervised.task is None:
                self._launch(supervised)

    async def stop(self) -> None:
        """Stop every loop and wait until each `run()` has returned."""
        self._stopping.set()
        for supervised in self._loops.values():
            supervised.loop.stop()
        tasks = [s.task for s in self._loops.values() if s.task is not None]
        if tasks:
            await asyncio.wait(tasks)

    async def stop_loop(self, name: str) -> None:
        """Stop one loop for good (it then reports stopped) and wait until it has returned."""
        supervised = self._loops[name]
        supervised.held = True
        supervised.last_error = "stopped on request"
        supervised.loop.stop()
        if supervised.task is None:
            return
        if not supervised.running:  # waiting to restart: nothing of the loop's is interrupted
            supervised.task.cancel()
        await asyncio.wait([supervised.task])

    def status(self) -> dict[str, LoopStatus]:
        """Every loop's status, by name."""
        now = self.monotonic()
        return {
            name: LoopStatus(
                name=name,
                running=s.running,
                restarts=s.restarts,
                last_error=s.last_error,
                silent_for=max(0.0, now - max(s.loop.heartbeat, s.started_at)),
                stall_after=s.stall_after,
            )
            for name, s in self._loops.items()
        }

    def problems(self) -> dict[str, str]:
        """The loops that are stopped or stalled, with why."""
        return {
            name: status.problem
            for name, status in self.status().items()
            if status.problem is not None
        }

    def _launch(self, supervised: _Supervised) -> None:
        supervised.running, supervised.started_at = True, self.monotonic()
        supervised.task = asyncio.create_task(
            self._supervise(supervised), name=f"supervised:{supervised.name}"
        )

    async def _supervise(self, supervised: _Supervised) -> None:
        backoff = self.first_backoff
        while not (self._stopping.is_set() or supervised.held):
            supervised.running, supervised.started_at = True, self.monotonic()
            error: Exception | None = None
            try:
                await supervised.loop.run()
            except Exception as raised:  # the one place that must outlive any failure
                error = raised
            finally:
                supervised.running = False
            if error is None and (self._stopping.is_set() or supervised.held):
                return
            if self.monotonic() - supervised.started_at > self.max_backoff:
                backoff = self.first_backoff  # it had been running well: start the backoff over
            why = "run() returned without being stopped" if error is None else _one_line(error)
            supervised.last_error = why
            log.error(
                "loop %s stopped (%s); restarting in %.1fs",
                supervised.name,
                why,
                backoff,
                exc_info=error,
            )
            await self._pause(backoff)
            backoff = min(self.max_backoff, backoff * 2)
            if not (self._stopping.is_set() or supervised.held):
                supervised.restarts += 1
                log.warning("restarting loop %s (restart %d)", supervised.name, supervised.restarts)

    async def _pause(self, seconds: float) -> None:
        """Wait before a restart, or less if the supervisor is stopped meanwhile."""
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            return


def _one_line(error: Exception) -> str:
    return " ".join(f"{type(error).__name__}: {error}".split())
