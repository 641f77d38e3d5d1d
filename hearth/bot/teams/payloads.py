"""What the Bot Framework sends Hearth, as a typed schema checked before botbuilder reads it.

Only the fields Hearth reads are checked (fields it ignores may hold anything, but no string
anywhere may hold NUL or a lone surrogate): each has its type, ids fit their database columns,
text is bounded and the timestamp is a time a database can store. `read` raises Malformed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from hearth.bot import inbound

MAX_ID = 255
"""The id columns' length (hearth/storage/models.py)."""
MAX_TEXT = 40_000
MAX_LIST = 500
EARLIEST = datetime(1970, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)


class Malformed(ValueError):
    """An activity Hearth cannot read (the message is safe to log and answer: 400)."""


def _moment(value: str) -> str:
    """An ISO 8601 time between 1970 and 9999 once in UTC (a column can hold it)."""
    moment = datetime.fromisoformat(value)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if not EARLIEST <= moment <= LATEST:
        raise ValueError("out of range")
    return value


Storable = AfterValidator(inbound.storable)
Id = Annotated[str, StringConstraints(max_length=MAX_ID), Storable]
Name = Annotated[str, StringConstraints(max_length=MAX_ID), Storable]
PlaceName = Annotated[str, StringConstraints(max_length=MAX_ID - 1), Storable]
"""A channel's, team's or chat's name: a community is named `#name` in a column of MAX_ID."""
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT), Storable]
Url = Annotated[str, StringConstraints(max_length=2_000, pattern=r"^https?://[^\s]+$"), Storable]
Moment = Annotated[str, StringConstraints(max_length=64), AfterValidator(_moment)]


class Schema(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class Account(Schema):
    id: Id | None = None
    name: Name | None = None
    aadObjectId: Id | None = None
    role: Name | None = None


class Conversation(Schema):
    id: Id | None = None
    name: PlaceName | None = None
    conversationType: Name | None = None
    isGroup: bool | None = None
    tenantId: Id | None = None


class Named(Schema):
    id: Id | None = None
    name: PlaceName | None = None


class ChannelData(Schema):
    team: Named | None = None
    channel: Named | None = None
    tenant: Named | None = None
    teamsTeamId: Id | None = None
    teamsChannelId: Id | None = None


class Entity(Schema):
    type: Name | None = None
    text: Text | None = None
    mentioned: Account | None = None


class Reaction(Schema):
    type: Name | None = None


class ActivityIn(Schema):
    type: Annotated[str, StringConstraints(min_length=1, max_length=64), Storable]
    id: Id | None = None
    timestamp: Moment | None = None
    serviceUrl: Url | None = None
    channelId: Name | None = None
    from_: Annotated[Account | None, Field(alias="from")] = None
    recipient: Account | None = None
    conversation: Conversation | None = None
    channelData: ChannelData | None = None
    text: Text | None = None
    name: Name | None = None
    replyToId: Id | None = None
    entities: Annotated[list[Entity | None], Field(max_length=MAX_LIST)] | None = None
    membersAdded: Annotated[list[Account | None], Field(max_length=MAX_LIST)] | None = None
    membersRemoved: Annotated[list[Account | None], Field(max_length=MAX_LIST)] | None = None
    reactionsAdded: Annotated[list[Reaction | None], Field(max_length=MAX_LIST)] | None = None


def read(raw: bytes) -> dict[str, Any]:
    """The request body as an activity object whose fields Hearth reads are sound."""
    try:
        body = inbound.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise Malformed(f"body is not JSON: not UTF-8 ({error.reason})") from None
    except inbound.Unreadable as error:
        raise Malformed(f"body is not JSON: {error}") from None
    if not isinstance(body, dict):
        raise Malformed("body is not a JSON object")
    if not inbound.all_storable(body):
        raise Malformed("the activity holds NUL or a lone surrogate")
    try:
        ActivityIn.model_validate(body)
    except ValidationError as error:
        first = error.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise Malformed(f"not an activity: {where}: {first['msg']}") from None
    return body
