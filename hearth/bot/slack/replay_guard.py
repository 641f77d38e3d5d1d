"""Signed Slack commands, clicks and form submissions run once, whoever replays them."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from sqlalchemy.exc import SQLAlchemyError

from hearth.bot.slack import payloads
from hearth.storage import replays
from hearth.storage.db import Database

log = logging.getLogger(__name__)

GUARDED = (payloads.SlashCommand, payloads.BlockActions, payloads.ViewSubmission)
"""Payloads run at most once per signed request."""
WINDOW_SECONDS = 5 * 60 + 60
"""Slack's signing window (slack_sdk refuses timestamps 5 minutes off), and a minute more."""


class ReplayGuard(AsyncMiddleware):
    """Bolt middleware that runs a signed command, click or form submission once.

    Its signature and timestamp are recorded before it runs (in the database, so replicas
    share them); the same pair again is answered 200 and not run. Slack never delivers these
    again by itself, so a pair seen twice is a replay. Requests without a signature (Socket
    Mode) and Events API events (run once by their event id in the hub) pass through.
    """

    def __init__(self, db: Database, now: Callable[[], float], command: str) -> None:
        self.db = db
        self.now = now
        self.command = command

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],  # bolt calls it by this name
    ) -> BoltResponse | None:
        signature = req.headers.get("x-slack-signature", [None])[0]
        stamp = req.headers.get("x-slack-request-timestamp", [None])[0]
        payload = req.context.get(payloads.CONTEXT_KEY)
        if not signature or not stamp or not isinstance(payload, GUARDED):
            return await next()
        if isinstance(payload, payloads.SlashCommand) and payload.command != self.command:
            return await next()  # not Hearth's: no listener runs it
        timestamp = int(stamp)  # `route` has checked the signature over it: a number
        try:
            async with self.db.transaction() as session:
                oldest = int(self.now()) - WINDOW_SECONDS
                fresh = await replays.first_sight(session, signature, timestamp, oldest)
        except (SQLAlchemyError, OSError) as error:
            log.warning("could not check a Slack request for replay: %s", error)
            return BoltResponse(status=503, body={"error": "try again shortly"})
        if not fresh:
            log.info("answered a replayed Slack request without running it")
            return BoltResponse(status=200, body="")
        return await next()
