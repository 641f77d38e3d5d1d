"""The Messenger port on the Bot Framework Connector, through botbuilder's CloudAdapter.

Every send resolves a stored `ConversationReference` and runs through `continue_conversation`
(or `create_conversation` for a member's first 1:1 chat), then calls the Connector with the
client botbuilder hands the turn. Connector failures become the port's DeliveryError family;
retrying them is the outbox sender's job.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import requests
from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    Attachment,
    ChannelAccount,
    ConversationAccount,
    ConversationParameters,
    ConversationReference,
)
from botframework.connector.aio import ConnectorClient
from msrest.exceptions import ClientRequestError, HttpOperationError

from hearth.bot.teams import render
from hearth.bot.teams.references import Entry, References, member_key, user_key
from hearth.handlers.cards import Card, ContextLine, Form, Section
from hearth.handlers.events import MessageRef
from hearth.handlers.ports import (
    DeliveryError,
    PermanentFailure,
    Profile,
    RateLimited,
    Target,
    TemporaryFailure,
)

log = logging.getLogger(__name__)

DEFAULT_RETRY_AFTER = 1.0
THREAD_SUFFIX = ";messageid="
MAX_FILE_TEXT = 20_000
"""Teams cards stay under about 28 KB: longer files are cut (with a note saying so)."""


@dataclass
class Turn:
    """What the activity being handled tells about people, for `profile` (no database there)."""

    context: TurnContext
    roster: str | None
    """The conversation whose members can be looked up: the team, else the conversation."""
    accounts: dict[str, ChannelAccount] = field(default_factory=dict)
    """Member id (AAD object id) → their Teams account, as far as the activity shows it."""


class TeamsMessenger:
    """Posts, updates, replies privately and looks people up on Teams."""

    platform = "teams"
    command_prefix = "@Hearth"
    min_send_interval = 1 / 7  # Teams: 7 messages per second per conversation

    def __init__(self, adapter: CloudAdapter, app_id: str, references: References) -> None:
        self.adapter = adapter
        self.app_id = app_id
        self.references = references
        self._turn: ContextVar[Turn | None] = ContextVar(f"teams-turn-{id(self)}", default=None)

    @contextmanager
    def during(self, turn: Turn) -> Iterator[None]:
        """Make the activity being handled known to `profile` while the hub handles it."""
        token = self._turn.set(turn)
        try:
            yield
        finally:
            self._turn.reset(token)

    async def post(
        self, workspace: str, target: Target, card: Card, tag: str | None = None
    ) -> MessageRef:
        async with _translated():
            if target.kind == "dm":
                reference = await self._personal(workspace, target.id)
                thread = None
            else:
                reference = await self._known(workspace, target.id)
                thread = target.thread
            sent = await self._send(reference, _message(render.attachment(card)), thread)
        return MessageRef(reference.conversation.id, sent)

    async def find_posted(self, workspace: str, target: Target, tag: str) -> MessageRef | None:
        """Teams cannot tell: the Connector API lets a bot send activities, not list them."""
        return None

    async def update(self, workspace: str, ref: MessageRef, card: Card) -> None:
        async with _translated():
            reference = await self._known(workspace, ref.conversation)
            activity = _message(render.attachment(card))
            activity.id = ref.message_id

            async def replace(connector: ConnectorClient) -> None:
                activity.conversation = ConversationAccount(id=ref.conversation)
                await connector.conversations.update_activity(
                    ref.conversation, ref.message_id, activity
                )

            await self._with_connector(reference, replace)

    async def reply_privately(
        self, workspace: str, channel: str, user: str, card: Card, reply_token: str | None
    ) -> None:
        await self._privately(workspace, user, reply_token, render.attachment(card))

    async def open_form(
        self, workspace: str, channel: str, user: str, form: Form, form_token: str | None
    ) -> None:
        await self._privately(workspace, user, form_token, render.form_attachment(form))

    async def send_file(
        self, workspace: str, user: str, filename: str, content: bytes, comment: str
    ) -> None:
        """Teams bots cannot attach files without a consent flow: the text is shown inline."""
        text = content.decode("utf-8", errors="replace")
        note = f"{filename}, {len(content)} bytes"
        if len(text) > MAX_FILE_TEXT:
            text, note = text[:MAX_FILE_TEXT], note + f"; the first {MAX_FILE_TEXT} characters"
        card = Card(comment, (Section(text), ContextLine(note)))
        await self.reply_privately(workspace, "", user, card, None)

    async def show_home(self, workspace: str, user: str, card: Card) -> None:
        """Teams has no home tab for Hearth: the card goes to the member's 1:1 chat."""
        await self.reply_privately(workspace, "", user, card, None)

    async def join(self, workspace: str, channel: str) -> None:
        """Nothing to do: a Teams bot hears every channel of a team it is installed in."""
        return None

    async def profile(self, workspace: str, user_id: str) -> Profile | None:
        """The member's name from the activity, else from the Connector (time zone unknown).

        Only answers during a turn: it runs inside the hub's transaction, where reading stored
        references would wait on that transaction's own SQLite lock.
        """
        turn = self._turn.get()
        if turn is None:
            return None
        account = turn.accounts.get(user_id) or ChannelAccount(id=user_id)
        name = account.name
        if not name and turn.roster:
            try:
                async with _translated():
                    connector = turn.context.turn_state[self.adapter.BOT_CONNECTOR_CLIENT_KEY]
                    found = await connector.conversations.get_conversation_member(
                        turn.roster, account.id
                    )
                name = found.name
            except DeliveryError as error:
                log.warning("could not look up Teams member %s: %s", user_id, error)
        if not name:
            return None
        return Profile(user_id=user_id, name=name, is_bot=_is_bot(account))

    async def _privately(
        self, workspace: str, user: str, token: str | None, attachment: dict[str, Any]
    ) -> None:
        """Send in the 1:1 chat the member acted in (`token`), else in their 1:1 chat."""
        async with _translated():
            if token:
                reference = await self._known(workspace, token)
            else:
                reference = await self._personal(workspace, user)
            await self._send(reference, _message(attachment), None)

    async def _known(self, workspace: str, conversation: str) -> ConversationReference:
        reference = await self.references.load(workspace, conversation)
        if reference is None:
            reference = self._current(conversation)
        if reference is None:
            raise PermanentFailure("conversation_unknown")
        return reference

    def _current(self, conversation: str) -> ConversationReference | None:
        """The conversation of the activity being handled, if it is `conversation`: an answer
        to it needs no stored reference (forget-me has just deleted the member's)."""
        turn = self._turn.get()
        if turn is None:
            return None
        reference = TurnContext.get_conversation_reference(turn.context.activity)
        if reference.conversation is None or reference.conversation.id is None:
            return None
        base = reference.conversation.id.partition(THREAD_SUFFIX)[0]
        if base != conversation:
            return None
        reference.conversation = ConversationAccount(
            id=base,
            conversation_type=reference.conversation.conversation_type,
            tenant_id=reference.conversation.tenant_id,
        )
        return reference

    async def _personal(self, workspace: str, member: str) -> ConversationReference:
        """The member's 1:1 chat with Hearth, created (and stored) the first time."""
        found = await self.references.load(workspace, user_key(member))
        if found is not None:
            return found
        seen = await self.references.load(workspace, member_key(member))
        if seen is None or seen.user is None:
            raise PermanentFailure("member_not_reachable")
        tenant = seen.conversation.tenant_id or workspace
        account = ChannelAccount(id=seen.user.id, aad_object_id=seen.user.aad_object_id)
        parameters = ConversationParameters(
            is_group=False,
            bot=seen.bot,
            members=[account],
            tenant_id=tenant,
            channel_data={"tenant": {"id": tenant}},
        )
        created: list[str] = []

        async def remember(turn: TurnContext) -> None:
            created.append(turn.activity.conversation.id)

        await self.adapter.create_conversation(
            self.app_id, remember, parameters, seen.channel_id, seen.service_url
        )
        reference = ConversationReference(
            channel_id=seen.channel_id,
            service_url=seen.service_url,
            bot=seen.bot,
            user=seen.user,
            conversation=ConversationAccount(
                id=created[0], conversation_type="personal", tenant_id=tenant
            ),
        )
        await self.references.save(
            workspace, [Entry(user_key(member), reference), Entry(created[0], reference)]
        )
        return reference

    async def _send(
        self, reference: ConversationReference, activity: Activity, thread: str | None
    ) -> str:
        """Post `activity` into the reference's conversation (a reply when `thread` is set)."""
        sent: list[str] = []
        # a reply goes to the thread's own conversation id, as Teams addresses threads inbound
        conversation = reference.conversation.id + (f"{THREAD_SUFFIX}{thread}" if thread else "")

        async def deliver(connector: ConnectorClient) -> None:
            activity.conversation = ConversationAccount(id=conversation)
            activity.from_property = reference.bot
            if thread:
                response = await connector.conversations.reply_to_activity(
                    conversation, thread, activity
                )
            else:
                response = await connector.conversations.send_to_conversation(
                    conversation, activity
                )
            sent.append(response.id if response and response.id else "")

        await self._with_connector(reference, deliver)
        return sent[0]

    async def _with_connector(
        self,
        reference: ConversationReference,
        use: Callable[[ConnectorClient], Awaitable[None]],
    ) -> None:
        """Run `use` with the Connector client of a proactive turn on `reference`."""

        async def logic(turn: TurnContext) -> None:
            connector = turn.turn_state[self.adapter.BOT_CONNECTOR_CLIENT_KEY]
            _without_retries(connector)
            await use(connector)

        await self.adapter.continue_conversation(reference, logic, self.app_id)


def _without_retries(connector: ConnectorClient) -> None:
    """msrest retries requests itself (urllib3 `Retry`, POST included on 5xx under older
    urllib3): a send retried behind the outbox's back could post twice. The outbox retries."""
    connector.config.retry_policy.retries = 0


def _message(attachment: dict[str, Any]) -> Activity:
    """A message carrying one card; its fallback text is the notification summary."""
    content = attachment["content"]
    return Activity(
        type=ActivityTypes.message,
        summary=content.get("fallbackText", ""),
        attachments=[Attachment(content_type=attachment["contentType"], content=content)],
    )


def _is_bot(account: ChannelAccount) -> bool:
    return bool(account.id and account.id.startswith("28:")) or account.role == "bot"


class _translated:
    """Turn Connector, network and token errors into the port's DeliveryError family."""

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, kind: type | None, error: BaseException | None, _tb: object) -> bool:
        if isinstance(error, HttpOperationError):
            response = error.response
            status = response.status_code if response is not None else 0
            if status == 429:
                raise RateLimited(_retry_after(response.headers)) from error
            if status in (0, 408, 412) or status >= 500:
                raise TemporaryFailure(f"http_{status}") from error
            raise PermanentFailure(_error_code(error) or f"http_{status}") from error
        if isinstance(
            error,
            ClientRequestError
            | aiohttp.ClientError
            | asyncio.TimeoutError
            | requests.RequestException,
        ):
            raise TemporaryFailure(f"{type(error).__name__}: {error}") from error
        if isinstance(error, PermissionError):  # the token service said no (or was down)
            raise TemporaryFailure(f"token: {error}") from error
        return False


def _retry_after(headers: Any) -> float:
    try:
        return max(0.0, float(headers.get("Retry-After", DEFAULT_RETRY_AFTER)))
    except (TypeError, ValueError):  # an HTTP date, or garbage
        return DEFAULT_RETRY_AFTER


def _error_code(error: HttpOperationError) -> str | None:
    details = getattr(getattr(error, "error", None), "error", None)
    code = getattr(details, "code", None)
    return code if isinstance(code, str) and code else None
