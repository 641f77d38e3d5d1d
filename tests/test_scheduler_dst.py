"""Recurring rules across daylight-saving changes, fired by the scheduler on simulated time:
wall-clock time in the community's zone, and once in the hour a fall-back repeats."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from hearth.handlers import build_registry
from hearth.handlers.context import Context, Defaults
from hearth.handlers.events import CommandInvoked
from hearth.handlers.hub import Hearth
from hearth.handlers.jobs import JobDue
from hearth.scheduler.scheduler import Scheduler
from hearth.storage.db import Database
from tests.recording import RecordingMessenger, SettableClock


async def fired(db: Database, zone: str, rule: str, start: datetime, until: datetime) -> list:
    """The local times at which `rule` fired in a community in `zone`, the clock moving from
    `start` to `until` the way the console moves it (to each due time in turn)."""
    registry = build_registry()
    times: list[datetime] = []

    @registry.every("test.rule", rule)
    async def record(context: Context, job: JobDue) -> None:
        assert job.period is not None
        times.append(job.period.astimezone(ZoneInfo(zone)))

    clock = SettableClock(start)
    hub = Hearth(db, registry, {"test": RecordingMessenger()}, clock, Defaults(timezone=zone))
    await hub.handle(
        CommandInvoked(
            platform="test", workspace="W1", channel="C1", user="fran", at=start, text="setup"
        )
    )
    scheduler = Scheduler(hub, scopes=("community",))
    while (due := await scheduler.next_due()) is not None and due <= until:
        clock.set(max(due, clock.now()))
        await scheduler.run_due()
    return times


@pytest.mark.parametrize(
    ("zone", "changes"),
    [
        # 2027: BST from 28 March, GMT from 31 October; EDT from 14 March, EST from 7 November
        ("Europe/London", ("2027-03-28", "2027-10-31")),
        ("America/New_York", ("2027-03-14", "2027-11-07")),
    ],
)
async def test_a_weekly_rule_stays_at_nine_local_across_both_changes(
    db: Database, zone: str, changes: tuple[str, str]
) -> None:
    start, until = datetime(2027, 3, 1, tzinfo=UTC), datetime(2027, 11, 30, tzinfo=UTC)
    times = await fired(db, zone, "every monday 09:00", start, until)
    assert len(times) == 40  # every Monday from 1 March to 29 November 2027, once each
    assert {(t.strftime("%a %H:%M")) for t in times} == {"Mon 09:00"}
    assert [(b - a).days for a, b in pairwise(times)] == [7] * 39
    offsets = {t.utcoffset() for t in times}
    assert len(offsets) == 2  # both sides of each change
    spring, autumn = (datetime.fromisoformat(c).date() for c in changes)
    before, after = (t for t in times if t.date() < spring), (t for t in times if t.date() > spring)
    assert {t.utcoffset() for t in before} != {t.utcoffset() for t in after}
    assert {t.utcoffset() for t in times if t.date() > autumn} == {
        t.utcoffset() for t in times if t.date() < spring
    }


async def test_a_daily_rule_in_the_repeated_hour_fires_once_on_the_fall_back_day(
    db: Database,
) -> None:
    zone = "America/New_York"  # 1 November 2026: 01:00-02:00 happens twice
    start, until = datetime(2026, 10, 30, tzinfo=UTC), datetime(2026, 11, 3, 12, tzinfo=UTC)
    times = await fired(db, zone, "daily 01:30", start, until)
    assert [t.strftime("%d %H:%M %Z") for t in times] == [
        "30 01:30 EDT",
        "31 01:30 EDT",
        "01 01:30 EDT",  # the first 01:30, not the second (01:30 EST, an hour later)
        "02 01:30 EST",
        "03 01:30 EST",
    ]


async def test_a_daily_rule_in_the_skipped_hour_fires_once_on_the_spring_forward_day(
    db: Database,
) -> None:
    zone = "America/New_York"  # 8 March 2026: 02:00-03:00 does not happen
    start, until = datetime(2026, 3, 6, 12, tzinfo=UTC), datetime(2026, 3, 10, 12, tzinfo=UTC)
    times = await fired(db, zone, "daily 02:30", start, until)
    assert [t.strftime("%d") for t in times] == ["07", "08", "09", "10"]
