"""A scripted Messenger and a settable clock, for tests below the platform adapters."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hearth.handlers.cards import Card, Form
from hearth.handlers.events import MessageRef
from hearth.handlers.ports import Profile, Target, TemporaryFailure


class SettableClock:
    """A Clock that stands still until a test moves it."""

    def __init__(self, start: datetime = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)) -> None:
        if start.tzinfo is None:
            raise ValueError("the clock needs a timezone-aware start")
        self.current = start

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        """Move forward by `timedelta(**delta)`; returns the new time."""
        self.current += timedelta(**delta)
        return self.current

    def set(self, moment: datetime) -> None:
        self.current = moment


@dataclass
class RecordingMessenger:
    """Records every call; `failures` are raised, in order, by the next posts."""

    platform: str = "test"
    command_prefix: str = "/cop"
    min_send_interval: float = 1.0
    posts: list[tuple[Target, Card]] = field(default_factory=list)
    private: list[tuple[str, Card]] = field(default_factory=list)
    updates: list[tuple[MessageRef, Card]] = field(default_factory=list)
    failures: list[Exception] = field(default_factory=list)
    forms: list[tuple[str, Form]] = field(default_factory=list)
    files: list[tuple[str, str, bytes]] = field(default_factory=list)
    homes: list[tuple[str, Card]] = field(default_factory=list)
    tagged: dict[str, MessageRef] = field(default_factory=dict)
    lost_answers: int = 0
    """The next posts land, but their callers get a TemporaryFailure (a timeout, say)."""

    async def post(
        self, workspace: str, target: Target, card: Card, tag: str | None = None
    ) -> MessageRef:
        if self.failures:
            raise self.failures.pop(0)
        self.posts.append((target, card))
        ref = MessageRef(target.id, str(len(self.posts)))
        if tag is not None:
            self.tagged[tag] = ref
        if self.lost_answers:
            self.lost_answers -= 1
            raise TemporaryFailure("the answer was lost on the way back")
        return ref

    async def find_posted(self, workspace: str, target: Target, tag: str) -> MessageRef | None:
        return self.tagged.get(tag)

    async def update(self, workspace: str, ref: MessageRef, card: Card) -> None:
        self.updates.append((ref, card))

    async def reply_privately(
        self, workspace: str, channel: str, user: str, card: Card, reply_token: str | None
    ) -> None:
        self.private.append((user, card))

    async def open_form(
        self, workspace: str, channel: str, user: str, form: Form, form_token: str | None
    ) -> None:
        self.forms.append((user, form))

    async def send_file(
        self, workspace: str, user: str, filename: str, content: bytes, comment: str
    ) -> None:
        self.files.append((user, filename, content))

    async def show_home(self, workspace: str, user: str, card: Card) -> None:
        self.homes.append((user, card))

    async def join(self, workspace: str, channel: str) -> None:
        return None

    async def profile(self, workspace: str, user_id: str) -> Profile | None:
        return Profile(
            user_id, user_id.title(), tz="Europe/London", is_bot=user_id.startswith("bot")
        )
