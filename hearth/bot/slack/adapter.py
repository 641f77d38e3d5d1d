"""Slack in: bolt listeners that turn payloads into neutral events, and the HTTP route."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from hearth.bot.slack.messenger import RESPONSE_URL
from hearth.bot.slack.render import action_of
from hearth.handlers.events import (
    ActionClicked,
    CommandInvoked,
    Event,
    FormSubmitted,
    HomeOpened,
    MemberJoined,
    MemberLeft,
    MessageDeleted,
    MessageEdited,
    MessagePosted,
    MessageRef,
    ProfileChanged,
    ReactionAdded,
)
from hearth.handlers.hub import Hearth
from hearth.handlers.intake import EventJournal
from hearth.handlers.ports import Clock

PLATFORM = "slack"
COMMAND = "/cop"
POSTED_SUBTYPES = {None, "thread_broadcast", "file_share", "bot_message", "me_message"}


def bolt_app(client: AsyncWebClient, authorize: AsyncAuthorize, signing_secret: str) -> AsyncApp:
    """The bolt app Slack's requests are dispatched through (`register` wires it to the hub)."""
    return AsyncApp(
        client=client,
        authorize=authorize,
        signing_secret=signing_secret,
        request_verification_enabled=False,  # `route` checks the signature before bolt sees it
        # Hearth uses neither AI-assistant threads nor workflow steps: skip their middleware
        attaching_conversation_kwargs_enabled=False,
        attaching_function_token_enabled=False,
    )


def register(bolt: AsyncApp, hearth: Hearth, clock: Clock, journal: EventJournal) -> None:
    """Wire every Slack input Hearth understands to the hub.

    Events API events are taken by one global middleware (`EventIntake`), which bolt runs after
    its own checks (authorization, its own bot's events dropped, url_verification): it hands
    the event to the journal, which stores it within milliseconds and has it handled, and
    answers 200, as bolt's auto-acknowledging event listeners would, without their argument
    injection and task (bench/bolt_paths.py: a no-op listener costs bolt about six times as
    much CPU per event). When the journal cannot store events now (the database is unavailable
    or too slow, the backlog is full) it answers 503, and Slack delivers the event again later.
    Commands, clicks and form submissions are bolt listeners: each is acknowledged with ack(),
    then handled at once.
    """

    async def dispatch(event: Event | None) -> None:
        if event is not None:
            await hearth.handle(event)

    bolt.middleware(EventIntake(journal))

    @bolt.command(COMMAND)
    async def command(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        await dispatch(command_event(body, clock.now()))

    @bolt.action(re.compile(".+"))
    async def action(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        await dispatch(action_event(body, clock.now()))

    @bolt.view(re.compile(".+"))
    async def submitted(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        await dispatch(form_event(body, clock.now()))


class EventIntake(AsyncMiddleware):
    """Bolt middleware that hands Events API events to the journal and answers them.

    A middleware object is called as it is, without the argument injection bolt does for
    middleware functions and listeners.
    """

    def __init__(self, journal: EventJournal) -> None:
        self.journal = journal

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],  # bolt calls it by this name
    ) -> BoltResponse | None:
        translate = _translator(req.body)
        if translate is None:
            return await next()
        try:
            event = translate(req.body)
        except (KeyError, TypeError, ValueError) as error:
            return BoltResponse(status=400, body={"error": f"unreadable event: {error!r}"})
        if event is not None and not await self.journal.accept(event):  # Slack delivers it again
            return BoltResponse(status=503, body={"error": "not stored: please deliver it again"})
        return BoltResponse(status=200, body="")


def _translator(body: dict[str, Any]) -> Callable[[dict[str, Any]], Event | None] | None:
    """How to read an Events API payload Hearth listens to (None: any other request)."""
    event = body.get("event")
    if body.get("type") != "event_callback" or not isinstance(event, dict):
        return None
    return EVENTS.get(event.get("type", ""))


def message_event(body: dict[str, Any]) -> Event | None:
    """A `message` event as MessagePosted, MessageEdited or MessageDeleted (None: not ours)."""
    event = body["event"]
    subtype = event.get("subtype")
    channel = event["channel"]
    is_dm = event.get("channel_type") == "im"
    if subtype == "message_changed":
        changed = event["message"]
        previous = event.get("previous_message", {})
        return MessageEdited(
            **_common(body, channel, changed.get("user") or changed.get("bot_id", "")),
            message_id=changed.get("ts") or previous["ts"],
            text=changed.get("text", ""),
        )
    if subtype == "message_deleted":
        previous = event.get("previous_message", {})
        return MessageDeleted(
            **_common(body, channel, previous.get("user", "")), message_id=event["deleted_ts"]
        )
    if subtype not in POSTED_SUBTYPES:
        return None
    author = event.get("user") or event.get("bot_id")
    if not author:
        return None
    return MessagePosted(
        **_common(body, channel, author),
        message_id=event["ts"],
        text=event.get("text", ""),
        thread_id=event.get("thread_ts") if event.get("thread_ts") != event["ts"] else None,
        is_dm=is_dm,
        from_bot=subtype == "bot_message" or "bot_id" in event,
    )


def reaction_event(body: dict[str, Any]) -> Event | None:
    event = body["event"]
    item = event.get("item", {})
    if item.get("type") != "message":
        return None
    return ReactionAdded(
        **_common(body, item["channel"], event["user"]),
        message_id=item["ts"],
        emoji=event["reaction"],
    )


def form_event(body: dict[str, Any], now: datetime) -> FormSubmitted:
    """A modal's `view_submission` (see SlackMessenger.open_form for what the view carries)."""
    view = body["view"]
    origin = json.loads(view.get("private_metadata") or "{}")
    values: dict[str, str | list[str]] = {}
    for block_id, inputs in view.get("state", {}).get("values", {}).items():
        for element in inputs.values():
            values[block_id] = _input_value(element)
    return FormSubmitted(
        platform=PLATFORM,
        workspace=body.get("team", {}).get("id") or body["user"].get("team_id", ""),
        channel=origin.get("channel", ""),
        user=body["user"]["id"],
        at=now,
        form=view["callback_id"],
        values=values,
        context=origin.get("context", ""),
    )


def _input_value(element: dict[str, Any]) -> str | list[str]:
    if "selected_options" in element:
        return [option["value"] for option in element["selected_options"] or []]
    if "selected_option" in element:
        return (element["selected_option"] or {}).get("value", "")
    return element.get("value") or ""


def command_event(body: dict[str, Any], now: datetime) -> CommandInvoked:
    channel = body["channel_id"]
    return CommandInvoked(
        platform=PLATFORM,
        workspace=body["team_id"],
        channel=channel,
        user=body["user_id"],
        at=now,
        reply_token=body.get("response_url"),
        form_token=body.get("trigger_id"),
        text=body.get("text", ""),
        is_dm=channel.startswith("D") or body.get("channel_name") == "directmessage",
        channel_name=body.get("channel_name"),
    )


def action_event(body: dict[str, Any], now: datetime) -> ActionClicked:
    clicked = body["actions"][0]
    container = body.get("container", {})
    channel = container.get("channel_id") or body.get("channel", {}).get("id", "")
    if container.get("is_ephemeral") and body.get("response_url"):
        ref = MessageRef(RESPONSE_URL, body["response_url"])
    elif container.get("message_ts"):
        ref = MessageRef(channel, container["message_ts"])
    else:
        ref = None
    return ActionClicked(
        platform=PLATFORM,
        workspace=body.get("team", {}).get("id") or body["user"].get("team_id", ""),
        channel=channel,
        user=body["user"]["id"],
        at=now,
        reply_token=body.get("response_url"),
        form_token=body.get("trigger_id"),
        action=action_of(clicked.get("action_id", "")),
        value=clicked.get("value") or clicked.get("selected_option", {}).get("value", ""),
        message=ref,
    )


def profile_event(body: dict[str, Any]) -> Event:
    """`user_change` (name, time zone, deactivation) and `team_join`: the profile to refresh."""
    return ProfileChanged(**_common(body, "", body["event"]["user"]["id"]))


def home_event(body: dict[str, Any]) -> Event | None:
    """`app_home_opened` on the Home tab (not the Messages tab)."""
    event = body["event"]
    if event.get("tab") != "home":
        return None
    return HomeOpened(**_common(body, event.get("channel", ""), event["user"]))


def _membership(kind: type[MemberJoined] | type[MemberLeft], body: dict[str, Any]) -> Event:
    event = body["event"]
    return kind(**_common(body, event["channel"], event["user"]))


EVENTS: dict[str, Callable[[dict[str, Any]], Event | None]] = {
    "message": message_event,
    "member_joined_channel": partial(_membership, MemberJoined),
    "member_left_channel": partial(_membership, MemberLeft),
    "reaction_added": reaction_event,
    "user_change": lambda body: profile_event(body),
    "team_join": lambda body: profile_event(body),
    "app_home_opened": lambda body: home_event(body),
}
"""The Events API types Hearth listens to (manifests/slack/manifest.yaml subscribes to these)."""


def _common(body: dict[str, Any], channel: str, user: str) -> dict[str, Any]:
    event = body.get("event", {})
    workspace = body.get("team_id") or event.get("team") or ""
    return {
        "platform": PLATFORM,
        "workspace": workspace,
        "channel": channel,
        "user": user,
        "at": datetime.fromtimestamp(float(event.get("event_ts") or body["event_time"]), UTC),
        "event_id": body.get("event_id"),
    }


class BotAuthorize(AsyncAuthorize):
    """One workspace, one bot token: `auth.test` once, then the same identity for every request.

    Bolt's own single-team authorization calls auth.test through its per-request client, which
    adds a `team_id` parameter Slack's Web API spec does not have; this asks through our client.
    """

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._identity: dict[str, Any] | None = None

    async def __call__(
        self,
        *,
        context: AsyncBoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        **_: Any,
    ) -> AuthorizeResult:
        if self._identity is None:
            self._identity = dict((await self.client.auth_test()).data)  # type: ignore[arg-type]
        identity = self._identity
        return AuthorizeResult(
            enterprise_id=identity.get("enterprise_id"),
            team_id=identity.get("team_id"),
            bot_id=identity.get("bot_id"),
            bot_user_id=identity.get("user_id"),
            bot_token=self.client.token,
            user_id=user_id,
        )


def route(bolt: AsyncApp, signing_secret: str) -> web.RequestHandler:
    """POST /slack/events: signature first (401), then shape (400), then bolt."""
    verifier = SignatureVerifier(signing_secret)

    async def handle(request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        if not _signed(verifier, raw, request):
            return web.json_response({"error": "invalid signature or stale timestamp"}, status=401)
        try:  # bolt parses the body (once) and reads ids out of it while building the request
            bolt_request = AsyncBoltRequest(
                body=raw.decode("utf-8"), query=request.query_string, headers=dict(request.headers)
            )
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            return web.json_response({"error": f"malformed body: {error}"}, status=400)
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            return web.json_response({"error": f"unreadable payload: {error!r}"}, status=400)
        parsed = bolt_request.body
        if not isinstance(parsed, dict) or not parsed:
            return web.json_response(
                {"error": "expected a JSON object or a form payload"}, status=400
            )
        if "event" in parsed and not isinstance(parsed["event"], dict):
            return web.json_response({"error": "`event` must be an object"}, status=400)
        return await to_aiohttp_response(await bolt.async_dispatch(bolt_request))

    return handle


def _signed(verifier: SignatureVerifier, raw: bytes, request: web.Request) -> bool:
    """A valid signature and a fresh timestamp (a non-numeric timestamp is simply invalid)."""
    try:
        return verifier.is_valid_request(raw, dict(request.headers))
    except ValueError:
        return False
