"""Cards as Block Kit, within Slack's limits."""

from __future__ import annotations

from typing import Any

from hearth.handlers.cards import Actions, Button, Card, ContextLine, Section

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_BUTTON_TEXT = 75
MAX_VALUE = 2000
MAX_ACTION_ELEMENTS = 25
MAX_FALLBACK_TEXT = 4000
ACTION_SEPARATOR = "#"


def blocks(card: Card) -> list[dict[str, Any]]:
    """The card as a list of Block Kit blocks (headline first)."""
    out: list[dict[str, Any]] = [_section(card.text)]
    counter = iter(range(10_000))
    for block in card.blocks:
        match block:
            case Section(text, fields):
                out.append(_section(text, fields))
            case ContextLine(text):
                out.append({"type": "context", "elements": [_mrkdwn(text, MAX_SECTION_TEXT)]})
            case Actions(buttons):
                for start in range(0, len(buttons), MAX_ACTION_ELEMENTS):
                    chunk = buttons[start : start + MAX_ACTION_ELEMENTS]
                    out.append(
                        {"type": "actions", "elements": [_button(b, next(counter)) for b in chunk]}
                    )
    return out[:MAX_BLOCKS]


def fallback_text(card: Card) -> str:
    """The notification text."""
    return _clip(card.text, MAX_FALLBACK_TEXT)


def action_of(action_id: str) -> str:
    """The neutral action behind a Block Kit action_id (which must be unique per message)."""
    return action_id.rsplit(ACTION_SEPARATOR, 1)[0]


def _section(text: str, fields: tuple[str, ...] = ()) -> dict[str, Any]:
    section: dict[str, Any] = {"type": "section", "text": _mrkdwn(text or " ", MAX_SECTION_TEXT)}
    if fields:
        section["fields"] = [_mrkdwn(f, MAX_FIELD_TEXT) for f in fields[:MAX_FIELDS]]
    return section


def _button(button: Button, index: int) -> dict[str, Any]:
    label = f"✓ {button.label}" if button.selected else button.label
    element: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": _clip(label, MAX_BUTTON_TEXT), "emoji": True},
        "action_id": f"{button.action}{ACTION_SEPARATOR}{index}",
        "value": button.value[:MAX_VALUE] or "-",
    }
    style = "primary" if button.selected else button.style
    if style != "default":
        element["style"] = style
    return element


def _mrkdwn(text: str, limit: int) -> dict[str, str]:
    return {"type": "mrkdwn", "text": _clip(text, limit)}


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
