"""The composition root: builds the database, the hub, the platforms and the HTTP app."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from hearth.bot.metrics import CONTENT_TYPE, Metrics, event_dead_letters, job_dead_letters
from hearth.bot.outbox_sender import OutboxSender
from hearth.bot.settings import Settings
from hearth.bot.slack import adapter as slack_adapter
from hearth.bot.slack.messenger import SlackMessenger
from hearth.bot.startup import check_slack_token, database_reason, upgrade_database
from hearth.bot.supervisor import Supervisor
from hearth.handlers import build_registry
from hearth.handlers.hub import Hearth
from hearth.handlers.intake import EventJournal
from hearth.handlers.ports import Clock, Messenger, SystemClock
from hearth.scheduler.runner import SchedulerRunner
from hearth.storage.db import Database
from hearth.storage.dm_channels import DmChannels

if TYPE_CHECKING:
    from hearth.bot.teams.auth import AuthenticationFactory

log = logging.getLogger(__name__)

SHUTDOWN_DRAIN_SECONDS = 20.0
HEALTH_DATABASE_SECONDS = 5.0
SENDER_STALL_SECONDS = 300.0
"""The sender beats at least every 30 s when idle; a batch of sends may take minutes."""
JOBS_STALL_SECONDS = 300.0
"""The job runner beats every 5 s when idle; a long job (a retention purge) may take minutes."""
JOURNAL_STALL_SECONDS = 300.0
"""The event journal beats every few seconds when idle; a long batch may take minutes."""

SETTINGS = web.AppKey("settings", Settings)
CLOCK = web.AppKey("clock", Clock)
DATABASE = web.AppKey("database", Database)
HUB = web.AppKey("hub", Hearth)
JOURNAL = web.AppKey("journal", EventJournal)
SENDER = web.AppKey("sender", OutboxSender)
SUPERVISOR = web.AppKey("supervisor", Supervisor)
METRICS = web.AppKey("metrics", Metrics)
SCHEDULER = web.AppKey("scheduler", SchedulerRunner)
SLACK_ROUTE = web.AppKey("slack_route", Callable[[web.Request], Awaitable[web.StreamResponse]])
TEAMS_ROUTE = web.AppKey("teams_route", Callable[[web.Request], Awaitable[web.StreamResponse]])
TEAMS_AUTHENTICATION = web.AppKey("teams_authentication", Callable)
EVENT_OUTCOMES = {"repeats": "repeat"}


def init_app(
    settings: Settings,
    clock: Clock | None = None,
    *,
    teams_authentication: AuthenticationFactory | None = None,
    supervisor: Supervisor | None = None,
) -> web.Application:
    """The aiohttp application: resources open in cleanup_ctx, in order, and close in reverse.

    `teams_authentication` replaces the public-cloud Bot Framework authentication, and
    `supervisor` the one that runs the background loops (tests).
    """
    app = web.Application()
    app[SETTINGS] = settings
    app[CLOCK] = clock or SystemClock()
    app[SUPERVISOR] = supervisor or Supervisor()
    app[METRICS] = Metrics(app[SUPERVISOR])
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
    try:
        await upgrade_database(db)
    except BaseException:
        await db.close()
        raise
    app[DATABASE] = db
    yield
    await db.close()


async def _hearth(app: web.Application) -> AsyncIterator[None]:
    settings, clock, db = app[SETTINGS], app[CLOCK], app[DATABASE]
    messengers: dict[str, Messenger] = {}
    bolt = None
    if settings.slack_enabled:
        client = AsyncWebClient(  # no retry behind the outbox's back: it would post twice
            token=settings.slack_bot_token, base_url=settings.slack_api_url, retry_handlers=[]
        )
        authorize = slack_adapter.BotAuthorize(client)
        await check_slack_token(authorize, settings.slack_api_url)  # a wrong token stops here
        messengers["slack"] = SlackMessenger(client, clock, DmChannels(db, "slack"))
        bolt = slack_adapter.bolt_app(
            AsyncWebClient(base_url=settings.slack_api_url),
            authorize,
            settings.slack_signing_secret or "socket-mode",
        )
    teams = None
    if settings.teams_enabled:
        from hearth.bot.teams.adapter import TeamsBot  # botbuilder loads only when Teams is on

        teams = TeamsBot(settings, db, clock, app.get(TEAMS_AUTHENTICATION))
        messengers["teams"] = teams.messenger
    registry = build_registry()
    sender = OutboxSender(
        db,
        messengers,
        clock,
        lease=settings.outbox_lease_seconds,
        kinds=registry.outbox_kinds,
    )
    hub = Hearth(db, registry, messengers, clock, settings.defaults(), sender.wake)
    app[HUB], app[SENDER] = hub, sender
    journal = app[JOURNAL] = EventJournal(hub)  # acknowledged events: stored, then handled
    hub.keep = journal.keep  # a click or command that fails is tried again from the journal
    if teams is not None:
        app[TEAMS_ROUTE] = teams.route(hub)
    socket_mode = None
    if bolt is not None:
        intake = slack_adapter.register(bolt, hub, clock, journal, authorize)
        if settings.slack_socket_mode:  # no HTTP route and no signing secret: Slack is dialled
            socket_mode = AsyncSocketModeHandler(bolt, settings.slack_app_token)
            await socket_mode.connect_async()
        else:
            app[SLACK_ROUTE] = slack_adapter.route(
                bolt, settings.slack_signing_secret or "", intake
            )
    jobs = app[SCHEDULER] = SchedulerRunner.for_hub(hub, before_firing=journal.stored_first)
    supervisor, metrics = app[SUPERVISOR], app[METRICS]
    supervisor.add("outbox-sender", sender, stall_after=SENDER_STALL_SECONDS)
    supervisor.add("scheduler", jobs, stall_after=JOBS_STALL_SECONDS)
    supervisor.add("event-journal", journal, stall_after=JOURNAL_STALL_SECONDS)
    metrics.count("events", hub, "Events since start-up, by outcome.", rename=EVENT_OUTCOMES)
    metrics.count("outbox_deliveries", sender, "Outbox delivery attempts since start-up.")
    metrics.count("job_runs", jobs, "Scheduled job firings since start-up, by outcome.")
    metrics.count("event_journal", journal, "Acknowledged events through the journal.")
    metrics.quantiles(
        "event_durable_seconds",
        journal.durable_seconds,
        "From taking an event (its acknowledgement) to its commit, over the last 10,000.",
    )
    metrics.dead_letters("events", event_dead_letters)
    metrics.dead_letters("jobs", job_dead_letters)
    supervisor.start()
    yield
    if socket_mode is not None:
        await socket_mode.close_async()
    await supervisor.stop_loop("event-journal")  # stores what it acknowledged; the rest waits
    await hub.drain(SHUTDOWN_DRAIN_SECONDS)  # in the journal for the next start
    await supervisor.stop()


async def _slack_events(request: web.Request) -> web.StreamResponse:
    return await request.app[SLACK_ROUTE](request)


async def _teams_messages(request: web.Request) -> web.StreamResponse:
    return await request.app[TEAMS_ROUTE](request)


async def healthz(request: web.Request) -> web.Response:
    """200 when the database answers and every background loop runs; else 503 saying why."""
    problems: dict[str, object] = {}
    try:
        async with asyncio.timeout(HEALTH_DATABASE_SECONDS):
            async with request.app[DATABASE].engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError) as error:
        problems["database"] = database_reason(error)
    except TimeoutError:
        problems["database"] = f"no answer within {HEALTH_DATABASE_SECONDS:.0f}s"
    loops = request.app[SUPERVISOR].problems()
    if loops:
        problems["loops"] = loops
    if problems:
        return web.json_response({"ok": False, **problems}, status=503)
    return web.json_response({"ok": True})


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text format (prometheus-client): events, outbox, dead letters, loops, jobs."""
    body = await request.app[METRICS].render(request.app[DATABASE], request.app[CLOCK].now())
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})
