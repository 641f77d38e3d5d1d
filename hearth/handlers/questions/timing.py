"""When follow-ups fall due: the community's working hours, and links to chat messages."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

WORKDAY = (time(9, 0), time(17, 0))
"""A community's working hours, Monday to Friday in its time zone."""


def add_working_hours(start: datetime, hours: float, zone: str) -> datetime:
    """The moment `hours` working hours after `start` (UTC in, UTC out)."""
    tz = ZoneInfo(zone)
    local = start.astimezone(tz).replace(tzinfo=None)
    left = timedelta(hours=hours)
    opening, closing = WORKDAY
    while True:
        day = local.date()
        begin, end = datetime.combine(day, opening), datetime.combine(day, closing)
        if local.weekday() >= 5 or local >= end:
            local = datetime.combine(day + timedelta(days=1), opening)
            continue
        local = max(local, begin)
        if local + left <= end:
            return (local + left).replace(tzinfo=tz).astimezone(start.tzinfo)
        left -= end - local
        local = datetime.combine(day + timedelta(days=1), opening)


def link(platform: str, workspace: str, channel: str, message_id: str | None) -> str:
    """Where a chat message can be opened: a Slack or Teams link, `[n] in #channel` on the
    console; the channel itself when the message is not known yet."""
    if platform == "slack":
        if not message_id:
            return f"https://slack.com/app_redirect?channel={channel}"
        return f"https://slack.com/archives/{channel}/p{message_id.replace('.', '')}"
    if platform == "teams":
        tail = f"/{message_id}" if message_id else ""
        return f"https://teams.microsoft.com/l/message/{channel}{tail}"
    return f"[{message_id}] in #{channel}" if message_id else f"#{channel}"


def message_of(platform: str, written: str) -> str | None:
    """The message id in a link or id as a member wrote it (see `link`); None if unreadable."""
    written = written.strip().strip("<>")
    if platform == "slack" and "/archives/" in written:
        tail = written.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]
        digits = tail[1:] if tail.startswith("p") else tail
        return f"{digits[:-6]}.{digits[-6:]}" if digits.isdigit() and len(digits) > 6 else None
    if "/" in written:
        tail = written.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]
        return tail or None
    written = written.strip("[]#")
    return written or None
