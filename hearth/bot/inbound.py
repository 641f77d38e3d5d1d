"""Reading untrusted request bodies: JSON with a nesting limit, and text a database can store."""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

MAX_DEPTH = 64
"""Deepest JSON nesting accepted (Slack's and Teams' own payloads stay under about 12)."""

_FORBIDDEN = re.compile("[\x00\ud800-\udfff]")
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class Unreadable(ValueError):
    """A body that is not JSON Hearth will read (the message is safe to log and answer)."""


def loads(text: str, max_depth: int = MAX_DEPTH) -> Any:
    """JSON text as Python values, refusing nesting deeper than `max_depth` before parsing
    (the parser recurses once per level: 100,000 levels would exhaust the stack)."""
    if text.count("[") + text.count("{") > max_depth:  # else it cannot nest that deep
        brackets = _BRACKETS.findall(_STRING.sub("", text))
        if max(accumulate(_STEP[b] for b in brackets), default=0) > max_depth:
            raise Unreadable(f"JSON nested deeper than {max_depth} levels")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:
        raise Unreadable(f"not JSON: {error}") from None


def storable(value: str) -> str:
    """`value` if a database can store it: no NUL, no lone surrogate (JSON's `\\ud800` decodes
    to one, and PostgreSQL refuses both); raises ValueError otherwise."""
    if _FORBIDDEN.search(value):
        raise ValueError("contains NUL or a lone surrogate")
    return value


def all_storable(value: Any) -> bool:
    """Whether every string in a parsed JSON value (keys too) is `storable`."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if _FORBIDDEN.search(item):
                return False
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return True
