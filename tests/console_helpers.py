"""Running console scripts in tests and getting the transcript back."""

from __future__ import annotations

from datetime import UTC, datetime
from textwrap import dedent

from hearth.bot.console.session import ConsoleSession
from hearth.handlers.context import Defaults
from hearth.handlers.registry import Registry
from hearth.storage.db import Database

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

SHORT_WELCOME = """\
facilitator: /cop welcome set Hi {name}, welcome to {community}!
facilitator: /cop segments set "Delivery" "Leadership"
facilitator: /cop interests set "Risk" "Tools"
"""


async def transcript(
    db: Database,
    script: str,
    *,
    timezone: str = "UTC",
    start: datetime = START,
    registry: Registry | None = None,
) -> str:
    """Run `script` in a fresh console session and return everything it printed."""
    lines: list[str] = []
    session = ConsoleSession(db, start, lines.append, Defaults(timezone), registry)
    await session.start()
    for line in dedent(script).splitlines():
        await session.run_line(line)
    return "\n".join(lines) + "\n"


def expected(*parts: str) -> str:
    """Transcript text written indented in a test, each part dedented on its own."""
    return "".join(dedent(part).lstrip("\n") for part in parts)
