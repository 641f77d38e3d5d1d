"""Runs console actions through the real handlers, storage and outbox on simulated time."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hearth.bot.console import script
from hearth.bot.console.workspace import (
    CHANNEL,
    PLATFORM,
    WORKSPACE,
    ConsoleWorkspace,
    Item,
    SimClock,
)
from hearth.bot.outbox_sender import OutboxSender
from hearth.handlers import build_registry
from hearth.handlers.context import Defaults
from hearth.handlers.events import (
    ActionClicked,
    CommandInvoked,
    Event,
    FormSubmitted,
    MemberJoined,
    MemberLeft,
    MessagePosted,
    MessageRef,
    ProfileChanged,
    ReactionAdded,
)
from hearth.handlers.hub import Hearth
from hearth.handlers.jobs import run_due_jobs
from hearth.handlers.registry import Registry
from hearth.storage import jobs as stored_jobs
from hearth.storage import outbox
from hearth.storage.db import Database

FACILITATOR = "facilitator"
AT_NAME = re.compile(r"(?<![<\w])@([A-Za-z][\w.-]*)")


class ConsoleSession:
    """One simulated workspace with `#community` set up and `facilitator` facilitating it."""

    def __init__(
        self,
        db: Database,
        start: datetime,
        write: Callable[[str], None],
        defaults: Defaults,
        registry: Registry | None = None,
    ) -> None:
        self.db = db
        self.clock = SimClock(start)
        self.write = write
        self.workspace = ConsoleWorkspace(write)
        messengers = {PLATFORM: self.workspace}
        self.hearth = Hearth(db, registry or build_registry(), messengers, self.clock, defaults)
        self.sender = OutboxSender(db, messengers, self.clock)

    async def start(self) -> None:
        """Print the time and set up the community (silently, if it is not already)."""
        self._print_time()
        self.workspace.muted = True
        try:
            await self.hearth.handle(
                self._event(CommandInvoked, FACILITATOR, text="setup", channel_name=CHANNEL)
            )
            await self._deliver()
        finally:
            self.workspace.muted = False

    async def run_line(self, line: str) -> None:
        """Parse and run one script line; raises ScriptError with the reason."""
        action = script.parse_line(line)
        if action is not None:
            await self.run(action)

    async def run(self, action: script.Action) -> None:
        match action:
            case script.Wait(duration):
                await self._advance(self.clock.now() + duration)
                return
            case script.Join(name):
                self.workspace.note(f"@{name} joined #{CHANNEL}")
                await self.hearth.handle(self._event(MemberJoined, name))
            case script.Leave(name):
                self.workspace.note(f"@{name} left #{CHANNEL}")
                await self.hearth.handle(self._event(MemberLeft, name))
            case script.SetTimeZone(name, zone):
                _check_zone(zone)
                self.workspace.time_zones[name] = zone
                await self.hearth.handle(self._event(ProfileChanged, name))
            case script.Say():
                await self._say(action)
            case script.Click(name, label, number):
                await self._click(name, label, number)
            case script.React(name, emoji, number):
                item = self._item(number, name)
                self.workspace.note(f"@{name} reacted :{emoji}: to [{number}]")
                await self.hearth.handle(
                    self._event(ReactionAdded, name, message_id=str(item.root), emoji=emoji)
                )
            case script.Submit(name, number, fields):
                await self._submit(name, number, fields)
        await self._deliver()

    async def _say(self, say: script.Say) -> None:
        text = AT_NAME.sub(r"<@\1>", say.text)
        channel = f"dm:{say.name}" if say.dm else CHANNEL
        if text.startswith("/cop"):
            if say.thread_item is not None:
                raise script.ScriptError("slash commands can't be run in a thread")
            command = text.removeprefix("/cop").strip()
            await self.hearth.handle(
                self._event(
                    CommandInvoked,
                    say.name,
                    channel=channel,
                    text=command,
                    is_dm=say.dm,
                    channel_name=CHANNEL,
                )
            )
            return
        thread = None
        if say.thread_item is not None:
            parent = self._item(say.thread_item, say.name)
            if parent.conversation != CHANNEL:
                raise script.ScriptError(f"[{say.thread_item}] is not in #{CHANNEL}")
            thread = parent.thread or parent.root
        item = self.workspace.add(channel, f"@{say.name}", [say.text], thread=thread)
        await self.hearth.handle(
            self._event(
                MessagePosted,
                say.name,
                channel=channel,
                message_id=str(item.number),
                text=text,
                thread_id=str(thread) if thread else None,
                is_dm=say.dm,
            )
        )

    async def _click(self, name: str, label: str, number: int) -> None:
        item = self._item(number, name)
        buttons = item.card.buttons() if item.card else []
        button = next((b for b in buttons if b.label == label), None)
        if button is None:
            offered = ", ".join(f'"{b.label}"' for b in buttons) or "none"
            raise script.ScriptError(f'[{number}] has no button "{label}" (buttons: {offered})')
        await self.hearth.handle(
            self._event(
                ActionClicked,
                name,
                channel=item.conversation,
                action=button.action,
                value=button.value,
                message=MessageRef(item.conversation, str(item.number)),
            )
        )

    async def _submit(self, name: str, number: int, fields: dict[str, str]) -> None:
        item = self._item(number, name)
        if item.form is None:
            raise script.ScriptError(f"[{number}] is not a form")
        kinds = {f.name: f.kind for f in item.form.fields}
        unknown = sorted(set(fields) - set(kinds))
        if unknown:
            raise script.ScriptError(f"[{number}] has no field {', '.join(unknown)}")
        values: dict[str, str | list[str]] = {
            key: value.split(",") if kinds[key] == "choices" else value
            for key, value in fields.items()
        }
        await self.hearth.handle(
            self._event(
                FormSubmitted,
                name,
                channel=item.origin,
                form=item.form.action,
                values=values,
                context=item.form.context,
            )
        )

    def _item(self, number: int, name: str) -> Item:
        item = self.workspace.items.get(number)
        if item is None:
            raise script.ScriptError(f"there is no item [{number}]")
        owner = item.conversation.partition(":")[2]
        if owner and owner != name:
            raise script.ScriptError(f"[{number}] is only visible to @{owner}")
        return item

    async def _advance(self, until: datetime) -> None:
        """Move the clock to `until`, running everything that falls due on the way, in order."""
        while True:
            async with self.db.transaction() as session:
                times = (
                    await outbox.next_due(session, [PLATFORM]),
                    await stored_jobs.next_due(session, [PLATFORM]),
                )
            due = min((t for t in times if t is not None), default=None)
            if due is None or due > until:
                break
            if due > self.clock.now():
                self.clock.current = due
                self._print_time()
            if not await self._deliver():
                break  # due but not deliverable yet: nothing more happens before `until`
        if until > self.clock.now():
            self.clock.current = until
            self._print_time()

    async def _deliver(self) -> int:
        """Run the jobs and deliver the messages due now; how many there were."""
        total = 0
        while done := await run_due_jobs(self.hearth) + await self.sender.deliver_due():
            total += done
        return total

    def _print_time(self) -> None:
        """`-- 2026-12-01 09:00 UTC --`, with seconds when the time is not a whole minute."""
        now = self.clock.now()
        shown = f"{now:%Y-%m-%d %H:%M:%S}" if now.second else f"{now:%Y-%m-%d %H:%M}"
        if not self.workspace.muted:
            self.write(f"-- {shown} UTC --")

    def _event(self, kind: type[Event], user: str, **values: Any) -> Any:
        values.setdefault("channel", CHANNEL)
        return kind(
            platform=PLATFORM, workspace=WORKSPACE, user=user, at=self.clock.now(), **values
        )


def _check_zone(zone: str) -> None:
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise script.ScriptError(f"unknown time zone {zone!r}") from error
