"""How long `/cop resources <words>` takes to search a large library, on SQLite and PostgreSQL.

Fills a fresh database with N approved resources (random titles, tags and descriptions from a
small vocabulary) and times `hearth.storage.library.search` for random one- and two-word
queries, printing p50 and p95 in milliseconds per backend:

    PYTHONPATH=. python bench/library_search.py [--resources 20000] [--queries 200]
        [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
import uuid
from datetime import UTC, datetime

import asyncpg
from sqlalchemy import insert, select
from sqlalchemy.engine import make_url

from hearth.storage import library, migrate
from hearth.storage.db import Database
from hearth.storage.models import Community, Resource

WORDS = [
    "risk",
    "register",
    "template",
    "assurance",
    "agile",
    "delivery",
    "benefits",
    "realisation",
    "raid",
    "log",
    "issue",
    "dependency",
    "assumption",
    "portfolio",
    "programme",
    "governance",
    "stage",
    "gate",
    "lessons",
    "learned",
    "retro",
    "stakeholder",
    "map",
    "budget",
    "forecast",
    "estimate",
    "planning",
    "roadmap",
    "okr",
    "kanban",
    "scrum",
    "backlog",
    "quality",
]


def text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


async def fill(db: Database, count: int, rng: random.Random) -> int:
    now = datetime.now(UTC)
    async with db.transaction() as session:
        community = Community(
            platform="bench",
            workspace="W",
            channel="C",
            name="#bench",
            purpose="",
            timezone="UTC",
            welcome_template=None,
            segments=[],
            interests=[],
            created_at=now,
            retention_days=None,
        )
        session.add(community)
        await session.flush()
        rows = [
            {
                "community_id": community.id,
                "url": f"https://example.org/{i}",
                "title": text(rng, 4),
                "tags": ",".join(rng.sample(WORDS, 2)),
                "description": text(rng, 20),
                "status": library.APPROVED,
                "created_at": now,
                "approved_at": now,
            }
            for i in range(count)
        ]
        for start in range(0, count, 2000):
            await session.execute(insert(Resource), rows[start : start + 2000])
        return community.id


async def measure(url: str, count: int, queries: int) -> tuple[float, float, int]:
    db = Database(url)
    await migrate.upgrade(db)
    rng = random.Random(7)
    community_id = await fill(db, count, rng)
    if db.is_postgres:
        async with db.transaction() as session:
            await session.execute(select(1).select_from(Resource).limit(1))
    times, found = [], 0
    for _ in range(queries):
        words = " ".join(rng.sample(WORDS, rng.choice((1, 2))))
        async with db.transaction() as session:
            began = time.perf_counter()
            found += len(await library.search(session, community_id, words))
            times.append((time.perf_counter() - began) * 1000)
    await db.close()
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1], found


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--resources", type=int, default=20000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--postgres", default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    )
    args = parser.parse_args()
    path = f"/tmp/hearth-library-bench-{uuid.uuid4().hex[:8]}.db"
    p50, p95, found = await measure(f"sqlite+aiosqlite:///{path}", args.resources, args.queries)
    print(f"sqlite resources={args.resources} p50={p50:.2f}ms p95={p95:.2f}ms results={found}")
    server = make_url(args.postgres)
    name = f"hearth_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server.set(drivername="postgresql").render_as_string(False))
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = server.set(database=name).render_as_string(hide_password=False)
        p50, p95, found = await measure(url, args.resources, args.queries)
        print(
            f"postgresql resources={args.resources} p50={p50:.2f}ms p95={p95:.2f}ms results={found}"
        )
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
