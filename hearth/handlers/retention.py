"""Retention: the text of stored messages goes once it is older than the limit.

The limit is the shorter of the server's (HEARTH_MESSAGE_RETENTION_DAYS; unset: no limit) and
the community's own (`/cop retention <days>`). A purge sets `text` to NULL and `purged_at`, and
keeps the row (community, author, message and thread ids, times, bot flag) for the counts that
digests, lurker sweeps and analytics need. It runs daily at PURGE_AT in each community's time
zone (a recurring job of each community with a limit), and at once for a community whose limit
is set. Handled-event ids, needed only to drop platform retries, go after EVENT_IDS_KEPT, and the
scheduler's record of firings after FIRINGS_KEPT (a daily job per platform).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from hearth.handlers import audit
from hearth.handlers.cards import Card, ContextLine, typed
from hearth.handlers.commands import Args, UsageError, number
from hearth.handlers.context import Context, Defaults
from hearth.handlers.jobs import JobDue
from hearth.handlers.registry import Registry
from hearth.storage import firings
from hearth.storage.models import Community, InboundEvent, Message

PURGE_AT = "daily 03:00"
PRUNE_AT = "daily 03:30"
MAX_DAYS = 3650
EVENT_IDS_KEPT = timedelta(days=7)
"""Slack retries within minutes, Teams repeats within seconds: a week is ample."""
FIRINGS_KEPT = timedelta(days=90)


def register(registry: Registry) -> None:
    registry.command(
        "retention",
        "[<days> | off]",
        summary="how long the text of messages here is kept",
        facilitator_only=True,
        audited=False,  # a change is recorded below; looking is not
        group="members and privacy",
    )(retention_command)
    # A purge missed while Hearth was down is made up once that day; the next one is soon.
    registry.every(
        "retention.purge", PURGE_AT, applies=has_limit, misfire_grace=timedelta(hours=20)
    )(purge_job)
    registry.every("retention.prune", PRUNE_AT, per="platform", misfire_grace=None)(prune_job)


def has_limit(community: Community, defaults: Defaults) -> bool:
    """Whether a community's messages have a retention limit (its purge job exists)."""
    return effective_days(defaults.retention_days, community.retention_days) is not None


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


async def purge_job(context: Context, job: JobDue) -> None:
    """A community's daily purge."""
    community = await context.session.get(Community, int(job.payload["community"]))
    if community is not None:
        await purge(context.session, community, context.defaults.retention_days, context.now())


async def prune_job(context: Context, job: JobDue) -> None:
    """Each day, per platform: handled-event ids and old records of job firings go."""
    now = context.now()
    await context.session.execute(
        delete(InboundEvent).where(
            InboundEvent.platform == job.platform, InboundEvent.received_at < now - EVENT_IDS_KEPT
        )
    )
    await firings.prune(context.session, now - FIRINGS_KEPT)


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
        return f"{typed(community.name)} keeps the text of its messages with no time limit."
    unit = "day" if days == 1 else "days"
    text = f"{typed(community.name)} keeps the text of its messages for {days} {unit}"
    if server is not None and days == server and community.retention_days != server:
        text += " (the server's limit"
        text += (
            f"; this community asked for {community.retention_days})"
            if community.retention_days
            else ")"
        )
    return text + "."
