"""Cards and forms as Adaptive Cards 1.5, the way Teams shows them.

Everything the Block Kit rendering carries is here too: the headline, every section line and
field, every button with its action and value (in `Action.Submit` data, so a click comes back
as the same `ActionClicked`), which buttons are selected, the small print, and mentions, which
become `<at>Name</at>` with a matching `msteams.entities` mention so that Teams notifies.

What a person typed (`cards.typed`) is escaped in `_Mentions.text`, the one place text is
drawn: its Markdown characters are backslash-escaped (Adaptive Cards read a CommonMark subset)
and so are `<` and `>`, so it can neither format nor link nor spell an `<at>` mention that
Teams would match to an entity; only mentions of members the card names (Hearth resolved
them) become mentions. Display names, typed by people too, are cleaned the same way.
"""

from __future__ import annotations

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

CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION = "1.5"
ACTION = "hearth_action"
VALUE = "hearth_value"
FORM = "hearth_form"
FORM_CONTEXT = "hearth_context"
FORM_OPTIONS = "hearth_options"
FORM_MULTI = "hearth_multi"
"""Submit data keys: a click carries ACTION and VALUE; a form FORM, FORM_CONTEXT, the options
of its choice fields (choices are sent as their index: values may contain commas) and which of
them take several answers."""

MAX_TEXT = 4000
MAX_TITLE = 75
MAX_FALLBACK = 1000
BUTTONS_PER_ROW = 3
"""Teams squeezes a long row of buttons into truncated labels: at most three side by side."""

MENTION = re.compile(r"<@([^|>\s]+)(?:\|([^>]*))?>")
BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
CODE = re.compile(r"`([^`\n]+)`")
STYLES = {"primary": "positive", "danger": "destructive"}
SLOT_START, SLOT_END = "\ue002", "\ue003"
SLOT = re.compile(f"{SLOT_START}(\\d+){SLOT_END}")
MARKDOWN = re.compile(r"([\\`*_~\[\]<>])")
LIST_START = re.compile(r"(?m)^(\s*)([-+]|\d+\.)(?=\s|$)")
"""Characters that Adaptive Card Markdown (or Teams' mention matching) would read."""


def escape_markdown(text: str) -> str:
    """Typed text shown as typed in an Adaptive Card TextBlock."""
    text = MARKDOWN.sub(r"\\\1", text)
    return LIST_START.sub(lambda m: m.group(1) + m.group(2)[:-1] + "\\" + m.group(2)[-1], text)


def display_name(name: str) -> str:
    """A display name fit for `<at>…</at>`: no angle brackets, no typed-text marks."""
    return unmarked(name).replace("<", "").replace(">", "").strip() or "someone"


class _Mentions:
    """Turns `<@id>` into `<at>Name</at>` and collects one mention entity per person."""

    def __init__(self, names: dict[str, str], quiet: frozenset[str] = frozenset()) -> None:
        self.names = names
        self.quiet = quiet
        self.entities: dict[str, dict[str, Any]] = {}

    def text(self, raw: str) -> str:
        """Slack-style mrkdwn with `<@id>` mentions → Teams markdown with `<at>` mentions;
        typed text escaped."""
        typed: list[str] = []
        markup = ""
        for is_typed, chunk in spans(raw):  # Hearth's markup may wrap typed text: *{typed}*
            if is_typed:
                markup += f"{SLOT_START}{len(typed)}{SLOT_END}"
                typed.append(self._typed(chunk))
            else:
                markup += chunk
        markup = CODE.sub(r"**\1**", markup)
        markup = BOLD.sub(r"**\1**", markup)
        markup = MENTION.sub(self._mention, markup)
        return SLOT.sub(lambda m: typed[int(m.group(1))], markup)

    def _typed(self, text: str) -> str:
        out, position = [], 0
        for match in MENTION.finditer(text):
            out.append(escape_markdown(text[position : match.start()]))
            out.append(self._mention(match))
            position = match.end()
        out.append(escape_markdown(text[position:]))
        return "".join(out)

    def _mention(self, match: re.Match[str]) -> str:
        user_id, label = match.group(1), match.group(2)
        name = display_name(self.names[user_id]) if self.names.get(user_id) else ""
        if user_id in self.quiet:
            return escape_markdown(unmarked(self.names.get(user_id) or "someone"))
        if not name:
            return escape_markdown(f"@{label or user_id}")
        entity = self.entities.get(user_id)
        if entity is None:
            taken = {e["text"] for e in self.entities.values()}
            tag, n = f"<at>{name}</at>", 2
            while tag in taken:  # two people with one name: each mention text must be unique
                tag, n = f"<at>{name} ({n})</at>", n + 1
            entity = {"type": "mention", "text": tag, "mentioned": {"id": user_id, "name": name}}
            self.entities[user_id] = entity
        return entity["text"]


def attachment(card: Card) -> dict[str, Any]:
    """The card as a Bot Framework attachment."""
    return {"contentType": CONTENT_TYPE, "content": adaptive_card(card)}


def form_attachment(form: Form) -> dict[str, Any]:
    """The form as a Bot Framework attachment."""
    return {"contentType": CONTENT_TYPE, "content": form_card(form)}


def adaptive_card(card: Card) -> dict[str, Any]:
    """The card as an Adaptive Card 1.5 (with Teams' `msteams` extension for mentions)."""
    mentions = _Mentions(card.names, card.quiet)
    body: list[dict[str, Any]] = _text_blocks(mentions.text(card.text))
    for block in card.blocks:
        match block:
            case Section(text, fields):
                body += _text_blocks(mentions.text(text), separated=True)
                body += _fields(mentions, fields)
            case ContextLine(text):
                body += _text_blocks(mentions.text(text), small=True, separated=True)
            case Actions(buttons):
                for start in range(0, len(buttons), BUTTONS_PER_ROW):
                    chunk = buttons[start : start + BUTTONS_PER_ROW]
                    body.append({"type": "ActionSet", "actions": [_submit(b) for b in chunk]})
    return _envelope(body, fallback_text(card), mentions)


def form_card(form: Form) -> dict[str, Any]:
    """A form as an Adaptive Card with inputs and one submit button; its title is plain text
    (a survey's, say, as typed), so it is shown with no Markdown read."""
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": _clip(escape_markdown(unmarked(form.title)), MAX_TEXT)},
    ]
    body[0] |= {"wrap": True, "size": "medium", "weight": "bolder"}
    options: dict[str, list[str]] = {}
    for field in form.fields:
        body.append(_input(field))
        if field.kind in ("choice", "choices"):
            options[field.name] = list(field.options)
    multi = [f.name for f in form.fields if f.kind == "choices"]
    data = {FORM: form.action, FORM_CONTEXT: form.context, FORM_OPTIONS: options, FORM_MULTI: multi}
    title = _clip(unmarked(form.submit_label), MAX_TITLE)
    submit = {"type": "Action.Submit", "title": title, "data": data}
    card = _envelope(body, unmarked(form.title), _Mentions({}))
    card["actions"] = [submit | {"style": "positive"}]
    return card


def fallback_text(card: Card) -> str:
    """The notification text (mentions shown as names, never as mentions)."""
    text = MENTION.sub(
        lambda m: (
            ("" if m.group(1) in card.quiet else "@")
            + display_name(card.names.get(m.group(1), m.group(2) or m.group(1)))
        ),
        unmarked(card.text),
    )
    return _clip(text, MAX_FALLBACK)


def _envelope(body: list[dict[str, Any]], fallback: str, mentions: _Mentions) -> dict[str, Any]:
    card: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": SCHEMA,
        "version": VERSION,
        "body": body,
        "fallbackText": _clip(fallback, MAX_FALLBACK),
        "msteams": {"width": "Full"},
    }
    if mentions.entities:
        card["msteams"]["entities"] = list(mentions.entities.values())
    return card


def _text_blocks(
    text: str, *, small: bool = False, separated: bool = False
) -> list[dict[str, Any]]:
    """One TextBlock per line: hosts differ on single newlines inside one block."""
    lines = [line for line in text.splitlines() if line.strip()]
    blocks = []
    for n, line in enumerate(lines):
        block: dict[str, Any] = {"type": "TextBlock", "text": _clip(line, MAX_TEXT), "wrap": True}
        if small:
            block |= {"size": "small", "isSubtle": True}
        if n > 0:
            block["spacing"] = "none"
        elif separated:
            block["spacing"] = "medium"
        blocks.append(block)
    return blocks


def _fields(mentions: _Mentions, fields: tuple[str, ...]) -> list[dict[str, Any]]:
    """`*Label*\\nvalue` fields as a FactSet; anything else as lines of text."""
    pairs = [f.split("\n", 1) for f in fields]
    if pairs and all(len(p) == 2 for p in pairs):
        facts = [
            {"title": _clip(mentions.text(t).strip("* "), MAX_TITLE), "value": mentions.text(v)}
            for t, v in pairs
        ]
        return [{"type": "FactSet", "facts": facts}]
    return [b for f in fields for b in _text_blocks(mentions.text(f))]


def _submit(button: Button) -> dict[str, Any]:
    title = f"✓ {button.label}" if button.selected else button.label
    action: dict[str, Any] = {
        "type": "Action.Submit",
        "title": _clip(unmarked(title), MAX_TITLE),
        "data": {ACTION: button.action, VALUE: button.value},
    }
    style = STYLES.get("primary" if button.selected else button.style)
    if style:
        action["style"] = style
    return action


def _input(field: Field) -> dict[str, Any]:
    label = unmarked(field.label)
    common: dict[str, Any] = {"id": field.name, "label": label, "isRequired": field.required}
    if field.required:
        common["errorMessage"] = f"Please fill in “{label}”."
    initial = (field.initial,) if isinstance(field.initial, str) else field.initial
    match field.kind:
        case "yesno":
            common.pop("isRequired")
            common.pop("errorMessage", None)
            value = "yes" if initial and initial[0].lower() == "yes" else "no"
            return common | {
                "type": "Input.Toggle",
                "title": label,
                "valueOn": "yes",
                "valueOff": "no",
                "value": value,
                "wrap": True,
            }
        case "choice" | "choices":
            chosen = [str(i) for i, o in enumerate(field.options) if o in initial]
            element = common | {
                "type": "Input.ChoiceSet",
                "choices": [
                    {"title": unmarked(o), "value": str(i)} for i, o in enumerate(field.options)
                ],
                "isMultiSelect": field.kind == "choices",
                "style": "expanded",
                "wrap": True,
            }
            if chosen:
                element["value"] = ",".join(chosen)
            return element
    element = common | {"type": "Input.Text", "isMultiline": field.multiline}
    if initial and initial[0]:
        element["value"] = unmarked(initial[0])
    return element


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clicked(data: object) -> tuple[str, str] | None:
    """`(action, value)` from a submitted button's data, or None when it is not a button."""
    if not isinstance(data, dict) or not isinstance(data.get(ACTION), str):
        return None
    value = data.get(VALUE, "")
    return data[ACTION], value if isinstance(value, str) else str(value)


def submitted(data: object) -> tuple[str, str, dict[str, str | list[str]]] | None:
    """`(form, context, values)` from a submitted form's data, or None when it is not a form.

    Choice inputs answer with option indexes (comma-separated when several): they are turned
    back into the options' text; anything unexpected is passed on for the form check to reject.
    """
    if not isinstance(data, dict) or not isinstance(data.get(FORM), str):
        return None
    context = data.get(FORM_CONTEXT, "")
    options = data.get(FORM_OPTIONS)
    options = options if isinstance(options, dict) else {}
    values: dict[str, str | list[str]] = {}
    for name, raw in data.items():
        if name in (FORM, FORM_CONTEXT, FORM_OPTIONS, FORM_MULTI):
            continue
        text = raw if isinstance(raw, str) else str(raw)
        choices = options.get(name)
        if isinstance(choices, list):
            picked = [_option(choices, index) for index in text.split(",") if index.strip()]
            values[name] = picked if _is_multi(data, name) else (picked[0] if picked else "")
        else:
            values[name] = text
    return data[FORM], context if isinstance(context, str) else "", values


def _option(choices: list[object], index: str) -> str:
    index = index.strip()
    if index.isdigit() and int(index) < len(choices):
        return str(choices[int(index)])
    return index


def _is_multi(data: dict[str, object], name: str) -> bool:
    multi = data.get(FORM_MULTI)
    return isinstance(multi, list) and name in multi
