"""Times people type: durations (`3d`), dates in a community's time zone, and the words of
repeat rules (`--every`), which `hearth/scheduler/rules.py` reads and compiles to triggers.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from hearth.handlers.cards import typed

DURATION = re.compile(
    r"([0-9]{1,4})\s*(m|min|mins|h|hr|hrs|d|day|days|w|wk|wks|week|weeks)", re.ASCII
)
CLOCK_ONLY = re.compile(r"(?:at )?([0-9]{1,2}):([0-9]{2})", re.ASCII)
DATE_TIME = re.compile(
    r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})"
    r"(?:[ T]([0-9]{1,2}):([0-9]{2})(?:(Z)|([+-])([0-9]{2}):?([0-9]{2}))?)?",
    re.ASCII | re.IGNORECASE,
)
UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_AHEAD = timedelta(days=366)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
ORDINALS = {
    **{"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1},
    **{"1st": 1, "2nd": 2, "3rd": 3, "4th": 4},
}
CLOCK = re.compile(r"(?:at\s+)?(\d{1,2})(?::(\d{2}))?\s*(am|pm)?")
DEFAULT_TIME = time(9, 0)
EVERY_EXAMPLES = '"every monday 09:30", "first monday 10:00", "monthly 1 10:00", "daily 09:00"'


class TimeError(ValueError):
    """Text that is not a time we understand; the message says what we expected."""


def parse_duration(text: str) -> timedelta | None:
    """`90m`, `4h`, `3d`, `2w` (also `3 days`, ASCII digits); None when `text` is not one."""
    match = DURATION.fullmatch(text.strip().lower())
    if not match:
        return None
    return timedelta(seconds=int(match.group(1)) * UNIT_SECONDS[match.group(2)[0]])


def parse_moment(text: str, zone: str, now: datetime) -> datetime:
    """A duration from `now`; a clock time (`17:00`: the next 17:00 in `zone`, today or
    tomorrow); or a date (`2026-12-08`: 23:59 that day) with an optional time
    (`2026-12-08 17:00`, `2026-12-08T17:00`) in `zone`, or at an offset (`…17:00Z`,
    `…17:00+01:00`).

    The result is in UTC, after `now` and at most a year ahead; TimeError says what is wrong.
    """
    text = " ".join(text.split())
    tz = ZoneInfo(zone)
    duration = parse_duration(text)
    clock = CLOCK_ONLY.fullmatch(text.lower())
    written = DATE_TIME.fullmatch(text)
    if duration is not None:
        if not duration:
            raise TimeError("Give a time after now, like 3d or 17:00.")
        moment = now + duration
    elif clock:
        at = _clock(clock.group(1), clock.group(2), text)
        local = now.astimezone(tz)
        candidate = datetime.combine(local.date(), at, tz)
        if candidate <= local:
            candidate = datetime.combine(local.date() + timedelta(days=1), at, tz)
        moment = candidate.astimezone(UTC)
    elif written:
        year, month, day = (int(written.group(n)) for n in (1, 2, 3))
        if abs(year - now.year) > 1:
            raise TimeError(
                f"{year} is too far away; pick a time within a year from now."
                if year > now.year
                else f"{year} has already passed."
            )
        try:
            on = date(year, month, day)
        except ValueError as error:
            raise TimeError(f"“{typed(text)}” is not a date.") from error
        at = time(23, 59)
        if written.group(4) is not None:
            at = _clock(written.group(4), written.group(5), text)
        where: tzinfo = tz
        if written.group(6):
            where = UTC
        elif written.group(7):
            hours, minutes = int(written.group(8)), int(written.group(9))
            if hours > 14 or minutes > 59:
                raise TimeError(f"“{typed(text)}” has an offset from UTC that no place has.")
            sign = -1 if written.group(7) == "-" else 1
            where = timezone(sign * timedelta(hours=hours, minutes=minutes))
        moment = datetime.combine(on, at, where).astimezone(UTC)
    else:
        raise TimeError(
            f"“{typed(text[:40])}” is not a time: give a duration (90m, 4h, 3d, 2w), a time of day "
            "(17:00) or a date and time (2026-12-08 17:00)."
        )
    if moment <= now:
        raise TimeError(f"{format_moment(moment, zone, now=now)} has already passed.")
    if moment - now > MAX_AHEAD:
        raise TimeError("That is more than a year away; pick something sooner.")
    return moment


def _clock(hour: str, minute: str, text: str) -> time:
    if int(hour) > 23 or int(minute) > 59:
        raise TimeError(f"“{typed(text)}” is not a time of day.")
    return time(int(hour), int(minute))


def format_moment(moment: datetime, zone: str, *, now: datetime | None = None) -> str:
    """`Tue 8 Dec 09:00 UTC` in the community's time zone, with the year (`Tue 8 Dec 2027
    09:00 UTC`) when it is not the year of `now` there."""
    tz = ZoneInfo(zone)
    local = moment.astimezone(tz)
    year = f" {local.year}" if now is not None and now.astimezone(tz).year != local.year else ""
    return f"{local:%a} {local.day} {local:%b}{year} {local:%H:%M} {local.tzname()}"
