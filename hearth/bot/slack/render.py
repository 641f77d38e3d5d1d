"""Cards as Block Kit, within Slack's limits.

Every mrkdwn text (blocks and the notification `text`) goes through `mrkdwn`: what a person
typed has `&`, `<` and `>` escaped, so it shows as typed and can never become a broadcast
(`<!channel>`, `<!here>`, `<!everyone>`), a user-group ping (`<!subteam^…>`), a link or a
channel reference; only user mentions `<@U…>` stay live (Slack itself resolved them from the
person's `@name`, or Hearth did). Hearth's own markup never broadcasts either: its `<`, `>` and
`&` other than mentions are escaped too (a usage line's `<id>` is text).
"""

from __future__ import annotations

import json
import re
from typing import Any

from hearth.handlers.cards import (
    Actions,
    Button,
    Card,
    ContextLine,
    Field,
    Form,
    Section,
    spans,
    unmarked,
)

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_BUTTON_TEXT = 75
MAX_VALUE = 2000
MAX_ACTION_ELEMENTS = 25
MAX_FALLBACK_TEXT = 4000
ACTION_SEPARATOR = "#"
MAX_VIEW_TITLE = 24
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_CHECKBOXES = 10
MAX_SELECT_OPTIONS = 100
MAX_METADATA = 3000

MENTION = re.compile(r"<@([^|<>\s]+)(?:\|[^<>]*)?>")
USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
BARE_AMPERSAND = re.compile(r"&(?!(?:amp|lt|gt);)")
"""Slack sends typed `&`, `<`, `>` already escaped: escape only what is not an entity yet."""


def blocks(card: Card) -> list[dict[str, Any]]:
    """The card as a list of Block Kit blocks (headline first)."""
    out: list[dict[str, Any]] = [_section(card, card.text)]
    counter = iter(range(10_000))
    for block in card.blocks:
        match block:
            case Section(text, fields):
                out.append(_section(card, text, fields))
            case ContextLine(text):
                out.append({"type": "context", "elements": [_mrkdwn(card, text, MAX_SECTION_TEXT)]})
            case Actions(buttons):
                for start in range(0, len(buttons), MAX_ACTION_ELEMENTS):
                    chunk = buttons[start : start + MAX_ACTION_ELEMENTS]
                    out.append(
                        {"type": "actions", "elements": [_button(b, next(counter)) for b in chunk]}
                    )
    return out[:MAX_BLOCKS]


def fallback_text(card: Card) -> str:
    """The notification text."""
    return _clip(mrkdwn(card.text, card.names, card.quiet), MAX_FALLBACK_TEXT)


def mrkdwn(text: str, names: dict[str, str], quiet: frozenset[str] = frozenset()) -> str:
    """Card text as Slack mrkdwn: typed text escaped, no broadcasts (see the module's doc)."""
    return "".join(
        _typed(chunk, names, quiet) if is_typed else _markup(chunk, names, quiet)
        for is_typed, chunk in spans(text)
    )


def _markup(text: str, names: dict[str, str], quiet: frozenset[str]) -> str:
    """Hearth's own markup: its mentions stay live; any other `<`, `>`, `&` is a character
    (a usage line's `<id>`), so it never becomes a broadcast, a link or a channel."""
    out, position = [], 0
    for match in MENTION.finditer(text):
        out.append(_escape(text[position : match.start()]))
        user = match.group(1)
        out.append(_escape(names.get(user) or "someone") if user in quiet else match.group(0))
        position = match.end()
    out.append(_escape(text[position:]))
    return "".join(out)


def _typed(text: str, names: dict[str, str], quiet: frozenset[str]) -> str:
    out, position = [], 0
    for match in MENTION.finditer(text):
        out.append(_escape(text[position : match.start()]))
        user = match.group(1)
        if user in quiet:
            out.append(_escape(names.get(user) or "someone"))
        elif user in names or USER_ID.fullmatch(user):
            out.append(f"<@{user}>")
        else:
            out.append(_escape(match.group(0)))
        position = match.end()
    out.append(_escape(text[position:]))
    return "".join(out)


def _escape(text: str) -> str:
    return BARE_AMPERSAND.sub("&amp;", text).replace("<", "&lt;").replace(">", "&gt;")


def action_of(action_id: str) -> str:
    """The neutral action behind a Block Kit action_id (which must be unique per message)."""
    return action_id.rsplit(ACTION_SEPARATOR, 1)[0]


def _section(card: Card, text: str, fields: tuple[str, ...] = ()) -> dict[str, Any]:
    section: dict[str, Any] = {
        "type": "section",
        "text": _mrkdwn(card, text or " ", MAX_SECTION_TEXT),
    }
    if fields:
        section["fields"] = [_mrkdwn(card, f, MAX_FIELD_TEXT) for f in fields[:MAX_FIELDS]]
    return section


def _button(button: Button, index: int) -> dict[str, Any]:
    label = unmarked(f"✓ {button.label}" if button.selected else button.label)
    element: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": _clip(label, MAX_BUTTON_TEXT), "emoji": True},
        "action_id": f"{button.action}{ACTION_SEPARATOR}{index}",
        "value": unmarked(button.value)[:MAX_VALUE] or "-",
    }
    style = "primary" if button.selected else button.style
    if style != "default":
        element["style"] = style
    return element


def _mrkdwn(card: Card, text: str, limit: int) -> dict[str, str]:
    return {"type": "mrkdwn", "text": _clip(mrkdwn(text, card.names, card.quiet), limit)}


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def home(card: Card) -> dict[str, Any]:
    """The card as an App Home tab view."""
    return {"type": "home", "blocks": blocks(card)}


def modal(form: Form, channel: str) -> dict[str, Any]:
    """The form as a modal view; `private_metadata` carries the origin channel and context."""
    metadata = json.dumps({"channel": channel, "context": form.context})
    if len(metadata) > MAX_METADATA:
        raise ValueError("form context too long for a Slack modal")
    return {
        "type": "modal",
        "callback_id": form.action,
        "title": _plain(form.title, MAX_VIEW_TITLE),
        "submit": _plain(form.submit_label, MAX_VIEW_TITLE),
        "close": _plain("Cancel", MAX_VIEW_TITLE),
        "private_metadata": metadata,
        "blocks": [_input(field) for field in form.fields][:MAX_BLOCKS],
    }


def _input(field: Field) -> dict[str, Any]:
    element: dict[str, Any]
    initial = [field.initial] if isinstance(field.initial, str) else list(field.initial)
    initial = [unmarked(i) for i in initial if i]
    match field.kind:
        case "text":
            element = {"type": "plain_text_input", "multiline": field.multiline}
            if initial:
                element["initial_value"] = initial[0]
        case "yesno":
            options = [_option("Yes", "yes"), _option("No", "no")]
            element = {"type": "radio_buttons", "options": options}
            if initial:
                element["initial_option"] = options[0] if initial[0] == "yes" else options[1]
        case "choice":
            options = [_option(o, o) for o in field.options[:MAX_SELECT_OPTIONS]]
            element = {"type": "static_select", "options": options}
            chosen = [o for o in options if o["value"] in initial]
            if chosen:
                element["initial_option"] = chosen[0]
        case "choices":
            options = [_option(o, o) for o in field.options[:MAX_SELECT_OPTIONS]]
            kind = "checkboxes" if len(options) <= MAX_CHECKBOXES else "multi_static_select"
            element = {"type": kind, "options": options}
            chosen = [o for o in options if o["value"] in initial]
            if chosen:
                element["initial_options"] = chosen
    element["action_id"] = field.name
    return {
        "type": "input",
        "block_id": field.name,
        "label": _plain(field.label, 2000),
        "optional": not field.required,
        "element": element,
    }


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": _plain(text, MAX_OPTION_TEXT), "value": unmarked(value)[:MAX_OPTION_VALUE]}


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": _clip(unmarked(text), limit), "emoji": True}
