"""The stretch of time the console's clock may show: `--start` and every `wait` stay inside it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2999, 12, 31, 23, 59, tzinfo=UTC)
"""Far enough either way for any demo, and leaves room for what Hearth schedules years ahead."""


class SpanError(ValueError):
    """A time the console's clock may not show; the message says why."""


def start_time(text: str) -> datetime:
    """The UTC time `--start` means (naive times are UTC); raises SpanError otherwise."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as error:
        raise SpanError(f"not an ISO 8601 time like 2026-12-01T09:00: {text!r}") from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:
        moment = EARLIEST - timedelta(days=1) if moment.year < 2000 else LATEST + timedelta(days=1)
    if not EARLIEST <= moment <= LATEST:
        raise SpanError(f"{text!r} is outside the console's years {_years()}")
    return moment


def after(moment: datetime, duration: timedelta) -> datetime:
    """`moment + duration`, if that is still inside the span; raises SpanError otherwise."""
    if duration > LATEST - moment:
        raise SpanError(f"that wait would go past the console's years {_years()}")
    return moment + duration


def _years() -> str:
    return f"{EARLIEST.year}–{LATEST.year}"
