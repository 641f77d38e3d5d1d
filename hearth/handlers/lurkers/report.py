"""`/cop lurkers` for facilitators: who is quiet, for how long, by group, and whether nudging
helps (the figures are defined in the README, "Lurkers and nudges")."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from hearth.handlers.cards import Card, ContextLine, Section, typed
from hearth.storage import lurkers as store
from hearth.storage.models import Community, LurkerSettings

WINDOW = timedelta(days=90)
"""Nudges counted: those sent in the last 90 days."""
CONVERSION = timedelta(days=7)
"""A nudged member converted when they first posted within 7 days of a nudge."""
MAX_NAMES = 30


def shown(rate: store.Rate) -> str:
    """The rate as the report says it: "3 of 12 (25%)", or "none to count yet"."""
    if not rate.counted:
        return "none to count yet"
    return f"{rate.converted} of {rate.counted} ({round(100 * rate.converted / rate.counted)}%)"


@dataclass(frozen=True)
class Conversion:
    nudged: store.Rate
    too_soon: int
    """Members whose nudges in the window all went out in the last 7 days."""
    comparable: store.Rate


async def conversion(
    session: AsyncSession, community_id: int, days: int, now: datetime
) -> Conversion:
    """The two rates of the README, exactly, each one indexed aggregate in SQL."""
    start, closed = now - WINDOW, now - CONVERSION
    nudged = await store.nudged_rate(
        session, community_id, start=start, closed=closed, days=CONVERSION.days
    )
    comparable = await store.comparable_rate(
        session, community_id, lurk_days=days, start=start, closed=closed, days=CONVERSION.days
    )
    return Conversion(nudged.rate, nudged.too_soon, comparable)


async def report_card(
    session: AsyncSession,
    community: Community,
    settings: LurkerSettings,
    now: datetime,
) -> Card:
    """The facilitators' view (names included: only ever shown to them, privately)."""
    joined_before = now - timedelta(days=settings.days)
    edges = (now - timedelta(days=30), now - timedelta(days=90))
    groups = await store.lurker_groups(session, community.id, joined_before, edges)
    total = sum(g.count for g in groups)
    name = typed(community.name)
    if not total:
        headline = (
            f"No lurkers in {name}: everyone who joined {settings.days}+ days ago has posted."
        )
    else:
        headline = (
            f"{total} lurker{'' if total == 1 else 's'} in {name}: joined "
            f"{settings.days}+ days ago and never posted or replied."
        )
    blocks: list[Section | ContextLine] = []
    if total:
        under30 = sum(g.after[0] for g in groups)
        under90 = sum(g.after[1] for g in groups)
        bands = [
            (settings.days, 29, under30),
            (30, 89, under90 - under30),
            (90, None, total - under90),
        ]
        spans = []
        for low, high, count in bands:
            shown_low = max(low, settings.days)
            if high is not None and high < shown_low:
                continue
            label = f"{shown_low}–{high} days" if high is not None else f"{shown_low}+ days"
            spans.append(f"{label}: {count}")
        longest = (now - min(g.oldest for g in groups)).days
        blocks.append(Section(f"Quiet for: {' · '.join(spans)} (longest: {longest} days)"))
        by_group: Counter[str] = Counter()
        for group in groups:
            by_group[group.segment or ""] += group.count
        blocks.append(
            Section(
                "By group: "
                + " · ".join(
                    f"{typed(segment) if segment else 'no group chosen'} {count}"
                    for segment, count in sorted(by_group.items(), key=lambda g: (-g[1], g[0]))
                )
            )
        )
        paused = sum(g.count for g in groups if g.paused)
        named = await store.lurker_names(session, community.id, joined_before, MAX_NAMES)
        names = ", ".join(f"{typed(n)} ({(now - joined).days}d)" for n, joined in named)
        if total - paused > MAX_NAMES:
            names += f", and {total - paused - MAX_NAMES} more"
        if paused:
            names += f"{'; ' if names else ''}{paused} who paused Hearth's messages (not named)"
        blocks.append(Section(f"Who (days quiet): {names}"))
    figures = await conversion(session, community.id, settings.days, now)
    soon = (
        f"; {figures.too_soon} more nudged in the last 7 days, too soon to tell"
        if (figures.too_soon)
        else ""
    )
    blocks += [
        Section(
            "Nudged in the last 90 days, posted within 7 days of a nudge: "
            f"{shown(figures.nudged)}{soon}.\n"
            "Comparable members not (yet) nudged, posted within 7 days: "
            f"{shown(figures.comparable)}."
        ),
        ContextLine(
            f"Nudges: at most {settings.per_day} a day, two per member, 30+ days apart. "
            f"First-post celebration: {'on' if settings.celebrate else 'off'}. Only you "
            "see this."
        ),
    ]
    return Card(headline, tuple(blocks))
