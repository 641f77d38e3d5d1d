"""`/cop calendar`: everything scheduled in the next CALENDAR_DAYS, in the community's time."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select

from hearth.handlers.cards import Card, ContextLine, Section, typed
from hearth.handlers.commands import Args
from hearth.handlers.context import Context
from hearth.handlers.registry import Registry
from hearth.handlers.rhythm import articles, dates, digest, themes
from hearth.storage import rhythm as stored
from hearth.storage.models import Community, Poll, PollSeries

GROUP = "community rhythm"
CALENDAR_DAYS = 30
EXCERPT = 60
MAX_LINES = 25


def register(registry: Registry) -> None:
    registry.command("calendar", summary="what is scheduled in the next 30 days", group=GROUP)(
        calendar_command
    )


def _short(text: str) -> str:
    text = " ".join(text.split())
    return typed(text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…")


async def entries(
    context: Context, community: Community, start: datetime, end: datetime
) -> list[tuple[datetime, str]]:
    """(when, what) of everything scheduled in [start, end), in time order."""
    found: list[tuple[datetime, str]] = []
    zone = community.timezone
    months = []
    month = dates.month_of(dates.local(start, zone).date())
    while dates.at_local(dates.month_start(month), time(0), zone) < end:
        months.append(month)
        month = dates.next_month(month)
    every = (articles.SUGGESTED, articles.APPROVED, articles.REJECTED, articles.POSTED)
    uses_articles = bool(await stored.articles(context.session, community.id, *every))
    for month in months:
        theme = await stored.theme(context.session, community.id, month)
        if theme is not None:
            if theme.opened_at is None:
                when = max(themes.opening_time(community, month), start)
                found.append((when, f"Theme of the month opens: *{typed(theme.title)}*"))
            if theme.prompted_at is None:
                when = themes.prompt_time(community, month)
                found.append((when, f"Mid-month prompt on *{typed(theme.title)}*"))
        if uses_articles and await stored.posted_in(context.session, community.id, month) is None:
            queue = await stored.articles(context.session, community.id, articles.APPROVED)
            what = (
                f"Article of the month: {queue[0].url}"
                if queue
                else "Article of the month (nothing approved yet)"
            )
            found.append((articles.posting_time(community, month), what))
    found += await _digests(context, community, start, end)
    series = await context.session.scalars(
        select(PollSeries).where(
            PollSeries.community_id == community.id,
            PollSeries.active.is_(True),
            PollSeries.next_at >= start,
            PollSeries.next_at < end,
        )
    )
    found += [(s.next_at, f"Recurring poll: {_short(s.question)}") for s in series if s.next_at]
    closing = await context.session.scalars(
        select(Poll).where(
            Poll.community_id == community.id,
            Poll.status == "open",
            Poll.closes_at >= start,
            Poll.closes_at < end,
        )
    )
    found += [
        (p.closes_at, f"Poll #{p.id} closes: {_short(p.question)}") for p in closing if p.closes_at
    ]
    return sorted((w, t) for w, t in found if start <= w < end)


async def _digests(
    context: Context, community: Community, start: datetime, end: datetime
) -> list[tuple[datetime, str]]:
    cadence = await digest.channel_cadence(context, community)
    found = []
    zone = community.timezone
    if cadence.every != "off":
        rule = context.registry.recurring["rhythm.digest"].rule
        moment = rule.next_after(start - timedelta(seconds=1), zone)
        while moment < end:
            if digest.window(cadence.every, moment, zone, cadence.since) is not None:
                found.append((moment, f"The {cadence.every} digest"))
            moment = rule.next_after(moment, zone)
    if cadence.newsletter:
        month = dates.month_of(dates.local(start, zone).date())
        for _ in range(3):
            month = dates.next_month(month)
            when = dates.at_local(dates.working_day(month, 1), time(9), zone)
            found.append((when, "The monthly newsletter"))
    return found


async def calendar_command(context: Context, args: Args) -> None:
    community = await context.require_community()
    now = context.now()
    found = await entries(context, community, now, now + timedelta(days=CALENDAR_DAYS))
    if not found:
        context.reply_privately(Card("Nothing is scheduled in the next 30 days."))
        return
    lines = [f"• {dates.shown(when, community.timezone)}: {what}" for when, what in found]
    if len(lines) > MAX_LINES:  # a section's text stays within the platforms' limits
        lines = [*lines[:MAX_LINES], f"…and {len(lines) - MAX_LINES} more"]
    context.reply_privately(
        Card(
            f"Coming up in {typed(community.name)} (next 30 days)",
            (
                Section("\n".join(lines)),
                ContextLine(f"Times in {community.timezone}."),
            ),
        )
    )
