"""`/metrics`: the app's own prometheus-client registry, read at each scrape.

Three kinds of source feed it:
- a component's `counts` dataclass (the hub's, the outbox sender's, a worker's): each numeric
  field is one labelled sample of a counter, so a component plugs in with one `count(...)` line;
- database probes, run in one read at scrape time (outbox depth and lag), and dead-letter
  counts by where they are kept (the outbox's failed messages; a worker adds its own);
- the supervisor: per loop, up or not, seconds since its heartbeat, restarts;
- recent durations a component keeps (the journal's acknowledgement-to-commit windows), served
  as quantiles.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from hearth.bot.supervisor import Supervisor
from hearth.storage import firings, jobs, journal, outbox, stats
from hearth.storage.db import Database

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST
DATABASE_SECONDS = 5.0
"""How long a scrape waits for the database figures before serving the rest without them."""
QUANTILES = (0.5, 0.99, 1.0)
OUTBOX_STATUSES = (
    outbox.PENDING,
    outbox.SENDING,
    outbox.SENT,
    outbox.FAILED,
    outbox.SKIPPED,
    outbox.CANCELLED,
)

Probe = Callable[[AsyncSession, datetime], Awaitable[Iterable[Metric]]]
"""Reads figures from the database at scrape time (given the session and the time now)."""
DeadLetters = Callable[[AsyncSession], Awaitable[int]]
"""Counts the dead letters kept in one place."""


@dataclasses.dataclass(frozen=True)
class _Counts:
    name: str
    source: object
    documentation: str
    label: str
    rename: Mapping[str, str]

    def family(self) -> Metric | None:
        counts = getattr(self.source, "counts", None)
        if counts is None or not dataclasses.is_dataclass(counts):
            return None
        family = CounterMetricFamily(f"hearth_{self.name}", self.documentation, labels=[self.label])
        for field in dataclasses.fields(counts):
            value = getattr(counts, field.name)
            if isinstance(value, int | float) and not isinstance(value, bool):
                family.add_metric([self.rename.get(field.name, field.name)], value)
        return family


class Metrics:
    """Owns the registry `/metrics` renders (never prometheus-client's global default)."""

    def __init__(self, supervisor: Supervisor) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.supervisor = supervisor
        self._counts: list[_Counts] = []
        self._probes: list[Probe] = [outbox_probe]
        self._dead_letters: dict[str, DeadLetters] = {"outbox": outbox_dead_letters}
        self._probed: list[Metric] = []
        self._windows: list[tuple[str, str, Sequence[float]]] = []
        self.registry.register(self)

    def count(
        self,
        name: str,
        source: object,
        documentation: str,
        *,
        label: str = "outcome",
        rename: Mapping[str, str] | None = None,
    ) -> None:
        """Serve `source.counts` (a dataclass of numbers, read at each scrape) as the counter
        `hearth_<name>_total`, one sample per field labelled `label="<field name>"`
        (or its `rename`)."""
        self._counts.append(_Counts(name, source, documentation, label, dict(rename or {})))

    def quantiles(self, name: str, recent: Sequence[float], documentation: str) -> None:
        """Serve the p50, p99 and max of `recent` (read at each scrape) as the gauge
        `hearth_<name>{quantile=...}`."""
        self._windows.append((name, documentation, recent))

    def probe(self, probe: Probe) -> None:
        """Add a database probe, run at each scrape."""
        self._probes.append(probe)

    def dead_letters(self, source: str, query: DeadLetters) -> None:
        """Serve `query`'s count as `hearth_dead_letters{source="<source>"}`."""
        self._dead_letters[source] = query

    async def render(self, db: Database, now: datetime) -> bytes:
        """The Prometheus text exposition of everything, with fresh database figures (when the
        database answers: the rest is served without them)."""
        up = GaugeMetricFamily("hearth_database_up", "1 when the database answered this scrape.")
        try:
            async with asyncio.timeout(DATABASE_SECONDS):
                probed = await self._read(db, now)
        except (SQLAlchemyError, OSError, TimeoutError) as error:
            log.warning("/metrics without database figures: %s", error.__class__.__name__)
            probed = []
        up.add_metric([], 1 if probed else 0)
        self._probed = [up, *probed]  # no await from here on: one scrape's figures together
        return generate_latest(self.registry)

    async def _read(self, db: Database, now: datetime) -> list[Metric]:
        probed: list[Metric] = []
        dead = GaugeMetricFamily(
            "hearth_dead_letters",
            "Work that failed for good and waits for an operator, by where it is kept.",
            labels=["source"],
        )
        async with db.transaction() as session:
            for probe in self._probes:
                probed.extend(await probe(session, now))
            for source, query in sorted(self._dead_letters.items()):
                dead.add_metric([source], await query(session))
        return [*probed, dead]

    def collect(self) -> Iterator[Metric]:
        """prometheus-client's collector protocol (called by `generate_latest`)."""
        for counts in self._counts:
            family = counts.family()
            if family is not None:
                yield family
        yield from self._probed
        yield from self._loops()
        for name, documentation, recent in self._windows:
            ordered = sorted(recent)
            if ordered:
                family = GaugeMetricFamily(f"hearth_{name}", documentation, labels=["quantile"])
                for quantile in QUANTILES:
                    index = min(len(ordered) - 1, int(quantile * len(ordered)))
                    family.add_metric([str(quantile)], ordered[index])
                yield family

    def _loops(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "hearth_loop_up", "1 when the background loop runs and is not stalled.", labels=["loop"]
        )
        silent = GaugeMetricFamily(
            "hearth_loop_heartbeat_age_seconds",
            "Seconds since the background loop's last heartbeat.",
            labels=["loop"],
        )
        restarts = CounterMetricFamily(
            "hearth_loop_restarts",
            "Times the supervisor restarted the loop after it died.",
            labels=["loop"],
        )
        for name, status in sorted(self.supervisor.status().items()):
            up.add_metric([name], 1 if status.problem is None else 0)
            silent.add_metric([name], status.silent_for)
            restarts.add_metric([name], status.restarts)
        yield from (up, silent, restarts)


async def outbox_probe(session: AsyncSession, now: datetime) -> list[Metric]:
    """Outbox depth by status and the lag of what is due."""
    by_status = await outbox.count_by_status(session)
    depth = GaugeMetricFamily(
        "hearth_outbox_messages", "Outbox messages by status.", labels=["status"]
    )
    for status in sorted({*OUTBOX_STATUSES, *by_status}):
        depth.add_metric([status], by_status.get(status, 0))
    lag = GaugeMetricFamily(
        "hearth_outbox_lag_seconds",
        "How long the oldest message due now has waited past its due time.",
        value=await stats.outbox_lag(session, now),
    )
    return [depth, lag]


async def outbox_dead_letters(session: AsyncSession) -> int:
    """Outbox messages that failed for good."""
    return (await outbox.count_by_status(session)).get(outbox.FAILED, 0)


async def event_dead_letters(session: AsyncSession) -> int:
    """Acknowledged events that kept failing (`hearth events retry` replays them)."""
    return (await journal.count_by_status(session))[journal.DEAD]


async def job_dead_letters(session: AsyncSession) -> int:
    """Scheduled work that kept failing: one-shots and recurring periods."""
    return await jobs.count_dead(session) + await firings.count_dead(session)
