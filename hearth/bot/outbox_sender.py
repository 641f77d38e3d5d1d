"""Delivers the outbox: once each, paced per conversation, retried until the platform takes it.

Several senders (one per process, several processes) may share one database. A sender leases
each message it takes (`claimed_by`, `lease_until`) and renews the lease while it works; a
message whose lease runs out (its sender crashed or lost the database) is taken over by any
sender, which first looks on the platform for the earlier attempt. Each conversation's pace
lives in the database too. Every message is handled on its own: whatever goes wrong with one is
recorded on it (attempts, last error, next try with backoff), and after `max_attempts` (at once
for a permanent error) it becomes a dead letter (`failed`) while the others go on. A database
outage pauses the loop, which then resumes by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from hearth.handlers import build_registry, policy
from hearth.handlers.cards import Card
from hearth.handlers.events import MessageRef
from hearth.handlers.ports import (
    Clock,
    Messenger,
    PermanentFailure,
    RateLimited,
    Target,
    TemporaryFailure,
)
from hearth.storage import outbox
from hearth.storage.db import Database
from hearth.storage.models import Member, OutboxMessage

log = logging.getLogger(__name__)

FIRST_BACKOFF = 2.0
MAX_BACKOFF = 900.0
IDLE_POLL = 30.0
HEARTBEAT_EVERY = 3.0
"""The loop looks at least this often (seconds), and so `heartbeat` moves while it is healthy."""
MAX_ATTEMPTS = 16
"""Failed attempts (platform errors) before a message is a dead letter: about two hours."""
MAX_BUG_ATTEMPTS = 3
"""Attempts that raised something unexpected (a bug) before the message is a dead letter."""
LEASE = 60.0
OUTAGE_BACKOFF = (0.5, 1.0, 2.0, 3.0)
"""Seconds between passes while the database is unreachable (then the last, until it is back)."""
PACING_KEPT = timedelta(hours=1)

DATABASE_ERRORS = (SQLAlchemyError, OSError)
"""What an unreachable or failing database raises (asyncpg's refused connection is an OSError)."""


@dataclass
class SenderCounts:
    """What the sender did since it started (for /metrics)."""

    sent: int = 0
    found_landed: int = 0
    """Retries that found the earlier attempt on the platform, so sent nothing again."""
    retried: int = 0
    """Attempts that failed and were put back with backoff."""
    rate_limited: int = 0
    deferred: int = 0
    skipped: int = 0
    dead_lettered: int = 0
    leases_lost: int = 0
    """Outcomes that could not be recorded because another sender had taken the message over."""
    database_errors: int = 0
    passes: int = 0


@dataclass(frozen=True)
class _Outcome:
    """How one attempt ended: the columns to write, and how to count it."""

    values: dict[str, Any]
    counter: str
    attempted: bool = True
    hold_until: datetime | None = None
    """Keep the conversation's other messages back until then (the platform asked to wait)."""


class OutboxSender:
    """Takes due outbox rows and sends them through each platform's Messenger."""

    def __init__(
        self,
        db: Database,
        messengers: Mapping[str, Messenger],
        clock: Clock,
        *,
        batch: int = 100,
        concurrency: int = 8,
        jitter: Callable[[], float] = random.random,
        lease: float = LEASE,
        max_attempts: int = MAX_ATTEMPTS,
        max_bug_attempts: int = MAX_BUG_ATTEMPTS,
        name: str | None = None,
        kinds: Mapping[str, policy.Kind] | None = None,
    ) -> None:
        """`kinds`: the outbox kinds the features declared (by default, every feature's)."""
        self.db = db
        self.kinds = build_registry().outbox_kinds if kinds is None else kinds
        self.messengers = messengers
        self.clock = clock
        self.batch = batch
        self.jitter = jitter
        self.lease = timedelta(seconds=lease)
        self.max_attempts = max_attempts
        self.max_bug_attempts = max_bug_attempts
        self.name = name or f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        """Who holds this sender's leases: unique per sender, so per process."""
        self.counts = SenderCounts()
        self.heartbeat = time.monotonic()
        """`time.monotonic()` when the loop last did its work; it stops moving when it stalls."""
        self._gate = asyncio.Semaphore(concurrency)
        self._held: set[int] = set()
        self._unrecorded: dict[int, _Outcome] = {}
        self._paced_until: datetime | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self.heartbeat = time.monotonic()
        """When the loop last showed a sign of life (read by the supervisor)."""

    def wake(self) -> None:
        """Something new was written: look now rather than at the next poll."""
        self._wake.set()

    async def deliver_due(self) -> int:
        """One pass over what is due now; returns how many messages were attempted."""
        await self._record_unrecorded()
        now = self.clock.now()
        self._paced_until = None
        async with self.db.transaction() as session:
            rows = await outbox.due(session, now, self.batch, list(self.messengers))
        queues: dict[tuple[str, str, str], list[OutboxMessage]] = {}
        for row in rows:
            queues.setdefault(_conversation(row), []).append(row)
        results = await asyncio.gather(
            *(self._drain(q) for q in queues.values()), return_exceptions=True
        )
        self.counts.passes += 1
        for result in results:
            if isinstance(result, BaseException):
                raise result  # a database error: every other conversation finished first
        return sum(r for r in results if isinstance(r, int))

    async def run(self) -> None:
        """Deliver until `stop()`: sleep until the next due time or a wake-up, and ride out
        database outages (the loop backs off and resumes by itself)."""
        renewing = asyncio.create_task(self._renew_leases(), name="outbox-leases")
        outages = 0
        try:
            while not self._stopping:
                self._wake.clear()
                try:
                    await self.deliver_due()
                    delay = await self._seconds_until_next()
                    if outages:
                        log.warning("outbox sender: the database is back")
                    outages = 0
                    self.heartbeat = time.monotonic()
                except DATABASE_ERRORS as error:
                    self.counts.database_errors += 1
                    delay = OUTAGE_BACKOFF[min(outages, len(OUTAGE_BACKOFF) - 1)]
                    outages += 1
                    log.warning(
                        "outbox sender: database unavailable (%s); again in %ss", error, delay
                    )
                if not self._stopping:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), min(delay, HEARTBEAT_EVERY))
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing

    def stop(self) -> None:
        """Finish the messages in hand, then return from `run()`."""
        self._stopping = True
        self._wake.set()

    async def _seconds_until_next(self) -> float:
        now = self.clock.now()
        async with self.db.transaction() as session:
            due = await outbox.next_due(session, list(self.messengers))
        times = [t for t in (due, self._paced_until) if t is not None and t > now]
        if due is not None and due <= now:
            times.append(now + timedelta(milliseconds=50))
        if not times:
            return IDLE_POLL
        return max(0.0, min(IDLE_POLL, (min(times) - now).total_seconds()))

    async def _renew_leases(self) -> None:
        """Keep the leases of messages in hand alive, so a slow send is not taken over."""
        interval = self.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(interval)
            try:
                async with self.db.transaction() as session:
                    await outbox.renew(
                        session, set(self._held), self.name, self.clock.now() + self.lease
                    )
                    await outbox.prune_pacing(session, self.clock.now() - PACING_KEPT)
            except DATABASE_ERRORS as error:
                log.warning("outbox sender: could not renew leases (%s)", error)

    async def _drain(self, rows: list[OutboxMessage]) -> int:
        """Send one conversation's rows in order, as fast as its pace allows."""
        attempted = 0
        async with self._gate:
            for row in rows:
                outcome = await self._attempt(row)
                self.heartbeat = time.monotonic()
                if outcome is None:  # paced, or another sender has it
                    break
                if outcome.attempted:
                    attempted += 1
                if outcome.hold_until is not None:
                    break
        return attempted

    async def _attempt(self, row: OutboxMessage) -> _Outcome | None:
        """Claim, deliver and record one row; None when it could not be claimed now."""
        messenger = self.messengers[row.platform]
        interval = timedelta(seconds=messenger.min_send_interval)
        try:
            async with self.db.transaction() as session:
                claimed = await outbox.claim(
                    session,
                    row.id,
                    self.clock.now(),
                    sender=self.name,
                    lease=self.lease,
                    interval=interval,
                )
        except outbox.Paced as paced:
            if self._paced_until is None or paced.until < self._paced_until:
                self._paced_until = paced.until
            return None
        if claimed is None:
            return None
        self._held.add(row.id)
        try:
            try:
                outcome = await self._outcome(messenger, row, claimed)
            except DATABASE_ERRORS:  # put it back as soon as the database answers again
                self._unrecorded[row.id] = _Outcome(
                    {
                        "status": outbox.PENDING,
                        "due_at": self.clock.now(),
                        "last_error": "interrupted: the database failed",
                        "in_doubt": True,
                    },
                    "retried",
                )
                raise
            await self._record(row, outcome)
        finally:
            self._held.discard(row.id)
        return outcome

    async def _outcome(
        self, messenger: Messenger, row: OutboxMessage, claimed: outbox.Claim
    ) -> _Outcome:
        """Deliver a claimed row; any failure becomes an outcome (database errors excepted)."""
        before = {"attempts": claimed.attempts - 1, "in_doubt": claimed.retry}
        if claimed.failures >= self.max_attempts:  # it keeps ending its senders (a crash?)
            return self._dead(f"abandoned by its senders ({claimed.failures} failures)")
        if row.target_kind == "dm":
            try:
                decision = await self._policy(row)
            except DATABASE_ERRORS:
                raise
            except policy.UnknownKind as error:
                return self._dead(f"UnknownKind: {error}")
            except Exception as error:  # a bug in the policy for this one message: isolate it
                log.exception("outbox %s: the member policy raised", row.key)
                return self._again(
                    row, claimed, f"{type(error).__name__}: {error}", self.max_bug_attempts
                )
            if decision is not None:
                if decision.action == "drop":
                    values = {"status": outbox.SKIPPED, "last_error": decision.reason}
                    return _Outcome({**values, "in_doubt": False}, "skipped")
                return _Outcome(
                    {
                        "status": outbox.PENDING,
                        "due_at": decision.until,
                        "last_error": f"deferred: {decision.reason}",
                        **before,
                    },
                    "deferred",
                )
        try:
            card = Card.from_json(claimed.card)
        except (KeyError, TypeError, ValueError) as error:
            log.error("outbox %s: its card cannot be read (%r): a dead letter", row.key, error)
            return self._dead(f"unreadable card: {type(error).__name__}: {error}")
        target = Target(row.target_kind, row.target_id, row.thread)  # type: ignore[arg-type]
        try:
            ref = await self._landed(messenger, row, target, claimed)
            found = ref is not None
            if ref is None:
                ref = await _deliver(messenger, row.workspace, target, card, claimed.tag)
        except RateLimited as error:
            retry_at = self.clock.now() + timedelta(seconds=error.retry_after)
            values = {"status": outbox.PENDING, "due_at": retry_at, "last_error": str(error)}
            values |= {"in_doubt": claimed.retry}
            return _Outcome(values, "rate_limited", False, hold_until=retry_at)
        except TemporaryFailure as error:
            return self._again(row, claimed, str(error), self.max_attempts)
        except PermanentFailure as error:
            log.error("outbox %s failed for good: %s", row.key, error.code)
            return self._dead(error.code)
        except DATABASE_ERRORS:  # the messenger's own lookups (remembered DMs): an outage
            raise
        except Exception as error:  # a bug while delivering this one message: isolate it
            log.exception("outbox %s: delivery raised", row.key)
            return self._again(
                row, claimed, f"{type(error).__name__}: {error}", self.max_bug_attempts
            )
        values = {
            "status": outbox.SENT,
            "sent_at": self.clock.now(),
            "sent_conversation": ref.conversation,
            "sent_message_id": ref.message_id,
            "last_error": None,
            "in_doubt": False,
        }
        return _Outcome(values, "found_landed" if found else "sent")

    async def _policy(self, row: OutboxMessage) -> policy.Decision | None:
        """The member policy at send time; None to send. A policy that raises fails the row
        like any bug (it is recorded, retried a few times, then dead-lettered)."""
        async with self.db.transaction() as session:
            member = await _recipient(session, row)
            decision = await policy.check(
                session, self.kinds, row.kind, member, self.clock.now(), row_id=row.id
            )
        return None if decision.action == "send" else decision

    def _again(self, row: OutboxMessage, claimed: outbox.Claim, error: str, limit: int) -> _Outcome:
        """A failed attempt: back off and try again, or a dead letter past `limit` attempts."""
        failures = claimed.failures + 1
        if failures >= limit:
            log.error("outbox %s: %d attempts failed (last: %s)", row.key, failures, error)
            return self._dead(error, failures)
        backoff = min(MAX_BACKOFF, FIRST_BACKOFF * 2 ** (failures - 1))
        backoff *= 0.5 + self.jitter()
        log.warning(
            "outbox %s attempt %d failed (%s); retrying in %.1fs",
            row.key,
            claimed.attempts,
            error,
            backoff,
        )
        retry_at = self.clock.now() + timedelta(seconds=backoff)
        values = {"status": outbox.PENDING, "due_at": retry_at, "last_error": error}
        return _Outcome(values | {"failures": failures}, "retried")

    @staticmethod
    def _dead(error: str, failures: int | None = None) -> _Outcome:
        values: dict[str, Any] = {"status": outbox.FAILED, "last_error": error}
        return _Outcome(
            values | ({} if failures is None else {"failures": failures}), "dead_lettered"
        )

    async def _landed(
        self, messenger: Messenger, row: OutboxMessage, target: Target, claimed: outbox.Claim
    ) -> MessageRef | None:
        """After an attempt whose outcome is unknown (a timeout, a 5xx, a crash mid-send): the
        post, if that attempt did land. An update in place is safe to repeat, so not looked for."""
        if not claimed.retry or target.kind == "update":
            return None
        try:
            found = await messenger.find_posted(row.workspace, target, claimed.tag)
        except PermanentFailure as error:  # cannot look (a missing scope?): send, not lose
            log.warning("outbox %s: cannot look for an earlier attempt (%s)", row.key, error.code)
            return None
        if found is not None:
            log.info("outbox %s had landed on an earlier attempt", row.key)
        return found

    async def _record(self, row: OutboxMessage, outcome: _Outcome) -> None:
        """Write the outcome; if the database fails now, keep it to write on the next pass."""
        setattr(self.counts, outcome.counter, getattr(self.counts, outcome.counter) + 1)
        try:
            await self._write(row.id, _conversation(row), outcome)
        except DATABASE_ERRORS:
            self._unrecorded[row.id] = outcome
            raise

    async def _write(
        self, row_id: int, conversation: tuple[str, str, str], outcome: _Outcome
    ) -> None:
        async with self.db.transaction() as session:
            if not await outbox.finish(session, row_id, sender=self.name, **outcome.values):
                self.counts.leases_lost += 1
                log.warning("outbox row %d was taken over before its outcome was kept", row_id)
            if outcome.hold_until is not None:
                await outbox.hold_conversation(session, conversation, outcome.hold_until)

    async def _record_unrecorded(self) -> None:
        """Outcomes a database outage kept from being written (a sent message must say so)."""
        for row_id, outcome in list(self._unrecorded.items()):
            async with self.db.transaction() as session:
                if not await outbox.finish(session, row_id, sender=self.name, **outcome.values):
                    self.counts.leases_lost += 1
            del self._unrecorded[row_id]


async def _deliver(
    messenger: Messenger, workspace: str, target: Target, card: Card, tag: str
) -> MessageRef:
    if target.kind == "update" and target.thread:
        ref = MessageRef(target.id, target.thread)
        await messenger.update(workspace, ref, card)
        return ref
    return await messenger.post(workspace, target, card, tag)


async def _recipient(session: AsyncSession, row: OutboxMessage) -> Member | None:
    """The member a DM row is for: by its member id, else by the platform id it targets."""
    if row.member_id is not None:
        return await session.get(Member, row.member_id)
    return await session.scalar(
        select(Member).where(
            Member.platform == row.platform,
            Member.workspace == row.workspace,
            Member.user_id == row.target_id,
        )
    )


def _conversation(row: OutboxMessage) -> tuple[str, str, str]:
    return (row.platform, row.workspace, f"{row.target_kind}:{row.target_id}")
