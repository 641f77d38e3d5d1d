"""The outbox sender under faults: poison rows, a database outage, and a second replica.

Each runs on SQLite and on PostgreSQL; a "replica" is a second sender on its own engine (its
own connection pool), as a second process on the same database would be.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime

import pytest
from sqlalchemy import select

from hearth.bot.outbox_sender import MAX_BUG_ATTEMPTS, OutboxSender
from hearth.handlers.cards import Card
from hearth.handlers.events import MessageRef
from hearth.handlers.ports import Target
from hearth.storage import migrate, outbox
from hearth.storage.db import Database
from hearth.storage.models import OutboxMessage
from tests.db_outage import DatabaseOutage
from tests.recording import RecordingMessenger, SettableClock
from tests.waiting import eventually


@dataclass
class ScriptedMessenger(RecordingMessenger):
    """Records when each post went out; raises for channels in `raising`; the first `hold`
    posts wait for `release` (a slow platform); `on_post` runs as each post lands."""

    clock: SettableClock = field(default_factory=SettableClock)
    raising: set[str] = field(default_factory=set)
    hold: int = 0
    release: asyncio.Event = field(default_factory=asyncio.Event)
    waiting: int = 0
    times: list[tuple[datetime, str]] = field(default_factory=list)
    on_post: list[object] = field(default_factory=list)

    async def post(
        self, workspace: str, target: Target, card: Card, tag: str | None = None
    ) -> MessageRef:
        if target.id in self.raising:
            raise RuntimeError(f"a bug while sending to {target.id}")
        if self.hold > 0:
            self.hold -= 1
            self.waiting += 1
            await self.release.wait()
            self.waiting -= 1
        self.times.append((self.clock.now(), target.id))
        ref = await super().post(workspace, target, card, tag)
        for hook in self.on_post:
            hook()  # type: ignore[operator]
        return ref

    def posts_to(self, channel: str) -> int:
        return sum(1 for t, _ in self.posts if t.id == channel)


async def enqueue(db: Database, clock: SettableClock, key: str, channel: str, card: dict) -> None:
    async with db.transaction() as session:
        await outbox.enqueue(
            session,
            key=key,
            kind="test",
            platform="test",
            workspace="W1",
            target=Target("channel", channel),
            card=card,
            due_at=clock.now(),
            member_id=None,
            now=clock.now(),
        )


async def statuses(db: Database) -> dict[str, str]:
    async with db.transaction() as session:
        rows = await session.scalars(select(OutboxMessage))
        return {r.key: r.status for r in rows}


async def row(db: Database, key: str) -> OutboxMessage:
    async with db.transaction() as session:
        found = await session.scalar(select(OutboxMessage).where(OutboxMessage.key == key))
    assert found is not None
    return found


@pytest.fixture
async def replica(database_url: str, db: Database) -> AsyncIterator[Database]:
    """A second engine on the migrated database of `db`: another process's view of it."""
    other = Database(database_url)
    yield other
    await other.close()


async def test_poison_and_raising_rows_are_dead_lettered_while_the_rest_go_out(
    db: Database,
) -> None:
    clock = SettableClock()
    messenger = ScriptedMessenger(min_send_interval=0, clock=clock, raising={"C-bug"})
    for n in range(3):
        await enqueue(db, clock, f"ok{n}", f"C{n}", Card(f"fine {n}").to_json())
    await enqueue(db, clock, "poison", "C-poison", {"blocks": [{"type": "no such block"}]})
    await enqueue(db, clock, "raising", "C-bug", Card("boom").to_json())
    sender = OutboxSender(db, {"test": messenger}, clock, jitter=lambda: 0.5)
    running = asyncio.create_task(sender.run())

    async def settled() -> bool:
        clock.advance(seconds=30)
        sender.wake()
        return sorted((await statuses(db)).values()) == ["failed"] * 2 + ["sent"] * 3

    await eventually(settled, timeout=10, what="healthy rows sent, bad ones dead-lettered")
    assert not running.done()  # the loop lives on
    poison, raising = await row(db, "poison"), await row(db, "raising")
    assert (poison.failures, poison.last_error.split(":")[0]) == (0, "unreadable card")
    assert (raising.failures, raising.last_error) == (
        MAX_BUG_ATTEMPTS,
        "RuntimeError: a bug while sending to C-bug",
    )
    assert (sender.counts.sent, sender.counts.dead_lettered) == (3, 2)
    assert sender.counts.retried == MAX_BUG_ATTEMPTS - 1
    assert [messenger.posts_to(f"C{n}") for n in range(3)] == [1, 1, 1]

    await enqueue(db, clock, "later", "C9", Card("after the poison").to_json())
    sender.wake()
    await eventually(lambda: messenger.posts_to("C9") == 1, what="a later message")
    sender.stop()
    await asyncio.wait_for(running, 5)


async def test_a_database_outage_mid_delivery_pauses_the_sender_until_it_is_back(
    database_url: str,
) -> None:
    outage = DatabaseOutage(database_url)
    db = Database(await outage.start())
    await migrate.upgrade(db)
    outage.attach(db)
    clock = SettableClock()
    messenger = ScriptedMessenger(min_send_interval=0, clock=clock)
    channels = [f"C{n}" for n in range(10)]
    for channel in channels:
        await enqueue(db, clock, channel, channel, Card(channel).to_json())
    messenger.on_post.append(lambda: len(messenger.posts) == 3 and outage.begin())
    sender = OutboxSender(db, {"test": messenger}, clock, concurrency=1)
    running = asyncio.create_task(sender.run())
    try:
        # about 3.5 s down: the sender backs off 0.5, 1 and 2 s, looking each time
        await eventually(lambda: sender.counts.database_errors >= 4, 15, "a few seconds down")
        stalled = sender.heartbeat
        assert not running.done()
        assert len(messenger.posts) == 3

        await outage.end()
        await eventually(lambda: len(messenger.posts) == len(channels), 20, "every message")

        async def all_sent() -> bool:
            return set((await statuses(db)).values()) == {outbox.SENT}

        await eventually(all_sent, 10, "every row to be marked sent")
        assert [messenger.posts_to(c) for c in channels] == [1] * len(channels)
        assert sender.heartbeat > stalled
        assert not running.done()
    finally:
        sender.stop()
        await asyncio.wait_for(running, 10)
        outage.close()
        await db.close()


async def test_a_starting_replica_never_sends_what_a_live_one_is_sending(
    db: Database, replica: Database
) -> None:
    """A rolling deploy: the new process starts while the old one is mid-send."""
    clock = SettableClock()
    messenger = ScriptedMessenger(min_send_interval=0, clock=clock, hold=4)
    channels = [f"C{n}" for n in range(4)]
    for channel in channels:
        await enqueue(db, clock, channel, channel, Card(channel).to_json())
    old = OutboxSender(db, {"test": messenger}, clock)
    sending = asyncio.create_task(old.deliver_due())
    await eventually(lambda: messenger.waiting == 4, what="the old process to be mid-send")

    new = OutboxSender(replica, {"test": messenger}, clock)
    starting = asyncio.create_task(new.run())
    await eventually(lambda: new.counts.passes >= 2, what="the new process to look twice")
    new.stop()
    await asyncio.wait_for(starting, 5)
    messenger.release.set()
    assert await sending == 4

    assert [messenger.posts_to(c) for c in channels] == [1] * 4
    assert set((await statuses(db)).values()) == {outbox.SENT}
    assert new.counts.sent == 0


async def test_two_replicas_together_keep_one_channels_pace(
    db: Database, replica: Database
) -> None:
    clock = SettableClock()
    messenger = ScriptedMessenger(min_send_interval=1.0, clock=clock)
    for n in range(6):
        await enqueue(db, clock, f"m{n}", "C1", Card(f"m{n}").to_json())
    first = OutboxSender(db, {"test": messenger}, clock)
    second = OutboxSender(replica, {"test": messenger}, clock)
    for tick in range(40):  # the first replica looks first for 4.5 s, then the second does
        for sender in (first, second) if tick < 18 else (second, first):
            await sender.deliver_due()
        clock.advance(seconds=0.25)
    times = [t for t, _ in messenger.times]
    assert len(times) == 6
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 1.0, gaps
    assert first.counts.sent > 0 and second.counts.sent > 0  # both did send


async def test_the_heartbeat_moves_while_the_loop_is_idle(db: Database) -> None:
    sender = OutboxSender(db, {"test": RecordingMessenger()}, SettableClock())
    started = time.monotonic()
    running = asyncio.create_task(sender.run())
    await eventually(lambda: sender.counts.passes >= 2, 10, "a second (idle) pass")
    assert sender.heartbeat > started
    sender.stop()
    await asyncio.wait_for(running, 5)
