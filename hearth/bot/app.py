"""The composition root: builds the database, the hub, the platforms and the HTTP app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from hearth.bot.outbox_sender import OutboxSender
from hearth.bot.settings import Settings
from hearth.bot.slack import adapter as slack_adapter
from hearth.bot.slack.messenger import SlackMessenger
from hearth.handlers import build_registry, retention
from hearth.handlers.hub import Hearth
from hearth.handlers.intake import EventJournal
from hearth.handlers.jobs import JobRunner
from hearth.handlers.ports import Clock, Messenger, SystemClock
from hearth.storage import migrate, outbox
from hearth.storage.db import Database

if TYPE_CHECKING:
    from hearth.bot.teams.auth import AuthenticationFactory

log = logging.getLogger(__name__)

SHUTDOWN_DRAIN_SECONDS = 20.0

SETTINGS = web.AppKey("settings", Settings)
CLOCK = web.AppKey("clock", Clock)
DATABASE = web.AppKey("database", Database)
HUB = web.AppKey("hub", Hearth)
JOURNAL = web.AppKey("journal", EventJournal)
SENDER = web.AppKey("sender", OutboxSender)
SLACK_ROUTE = web.AppKey("slack_route", Callable[[web.Request], Awaitable[web.StreamResponse]])
TEAMS_ROUTE = web.AppKey("teams_route", Callable[[web.Request], Awaitable[web.StreamResponse]])
TEAMS_AUTHENTICATION = web.AppKey("teams_authentication", Callable)


def init_app(
    settings: Settings,
    clock: Clock | None = None,
    *,
    teams_authentication: AuthenticationFactory | None = None,
) -> web.Application:
    """The aiohttp application: resources open in cleanup_ctx, in order, and close in reverse.

    `teams_authentication` replaces the public-cloud Bot Framework authentication (tests).
    """
    app = web.Application()
    app[SETTINGS] = settings
    app[CLOCK] = clock or SystemClock()
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_hearth)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    if settings.slack_enabled and not settings.slack_socket_mode:
        app.router.add_post("/slack/events", _slack_events)
    if settings.teams_enabled:
        if teams_authentication is not None:
            app[TEAMS_AUTHENTICATION] = teams_authentication
        app.router.add_post("/api/messages", _teams_messages)
    return app


async def _database(app: web.Application) -> AsyncIterator[None]:
    db = Database(app[SETTINGS].database_url)
    await migrate.upgrade(db)
    app[DATABASE] = db
    yield
    await db.close()


async def _hearth(app: web.Application) -> AsyncIterator[None]:
    settings, clock, db = app[SETTINGS], app[CLOCK], app[DATABASE]
    messengers: dict[str, Messenger] = {}
    bolt = None
    if settings.slack_enabled:
        client = AsyncWebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url)
        messengers["slack"] = SlackMessenger(client)
        bolt = slack_adapter.bolt_app(
            AsyncWebClient(base_url=settings.slack_api_url),
            slack_adapter.BotAuthorize(client),
            settings.slack_signing_secret or "socket-mode",
        )
    teams = None
    if settings.teams_enabled:
        from hearth.bot.teams.adapter import TeamsBot  # botbuilder loads only when Teams is on

        teams = TeamsBot(settings, db, clock, app.get(TEAMS_AUTHENTICATION))
        messengers["teams"] = teams.messenger
    sender = OutboxSender(db, messengers, clock)
    hub = Hearth(db, build_registry(), messengers, clock, settings.defaults(), sender.wake)
    app[HUB], app[SENDER] = hub, sender
    journal = app[JOURNAL] = EventJournal(hub)  # acknowledged events: stored, then handled
    hub.keep = journal.keep  # a click or command that fails is tried again from the journal
    handling = asyncio.create_task(journal.run(), name="event-journal")
    if teams is not None:
        app[TEAMS_ROUTE] = teams.route(hub)
    socket_mode = None
    if bolt is not None:
        slack_adapter.register(bolt, hub, clock, journal)
        if settings.slack_socket_mode:  # no HTTP route and no signing secret: Slack is dialled
            socket_mode = AsyncSocketModeHandler(bolt, settings.slack_app_token)
            await socket_mode.connect_async()
        else:
            app[SLACK_ROUTE] = slack_adapter.route(bolt, settings.slack_signing_secret or "")
    delivering = asyncio.create_task(sender.run(), name="outbox-sender")
    await retention.schedule_purges(hub)
    jobs = JobRunner(hub)
    running_jobs = asyncio.create_task(jobs.run(), name="due-jobs")
    yield
    if socket_mode is not None:
        await socket_mode.close_async()
    journal.stop()  # what it has not handled stays in the journal for the next start
    await handling
    await hub.drain(SHUTDOWN_DRAIN_SECONDS)
    jobs.stop()
    sender.stop()
    await running_jobs
    with contextlib.suppress(asyncio.CancelledError):
        await delivering


async def _slack_events(request: web.Request) -> web.StreamResponse:
    return await request.app[SLACK_ROUTE](request)


async def _teams_messages(request: web.Request) -> web.StreamResponse:
    return await request.app[TEAMS_ROUTE](request)


async def healthz(request: web.Request) -> web.Response:
    """200 when the database answers, 503 when it does not."""
    try:
        async with request.app[DATABASE].engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError) as error:
        return web.json_response({"ok": False, "database": str(error)}, status=503)
    return web.json_response({"ok": True})


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text format: events by outcome since start-up, outbox messages by status."""
    counts = request.app[HUB].counts
    async with request.app[DATABASE].transaction() as session:
        statuses = await outbox.count_by_status(session)
    lines = [
        "# HELP hearth_events_total Events since start-up, by outcome.",
        "# TYPE hearth_events_total counter",
        f'hearth_events_total{{outcome="handled"}} {counts.handled}',
        f'hearth_events_total{{outcome="repeat"}} {counts.repeats}',
        f'hearth_events_total{{outcome="failed"}} {counts.failed}',
        f'hearth_events_total{{outcome="refused"}} {request.app[JOURNAL].counts.refused}',
        "# HELP hearth_outbox_messages Outbox messages by status.",
        "# TYPE hearth_outbox_messages gauge",
        *(f'hearth_outbox_messages{{status="{s}"}} {n}' for s, n in sorted(statuses.items())),
    ]
    return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")
