"""The neutral message model: handlers build cards, each platform's renderer draws them.

Card text is Hearth's own markup (`*bold*`, `` `code` ``, `_italic_`) and may mention members
as `<@member-id>`; `Card.names` maps those ids to display names for renderers that need them
(the console, Teams), and those in `Card.quiet` are shown by name without a notification.
Anything a person typed (a poll's question, a welcome template, a segment, a display name)
goes in through `typed()`: it marks the text so that every renderer shows it as the characters
typed, with no markup, no links and no mentions, except mentions of members the card names
(Hearth resolved those) or user mentions the platform resolved. Each renderer escapes in one
place, with `spans()`. Labels, options and values are plain text everywhere: never marked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal, Protocol

ButtonStyle = Literal["default", "primary", "danger"]

TYPED_START = "\ue000"
TYPED_END = "\ue001"
"""Private-use characters around typed text; `typed()` removes them from what it is given."""
_MARKERS = re.compile(f"[{TYPED_START}{TYPED_END}]")
_SPAN = re.compile(f"{TYPED_START}([^{TYPED_END}]*)(?:{TYPED_END}|$)")


def typed(text: str) -> str:
    """`text`, as typed by a person, marked so that renderers show it literally.

    Each line is marked on its own, so text can be split into lines without losing a mark.
    """
    lines = _MARKERS.sub("", text).split("\n")
    return "\n".join(f"{TYPED_START}{line}{TYPED_END}" if line else "" for line in lines)


def spans(text: str) -> Iterator[tuple[bool, str]]:
    """`(is_typed, chunk)` pieces of a card text, in order (an unclosed span runs to the end)."""
    position = 0
    for match in _SPAN.finditer(text):
        if match.start() > position:
            yield False, _MARKERS.sub("", text[position : match.start()])
        if match.group(1):
            yield True, match.group(1)
        position = match.end()
    if position < len(text):
        yield False, _MARKERS.sub("", text[position:])


def unmarked(text: str) -> str:
    """The text without typed-text marks (where no markup is read: labels, plain text)."""
    return _MARKERS.sub("", text)


class Named(Protocol):
    user_id: str
    name: str


def names_of(members: list[Named]) -> dict[str, str]:
    """The `Card.names` entry for members mentioned as `<@user_id>`."""
    return {m.user_id: m.name for m in members}


@dataclass(frozen=True)
class Button:
    """A button; clicking it sends `ActionClicked(action, value)`."""

    label: str
    action: str
    value: str = ""
    style: ButtonStyle = "default"
    selected: bool = False


@dataclass(frozen=True)
class Section:
    """A paragraph of text, optionally with short label/value fields."""

    text: str
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class Actions:
    """A row of buttons."""

    buttons: tuple[Button, ...]


@dataclass(frozen=True)
class ContextLine:
    """Small print under a card."""

    text: str


Block = Section | Actions | ContextLine

FieldKind = Literal["text", "choice", "choices", "yesno"]


@dataclass(frozen=True)
class Field:
    """One input of a form: free text, one choice, several choices, or yes/no."""

    name: str
    label: str
    kind: FieldKind = "text"
    options: tuple[str, ...] = ()
    required: bool = True
    initial: str | tuple[str, ...] = ""
    multiline: bool = False


@dataclass(frozen=True)
class Form:
    """A form shown to one member; submitting it sends `FormSubmitted(form=action, …)`.

    `context` travels with the form and comes back on submit (a poll id, say).
    """

    title: str
    action: str
    fields: tuple[Field, ...]
    submit_label: str = "Submit"
    context: str = ""


@dataclass(frozen=True)
class Card:
    """A message: `text` is the headline (and the notification fallback), `blocks` the rest."""

    text: str
    blocks: tuple[Block, ...] = ()
    names: dict[str, str] = field(default_factory=dict)
    quiet: frozenset[str] = frozenset()
    """Members mentioned by name only: their `<@id>` shows their name and notifies nobody."""

    def buttons(self) -> list[Button]:
        """Every button on the card, in order."""
        return [b for block in self.blocks if isinstance(block, Actions) for b in block.buttons]

    def to_json(self) -> dict:
        """A JSON-ready form, for the outbox."""
        data = {
            "text": self.text,
            "names": self.names,
            "blocks": [_block_json(b) for b in self.blocks],
        }
        if self.quiet:
            data["quiet"] = sorted(self.quiet)
        return data

    @classmethod
    def from_json(cls, data: dict) -> Card:
        """The inverse of `to_json`."""
        return cls(
            text=data["text"],
            names=dict(data.get("names", {})),
            quiet=frozenset(data.get("quiet", ())),
            blocks=tuple(_block_from_json(b) for b in data.get("blocks", [])),
        )


def _block_json(block: Block) -> dict:
    match block:
        case Section(text, fields):
            return {"type": "section", "text": text, "fields": list(fields)}
        case Actions(buttons):
            return {"type": "actions", "buttons": [vars(b).copy() for b in buttons]}
        case ContextLine(text):
            return {"type": "context", "text": text}
    raise TypeError(f"not a block: {block!r}")


def _block_from_json(data: dict) -> Block:
    match data["type"]:
        case "section":
            return Section(data["text"], tuple(data.get("fields", ())))
        case "actions":
            return Actions(tuple(Button(**b) for b in data["buttons"]))
        case "context":
            return ContextLine(data["text"])
    raise ValueError(f"unknown block type {data['type']!r}")
