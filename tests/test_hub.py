"""The hub below the adapters: events waited for and events submitted, batches, failures, drain."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextvars import ContextVar

import pytest
from sqlalchemy import func, select

from hearth.handlers import build_registry
from hearth.handlers.context import Context, Defaults
from hearth.handlers.events import CommandInvoked, Event, MessagePosted
from hearth.handlers.hub import BATCH_LIMIT, Hearth
from hearth.storage.db import Database, insert_ignore
from hearth.storage.models import InboundEvent, Message
from tests.recording import RecordingMessenger, SettableClock
from tests.waiting import eventually

BOOM = "boom"
START = SettableClock().now()


class Boom(Exception):
    """What the test listener raises for a message whose text is BOOM."""


async def explode_on_boom(context: Context, event: MessagePosted) -> None:
    if event.text == BOOM:
        raise Boom(event.message_id)


@pytest.fixture
async def hub(db: Database) -> Hearth:
    clock = SettableClock()
    registry = build_registry()
    registry.on(MessagePosted)(explode_on_boom)
    hearth = Hearth(db, registry, {"test": RecordingMessenger()}, clock, Defaults(secret=b"s" * 32))
    setup = CommandInvoked(
        platform="test", workspace="T", channel="C", user="U1", at=clock.now(), text="setup Hub"
    )
    assert await hearth.handle(setup)
    return hearth


def message(n: int, text: str = "hello", event_id: str | None = None) -> MessagePosted:
    return MessagePosted(
        platform="test",
        workspace="T",
        channel="C",
        user=f"U{n % 3}",
        at=SettableClock().now(),
        event_id=event_id or f"Ev{n}",
        message_id=f"1.{n}",
        text=text,
    )


def observe(hub: Hearth) -> dict[str | None, list[bool | BaseException]]:
    seen: dict[str | None, list[bool | BaseException]] = {}
    hub.observers.append(lambda event, outcome: seen.setdefault(event.event_id, []).append(outcome))
    return seen


async def stored(db: Database) -> set[str]:
    async with db.transaction() as session:
        return set(await session.scalars(select(Message.message_id)))


async def test_submitted_events_are_handled_once_each_and_drain_waits(
    hub: Hearth, db: Database
) -> None:
    seen = observe(hub)
    events = [message(n) for n in range(BATCH_LIMIT + 50)]  # more than one batch
    for event in [*events, message(7)]:  # Ev7 delivered twice
        hub.submit(event)
    assert await hub.drain(30)
    assert await stored(db) == {e.message_id for e in events}
    assert seen.pop("Ev7") == [True, False]
    assert all(outcomes == [True] for outcomes in seen.values())
    assert (hub.counts.handled, hub.counts.repeats, hub.counts.failed) == (
        1 + len(events),  # with /cop setup
        1,
        0,
    )


async def test_one_bad_event_does_not_cost_the_others(
    hub: Hearth, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    seen = observe(hub)
    waited = [message(n) for n in range(10)]
    submitted = [message(n) for n in range(10, 20)]
    bad_waited, bad_submitted = message(98, BOOM), message(99, BOOM)
    hub.submit(bad_submitted)
    for event in submitted:
        hub.submit(event)
    outcomes = await asyncio.gather(
        *(hub.handle(event) for event in [*waited, bad_waited]), return_exceptions=True
    )
    assert await hub.drain(30)

    assert outcomes[:-1] == [True] * len(waited)
    assert isinstance(outcomes[-1], Boom)  # whoever waits gets the error
    assert await stored(db) == {e.message_id for e in waited + submitted}
    assert isinstance(seen["Ev99"][0], Boom)
    assert hub.counts.failed == 2
    assert any(
        r.levelno == logging.ERROR and "submitted event failed" in r.getMessage()
        for r in caplog.records
    )  # nobody waits for a submitted event: its failure is logged
    async with db.transaction() as session:  # the failed events left no trace: a retry may work
        recorded = set(await session.scalars(select(InboundEvent.event_id)))
    assert {"Ev98", "Ev99"}.isdisjoint(recorded)


class _RollBack(Exception):
    """Ends `writer_held`'s transaction without committing it."""


@contextlib.asynccontextmanager
async def writer_held(db: Database, *event_ids: str) -> AsyncIterator[None]:
    """Another task's transaction that a batch with these events must wait for, rolled back
    when the block ends: on SQLite it holds the writer; on PostgreSQL, the events' rows."""
    holding, release = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        with contextlib.suppress(_RollBack):
            async with db.transaction() as session:
                for event_id in event_ids:
                    row = {"platform": "test", "event_id": event_id, "received_at": START}
                    await insert_ignore(session, InboundEvent, row)
                holding.set()
                await release.wait()
                raise _RollBack

    holder = asyncio.create_task(hold())
    await holding.wait()
    try:
        yield
    finally:
        release.set()
        await holder


async def test_drain_reports_events_still_running(hub: Hearth, db: Database) -> None:
    async with writer_held(db, "Ev1"):
        hub.submit(message(1))
        assert not await hub.drain(0.05)
    assert await hub.drain(30)
    assert await stored(db) == {"1.1"}


async def test_shutdown_mid_batch_answers_everyone_and_counts_the_loss(
    hub: Hearth, db: Database
) -> None:
    seen = observe(hub)
    async with writer_held(db, "Ev1", "Ev2"):  # the batch waits; then the server stops
        waiting = asyncio.ensure_future(hub.handle(message(1)))
        hub.submit(message(2))
        batcher = hub._batcher
        assert batcher is not None
        await eventually(lambda: not hub._waiting, what="the batch to start")
        batcher.cancel()
        with pytest.raises(asyncio.CancelledError):
            await batcher
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert await hub.drain(1)  # nothing left in flight
    assert hub.counts.failed == 2
    assert set(seen) == {"Ev1", "Ev2"}
    async with db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Message)) == 0


async def test_events_waited_for_and_submitted_agree(hub: Hearth, db: Database) -> None:
    """A repeat is a repeat whichever way it came in."""
    first: Event = message(5)
    hub.submit(first)
    assert await hub.drain(30)
    assert await hub.handle(message(5)) is False
    assert hub.counts.repeats == 1


async def test_an_event_handled_alone_stays_in_the_callers_context(
    hub: Hearth, db: Database
) -> None:
    """A Teams turn lives in the request's context; a shared batch runs in a task of its own."""
    turn: ContextVar[str | None] = ContextVar("turn", default=None)
    seen: list[str | None] = []

    async def remember_turn(context: Context, event: MessagePosted) -> None:
        seen.append(turn.get())

    hub.registry.on(MessagePosted)(remember_turn)
    turn.set("this request")
    assert await hub.handle(message(1), alone=True)
    assert await hub.handle(message(2))
    assert seen == ["this request", None]


async def test_a_full_backlog_refuses_and_recovers(
    hub: Hearth, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    hub.backlog_limit = 2
    taken = [hub.submit(message(n)) for n in range(4)]  # none handled yet: no await between
    assert taken == [True, True, False, False]
    assert hub.counts.refused == 2
    assert [r.getMessage() for r in caplog.records].count(
        "backlog full (2 events): refusing events"
    ) == 1  # said once, not per event
    assert await hub.drain(30)
    assert await stored(db) == {"1.0", "1.1"}
    assert hub.submit(message(9))  # room again
    assert await hub.drain(30)


async def test_two_replicas_given_the_same_events_handle_each_once(
    hub: Hearth, database_url: str
) -> None:
    """Slack retries to another replica: the same events, in opposite orders and concurrent
    batches, are each handled once across the two."""
    other_db = Database(database_url)
    other = Hearth(
        other_db, build_registry(), {"test": RecordingMessenger()}, SettableClock(), Defaults()
    )
    try:
        seen = observe(hub)
        seen_there = observe(other)
        events = [message(n) for n in range(300)]
        for event in events:
            hub.submit(event)
        for event in reversed(events):
            other.submit(event)
        assert await hub.drain(60) and await other.drain(60)
        for event in events:
            outcomes = seen[event.event_id] + seen_there[event.event_id]
            assert sorted(outcomes, key=str) == [False, True], (event.event_id, outcomes)
        assert await stored(hub.db) == {e.message_id for e in events}
    finally:
        await other_db.close()
