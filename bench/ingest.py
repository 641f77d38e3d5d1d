"""Ingest benchmark: signed `message` events into `hearth serve` and into a bare bolt app.

Both servers run as subprocesses on free ports, against one fake Slack Web API served from this
process. Each round drives `--events` events at `--concurrency` into the bare app, then into
Hearth (alternately, `--rounds` times, to cancel machine noise), and measures per-request
acknowledgement latency and events/s, and each server process's CPU time per event. For Hearth
it also waits until its database (read directly) holds every event, and reports that "stored"
throughput. Hearth runs on SQLite, its default, or with `--postgres URL` on a fresh database on
that PostgreSQL server (dropped afterwards).

Target: Hearth at >= 1.0x the bare app's throughput with every event stored. Exits non-zero when
an event was not acknowledged or not stored.

Last, it measures the window between acknowledgement and durable storage: it sends `--probe`
events more and, the moment each 200 arrives, looks for the event in Hearth's database (its
journal entry, or its inbound_events row once handled), polling until it is there.

    .venv/bin/python bench/ingest.py [--events 10000] [--concurrency 32] [--rounds 5]
        [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import asyncpg
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.slack_api import FakeSlackApi  # noqa: E402

SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench"
TEAM = "T111"
CHANNEL = "C111"
USERS = [f"U{n:03d}" for n in range(1, 9)]
TARGET = 1.0
READY_TIMEOUT = 60.0
STORE_TIMEOUT = 300.0
STORE_POLL = 0.005
WARMUP = 100
PRESENT = (
    "SELECT (SELECT count(*) FROM event_journal WHERE key = {0}) "
    "+ (SELECT count(*) FROM inbound_events WHERE platform = 'slack' AND event_id = {1})"
)
"""Whether an event is durably Hearth's: in the journal, or already handled."""


@dataclass
class Phase:
    """One timed run of N events into one server."""

    server: str
    events: int
    seconds: float
    latencies: list[float]
    failures: int
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    stored: int | None = None
    stored_seconds: float | None = None

    @property
    def rate(self) -> float:
        return self.events / self.seconds

    @property
    def server_cpu_per_event(self) -> float:
        """CPU seconds the server process (every thread) spent per event, until stored."""
        return self.server_cpu / self.events

    @property
    def stored_rate(self) -> float | None:
        return None if self.stored_seconds is None else self.events / self.stored_seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


@dataclass
class Server:
    """A server subprocess and where to reach it."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path


def signed_headers(
    body: bytes, *, secret: str, content_type: str = "application/json"
) -> dict[str, str]:
    """Slack's signature headers for `body`, signed now."""
    stamp = str(int(time.time()))
    digest = hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256)
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": "v0=" + digest.hexdigest(),
    }


def process_cpu(pid: int) -> float:
    """User plus system CPU seconds of process `pid` so far, all threads (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def server(name: str, argv: list[str], env: dict[str, str], scratch: Path) -> Iterator[Server]:
    """Run `argv` with `env` until the block ends; its output goes to <scratch>/<name>.log."""
    port = free_port()
    log = scratch / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*argv, "--port", str(port)] if name == "hearth" else argv,
            env={**os.environ, **env, "PORT": str(port)},
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            yield Server(name, f"http://127.0.0.1:{port}", process, log)
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def wait_ready(http: aiohttp.ClientSession, target: Server) -> None:
    """Poll GET /healthz until it answers 200 (bounded)."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if target.process.poll() is not None:
            raise SystemExit(f"{target.name} exited early:\n{target.log.read_text()[-3000:]}")
        with contextlib.suppress(aiohttp.ClientError):
            async with http.get(target.url + "/healthz") as response:
                if response.status == 200:
                    return
        await asyncio.sleep(0.05)
    raise SystemExit(f"{target.name} not ready after {READY_TIMEOUT}s:\n{target.log.read_text()}")


def message_event(phase: int, index: int) -> bytes:
    """A channel `message` event with a unique event_id and ts (ts prefix = phase)."""
    ts = f"{1_750_000_000 + phase}.{index:06d}"
    user = USERS[index % len(USERS)]
    return json.dumps(
        {
            "token": "verification_token",
            "team_id": TEAM,
            "api_app_id": "A111",
            "event": {
                "type": "message",
                "text": f"Benchmark message {index} of phase {phase}: how do you run retros?",
                "user": user,
                "ts": ts,
                "team": TEAM,
                "channel": CHANNEL,
                "event_ts": ts,
                "channel_type": "channel",
            },
            "type": "event_callback",
            "event_id": f"EvB{phase:03d}x{index:06d}",
            "event_time": 1_750_000_000 + phase,
        }
    ).encode()


async def drive(
    http: aiohttp.ClientSession, target: Server, phase: int, events: int, concurrency: int
) -> Phase:
    """Send `events` signed message events at `concurrency`; time each acknowledgement."""
    bodies = [message_event(phase, i) for i in range(events)]
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    latencies: list[float] = []
    failures = 0

    async def worker() -> None:
        nonlocal failures
        while not queue.empty():
            body = queue.get_nowait()
            headers = signed_headers(body, secret=SECRET)
            started = time.perf_counter()
            async with http.post(target.url + "/slack/events", data=body, headers=headers) as r:
                await r.read()
                latencies.append(time.perf_counter() - started)
                failures += r.status != 200

    server_cpu, client_cpu = process_cpu(target.process.pid), time.process_time()
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    return Phase(
        target.name,
        events,
        seconds,
        latencies,
        failures,
        server_cpu=process_cpu(target.process.pid) - server_cpu,
        client_cpu=time.process_time() - client_cpu,
    )


COUNT_PHASE = (
    "SELECT count(*) FROM messages WHERE community_id = "
    "(SELECT id FROM communities WHERE channel = {0}) AND message_id BETWEEN {1} AND {2}"
)
"""Messages of one phase: a range over the (community, message id) index, so polling stays
cheap however many messages earlier phases left (it shares the machine with the server)."""


def phase_bounds(phase: int) -> tuple[str, str, str]:
    stamp = 1_750_000_000 + phase
    return CHANNEL, f"{stamp}.000000", f"{stamp}.999999"


class SqliteStore:
    """Hearth's default database: a SQLite file in the scratch folder, read directly."""

    def __init__(self, scratch: Path) -> None:
        self.path = scratch / "bench.db"
        self.url = f"sqlite+aiosqlite:///{self.path}"
        self._connection: sqlite3.Connection | None = None

    async def count(self, phase: int) -> int:
        if self._connection is None:  # the file exists once Hearth has started
            self._connection = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
        query = COUNT_PHASE.format("?", "?", "?")
        return int(self._connection.execute(query, phase_bounds(phase)).fetchone()[0])

    async def present(self, event_id: str) -> bool:
        assert self._connection is not None
        query = PRESENT.format("?", "?")
        return bool(self._connection.execute(query, (f"slack:{event_id}", event_id)).fetchone()[0])

    async def close(self) -> None:
        if self._connection is not None:
            self._connection.close()


class PostgresStore:
    """A fresh database on the PostgreSQL server at `server_url`, dropped afterwards."""

    def __init__(self, server_url: str) -> None:
        self.server = make_url(server_url)
        self.name = f"hearth_bench_{os.getpid()}"
        self.url = self.server.set(database=self.name).render_as_string(hide_password=False)
        self._admin: asyncpg.Connection | None = None
        self._reader: asyncpg.Connection | None = None
        self._reading = asyncio.Lock()

    def _dsn(self, database: str) -> str:
        url = self.server.set(drivername="postgresql", database=database)
        return url.render_as_string(hide_password=False)

    async def open(self) -> None:
        try:
            self._admin = await asyncpg.connect(self._dsn(self.server.database or "postgres"))
        except (OSError, asyncpg.PostgresError) as error:
            raise SystemExit(f"--postgres: cannot reach {self.server!r}: {error}") from error
        await self._admin.execute(f'CREATE DATABASE "{self.name}"')

    async def count(self, phase: int) -> int:
        if self._reader is None:
            self._reader = await asyncpg.connect(self._dsn(self.name))
        return int(
            await self._reader.fetchval(COUNT_PHASE.format("$1", "$2", "$3"), *phase_bounds(phase))
        )

    async def present(self, event_id: str) -> bool:
        assert self._reader is not None
        async with self._reading:  # one connection: one query at a time
            found = await self._reader.fetchval(
                PRESENT.format("$1", "$2"), f"slack:{event_id}", event_id
            )
        return bool(found)

    async def close(self) -> None:
        if self._reader is not None:
            await self._reader.close()
        if self._admin is not None:
            await self._admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            await self._admin.close()


Store = SqliteStore | PostgresStore


async def wait_stored(store: Store, phase: int, events: int, started: float) -> tuple[int, float]:
    """Poll the database until it holds all `events` of `phase`; (stored, seconds since start)."""
    deadline = time.monotonic() + STORE_TIMEOUT
    stored = 0
    while time.monotonic() < deadline:
        stored = await store.count(phase)
        if stored >= events:
            break
        await asyncio.sleep(STORE_POLL)
    return stored, time.perf_counter() - started


async def probe_window(
    http: aiohttp.ClientSession,
    hearth: Server,
    store: Store,
    phase: int,
    events: int,
    concurrency: int,
) -> list[float]:
    """Send `events` events; for each, seconds from its 200 until the database holds it (0.0
    when it is there as the 200 arrives)."""
    queue = [message_event(phase, i) for i in range(events)]
    windows: list[float] = []

    async def worker() -> None:
        while queue:
            body = queue.pop()
            event_id = json.loads(body)["event_id"]
            headers = signed_headers(body, secret=SECRET)
            async with http.post(hearth.url + "/slack/events", data=body, headers=headers) as r:
                await r.read()
                acked = time.perf_counter()
                if r.status != 200:
                    continue
            if await store.present(event_id):  # already durable when the 200 came
                windows.append(0.0)
                continue
            while not await store.present(event_id):
                if time.perf_counter() - acked > STORE_TIMEOUT:
                    raise SystemExit(f"{event_id} was acknowledged and never stored")
                await asyncio.sleep(STORE_POLL / 5)
            windows.append(time.perf_counter() - acked)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return windows


async def set_up_community(http: aiohttp.ClientSession, hearth: Server, fake: FakeSlackApi) -> None:
    """`/cop setup` in the benchmark channel, signed, as Slack sends a slash command."""
    body = urlencode(
        {
            "team_id": TEAM,
            "channel_id": CHANNEL,
            "channel_name": "bench",
            "user_id": USERS[0],
            "user_name": "bench",
            "command": "/cop",
            "text": "setup Benchmarking",
            "response_url": fake.response_url("setup"),
            "trigger_id": "1.2.3",
        }
    ).encode()
    headers = signed_headers(body, secret=SECRET, content_type="application/x-www-form-urlencoded")
    async with http.post(hearth.url + "/slack/events", data=body, headers=headers) as response:
        if response.status != 200:
            raise SystemExit(f"/cop setup answered {response.status}: {await response.text()}")
    deadline = time.monotonic() + READY_TIMEOUT
    while not fake.responses_for("setup"):
        if time.monotonic() > deadline:
            raise SystemExit(f"/cop setup never answered:\n{hearth.log.read_text()[-3000:]}")
        await asyncio.sleep(0.02)
    text = fake.responses_for("setup")[0].get("text", "")
    if "is now a community" not in text:
        raise SystemExit(f"/cop setup failed: {text}")


@contextlib.asynccontextmanager
async def servers(
    fake: FakeSlackApi, scratch: Path, postgres: str | None
) -> AsyncIterator[tuple[Server, Server, Store]]:
    """The bare bolt app and `hearth serve`, both ready; plus Hearth's database."""
    store: Store = SqliteStore(scratch) if postgres is None else PostgresStore(postgres)
    if isinstance(store, PostgresStore):
        await store.open()
    env = {
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "HEARTH_SECRET": "bench-" + "0" * 32,
        "SLACK_API_URL": fake.base_url,
        "DATABASE_URL": store.url,
    }
    hearth_argv = [sys.executable, "-m", "hearth.bot.cli", "serve"]
    try:
        with (
            server(
                "bare", [sys.executable, str(ROOT / "bench" / "bare_app.py")], env, scratch
            ) as bare,
            server("hearth", hearth_argv, env, scratch) as hearth,
        ):
            yield bare, hearth, store
    finally:
        await store.close()


async def run(args: argparse.Namespace) -> int:
    users = {u: {"name": f"member{u[1:]}", "real_name": f"Member {u[1:]}"} for u in USERS}
    with tempfile.TemporaryDirectory(prefix="hearth-bench-") as scratch_dir:
        scratch = Path(scratch_dir)
        async with (
            FakeSlackApi(users=users) as fake,
            aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=args.concurrency + 4)
            ) as http,
            servers(fake, scratch, args.postgres) as (bare, hearth, store),
        ):
            await asyncio.gather(wait_ready(http, bare), wait_ready(http, hearth))
            await set_up_community(http, hearth, fake)
            phase = 0
            # warm-up: auth.test, users.info for every user, connection pools, code paths
            for target in (bare, hearth):
                phase += 1
                await drive(http, target, phase, WARMUP, args.concurrency)
            await wait_stored(store, phase, WARMUP, time.perf_counter())

            results: list[Phase] = []
            for round_number in range(1, args.rounds + 1):
                for target in (bare, hearth):
                    phase += 1
                    result = await drive(http, target, phase, args.events, args.concurrency)
                    if target is hearth:
                        acked_cpu = process_cpu(hearth.process.pid)
                        started = time.perf_counter() - result.seconds
                        acked = args.events - result.failures  # a 503 is not stored
                        result.stored, result.stored_seconds = await wait_stored(
                            store, phase, acked, started
                        )
                        result.server_cpu += process_cpu(hearth.process.pid) - acked_cpu
                    results.append(result)
                    print(f"round {round_number}: {describe(result)}", flush=True)
            in_burst = await durable_quantiles(http, hearth)  # before the probe adds its own
            windows = await probe_window(
                http, hearth, store, phase + 1, args.probe, args.concurrency
            )
            violations = list(fake.violations)
        code = report(args, results, violations)
        ordered = sorted(windows)

        def ms(p: float) -> str:
            return f"{ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000:.1f}"

        print(
            f"ack-to-durable window ({len(ordered)} events probed, from each 200 to finding the "
            f"event in the database): p50 {ms(50)} ms, p99 {ms(99)} ms, max {ms(100)} ms; "
            f"{sum(w == 0 for w in ordered)} already there when their 200 arrived"
        )
        print(
            "ack-to-commit window inside Hearth during the rounds (its /metrics, last 10,000 "
            "events): " + ", ".join(f"{q} {v * 1000:.1f} ms" for q, v in in_burst.items())
        )
        return code


async def durable_quantiles(http: aiohttp.ClientSession, hearth: Server) -> dict[str, float]:
    """`hearth_event_durable_seconds` from Hearth's /metrics, by quantile (p50, p99, max)."""
    names = {"0.5": "p50", "0.99": "p99", "1.0": "max"}
    async with http.get(hearth.url + "/metrics") as response:
        text = await response.text()
    found = {}
    for family in text_string_to_metric_families(text):
        if family.name == "hearth_event_durable_seconds":
            for sample in family.samples:
                found[names[sample.labels["quantile"]]] = sample.value
    return found


def describe(phase: Phase) -> str:
    stored = (
        ""
        if phase.stored is None
        else f", stored {phase.stored}/{phase.events} at {phase.stored_rate:,.0f} ev/s"
    )
    return (
        f"{phase.server:<6} {phase.rate:8,.0f} ev/s acked, p50 {phase.percentile(50):6.1f} ms, "
        f"p99 {phase.percentile(99):6.1f} ms, failures {phase.failures}{stored}; "
        f"server CPU {phase.server_cpu_per_event * 1e6:,.0f} us/event, "
        f"load generator CPU {phase.client_cpu / phase.seconds:.0%}"
    )


def report(args: argparse.Namespace, results: list[Phase], violations: list[str]) -> int:
    """Print the medians table and ratios; 0 when every event was acknowledged and stored."""
    bare = [r for r in results if r.server == "bare"]
    hearth = [r for r in results if r.server == "hearth"]

    def median(values: list[float]) -> float:
        return statistics.median(values)

    rows = [
        ("bare bolt", bare, None),
        ("hearth", hearth, [r.stored_rate or 0.0 for r in hearth]),
    ]
    print()
    print(
        f"{args.events} events x {args.rounds} rounds, concurrency {args.concurrency} "
        f"(medians over rounds)"
    )
    print(f"{'server':<10} {'ack ev/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'stored ev/s':>12} stored")
    for label, phases, stored_rates in rows:
        stored = "-" if stored_rates is None else f"{median(stored_rates):,.0f}"
        count = (
            "-"
            if stored_rates is None
            else f"{min(r.stored or 0 for r in phases)}/{args.events} (min)"
        )
        print(
            f"{label:<10} {median([r.rate for r in phases]):>10,.0f} "
            f"{median([r.percentile(50) for r in phases]):>8.1f} "
            f"{median([r.percentile(99) for r in phases]):>8.1f} {stored:>12} {count}"
        )
    pairs = list(zip(bare, hearth, strict=True))  # each round: bare, then hearth right after

    def ratio(measure: Callable[[Phase, Phase], float]) -> float:
        """Median over rounds of hearth/bare within a round (neighbours share machine noise)."""
        return median([measure(b, h) for b, h in pairs])

    ack_ratio = ratio(lambda b, h: h.rate / b.rate)
    stored_ratio = ratio(lambda b, h: (h.stored_rate or 0.0) / b.rate)
    print("ratios: medians over rounds of hearth/bare within each round")
    print(f"hearth/bare ack throughput:    {ack_ratio:.2f}x (target >= {TARGET}x)")
    print(f"hearth stored / bare ack:      {stored_ratio:.2f}x (target >= {TARGET}x)")
    p99_ratio = ratio(lambda b, h: h.percentile(99) / b.percentile(99))
    print(f"hearth/bare p99 ack latency:   {p99_ratio:.2f}x")
    cpu_ratio = ratio(lambda b, h: h.server_cpu_per_event / b.server_cpu_per_event)
    print(f"hearth/bare server CPU/event:  {cpu_ratio:.2f}x (through storage, all threads)")
    complete = all(r.stored == r.events for r in hearth) and not any(r.failures for r in results)
    print(f"every event acknowledged and stored: {'yes' if complete else 'NO'}")
    if violations:
        print(f"fake Slack API saw {len(violations)} spec violations, first: {violations[0]}")
    met = complete and min(ack_ratio, stored_ratio) >= TARGET
    print(f"target met: {'yes' if met else 'no'}")
    return 0 if complete else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10000, help="events per phase")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight")
    parser.add_argument("--rounds", type=int, default=5, help="bare/hearth alternations")
    parser.add_argument("--probe", type=int, default=1000, help="events probed for the window")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="run Hearth on a fresh database on this PostgreSQL server (default: SQLite), "
        "e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/postgres",
    )
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
