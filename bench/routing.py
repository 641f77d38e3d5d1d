"""Routing one question at scale: p50/p95 of `rank_experts` with 10,000 members and 100,000
past answers stored, on SQLite and on PostgreSQL.

The stored state is what the incremental updates (`record_question`/`record_reply`/
`record_accepted`) leave behind; building it through them one event at a time would take long,
so it is computed here with the same formulas and bulk-inserted, then a few hundred real
events are recorded on top (timed too). Questions are drawn from 200 synthetic topics.

    PYTHONPATH=$PWD python bench/routing.py [--members 10000] [--answers 100000]
        [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/postgres]

PostgreSQL runs in a database it creates (hearth_bench_routing) and drops afterwards.

Machines here differ threefold in speed, so each routing is followed by a baseline in the same
run: a transaction that reads one row (the community's totals). The ratio is routing's cost in
such round trips, comparable across machines.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import insert, select
from sqlalchemy.engine import make_url

from hearth.handlers.expertise import (
    model,
    rank_experts,
    record_accepted,
    record_question,
    record_reply,
)
from hearth.handlers.expertise.text import OPENING_TERMS
from hearth.handlers.expertise.text import terms as text_terms
from hearth.storage import expertise as store
from hearth.storage import migrate
from hearth.storage.db import Database
from hearth.storage.expertise import _key
from hearth.storage.models import (
    Community,
    ExpertAnswer,
    ExpertCommunity,
    ExpertProfile,
    ExpertQuestion,
    ExpertQuestionTerm,
    ExpertTerm,
    ExpertTermStat,
    Member,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
TOPICS = 200
TOPIC_WORDS = 25
COMMON = [f"common{i}" for i in range(40)]


def vocabulary(rng: random.Random) -> list[list[str]]:
    """Each topic's words (some shared between neighbouring topics)."""
    words = [f"w{i}x" for i in range(TOPICS * 12)]
    return [rng.sample(words, TOPIC_WORDS) for _ in range(TOPICS)]


def question_text(rng: random.Random, topic: list[str]) -> str:
    return " ".join(rng.sample(topic, 8) + rng.sample(COMMON, 4)) + "?"


def build(rng: random.Random, members: int, answers: int) -> dict[str, Any]:
    """The rows the incremental updates would have written, computed in one pass."""
    topics = vocabulary(rng)
    knows = {m: rng.sample(range(TOPICS), rng.randint(1, 3)) for m in range(members)}
    by_topic: dict[int, list[int]] = defaultdict(list)
    for m, ts in knows.items():
        for t in ts:
            by_topic[t].append(m)
    activity = [rng.paretovariate(1.2) for _ in range(members)]
    questions, answer_rows = [], []
    stats: dict[str, int] = defaultdict(int)
    openings: dict[str, int] = defaultdict(int)
    profiles: dict[int, dict[str, Any]] = {}
    term_rows: dict[tuple[str, int], float] = defaultdict(float)
    clock, term_mass, n = 0, 0.0, 0
    while clock < answers:
        topic = rng.randrange(TOPICS)
        pool = by_topic[topic] or [0]
        asker = rng.randrange(members)
        words = text_terms(question_text(rng, topics[topic]))
        at = T0 + timedelta(minutes=n)
        questions.append({"id": n + 1, "key": f"q{n}", "asker": asker, "terms": words, "at": at})
        for w in set(words):
            stats[w] += 1
        for w in set(words[:OPENING_TERMS]):
            openings[w] += 1
        k = min(len(pool), rng.choice((1, 2, 2, 3)))
        repliers = rng.choices(pool, weights=[activity[m] for m in pool], k=k)
        accepted_one = rng.random() < 0.6
        for i, m in enumerate(dict.fromkeys(r for r in repliers if r != asker)):
            accepted = accepted_one and i == 0
            clock += 1
            gain = 1.0 + (model.ACCEPTED_BONUS if accepted else 0.0)
            p = profiles.setdefault(
                m, {"answers": 0, "accepted": 0, "slow": 0.0, "fast": 0.0, "mass": 0.0}
            )
            p["answers"] += 1
            p["accepted"] += accepted
            p["slow"] = _key(p["slow"], clock, model.DECAY.slow)
            p["fast"] = _key(p["fast"], clock, model.DECAY.fast)
            p["mass"] += gain * len(set(words))
            p["clock"], p["at"] = clock, at
            term_mass += gain * len(set(words))
            for w in set(words):
                term_rows[(w, m)] += gain
            answer_rows.append(
                {"question": n + 1, "member": m, "accepted": accepted, "at": at, "clock": clock}
            )
        n += 1
    return {
        "topics": topics,
        "questions": questions,
        "answers": answer_rows,
        "stats": stats,
        "openings": openings,
        "profiles": profiles,
        "terms": term_rows,
        "clock": clock,
        "term_mass": term_mass,
    }


async def load(db: Database, data: dict[str, Any], members: int) -> tuple[int, list[int]]:
    """Bulk-insert the community, its members and the expertise rows."""
    chunk = 5000
    async with db.transaction() as session:
        community = Community(
            platform="console",
            workspace="bench",
            channel="C",
            name="#bench",
            timezone="UTC",
            segments=[],
            interests=[],
            created_at=T0,
        )
        session.add(community)
        await session.flush()
        cid = community.id
        rows = [
            {
                "platform": "console",
                "workspace": "bench",
                "user_id": f"U{m}",
                "name": f"M{m}",
                "interests": [],
                "created_at": T0,
                "is_bot": False,
                "deactivated": False,
                "unsolicited_dms_off": False,
            }
            for m in range(members)
        ]
        for i in range(0, len(rows), chunk):
            await session.execute(insert(Member), rows[i : i + chunk])
        ids = list(
            await session.scalars(
                select(Member.id).where(Member.workspace == "bench").order_by(Member.id)
            )
        )
    tables: list[tuple[Any, list[dict[str, Any]]]] = [
        (
            ExpertQuestion.__table__,
            [
                {
                    "id": q["id"],
                    "community_id": cid,
                    "question_key": q["key"],
                    "asker_id": ids[q["asker"]],
                    "terms": q["terms"],
                    "asked_at": q["at"],
                }
                for q in data["questions"]
            ],
        ),
        (
            ExpertAnswer.__table__,
            [
                {
                    "question_id": a["question"],
                    "member_id": ids[a["member"]],
                    "accepted": a["accepted"],
                    "answered_at": a["at"],
                    "clock": a["clock"],
                }
                for a in data["answers"]
            ],
        ),
        (
            ExpertQuestionTerm.__table__,
            [
                {
                    "community_id": cid,
                    "term": t,
                    "question_id": q["id"],
                    "length": len(q["terms"]),
                    "opening": t in q["terms"][:OPENING_TERMS],
                }
                for q in data["questions"]
                for t in set(q["terms"])
            ],
        ),
        (
            ExpertProfile.__table__,
            [
                {
                    "community_id": cid,
                    "member_id": ids[m],
                    "answers": p["answers"],
                    "accepted": p["accepted"],
                    "activity_key": p["slow"],
                    "fast_key": p["fast"],
                    "term_mass": p["mass"],
                    "last_clock": p["clock"],
                    "last_answered_at": p["at"],
                }
                for m, p in data["profiles"].items()
            ],
        ),
        (
            ExpertTerm.__table__,
            [
                {"community_id": cid, "term": t, "member_id": ids[m], "weight": w, "declared": 0}
                for (t, m), w in data["terms"].items()
            ],
        ),
        (
            ExpertTermStat.__table__,
            [
                {"community_id": cid, "term": t, "questions": c, "openings": data["openings"][t]}
                for t, c in data["stats"].items()
            ],
        ),
        (
            ExpertCommunity.__table__,
            [
                {
                    "community_id": cid,
                    "questions": len(data["questions"]),
                    "answers": data["clock"],
                    "term_mass": data["term_mass"],
                    "profiles": len(data["profiles"]),
                }
            ],
        ),
    ]
    for table, rows in tables:
        for i in range(0, len(rows), chunk):
            async with db.transaction() as session:
                await session.execute(insert(table), rows[i : i + chunk])
    if db.is_postgres:  # as autovacuum leaves bulk-inserted tables: visible, with statistics
        async with db.engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.exec_driver_sql("VACUUM ANALYZE")
    return cid, ids


async def measure(db: Database, data: dict[str, Any], members: int, runs: int) -> dict[str, Any]:
    rng = random.Random(7)
    started = time.perf_counter()
    cid, ids = await load(db, data, members)
    loaded = time.perf_counter() - started
    if not db.is_postgres:
        async with db.engine.connect() as connection:
            await connection.exec_driver_sql("ANALYZE")
            await connection.commit()
    at = T0 + timedelta(days=365)
    writes = []
    for n in range(100):  # real incremental updates on top of the loaded state
        topic = data["topics"][rng.randrange(TOPICS)]
        begin = time.perf_counter()
        async with db.transaction() as session:
            key = f"new{n}"
            await record_question(
                session,
                community_id=cid,
                question_key=key,
                asker_id=ids[rng.randrange(members)],
                text=question_text(rng, topic),
                at=at,
            )
            await record_reply(
                session,
                community_id=cid,
                question_key=key,
                replier_id=ids[rng.randrange(members)],
                at=at,
            )
            await record_accepted(
                session,
                community_id=cid,
                question_key=key,
                answerer_id=ids[rng.randrange(members)],
                at=at,
            )
        writes.append(time.perf_counter() - begin)
    timings, baseline = [], []
    for _ in range(runs):
        text = question_text(rng, data["topics"][rng.randrange(TOPICS)])
        asker = ids[rng.randrange(members)]
        begin = time.perf_counter()
        async with db.transaction() as session:
            ranked = await rank_experts(
                session, community_id=cid, text=text, asker_id=asker, at=at, limit=10
            )
        timings.append(time.perf_counter() - begin)
        assert ranked, "no experts found"
        begin = time.perf_counter()
        async with db.transaction() as session:
            await store.totals(session, cid)
        baseline.append(time.perf_counter() - begin)
    timings.sort()
    writes.sort()
    return {
        "load_s": loaded,
        "p50_ms": 1000 * statistics.median(timings),
        "p95_ms": 1000 * timings[int(0.95 * (len(timings) - 1))],
        "write_p50_ms": 1000 * statistics.median(writes),
        "baseline_ms": 1000 * statistics.median(baseline),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--answers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument(
        "--postgres", default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    )
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    data = build(random.Random(1), args.members, args.answers)
    print(
        f"data: {args.members} members, {len(data['questions'])} questions, "
        f"{len(data['answers'])} answers, {len(data['terms'])} member index rows, "
        f"{sum(len(set(q['terms'])) for q in data['questions'])} question index rows"
    )
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as folder:
            db = Database(f"sqlite+aiosqlite:///{folder}/bench.db")
            await migrate.upgrade(db)
            try:
                result = await measure(db, data, args.members, args.runs)
            finally:
                await db.close()
            _print("sqlite", result)
    if args.skip_postgres:
        return
    server = make_url(args.postgres)
    admin = await asyncpg.connect(server.set(drivername="postgresql").render_as_string(False))
    name = "hearth_bench_routing"
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        db = Database(server.set(database=name).render_as_string(hide_password=False))
        await migrate.upgrade(db)
        try:
            result = await measure(db, data, args.members, args.runs)
        finally:
            await db.close()
        _print("postgresql", result)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def _print(backend: str, result: dict[str, Any]) -> None:
    print(
        f"{backend}: rank_experts p50={result['p50_ms']:.1f} ms p95={result['p95_ms']:.1f} ms "
        f"(target p95 < 50 ms) = {result['p50_ms'] / result['baseline_ms']:.1f}x the baseline "
        f"at p50 (a transaction reading one row: {result['baseline_ms']:.2f} ms); one "
        f"question+reply+accept recorded p50={result['write_p50_ms']:.1f} ms; "
        f"bulk load {result['load_s']:.0f} s"
    )


if __name__ == "__main__":
    asyncio.run(main())
