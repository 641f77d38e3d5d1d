"""Calendar arithmetic of the community's rhythm, in the community's own time zone."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hearth.handlers.commands import UsageError

MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")


def local(moment: datetime, zone: str) -> datetime:
    return moment.astimezone(ZoneInfo(zone))


def at_local(day: date, clock: time, zone: str) -> datetime:
    """`clock` on `day` in `zone`, in UTC (the wall-clock time, whatever the offset that day)."""
    return datetime.combine(day, clock, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def month_start(month: str) -> date:
    year, number = month.split("-")
    return date(int(year), int(number), 1)


def next_month(month: str) -> str:
    start = month_start(month)
    return month_of((start + timedelta(days=32)).replace(day=1))


def previous_month(month: str) -> str:
    return month_of(month_start(month) - timedelta(days=1))


def parse_month(text: str) -> str:
    """`2027-01` checked; UsageError otherwise."""
    match = MONTH.fullmatch(text.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise UsageError(f"“{text}” is not a month; write it like 2027-01.")
    return text.strip()


def month_name(month: str) -> str:
    return f"{month_start(month):%B %Y}"


def working_day(month: str, number: int) -> date:
    """The `number`th working day (Monday to Friday) of the month."""
    day = month_start(month)
    seen = 0
    while True:
        if day.weekday() < 5:
            seen += 1
            if seen == number:
                return day
        day += timedelta(days=1)


def working_day_from(day: date) -> date:
    """`day`, or the first working day after it."""
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def shown(moment: datetime, zone: str) -> str:
    """`Mon 4 Jan 10:00 GMT`: a moment as the community reads it."""
    when = local(moment, zone)
    return f"{when:%a} {when.day} {when:%b %H:%M} {when.tzname()}"


def shown_day(moment: datetime, zone: str) -> str:
    """`Mon 4 Jan`."""
    when = local(moment, zone)
    return f"{when:%a} {when.day} {when:%b}"
