"""The hub below the adapters: events waited for and events from the journal, batches, failures,
drain."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextvars import ContextVar
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from hearth.handlers import build_registry
from hearth.handlers.context import Context, Defaults
from hearth.handlers.events import CommandInvoked, Event, MemberJoined, MessagePosted
from hearth.handlers.hub import BATCH_LIMIT, Hearth
from hearth.handlers.intake import EventJournal
from hearth.handlers.ports import Profile, RateLimited
from hearth.storage.db import Database, insert_ignore
from hearth.storage.models import (
    DueJob,
    InboundEvent,
    JournalEntry,
    Member,
    Membership,
    Message,
    Question,
    ThreadActivity,
)
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


async def accept_all(journal: EventJournal, events: list[Event]) -> None:
    assert all(await asyncio.gather(*(journal.accept(event) for event in events)))


async def test_stored_events_are_handled_once_each(hub: Hearth, db: Database) -> None:
    seen = observe(hub)
    journal = EventJournal(hub)
    events = [message(n) for n in range(BATCH_LIMIT + 50)]  # more than one batch
    await accept_all(journal, events)
    await journal.run_until_idle()
    await accept_all(journal, [message(7)])  # Ev7 delivered again once handled
    await journal.run_until_idle()
    assert await stored(db) == {e.message_id for e in events}
    assert seen.pop("Ev7") == [True, False]
    assert all(outcomes == [True] for outcomes in seen.values())
    assert (hub.counts.handled, hub.counts.repeats, hub.counts.failed) == (
        1 + len(events),  # with /cop setup
        1,
        0,
    )
    assert (journal.counts.stored, journal.counts.handled, journal.counts.repeats) == (
        len(events) + 1,
        len(events),
        1,
    )
    async with db.transaction() as session:  # handled entries leave the journal
        assert await session.scalar(select(func.count()).select_from(JournalEntry)) == 0


async def test_one_bad_event_does_not_cost_the_others(hub: Hearth, db: Database) -> None:
    seen = observe(hub)
    journal = EventJournal(hub)
    waited = [message(n) for n in range(10)]
    stored_first = [message(n) for n in range(10, 20)]
    bad_waited, bad_stored = message(98, BOOM), message(99, BOOM)
    await accept_all(journal, [bad_stored, *stored_first])
    outcomes, _ = await asyncio.gather(
        asyncio.gather(
            *(hub.handle(event) for event in [*waited, bad_waited]), return_exceptions=True
        ),
        journal.run_until_idle(),
    )
    assert outcomes[:-1] == [True] * len(waited)
    assert isinstance(outcomes[-1], Boom)  # whoever waits gets the error
    assert await stored(db) == {e.message_id for e in waited + stored_first}
    assert isinstance(seen["Ev99"][0], Boom)
    assert hub.counts.failed == 2
    assert journal.counts.retried == 1  # the stored one is kept, to be tried again
    async with db.transaction() as session:  # the failed events left no trace: a retry may work
        recorded = set(await session.scalars(select(InboundEvent.event_id)))
        [entry] = await session.scalars(select(JournalEntry))
    assert {"Ev98", "Ev99"}.isdisjoint(recorded)
    assert (entry.key, entry.attempts, entry.status) == ("test:Ev99", 1, "pending")
    assert entry.last_error == "Boom: 1.99"


async def test_a_batch_of_channel_messages_runs_as_many_statements_however_long(
    hub: Hearth, db: Database
) -> None:
    """What each channel message leaves (the message, its thread's counters, its poster's post
    facts, a noticed question and the job that routes it, a reply's question looked up) is
    written or read for the whole batch at once: 60 messages run no more statements than 6."""

    def batch(first: int, size: int) -> list[Event]:
        """A story, a question, a reply to the first story, a story, a question, …"""
        kinds = [message(n, "we ran the retro today") for n in range(first, first + size)]
        for n, event in enumerate(kinds, start=first):
            if n % 3 == 1:
                kinds[n - first] = replace(event, text="how do you run retros with remote teams?")
            elif n % 3 == 2:
                kinds[n - first] = replace(event, thread_id="1.1000")
        return kinds

    async def handled(events: list[Event]) -> None:
        assert await asyncio.gather(*map(hub.handle, events)) == [True] * len(events)

    async def statements(events: list[Event]) -> int:
        ran = 0

        def count(*_: object) -> None:
            nonlocal ran
            ran += 1

        sa_event.listen(db.engine.sync_engine, "before_cursor_execute", count)
        try:
            await handled(events)
        finally:
            sa_event.remove(db.engine.sync_engine, "before_cursor_execute", count)
        return ran

    stories = [message(n, "a story") for n in range(1000, 1006)]
    await handled(stories)  # everyone has met Hearth and posted before
    short, long = await statements(batch(2000, 6)), await statements(batch(3000, 60))
    assert long <= short, (short, long)
    async with db.transaction() as session:
        noticed = await session.scalar(select(func.count()).select_from(Question))
        routing = await session.scalar(
            select(func.count()).select_from(DueJob).where(DueJob.kind == "question.start")
        )
        replied = await session.get(ThreadActivity, (1, "1.1000"))
    assert (noticed, routing) == (2 + 20, 2 + 20)
    assert replied is not None and (replied.replies, replied.participants) == (2 + 20, 2)


async def test_thread_counters_written_per_batch_count_each_message_once(
    hub: Hearth, db: Database
) -> None:
    """Replies and distinct participants per thread, whether a thread's messages arrive in one
    batch or in several, a new face counted once however often it replies."""
    clock = SettableClock()

    def post(n: int, user: str, thread: str | None = None, minutes: int = 0) -> MessagePosted:
        return MessagePosted(
            platform="test",
            workspace="T",
            channel="C",
            user=user,
            at=clock.now() + timedelta(minutes=minutes),
            event_id=f"Ev{n}",
            message_id=f"2.{n}",
            thread_id=thread,
            text="a story",
        )

    first = [
        post(1, "U1"),
        post(2, "U2", "2.1", 1),
        post(3, "U2", "2.1", 2),
        post(4, "U1", "2.1", 3),
        post(5, "U3"),
    ]
    assert await asyncio.gather(*map(hub.handle, first)) == [True] * len(first)
    later = [post(6, "U3", "2.1", 9), post(7, "U2", "2.1", 5), post(8, "U3", "2.5", 4)]
    assert await asyncio.gather(*map(hub.handle, later)) == [True] * len(later)
    async with db.transaction() as session:
        counted = {
            t.thread_id: (t.replies, t.participants, naive(t.started_at), naive(t.last_at))
            for t in await session.scalars(select(ThreadActivity))
        }
    start = naive(clock.now())
    assert counted == {
        "2.1": (5, 3, start, start + timedelta(minutes=9)),
        "2.5": (1, 1, start, start + timedelta(minutes=4)),
    }


def naive(moment: datetime) -> datetime:
    """A UTC time as SQLite gives it back (PostgreSQL keeps the zone)."""
    return moment.replace(tzinfo=None)


async def test_other_work_lets_acknowledged_events_be_stored_first(hub: Hearth) -> None:
    journal = EventJournal(hub)
    assert await journal.accept(message(1))
    assert journal.counts.stored == 0
    await journal.stored_first()  # what a scheduled job awaits before taking the writer
    assert journal.counts.stored == 1


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
        waiting = asyncio.ensure_future(hub.handle(message(1)))
        assert not await hub.drain(0.05)
    assert await hub.drain(30)
    assert await waiting
    assert await stored(db) == {"1.1"}


async def test_shutdown_mid_batch_answers_everyone_and_counts_the_loss(
    hub: Hearth, db: Database
) -> None:
    seen = observe(hub)
    async with writer_held(db, "Ev1", "Ev2"):  # the batch waits; then the server stops
        waiting = asyncio.ensure_future(hub.handle(message(1)))
        other = asyncio.ensure_future(hub.handle(message(2)))
        await eventually(
            lambda: hub._in_flight == 2 and not hub._waiting, what="the batch to start"
        )
        batcher = hub._batcher
        assert batcher is not None
        batcher.cancel()
        with pytest.raises(asyncio.CancelledError):
            await batcher
    for caller in (waiting, other):
        with pytest.raises(asyncio.CancelledError):
            await caller
    assert await hub.drain(1)  # nothing left in flight
    assert hub.counts.failed == 2
    assert set(seen) == {"Ev1", "Ev2"}
    async with db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Message)) == 0


async def test_events_waited_for_and_submitted_agree(hub: Hearth, db: Database) -> None:
    """A repeat is a repeat whichever way it came in."""
    journal = EventJournal(hub)
    await accept_all(journal, [message(5)])
    await journal.run_until_idle()
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
    journal = EventJournal(hub, backlog_limit=2)
    taken = await asyncio.gather(*(journal.accept(message(n)) for n in range(4)))
    assert taken == [True, True, False, False]
    assert journal.counts.refused == 2
    assert [r.getMessage() for r in caplog.records].count(
        "backlog full (2 events): refusing events"
    ) == 1  # said once, not per event
    await journal.run_until_idle()
    assert await stored(db) == {"1.0", "1.1"}
    assert await journal.accept(message(9))  # room again
    await journal.run_until_idle()


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
        here, there = EventJournal(hub), EventJournal(other)
        for event in events:  # delivered to one, stored and handled, then to the other
            assert await here.accept(event)
        await here.run_until_idle()
        await asyncio.gather(  # and concurrently, in opposite orders
            here.run_until_idle(),
            accept_all(there, list(reversed(events))),
            there.run_until_idle(),
        )
        await there.run_until_idle()
        for event in events:
            outcomes = seen[event.event_id] + seen_there[event.event_id]
            assert sorted(outcomes, key=str) == [False, True], (event.event_id, outcomes)
        assert await stored(hub.db) == {e.message_id for e in events}
    finally:
        await other_db.close()


async def test_an_event_failing_while_its_sender_waits_is_kept_and_handled_later(
    hub: Hearth, db: Database
) -> None:
    """A Teams turn (`alone`) or a click whose profile lookup is rate limited: the caller is
    answered, the event is kept in the journal, and the journal's loop handles it later."""
    journal = EventJournal(hub, backoff=0.01, poll_every=0.01)
    hub.keep = journal.keep
    messenger = hub.messengers["test"]
    answer_later = messenger.profile
    refusals = 3

    async def rate_limited(workspace: str, user_id: str) -> Profile | None:
        nonlocal refusals
        if refusals:
            refusals -= 1
            raise RateLimited(0)
        return await answer_later(workspace, user_id)

    messenger.profile = rate_limited  # type: ignore[method-assign]
    joined = MemberJoined(platform="test", workspace="T", channel="C", user="U7", at=START)
    assert await hub.handle(joined, alone=True)  # kept: the platform hears it went well
    async with db.transaction() as session:
        [entry] = await session.scalars(select(JournalEntry))
        assert await session.scalar(select(func.count()).select_from(Membership)) == 1  # U1's
    assert (entry.kind, entry.attempts, entry.last_error) == (
        "MemberJoined",
        1,
        "RateLimited: rate limited, retry after 0s",
    )

    running = asyncio.create_task(journal.run())
    beat = journal.heartbeat
    try:
        await eventually(lambda: journal.counts.handled == 1, what="the kept event handled")
        await eventually(lambda: journal.heartbeat > beat, what="the heartbeat to move")
    finally:
        journal.stop()
        await running
    async with db.transaction() as session:
        names = set(await session.scalars(select(Member.name)))
        assert await session.scalar(select(func.count()).select_from(Membership)) == 2
        assert await session.scalar(select(func.count()).select_from(JournalEntry)) == 0
    assert "U7" in names  # its profile, asked once the limit had passed
    assert refusals == 0 and journal.counts.retried >= 1 and journal.counts.dead == 0
