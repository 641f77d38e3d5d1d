"""Exactly one process fires the calendar on PostgreSQL: the leader holds an advisory lock on
its own connection; when it dies a stand-by takes over and fires what is due, once."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from hearth.scheduler.leader import AdvisoryLock
from hearth.storage import migrate
from hearth.storage.db import Database
from hearth.storage.models import DueJob, JobFiring, OutboxMessage
from tests.conftest import _postgres_database
from tests.waiting import eventually

ROOT = Path(__file__).resolve().parents[1]
TAKEOVER_LIMIT = 30.0
"""Seconds within which a stand-by must have fired the dead leader's job."""


@pytest.fixture
async def postgres() -> AsyncIterator[Database]:
    async for url in _postgres_database():
        db = Database(url)
        await migrate.upgrade(db)
        yield db
        await db.close()


class Process:
    """A `tests.scheduler_process` child whose output lines are collected as they come."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []
        self._reading = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, db: Database, name: str, *flags: str) -> Process:
        url = db.url.render_as_string(hide_password=False)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.scheduler_process",
            url,
            name,
            *flags,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=ROOT,
            env=env,
        )
        return cls(process)

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            self.lines.append(line.decode().rstrip())

    async def said(self, text: str, timeout: float = 30.0) -> None:
        await eventually(
            lambda: any(text in line for line in self.lines),
            timeout,
            f"{text!r} from the process (it said: {self.lines})",
        )

    async def end(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()
        await self._reading


async def test_one_process_leads_and_a_stand_by_takes_over_when_its_connection_dies(
    postgres: Database,
) -> None:
    first, second = AdvisoryLock(postgres.url), AdvisoryLock(postgres.url)
    try:
        assert await first.hold()
        assert not await second.hold()
        assert await first.hold()  # still leading: its connection holds the lock
        async with postgres.engine.connect() as connection:  # the leader's session dies
            await connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks "
                    "WHERE locktype = 'advisory' AND granted"
                )
            )
        assert not await first.hold()
        assert await second.hold()
        assert not await first.hold()  # back, as a stand-by
    finally:
        await first.release()
        await second.release()


async def test_a_leader_killed_mid_firing_is_replaced_and_the_job_fires_once(
    postgres: Database,
) -> None:
    now = datetime.now(UTC)
    async with postgres.transaction() as session:
        session.add(
            DueJob(
                key="close-poll-12",
                kind="test.mark",
                platform="test",
                workspace="W1",
                channel="C1",
                payload={},
                due_at=now - timedelta(seconds=1),
                created_at=now,
            )
        )
    leader = await Process.start(postgres, "A", "--hang")
    standby = None
    try:
        await leader.said("scheduler: leading")
        await leader.said("firing close-poll-12")  # claimed, its effects not yet committed
        standby = await Process.start(postgres, "B")
        await standby.said("scheduler: standing by")
        loop = asyncio.get_running_loop()
        leader.process.kill()  # SIGKILL: no clean-up, no unlock
        await leader.end()
        killed = loop.time()

        async def marked() -> list[str]:
            async with postgres.transaction() as session:
                return list(await session.scalars(select(OutboxMessage.key)))

        async def fired_once() -> bool:
            return await marked() == ["marked:close-poll-12:B"]

        await eventually(fired_once, TAKEOVER_LIMIT, "the stand-by fired the job")
        took = loop.time() - killed
        await standby.said("scheduler: leading")
        standby.process.terminate()
        await standby.process.wait()
        assert standby.process.returncode == 0, standby.lines
        async with postgres.transaction() as session:
            firings = list(await session.scalars(select(JobFiring.job)))
            waiting = list(await session.scalars(select(DueJob.key)))
        assert firings == ["once:close-poll-12"]
        assert waiting == []
        assert await marked() == ["marked:close-poll-12:B"]
        print(f"stand-by fired the dead leader's job {took:.1f} s after SIGKILL")
    finally:
        await leader.end()
        if standby is not None:
            await standby.end()
