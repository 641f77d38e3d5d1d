"""Running console scripts in tests and getting the transcript back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from textwrap import dedent

from sqlalchemy import select

from hearth.bot.console.script import Wait
from hearth.bot.console.session import ConsoleSession
from hearth.bot.console.workspace import PLATFORM, WORKSPACE
from hearth.handlers import build_registry
from hearth.handlers.context import Context, Defaults
from hearth.handlers.events import ActionClicked, FormSubmitted, MessagePosted, MessageRef
from hearth.handlers.registry import Registry
from hearth.storage.db import Database
from hearth.storage.models import Community
from tests.recording import RecordingMessenger, SettableClock

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


@asynccontextmanager
async def community_context(
    db: Database, at: datetime = START
) -> AsyncIterator[tuple[Context, Community]]:
    """A handler's context in the console community at `at` (a message posted there), in one
    transaction, with every feature registered: for calling what a feature declares to the
    others (digest sections, first responders, highlights) directly."""
    async with db.transaction() as session:
        community = await session.scalar(select(Community))
        assert community is not None, "run a console transcript first: it sets the community up"
        event = MessagePosted(
            platform=PLATFORM,
            workspace=WORKSPACE,
            channel=community.channel,
            user="x",
            at=at,
            message_id="1",
            text="",
        )
        registry = build_registry()
        clock = SettableClock(at)
        yield Context(session, event, RecordingMessenger(), clock, registry, Defaults()), community


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
