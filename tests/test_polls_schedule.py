"""The times people type: durations, local dates, and the `--every` grammar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger

from hearth.handlers.schedules import TimeError, format_moment, parse_duration, parse_moment
from hearth.scheduler.rules import FirstOccurrence, parse_rule

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
    ("text", "described"),
    [
        ("daily 09:00", "every day at 09:00"),
        ("every day at 7pm", "every day at 19:00"),
        ("every monday 09:30", "every Monday at 09:30"),
        ("weekly Friday 16:00", "every Friday at 16:00"),
        ("Wednesdays", "every Wednesday at 09:00"),
        ("first monday 10:00", "on the first Monday of each month at 10:00"),
        ("every last fri of the month at 4:30pm", "on the last Friday of each month at 16:30"),
        ("last friday 16:00", "on the last Friday of each month at 16:00"),
        ("monthly 1 10:00", "on day 1 of each month at 10:00"),
        ("monthly 31st", "on day 31 of each month at 09:00"),
        # Where CronTrigger makes it free:
        ("weekdays 09:00", "every weekday at 09:00"),
        ("weekends 10am", "every Saturday and Sunday at 10:00"),
        ("monday and thursday 10:00", "every Monday and Thursday at 10:00"),
        ("fri, mon, wed 8:15", "every Monday, Wednesday and Friday at 08:15"),
    ],
)
def test_the_every_grammar(text: str, described: str) -> None:
    assert parse_rule(text).describe() == described


@pytest.mark.parametrize(
    "text",
    [
        "fortnightly",
        "every",
        "fifth monday",
        "monthly 32",
        "daily 25:00",
        "daily 13pm",
        "monday and someday",
    ],
)
def test_schedules_we_cannot_read_say_what_we_can(text: str) -> None:
    with pytest.raises(TimeError):
        parse_rule(text)


def test_a_rule_compiles_to_an_apscheduler_cron_trigger_in_the_zone() -> None:
    trigger = parse_rule("first monday 10:00").trigger("Europe/London")
    assert isinstance(trigger, FirstOccurrence)
    assert isinstance(trigger.trigger, CronTrigger)
    assert str(trigger.trigger) == "cron[day='1st mon', hour='10', minute='0', second='0']"
    assert trigger.trigger.timezone == ZoneInfo("Europe/London")


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
        ("monthly 31 10:00", utc(2027, 3, 31, 11), "UTC", utc(2027, 4, 30, 10)),
        ("monthly 30 10:00", utc(2028, 1, 30, 11), "UTC", utc(2028, 2, 29, 10)),  # leap year
        ("monthly 29 10:00", utc(2028, 1, 29, 11), "UTC", utc(2028, 2, 29, 10)),
        ("monthly 29 10:00", utc(2028, 2, 29, 11), "UTC", utc(2028, 3, 29, 10)),  # once
        ("weekdays 09:00", utc(2026, 12, 4, 10), "UTC", utc(2026, 12, 7, 9)),  # Fri → Mon
        # Wall-clock time in the community's zone, across a daylight-saving change:
        ("every monday 10:00", utc(2027, 3, 22, 12), "Europe/London", utc(2027, 3, 29, 9)),
        ("every monday 10:00", utc(2026, 12, 1), "America/New_York", utc(2026, 12, 7, 15)),
    ],
)
def test_next_occurrence(text: str, after: datetime, zone: str, expected: datetime) -> None:
    assert parse_rule(text).next_after(after, zone) == expected
