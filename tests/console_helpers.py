"""Running console scripts in tests and getting the transcript back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from textwrap import dedent

from hearth.bot.console.script import Wait
from hearth.bot.console.session import ConsoleSession
from hearth.bot.console.workspace import PLATFORM, WORKSPACE
from hearth.handlers.context import Defaults
from hearth.handlers.events import ActionClicked, FormSubmitted, MessageRef
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


async def stale_click(session: ConsoleSession, name: str, label: str, number: int) -> None:
    """What Slack or Teams may still deliver: a click on item `number` as it was first shown,
    though an update has replaced it since (a double click, another device's stale copy)."""
    item = session.workspace.items[number]
    assert item.card is not None, f"[{number}] has no buttons"
    (button,) = [b for b in item.card.buttons() if b.label == label]
    await session.hearth.handle(
        ActionClicked(
            platform=PLATFORM,
            workspace=WORKSPACE,
            channel=item.conversation,
            user=name,
            at=session.clock.now(),
            action=button.action,
            value=button.value,
            message=MessageRef(item.conversation, str(item.number)),
        )
    )
    await session.run(Wait(timedelta(0)))  # deliver what it queued


async def submit_again(session: ConsoleSession, name: str, number: int, **values: str) -> None:
    """What Teams may deliver: a form card submitted again after Hearth accepted it."""
    item = session.workspace.items[number]
    assert item.form is not None, f"[{number}] is not a form"
    await session.hearth.handle(
        FormSubmitted(
            platform=PLATFORM,
            workspace=WORKSPACE,
            channel=item.origin,
            user=name,
            at=session.clock.now(),
            form=item.form.action,
            values=dict(values),
            context=item.form.context,
        )
    )
    await session.run(Wait(timedelta(0)))
