"""Neutral events to JSON and back, for the event journal."""

from __future__ import annotations

import dataclasses
import functools
import typing
from datetime import datetime
from typing import Any

from hearth.handlers import events
from hearth.handlers.events import Event, MessageRef


@functools.cache
def _kinds() -> dict[str, type[Event]]:
    found: dict[str, type[Event]] = {}
    pending: list[type[Event]] = [Event]
    while pending:
        kind = pending.pop()
        found[kind.__name__] = kind
        pending += kind.__subclasses__()
    return found


@functools.cache
def _special_fields(kind: type[Event]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The names of `kind`'s datetime fields and of its MessageRef fields."""
    hints = typing.get_type_hints(kind, vars(events))
    times = tuple(name for name, hint in hints.items() if hint is datetime)
    refs = tuple(name for name, hint in hints.items() if MessageRef in typing.get_args(hint))
    return times, refs


def kind_of(event: Event) -> str:
    return type(event).__name__


def encode(event: Event) -> dict[str, Any]:
    """A JSON-ready dict of the event's fields (its kind is stored beside it)."""
    data = {field.name: getattr(event, field.name) for field in dataclasses.fields(event)}
    times, refs = _special_fields(type(event))
    for name in times:
        data[name] = data[name].isoformat()
    for name in refs:
        ref = data[name]
        data[name] = None if ref is None else [ref.conversation, ref.message_id]
    return data


def decode(kind: str, data: dict[str, Any]) -> Event:
    """The event `encode` stored; KeyError for a kind this version does not know."""
    cls = _kinds()[kind]
    values = dict(data)
    times, refs = _special_fields(cls)
    for name in times:
        values[name] = datetime.fromisoformat(values[name])
    for name in refs:
        ref = values.get(name)
        values[name] = None if ref is None else MessageRef(*ref)
    return cls(**values)
