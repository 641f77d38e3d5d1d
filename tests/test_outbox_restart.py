"""Crash recovery as production does it: real `hearth serve` processes, a rolling restart and
SIGKILL, against the Slack fake. Nothing is reset at start-up; a killed process's in-flight
messages are taken over when their leases run out, after looking whether they landed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from hearth.handlers.cards import Card
from hearth.handlers.ports import Target
from hearth.storage import migrate, outbox
from hearth.storage.db import Database
from hearth.storage.models import Member, OutboxMessage
from tests.fakes.slack_api import SPEC_MISSING_REASON, FakeSlackApi, spec_available
from tests.waiting import eventually

pytestmark = pytest.mark.skipif(not spec_available(), reason=SPEC_MISSING_REASON)

ROOT = Path(__file__).resolve().parents[1]
MEMBERS = [f"U{n:03d}" for n in range(12)]
IN_FLIGHT = 8
"""The sender's concurrency: the old process is stuck mid-send on this many posts."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def hearth_serve(
    database_url: str, api_url: str, logs: Path
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """A `hearth serve` process on a free port, with short outbox leases."""
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": database_url,
        "PORT": str(port),
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "hearth-test-signing-secret",
        "SLACK_API_URL": api_url,
        "HEARTH_SECRET": "a-test-secret-of-at-least-thirty-two-characters",
        "HEARTH_OUTBOX_LEASE_SECONDS": "2",
    }
    with logs.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "hearth.bot.cli", "serve"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield process, port
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


async def healthy(port: int) -> bool:
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/healthz") as r,
        ):
            return r.status == 200
    except aiohttp.ClientError:
        return False


async def welcome_dms_due(db: Database) -> None:
    now = datetime.now(UTC)
    async with db.transaction() as session:
        for user in MEMBERS:
            member = Member(
                platform="slack",
                workspace="T111",
                user_id=user,
                name=user,
                tz="Europe/London",
                interests=[],
                created_at=now,
            )
            session.add(member)
            await session.flush()
            await outbox.enqueue(
                session,
                key=f"welcome:{user}",
                kind="welcome",
                platform="slack",
                workspace="T111",
                target=Target("dm", user),
                card=Card(f"Welcome, {user}!").to_json(),
                due_at=now,
                member_id=member.id,
                now=now,
            )


async def count_sent(db: Database) -> int:
    async with db.transaction() as session:
        query = select(func.count()).where(OutboxMessage.status == outbox.SENT)
        return int(await session.scalar(query.select_from(OutboxMessage)) or 0)


@pytest.mark.timeout(180)
async def test_a_process_killed_mid_delivery_during_a_rolling_restart_sends_each_dm_once(
    database_url: str, tmp_path: Path
) -> None:
    db = Database(database_url)
    await migrate.upgrade(db)
    await welcome_dms_due(db)
    async with FakeSlackApi() as fake:
        fake.hold("chat.postMessage", IN_FLIGHT)
        with hearth_serve(database_url, fake.base_url, tmp_path / "old.log") as (old, _):
            await eventually(lambda: len(fake.held) == IN_FLIGHT, 60, "the old process mid-send")

            with hearth_serve(database_url, fake.base_url, tmp_path / "new.log") as (new, port):
                await eventually(lambda: healthy(port), 60, "the new process to serve")
                rest = len(MEMBERS) - IN_FLIGHT

                async def rest_sent() -> bool:
                    return await count_sent(db) == rest

                await eventually(rest_sent, 20, f"the new process to send the {rest} others")
                assert len(fake.held) == IN_FLIGHT  # and none of the old one's

                old.send_signal(signal.SIGKILL)  # the old process dies with 8 posts in flight
                old.wait(10)
                fake.release()  # which Slack had received: they land, their answers are lost

                async def all_sent() -> bool:
                    return await count_sent(db) == len(MEMBERS)

                await eventually(all_sent, 60, "the killed process's messages to be taken over")
                assert new.poll() is None, (tmp_path / "new.log").read_text()

        logs = "\n".join(p.read_text() for p in sorted(tmp_path.glob("*.log")))
        per_member = {u: len(fake.channel_messages(f"D{u}")) for u in MEMBERS}
        assert per_member == dict.fromkeys(MEMBERS, 1), logs
        assert len(fake.calls_to("chat.postMessage")) == len(MEMBERS), logs
        assert fake.violations == []
    await db.close()
