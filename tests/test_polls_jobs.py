"""Keyed one-shots: run once when due, by whichever process gets there first, never lost;
one that cannot run is dead-lettered with its error."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from hearth.handlers import build_registry
from hearth.handlers.cards import Card
from hearth.handlers.commands import CommandError
from hearth.handlers.context import Context, Defaults
from hearth.handlers.events import CommandInvoked
from hearth.handlers.hub import Hearth
from hearth.handlers.jobs import JobDue, schedule
from hearth.handlers.ports import Target
from hearth.handlers.registry import Registry
from hearth.scheduler.leader import SoleProcess
from hearth.scheduler.runner import SchedulerRunner
from hearth.scheduler.scheduler import Scheduler
from hearth.storage.db import Database
from hearth.storage.models import DueJob, OutboxMessage
from tests.recording import RecordingMessenger, SettableClock
from tests.waiting import eventually

COMMON = {"platform": "test", "workspace": "W1", "channel": "C1"}


def registry_with_jobs() -> Registry:
    """`/cop later <key> <seconds>` schedules a `test.say` job that posts `<key>`."""
    registry = build_registry()

    @registry.command("later", "<key> <seconds>", summary="test", needs_community=False)
    async def later(context: Context, args: object) -> None:
        key, seconds = args.tokens  # type: ignore[attr-defined]
        due = context.now() + timedelta(seconds=int(seconds))
        await schedule(context, key, "test.say", due, {"text": key})

    @registry.job("test.say")
    async def say(context: Context, job: JobDue) -> None:
        text = job.payload["text"]
        if text == "broken":
            raise CommandError("nothing to say")
        await context.enqueue(f"said:{text}", "test", Target("channel", job.channel), Card(text))

    return registry


def hub(db: Database, clock: SettableClock) -> Hearth:
    messenger = RecordingMessenger()
    return Hearth(db, registry_with_jobs(), {"test": messenger}, clock, Defaults())


async def later(hearth: Hearth, key: str, seconds: int) -> None:
    await hearth.handle(
        CommandInvoked(**COMMON, user="fran", at=hearth.clock.now(), text=f"later {key} {seconds}")
    )


async def said(db: Database) -> list[str]:
    async with db.transaction() as session:
        return list(await session.scalars(select(OutboxMessage.key).order_by(OutboxMessage.id)))


async def test_a_job_runs_once_when_due_and_a_key_schedules_once(db: Database) -> None:
    clock = SettableClock()
    hearth = hub(db, clock)
    scheduler = Scheduler(hearth)
    await later(hearth, "b", 60)
    await later(hearth, "a", 30)
    await later(hearth, "a", 5)  # the same key: already scheduled
    assert await scheduler.run_due() == 0
    assert await scheduler.next_due() == clock.now() + timedelta(seconds=30)
    clock.advance(seconds=30)
    assert await scheduler.run_due() == 1
    clock.advance(seconds=30)
    assert await scheduler.run_due() == 1
    assert await scheduler.run_due() == 0
    assert await said(db) == ["said:a", "said:b"]


async def test_processes_racing_for_due_jobs_run_each_once(db: Database) -> None:
    clock = SettableClock()
    hearths = [hub(db, clock) for _ in range(4)]
    for n in range(20):
        await later(hearths[0], f"job{n}", 0)
    ran = await asyncio.gather(*(Scheduler(h).run_due() for h in hearths))
    assert sum(ran) == 20
    assert sorted(await said(db)) == sorted(f"said:job{n}" for n in range(20))


async def test_a_job_that_cannot_run_is_dead_lettered_at_once_and_logged(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    clock = SettableClock()
    hearth = hub(db, clock)
    await later(hearth, "broken", 0)
    async with db.transaction() as session:  # and one whose feature is gone
        session.add(
            DueJob(
                key="old",
                kind="gone",
                payload={},
                due_at=clock.now(),
                created_at=clock.now(),
                **COMMON,
            )
        )
    scheduler = Scheduler(hearth)
    assert await scheduler.run_due() == 2
    assert await scheduler.run_due() == 0
    assert await scheduler.next_due() == datetime(2026, 12, 2, 3, 30, tzinfo=UTC)  # the prune
    async with db.transaction() as session:
        dead = list(await session.scalars(select(DueJob).order_by(DueJob.key)))
        assert await session.scalar(select(func.count()).select_from(DueJob)) == 2
    assert [(j.key, j.attempts, j.last_error, j.failed_at) for j in dead] == [
        ("broken", 1, "CommandError: nothing to say", clock.now()),
        ("old", 1, "Permanent: no handler for job kind 'gone'", clock.now()),
    ]
    assert (scheduler.counts.runs, scheduler.counts.dead_letters) == (0, 2)
    assert await said(db) == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == [
        "job broken failed (attempt 1) and is dead-lettered: CommandError: nothing to say",
        "job old failed (attempt 1) and is dead-lettered: "
        "Permanent: no handler for job kind 'gone'",
    ]


async def test_the_runner_wakes_when_a_job_is_scheduled_runs_and_stops(db: Database) -> None:
    clock = SettableClock()
    hearth = hub(db, clock)
    runner = SchedulerRunner(Scheduler(hearth), SoleProcess(), poll_every=30)
    task = asyncio.create_task(runner.run())
    await eventually(lambda: runner.leading, what="the runner leads")
    await later(hearth, "now", 0)  # committed: the runner is woken, not left to its 30 s
    await eventually(said_something(db), what="the job ran")
    runner.stop()
    await asyncio.wait_for(task, 5)
    assert await said(db) == ["said:now"]
    assert runner.counts.runs == 1


def said_something(db: Database) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return bool(await said(db))

    return check
