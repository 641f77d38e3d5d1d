"""Console sessions for question tests: one message delivered at a time, in the order written.

The console's sender delivers different conversations side by side, so two DMs written in one
transaction may print in either order (and differently on SQLite and PostgreSQL). Routing
writes several at once; these sessions send them one by one, in the order Hearth wrote them.
"""

from __future__ import annotations

from datetime import datetime
from textwrap import dedent

from hearth.bot.console.session import ConsoleSession
from hearth.bot.console.workspace import PLATFORM
from hearth.bot.outbox_sender import OutboxSender
from hearth.handlers.context import Defaults
from hearth.handlers.registry import Registry
from hearth.storage.db import Database
from tests.console_helpers import START


async def console(
    db: Database,
    lines: list[str],
    *,
    start: datetime = START,
    registry: Registry | None = None,
    defaults: Defaults | None = None,
) -> ConsoleSession:
    """A started console session printing into `lines`, delivering in order."""
    session = ConsoleSession(db, start, lines.append, defaults or Defaults("UTC"), registry)
    session.sender = OutboxSender(db, {PLATFORM: session.workspace}, session.clock, concurrency=1)
    await session.start()
    return session


async def run(session: ConsoleSession, script: str) -> None:
    for line in dedent(script).splitlines():
        await session.run_line(line)


async def transcript(db: Database, script: str, **options: object) -> str:
    """Run `script` in a fresh in-order session; everything it printed."""
    lines: list[str] = []
    session = await console(db, lines, **options)  # type: ignore[arg-type]
    await run(session, script)
    return "\n".join(lines) + "\n"
