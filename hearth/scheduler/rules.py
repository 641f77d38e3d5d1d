"""Repeat rules (`--every`) as people type them, compiled to APScheduler triggers.

Case-insensitive, the time optional (default 09:00), wall-clock time in the community's zone:

- `daily 09:00`, `every day 09:00`, `weekdays 09:00`, `weekends 10:00`
- `every monday 09:30`, `weekly friday 16:00`, `mondays 10:00`, `monday and thursday 10:00`
- `first monday 10:00` (also second, third, fourth, last; `of the month` may follow the day)
- `monthly 1 10:00`, `monthly 31` (a day past the month's end means its last day)

A `CronTrigger` in the zone computes every occurrence, so 10:00 stays 10:00 across
daylight-saving changes; in the hour a fall-back repeats, a rule fires at the first 01:30 only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger

from hearth.handlers.schedules import (
    CLOCK,
    DEFAULT_TIME,
    EVERY_EXAMPLES,
    ORDINALS,
    WEEKDAYS,
    TimeError,
)

CRON_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CRON_ORDINALS = {1: "1st", 2: "2nd", 3: "3rd", 4: "4th", -1: "last"}
ORDINAL_WORDS = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}
SHORT_MONTHS = {29: "feb", 30: "feb", 31: "feb,apr,jun,sep,nov"}
"""Months without day 29, 30 or 31 (in some years, for 29): the rule falls on their last day."""


@dataclass(frozen=True)
class Rule:
    """A repeat rule: its words, its time of day and the CronTrigger fields it stands for."""

    words: str
    at: time
    day_of_week: str | None = None
    day: str | None = None

    def describe(self) -> str:
        """In words: `every Monday at 10:00`, `on the first Monday of each month at 10:00`."""
        return f"{self.words} at {self.at:%H:%M}"

    def trigger(self, zone: str) -> BaseTrigger:
        """The APScheduler trigger that fires this rule in time zone `zone`."""
        tz = ZoneInfo(zone)
        clock = {"hour": self.at.hour, "minute": self.at.minute, "second": 0, "timezone": tz}
        cron: BaseTrigger = CronTrigger(day_of_week=self.day_of_week, day=self.day, **clock)
        if self.day is not None and self.day.isdigit() and int(self.day) in SHORT_MONTHS:
            month_end = CronTrigger(month=SHORT_MONTHS[int(self.day)], day="last", **clock)
            cron = OrTrigger([cron, month_end])
        return FirstOccurrence(cron, tz)

    def next_after(self, after: datetime, zone: str) -> datetime:
        """The first occurrence strictly after `after`, in UTC."""
        moment = self.trigger(zone).get_next_fire_time(after, after)
        assert moment is not None, "a repeat rule never ends"
        return moment.astimezone(UTC)


class FirstOccurrence(BaseTrigger):
    """A trigger that skips a wall-clock time's second occurrence (the hour a fall-back
    repeats), so a daily 01:30 fires once on that day, not twice; its times are in UTC."""

    def __init__(self, trigger: BaseTrigger, zone: ZoneInfo) -> None:
        self.trigger = trigger
        self.zone = zone

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        start = now.astimezone(UTC)
        if previous_fire_time is not None:  # never at or before it
            start = max(start, previous_fire_time.astimezone(UTC) + timedelta(microseconds=1))
        moment = self.trigger.get_next_fire_time(None, start.astimezone(self.zone))
        while moment is not None and (repeat := self._repeated(moment)):
            # Look again from past the repeated hour: rules fire once a day at most.
            after = moment.astimezone(UTC) + repeat
            moment = self.trigger.get_next_fire_time(None, after.astimezone(self.zone))
        # In UTC: datetimes sharing a zone compare by wall clock, and 01:30 EDT == 01:30 EST.
        return moment.astimezone(UTC) if moment is not None else None

    def _repeated(self, moment: datetime) -> timedelta | None:
        """How long the clock went back, when `moment` is a wall-clock time's second time."""
        local = moment.astimezone(UTC).astimezone(self.zone)
        first, this = local.replace(fold=0).utcoffset(), local.utcoffset()
        if local.fold == 1 and first is not None and this is not None and first > this:
            return first - this
        return None

    def __str__(self) -> str:
        return f"first occurrence of {self.trigger}"


def parse_rule(text: str) -> Rule:
    """A repeat rule (see the module docstring); raises TimeError saying what we expected."""
    words = re.sub(r"\s+", " ", text.strip().lower()).replace(" of the month", "")
    words = words.replace(" of each month", "")
    rule, at = _split_clock(words)
    rule = rule.removeprefix("every ").strip() if rule != "every day" else "day"
    parts = rule.split()
    days = [_weekday(d) for d in re.split(r"\s*(?:,|\band\b)\s*", rule) if d]
    match parts:
        case ["day"] | ["daily"]:
            return Rule("every day", at)
        case ["weekday"] | ["weekdays"]:
            return Rule("every weekday", at, day_of_week="mon-fri")
        case ["weekend"] | ["weekends"]:
            return Rule("every Saturday and Sunday", at, day_of_week="sat,sun")
        case [day] | ["weekly", day] if (weekday := _weekday(day)) is not None:
            return Rule(f"every {_name(weekday)}", at, day_of_week=CRON_DAYS[weekday])
        case [nth, day] if nth in ORDINALS and (weekday := _weekday(day)) is not None:
            number = ORDINALS[nth]
            return Rule(
                f"on the {ORDINAL_WORDS[number]} {_name(weekday)} of each month",
                at,
                day=f"{CRON_ORDINALS[number]} {CRON_DAYS[weekday]}",
            )
        case ["monthly", day] | ["month", day] if day.rstrip("stndrh").isdigit():
            number = int(day.rstrip("stndrh"))
            if 1 <= number <= 31:
                return Rule(f"on day {number} of each month", at, day=str(number))
        case _ if len(days) > 1 and None not in days:
            chosen = sorted({d for d in days if d is not None})
            names = [_name(d) for d in chosen]
            listed = ", ".join(names[:-1]) + f" and {names[-1]}"
            return Rule(f"every {listed}", at, day_of_week=",".join(CRON_DAYS[d] for d in chosen))
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


def _name(weekday: int) -> str:
    return WEEKDAYS[weekday].capitalize()
