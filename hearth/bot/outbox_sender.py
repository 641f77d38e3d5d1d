"""Delivers the outbox: once each, paced per conversation, retried until the platform takes it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from hearth.handlers import policy
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
    ) -> None:
        self.db = db
        self.messengers = messengers
        self.clock = clock
        self.batch = batch
        self.jitter = jitter
        self._gate = asyncio.Semaphore(concurrency)
        self._next_slot: dict[tuple[str, str, str], datetime] = {}
        self._wake = asyncio.Event()
        self._stopping = False

    def wake(self) -> None:
        """Something new was written: look now rather than at the next poll."""
        self._wake.set()

    async def recover(self) -> int:
        """Put back rows a previous process claimed but never finished (call once at start)."""
        async with self.db.transaction() as session:
            released = await outbox.release_abandoned(session)
        if released:
            log.warning("re-queued %d outbox messages left mid-delivery", released)
        return released

    async def deliver_due(self) -> int:
        """One pass over what is due now; returns how many messages were attempted."""
        now = self.clock.now()
        async with self.db.transaction() as session:
            rows = await outbox.due(session, now, self.batch, list(self.messengers))
        queues: dict[tuple[str, str, str], list[OutboxMessage]] = {}
        for row in rows:
            queues.setdefault(_conversation(row), []).append(row)
        attempted = await asyncio.gather(*(self._drain(key, q) for key, q in queues.items()))
        return sum(attempted)

    async def run(self) -> None:
        """Deliver until `stop()`, sleeping until the next due time or a wake-up."""
        await self.recover()
        while not self._stopping:
            self._wake.clear()
            try:
                await self.deliver_due()
                delay = await self._seconds_until_next()
            except (SQLAlchemyError, OSError):  # the database is away: look again shortly
                log.warning("outbox: database error; trying again shortly", exc_info=True)
                delay = 1.0
            if not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay)

    def stop(self) -> None:
        """Finish the message in hand, then return from `run()`."""
        self._stopping = True
        self._wake.set()

    async def _seconds_until_next(self) -> float:
        now = self.clock.now()
        async with self.db.transaction() as session:
            due = await outbox.next_due(session, list(self.messengers))
        times = [t for t in (due, *self._next_slot.values()) if t is not None and t > now]
        if due is not None and due <= now:
            times.append(now + timedelta(milliseconds=50))
        if not times:
            return IDLE_POLL
        return max(0.0, min(IDLE_POLL, (min(times) - now).total_seconds()))

    async def _drain(self, key: tuple[str, str, str], rows: list[OutboxMessage]) -> int:
        """Send one conversation's rows in order, as fast as its platform allows."""
        attempted = 0
        async with self._gate:
            for row in rows:
                if self._next_slot.get(key, self.clock.now()) > self.clock.now():
                    break
                if not await self._send(key, row):
                    break
                attempted += 1
        return attempted

    async def _send(self, key: tuple[str, str, str], row: OutboxMessage) -> bool:
        """Attempt one row; False when the conversation should wait before the next."""
        async with self.db.transaction() as session:
            claimed = await outbox.claim(session, row.id, self.clock.now())
            if claimed is None:
                return True
            if row.target_kind == "dm":  # the member policy, at send time, for every DM
                member = await _recipient(session, row)
                decision = await policy.check(
                    session, row.kind, member, self.clock.now(), row_id=row.id
                )
                if decision.action == "drop":
                    await outbox.finish(
                        session, row.id, status=outbox.SKIPPED, last_error=decision.reason
                    )
                    return True
                if decision.action == "defer":
                    await outbox.finish(
                        session,
                        row.id,
                        status=outbox.PENDING,
                        due_at=decision.until,
                        attempts=row.attempts,
                        last_error=f"deferred: {decision.reason}",
                    )
                    return True
        messenger = self.messengers[row.platform]
        target = Target(row.target_kind, row.target_id, row.thread)  # type: ignore[arg-type]
        try:
            ref = await self._landed(messenger, row, target, claimed) or await _deliver(
                messenger, row.workspace, target, Card.from_json(claimed.card), claimed.tag
            )
        except RateLimited as error:
            retry_at = self.clock.now() + timedelta(seconds=error.retry_after)
            self._next_slot[key] = retry_at
            await self._finish(row, status=outbox.PENDING, due_at=retry_at, last_error=str(error))
            return False
        except TemporaryFailure as error:
            attempts = row.attempts + 1
            backoff = min(MAX_BACKOFF, FIRST_BACKOFF * 2 ** (attempts - 1)) * (0.5 + self.jitter())
            retry_at = self.clock.now() + timedelta(seconds=backoff)
            log.warning(
                "outbox %s attempt %d failed (%s); retrying in %.1fs",
                row.key,
                attempts,
                error,
                backoff,
            )
            await self._finish(row, status=outbox.PENDING, due_at=retry_at, last_error=str(error))
            return False
        except PermanentFailure as error:
            log.error("outbox %s failed for good: %s", row.key, error.code)
            await self._finish(row, status=outbox.FAILED, last_error=error.code)
            return True
        now = self.clock.now()
        self._next_slot[key] = now + timedelta(seconds=messenger.min_send_interval)
        await self._finish(
            row,
            status=outbox.SENT,
            sent_at=now,
            sent_conversation=ref.conversation,
            sent_message_id=ref.message_id,
            last_error=None,
        )
        return True

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

    async def _finish(self, row: OutboxMessage, **values: object) -> None:
        async with self.db.transaction() as session:
            await outbox.finish(session, row.id, **values)


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
