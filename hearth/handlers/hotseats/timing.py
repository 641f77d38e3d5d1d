"""When a hot seat's steps happen, their keys, and scheduling them as keyed one-shots."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hearth.handlers import jobs
from hearth.handlers.commands import UsageError, number
from hearth.handlers.context import Context
from hearth.storage.models import Community, HotSeat

OPENS = time(9, 0)
CLOSES = time(17, 0)
REMINDS = time(9, 30)
ANNOUNCE_AHEAD = timedelta(days=7)
MAX_DAYS = 14
MAX_AHEAD = timedelta(days=366)
DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", re.ASCII)


def local(day: date, at: time, community: Community) -> datetime:
    return datetime.combine(day, at, ZoneInfo(community.timezone)).astimezone(ZoneInfo("UTC"))


def first_day(hot_seat: HotSeat, community: Community) -> date:
    return hot_seat.starts_at.astimezone(ZoneInfo(community.timezone)).date()


def ends_at(first: date, days: int, community: Community) -> datetime:
    return local(first + timedelta(days=days - 1), CLOSES, community)


def days_option(text: str) -> int:
    value = number(text.removesuffix("d").removesuffix("days").strip())
    if value is None or not 1 <= value <= MAX_DAYS:
        raise UsageError(f"Give the number of days, from 1 to {MAX_DAYS}, like `--days 5`.")
    return value


def starts_option(text: str, community: Community, now: datetime) -> date:
    """The first day given as `--starts 2027-02-01`: a real date, its opening still to come,
    within a year; UsageError otherwise."""
    match = DATE.fullmatch(text.strip())
    if match is None:
        raise UsageError("Give the first day as `--starts 2027-02-01` (year-month-day).")
    try:
        first = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError as error:
        raise UsageError(f"--starts: that is not a date ({error}).") from error
    starts_at = local(first, OPENS, community)
    if starts_at <= now:
        raise UsageError("--starts: that day has begun or passed; pick a later one.")
    if starts_at - now > MAX_AHEAD:
        raise UsageError("--starts: that is more than a year away; pick something sooner.")
    return first


# Keys


def key(hot_seat: HotSeat, step: str) -> str:
    """The outbox key of what a step (or a command) sends."""
    return f"hotseat:{hot_seat.id}:{step}"


def job_key(hot_seat: HotSeat, step: str, first: date) -> str:
    """A step's one-shot: named by the first day too, so the steps of a moved hot seat never
    share a key with those they replace (one of which may be running at that moment)."""
    return f"{key(hot_seat, step)}@{first.isoformat()}"


def close_step(hot_seat: HotSeat) -> str:
    return f"close:{hot_seat.days}"


def all_steps(hot_seat: HotSeat) -> list[str]:
    days = range(1, hot_seat.days + 1)
    return ["announce", "open", *(f"remind:{d}" for d in days), close_step(hot_seat)]


# Scheduling


async def schedule_all(
    context: Context,
    community: Community,
    hot_seat: HotSeat,
    *,
    from_day: int = 1,
    announce: bool = True,
) -> None:
    """The steps of an accepted hot seat still to come, as keyed one-shots (scheduling one
    twice adds nothing); `from_day` > 1 (an extension): only the new days' reminders and the
    close; `announce=False` (moved after its announcement): no second announcement."""
    now = context.now()
    first = first_day(hot_seat, community)
    steps = []
    if from_day == 1:
        if announce:
            steps.append(("announce", max(now, hot_seat.starts_at - ANNOUNCE_AHEAD)))
        steps.append(("open", hot_seat.starts_at))
    for day in range(from_day, hot_seat.days + 1):
        steps.append((f"remind:{day}", local(first + timedelta(days=day - 1), REMINDS, community)))
    steps.append((close_step(hot_seat), hot_seat.ends_at))
    for step, due in steps:
        if due >= now:
            kind = "hotseat." + step.split(":", 1)[0]
            payload = {"hotseat": hot_seat.id, "step": step, "first": first.isoformat()}
            await jobs.schedule(
                context,
                job_key(hot_seat, step, first),
                kind,
                due,
                payload,
                channel=community.channel,
            )


async def cancel_all(
    context: Context, community: Community, hot_seat: HotSeat, steps: list[str] | None = None
) -> None:
    """Drop the waiting one-shots of `steps` (all of them by default) of the hot seat as it
    stands; one being run right now finds itself superseded (see `is_current`)."""
    first = first_day(hot_seat, community)
    for step in all_steps(hot_seat) if steps is None else steps:
        await jobs.cancel(context, job_key(hot_seat, step, first))


def is_current(hot_seat: HotSeat, community: Community, payload: dict[str, object]) -> bool:
    """Whether a firing step still belongs to the hot seat as it stands: not superseded by an
    extension (the close's step names the length) or a move (the payload names the first
    day)."""
    return payload.get("step") in all_steps(hot_seat) and payload.get("first") == (
        first_day(hot_seat, community).isoformat()
    )
