"""Platform-neutral events: what adapters turn Slack, Teams and console input into."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class MessageRef:
    """Where a message lives on its platform: a conversation and the message's id there."""

    conversation: str
    message_id: str


@dataclass(frozen=True, kw_only=True)
class Event:
    """What every event carries: the platform, workspace, conversation, member and time.

    `event_id` is the platform's id for the delivery (Slack `event_id`, Teams activity id):
    an event seen twice is handled once. `reply_token` is an opaque handle an adapter may use
    to answer privately (a Slack `response_url`, say); `form_token` one to open a form in
    answer (a Slack `trigger_id`).
    """

    platform: str
    workspace: str
    channel: str
    user: str
    at: datetime
    event_id: str | None = None
    reply_token: str | None = None
    form_token: str | None = None


@dataclass(frozen=True, kw_only=True)
class MemberJoined(Event):
    """A member joined a channel."""


@dataclass(frozen=True, kw_only=True)
class MemberLeft(Event):
    """A member left a channel."""


@dataclass(frozen=True, kw_only=True)
class MessagePosted(Event):
    """A message in a channel, a thread (`thread_id` set) or a DM to the bot (`is_dm`)."""

    message_id: str
    text: str
    thread_id: str | None = None
    is_dm: bool = False
    from_bot: bool = False


@dataclass(frozen=True, kw_only=True)
class MessageEdited(Event):
    """A stored message's text changed."""

    message_id: str
    text: str


@dataclass(frozen=True, kw_only=True)
class MessageDeleted(Event):
    """A message was deleted."""

    message_id: str


@dataclass(frozen=True, kw_only=True)
class ActionClicked(Event):
    """A member clicked a button or choice on a message Hearth sent."""

    action: str
    value: str
    message: MessageRef | None = None


@dataclass(frozen=True, kw_only=True)
class CommandInvoked(Event):
    """`/cop …` on Slack, `@Hearth …` on Teams: `text` is what follows the command name."""

    text: str
    is_dm: bool = False
    channel_name: str | None = None


@dataclass(frozen=True, kw_only=True)
class ReactionAdded(Event):
    """A member reacted to a message."""

    message_id: str
    emoji: str


@dataclass(frozen=True, kw_only=True)
class HomeOpened(Event):
    """A member opened Hearth's home (Slack's App Home tab)."""


@dataclass(frozen=True, kw_only=True)
class ProfileChanged(Event):
    """The platform says a member's name, time zone or status changed."""


@dataclass(frozen=True, kw_only=True)
class FormSubmitted(Event):
    """A member submitted a form: `values` maps field names to text or lists of choices."""

    form: str
    values: dict[str, str | list[str]]
    context: str = ""


@dataclass(frozen=True, kw_only=True)
class BotAdded(Event):
    """Hearth itself was added to a team or channel (`user`: who added it, when known)."""
