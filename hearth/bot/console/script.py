"""The console script language (see CONSOLE.md): one action per line."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from datetime import timedelta

NAME = r"(?P<name>[A-Za-z][\w.-]*)"
ITEM = r"\[?(?P<item>[0-9]{1,9})\]?"
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class ScriptError(Exception):
    """A line that does not parse or cannot run."""


@dataclass(frozen=True)
class Join:
    name: str


@dataclass(frozen=True)
class Leave:
    name: str


@dataclass(frozen=True)
class Say:
    name: str
    text: str
    thread_item: int | None = None
    dm: bool = False


@dataclass(frozen=True)
class Click:
    name: str
    label: str
    item: int


@dataclass(frozen=True)
class React:
    name: str
    emoji: str
    item: int


@dataclass(frozen=True)
class Submit:
    name: str
    item: int
    fields: dict[str, str]


@dataclass(frozen=True)
class SetTimeZone:
    name: str
    zone: str


@dataclass(frozen=True)
class Wait:
    duration: timedelta


@dataclass(frozen=True)
class Restart:
    """Hearth stops (for `down`, while the clock moves on and nothing runs) and starts again on
    the same database: a new scheduler, outbox sender and hub, as after a crash or a deploy."""

    down: timedelta = timedelta(0)


Action = Join | Leave | Say | Click | React | Submit | SetTimeZone | Wait | Restart

PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"wait\s+(?P<amount>[0-9]+)\s*(?P<unit>[smhdw])"), "wait"),
    (re.compile(r"restart(?:\s+after\s+(?P<amount>[0-9]+)\s*(?P<unit>[smhdw]))?"), "restart"),
    (re.compile(rf"{NAME}\s+joins"), "join"),
    (re.compile(rf"{NAME}\s+leaves"), "leave"),
    (re.compile(rf"{NAME}\s+tz\s+(?P<zone>\S+)"), "tz"),
    (re.compile(rf'{NAME}\s+clicks\s+"(?P<label>[^"]+)"\s+on\s+{ITEM}'), "click"),
    (re.compile(rf"{NAME}\s+reacts\s+:(?P<emoji>[\w+\-]+):\s+on\s+{ITEM}"), "react"),
    (re.compile(rf"{NAME}\s+submits\s+{ITEM}(?P<fields>(\s+.*)?)"), "submit"),
    (re.compile(rf"{NAME}\s+in\s+thread\s+{ITEM}\s*:\s?(?P<text>.*)"), "thread"),
    (re.compile(rf"{NAME}\s+dm\s*:\s?(?P<text>.*)"), "dm"),
    (re.compile(rf"{NAME}\s*:\s?(?P<text>.*)"), "say"),
]


def parse_line(line: str) -> Action | None:
    """The action on a line; None for blank and comment lines."""
    line = line.strip()
    if not line or line.startswith("#"):
        return None
    for pattern, kind in PATTERNS:
        match = pattern.fullmatch(line)
        if match:
            return _build(kind, match)
    raise ScriptError(f"can't read {line!r}")


def _build(kind: str, m: re.Match[str]) -> Action:
    g = m.groupdict()
    match kind:
        case "wait":
            return Wait(_duration(g["amount"], g["unit"]))
        case "restart":
            return Restart(_duration(g["amount"], g["unit"]) if g["amount"] else timedelta(0))
        case "join":
            return Join(g["name"])
        case "leave":
            return Leave(g["name"])
        case "tz":
            return SetTimeZone(g["name"], g["zone"])
        case "click":
            return Click(g["name"], g["label"], int(g["item"]))
        case "react":
            return React(g["name"], g["emoji"], int(g["item"]))
        case "submit":
            return Submit(g["name"], int(g["item"]), _fields(g["fields"]))
        case "thread":
            return _said(Say(g["name"], g["text"], thread_item=int(g["item"])))
        case "dm":
            return _said(Say(g["name"], g["text"], dm=True))
        case _:
            return _said(Say(g["name"], g["text"]))


def _duration(amount: str, unit: str) -> timedelta:
    if len(amount) > 9:  # a billion minutes is past any span the console shows
        raise ScriptError(f"wait {amount}{unit} is too long")
    return timedelta(**{UNITS[unit]: int(amount)})


def _said(say: Say) -> Say:
    if not say.text.strip():
        raise ScriptError("nothing to say after the colon")
    return say


def _fields(text: str) -> dict[str, str]:
    try:
        tokens = shlex.split(text)
    except ValueError as error:
        raise ScriptError(f"can't read the fields: {error}") from error
    fields = {}
    for token in tokens:
        name, equals, value = token.partition("=")
        if not equals or not name:
            raise ScriptError(f"expected field=value, got {token!r}")
        fields[name] = value
    return fields
