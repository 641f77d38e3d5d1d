"""/healthz: 503 with the reason when the database does not answer or a background loop has
stopped or stalls; the loops are supervised, so one that dies comes back by itself."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from hearth.bot.supervisor import Supervisor
from tests.conftest import _postgres_database
from tests.fakes.slack_api import SPEC_MISSING_REASON, spec_available
from tests.slack_helpers import CHANNEL, NEWCOMER, HearthHarness, event_callback, running_hearth
from tests.test_metrics import samples
from tests.test_supervisor import Ahead
from tests.waiting import eventually

pytestmark = pytest.mark.skipif(not spec_available(), reason=SPEC_MISSING_REASON)

LOOPS = {"outbox-sender", "scheduler", "event-journal"}


async def health(hearth: HearthHarness) -> tuple[int, dict[str, object]]:
    response = await hearth.client.get("/healthz")
    return response.status, await response.json()


async def test_the_loops_run_supervised_and_health_is_ok(sqlite_url: str) -> None:
    async with running_hearth(sqlite_url) as hearth:
        status = hearth.supervisor.status()
        assert set(status) == LOOPS
        assert all(s.running and s.restarts == 0 for s in status.values())
        assert await health(hearth) == (200, {"ok": True})


async def test_a_loop_that_stopped_makes_health_fail_and_says_which(sqlite_url: str) -> None:
    async with running_hearth(sqlite_url, supervisor=Supervisor(first_backoff=3600)) as hearth:
        hearth.sender.stop()  # it returns, though its supervisor did not ask it to

        async def unhealthy() -> bool:
            return (await health(hearth))[0] == 503

        await eventually(unhealthy, what="/healthz to fail")
        assert await health(hearth) == (
            503,
            {
                "ok": False,
                "loops": {
                    "outbox-sender": "stopped (run() returned without being stopped); restarts: 0"
                },
            },
        )


async def test_stalled_loops_make_health_fail(sqlite_url: str) -> None:
    later = Ahead()
    async with running_hearth(sqlite_url, supervisor=Supervisor(monotonic=later)) as hearth:
        assert (await health(hearth))[0] == 200
        later.offset = 3600  # an hour passes without a heartbeat from either loop
        status, body = await health(hearth)
        assert status == 503
        assert set(body["loops"]) == LOOPS  # type: ignore[arg-type]
        assert all(v.startswith("stalled: no heartbeat for") for v in body["loops"].values())  # type: ignore[union-attr]


async def test_the_loops_beat_when_they_work(sqlite_url: str) -> None:
    async with running_hearth(sqlite_url) as hearth:
        sender, jobs = (hearth.supervisor.loop(name) for name in ("outbox-sender", "scheduler"))
        await eventually(lambda: sender.heartbeat > 0 and jobs.heartbeat > 0)
        now = time.monotonic()
        sender.wake()  # type: ignore[attr-defined]
        jobs.wake()  # type: ignore[attr-defined]
        await eventually(lambda: sender.heartbeat > now and jobs.heartbeat > now, what="beats")


# ------------------------------------------------------------------ a real database outage


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    async for url in _postgres_database():
        yield url


async def outage(url: str, *, down: bool) -> None:
    """Refuse (or allow again) every connection to this test's PostgreSQL database, and cut the
    ones it has: to Hearth, the database server is gone."""
    target = make_url(url)
    admin = await asyncpg.connect(
        target.set(drivername="postgresql", database="postgres").render_as_string(
            hide_password=False
        )
    )
    try:
        await admin.execute(
            f'ALTER DATABASE "{target.database}" ALLOW_CONNECTIONS {"false" if down else "true"}'
        )
        if down:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                target.database,
            )
    finally:
        await admin.close()


async def test_after_a_database_outage_delivery_resumes_by_itself(postgres_url: str) -> None:
    async with running_hearth(postgres_url, supervisor=Supervisor(first_backoff=0.05)) as hearth:
        await hearth.command("setup")
        await outage(postgres_url, down=True)
        try:
            hearth.sender.wake()  # the sender meets the outage
            jobs = hearth.supervisor.loop("scheduler")
            jobs.wake()  # type: ignore[attr-defined]

            async def database_reported() -> bool:
                status, body = await health(hearth)
                reason = str(body.get("database", ""))
                return status == 503 and "is not currently accepting connections" in reason

            await eventually(database_reported, what="/healthz to report the database")
            response = await hearth.client.get("/metrics")  # still served, without the database
            assert response.status == 200
            metrics = samples(await response.text())
            assert metrics["hearth_database_up"] == 0
            assert 'hearth_loop_restarts_total{loop="outbox-sender"}' in metrics
            assert 'hearth_outbox_messages{status="pending"}' not in metrics
        finally:
            await outage(postgres_url, down=False)
        joined = event_callback("member_joined_channel", user=NEWCOMER, channel=CHANNEL)
        await hearth.send_event(joined)
        await eventually(lambda: hearth.posts_to(f"D{NEWCOMER}"), 15, "the welcome DM")

        async def healthy() -> bool:
            return await health(hearth) == (200, {"ok": True})

        await eventually(healthy, what="/healthz to recover")
        assert (
            samples(await (await hearth.client.get("/metrics")).text())["hearth_database_up"] == 1
        )
        assert hearth.fake.violations == []
