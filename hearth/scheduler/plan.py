"""The recurring jobs that exist now, and which of their periods are due.

A declaration `per="community"` is one job per community it applies to (named
`<name>@community:<id>`, in the community's zone); `per="platform"` one per platform served
(`<name>@<platform>`, in the server's default zone). Which periods are due follows APScheduler's
rules: each period after the last recorded one, up to now; with `coalesce` only the latest; one
more than `misfire_grace` late is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from apscheduler.triggers.base import BaseTrigger
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hearth.handlers.context import Defaults
from hearth.handlers.registry import Registry
from hearth.scheduler.declarations import Recurring
from hearth.storage.models import Community

MAX_MISSED = 10_000
"""Most missed periods looked at for one job (a minutely rule down for a week)."""


@dataclass(frozen=True)
class PlannedJob:
    """One recurring job: a declaration in one community (or platform), with its trigger."""

    name: str
    declaration: Recurring
    trigger: BaseTrigger
    platform: str
    workspace: str = ""
    channel: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    since: datetime | None = None
    """Nothing is due before this (the community's creation)."""

    def after(self, period: datetime) -> datetime | None:
        """The first period strictly after `period`."""
        return self.trigger.get_next_fire_time(period, period)


class Triggers:
    """Each declaration's trigger per time zone, built once (triggers keep no state)."""

    def __init__(self) -> None:
        self._built: dict[tuple[str, str], BaseTrigger] = {}

    def of(self, declaration: Recurring, zone: str) -> BaseTrigger:
        key = (declaration.name, zone)
        if key not in self._built:
            self._built[key] = declaration.rule.trigger(zone)
        return self._built[key]


async def planned(
    session: AsyncSession,
    registry: Registry,
    platforms: list[str],
    defaults: Defaults,
    scopes: tuple[str, ...],
    triggers: Triggers,
) -> list[PlannedJob]:
    """Every recurring job that exists now on these platforms."""
    jobs: list[PlannedJob] = []
    declarations = [d for d in registry.recurring.values() if d.per in scopes]
    if any(d.per == "community" for d in declarations):
        communities = list(
            await session.scalars(
                select(Community).where(Community.platform.in_(platforms)).order_by(Community.id)
            )
        )
    else:
        communities = []
    for declaration in declarations:
        if declaration.per == "platform":
            trigger = triggers.of(declaration, defaults.timezone)
            jobs += [
                PlannedJob(f"{declaration.name}@{platform}", declaration, trigger, platform)
                for platform in platforms
            ]
            continue
        for community in communities:
            if declaration.applies is not None and not declaration.applies(community, defaults):
                continue
            jobs.append(
                PlannedJob(
                    f"{declaration.name}@community:{community.id}",
                    declaration,
                    triggers.of(declaration, community.timezone),
                    community.platform,
                    community.workspace,
                    community.channel,
                    {"community": community.id},
                    community.created_at,
                )
            )
    return jobs


def first_candidate(
    job: PlannedJob, last: datetime | None, started: datetime, now: datetime
) -> datetime | None:
    """The first period to consider: after the last recorded one; for a job never run, from
    its community's creation (or when the scheduler `started`), but never earlier than could
    still be made up."""
    if last is not None:
        return job.after(last)
    begin = job.since or started
    grace = job.declaration.misfire_grace
    if grace is not None:
        begin = max(begin, now - grace)
    return job.trigger.get_next_fire_time(None, begin)


def due_periods(
    job: PlannedJob, candidate: datetime | None, now: datetime
) -> tuple[list[datetime], datetime | None]:
    """The periods to run now (in order) from `candidate` on, and the first one still ahead."""
    missed: list[datetime] = []
    while candidate is not None and candidate <= now and len(missed) < MAX_MISSED:
        missed.append(candidate)
        candidate = job.after(candidate)
    if job.declaration.coalesce:
        missed = missed[-1:]
    grace = job.declaration.misfire_grace
    if grace is not None:
        missed = [p for p in missed if now - p <= grace]
    return missed, candidate
