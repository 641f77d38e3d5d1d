"""Lurkers at scale: the sweep and `/cop lurkers`, 100,000 members and 5,000,000 messages.

Builds one community with `--members` members (a fifth of them posters, who wrote
`--messages` messages between them over two years, a tenth of those thread replies; a tenth of
the lurkers nudged once 40+ days ago), migrated by Hearth's own migrations and bulk-loaded
(sqlite3 executemany with journalling off; asyncpg COPY). Then it times, on each backend:

- the daily sweep of the community (`hearth.handlers.lurkers.nudges.sweep`, rolled back after
  each run so every run does the same work): target < 1 s;
- the sweep's candidate query materialising every due lurker (the worst case: a sweep that had
  to look at everyone);
- `/cop lurkers` (`hearth.handlers.lurkers.report.report_card`: the counts by band and group,
  the names, and both conversion figures, all SQL aggregates): target < 1 s too.

    .venv/bin/python bench/lurkers.py [--members 100000] [--messages 5000000] [--runs 5]
        [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/hearth_bench_lurkers]
        [--no-sqlite] [--no-postgres]

The PostgreSQL database named in the URL is dropped and created afresh.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import select
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hearth.handlers import build_registry  # noqa: E402
from hearth.handlers.context import Context, Defaults  # noqa: E402
from hearth.handlers.jobs import JobDue  # noqa: E402
from hearth.handlers.lurkers import nudges, report  # noqa: E402
from hearth.storage import lurkers as store  # noqa: E402
from hearth.storage import migrate  # noqa: E402
from hearth.storage.db import Database  # noqa: E402
from hearth.storage.models import Community  # noqa: E402
from tests.recording import SettableClock  # noqa: E402

NOW = datetime(2026, 12, 16, 7, 0, tzinfo=UTC)  # a Wednesday, at the sweep's hour
HISTORY = timedelta(days=730)
TARGET = 1.0
PLATFORM, WORKSPACE, CHANNEL = "slack", "T111", "C111"
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/hearth_bench_lurkers"
CHUNK = 100_000


def naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def sqlite_time(moment: datetime) -> str:
    """How SQLAlchemy's SQLite DateTime stores a (naive UTC) time."""
    return naive(moment).strftime("%Y-%m-%d %H:%M:%S.%f")


class Data:
    """The rows to load, generated lazily (5M messages do not sit in memory at once)."""

    def __init__(self, members: int, messages: int, seed: int = 12) -> None:
        self.members = members
        self.messages = messages
        self.rng = random.Random(seed)
        self.posters = max(1, members // 5)
        self.joined = [
            NOW
            - timedelta(days=15)
            - timedelta(seconds=self.rng.randrange(int(HISTORY.total_seconds())))
            for _ in range(members + 1)
        ]  # index 0 is the facilitator
        lurkers = range(self.posters + 1, members + 1)
        self.nudged = [m for m in lurkers if m % 10 == 0]

    def member_rows(self) -> Iterator[tuple[Any, ...]]:
        for n in range(self.members + 1):
            yield (
                n + 1,
                PLATFORM,
                WORKSPACE,
                f"U{n:07d}",
                f"Member {n}",
                None,
                False,
                False,
                False,
                None,
                "[]",
                self.joined[n],
            )

    def membership_rows(self) -> Iterator[tuple[Any, ...]]:
        for n in range(self.members + 1):
            yield (1, n + 1, self.joined[n], None, None)

    def participation_rows(self) -> Iterator[tuple[Any, ...]]:
        per = self.messages // self.posters
        for poster in range(1, self.posters + 1):
            if per:
                yield (
                    1,
                    poster + 1,
                    self.joined[poster] + timedelta(hours=1),
                    NOW - timedelta(hours=3),
                )

    def nudge_rows(self) -> Iterator[tuple[Any, ...]]:
        for m in self.nudged:
            due = NOW - timedelta(days=40 + m % 100)
            yield (1, m + 1, 1, f"nudge:1:{m + 1}:1", due, due)

    def outbox_rows(self) -> Iterator[tuple[Any, ...]]:
        card = json.dumps({"text": "Hi", "names": {}, "blocks": []})
        for n, m in enumerate(self.nudged, 1):
            due = NOW - timedelta(days=40 + m % 100)
            yield (
                n,
                f"nudge:1:{m + 1}:1",
                "nudge",
                PLATFORM,
                WORKSPACE,
                "dm",
                f"U{m:07d}",
                None,
                m + 1,
                card,
                "sent",
                due,
                1,
                0,
                False,
                due,
                due,
            )


MEMBER_COLUMNS = (
    "id",
    "platform",
    "workspace",
    "user_id",
    "name",
    "tz",
    "is_bot",
    "deactivated",
    "unsolicited_dms_off",
    "segment",
    "interests",
    "created_at",
)
MEMBERSHIP_COLUMNS = ("community_id", "member_id", "joined_at", "left_at", "public_welcome_due")
MESSAGE_COLUMNS = (
    "id",
    "community_id",
    "member_id",
    "message_id",
    "thread_id",
    "text",
    "from_bot",
    "posted_at",
)
PARTICIPATION_COLUMNS = ("community_id", "member_id", "first_posted_at", "last_posted_at")
NUDGE_COLUMNS = ("community_id", "member_id", "number", "key", "due_at", "created_at")
OUTBOX_COLUMNS = (
    "id",
    "key",
    "kind",
    "platform",
    "workspace",
    "target_kind",
    "target_id",
    "thread",
    "member_id",
    "card",
    "status",
    "due_at",
    "attempts",
    "failures",
    "in_doubt",
    "created_at",
    "sent_at",
)
TABLES = (
    ("members", MEMBER_COLUMNS, "member_rows"),
    ("memberships", MEMBERSHIP_COLUMNS, "membership_rows"),
    ("participation", PARTICIPATION_COLUMNS, "participation_rows"),
    ("nudges", NUDGE_COLUMNS, "nudge_rows"),
    ("outbox", OUTBOX_COLUMNS, "outbox_rows"),
)


def chunks(rows: Iterator[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


async def community_row(db: Database) -> None:
    async with db.transaction() as session:
        session.add(
            Community(
                id=1,
                platform=PLATFORM,
                workspace=WORKSPACE,
                channel=CHANNEL,
                name="#bench",
                purpose="",
                timezone="UTC",
                segments=[],
                interests=[],
                created_at=NOW - HISTORY,
            )
        )


MESSAGE_INDEXES = (
    ("ix_messages_community_posted", "community_id, posted_at"),
    ("ix_messages_member_posted", "member_id, posted_at"),
)
"""Dropped while the messages load and built after (as models.Message declares them)."""


def messages_sql(data: Data, postgres: bool) -> str:
    """One INSERT … SELECT that writes every message in the database itself: poster n wrote
    messages n, n + posters, …; times spread evenly over the history; every tenth a reply in
    the thread of an earlier message."""
    start = int((NOW - HISTORY).timestamp())
    step = HISTORY.total_seconds() / max(1, data.messages)
    if postgres:
        rows = f"generate_series(1, {data.messages}) AS g(x)"
        moment = f"to_timestamp({start} + x * {step}) AT TIME ZONE 'UTC'"
        text_id = "x::text || '.0'"
        thread = "(x - 1 - x % 7)::text || '.0'"
        prefix = ""
        false = "false"
    else:
        prefix = (
            "WITH RECURSIVE g(x) AS "
            f"(SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < {data.messages}) "
        )
        rows = "g"
        seconds = f"{start} + CAST(x * {step} AS INTEGER)"
        moment = f"strftime('%Y-%m-%d %H:%M:%S', {seconds}, 'unixepoch') || '.000000'"
        text_id = "x || '.0'"
        thread = "(x - 1 - x % 7) || '.0'"
        false = "0"
    return (
        f"{prefix}INSERT INTO messages ({', '.join(MESSAGE_COLUMNS)}) "
        f"SELECT x, 1, (x % {data.posters}) + 2, {text_id}, "
        f"CASE WHEN x % 10 = 0 THEN {thread} END, 'a message', {false}, {moment} FROM {rows}"
    )


def load_sqlite(path: Path, data: Data) -> None:
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode = OFF")
    connection.execute("PRAGMA synchronous = OFF")
    for table, columns, rows in TABLES:
        started = time.perf_counter()
        marks = ", ".join("?" for _ in columns)
        statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
        count = 0
        for batch in chunks(getattr(data, rows)()):
            converted = [
                tuple(sqlite_time(v) if isinstance(v, datetime) else v for v in row)
                for row in batch
            ]
            connection.executemany(statement, converted)
            count += len(batch)
        connection.commit()
        print(f"  {table}: {count:,} rows in {time.perf_counter() - started:.1f} s", flush=True)
    connection.execute("INSERT INTO facilitators VALUES (1, 1, ?)", (sqlite_time(NOW - HISTORY),))
    started = time.perf_counter()
    for index, _ in MESSAGE_INDEXES:
        connection.execute(f"DROP INDEX {index}")
    connection.execute(messages_sql(data, postgres=False))
    for index, columns in MESSAGE_INDEXES:
        connection.execute(f"CREATE INDEX {index} ON messages ({columns})")
    connection.commit()
    print(
        f"  messages: {data.messages:,} rows in {time.perf_counter() - started:.1f} s", flush=True
    )
    started = time.perf_counter()
    connection.execute("ANALYZE")
    connection.commit()
    print(f"  ANALYZE in {time.perf_counter() - started:.1f} s", flush=True)
    connection.close()


async def load_postgres(url: str, data: Data) -> None:
    parsed = make_url(url)
    connection = await asyncpg.connect(
        user=parsed.username, host=parsed.host, port=parsed.port, database=parsed.database
    )
    try:
        for table, columns, rows in TABLES:
            started = time.perf_counter()
            count = 0
            for batch in chunks(getattr(data, rows)()):
                converted = [
                    tuple(naive(v) if isinstance(v, datetime) else v for v in row) for row in batch
                ]
                await connection.copy_records_to_table(table, records=converted, columns=columns)
                count += len(batch)
            print(f"  {table}: {count:,} rows in {time.perf_counter() - started:.1f} s", flush=True)
        await connection.execute("INSERT INTO facilitators VALUES (1, 1, $1)", naive(NOW - HISTORY))
        started = time.perf_counter()
        await connection.execute("SET session_replication_role = replica")  # no FK triggers
        for index, _ in MESSAGE_INDEXES:
            await connection.execute(f"DROP INDEX {index}")
        await connection.execute(messages_sql(data, postgres=True))
        for index, columns in MESSAGE_INDEXES:
            await connection.execute(f"CREATE INDEX {index} ON messages ({columns})")
        await connection.execute("SET session_replication_role = DEFAULT")
        elapsed = time.perf_counter() - started
        print(f"  messages: {data.messages:,} rows in {elapsed:.1f} s", flush=True)
        for table in ("members", "outbox", "messages"):
            await connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        started = time.perf_counter()
        await connection.execute("VACUUM ANALYZE")
        print(f"  VACUUM ANALYZE in {time.perf_counter() - started:.1f} s", flush=True)
    finally:
        await connection.close()


async def recreate_postgres(url: str) -> None:
    parsed = make_url(url)
    admin = await asyncpg.connect(
        user=parsed.username, host=parsed.host, port=parsed.port, database="postgres"
    )
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{parsed.database}"')
    finally:
        await admin.close()


def context_for(session: Any, registry: Any) -> Context:
    event = JobDue(
        platform=PLATFORM,
        workspace=WORKSPACE,
        channel=CHANNEL,
        user="",
        at=NOW,
        kind="lurkers.sweep",
        key="lurkers.sweep",
        payload={"community": 1},
    )
    return Context(
        session,
        event,
        None,
        SettableClock(NOW),
        build_registry(),
        Defaults(),  # type: ignore[arg-type]
    )


class Rollback(Exception):
    """Undo a measured run."""


async def timed(db: Database, runs: int, work: Any) -> tuple[list[float], Any]:
    times: list[float] = []
    result: Any = None
    for _ in range(runs):
        try:
            async with db.transaction() as session:
                community = await session.get(Community, 1)
                started = time.perf_counter()
                result = await work(session, community)
                times.append(time.perf_counter() - started)
                raise Rollback
        except Rollback:
            pass
    return times, result


async def measure(url: str, label: str, runs: int) -> dict[str, float]:
    db = Database(url)
    registry = build_registry()
    try:

        async def sweep(session: Any, community: Community) -> int:
            return await nudges.sweep(context_for(session, registry), community)

        async def everyone(session: Any, community: Community) -> int:
            found = await store.due_for_nudge(
                session,
                1,
                joined_before=NOW - timedelta(days=14),
                last_sent_before=NOW - nudges.SPACING,
                offset=0,
                limit=10_000_000,
            )
            return len(found)

        async def shown(session: Any, community: Community) -> str:
            settings = await store.settings_of(session, 1)
            card = await report.report_card(session, community, settings, NOW)
            return card.text

        sweep_times, scheduled = await timed(db, runs, sweep)
        scan_times, due = await timed(db, max(1, runs // 2), everyone)
        report_times, headline = await timed(db, runs, shown)
        async with db.transaction() as session:
            count = await session.scalar(select(Community.id).limit(1))
        assert count == 1
    finally:
        await db.close()
    figures = {
        "sweep": statistics.median(sweep_times),
        "sweep_max": max(sweep_times),
        "scan": statistics.median(scan_times),
        "report": statistics.median(report_times),
        "report_max": max(report_times),
    }

    def verdict(seconds: float) -> str:
        return f"target < {TARGET:.0f} s: {'OK' if seconds < TARGET else 'OVER TARGET'}"

    print(
        f"{label}: sweep {figures['sweep'] * 1000:.0f} ms median, {figures['sweep_max'] * 1000:.0f}"
        f" ms max over {runs} runs ({scheduled} nudges scheduled) — {verdict(figures['sweep'])}\n"
        f"{label}: /cop lurkers {figures['report'] * 1000:.0f} ms median, "
        f"{figures['report_max'] * 1000:.0f} ms max over {runs} runs "
        f"({headline.split(':')[0]}) — {verdict(figures['report'])}\n"
        f"{label}: every due lurker ({due:,}) materialised in {figures['scan'] * 1000:.0f} ms",
        flush=True,
    )
    return figures


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=5_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--postgres", default=DEFAULT_PG)
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    data = Data(args.members, args.messages)
    print(
        f"{args.members:,} members ({data.posters:,} posters, {len(data.nudged):,} lurkers nudged "
        f"once), {args.messages:,} messages",
        flush=True,
    )
    over = False
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "bench.db"
            url = f"sqlite+aiosqlite:///{path}"
            db = Database(url)
            await migrate.upgrade(db)
            await community_row(db)
            await db.close()
            print("SQLite: loading", flush=True)
            load_sqlite(path, data)
            figures = await measure(url, "SQLite", args.runs)
            over |= max(figures["sweep"], figures["report"]) >= TARGET
    if not args.no_postgres:
        await recreate_postgres(args.postgres)
        db = Database(args.postgres)
        await migrate.upgrade(db)
        await community_row(db)
        await db.close()
        print("PostgreSQL: loading", flush=True)
        await load_postgres(args.postgres, data)
        figures = await measure(args.postgres, "PostgreSQL", args.runs)
        over |= max(figures["sweep"], figures["report"]) >= TARGET
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
