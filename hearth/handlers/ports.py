"""Ports: what handlers need from the outside world, whichever platform is behind it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol

from hearth.handlers.cards import Card, Form
from hearth.handlers.events import MessageRef


class Clock(Protocol):
    """Tells the time (UTC, timezone-aware)."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True)
class Target:
    """Where a bot-initiated message goes: a channel, a thread in it, or a member's DM.

    `kind="update"` replaces the message `thread` in conversation `id` instead of posting.
    """

    kind: Literal["channel", "dm", "update"]
    id: str
    thread: str | None = None

    @classmethod
    def replacing(cls, ref: MessageRef) -> Target:
        return cls("update", ref.conversation, ref.message_id)


@dataclass(frozen=True)
class Profile:
    """What the platform says about a member."""

    user_id: str
    name: str
    tz: str | None = None
    is_bot: bool = False
    deleted: bool = False


class DeliveryError(Exception):
    """A platform call failed."""


class RateLimited(DeliveryError):
    """The platform asked us to wait `retry_after` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited, retry after {retry_after}s")
        self.retry_after = retry_after


class TemporaryFailure(DeliveryError):
    """Worth retrying later: a 5xx, a network error, a timeout."""


class PermanentFailure(DeliveryError):
    """Retrying will not help (`code` is the platform's error code, e.g. channel_not_found)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class Messenger(Protocol):
    """The port to one chat platform."""

    platform: str
    command_prefix: str
    """How members type a command: `/cop` on Slack, `@Hearth` on Teams."""
    min_send_interval: float
    """Seconds to leave between two bot-initiated sends into one conversation."""

    async def post(
        self, workspace: str, target: Target, card: Card, tag: str | None = None
    ) -> MessageRef:
        """Post to a channel, a thread, or a member's DM; returns where the message landed.

        `tag` names the delivery (see `find_posted`); platforms that can carry it do.
        """
        ...

    async def find_posted(self, workspace: str, target: Target, tag: str) -> MessageRef | None:
        """The message posted to `target` with `tag`, if it is there.

        Asked before trying again after an attempt whose outcome is unknown (a timeout, a 5xx,
        a crash mid-send). None when it is not there, or when the platform cannot tell.
        """
        ...

    async def update(self, workspace: str, ref: MessageRef, card: Card) -> None:
        """Replace a message the bot sent."""
        ...

    async def reply_privately(
        self, workspace: str, channel: str, user: str, card: Card, reply_token: str | None
    ) -> None:
        """Answer a member's own action so that only they see it."""
        ...

    async def open_form(
        self, workspace: str, channel: str, user: str, form: Form, form_token: str | None
    ) -> None:
        """Show a form to the member who just acted (a Slack modal, a Teams card, …)."""
        ...

    async def send_file(
        self, workspace: str, user: str, filename: str, content: bytes, comment: str
    ) -> None:
        """Send a file privately to a member who asked for it (an export, their data)."""
        ...

    async def show_home(self, workspace: str, user: str, card: Card) -> None:
        """Show a member who asked their own home view (Slack App Home; else privately)."""
        ...

    async def join(self, workspace: str, channel: str) -> None:
        """Make sure the bot is in a channel, so it hears what is said there."""
        ...

    async def profile(self, workspace: str, user_id: str) -> Profile | None:
        """Who a member is (name, time zone); None when the platform does not know them."""
        ...
