"""Retention: the text of stored messages goes once it is older than the limit.

The limit is the shorter of the server's (HEARTH_MESSAGE_RETENTION_DAYS; unset: no limit) and
the community's own (`/cop retention <days>`). A purge sets `text` to NULL and `purged_at`, and
keeps the row (community, author, message and thread ids, times, bot flag) for the counts that
digests, lurker sweeps and analytics need. It runs daily at PURGE_AT (UTC) as a due job per
platform (`schedule_purges`, at start-up), and at once for a community whose limit is set.
Handled-event ids, needed only to drop platform retries, go after EVENT_IDS_KEPT.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hearth.handlers import audit, jobs
from hearth.handlers.cards import Card, ContextLine
from hearth.handlers.commands import Args, UsageError, number
from hearth.handlers.context import Context
from hearth.handlers.hub import Hearth
from hearth.handlers.jobs import JobDue
from hearth.handlers.registry import Registry
from hearth.storage import jobs as stored_jobs
from hearth.storage.models import Community, InboundEvent, Message

JOB = "retention.purge"
PURGE_AT = time(3, 0)
MAX_DAYS = 3650
EVENT_IDS_KEPT = timedelta(days=7)
"""Slack retries within minutes, Teams repeats within seconds: a week is ample."""


def register(registry: Registry) -> None:
    registry.command(
        "retention",
        "[<days> | off]",
        summary="how long the text of messages here is kept",
        facilitator_only=True,
        audited=False,  # a change is recorded below; looking is not
        group="members and privacy",
    )(retention_command)
    registry.job(JOB)(purge_job)


def effective_days(server: int | None, community: int | None) -> int | None:
    """The limit that applies: the shorter of the two (None: keep)."""
    limits = [d for d in (server, community) if d is not None]
    return min(limits) if limits else None


async def purge(
    session: AsyncSession, community: Community, server: int | None, now: datetime
) -> int:
    """Remove the text of the community's messages older than its limit; how many lost it."""
    days = effective_days(server, community.retention_days)
    if days is None:
        return 0
    result = await session.execute(
        update(Message)
        .where(
            Message.community_id == community.id,
            Message.posted_at < now - timedelta(days=days),
            Message.text.is_not(None),
        )
        .values(text=None, purged_at=now)
    )
    return result.rowcount


def next_run(now: datetime) -> datetime:
    """The next PURGE_AT (UTC) strictly after `now`."""
    today = datetime.combine(now.astimezone(UTC).date(), PURGE_AT, UTC)
    return today if today > now else today + timedelta(days=1)


def job_key(platform: str, due: datetime) -> str:
    return f"retention:{platform}:{due.date().isoformat()}"


async def schedule_purges(hub: Hearth) -> None:
    """Make sure each platform's daily purge is waiting (at start-up; idempotent)."""
    now = hub.clock.now()
    due = next_run(now)
    async with hub.db.transaction() as session:
        for platform in hub.messengers:
            await stored_jobs.schedule(
                session,
                key=job_key(platform, due),
                kind=JOB,
                platform=platform,
                workspace="",
                channel="",
                payload={},
                due_at=due,
                now=now,
            )


async def purge_job(context: Context, job: JobDue) -> None:
    """The daily purge of one platform's communities; schedules the next."""
    session, now = context.session, context.now()
    for community in await session.scalars(
        select(Community).where(Community.platform == job.platform).order_by(Community.id)
    ):
        await purge(session, community, context.defaults.retention_days, now)
    await session.execute(
        delete(InboundEvent).where(
            InboundEvent.platform == job.platform, InboundEvent.received_at < now - EVENT_IDS_KEPT
        )
    )
    due = next_run(now)
    await jobs.schedule(context, job_key(job.platform, due), JOB, due, {}, channel="")


async def retention_command(context: Context, args: Args) -> None:
    """`retention` shows the limit; `retention 30` sets it; `retention off` clears it."""
    community = await context.require_community()
    server = context.defaults.retention_days
    text = " ".join(args.tokens).lower()
    if not text:
        context.reply_privately(Card(_describe(community, server)))
        return
    days = None if text == "off" else number(re.sub(r"\s*(days?|d)$", "", text), MAX_DAYS)
    if text != "off" and not days:
        raise UsageError(f"Give a number of days from 1 to {MAX_DAYS}, or `off`.")
    if days == community.retention_days:
        context.reply_privately(Card(f"No change: {_describe(community, server)}"))
        return
    community.retention_days = days
    await audit.record(context, community, "retention", str(days) if days else "off")
    purged = await purge(context.session, community, server, context.now())
    due = next_run(context.now())
    await jobs.schedule(context, job_key(community.platform, due), JOB, due, {}, channel="")
    notes = []
    if purged:
        notes.append(f"{purged} older message{'' if purged == 1 else 's'} just lost their text.")
    if effective_days(server, days) is not None:
        notes.append("The messages' rows stay (author, thread, time) for the community's counts.")
    blocks = (ContextLine(" ".join(notes)),) if notes else ()
    context.reply_privately(Card(_describe(community, server), blocks))


def _describe(community: Community, server: int | None) -> str:
    days = effective_days(server, community.retention_days)
    if days is None:
        return f"{community.name} keeps the text of its messages with no time limit."
    unit = "day" if days == 1 else "days"
    text = f"{community.name} keeps the text of its messages for {days} {unit}"
    if server is not None and days == server and community.retention_days != server:
        text += " (the server's limit"
        text += (
            f"; this community asked for {community.retention_days})"
            if community.retention_days
            else ")"
        )
    return text + "."
