"""The event journal's two halves: `accept` takes events as they are acknowledged and stores them
within milliseconds (many at once, one short transaction), and `run` handles them through the
hub, retrying failures with backoff and keeping those that keep failing as dead letters."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import random
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from hearth.handlers import event_codec
from hearth.handlers.events import Event
from hearth.handlers.hub import BATCH_LIMIT, Hearth
from hearth.handlers.ports import Clock, PermanentFailure, RateLimited, SystemClock
from hearth.storage import journal

log = logging.getLogger(__name__)

STORAGE_ERRORS = (SQLAlchemyError, OSError, TimeoutError)
"""What a database that cannot be reached, is locked or gave up raises."""
BATCHES_IN_FLIGHT = 4
"""Most batches handed to the hub and not yet handled."""
HANDLING_DELAY = 1.0
"""Longest a stored event waits to be handled while storing others goes first."""
BUSY_BATCH = 100
"""Most events handled in one batch while others are being stored (a shorter hold on SQLite's
writer, which storing waits for)."""
BACKLOG_LIMIT = 20_000
"""Most events stored but not yet handled in this process; beyond it `accept` refuses."""


@dataclass
class Counts:
    """The journal since start-up (served at /metrics)."""

    stored: int = 0
    duplicates: int = 0
    """Redeliveries of events still in the journal: acknowledged, not stored twice."""
    refused: int = 0
    """Answered "deliver this again" (backlog full, or the database could not store them)."""
    handled: int = 0
    repeats: int = 0
    retried: int = 0
    """Failed attempts that will be tried again later."""
    dead: int = 0
    """Events that became dead letters (`hearth events retry` gives them another go)."""


_Arrival = tuple[Event, float]
"""An event `accept` took, and when (time.perf_counter())."""


@dataclass(eq=False)
class _Entry:
    id: int
    event: Event
    attempts: int = 0
    ready_at: float = field(default_factory=time.monotonic)


class EventJournal:
    """Stores acknowledged events, then handles them from the journal until `stop()`.

    `heartbeat` is `time.monotonic()` of the loop's last turn: it moves at least every
    `poll_every` seconds while the loop is alive.
    """

    def __init__(
        self,
        hub: Hearth,
        *,
        clock: Clock | None = None,
        ack_deadline: float = 2.0,
        lease: float = 30.0,
        poll_every: float = 1.0,
        max_attempts: int = 10,
        backoff: float = 1.0,
        max_backoff: float = 600.0,
        backlog_limit: int = BACKLOG_LIMIT,
    ) -> None:
        self.hub = hub
        self.clock = clock or SystemClock()
        """Wall time for leases and backoff (not the hub's clock, which tests may stop)."""
        self.ack_deadline = ack_deadline
        """Longest an acknowledged event may wait to be stored before `accept` refuses more."""
        self.lease = lease
        """How long an entry stays with the process handling it before others may take it."""
        self.poll_every = poll_every
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.backlog_limit = backlog_limit
        self.counts = Counts()
        self.heartbeat = time.monotonic()
        self.durable_seconds: deque[float] = deque(maxlen=10_000)
        """Recent windows between taking an event (its acknowledgement) and its commit."""
        self._appending: list[_Arrival] = []
        self._appender: asyncio.Task[None] | None = None
        self._ready: deque[_Entry] = deque()
        self._busy = 0
        self._handling: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._stopping = False
        self._refusing = False
        self._failing = False
        self._polled_at = float("-inf")

    @property
    def backlog(self) -> int:
        """Events accepted or stored and not yet handled here."""
        return len(self._appending) + len(self._ready) + self._busy

    # ------------------------------------------------------------ storing (before the ack)

    async def accept(self, event: Event) -> bool:
        """Take `event`: it is stored within milliseconds, with whatever else arrives meanwhile
        (one short transaction). False, taking nothing, when Hearth cannot store events now
        (the last attempt failed, or the oldest waiting event has waited `ack_deadline`) or
        its backlog is full: the platform must be told to deliver it again."""
        if self.backlog >= self.backlog_limit:
            if not self._refusing:
                log.warning("backlog full (%d events): refusing events", self.backlog)
            self._refusing = True
            self.counts.refused += 1
            return False
        self._refusing = False
        arrived = time.perf_counter()
        if self._failing or (
            self._appending and arrived - self._appending[0][1] > self.ack_deadline
        ):
            self.counts.refused += 1
            return False
        self._appending.append((event, arrived))
        if self._appender is None or self._appender.done():
            self._appender = asyncio.create_task(  # not the caller's context or transaction
                self._append_all(), name="journal-append", context=contextvars.Context()
            )
        return True

    async def flush(self, timeout: float | None = None) -> bool:
        """Wait until every event taken is stored; False if `timeout` ran out first."""
        appender = self._appender
        if appender is None or appender.done():
            return True
        try:
            await asyncio.wait_for(asyncio.shield(appender), timeout)
        except TimeoutError:
            log.error("%d acknowledged events are not stored yet", len(self._appending))
            return False
        return True

    async def _append_all(self) -> None:
        """Store what `accept` took, group by group; what fails is kept and tried again (it
        was acknowledged), while `accept` refuses new events until storing works again."""
        failures = 0
        while self._appending:
            group: list[_Arrival] = []
            try:
                async with self.hub.db.transaction(urgent=True) as session:
                    group = self._take()  # once it is our turn: all that arrived meanwhile
                    rows = [self._row(event) for event, _ in group]
                    new = await journal.append(session, rows)
            except STORAGE_ERRORS as error:
                self._appending[:0] = group  # not stored: first in line again
                if not self._failing:
                    log.error("cannot store events (%s): refusing new ones until it can", error)
                self._failing = True
                failures += 1
                await asyncio.sleep(min(1.0, 0.05 * 2**failures))
                continue
            if self._failing:
                log.warning("storing events again")
            self._failing, failures = False, 0
            self._queue(group, rows, new)

    def _take(self) -> list[_Arrival]:
        group = self._appending[:BATCH_LIMIT]
        del self._appending[:BATCH_LIMIT]
        return group

    def _row(self, event: Event) -> dict[str, Any]:
        now = self.clock.now()
        return {
            "key": _key(event),
            "platform": event.platform,
            "kind": event_codec.kind_of(event),
            "event": event_codec.encode(event),
            "received_at": now,
            "next_attempt_at": now + timedelta(seconds=self.lease),
        }

    def _queue(
        self, group: list[_Arrival], rows: list[dict[str, Any]], new: dict[str, int]
    ) -> None:
        """Queue the stored events for handling (`new`: the ids of new entries by key)."""
        durable = time.perf_counter()
        for (event, arrived), row in zip(group, rows, strict=True):
            entry = new.pop(row["key"], None)  # a second copy (a redelivery) is not handled
            if entry is not None:
                self._ready.append(_Entry(entry, event))
                self.counts.stored += 1
            else:
                self.counts.duplicates += 1
            self.durable_seconds.append(durable - arrived)
        self._wake.set()

    async def keep(self, event: Event, error: BaseException) -> bool:
        """Store an event whose handling failed while its sender waited (a click, a command),
        to be tried again after a backoff; False when it cannot be (a permanent failure, or
        the database is unavailable too)."""
        if isinstance(error, PermanentFailure):
            return False
        now = self.clock.now()
        row = {
            "key": _key(event),
            "platform": event.platform,
            "kind": event_codec.kind_of(event),
            "event": event_codec.encode(event),
            "received_at": now,
            "attempts": 1,
            "last_error": _describe(error),
            "next_attempt_at": now + timedelta(seconds=self._delay(1, error)),
        }
        try:
            async with self.hub.db.transaction() as session:
                await journal.append(session, [row])
        except STORAGE_ERRORS:
            log.exception("lost a %s event: it failed, and storing it failed too", row["kind"])
            return False
        log.warning("%s failed (%s): trying again later", row["kind"], row["last_error"])
        self.counts.retried += 1
        return True

    # ------------------------------------------------------------ handling (after the ack)

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Handle stored events until `stop()`; then hand back the leases of those left."""
        self._stopping = False
        try:
            while not self._stopping:
                self.heartbeat = time.monotonic()
                if self._ready:
                    await self._dispatch()
                    continue
                if time.monotonic() - self._polled_at >= self.poll_every:
                    self._polled_at = time.monotonic()
                    await self._claim_due()
                    if self._ready:
                        continue
                self._wake.clear()
                try:
                    async with asyncio.timeout(self.poll_every):
                        await self._wake.wait()
                except TimeoutError:
                    pass
        finally:
            if self._handling:
                await asyncio.wait(self._handling)
            await self.flush(self.ack_deadline)  # what was acknowledged: stored, for the next start
            await self._release()

    async def run_until_idle(self) -> None:
        """Store what was taken, handle what is stored and due now, then return (tests)."""
        await self.flush()
        self._polled_at = float("-inf")
        while True:
            if not self._ready:
                self._polled_at = time.monotonic()
                await self._claim_due()
                if not self._ready:
                    return
            await self._handle_next()

    async def _dispatch(self) -> None:
        """Hand the ready entries to the hub without waiting for them, so that what arrives
        meanwhile queues in the hub and joins its next batch (a few batches at most)."""
        while len(self._handling) >= (1 if self._storing else BATCHES_IN_FLIGHT):
            await asyncio.wait(self._handling, return_when=asyncio.FIRST_COMPLETED)
        await self._storing_first()
        handling = asyncio.create_task(self._handle(self._take_ready()), name="journal-batch")
        self._handling.add(handling)
        handling.add_done_callback(self._handling.discard)

    @property
    def _storing(self) -> bool:
        """Whether acknowledged events are arriving to be stored now."""
        return self._appender is not None and not self._appender.done()

    async def stored_first(self) -> None:
        """Wait while acknowledged events arrive to be stored, HANDLING_DELAY seconds at most:
        other work that takes SQLite's one writer (a scheduled job) lets them go first."""
        if self._storing:
            assert self._appender is not None
            await asyncio.wait([self._appender], timeout=HANDLING_DELAY)

    async def _storing_first(self) -> None:
        """Storing goes before handling: acknowledged events must be durable within
        milliseconds, and on SQLite they wait for the one writer a handling batch holds. While
        events arrive, handling waits for the appender to be idle, until the oldest ready event
        has waited HANDLING_DELAY seconds; then it takes one small batch at a time."""
        while self._storing and self._ready:
            waited = time.monotonic() - self._ready[0].ready_at
            if waited >= HANDLING_DELAY:
                return
            assert self._appender is not None
            await asyncio.wait([self._appender], timeout=HANDLING_DELAY - waited)

    def _take_ready(self) -> list[_Entry]:
        limit = BUSY_BATCH if self._storing else BATCH_LIMIT
        batch = [self._ready.popleft() for _ in range(min(limit, len(self._ready)))]
        self._busy += len(batch)
        return batch

    async def _handle_next(self) -> None:
        await self._handle(self._take_ready())

    async def _handle(self, batch: list[_Entry]) -> None:
        try:
            outcomes = await self.hub.handle_stored([(e.id, e.event) for e in batch])
        finally:
            self._busy -= len(batch)
        failed = []
        for entry, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                failed.append((entry.id, entry.attempts, type(entry.event).__name__, outcome))
            elif outcome:
                self.counts.handled += 1
            else:
                self.counts.repeats += 1
        if failed:
            await self._record(failed)

    async def _record(self, failed: list[tuple[int, int, str, BaseException]]) -> None:
        """Note each failure (entry id, attempts before, event kind, error) on its entry: tried
        again after a backoff, or kept as a dead letter."""
        now = self.clock.now()
        notes = []
        for entry_id, attempts_before, kind, error in failed:
            attempts = attempts_before + 1
            description = _describe(error)
            if isinstance(error, PermanentFailure) or attempts >= self.max_attempts:
                retry_at = None
                self.counts.dead += 1
                log.error(
                    "event %d (%s) failed %d times, kept as a dead letter: %s",
                    entry_id,
                    kind,
                    attempts,
                    description,
                    exc_info=error,
                )
            else:
                retry_at = now + timedelta(seconds=self._delay(attempts, error))
                self.counts.retried += 1
                log.warning(
                    "event %d (%s) failed, trying again later: %s", entry_id, kind, description
                )
            notes.append((entry_id, attempts, description, retry_at))
        try:
            async with self.hub.db.transaction() as session:
                for entry_id, attempts, description, retry_at in notes:
                    await journal.record_failure(
                        session, entry_id, attempts=attempts, error=description, retry_at=retry_at
                    )
        except STORAGE_ERRORS as error:  # the entries come back when their lease runs out
            log.warning("could not record %d failures: %s", len(notes), error)

    async def _claim_due(self) -> None:
        now = self.clock.now()
        try:
            async with self.hub.db.transaction() as session:
                due = await journal.claim_due(
                    session,
                    now,
                    now + timedelta(seconds=self.lease),
                    BATCH_LIMIT,
                    list(self.hub.messengers),
                )
        except STORAGE_ERRORS as error:
            log.warning("could not look for events to handle: %s", error)
            return
        unreadable = []
        for row in due:
            try:
                event = event_codec.decode(row.kind, row.event)
            except (KeyError, TypeError, ValueError) as error:  # stored by another version
                unreadable.append((row.id, self.max_attempts, row.kind, error))
                continue
            self._ready.append(_Entry(row.id, event, row.attempts))
        if unreadable:
            await self._record(unreadable)

    async def _release(self) -> None:
        """Shutting down: entries still here may be taken at once by the next process."""
        left = [entry.id for entry in self._ready]
        self._ready.clear()
        if not left:
            return
        try:
            async with self.hub.db.transaction() as session:
                await journal.release(session, left, self.clock.now())
        except STORAGE_ERRORS as error:
            log.warning(
                "could not hand back %d events (their leases run out): %s", len(left), error
            )

    def _delay(self, attempts: int, error: BaseException) -> float:
        """Exponential backoff with jitter, and never before the platform said to try."""
        delay = min(self.max_backoff, self.backoff * 2 ** (attempts - 1))
        delay *= random.uniform(0.8, 1.2)
        if isinstance(error, RateLimited):
            delay = max(delay, error.retry_after)
        return delay


def _key(event: Event) -> str:
    """The journal key: a redelivery of a platform event finds its entry."""
    if event.event_id:
        return f"{event.platform}:{event.event_id}"
    return f"{event.platform}:local:{uuid.uuid4().hex}"


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"
