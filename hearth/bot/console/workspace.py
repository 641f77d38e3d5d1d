"""A simulated workspace: a Messenger that prints a numbered transcript, and a settable clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from hearth.bot.console.render import INDENT, render, render_form
from hearth.handlers.cards import Card, Form, unmarked
from hearth.handlers.events import MessageRef
from hearth.handlers.ports import Profile, Target

PLATFORM = "console"
WORKSPACE = "console"
CHANNEL = "community"


class SimClock:
    """Simulated time that moves only when told to."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current


@dataclass
class Item:
    """One numbered transcript item."""

    number: int
    conversation: str
    root: int
    """The message this item is (for an update, the message it replaces)."""
    author: str
    card: Card | None = None
    thread: int | None = None
    form: Form | None = None
    origin: str = CHANNEL
    """For a form: the channel it was opened from."""
    submitted: bool = False
    """For a form: Hearth accepted a submission of it, which closed it."""


@dataclass
class ConsoleWorkspace:
    """The console's platform: members, their time zones, and what has been said."""

    write: Callable[[str], None]
    time_zones: dict[str, str] = field(default_factory=dict)
    items: dict[int, Item] = field(default_factory=dict)
    muted: bool = False
    posted: dict[str, MessageRef] = field(default_factory=dict)
    """Posts by their delivery tag."""

    platform = PLATFORM
    command_prefix = "/cop"
    min_send_interval = 0.0

    def add(
        self,
        conversation: str,
        author: str,
        lines: list[str],
        *,
        card: Card | None = None,
        thread: int | None = None,
        replaces: Item | None = None,
        form: Form | None = None,
        origin: str = CHANNEL,
    ) -> Item:
        """Number and print a new item (while muted: neither)."""
        number = 0 if self.muted else len(self.items) + 1
        root = replaces.root if replaces else number
        item = Item(number, conversation, root, author, card, thread, form, origin)
        if self.muted:
            return item
        self.items[number] = item
        if form is not None:
            self.write(f"[{number}] {lines[0]}")
            return item
        where = _where(conversation)
        if thread is not None:
            where += f" thread [{thread}]"
        if replaces is not None:
            where = f"(update of [{replaces.number}]) {where}"
        self.write(f"[{number}] {where} {author}: {lines[0]}")
        for line in lines[1:]:
            self.write(line)
        return item

    def latest(self, item: Item) -> Item:
        """The message as it is now: `item`, or the last update that replaced it."""
        return max((i for i in self.items.values() if i.root == item.root), key=lambda i: i.number)

    def note(self, text: str) -> None:
        """An unnumbered line (joins, reactions)."""
        if not self.muted:
            self.write(f"* {text}")

    # Messenger port

    async def post(
        self, workspace: str, target: Target, card: Card, tag: str | None = None
    ) -> MessageRef:
        conversation = f"dm:{target.id}" if target.kind == "dm" else target.id
        thread = int(target.thread) if target.thread else None
        item = self.add(conversation, "bot", render(card), card=card, thread=thread)
        ref = MessageRef(conversation, str(item.number))
        if tag is not None:
            self.posted[tag] = ref
        return ref

    async def find_posted(self, workspace: str, target: Target, tag: str) -> MessageRef | None:
        return self.posted.get(tag)

    async def update(self, workspace: str, ref: MessageRef, card: Card) -> None:
        latest = self.latest(self.items[int(ref.message_id)])
        self.add(
            latest.conversation,
            "bot",
            render(card),
            card=card,
            replaces=latest,
            thread=latest.thread,
        )

    async def reply_privately(
        self, workspace: str, channel: str, user: str, card: Card, reply_token: str | None
    ) -> None:
        self.add(f"only:{user}", "bot", render(card), card=card)

    async def open_form(
        self, workspace: str, channel: str, user: str, form: Form, form_token: str | None
    ) -> None:
        self.add(f"form:{user}", "bot", [render_form(form, user)], form=form, origin=channel)

    async def send_file(
        self, workspace: str, user: str, filename: str, content: bytes, comment: str
    ) -> None:
        text = content.decode("utf-8", errors="replace")
        lines = [f"{unmarked(comment)} [file {filename}, {len(content)} bytes]"]
        self.add(f"only:{user}", "bot", lines + [INDENT + line for line in text.splitlines()])

    async def show_home(self, workspace: str, user: str, card: Card) -> None:
        self.add(f"only:{user}", "bot", render(card), card=card)

    async def join(self, workspace: str, channel: str) -> None:
        return None

    async def profile(self, workspace: str, user_id: str) -> Profile | None:
        return Profile(user_id, user_id.capitalize(), tz=self.time_zones.get(user_id))


def _where(conversation: str) -> str:
    if conversation.startswith("dm:"):
        return f"DM @{conversation[3:]}"
    if conversation.startswith("only:"):
        return f"(only @{conversation[5:]})"
    return f"#{conversation}"
