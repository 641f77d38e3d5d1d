"""Slack in: bolt listeners that turn payloads into neutral events, and the HTTP route."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.middleware.ignoring_self_events import IgnoringSelfEvents
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.internals import extract_user_id
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from hearth.bot.slack import payloads
from hearth.bot.slack.messenger import RESPONSE_URL
from hearth.bot.slack.render import action_of
from hearth.bot.slack.replay_guard import ReplayGuard
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

log = logging.getLogger(__name__)

PLATFORM = "slack"
COMMAND = "/cop"
POSTED_SUBTYPES = {None, "thread_broadcast", "file_share", "bot_message", "me_message"}
PAYLOAD = payloads.CONTEXT_KEY
P = TypeVar("P", bound=payloads.Schema)


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


def register(
    bolt: AsyncApp,
    hearth: Hearth,
    clock: Clock,
    journal: EventJournal,
    authorize: BotAuthorize,
    now: Callable[[], float] = time.time,
) -> EventIntake:
    """Wire every Slack input Hearth understands to the hub.

    Events API events are taken by one global middleware (`EventIntake`), which bolt runs after
    its own checks (authorization, its own bot's events dropped, url_verification): it hands
    the event to the journal, which stores it within milliseconds and has it handled, and
    answers 200, as bolt's auto-acknowledging event listeners would, without their argument
    injection and task (bench/bolt_paths.py: a no-op listener costs bolt about six times as
    much CPU per event). When the journal cannot store events now (the database is unavailable
    or too slow, the backlog is full) it answers 503, and Slack delivers the event again later.
    Commands, clicks and form submissions are bolt listeners: each is acknowledged with ack(),
    once per signed request (`ReplayGuard`; events are run once by their `event_id` in the
    hub), then handled at once. `now` is the signature verifier's clock.
    """

    async def dispatch(event: Event | None) -> None:
        if event is not None:
            await hearth.handle(event)

    bolt.middleware(ReplayGuard(hearth.db, now, COMMAND))
    intake = EventIntake(journal, authorize)
    bolt.middleware(intake)

    @bolt.command(COMMAND)
    async def command(ack: Any, body: dict[str, Any], context: AsyncBoltContext) -> None:
        await ack()
        if (payload := _payload(context, body, payloads.SlashCommand)) is not None:
            await dispatch(command_event(payload, clock.now()))

    @bolt.action(re.compile(".+"))
    async def action(ack: Any, body: dict[str, Any], context: AsyncBoltContext) -> None:
        await ack()
        if (payload := _payload(context, body, payloads.BlockActions)) is not None:
            await dispatch(action_event(payload, clock.now()))

    @bolt.view(re.compile(".+"))
    async def submitted(ack: Any, body: dict[str, Any], context: AsyncBoltContext) -> None:
        await ack()
        if (payload := _payload(context, body, payloads.ViewSubmission)) is not None:
            await dispatch(form_event(payload, clock.now()))

    return intake


def _payload(context: AsyncBoltContext, body: dict[str, Any], kind: type[P]) -> P | None:
    """The request's payload as `route` read it, or read now (Socket Mode has no route)."""
    payload = context.get(PAYLOAD)
    if payload is None:
        try:
            payload = payloads.read(body)
        except payloads.Malformed as error:
            log.info("ignored a malformed Slack payload: %s", error)
            return None
    return payload if isinstance(payload, kind) else None


class EventIntake(AsyncMiddleware):
    """Hands Events API events to the journal and answers them: 200 once stored (or on its
    way), 503 when the journal cannot store events now (Slack delivers them again).

    In Socket Mode it is a bolt middleware, run after bolt's own checks (authorization, its
    own bot's events dropped); a middleware object is called as it is, without the argument
    injection bolt does for middleware functions and listeners. Over HTTP, `route` calls
    `take_signed` directly: bolt's dispatch would only authorize (one workspace, known at
    start-up) and drop the bot's own events, which `take_signed` asks bolt's own
    `IgnoringSelfEvents` about, at a fraction of the CPU (bench/ingest.py).
    """

    def __init__(self, journal: EventJournal, authorize: BotAuthorize) -> None:
        self.journal = journal
        self.authorize = authorize

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],  # bolt calls it by this name
    ) -> BoltResponse | None:
        try:
            payload = _listened(req)
        except payloads.Malformed as error:
            return _unreadable(error)
        if payload is None:
            return await next()
        return await self.take(payload)

    async def take_signed(
        self, body: dict[str, Any], payload: payloads.EventCallback
    ) -> BoltResponse:
        """A signed HTTP event: the bot's own dropped (acknowledged), any other taken."""
        bot = await self.authorize.result()
        bot_id = body["event"].get("bot_id")
        if IgnoringSelfEvents._is_self_event(bot, extract_user_id(body), bot_id, body):
            return BoltResponse(status=200, body="")
        return await self.take(payload)

    async def take(self, payload: payloads.EventCallback) -> BoltResponse:
        try:
            event = EVENTS[payload.event.type](payload)
        except payloads.Malformed as error:
            return _unreadable(error)
        if event is not None and not await self.journal.accept(event):  # Slack delivers it again
            return BoltResponse(status=503, body={"error": "not stored: please deliver it again"})
        return BoltResponse(status=200, body="")


def _unreadable(error: payloads.Malformed) -> BoltResponse:
    log.info("refused a Slack event: %s", error)
    return BoltResponse(status=400, body={"error": f"unreadable event: {error}"})


def _listened(req: AsyncBoltRequest) -> payloads.EventCallback | None:
    """An Events API event Hearth listens to, read (None: any other request)."""
    payload = req.context.get(PAYLOAD)
    if payload is None and req.body.get("type") == "event_callback":  # Socket Mode
        payload = payloads.read(req.body)
    return payload if isinstance(payload, payloads.EventCallback) else None


def message_event(body: payloads.EventCallback) -> Event | None:
    """A `message` event as MessagePosted, MessageEdited or MessageDeleted (None: not ours)."""
    event = body.event
    assert isinstance(event, payloads.MessageEvent)
    subtype = event.subtype
    channel = event.channel
    if subtype == "message_changed":
        changed, previous = event.message, event.previous_message
        message_id = (changed and changed.ts) or (previous and previous.ts)
        if changed is None or not message_id:
            raise payloads.Malformed("event.message: a changed message and its ts are required")
        return MessageEdited(
            **_common(body, channel, changed.user or changed.bot_id or ""),
            message_id=message_id,
            text=changed.text or "",
        )
    if subtype == "message_deleted":
        if not event.deleted_ts:
            raise payloads.Malformed("event.deleted_ts: required for message_deleted")
        previous = event.previous_message
        author = previous.user if previous is not None else None
        return MessageDeleted(**_common(body, channel, author or ""), message_id=event.deleted_ts)
    if subtype not in POSTED_SUBTYPES:
        return None
    author = event.user or event.bot_id
    if not author:
        return None
    if not event.ts:
        raise payloads.Malformed("event.ts: required for a message")
    return MessagePosted(
        **_common(body, channel, author),
        message_id=event.ts,
        text=event.text or "",
        thread_id=event.thread_ts if event.thread_ts != event.ts else None,
        is_dm=event.channel_type == "im",
        from_bot=subtype == "bot_message" or "bot_id" in event.model_fields_set,
    )


def reaction_event(body: payloads.EventCallback) -> Event | None:
    event = body.event
    assert isinstance(event, payloads.ReactionEvent)
    item = event.item
    if item.type != "message":
        return None
    if not item.channel or not item.ts:
        raise payloads.Malformed("event.item: a message reaction needs its channel and ts")
    return ReactionAdded(
        **_common(body, item.channel, event.user), message_id=item.ts, emoji=event.reaction
    )


def form_event(body: payloads.ViewSubmission, now: datetime) -> FormSubmitted:
    """A modal's `view_submission` (see SlackMessenger.open_form for what the view carries)."""
    view = body.view
    origin = view.private_metadata
    values: dict[str, str | list[str]] = {}
    for block_id, inputs in view.state.values.items():
        for element in inputs.values():
            values[block_id] = _input_value(element)
    return FormSubmitted(
        platform=PLATFORM,
        workspace=(body.team and body.team.id) or body.user.team_id or "",
        channel=origin.channel,
        user=body.user.id,
        at=now,
        form=view.callback_id,
        values=values,
        context=origin.context,
    )


def _input_value(element: payloads.Element) -> str | list[str]:
    given = element.model_fields_set
    if "selected_options" in given:
        return [option.value for option in element.selected_options or []]
    if "selected_option" in given:
        return element.selected_option.value if element.selected_option else ""
    return element.value or ""


def command_event(body: payloads.SlashCommand, now: datetime) -> CommandInvoked:
    channel = body.channel_id
    return CommandInvoked(
        platform=PLATFORM,
        workspace=body.team_id,
        channel=channel,
        user=body.user_id,
        at=now,
        reply_token=body.response_url,
        form_token=body.trigger_id,
        text=body.text,
        is_dm=channel.startswith("D") or body.channel_name == "directmessage",
        channel_name=body.channel_name,
    )


def action_event(body: payloads.BlockActions, now: datetime) -> ActionClicked:
    clicked = body.actions[0]
    container = body.container or payloads.Container()
    channel = container.channel_id or (body.channel and body.channel.id) or ""
    ref: MessageRef | None
    if container.is_ephemeral and body.response_url:
        ref = MessageRef(RESPONSE_URL, body.response_url)
    elif container.message_ts:
        ref = MessageRef(channel, container.message_ts)
    else:
        ref = None
    chosen = clicked.selected_option
    return ActionClicked(
        platform=PLATFORM,
        workspace=(body.team and body.team.id) or body.user.team_id or "",
        channel=channel,
        user=body.user.id,
        at=now,
        reply_token=body.response_url,
        form_token=body.trigger_id,
        action=action_of(clicked.action_id),
        value=clicked.value or (chosen.value if chosen else ""),
        message=ref,
    )


def profile_event(body: payloads.EventCallback) -> Event:
    """`user_change` (name, time zone, deactivation) and `team_join`: the profile to refresh."""
    event = body.event
    assert isinstance(event, payloads.ProfileEvent)
    return ProfileChanged(**_common(body, "", event.user.id))


def home_event(body: payloads.EventCallback) -> Event | None:
    """`app_home_opened` on the Home tab (not the Messages tab)."""
    event = body.event
    assert isinstance(event, payloads.HomeEvent)
    if event.tab != "home":
        return None
    return HomeOpened(**_common(body, event.channel or "", event.user))


def _membership(kind: type[MemberJoined] | type[MemberLeft], body: payloads.EventCallback) -> Event:
    event = body.event
    assert isinstance(event, payloads.MembershipEvent)
    return kind(**_common(body, event.channel, event.user))


EVENTS: dict[str, Callable[[payloads.EventCallback], Event | None]] = {
    "message": message_event,
    "member_joined_channel": partial(_membership, MemberJoined),
    "member_left_channel": partial(_membership, MemberLeft),
    "reaction_added": reaction_event,
    "user_change": profile_event,
    "team_join": profile_event,
    "app_home_opened": home_event,
}
"""How to read each Events API type Hearth listens to (payloads.LISTENED)."""


def _common(body: payloads.EventCallback, channel: str, user: str) -> dict[str, Any]:
    event = body.event
    stamp = float(event.event_ts) if event.event_ts else float(body.event_time)
    return {
        "platform": PLATFORM,
        "workspace": body.team_id or event.team or "",
        "channel": channel,
        "user": user,
        "at": datetime.fromtimestamp(stamp, UTC),
        "event_id": body.event_id,
    }


class BotAuthorize(AsyncAuthorize):
    """One workspace, one bot token: `auth.test` once, then the same identity for every request.

    Bolt's own single-team authorization calls auth.test through its per-request client, which
    adds a `team_id` parameter Slack's Web API spec does not have; this asks through our client.
    """

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._identity: dict[str, Any] | None = None
        self._result: AuthorizeResult | None = None

    async def identify(self) -> dict[str, Any]:
        """The bot's identity (`auth.test`, once): at start-up, a wrong token fails here."""
        if self._identity is None:
            self._identity = dict((await self.client.auth_test()).data)  # type: ignore[arg-type]
        return self._identity

    async def result(self) -> AuthorizeResult:
        """Who the bot is, as bolt's authorization result (the same for every request)."""
        if self._result is None:
            identity = await self.identify()
            self._result = AuthorizeResult(
                enterprise_id=identity.get("enterprise_id"),
                team_id=identity.get("team_id"),
                bot_id=identity.get("bot_id"),
                bot_user_id=identity.get("user_id"),
                bot_token=self.client.token,
            )
        return self._result

    async def __call__(
        self,
        *,
        context: AsyncBoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        **_: Any,
    ) -> AuthorizeResult:
        bot = await self.result()
        return AuthorizeResult(
            enterprise_id=bot.enterprise_id,
            team_id=bot.team_id,
            bot_id=bot.bot_id,
            bot_user_id=bot.bot_user_id,
            bot_token=bot.bot_token,
            user_id=user_id,
        )


def route(bolt: AsyncApp, signing_secret: str, intake: EventIntake) -> web.RequestHandler:
    """POST /slack/events: signature first (401), then shape (400), then an Events API event
    to `intake`, anything else to bolt.

    The body is read once, here, into its typed payload (hearth/bot/slack/payloads.py); bolt
    gets the parsed body (as it does in Socket Mode) and the payload in its context. Bolt reads
    more of a body than Hearth does (ids for its context, fields its matchers look at), so a
    kind of request Hearth has no schema for never reaches it.
    """
    verifier = SignatureVerifier(signing_secret)

    async def handle(request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        if not _signed(verifier, raw, request):
            return web.json_response({"error": "invalid signature or stale timestamp"}, status=401)
        try:
            body = payloads.decode(raw, request.content_type)
            if "event" in body and not isinstance(body["event"], dict):
                raise payloads.Malformed("`event` must be an object")
            payload = payloads.read(body)
        except payloads.Malformed as error:
            log.info("refused a Slack request: %s", error)
            return web.json_response({"error": str(error)}, status=400)
        if payload is None:  # bolt sees only payloads read against their schema
            if body.get("type") == "event_callback" or "ssl_check" in body:
                return web.Response(status=200)  # an event Hearth does not listen to; a probe
            return web.json_response({"error": "not a request Hearth handles"}, status=404)
        if isinstance(payload, payloads.EventCallback):
            return await to_aiohttp_response(await intake.take_signed(body, payload))
        try:  # bolt reads ids out of the body (enterprise, team, user…) while building it
            bolt_request = AsyncBoltRequest(
                body=body,
                query=request.query_string,
                headers=dict(request.headers),
                context={PAYLOAD: payload},
                mode="socket_mode",  # the body is parsed already (bolt's own parse, not its verify)
            )
        except (AttributeError, LookupError, TypeError, ValueError) as error:
            log.info("refused a Slack request bolt cannot read: %r", error)
            return web.json_response({"error": "unreadable payload"}, status=400)
        return await to_aiohttp_response(await bolt.async_dispatch(bolt_request))

    return handle


def _signed(verifier: SignatureVerifier, raw: bytes, request: web.Request) -> bool:
    """A valid signature and a fresh timestamp (a non-numeric timestamp is simply invalid)."""
    try:
        return verifier.is_valid_request(raw, dict(request.headers))
    except ValueError:
        return False
