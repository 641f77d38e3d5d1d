"""Daily windows in a member's local time (working hours, quiet hours) and the next time allowed.

Members write them as `21:00-08:00`, `9-17:30` or `Mon-Fri 09:00-17:30`; `off` or nothing
means no window. A window whose end is not after its start runs past midnight (its days are
the days it starts on).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hearth.handlers.cards import typed

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
EVERY_DAY = frozenset(range(7))
WEEKDAYS = frozenset(range(5))
NONE_WORDS = frozenset({"", "off", "none", "no", "-"})
CLOCK = r"(\d{1,2})(?:[:.h](\d{2}))?"
RANGE = re.compile(rf"{CLOCK}\s*(?:-|–|—|to)\s*{CLOCK}")
HORIZON_DAYS = 8
"""How far ahead `next_allowed` looks: any weekly pattern allows a time within a week."""


class HoursError(ValueError):
    """Hours or a time zone that cannot be read; the message says what to write instead."""


@dataclass(frozen=True)
class Hours:
    """`start` to `end` local time on `days` (0 = Monday), running past midnight if end <= start."""

    start: time
    end: time
    days: frozenset[int] = field(default=EVERY_DAY)

    def contains(self, local: datetime) -> bool:
        """Whether a local time falls inside the window."""
        now, day = local.time(), local.weekday()
        if self.start < self.end:
            return day in self.days and self.start <= now < self.end
        return (day in self.days and now >= self.start) or (
            (day - 1) % 7 in self.days and now < self.end
        )

    def __str__(self) -> str:
        span = f"{self.start:%H:%M}-{self.end:%H:%M}"
        return span if self.days == EVERY_DAY else f"{_describe_days(self.days)} {span}"


def parse_hours(text: str) -> Hours | None:
    """`Mon-Fri 09:00-17:30`, `21:00-08:00`, `9-17`; None for `off` or nothing."""
    cleaned = " ".join(text.strip().lower().split())
    if cleaned in NONE_WORDS:
        return None
    match = RANGE.search(cleaned)
    if match is None:
        raise HoursError(
            f"I couldn't read the hours “{typed(text.strip())}”; write them like 09:00-17:30."
        )
    start, end = _clock(match.group(1), match.group(2)), _clock(match.group(3), match.group(4))
    days_text = (cleaned[: match.start()] + " " + cleaned[match.end() :]).strip(" ,")
    return Hours(start, end, _parse_days(days_text))


def check_zone(name: str) -> str:
    """The time zone name, if Hearth knows it."""
    name = name.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise HoursError(
            f"“{name}” isn't a time zone I know; use a name like Europe/London or America/New_York."
        ) from error
    return name


def next_allowed(
    now: datetime, zone: str, *, quiet: Hours | None = None, working: Hours | None = None
) -> datetime | None:
    """The first moment from `now` outside `quiet` and inside `working` (either may be None),
    in the member's `zone`; None when no such moment comes within a week."""
    tz = ZoneInfo(zone)

    def allowed(moment: datetime) -> bool:
        local = moment.astimezone(tz)
        in_quiet = quiet is not None and quiet.contains(local)
        return not in_quiet and (working is None or working.contains(local))

    if allowed(now):
        return now
    boundaries = [h.end for h in (quiet,) if h] + [h.start for h in (working,) if h]
    today = now.astimezone(tz).date()
    candidates = sorted(
        moment
        for offset in range(-1, HORIZON_DAYS)
        for boundary in boundaries
        if (moment := _at(today + timedelta(days=offset), boundary, tz, now)) > now
    )
    return next((c for c in candidates if allowed(c)), None)


def _at(day: date, clock: time, tz: ZoneInfo, like: datetime) -> datetime:
    return datetime.combine(day, clock, tz).astimezone(like.tzinfo)


def _clock(hours: str, minutes: str | None) -> time:
    h, m = int(hours), int(minutes or 0)
    if h == 24 and m == 0:
        return time(0)
    if h > 23 or m > 59:
        raise HoursError(f"{hours}:{minutes or '00'} isn't a time of day.")
    return time(h, m)


def _parse_days(text: str) -> frozenset[int]:
    if text in ("", "daily", "every day", "everyday", "all week"):
        return EVERY_DAY
    if text in ("weekdays", "workdays"):
        return WEEKDAYS
    if text == "weekends":
        return frozenset({5, 6})
    days: set[int] = set()
    for part in re.split(r"\s*,\s*|\s+", text):
        first, dash, last = part.partition("-")
        start, end = _day(first, text), _day(last, text) if dash else None
        if end is None:
            days.add(start)
        else:
            days.update((start + n) % 7 for n in range((end - start) % 7 + 1))
    return frozenset(days)


def _day(word: str, text: str) -> int:
    key = word.strip()[:3]
    if key not in DAYS:
        raise HoursError(f"I couldn't read the days “{typed(text)}”; write them like Mon-Fri.")
    return DAYS.index(key)


def _describe_days(days: frozenset[int]) -> str:
    ordered = sorted(days)
    if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{DAYS[ordered[0]].title()}-{DAYS[ordered[-1]].title()}"
    return ",".join(DAYS[d].title() for d in ordered)
