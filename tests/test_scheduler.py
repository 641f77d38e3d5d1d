"""The scheduler: recurring work declared in one line, fired once per period whatever happens
(restarts, a second process, a job that raises), and missed periods made up or skipped as the
job declares."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from hearth.handlers import build_registry
from hearth.handlers.cards import Card
from hearth.handlers.commands import Args, CommandError
from hearth.handlers.context import Context, Defaults
from hearth.handlers.events import CommandInvoked
from hearth.handlers.hub import Hearth
from hearth.handlers.jobs import JobDue, schedule
from hearth.handlers.ports import Target
from hearth.handlers.registry import Registry
from hearth.handlers.schedules import TimeError
from hearth.scheduler.firing import RetryPolicy
from hearth.scheduler.leader import SoleProcess
from hearth.scheduler.runner import SchedulerRunner
from hearth.scheduler.scheduler import Scheduler
from hearth.storage import migrate
from hearth.storage.db import Database
from hearth.storage.models import DueJob, JobFiring, OutboxMessage
from tests.console_helpers import expected, transcript
from tests.recording import RecordingMessenger, SettableClock
from tests.waiting import eventually

COMMON = {"platform": "test", "workspace": "W1", "channel": "C1"}
MONDAY = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
COMMUNITIES = ("community",)
"""The jobs of communities only (the daily per-platform prune aside)."""


def registry_with(
    failures: dict[str, int] | None = None, **declared: dict[str, object]
) -> Registry:
    """The real registry, with recurring jobs `declared` (name: registry.every options) instead
    of the features' own, a
    one-shot kind `test.say` (`/cop later <key> <seconds>`).

    Every run writes an outbox row under a fresh key, so a second run of anything shows as a
    second row. `failures[name]` (a one-shot's key or a job's kind): how many more runs raise
    before it works (-1: it always raises).
    """
    registry = build_registry()
    registry.recurring.clear()  # the features' own calendar would fire beside the test's jobs
    failing = failures if failures is not None else {}

    async def run(context: Context, job: JobDue) -> None:
        name = job.key if job.key in failing else job.kind
        left = failing.get(name, 0)
        if left:
            failing[name] = left - 1
            raise RuntimeError(f"{job.kind} is broken")
        period = job.period.isoformat() if job.period else ""
        await context.enqueue(
            f"{job.kind}|{period}|{uuid.uuid4().hex}", "test", Target("channel", "C1"), Card("x")
        )

    for name, options in declared.items():
        rule = str(options.pop("rule", "daily 09:00"))
        registry.every(name, rule, **options)(run)  # type: ignore[arg-type]
    registry.job("test.say")(run)

    @registry.command("later", "<key> <seconds>", summary="test")
    async def later(context: Context, args: Args) -> None:
        key, seconds = args.tokens
        due = context.now() + timedelta(seconds=int(seconds))
        await schedule(context, key, "test.say", due, {})

    return registry


async def set_up(db: Database, clock: SettableClock, registry: Registry) -> Hearth:
    hub = Hearth(db, registry, {"test": RecordingMessenger()}, clock, Defaults())
    await command(hub, "setup")
    return hub


async def command(hub: Hearth, text: str) -> None:
    await hub.handle(CommandInvoked(**COMMON, user="fran", at=hub.clock.now(), text=text))


async def runs(db: Database) -> list[tuple[str, str]]:
    """(job, period) of every run, in the order they ran."""
    async with db.transaction() as session:
        keys = await session.scalars(select(OutboxMessage.key).order_by(OutboxMessage.id))
        return [tuple(key.split("|")[:2]) for key in keys]  # type: ignore[misc]


async def firing(db: Database, job: str) -> list[tuple[str, int, str | None]]:
    async with db.transaction() as session:
        rows = await session.scalars(
            select(JobFiring).where(JobFiring.job == job).order_by(JobFiring.period)
        )
        return [(row.status, row.attempts, row.last_error) for row in rows]


def iso(moment: datetime) -> str:
    return moment.isoformat()


async def test_a_recurring_job_fires_once_per_period_per_community(db: Database) -> None:
    clock = SettableClock(MONDAY - timedelta(hours=1))
    hub = await set_up(db, clock, registry_with(**{"test.daily": {}}))
    scheduler = Scheduler(hub, scopes=COMMUNITIES)
    assert await scheduler.run_due() == 0
    assert await scheduler.next_due() == MONDAY
    clock.set(MONDAY)
    assert await scheduler.run_due() == 1
    assert await scheduler.run_due() == 0
    clock.advance(hours=1)
    assert await scheduler.run_due() == 0
    assert await scheduler.next_due() == MONDAY + timedelta(days=1)
    assert await runs(db) == [("test.daily", iso(MONDAY))]
    assert await firing(db, "test.daily@community:1") == [("done", 1, None)]


async def test_each_firing_awaits_before_firing_first(db: Database) -> None:
    """What the app passes as `before_firing`: storing acknowledged events goes first."""
    clock = SettableClock(MONDAY)
    hub = await set_up(db, clock, registry_with(**{"test.daily": {}, "test.other": {}}))
    runs_before: list[int] = []

    async def before_firing() -> None:
        runs_before.append(len(await runs(db)))

    assert await Scheduler(hub, scopes=COMMUNITIES, before_firing=before_firing).run_due() == 2
    assert runs_before == [0, 1]


async def test_a_restart_never_repeats_a_firing(db: Database) -> None:
    clock = SettableClock(MONDAY)
    hub = await set_up(db, clock, registry_with(**{"test.daily": {}}))
    assert await Scheduler(hub, scopes=COMMUNITIES).run_due() == 1
    clock.advance(minutes=30)  # restarted, within the period's grace: not again
    assert await Scheduler(hub, scopes=COMMUNITIES).run_due() == 0
    clock.set(MONDAY + timedelta(days=1))
    restarted = Scheduler(hub, scopes=COMMUNITIES)
    assert await restarted.run_due() == 1
    assert await restarted.run_due() == 0
    assert await runs(db) == [
        ("test.daily", iso(MONDAY)),
        ("test.daily", iso(MONDAY + timedelta(days=1))),
    ]


async def test_processes_racing_fire_each_period_and_one_shot_once(db: Database) -> None:
    clock = SettableClock(MONDAY - timedelta(minutes=1))
    hub = await set_up(db, clock, registry_with(**{"test.a": {}, "test.b": {}}))
    for n in range(10):
        await command(hub, f"later job{n} 60")
    clock.set(MONDAY)
    hubs = [Hearth(db, hub.registry, hub.messengers, clock, Defaults()) for _ in range(4)]
    fired = await asyncio.gather(*(Scheduler(h, scopes=COMMUNITIES).run_due() for h in hubs))
    assert sum(fired) == 12
    assert sorted(job for job, _ in await runs(db)) == ["test.a", "test.b"] + ["test.say"] * 10


async def test_a_raising_job_beside_healthy_ones_is_retried_then_dead_lettered(
    db: Database,
) -> None:
    clock = SettableClock(MONDAY - timedelta(minutes=1))
    failures = {"test.broken": -1, "flaky": 2}
    registry = registry_with(failures, **{"test.a": {}, "test.broken": {}, "test.b": {}})
    hub = await set_up(db, clock, registry)
    await command(hub, "later flaky 60")
    await command(hub, "later steady 60")
    clock.set(MONDAY)
    policy = RetryPolicy(attempts=3, first_backoff=timedelta(minutes=1))
    scheduler = Scheduler(hub, scopes=COMMUNITIES, policy=policy)
    assert await scheduler.run_due() == 5  # the two healthy, the broken, the two one-shots
    assert sorted(await runs(db)) == [
        ("test.a", iso(MONDAY)),
        ("test.b", iso(MONDAY)),
        ("test.say", iso(MONDAY)),  # steady; flaky failed
    ]
    assert await firing(db, "test.broken@community:1") == [
        ("retrying", 1, "RuntimeError: test.broken is broken")
    ]
    assert await scheduler.next_due() == MONDAY + timedelta(minutes=1)
    clock.advance(minutes=1)
    assert await scheduler.run_due() == 2  # both retried; both fail again
    clock.advance(minutes=2)
    assert await scheduler.run_due() == 2  # the third attempt: the broken one is dead, flaky ran
    assert await firing(db, "test.broken@community:1") == [
        ("dead", 3, "RuntimeError: test.broken is broken")
    ]
    async with db.transaction() as session:
        assert list(await session.scalars(select(DueJob))) == []  # flaky ran at its third try
    assert (scheduler.counts.runs, scheduler.counts.failures) == (4, 5)
    assert scheduler.counts.dead_letters == 1
    clock.set(MONDAY + timedelta(days=1))  # the next period of the broken job is tried afresh
    assert await scheduler.run_due() == 3
    assert [s for s, _, _ in await firing(db, "test.broken@community:1")] == ["dead", "retrying"]


async def test_a_permanent_error_dead_letters_a_recurring_period_at_once(db: Database) -> None:
    clock = SettableClock(MONDAY)
    registry = registry_with(**{"test.daily": {}})

    @registry.every("test.refuses", "daily 09:00")
    async def refuses(context: Context, job: JobDue) -> None:
        raise CommandError("that community is gone")

    hub = await set_up(db, clock, registry)
    scheduler = Scheduler(hub, scopes=COMMUNITIES)
    assert await scheduler.run_due() == 2
    assert await firing(db, "test.refuses@community:1") == [
        ("dead", 1, "CommandError: that community is gone")
    ]
    assert scheduler.counts.dead_letters == 1
    assert await runs(db) == [("test.daily", iso(MONDAY))]


async def test_missed_periods_are_made_up_once_or_skipped_as_declared(db: Database) -> None:
    clock = SettableClock(MONDAY)
    hub = await set_up(
        db,
        clock,
        registry_with(
            **{
                "test.catch-up": {"misfire_grace": timedelta(hours=2)},
                "test.strict": {"misfire_grace": timedelta(minutes=10)},
                "test.each": {"misfire_grace": None, "coalesce": False},
            }
        ),
    )
    assert await Scheduler(hub, scopes=COMMUNITIES).run_due() == 3  # Monday 09:00, all three
    thursday = MONDAY + timedelta(days=3)
    clock.set(thursday + timedelta(hours=1))  # down from Monday until Thursday 10:00
    restarted = Scheduler(hub, scopes=COMMUNITIES)
    assert await restarted.next_due() == MONDAY + timedelta(days=1)  # the oldest made up
    assert await restarted.run_due() == 4
    days = [MONDAY + timedelta(days=n) for n in range(1, 4)]
    assert (await runs(db))[3:] == [
        ("test.each", iso(days[0])),  # every missed period, in time order
        ("test.each", iso(days[1])),
        ("test.catch-up", iso(thursday)),  # once, the latest: an hour late is within 2 h
        ("test.each", iso(days[2])),
    ]  # test.strict skipped Thursday's: an hour is past its ten minutes
    assert await restarted.run_due() == 0
    assert await restarted.next_due() == thursday + timedelta(days=1)


async def test_a_durable_one_shot_survives_a_restart(database_url: str) -> None:
    first = Database(database_url)
    await migrate.upgrade(first)
    clock = SettableClock(MONDAY)
    registry = registry_with()
    hub = await set_up(first, clock, registry)
    await command(hub, "later close-poll-12 3600")
    await first.close()  # the process stops before it is due

    clock.advance(hours=2)
    restarted = Database(database_url)
    hub = Hearth(restarted, registry, {"test": RecordingMessenger()}, clock, Defaults())
    scheduler = Scheduler(hub, scopes=COMMUNITIES)
    assert await scheduler.run_due() == 1
    assert await scheduler.run_due() == 0
    assert await runs(restarted) == [("test.say", iso(MONDAY + timedelta(hours=1)))]
    await restarted.close()


async def test_the_loop_lives_through_a_raising_job_and_keeps_its_heartbeat(
    db: Database,
) -> None:
    clock = SettableClock(MONDAY)
    registry = registry_with({"test.broken": -1}, **{"test.a": {}, "test.broken": {}})
    hub = await set_up(db, clock, registry)
    policy = RetryPolicy(attempts=4, first_backoff=timedelta(0))
    runner = SchedulerRunner(
        Scheduler(hub, scopes=COMMUNITIES, policy=policy),
        SoleProcess(),
        poll_every=0.05,
        beat_every=0.01,
    )
    task = asyncio.create_task(runner.run())
    await eventually(lambda: runner.counts.dead_letters == 1, what="the broken job is dead")
    assert (runner.counts.runs, runner.counts.failures) == (1, 4)
    beat = runner.heartbeat
    await command(hub, "later after 0")  # the loop still runs what comes next
    await eventually(lambda: runner.counts.runs == 2, what="the later job ran")
    await eventually(lambda: runner.heartbeat > beat, what="a fresh heartbeat")
    assert not task.done()
    runner.stop()
    await asyncio.wait_for(task, 5)
    assert sorted(job for job, _ in await runs(db)) == ["test.a", "test.say"]


async def test_the_console_fires_what_falls_due_in_time_order(db: Database) -> None:
    """`wait` moves the simulated clock through the same scheduler: a rule CronTrigger makes
    free (`last friday`), in the community's zone, the poll's closing one-shot after it, and
    the weekly digest (Monday 09:00 community time) with the poll's result."""
    out = await transcript(
        db,
        """
        facilitator: /cop poll "Retro?" "Yes" "No" --every "last friday 16:00" --closes 2h
        wait 4w
        """,
        timezone="America/New_York",
    )
    assert out == expected(
        """\
        -- 2026-12-01 09:00 UTC --
        [1] (only @facilitator) bot: Recurring poll R1 is set up: “Retro?” will be posted in #community on the last Friday of each month at 16:00 (America/New_York), first on Fri 25 Dec 16:00 EST; each closes 2h after it is posted.
            (Stop it with `/cop poll stop R1`.)
        -- 2026-12-25 21:00 UTC --
        [2] #community bot: 📊 Retro?
            Yes 0 · 0%
            No 0 · 0%
            [Yes] [No]
            (Poll #1 by @facilitator · choose one · 0 votes · closes Fri 25 Dec 18:00 EST)
        -- 2026-12-25 23:00 UTC --
        [3] (update of [2]) #community bot: 📊 Final result: Retro?
            Yes 0 · 0%
            No 0 · 0%
            (Poll #1 by @facilitator · closed Fri 25 Dec 18:00 EST · nobody voted)
        -- 2026-12-28 14:00 UTC --
        [4] #community bot: *The week in #community* — Mon 21 Dec to Sun 27 Dec
            *Poll results*
            • Poll #1 “Retro?”: nobody voted
        """
    )


def test_a_declaration_is_checked_when_it_is_registered() -> None:
    registry = build_registry()

    async def run(context: Context, job: JobDue) -> None:
        return None

    with pytest.raises(TimeError, match="can't read the schedule “fortnightly”"):
        registry.every("test.digest", "fortnightly")(run)
    registry.every("test.digest", "first monday 10:00")(run)
    with pytest.raises(ValueError, match="registered twice"):
        registry.every("test.digest", "daily")(run)
    assert registry.recurring["test.digest"].rule.describe() == (
        "on the first Monday of each month at 10:00"
    )
