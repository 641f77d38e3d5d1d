"""Teams in: Bot Framework activities become neutral events; `POST /api/messages`.

The scheme (see docs/teams.md):

* workspace = the tenant id; channel = the conversation id without Teams' `;messageid=` thread
  suffix (a team's channel, a group chat or a 1:1 chat); user = the member's AAD object id
  (their Teams `29:` id only when no AAD id is known); thread = the root message id.
* A channel or group-chat message is a command when it *starts* with an @mention of the bot
  (`@Hearth setup`); anything else, mentions of Hearth later in the text included, is an
  ordinary message. In a 1:1 chat no mention is needed: text whose first word is a command word
  (or no text) is a command, other text is a message to the bot.
* A member added to or removed from a team joins or leaves every community channel of that team
  (a channel's team is remembered from the activities seen in it).
* Every activity's conversation reference is stored before the activity is handled, so later
  sends (the outbox, replies) can reach that conversation.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import ipaddress
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import requests
from aiohttp import web
from botbuilder.core import InvokeResponse, TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    ChannelAccount,
    ConversationAccount,
    ConversationReference,
)
from msrest.exceptions import ClientRequestError, DeserializationError, HttpOperationError

from hearth.bot.settings import Settings
from hearth.bot.teams import payloads, render, signing_keys
from hearth.bot.teams.auth import (
    AuthenticationFactory,
    AuthUnavailable,
    Unauthorized,
    authenticate,
    default_authentication,
)
from hearth.bot.teams.messenger import THREAD_SUFFIX, TeamsMessenger, Turn
from hearth.bot.teams.references import PLATFORM, Entry, References, member_key, user_key
from hearth.handlers import commands
from hearth.handlers.events import (
    ActionClicked,
    BotAdded,
    CommandInvoked,
    Event,
    FormSubmitted,
    MemberJoined,
    MemberLeft,
    MessageDeleted,
    MessageEdited,
    MessagePosted,
    MessageRef,
    ReactionAdded,
)
from hearth.handlers.hub import Hearth
from hearth.handlers.ports import Clock
from hearth.storage.db import Database

log = logging.getLogger(__name__)

AT_TAG = re.compile(r"<at>(.*?)</at>", re.IGNORECASE | re.DOTALL)
CARD_ACTION = "adaptiveCard/action"
CARD_ACTION_DONE = {
    "statusCode": 200,
    "type": "application/vnd.microsoft.activity.message",
    "value": "Done.",
}
"""The answer to an `Action.Execute` click; the card itself is replaced through the Connector."""
Kind = Literal["personal", "channel", "groupChat"]
MAX_EVENT_ID = 255
"""The inbound_events.event_id column's length."""


class MalformedActivity(ValueError):
    """An activity Hearth cannot read (answered 400)."""


@dataclass(frozen=True)
class Where:
    """Where an activity happened, in Hearth's terms."""

    workspace: str
    conversation: str
    kind: Kind
    team: str | None
    thread: str | None


class TeamsBot:
    """The Teams side of Hearth: the CloudAdapter, the Messenger and the inbound route."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        clock: Clock,
        authentication: AuthenticationFactory | None = None,
    ) -> None:
        self.emulator = settings.microsoft_app_id is None
        self.app_id = settings.microsoft_app_id or ""
        if not self.emulator:
            signing_keys.install()  # botbuilder's own key fetch blocks the event loop
        self.authentication = (authentication or default_authentication)(settings)
        self.adapter = CloudAdapter(self.authentication)
        self.db = db
        self.clock = clock
        self.references = References(db, clock)
        self.messenger = TeamsMessenger(self.adapter, self.app_id, self.references)

    def route(self, hub: Hearth) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """POST /api/messages: peer (emulator) or token (401), shape (400), then the turn."""

        async def handle(request: web.Request) -> web.StreamResponse:
            if self.emulator and not is_loopback(request.remote):
                return _error(403, "emulator mode serves loopback clients only")
            try:
                activity = parse(await request.read())
            except MalformedActivity as error:
                log.info("refused a Teams activity: %s", error)
                return _error(400, str(error))
            if self.emulator:
                auth = await self.authentication.authenticate_request(activity, "")
            else:
                header = request.headers.get("Authorization", "")
                try:
                    auth = await authenticate(self.authentication, activity, header)
                except Unauthorized as error:
                    log.info("refused a Teams activity: %s", error)
                    return _error(401, "missing or invalid Bot Framework token")
                except AuthUnavailable as error:
                    log.warning("could not check a Teams token: %s", error)
                    return _error(503, "could not check the token now")
            try:
                where = locate(activity)
            except MalformedActivity as error:
                log.info("refused a Teams activity: %s", error)
                return _error(400, str(error))
            turn = _Turn(self, hub, where)
            response = await self.adapter.process_activity(auth, activity, turn.run)
            if isinstance(response, InvokeResponse) and response.status:
                return web.json_response(response.body or {}, status=int(response.status))
            return web.Response(status=200)

        return handle


def is_loopback(peer: str | None) -> bool:
    """Whether a request came from this machine (127.0.0.0/8 or ::1)."""
    try:
        return peer is not None and ipaddress.ip_address(peer.split("%")[0]).is_loopback
    except ValueError:
        return False


def parse(raw: bytes) -> Activity:
    """The request body as an Activity (checked first: teams/payloads.py); raises
    MalformedActivity."""
    try:
        body = payloads.read(raw)
    except payloads.Malformed as error:
        raise MalformedActivity(str(error)) from None
    try:
        activity = Activity().deserialize(body)
    except DeserializationError as error:
        raise MalformedActivity(f"not an activity: {error}") from error
    if not isinstance(activity.type, str) or not activity.type:
        raise MalformedActivity("activity has no type")
    return activity


def locate(activity: Activity) -> Where:
    """Where the activity happened; raises MalformedActivity when it does not say."""
    if not isinstance(activity.service_url, str) or not activity.service_url.startswith(
        ("http://", "https://")
    ):
        raise MalformedActivity("activity has no serviceUrl")
    conversation = activity.conversation
    if conversation is None or not isinstance(conversation.id, str) or not conversation.id:
        raise MalformedActivity("activity has no conversation id")
    sender = activity.from_property
    if sender is None or not isinstance(sender.id, str) or not sender.id:
        raise MalformedActivity("activity has no sender")
    if activity.recipient is None or not isinstance(activity.recipient.id, str):
        raise MalformedActivity("activity has no recipient")
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    team = _id_of(data.get("team")) or _str(data.get("teamsTeamId"))
    channel = _id_of(data.get("channel")) or _str(data.get("teamsChannelId"))
    base, _, root = conversation.id.partition(THREAD_SUFFIX)
    kind: Kind
    if conversation.conversation_type == "channel" or team or channel:
        kind = "channel"
    elif conversation.conversation_type == "groupChat" or conversation.is_group:
        kind = "groupChat"
    else:
        kind = "personal"
    tenant = (
        _id_of(data.get("tenant"))
        or conversation.tenant_id
        or _str(conversation.additional_properties.get("tenantId"))
        or activity.channel_id
        or PLATFORM
    )
    thread = root if root and root != activity.id else None
    return Where(tenant, channel or base, kind, team, thread)


class _Turn:
    """One activity: remember where it came from, translate it, hand it to the hub."""

    def __init__(self, bot: TeamsBot, hub: Hearth, where: Where) -> None:
        self.bot = bot
        self.hub = hub
        self.where = where

    async def run(self, context: TurnContext) -> None:
        activity = context.activity
        if not _answers_a_card(activity):  # see _answers_a_card
            await self.bot.references.save(self.where.workspace, self._references(activity))
        turn = Turn(context, self.where.team or self.where.conversation)
        sender = activity.from_property
        turn.accounts[_member_id(sender)] = sender
        with self.bot.messenger.during(turn):  # the turn is this task's: no shared batches
            for event in await self._events(context, turn):
                await self.hub.handle(event, alone=True)
        if activity.type == ActivityTypes.invoke:  # an invoke is answered in its own response
            body = CARD_ACTION_DONE if activity.name == CARD_ACTION else None
            answer = InvokeResponse(status=200, body=body)
            await context.send_activity(Activity(type=ActivityTypes.invoke_response, value=answer))

    def _references(self, activity: Activity) -> list[Entry]:
        where = self.where
        conversation = ConversationAccount(
            id=where.conversation,
            conversation_type=where.kind,
            is_group=where.kind != "personal",
            tenant_id=where.workspace,
        )

        def reference(user: ChannelAccount | None) -> ConversationReference:
            return ConversationReference(
                channel_id=activity.channel_id,
                service_url=activity.service_url,
                bot=_account(activity.recipient),
                user=_account(user),
                conversation=conversation,
            )

        entries = [Entry(where.conversation, reference(None), where.team)]
        people = [activity.from_property, *(activity.members_added or [])]
        for person in people:
            if person is None or not person.id or _is_bot(person, activity):
                continue
            entries.append(Entry(member_key(_member_id(person)), reference(person)))
            if where.kind == "personal":
                entries.append(Entry(user_key(_member_id(person)), reference(person)))
        return entries

    async def _events(self, context: TurnContext, turn: Turn) -> list[Event]:
        activity = context.activity
        match activity.type:
            case ActivityTypes.message:
                return await self._message(context, turn)
            case ActivityTypes.conversation_update:
                return await self._membership(activity, turn)
            case ActivityTypes.invoke if activity.name == CARD_ACTION:
                action = activity.value.get("action") if isinstance(activity.value, dict) else None
                click = render.clicked(action.get("data") if isinstance(action, dict) else None)
                return [self._click(activity, click)] if click else []
            case ActivityTypes.message_update if activity.id:
                return [
                    MessageEdited(
                        **self._common(activity, event_id=None),
                        message_id=activity.id,
                        text=_plain(activity.text or ""),
                    )
                ]
            case ActivityTypes.message_delete if activity.id:
                return [
                    MessageDeleted(**self._common(activity, event_id=None), message_id=activity.id)
                ]
            case ActivityTypes.message_reaction if activity.reply_to_id:
                return [
                    ReactionAdded(
                        **self._common(activity, event_id=self._event_id(activity, r.type)),
                        message_id=activity.reply_to_id,
                        emoji=r.type or "",
                    )
                    for r in activity.reactions_added or []
                ]
        return []

    async def _message(self, context: TurnContext, turn: Turn) -> list[Event]:
        activity, where = context.activity, self.where
        if (click := render.clicked(activity.value)) is not None:
            return [self._click(activity, click)]
        if (form := render.submitted(activity.value)) is not None:
            name, form_context, values = form
            return [
                FormSubmitted(
                    **self._common(activity),
                    form=name,
                    values=values,
                    context=form_context,
                )
            ]
        text = activity.text if isinstance(activity.text, str) else ""
        personal = where.kind == "personal"
        rest, addressed = _addressed(activity, text)
        words = _plain(rest).split()
        command_words = {c.name.split()[0] for c in self.hub.registry.commands.values()}
        is_command = not words or words[0].lower() in command_words if personal else addressed
        if is_command:
            command = await self._command_text(context, turn, rest)
            return [
                CommandInvoked(
                    **self._common(activity),
                    text=command,
                    is_dm=personal,
                    channel_name=await self._channel_name(context, command),
                )
            ]
        sender = activity.from_property
        return [
            MessagePosted(
                **self._common(activity),
                message_id=activity.id or "",
                text=await self._command_text(context, turn, text),  # mentions stay structured
                thread_id=where.thread,
                is_dm=personal,
                from_bot=_is_bot(sender, activity),
            )
        ]

    async def _membership(self, activity: Activity, turn: Turn) -> list[Event]:
        where, bot = self.where, activity.recipient.id
        events: list[Event] = []
        for kind, members in (
            (MemberJoined, activity.members_added),
            (MemberLeft, activity.members_removed),
        ):
            for member in members or []:
                if member is None or not member.id:
                    continue
                if member.id == bot:
                    if kind is MemberJoined and where.team:
                        events.append(BotAdded(**self._common(activity, event_id=None)))
                    continue
                if _is_bot(member, activity):  # another bot: not a member to welcome
                    continue
                user = _member_id(member)
                turn.accounts[user] = member
                for channel in await self._community_channels():
                    event_id = self._event_id(activity, f"{kind.__name__}:{user}:{channel}")
                    common = self._common(activity, event_id=event_id)
                    events.append(kind(**common | {"channel": channel, "user": user}))
        return events

    async def _community_channels(self) -> list[str]:
        where = self.where
        if where.team:
            return await self.bot.references.team_communities(where.workspace, where.team)
        return [where.conversation] if where.kind == "groupChat" else []

    def _click(self, activity: Activity, click: tuple[str, str]) -> ActionClicked:
        action, value = click
        message = (
            MessageRef(self.where.conversation, activity.reply_to_id)
            if activity.reply_to_id
            else None
        )
        return ActionClicked(**self._common(activity), action=action, value=value, message=message)

    async def _command_text(self, context: TurnContext, turn: Turn, text: str) -> str:
        """Mentions of people become `<@member id>` tokens, as the command parser reads them."""
        activity = context.activity
        for mention in _mentions(activity):
            mentioned = mention.get("mentioned")
            tag = mention.get("text")
            if not isinstance(mentioned, dict) or not isinstance(tag, str) or not tag:
                continue
            teams_id, name = _str(mentioned.get("id")), _str(mentioned.get("name"))
            if not teams_id or teams_id == activity.recipient.id or tag not in text:
                continue
            account = ChannelAccount(
                id=teams_id, name=name, aad_object_id=_str(mentioned.get("aadObjectId"))
            )
            if not account.aad_object_id:
                account = await self._look_up(context, turn, account)
            member = _member_id(account)
            turn.accounts[member] = account
            text = text.replace(tag, f"<@{member}>")
        return _plain(text)

    async def _look_up(
        self, context: TurnContext, turn: Turn, account: ChannelAccount
    ) -> ChannelAccount:
        """Ask the Connector for a mentioned person's AAD object id (mentions carry only the
        Teams id); keep the Teams id when it cannot say."""
        connector = context.turn_state[self.bot.adapter.BOT_CONNECTOR_CLIENT_KEY]
        try:
            found = await connector.conversations.get_conversation_member(turn.roster, account.id)
        except (HttpOperationError, ClientRequestError) as error:
            log.warning("could not look up mentioned Teams member %s: %s", account.id, error)
            return account
        return ChannelAccount(
            id=account.id,
            name=found.name or account.name,
            aad_object_id=found.aad_object_id,
        )

    async def _channel_name(self, context: TurnContext, command: str) -> str | None:
        """The channel's display name, looked up only for `setup` (its one user)."""
        where = self.where
        if where.kind == "personal":
            return None
        try:
            parsed, _ = commands.parse(self.hub.registry, command)
        except commands.CommandError:
            return None
        if parsed.name != "setup":
            return None
        data = (
            context.activity.channel_data if isinstance(context.activity.channel_data, dict) else {}
        )
        channel = data.get("channel") if isinstance(data.get("channel"), dict) else {}
        team = data.get("team") if isinstance(data.get("team"), dict) else {}
        if where.kind == "groupChat":
            return _str(context.activity.conversation.name)
        name, team_name = _str(channel.get("name")), _str(team.get("name"))
        if where.team and not name:
            name, team_name = await self._names(context, where.team, team_name)
        if name:
            return name
        return team_name if where.conversation == where.team else None

    async def _names(
        self, context: TurnContext, team: str, team_name: str | None
    ) -> tuple[str | None, str | None]:
        """The channel's and team's names from the Teams API (its client blocks: a thread)."""
        try:
            client = await TeamsInfo.get_teams_connector_client(context)
            channels = await asyncio.to_thread(client.teams.get_teams_channels, team)
            name = next(
                (c.name for c in channels.conversations or [] if c.id == self.where.conversation),
                None,
            )
            if not name and not team_name:
                team_name = (await asyncio.to_thread(client.teams.get_team_details, team)).name
        except (HttpOperationError, ClientRequestError, requests.RequestException) as error:
            log.warning("could not look up the name of Teams channel %s: %s", team, error)
            return None, team_name
        return name, team_name

    def _common(self, activity: Activity, **values: Any) -> dict[str, Any]:
        at = activity.timestamp if isinstance(activity.timestamp, datetime) else None
        at = self.bot.clock.now() if at is None else at if at.tzinfo else at.replace(tzinfo=UTC)
        personal = self.where.kind == "personal"
        common = {
            "platform": PLATFORM,
            "workspace": self.where.workspace,
            "channel": self.where.conversation,
            "user": _member_id(activity.from_property),
            "at": at,
            "event_id": self._event_id(activity),
            "reply_token": self.where.conversation if personal else None,
            "form_token": self.where.conversation if personal else None,
        }
        return common | values

    def _event_id(self, activity: Activity, detail: str | None = None) -> str | None:
        if not activity.id:
            return None
        parts = [self.where.conversation, activity.type, activity.id, detail]
        event_id = ":".join(p for p in parts if p)
        if len(event_id) <= MAX_EVENT_ID:
            return event_id
        return "sha256:" + hashlib.sha256(event_id.encode()).hexdigest()  # fits the column


def _answers_a_card(activity: Activity) -> bool:
    """A click or a form submitted on a card Hearth sent (so its conversation is known already).

    Such activities leave the stored references, and their times, alone: a reference touched
    at the moment of an anonymous vote or survey answer would hint at who gave it.
    """
    if activity.type == ActivityTypes.invoke:
        return activity.name == CARD_ACTION
    return activity.type == ActivityTypes.message and isinstance(activity.value, dict)


def _addressed(activity: Activity, text: str) -> tuple[str, bool]:
    """The text without a leading @mention of the bot, and whether it started with one."""
    bot = activity.recipient.id
    stripped = text.strip()
    for mention in _mentions(activity):
        mentioned = mention.get("mentioned")
        tag = mention.get("text")
        if (
            not isinstance(mentioned, dict)
            or mentioned.get("id") != bot
            or not isinstance(tag, str)
        ):
            continue
        if stripped.startswith(tag):
            return stripped[len(tag) :].strip(), True
        if tag not in stripped:  # older clients leave the mention out of `text`
            return stripped, True
    return stripped, False


def _mentions(activity: Activity) -> list[dict[str, Any]]:
    return [
        e.additional_properties
        for e in activity.entities or []
        if e is not None and e.type == "mention" and isinstance(e.additional_properties, dict)
    ]


def _plain(text: str) -> str:
    """Teams text as plain text: `<at>Name</at>` → `@Name`, entities unescaped."""
    return html.unescape(AT_TAG.sub(r"@\1", text)).replace("\xa0", " ").strip()


def _account(account: ChannelAccount | None) -> ChannelAccount | None:
    """The account's identity only (what a reference needs; not whatever else came with it)."""
    if account is None:
        return None
    return ChannelAccount(
        id=account.id, name=account.name, aad_object_id=account.aad_object_id, role=account.role
    )


def _member_id(account: ChannelAccount | None) -> str:
    if account is None:
        return ""
    return account.aad_object_id or account.id or ""


def _is_bot(account: ChannelAccount | None, activity: Activity) -> bool:
    if account is None:
        return False
    return (
        account.id == activity.recipient.id
        or account.role == "bot"
        or bool(account.id and account.id.startswith("28:"))
    )


def _id_of(value: object) -> str | None:
    return _str(value.get("id")) if isinstance(value, dict) else None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)
