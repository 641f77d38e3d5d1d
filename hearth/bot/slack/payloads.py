"""What Slack sends Hearth, as typed schemas: every request is read here before anything runs.

A request body is decoded with a nesting limit (`decode`), then checked against the schema of
its kind (`read`): Events API events Hearth listens to, slash commands, `block_actions` and
`view_submission`. Every string is bounded and free of NUL and lone surrogates (PostgreSQL
stores neither), every id fits its database column, every timestamp is a Slack `ts` that a
datetime can hold. A payload that does not fit raises `Malformed` (answered 400); fields Hearth
does not read are ignored, whatever they hold.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Json,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)

from hearth.bot import inbound
from hearth.bot.inbound import storable

MAX_TEXT = 40_000
"""Slack's limit on a message's text; the longest text Hearth takes from any payload."""
MAX_VALUE = 2_000
"""Slack's limit on a button's or an option's value."""
MAX_METADATA = 3_000
"""Slack's limit on a view's `private_metadata`."""
MAX_ID = 255
"""The id columns' length (hearth/storage/models.py)."""
MAX_URL = 2_000
CONTEXT_KEY = "hearth_payload"
"""Where the HTTP route leaves a request's payload in bolt's context (a Socket Mode request
has none: its listeners `read` the body themselves)."""

_ID = r"^[A-Za-z0-9_.:-]+$"
_MAYBE_ID = r"^[A-Za-z0-9_.:-]*$"
_TS = r"^[0-9]{1,10}(\.[0-9]{1,9})?$"
_URL = r"^https?://[^\s]+$"
_TOKEN = r"^[^\s]+$"


class Malformed(ValueError):
    """A request Hearth cannot read: the reason is safe to log and to answer with (400)."""


Storable = AfterValidator(storable)
Id = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID, pattern=_ID), Storable]
"""A Slack id (team, channel, user, bot, event): plain ASCII that fits the id columns."""
MaybeId = Annotated[str, StringConstraints(max_length=MAX_ID, pattern=_MAYBE_ID), Storable]
"""An id Slack may leave empty."""
Ts = Annotated[str, StringConstraints(max_length=32, pattern=_TS), Storable]
"""A Slack `ts` ("1596183880.004200"): seconds since 1970 that a datetime can hold."""
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT), Storable]
Name = Annotated[str, StringConstraints(max_length=MAX_ID), Storable]
ChannelName = Annotated[str, StringConstraints(max_length=MAX_ID - 1), Storable]
"""A channel's name: a community is named `#name` in a column of MAX_ID."""
Value = Annotated[str, StringConstraints(max_length=MAX_VALUE), Storable]
Url = Annotated[str, StringConstraints(max_length=MAX_URL, pattern=_URL), Storable]
Token = Annotated[str, StringConstraints(max_length=MAX_ID, pattern=_TOKEN), Storable]
EventTime = Annotated[int, Field(ge=0, lt=10**10)]


class Schema(BaseModel):
    """Strict (a string is a string), frozen, and blind to fields Hearth does not read."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


# ---------------------------------------------------------------- Events API


class Message(Schema):
    """The message inside `message_changed` / `message_deleted`."""

    user: MaybeId | None = None
    bot_id: MaybeId | None = None
    ts: Ts | None = None
    text: Text | None = None


class MessageEvent(Schema):
    type: Literal["message"]
    subtype: Name | None = None
    channel: Id
    channel_type: Name | None = None
    user: MaybeId | None = None
    bot_id: MaybeId | None = None
    text: Text | None = None
    ts: Ts | None = None
    thread_ts: Ts | None = None
    event_ts: Ts | None = None
    team: MaybeId | None = None
    message: Message | None = None
    previous_message: Message | None = None
    deleted_ts: Ts | None = None


class MembershipEvent(Schema):
    type: Literal["member_joined_channel", "member_left_channel"]
    user: Id
    channel: Id
    event_ts: Ts | None = None
    team: MaybeId | None = None


class ReactionItem(Schema):
    type: Name
    channel: MaybeId | None = None
    ts: Ts | None = None


class ReactionEvent(Schema):
    type: Literal["reaction_added"]
    user: Id
    reaction: Name
    item: ReactionItem
    event_ts: Ts | None = None
    team: MaybeId | None = None


class Profile(Schema):
    id: Id


class ProfileEvent(Schema):
    type: Literal["user_change", "team_join"]
    user: Profile
    event_ts: Ts | None = None
    team: MaybeId | None = None


class HomeEvent(Schema):
    type: Literal["app_home_opened"]
    user: Id
    channel: MaybeId | None = None
    tab: Name | None = None
    event_ts: Ts | None = None
    team: MaybeId | None = None


InnerEvent = Annotated[
    MessageEvent | MembershipEvent | ReactionEvent | ProfileEvent | HomeEvent,
    Field(discriminator="type"),
]
LISTENED = frozenset(
    {
        "message",
        "member_joined_channel",
        "member_left_channel",
        "reaction_added",
        "user_change",
        "team_join",
        "app_home_opened",
    }
)
"""The Events API types Hearth listens to (manifests/slack/manifest.yaml subscribes to these)."""


class EventCallback(Schema):
    type: Literal["event_callback"]
    event_id: Id
    event_time: EventTime
    team_id: MaybeId | None = None
    event: InnerEvent


# ---------------------------------------------------------------- commands and interactivity


class SlashCommand(Schema):
    command: Name
    text: Text = ""
    team_id: Id
    channel_id: Id
    channel_name: ChannelName | None = None
    user_id: Id
    response_url: Url | None = None
    trigger_id: Token | None = None


class User(Schema):
    id: Id
    team_id: MaybeId | None = None


class Team(Schema):
    id: MaybeId | None = None


class Channel(Schema):
    id: MaybeId | None = None


class Container(Schema):
    channel_id: MaybeId | None = None
    message_ts: Ts | None = None
    is_ephemeral: bool = False


class Option(Schema):
    value: Value


class Action(Schema):
    action_id: Name
    value: Value | None = None
    selected_option: Option | None = None


class BlockActions(Schema):
    type: Literal["block_actions"]
    user: User
    team: Team | None = None
    channel: Channel | None = None
    container: Container | None = None
    actions: Annotated[list[Action], Field(min_length=1, max_length=25)]
    response_url: Url | None = None
    trigger_id: Token | None = None


class Element(Schema):
    """One input's state: a text value, a chosen option or several."""

    value: Text | None = None
    selected_option: Option | None = None
    selected_options: Annotated[list[Option], Field(max_length=100)] | None = None


class State(Schema):
    values: Annotated[dict[Name, dict[Name, Element]], Field(max_length=100)] = {}


class Origin(Schema):
    """What Hearth put in a modal's `private_metadata` (bot/slack/render.py `modal`)."""

    channel: MaybeId = ""
    context: Annotated[str, StringConstraints(max_length=MAX_METADATA), Storable] = ""


def _metadata(value: object) -> object:
    if isinstance(value, str) and len(value) > MAX_METADATA:
        raise ValueError(f"longer than {MAX_METADATA} characters")
    return value or "{}"


class View(Schema):
    type: Name  # bolt reads it (workflow steps) before any listener runs
    callback_id: Name
    private_metadata: Annotated[Json[Origin], BeforeValidator(_metadata)] = Origin()
    """Not Hearth's JSON: not a form Hearth opened (400)."""
    state: State = State()


class ViewSubmission(Schema):
    type: Literal["view_submission"]
    user: User
    team: Team | None = None
    view: View


# ---------------------------------------------------------------- reading


class UrlVerification(Schema):
    type: Literal["url_verification"]
    challenge: Token


Payload = EventCallback | SlashCommand | BlockActions | ViewSubmission | UrlVerification
_READERS: dict[str, TypeAdapter[Any]] = {
    "event_callback": TypeAdapter(EventCallback),
    "block_actions": TypeAdapter(BlockActions),
    "view_submission": TypeAdapter(ViewSubmission),
    "url_verification": TypeAdapter(UrlVerification),
}
_COMMAND = TypeAdapter(SlashCommand)


def read(body: dict[str, Any]) -> Payload | None:
    """The payload as its schema (None: a kind Hearth does not handle); raises Malformed."""
    if "command" in body:
        reader = _COMMAND
    else:
        kind = body.get("type")
        if kind == "event_callback":
            event = body.get("event")
            if not isinstance(event, dict):
                raise Malformed("`event` must be an object")
            if not isinstance(event.get("type"), str):
                raise Malformed("event.type: must be a string")
            if event["type"] not in LISTENED:
                return None
        reader = _READERS.get(kind) if isinstance(kind, str) else None  # type: ignore[assignment]
        if reader is None:
            return None
    try:
        return reader.validate_python(body)  # type: ignore[no-any-return]
    except ValidationError as error:
        raise Malformed(_reason(error)) from None


def decode(raw: bytes, content_type: str | None) -> dict[str, Any]:
    """The body as Slack's JSON object or form fields (the `payload` field's JSON for
    interactivity), never deeper than inbound.MAX_DEPTH; raises Malformed."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise Malformed(f"malformed body: not UTF-8 ({error.reason})") from None
    if not text:
        raise Malformed("malformed body: empty")
    if content_type == "application/json" or text.startswith("{"):
        body = _json(text)
    else:
        fields = dict(parse_qsl(text, keep_blank_values=True))
        body = _json(fields["payload"]) if "payload" in fields else fields
    if not isinstance(body, dict) or not body:
        raise Malformed("expected a JSON object or a form payload")
    return body


def _json(text: str) -> Any:
    try:
        return inbound.loads(text)
    except inbound.Unreadable as error:
        raise Malformed(f"malformed body: {error}") from None


def _reason(error: ValidationError) -> str:
    """The first problem, by field path, without the offending input (which may be huge)."""
    problems = error.errors(include_url=False, include_input=False)
    first = problems[0]
    where = ".".join(str(p) for p in first["loc"]) or "body"
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{where}: {first['msg']}{more}"
