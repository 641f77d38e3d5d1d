"""Runs console actions through the real handlers, storage and outbox on simulated time."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from hearth.bot.console import resume, script, span
from hearth.bot.console.workspace import (
    CHANNEL,
    PLATFORM,
    WORKSPACE,
    ConsoleWorkspace,
    Item,
    SimClock,
)
from hearth.bot.outbox_sender import OutboxSender
from hearth.handlers import build_registry, zones
from hearth.handlers.cards import unmarked
from hearth.handlers.context import Context, Defaults
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
from hearth.handlers.registry import FormHandler, Registry
from hearth.scheduler.scheduler import Scheduler
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
        self.shown: datetime | None = None
        """The time of the last time line printed."""
        self.workspace = ConsoleWorkspace(self._emit)
        messengers = {PLATFORM: self.workspace}
        registry = registry or build_registry()
        self._accepted: FormSubmitted | None = None
        forms = {name: self._noting(run) for name, run in registry.forms.items()}
        registry = replace(registry, forms=forms)
        self.defaults = defaults
        self.hearth = Hearth(db, registry, messengers, self.clock, defaults)
        self.sender = OutboxSender(db, messengers, self.clock, kinds=registry.outbox_kinds)
        self.scheduler = Scheduler(self.hearth, scopes=("community",))  # no server housekeeping

    def restart(self) -> None:
        """A new engine on the same database: what a process keeps in memory is gone (the
        scheduler's next periods, the sender's leases), what the database holds is not."""
        self.hearth = Hearth(
            self.db, self.hearth.registry, self.hearth.messengers, self.clock, self.defaults
        )
        self.sender = OutboxSender(
            self.db, self.hearth.messengers, self.clock, kinds=self.hearth.registry.outbox_kinds
        )
        self.scheduler = Scheduler(self.hearth, scopes=("community",))

    async def start(self) -> None:
        """Set up the community (silently, if it is not already).

        The clock never goes back behind what the database has already seen (a second run on
        a persistent database): it starts at the later of the two, and says so.
        """
        asked = self.clock.now()
        latest = await resume.latest_seen(self.db)
        if latest is not None and latest > asked:
            self.clock.current = resume.whole_minute_after(latest)
        self.workspace.muted = True
        try:
            await self.hearth.handle(
                self._event(CommandInvoked, FACILITATOR, text="setup", channel_name=CHANNEL)
            )
            await self._deliver()
        finally:
            self.workspace.muted = False
        if latest is not None and latest > asked:
            self.workspace.note(
                f"the clock starts here, not at {_shown(asked)} UTC: "
                f"this database has already seen {_shown(latest)} UTC"
            )

    async def run_line(self, line: str) -> None:
        """Parse and run one script line; raises ScriptError with the reason."""
        action = script.parse_line(line)
        if action is not None:
            await self.run(action)

    async def run(self, action: script.Action) -> None:
        match action:
            case script.Wait(duration):
                try:
                    until = span.after(self.clock.now(), duration)
                except span.SpanError as error:
                    raise script.ScriptError(str(error)) from error
                await self._advance(until)
                return
            case script.Restart(down):
                try:
                    until = span.after(self.clock.now(), down)
                except span.SpanError as error:
                    raise script.ScriptError(str(error)) from error
                self.clock.current = until
                self.restart()
                since = f"Hearth was down since {_shown(until - down)} UTC; it "
                self.workspace.note(f"{since if down else 'Hearth '}restarted on the same database")
            case script.Join(name):
                self.workspace.note(f"@{name} joined #{CHANNEL}")
                await self.hearth.handle(self._event(MemberJoined, name))
            case script.Leave(name):
                self.workspace.note(f"@{name} left #{CHANNEL}")
                await self.hearth.handle(self._event(MemberLeft, name))
            case script.SetTimeZone(name, zone):
                self.workspace.time_zones[name] = _zone(zone)
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
        """Click a button the message shows now: one an update took away is refused."""
        item = self._item(number, name)
        current = self.workspace.latest(item)
        buttons = current.card.buttons() if current.card else []
        button = next((b for b in buttons if b.label == label), None)
        if button is None:
            offered = ", ".join(f'"{b.label}"' for b in buttons) or "none"
            where = f"[{number}]"
            if current is not item:
                where += f" is now [{current.number}], which"
            raise script.ScriptError(f'{where} has no button "{label}" (buttons: {offered})')
        await self.hearth.handle(
            self._event(
                ActionClicked,
                name,
                channel=current.conversation,
                action=button.action,
                value=button.value,
                message=MessageRef(current.conversation, str(current.number)),
            )
        )

    async def _submit(self, name: str, number: int, fields: dict[str, str]) -> None:
        """Submit the form with the fields given and the prefilled values of the others.

        A form that Hearth accepted is closed, as a platform closes it: a second submission is
        refused. One Hearth refused (it said what is wrong) stays open to be corrected.
        """
        item = self._item(number, name)
        if item.form is None:
            raise script.ScriptError(f"[{number}] is not a form")
        if item.submitted:
            raise script.ScriptError(f"[{number}] is already submitted: open the form again")
        kinds = {f.name: f.kind for f in item.form.fields}
        unknown = sorted(set(fields) - set(kinds))
        if unknown:
            raise script.ScriptError(f"[{number}] has no field {', '.join(unknown)}")
        values: dict[str, str | list[str]] = {
            f.name: list(_prefilled(f.initial)) if f.kind == "choices" else _prefilled(f.initial)[0]
            for f in item.form.fields
            if _prefilled(f.initial)
        }
        values |= {
            key: value.split(",") if kinds[key] == "choices" else value
            for key, value in fields.items()
        }
        event = self._event(
            FormSubmitted,
            name,
            channel=item.origin,
            form=item.form.action,
            values=values,
            context=item.form.context,
        )
        await self.hearth.handle(event)
        item.submitted = self._accepted is event

    def _noting(self, run: FormHandler) -> FormHandler:
        """`run`, noting the submissions it accepted (it returned without refusing)."""

        async def noted(context: Context, event: FormSubmitted) -> None:
            await run(context, event)
            self._accepted = event

        return noted

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
                delivery = await outbox.next_due(session, [PLATFORM])
            times = (delivery, await self.scheduler.next_due())
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
        while done := await self.scheduler.run_due() + await self.sender.deliver_due():
            total += done
        return total

    def _print_time(self) -> None:
        """The clock moved: its time line comes with the next line printed (see `_emit`)."""

    # How time lines are printed: only above something that happened at that time.

    def _emit(self, line: str) -> None:
        """Print a transcript line, under `-- 2026-12-01 09:00 UTC --` if the time moved."""
        now = self.clock.now()
        if now != self.shown:
            self.shown = now
            self.write(f"-- {_shown(now)} UTC --")
        self.write(line)

    def untold_time(self) -> str | None:
        """The time, when the clock moved on since the last line printed (None: it did not)."""
        now = self.clock.now()
        return None if now == self.shown else f"{_shown(now)} UTC"

    def _event(self, kind: type[Event], user: str, **values: Any) -> Any:
        values.setdefault("channel", CHANNEL)
        return kind(
            platform=PLATFORM, workspace=WORKSPACE, user=user, at=self.clock.now(), **values
        )


def _shown(moment: datetime) -> str:
    """`2026-12-01 09:00`, with seconds when the time is not a whole minute."""
    return f"{moment:%Y-%m-%d %H:%M:%S}" if moment.second else f"{moment:%Y-%m-%d %H:%M}"


def _prefilled(initial: str | tuple[str, ...]) -> tuple[str, ...]:
    """A field's prefilled value(s), none when it comes empty."""
    return tuple(i for i in ((initial,) if isinstance(initial, str) else initial) if i)


def _zone(written: str) -> str:
    """The IANA name for a `tz` line, by the command grammar's rules (`utc` yes, `EST` no)."""
    try:
        return zones.resolve(written)
    except zones.ZoneError as error:
        raise script.ScriptError(unmarked(str(error))) from error
