"""Times people type: durations (`3d`), dates in a community's time zone, and the words of
repeat rules (`--every`), which `hearth/scheduler/rules.py` reads and compiles to triggers.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

DURATION = re.compile(r"(\d{1,4})\s*(m|min|mins|h|hr|hrs|d|day|days|w|wk|wks|week|weeks)")
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
    """`90m`, `4h`, `3d`, `2w` (also `3 days`); None when `text` is not a duration."""
    match = DURATION.fullmatch(text.strip().lower())
    if not match:
        return None
    return timedelta(seconds=int(match.group(1)) * UNIT_SECONDS[match.group(2)[0]])


def parse_moment(text: str, zone: str, now: datetime) -> datetime:
    """A duration from `now`, or an ISO date/time in `zone` (a date alone: 23:59 that day).

    The result is in UTC, after `now` and at most a year ahead.
    """
    text = text.strip()
    duration = parse_duration(text)
    if duration is not None:
        moment = now + duration
    else:
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError as error:
            raise TimeError(
                f"“{text}” is not a time: give a duration (90m, 4h, 3d, 2w) "
                "or a date and time (2026-12-08 17:00)."
            ) from error
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            parsed = datetime.combine(parsed.date(), time(23, 59))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=ZoneInfo(zone))
        moment = parsed.astimezone(UTC)
    if moment <= now:
        raise TimeError(f"{format_moment(moment, zone)} has already passed.")
    if moment - now > MAX_AHEAD:
        raise TimeError("That is more than a year away; pick something sooner.")
    return moment


def format_moment(moment: datetime, zone: str) -> str:
    """`Tue 8 Dec 09:00 UTC`, in the community's time zone."""
    local = moment.astimezone(ZoneInfo(zone))
    return f"{local:%a} {local.day} {local:%b %H:%M} {local.tzname()}"
