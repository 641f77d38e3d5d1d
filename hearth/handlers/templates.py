"""Message templates that facilitators write: plain substitution of a few documented names.

A template is text with placeholders such as `{name}`; `{{` and `}}` stand for literal braces.
It is parsed here, never handed to `str.format`: a placeholder is exactly one of the names its
feature documents, with nothing after the name (no `:format`, no `!conversion`), and a brace
on its own is an error. `Template.parse` says what is wrong in words a facilitator can act on.
Templates are short enough, and their placeholders few enough, that what they expand to fits
in one message on every platform; `render` keeps it there whatever the values.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

MAX_LENGTH = 1500
"""Characters in a template as typed."""
MAX_PLACEHOLDERS = 12
MAX_VALUE = 300
"""Characters of one substituted value (a long purpose, many facilitators)."""
MAX_RENDERED = 2900
"""Characters of the expansion: under Slack's 3000 per section and Teams' limits."""

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


class TemplateError(ValueError):
    """A template that cannot be used; `str(error)` says why, for the person who wrote it."""


@dataclass(frozen=True)
class Slot:
    """A placeholder: the value called `name` goes here."""

    name: str


@dataclass(frozen=True)
class Template:
    """A parsed template: literal text and slots, in order."""

    parts: tuple[str | Slot, ...]

    @classmethod
    def parse(cls, text: str, names: Collection[str]) -> Template:
        """Parse `text`, allowing only the placeholders in `names`."""
        if len(text) > MAX_LENGTH:
            raise TemplateError(
                f"That message is {len(text)} characters long; keep it under {MAX_LENGTH}."
            )
        parts: list[str | Slot] = []
        literal, position = "", 0
        for match in _TOKEN.finditer(text):
            literal += text[position : match.start()]
            position = match.end()
            token = match.group(0)
            if token in ("{{", "}}"):
                literal += token[0]
                continue
            if match.group(1) is None:
                raise TemplateError(
                    f"There is a stray {token} at character {match.start() + 1}: write "
                    f"{token}{token} for a literal one, or use {_listed(names)}."
                )
            name = match.group(1)
            if name not in names:
                raise TemplateError(_unknown(name, names))
            if literal:
                parts.append(literal)
                literal = ""
            parts.append(Slot(name))
        literal += text[position:]
        if literal:
            parts.append(literal)
        slots = sum(isinstance(p, Slot) for p in parts)
        if slots > MAX_PLACEHOLDERS:
            raise TemplateError(
                f"That message has {slots} placeholders; use at most {MAX_PLACEHOLDERS}."
            )
        return cls(tuple(parts))

    def render(
        self, values: Mapping[str, str], literal: Callable[[str], str] = lambda text: text
    ) -> str:
        """The template with each slot replaced by its value (cut to `MAX_VALUE`), literal text
        passed through `literal` (to mark it as typed by a person, say), the whole cut to
        `MAX_RENDERED`."""
        out = "".join(
            _clip(values[p.name], MAX_VALUE) if isinstance(p, Slot) else literal(p)
            for p in self.parts
        )
        return _clip(out, MAX_RENDERED)


def _unknown(name: str, names: Collection[str]) -> str:
    bare = re.split(r"[:!\[.]", name, maxsplit=1)[0].strip()
    if bare in names and bare != name:
        return f"Placeholders take nothing after the name: write {{{bare}}} instead of {{{name}}}."
    shown = "{" + name + "}" if len(name) <= 40 else "{" + name[:40] + "…}"
    return f"Unknown placeholder {shown}; use {_listed(names)}."


def _listed(names: Collection[str]) -> str:
    return ", ".join(f"{{{n}}}" for n in names)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
