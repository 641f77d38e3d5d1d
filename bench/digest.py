"""How long building a weekly digest takes, with 50,000 members and 1,000,000 then 5,000,000
stored messages, on SQLite and PostgreSQL (the issue's target: under 300 ms, whatever the
history).

    python -m bench.digest                       # both databases, 1M then 5M messages
    python -m bench.digest --db sqlite --messages 200000 1000000

The data goes in fast (SQLite: executemany with journaling off; PostgreSQL: COPY), then the
per-thread counters are derived in SQL exactly as the MessagePosted listener keeps them (one
row per thread: replies, distinct participants, last activity). The first million messages
span the last year (the digest's week has its share), the next four million the four years
before: history grows fivefold, the week does not. Each figure is the median of RUNS builds of
the week's digest through the real sections (`handlers/rhythm/digest.build`).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from hearth.handlers import build_registry
from hearth.handlers.cards import Card
from hearth.handlers.context import Context, Defaults
from hearth.handlers.jobs import JobDue
from hearth.handlers.rhythm import digest
from hearth.storage import migrate
from hearth.storage.db import Database
from hearth.storage.models import Community

MEMBERS = 50_000
RUNS = 7
NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
"""A Monday: the weekly digest of [NOW - 7 days, NOW) is built."""
SQLITE_FILE = Path("/tmp/hearth-bench-digest.db")
PG_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = "hearth_bench_digest"
BATCH = 50_000
TOP_LEVEL = 0.3
"""The share of messages that start a thread; the rest reply to a recent one."""


class Quiet:
    """A messenger that is never called: the digest is only built."""

    platform = "bench"
    command_prefix = "/cop"
    min_send_interval = 0.0


def _rows(start_id: int, count: int, since: datetime, until: datetime, seed: int) -> list[tuple]:
    """`count` messages evenly over [since, until), with thread replies, in time order."""
    rng = random.Random(seed)
    span = (until - since).total_seconds()
    rows: list[tuple] = []
    recent: list[str] = []
    for n in range(count):
        number = start_id + n
        at = since + timedelta(seconds=span * n / count)
        member = rng.randrange(1, MEMBERS + 1)
        if not recent or rng.random() < TOP_LEVEL:
            thread = None
            recent.append(f"m{number}")
            if len(recent) > 200:
                recent.pop(0)
        else:
            thread = recent[int(len(recent) * rng.random() ** 0.5)]
        rows.append((number, 1, member, f"m{number}", thread, f"message {number}", False, at))
    return rows


def _naive(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


# Loading


def sqlite_members(connection: sqlite3.Connection) -> None:
    connection.execute(
        "INSERT INTO communities (id, platform, workspace, channel, name, purpose, timezone, "
        "segments, interests, created_at) VALUES (1, 'bench', 'W', 'C', '#bench', '', "
        "'Europe/London', '[]', '[]', ?)",
        (_naive(NOW - timedelta(days=6 * 365)),),
    )
    members = [
        (
            i,
            "bench",
            "W",
            f"U{i}",
            f"Member {i}",
            None,
            False,
            False,
            False,
            "[]",
            None,
            _naive(NOW - timedelta(days=400)),
        )
        for i in range(1, MEMBERS + 1)
    ]
    connection.executemany(
        "INSERT INTO members (id, platform, workspace, user_id, name, tz, is_bot, deactivated, "
        "unsolicited_dms_off, interests, segment, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        members,
    )
    joined = [
        (1, i, _naive(NOW - timedelta(days=365) + timedelta(seconds=i * 630)), None, None)
        for i in range(1, MEMBERS + 1)
    ]
    connection.executemany(
        "INSERT INTO memberships (community_id, member_id, joined_at, left_at, "
        "public_welcome_due) VALUES (?,?,?,?,?)",
        joined,
    )


def sqlite_messages(connection: sqlite3.Connection, rows: list[tuple]) -> None:
    connection.executemany(
        "INSERT INTO messages (id, community_id, member_id, message_id, thread_id, text, "
        "from_bot, posted_at) VALUES (?,?,?,?,?,?,?,?)",
        [(*r[:7], _naive(r[7])) for r in rows],
    )


COUNTERS = """
INSERT INTO thread_participants (community_id, thread_id, member_id)
SELECT DISTINCT community_id, COALESCE(thread_id, message_id), member_id FROM messages
WHERE id >= {first};
INSERT INTO thread_activity (community_id, thread_id, replies, participants, started_at, last_at)
SELECT community_id, COALESCE(thread_id, message_id),
       SUM(CASE WHEN thread_id IS NULL THEN 0 ELSE 1 END), COUNT(DISTINCT member_id),
       MIN(posted_at), MAX(posted_at)
FROM messages WHERE id >= {first}
GROUP BY community_id, COALESCE(thread_id, message_id);
"""
"""The counters the MessagePosted listener keeps, derived in bulk (each batch of history
holds whole threads, so a plain INSERT suffices)."""


async def load_sqlite(batches: list[tuple[int, int, datetime, datetime]]) -> None:
    connection = sqlite3.connect(SQLITE_FILE)
    connection.execute("PRAGMA journal_mode=OFF")
    connection.execute("PRAGMA synchronous=OFF")
    if batches[0][0] == 1:
        sqlite_members(connection)
    for first, count, since, until in batches:
        for offset in range(0, count, BATCH):
            size = min(BATCH, count - offset)
            span = (until - since) / count
            sqlite_messages(
                connection,
                _rows(
                    first + offset,
                    size,
                    since + span * offset,
                    since + span * (offset + size),
                    first + offset,
                ),
            )
        connection.executescript(COUNTERS.format(first=first))
    connection.commit()
    connection.execute("ANALYZE")
    connection.close()


async def load_postgres(batches: list[tuple[int, int, datetime, datetime]]) -> None:
    connection = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{PG_DB}")
    try:
        if batches[0][0] == 1:
            await connection.execute(
                "INSERT INTO communities (id, platform, workspace, channel, name, purpose, "
                "timezone, segments, interests, created_at) VALUES (1, 'bench', 'W', 'C', "
                "'#bench', '', 'Europe/London', '[]', '[]', $1)",
                (NOW - timedelta(days=6 * 365)).replace(tzinfo=None),
            )
            await connection.copy_records_to_table(
                "members",
                records=[
                    (
                        i,
                        "bench",
                        "W",
                        f"U{i}",
                        f"Member {i}",
                        None,
                        False,
                        False,
                        False,
                        "[]",
                        None,
                        (NOW - timedelta(days=400)).replace(tzinfo=None),
                    )
                    for i in range(1, MEMBERS + 1)
                ],
                columns=[
                    "id",
                    "platform",
                    "workspace",
                    "user_id",
                    "name",
                    "tz",
                    "is_bot",
                    "deactivated",
                    "unsolicited_dms_off",
                    "interests",
                    "segment",
                    "created_at",
                ],
            )
            await connection.copy_records_to_table(
                "memberships",
                records=[
                    (1, i, (NOW - timedelta(days=365, seconds=-i * 630)).replace(tzinfo=None))
                    for i in range(1, MEMBERS + 1)
                ],
                columns=["community_id", "member_id", "joined_at"],
            )
        columns = [
            "id",
            "community_id",
            "member_id",
            "message_id",
            "thread_id",
            "text",
            "from_bot",
            "posted_at",
        ]
        for first, count, since, until in batches:
            for offset in range(0, count, BATCH):
                size = min(BATCH, count - offset)
                span = (until - since) / count
                rows = _rows(
                    first + offset,
                    size,
                    since + span * offset,
                    since + span * (offset + size),
                    first + offset,
                )
                await connection.copy_records_to_table(
                    "messages",
                    records=[(*r[:7], r[7].replace(tzinfo=None)) for r in rows],
                    columns=columns,
                )
            await connection.execute(COUNTERS.format(first=first))
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


# Measuring


async def measure(url: str) -> tuple[float, int]:
    """The median time to build the week's digest (ms), and how many items it had."""
    db = Database(url)
    registry = build_registry()
    times: list[float] = []
    items = 0
    try:
        for _ in range(RUNS):
            async with db.transaction() as session:
                community = await session.get(Community, 1)
                assert community is not None
                event = JobDue(
                    platform="bench",
                    workspace="W",
                    channel="C",
                    user="",
                    at=NOW,
                    kind="bench",
                    key="bench",
                )
                context = Context(session, event, Quiet(), _Clock(), registry, Defaults())  # type: ignore[arg-type]
                started = time.perf_counter()
                built = await digest.build(context, community, NOW - timedelta(days=7), NOW)
                card, _ = digest.render("bench", built)
                times.append((time.perf_counter() - started) * 1000)
                items = built.items
                assert isinstance(card, Card)
    finally:
        await db.close()
    return statistics.median(times), items


class _Clock:
    def now(self) -> datetime:
        return NOW


async def prepare(kind: str) -> str:
    if kind == "sqlite":
        SQLITE_FILE.unlink(missing_ok=True)
        url = f"sqlite+aiosqlite:///{SQLITE_FILE}"
    else:
        server = await asyncpg.connect(PG_SERVER)
        try:
            await server.execute(f"DROP DATABASE IF EXISTS {PG_DB}")
            await server.execute(f"CREATE DATABASE {PG_DB}")
        finally:
            await server.close()
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{PG_DB}"
    db = Database(url)
    await migrate.upgrade(db)
    await db.close()
    return url


async def run(kind: str, sizes: list[int]) -> list[dict[str, Any]]:
    url = await prepare(kind)
    load = load_sqlite if kind == "sqlite" else load_postgres
    figures = []
    stored = 0
    for total in sizes:
        if total <= stored:
            continue
        if stored == 0:  # the last year, the digest's week included
            batch = [(1, total, NOW - timedelta(days=365), NOW)]
        else:  # older history: years before that
            years = max(1, round((total - stored) / sizes[0]))
            since = NOW - timedelta(days=365 * (1 + years))
            batch = [(stored + 1, total - stored, since, NOW - timedelta(days=365))]
        started = time.perf_counter()
        await load(batch)
        loaded = time.perf_counter() - started
        stored = total
        median, items = await measure(url)
        figures.append(
            {"db": kind, "messages": total, "ms": median, "items": items, "load_s": loaded}
        )
        print(
            f"{kind:10} {total:>9,} messages, {MEMBERS:,} members: weekly digest built in "
            f"{median:7.1f} ms (median of {RUNS}; {items} items; data loaded in {loaded:.0f} s)",
            flush=True,
        )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--messages", type=int, nargs="+", default=[1_000_000, 5_000_000])
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    for kind in kinds:
        asyncio.run(run(kind, sorted(args.messages)))


if __name__ == "__main__":
    main()
