"""Time zones people type: IANA names in any case (`europe/london`, `utc`), never abbreviations."""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

from hearth.handlers.cards import typed

SINGLE_WORD = {"UTC": "UTC", "GMT": "GMT"}
"""The IANA names without a region that are unambiguous; the rest (EST, CET, …) are legacy
abbreviations that mean different things to different people."""
HINTS = {
    "EST": "America/New_York",
    "EDT": "America/New_York",
    "CST": "America/Chicago",
    "CDT": "America/Chicago",
    "MST": "America/Denver",
    "MDT": "America/Denver",
    "PST": "America/Los_Angeles",
    "PDT": "America/Los_Angeles",
    "BST": "Europe/London",
    "CET": "Europe/Paris",
    "CEST": "Europe/Paris",
    "EET": "Europe/Athens",
    "IST": "Asia/Kolkata",
    "JST": "Asia/Tokyo",
    "AEST": "Australia/Sydney",
}


class ZoneError(ValueError):
    """Not a time zone Hearth accepts; the message says what to type instead."""


@cache
def _by_folded_name() -> dict[str, str]:
    return {name.casefold(): name for name in available_timezones() if "/" in name}


def resolve(text: str) -> str:
    """The IANA name `text` means, spelt as IANA spells it; raises ZoneError otherwise."""
    name = text.strip()
    upper = name.upper()
    if upper in SINGLE_WORD:
        return SINGLE_WORD[upper]
    found = _by_folded_name().get(name.casefold()) if len(name) <= 64 else None
    if found is not None:
        return found
    shown = name if len(name) <= 40 else name[:39] + "…"
    if upper in HINTS or (name.isalpha() and name.isupper() and 2 <= len(name) <= 5):
        example = HINTS.get(upper, "Europe/London")
        raise ZoneError(
            f"“{typed(shown)}” is an abbreviation, and those mean different things in different "
            f"places; give the zone by its place name, like {example}, or UTC."
        )
    raise ZoneError(
        f"“{typed(shown)}” isn't a time zone I know; use a place name like Europe/London or "
        "America/New_York, or UTC."
    )
