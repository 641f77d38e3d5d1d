"""The Messenger port on Slack's Web API."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from hearth.bot.slack.render import blocks, fallback_text, home, modal, mrkdwn
from hearth.handlers.cards import Card, Form
from hearth.handlers.events import MessageRef
from hearth.handlers.ports import (
    Clock,
    PermanentFailure,
    Profile,
    RateLimited,
    SystemClock,
    Target,
    TemporaryFailure,
)
from hearth.storage.dm_channels import DmChannels

log = logging.getLogger(__name__)

RESPONSE_URL = "@response_url"
"""MessageRef.conversation for a message that can only be replaced through its response_url."""
TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "service_unavailable", "fatal_error", "internal_error", "request_timeout"}
)


LOOKBACK_PAGES = 5
"""How many pages of 200 messages `find_posted` reads back before deciding a post never landed."""
METADATA_EVENT = "hearth_outbox"


def _metadata(tag: str) -> dict[str, Any]:
    """Slack message metadata naming an outbox delivery."""
    return {"event_type": METADATA_EVENT, "event_payload": {"delivery": tag}}


def _delivery(message: dict[str, Any]) -> str | None:
    """The outbox delivery tag a listed message carries, if it is one of Hearth's posts."""
    metadata = message.get("metadata") or {}
    if metadata.get("event_type") != METADATA_EVENT:
        return None
    return (metadata.get("event_payload") or {}).get("delivery")


class MethodLimits:
    """Slack's rate limits are per method and workspace: after a 429 on one method, every
    caller of that method in that workspace waits out the Retry-After, not only the one
    conversation that met it."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._not_before: dict[tuple[str, str], datetime] = {}

    def check(self, workspace: str, method: str) -> None:
        """Raise RateLimited, without calling Slack, while the method is cooling down."""
        until = self._not_before.get((workspace, method))
        if until is None:
            return
        wait = (until - self.clock.now()).total_seconds()
        if wait > 0:
            raise RateLimited(wait)
        del self._not_before[(workspace, method)]

    def hold(self, workspace: str, method: str, seconds: float) -> None:
        until = self.clock.now() + timedelta(seconds=seconds)
        current = self._not_before.get((workspace, method))
        if current is None or current < until:
            self._not_before[(workspace, method)] = until


class SlackMessenger:
    """Posts, updates and looks people up through slack_sdk, mapping failures to ours.

    `client` must not retry by itself (`retry_handlers=[]`): a retried `chat.postMessage`
    whose first answer was lost posts twice; retrying is the outbox sender's job.
    """

    platform = "slack"
    command_prefix = "/cop"
    min_send_interval = 1.0  # Slack: about one message per second per channel

    def __init__(
        self,
        client: AsyncWebClient,
        clock: Clock | None = None,
        dms: DmChannels | None = None,
    ) -> None:
        self.client = client
        self.limits = MethodLimits(clock or SystemClock())
        self.dms = dms

    def _calling(self, workspace: str, method: str) -> _translated:
        return _translated(self.limits, workspace, method)

    async def post(
        self, workspace: str, target: Target, card: Card, tag: str | None = None
    ) -> MessageRef:
        channel = await self._conversation(workspace, target)
        async with self._calling(workspace, "chat.postMessage"):
            response = await self.client.chat_postMessage(
                channel=channel,
                text=fallback_text(card),
                blocks=blocks(card),
                thread_ts=target.thread,
                metadata=None if tag is None else _metadata(tag),
                unfurl_links=False,  # members' links are never previewed: Hearth shares them
                unfurl_media=False,  # as text and nothing fetches them on its behalf
            )
        return MessageRef(response["channel"], response["ts"])

    async def find_posted(self, workspace: str, target: Target, tag: str) -> MessageRef | None:
        """Look through the latest messages (a thread's, when the post was a reply) for the
        tag Hearth put in the post's message metadata."""
        channel = await self._conversation(workspace, target)
        cursor = None
        for _ in range(LOOKBACK_PAGES):
            page = await self._history_page(workspace, channel, target.thread, cursor)
            for message in page["messages"]:
                if _delivery(message) == tag:
                    return MessageRef(channel, message["ts"])
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not page.get("has_more") or not cursor:
                break
        return None

    async def _conversation(self, workspace: str, target: Target) -> str:
        """The channel id to post into: a member's DM is looked up, or opened once."""
        if target.kind != "dm":
            return target.id
        if self.dms is not None:
            known = await self.dms.lookup(workspace, target.id)
            if known is not None:
                return known
        channel = await self._open_dm(workspace, target.id)
        if self.dms is not None:
            await self.dms.remember(workspace, target.id, channel)
        return channel

    async def _dm(self, workspace: str, user: str) -> str:
        """A member's DM for a direct answer: no database here (it may run in a transaction)."""
        known = self.dms.cached(workspace, user) if self.dms is not None else None
        if known is not None:
            return known
        channel = await self._open_dm(workspace, user)
        if self.dms is not None:
            self.dms.note(workspace, user, channel)
        return channel

    async def _open_dm(self, workspace: str, user: str) -> str:
        async with self._calling(workspace, "conversations.open"):
            opened = await self.client.conversations_open(users=user)
        return str(opened["channel"]["id"])

    async def _history_page(
        self, workspace: str, channel: str, thread: str | None, cursor: str | None
    ) -> Any:
        if thread:
            async with self._calling(workspace, "conversations.replies"):
                return await self.client.conversations_replies(
                    channel=channel, ts=thread, include_all_metadata=True, limit=200, cursor=cursor
                )
        async with self._calling(workspace, "conversations.history"):
            return await self.client.conversations_history(
                channel=channel, include_all_metadata=True, limit=200, cursor=cursor
            )

    async def update(self, workspace: str, ref: MessageRef, card: Card) -> None:
        if ref.conversation == RESPONSE_URL:
            async with _translated():
                await _respond(ref.message_id, card, replace_original=True)
        else:
            async with self._calling(workspace, "chat.update"):
                await self.client.chat_update(
                    channel=ref.conversation,
                    ts=ref.message_id,
                    text=fallback_text(card),
                    blocks=blocks(card),
                )

    async def reply_privately(
        self, workspace: str, channel: str, user: str, card: Card, reply_token: str | None
    ) -> None:
        async with _translated():
            if reply_token:
                await _respond(reply_token, card, replace_original=False)
            elif channel:
                await self.client.chat_postEphemeral(
                    channel=channel, user=user, text=fallback_text(card), blocks=blocks(card)
                )
            else:  # an action on the App Home (no channel, no response_url): their DM
                await self.client.chat_postMessage(
                    channel=await self._dm(workspace, user),
                    text=fallback_text(card),
                    blocks=blocks(card),
                    unfurl_links=False,
                    unfurl_media=False,
                )

    async def open_form(
        self, workspace: str, channel: str, user: str, form: Form, form_token: str | None
    ) -> None:
        if not form_token:
            raise PermanentFailure("no trigger_id to open a modal with")
        async with _translated():
            await self.client.views_open(trigger_id=form_token, view=modal(form, channel))

    async def send_file(
        self, workspace: str, user: str, filename: str, content: bytes, comment: str
    ) -> None:
        async with _translated():
            await self.client.files_upload_v2(
                channel=await self._dm(workspace, user),
                filename=filename,
                title=filename,
                content=content,
                initial_comment=mrkdwn(comment, {}),
            )

    async def show_home(self, workspace: str, user: str, card: Card) -> None:
        async with _translated():
            await self.client.views_publish(user_id=user, view=home(card))

    async def join(self, workspace: str, channel: str) -> None:
        async with _translated():
            await self.client.conversations_join(channel=channel)

    async def profile(self, workspace: str, user_id: str) -> Profile | None:
        try:
            async with _translated():
                user = (await self.client.users_info(user=user_id))["user"]
        except PermanentFailure as error:
            if error.code in {"user_not_found", "bot_not_found"}:
                return None
            raise
        details = user.get("profile", {})
        name = (
            details.get("real_name")
            or user.get("real_name")
            or details.get("display_name")
            or user.get("name")
            or user_id
        )
        return Profile(
            user_id=user_id,
            name=name,
            tz=user.get("tz"),
            is_bot=bool(user.get("is_bot")) or user_id == "USLACKBOT",
            deleted=bool(user.get("deleted")),
        )


async def _respond(url: str, card: Card, *, replace_original: bool) -> None:
    response = await AsyncWebhookClient(url, retry_handlers=[]).send(
        text=fallback_text(card),
        blocks=blocks(card),
        response_type="ephemeral",
        replace_original=replace_original,
    )
    if response.status_code == 429:
        raise RateLimited(float(response.headers.get("Retry-After", "1")))
    if response.status_code >= 500:
        raise TemporaryFailure(f"response_url answered {response.status_code}")
    if response.status_code >= 400:
        raise PermanentFailure(response.body or f"http_{response.status_code}")


class _translated:
    """Turn slack_sdk and network errors into the port's DeliveryError family; with `limits`,
    wait out (and, on a 429, start) the method's cooling-down in the workspace."""

    def __init__(
        self, limits: MethodLimits | None = None, workspace: str = "", method: str = ""
    ) -> None:
        self.limits, self.workspace, self.method = limits, workspace, method

    async def __aenter__(self) -> None:
        if self.limits is not None:
            self.limits.check(self.workspace, self.method)

    async def __aexit__(self, kind: type | None, error: BaseException | None, _tb: object) -> bool:
        if isinstance(error, SlackApiError):
            status = error.response.status_code
            code = str(error.response.get("error", f"http_{status}"))
            if status == 429:
                retry_after = _seconds(error.response.headers.get("Retry-After"))
                if self.limits is not None:
                    self.limits.hold(self.workspace, self.method, retry_after)
                raise RateLimited(retry_after) from error
            if status >= 500 or code in TRANSIENT_ERRORS:
                raise TemporaryFailure(code) from error
            raise PermanentFailure(code) from error
        if isinstance(error, aiohttp.ClientError | asyncio.TimeoutError):
            raise TemporaryFailure(f"{type(error).__name__}: {error}") from error
        return False


def _seconds(value: str | None) -> float:
    """Retry-After in seconds (Slack sends whole seconds); 1 when absent or unreadable."""
    try:
        return max(0.0, float(value)) if value is not None else 1.0
    except ValueError:
        return 1.0
