"""The README's commands table names every registered command, and only those."""

from __future__ import annotations

import re
from pathlib import Path

from hearth.handlers import build_registry

README = Path(__file__).parent.parent / "README.md"


def table_commands() -> list[str]:
    """The backticked spans of the first column of the README's `### Commands` table."""
    text = README.read_text()
    table = text[text.index("### Commands") : text.index("**The grammar.**")]
    rows = [row for row in table.splitlines() if row.startswith("| `")]
    first_columns = [re.split(r"(?<!\\)\|", row)[1] for row in rows]  # `\|` is not a cell end
    spans = [s for column in first_columns for s in re.findall(r"`([^`]+)`", column)]
    return [s.removeprefix("/cop ") for s in spans]


def names(span: str, command: str) -> bool:
    """`poll close <id>` names `poll close`, not `poll`: arguments don't start with a letter
    in lower case (`<id>`, `"Question"`, `@someone`, `R<id>`, `[purpose]`)."""
    rest = span.removeprefix(command)
    return rest == "" or (rest != span and rest[0] == " " and not rest[1:2].islower())


def named(command: str, spans: list[str]) -> bool:
    return any(names(s, command) for s in spans)


def test_every_registered_command_is_in_the_readme_table() -> None:
    spans = table_commands()
    missing = [c for c in build_registry().commands if not named(c, spans)]
    assert missing == []


def test_the_readme_table_names_no_command_that_is_not_registered() -> None:
    registered = set(build_registry().commands)
    stale = [s for s in table_commands() if not any(named(c, [s]) for c in registered)]
    assert stale == []
