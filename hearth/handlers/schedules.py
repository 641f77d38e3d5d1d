"""Times people type: durations (`3d`), dates in a community's time zone, and repeat rules.

Repeat rules (`--every`), case-insensitive, the time optional (default 09:00):

- `daily 09:00`, `every day 09:00`
- `every monday 09:30`, `weekly friday 16:00`, `mondays 10:00`
- `first monday 10:00` (also second, third, fourth, last; `of the month` may follow the day)
- `monthly 1 10:00`, `monthly 31` (a day past the month's end means its last day)

Every time is wall-clock time in the community's time zone, so 10:00 stays 10:00 across
daylight-saving changes.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo

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
            raise TimeError(f"“{text}” is not a date.") from error
        at = time(23, 59)
        if written.group(4) is not None:
            at = _clock(written.group(4), written.group(5), text)
        where: tzinfo = tz
        if written.group(6):
            where = UTC
        elif written.group(7):
            hours, minutes = int(written.group(8)), int(written.group(9))
            if hours > 14 or minutes > 59:
                raise TimeError(f"“{text}” has an offset from UTC that no place has.")
            sign = -1 if written.group(7) == "-" else 1
            where = timezone(sign * timedelta(hours=hours, minutes=minutes))
        moment = datetime.combine(on, at, where).astimezone(UTC)
    else:
        raise TimeError(
            f"“{text[:40]}” is not a time: give a duration (90m, 4h, 3d, 2w), a time of day "
            "(17:00) or a date and time (2026-12-08 17:00)."
        )
    if moment <= now:
        raise TimeError(f"{format_moment(moment, zone, now=now)} has already passed.")
    if moment - now > MAX_AHEAD:
        raise TimeError("That is more than a year away; pick something sooner.")
    return moment


def _clock(hour: str, minute: str, text: str) -> time:
    if int(hour) > 23 or int(minute) > 59:
        raise TimeError(f"“{text}” is not a time of day.")
    return time(int(hour), int(minute))


def format_moment(moment: datetime, zone: str, *, now: datetime | None = None) -> str:
    """`Tue 8 Dec 09:00 UTC` in the community's time zone, with the year (`Tue 8 Dec 2027
    09:00 UTC`) when it is not the year of `now` there."""
    tz = ZoneInfo(zone)
    local = moment.astimezone(tz)
    year = f" {local.year}" if now is not None and now.astimezone(tz).year != local.year else ""
    return f"{local:%a} {local.day} {local:%b}{year} {local:%H:%M} {local.tzname()}"


@dataclass(frozen=True)
class Schedule:
    """When a recurring poll is posted: daily, weekly, on the nth weekday or a day of the month."""

    kind: Literal["daily", "weekly", "nth", "monthday"]
    at: time
    weekday: int = 0
    nth: int = 1
    day: int = 1

    def describe(self) -> str:
        """In words: `every Monday at 10:00`, `on the first Monday of each month at 10:00`."""
        clock = f"{self.at:%H:%M}"
        name = WEEKDAYS[self.weekday].capitalize()
        match self.kind:
            case "daily":
                return f"every day at {clock}"
            case "weekly":
                return f"every {name} at {clock}"
            case "nth":
                nth = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}[self.nth]
                return f"on the {nth} {name} of each month at {clock}"
        return f"on day {self.day} of each month at {clock}"

    def next_after(self, after: datetime, zone: str) -> datetime:
        """The first occurrence strictly after `after`, in UTC."""
        tz = ZoneInfo(zone)
        start = after.astimezone(tz).date()
        for candidate in self._dates(start):
            moment = datetime.combine(candidate, self.at, tz).astimezone(UTC)
            if moment > after:
                return moment
        raise AssertionError("a schedule always has a next occurrence")  # pragma: no cover

    def _dates(self, start: date) -> list[date]:
        """Candidate dates from `start` on, enough to contain two occurrences."""
        if self.kind == "daily":
            return [start + timedelta(days=n) for n in range(3)]
        if self.kind == "weekly":
            first = start + timedelta(days=(self.weekday - start.weekday()) % 7)
            return [first, first + timedelta(days=7)]
        months = [_add_months(start.replace(day=1), n) for n in range(3)]
        if self.kind == "nth":
            return [_nth_weekday(m, self.weekday, self.nth) for m in months]
        return [m.replace(day=min(self.day, _month_length(m))) for m in months]


def parse_schedule(text: str) -> Schedule:
    """A repeat rule (see the module docstring); raises TimeError saying what we expected."""
    words = re.sub(r"\s+", " ", text.strip().lower()).replace(" of the month", "")
    words = words.replace(" of each month", "")
    rule, at = _split_clock(words)
    rule = rule.removeprefix("every ").strip() if rule != "every day" else "day"
    parts = rule.split()
    match parts:
        case ["day"] | ["daily"]:
            return Schedule("daily", at)
        case [day] | ["weekly", day] if _weekday(day) is not None:
            return Schedule("weekly", at, weekday=_weekday(day) or 0)
        case [nth, day] if nth in ORDINALS and _weekday(day) is not None:
            return Schedule("nth", at, weekday=_weekday(day) or 0, nth=ORDINALS[nth])
        case ["monthly", day] | ["month", day] if day.rstrip("stndrh").isdigit():
            number = int(day.rstrip("stndrh"))
            if 1 <= number <= 31:
                return Schedule("monthday", at, day=number)
    raise TimeError(f"I can't read the schedule “{text.strip()}”; try {EVERY_EXAMPLES}.")


def _split_clock(words: str) -> tuple[str, time]:
    """The rule and the time of day at its end (09:00 when none is given)."""
    match = re.search(r"(?:^|\s)" + CLOCK.pattern + r"$", words)
    if not match or (match.group(2) is None and match.group(3) is None):
        return words, DEFAULT_TIME
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    if match.group(3):
        if not 1 <= hour <= 12:
            raise TimeError(f"{hour}{match.group(3)} is not a time of day.")
        hour = hour % 12 + (12 if match.group(3) == "pm" else 0)
    if hour > 23 or minute > 59:
        raise TimeError(f"{match.group(0).strip()} is not a time of day.")
    return words[: match.start()].strip(), time(hour, minute)


def _weekday(word: str) -> int | None:
    word = word.removesuffix("s") if word not in ("tues", "thurs") else word
    for number, name in enumerate(WEEKDAYS):
        if len(word) >= 3 and name.startswith(word):
            return number
    return None


def _add_months(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _month_length(first: date) -> int:
    return calendar.monthrange(first.year, first.month)[1]


def _nth_weekday(first: date, weekday: int, nth: int) -> date:
    if nth == -1:
        last = first.replace(day=_month_length(first))
        return last - timedelta(days=(last.weekday() - weekday) % 7)
    day = first + timedelta(days=(weekday - first.weekday()) % 7)
    return day + timedelta(weeks=nth - 1)
