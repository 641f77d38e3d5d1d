"""Cards as console text: a headline, indented lines, buttons as `[Label]`.

Typed text (`cards.typed`) is shown as typed: the console reads no markup, so only the marks
go; a mention shows as `@name` whether Hearth or a person wrote it (console ids are names).
"""

from __future__ import annotations

import re

from hearth.handlers.cards import Actions, Card, ContextLine, Field, Form, Section, unmarked

MENTION = re.compile(r"<@([^|>]+)(?:\|[^>]*)?>")
INDENT = "    "
UNQUOTED = re.compile(r"[\w.,:/+@-]+")
"""A value a submit line can give without quotes."""


def mentions_as_names(text: str) -> str:
    """`<@alice>` → `@alice` (console user ids are their names); typed-text marks removed."""
    return MENTION.sub(lambda m: f"@{m.group(1)}", unmarked(text))


def render(card: Card) -> list[str]:
    """The headline first, then one indented line per line of every block; members mentioned
    quietly (`Card.quiet`) are shown by name, without the `@`."""

    def shown(text: str) -> str:
        for user in card.quiet:
            text = text.replace(f"<@{user}>", card.names.get(user) or "someone")
        return mentions_as_names(text)

    head, *more = card.text.splitlines() or [""]
    lines = [shown(head), *(INDENT + shown(line) for line in more)]
    for block in card.blocks:
        match block:
            case Section(text, fields):
                body = [*text.splitlines(), *fields]
            case ContextLine(text):
                body = [f"({line})" for line in text.splitlines()]
            case Actions(buttons):
                body = [" ".join(f"[{'✓ ' if b.selected else ''}{b.label}]" for b in buttons)]
        lines += [INDENT + shown(line) for line in body if line.strip()]
    return lines


def render_form(form: Form, user: str) -> str:
    """`form for @alice "Title": field (kind), …` as in CONSOLE.md."""
    fields = ", ".join(_field(f) for f in form.fields)
    return f'form for @{user} "{unmarked(form.title)}": {fields}'


def _field(field: Field) -> str:
    """`name (kind)`, then ` = value` when the form comes filled in (as a submit line writes it)."""
    initial = (field.initial,) if isinstance(field.initial, str) else field.initial
    value = ",".join(unmarked(i) for i in initial if i)
    if not value:
        return f"{field.name} ({_kind(field)})"
    if UNQUOTED.fullmatch(value) is None:
        value = '"' + re.sub(r'(["\\$`])', r"\\\1", value) + '"'
    return f"{field.name} ({_kind(field)}) = {value}"


def _kind(field: Field) -> str:
    match field.kind:
        case "yesno":
            return "yes/no"
        case "choice":
            return "one of " + "/".join(map(unmarked, field.options))
        case "choices":
            return "any of " + "/".join(map(unmarked, field.options))
    return "text"
