"""The times people type: durations, local dates, and the `--every` grammar."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from hearth.handlers.schedules import (
    Schedule,
    TimeError,
    format_moment,
    parse_duration,
    parse_moment,
    parse_schedule,
)

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # a Tuesday


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90m", 5400), ("4h", 14400), ("3d", 259200), ("2w", 1209600), ("3 days", 259200)],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["3x", "d3", "", "1.5h", "2026-12-08"])
def test_not_durations(text: str) -> None:
    assert parse_duration(text) is None


@pytest.mark.parametrize(
    ("text", "zone", "moment"),
    [
        ("3d", "UTC", utc(2026, 12, 4, 9, 0)),
        ("2026-12-08 17:00", "UTC", utc(2026, 12, 8, 17, 0)),
        ("2026-12-08T17:00", "America/New_York", utc(2026, 12, 8, 22, 0)),
        ("2026-12-08", "Europe/Paris", utc(2026, 12, 8, 22, 59)),  # 23:59 local
        ("2026-12-08T17:00+01:00", "UTC", utc(2026, 12, 8, 16, 0)),
    ],
)
def test_moments_are_local_to_the_community(text: str, zone: str, moment: datetime) -> None:
    assert parse_moment(text, zone, NOW) == moment


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("soon", "is not a time"),
        ("2026-11-30 17:00", "Mon 30 Nov 17:00 UTC has already passed"),
        ("60w", "more than a year away"),
    ],
)
def test_bad_moments_say_why(text: str, message: str) -> None:
    with pytest.raises(TimeError, match=message):
        parse_moment(text, "UTC", NOW)


def test_moments_are_shown_in_the_community_time_zone() -> None:
    assert format_moment(utc(2026, 12, 8, 22, 0), "America/New_York") == "Tue 8 Dec 17:00 EST"
    assert format_moment(utc(2026, 7, 8, 8, 0), "Europe/London") == "Wed 8 Jul 09:00 BST"


@pytest.mark.parametrize(
    ("text", "schedule", "described"),
    [
        ("daily 09:00", Schedule("daily", time(9)), "every day at 09:00"),
        ("every day at 7pm", Schedule("daily", time(19)), "every day at 19:00"),
        ("every monday 09:30", Schedule("weekly", time(9, 30)), "every Monday at 09:30"),
        ("weekly Friday 16:00", Schedule("weekly", time(16), weekday=4), "every Friday at 16:00"),
        ("Wednesdays", Schedule("weekly", time(9), weekday=2), "every Wednesday at 09:00"),
        (
            "first monday 10:00",
            Schedule("nth", time(10), weekday=0, nth=1),
            "on the first Monday of each month at 10:00",
        ),
        (
            "every last fri of the month at 4:30pm",
            Schedule("nth", time(16, 30), weekday=4, nth=-1),
            "on the last Friday of each month at 16:30",
        ),
        (
            "monthly 1 10:00",
            Schedule("monthday", time(10), day=1),
            "on day 1 of each month at 10:00",
        ),
        ("monthly 31st", Schedule("monthday", time(9), day=31), "on day 31 of each month at 09:00"),
    ],
)
def test_the_every_grammar(text: str, schedule: Schedule, described: str) -> None:
    assert parse_schedule(text) == schedule
    assert schedule.describe() == described


@pytest.mark.parametrize(
    "text", ["fortnightly", "every", "fifth monday", "monthly 32", "daily 25:00", "daily 13pm"]
)
def test_schedules_we_cannot_read_say_what_we_can(text: str) -> None:
    with pytest.raises(TimeError):
        parse_schedule(text)


@pytest.mark.parametrize(
    ("text", "after", "zone", "expected"),
    [
        # A Tuesday 09:00: today's 10:00 is still ahead; Monday is next week.
        ("daily 10:00", NOW, "UTC", utc(2026, 12, 1, 10)),
        ("daily 09:00", NOW, "UTC", utc(2026, 12, 2, 9)),  # strictly after
        ("every monday 10:00", NOW, "UTC", utc(2026, 12, 7, 10)),
        ("every tuesday 10:00", NOW, "UTC", utc(2026, 12, 1, 10)),
        ("first monday 10:00", NOW, "UTC", utc(2026, 12, 7, 10)),
        ("first monday 10:00", utc(2026, 12, 7, 10), "UTC", utc(2027, 1, 4, 10)),
        ("last friday 16:00", NOW, "UTC", utc(2026, 12, 25, 16)),
        ("monthly 1 10:00", NOW, "UTC", utc(2026, 12, 1, 10)),
        ("monthly 1 09:00", NOW, "UTC", utc(2027, 1, 1, 9)),
        ("monthly 31 10:00", utc(2027, 1, 31, 11), "UTC", utc(2027, 2, 28, 10)),  # month's end
        # Wall-clock time in the community's zone, across a daylight-saving change:
        ("every monday 10:00", utc(2027, 3, 22, 12), "Europe/London", utc(2027, 3, 29, 9)),
        ("every monday 10:00", utc(2026, 12, 1), "America/New_York", utc(2026, 12, 7, 15)),
    ],
)
def test_next_occurrence(text: str, after: datetime, zone: str, expected: datetime) -> None:
    assert parse_schedule(text).next_after(after, zone) == expected
