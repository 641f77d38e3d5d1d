"""Themes of the month: planned by facilitators, opened on the month's first working day at
10:00 community time, prompted once mid-month unless the channel is already busy with it.

The job `rhythm.theme` fires every weekday at THEME_AT in each community's zone (one firing per
(job, day), recorded by the scheduler); it opens the month's theme on or after the first
working day if it is not open yet, and prompts on or after MID_MONTH if it has not been. So a
restart never opens a theme twice, an opening missed while Hearth was down happens when it is
back within the month, and a prompt missed past its month is skipped (the next month's firing
looks at the next month's theme).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import select

from hearth.handlers.cards import Card, ContextLine, Section, typed
from hearth.handlers.commands import Args, CommandError, UsageError
from hearth.handlers.context import Context
from hearth.handlers.jobs import JobDue
from hearth.handlers.ports import Target
from hearth.handlers.registry import DigestItem, DigestPeriod, Registry
from hearth.handlers.rhythm import dates
from hearth.handlers.rhythm.common import flags, job_community
from hearth.storage import rhythm as stored
from hearth.storage.models import Community, OutboxMessage, Theme

GROUP = "community rhythm"
THEME_AT = "weekdays 10:00"
OPEN_AT = "10:00"
MID_MONTH = 15
BUSY_PARTICIPANTS = 3
"""The opening post's thread with this many people in it lately: the channel is on it already."""
BUSY_WINDOW = timedelta(days=4)
MAX_TITLE = 120
MAX_BLURB = 600
ADD_USAGE = '"<title>" --month YYYY-MM [--blurb "…"]'


def register(registry: Registry) -> None:
    registry.command(
        "theme add", ADD_USAGE, summary="plan a month's theme", facilitator_only=True, group=GROUP
    )(add_command)
    registry.command(
        "theme edit",
        'YYYY-MM [--title "…"] [--blurb "…"]',
        summary="change a month's theme",
        facilitator_only=True,
        group=GROUP,
    )(edit_command)
    registry.command(
        "theme remove",
        "YYYY-MM",
        summary="drop a month's theme",
        facilitator_only=True,
        group=GROUP,
    )(remove_command)
    registry.command("theme list", summary="this month's theme and the ones planned", group=GROUP)(
        list_command
    )
    registry.every("rhythm.theme", THEME_AT, misfire_grace=timedelta(hours=12))(theme_job)
    registry.highlight("theme")(current_line)


def opening_key(community_id: int, month: str) -> str:
    return f"theme:{community_id}:{month}:open"


def _title(text: str) -> str:
    text = " ".join(text.split())
    if not text:
        raise UsageError("The theme needs a title.")
    if len(text) > MAX_TITLE:
        raise UsageError(f"Keep the title under {MAX_TITLE} characters.")
    return text


def _blurb(text: str) -> str:
    if len(text) > MAX_BLURB:
        raise UsageError(f"Keep the blurb under {MAX_BLURB} characters.")
    return text.strip()


async def add_command(context: Context, args: Args) -> None:
    community = await context.require_community()
    words, found = flags(args, ("month", "blurb"))
    if len(words) != 1 or "month" not in found:
        raise UsageError("Give the title in quotes and --month.")
    month = dates.parse_month(found["month"])
    if month < dates.month_of(dates.local(context.now(), community.timezone).date()):
        raise CommandError(f"{dates.month_name(month)} is over; plan this month or a later one.")
    if await stored.theme(context.session, community.id, month) is not None:
        raise CommandError(
            f"{dates.month_name(month)} already has a theme; "
            f"`{context.prefix} theme edit {month}` changes it."
        )
    member = await context.member()
    theme = Theme(
        community_id=community.id,
        month=month,
        title=_title(words[0]),
        blurb=_blurb(found.get("blurb", "")),
        created_by=member.id,
        created_at=context.now(),
    )
    context.session.add(theme)
    opens = opening_time(community, month)
    when = (
        f"It opens {dates.shown(opens, community.timezone)}."
        if opens > context.now()
        else "It opens at the next 10:00 on a working day."
    )
    context.reply_privately(
        Card(f"Theme for {dates.month_name(month)}: *{typed(theme.title)}*. {when}")
    )


async def _theme(
    context: Context, community: Community, args: Args
) -> tuple[Theme, list[str], dict[str, str]]:
    words, found = flags(args, ("title", "blurb"))
    if len(words) != 1:
        raise UsageError("Say which month, like 2027-01.")
    month = dates.parse_month(words[0])
    theme = await stored.theme(context.session, community.id, month)
    if theme is None:
        raise CommandError(f"{dates.month_name(month)} has no theme.")
    return theme, words, found


async def edit_command(context: Context, args: Args) -> None:
    community = await context.require_community()
    theme, _, found = await _theme(context, community, args)
    if not found:
        raise UsageError("Give --title or --blurb (or both).")
    if "title" in found:
        theme.title = _title(found["title"])
    if "blurb" in found:
        theme.blurb = _blurb(found["blurb"])
    note = " (it is already open: the change shows from now on)" if theme.opened_at else ""
    context.reply_privately(
        Card(f"Theme for {dates.month_name(theme.month)}: *{typed(theme.title)}*{note}.")
    )


async def remove_command(context: Context, args: Args) -> None:
    community = await context.require_community()
    theme, _, found = await _theme(context, community, args)
    if found:
        raise UsageError("`theme remove` takes just the month.")
    await context.session.delete(theme)
    context.reply_privately(Card(f"Removed the theme for {dates.month_name(theme.month)}."))


async def list_command(context: Context, args: Args) -> None:
    community = await context.require_community()
    month = dates.month_of(dates.local(context.now(), community.timezone).date())
    planned = await stored.themes(context.session, community.id, since=month)
    if not planned:
        context.reply_privately(
            Card(
                "No themes planned yet.",
                (ContextLine(f"Facilitators: `{context.prefix} theme add {ADD_USAGE}`"),),
            )
        )
        return
    lines = []
    for theme in planned:
        if theme.opened_at is not None:
            state = "open"
        else:
            state = "opens " + dates.shown(opening_time(community, theme.month), community.timezone)
        blurb = f" — {typed(theme.blurb)}" if theme.blurb else ""
        lines.append(f"• {theme.month}: *{typed(theme.title)}* ({state}){blurb}")
    context.reply_privately(Card("Themes of the month", (Section("\n".join(lines)),)))


def opening_time(community: Community, month: str) -> datetime:
    day = dates.working_day(month, 1)
    return dates.at_local(day, datetime.strptime(OPEN_AT, "%H:%M").time(), community.timezone)


def prompt_time(community: Community, month: str) -> datetime:
    day = dates.working_day_from(dates.month_start(month).replace(day=MID_MONTH))
    return dates.at_local(day, datetime.strptime(OPEN_AT, "%H:%M").time(), community.timezone)


# The job


async def theme_job(context: Context, due: JobDue) -> None:
    community = await job_community(context, due)
    if community is None or due.period is None:
        return
    today = dates.local(due.period, community.timezone).date()
    month = dates.month_of(today)
    theme = await stored.theme(context.session, community.id, month)
    if theme is None:
        return
    if theme.opened_at is None:
        if today >= dates.working_day(month, 1):
            await _open(context, community, theme)
        return
    if theme.prompted_at is None and due.period >= prompt_time(community, month):
        await _prompt(context, community, theme)


async def _open(context: Context, community: Community, theme: Theme) -> None:
    blocks = [Section(typed(theme.blurb))] if theme.blurb else []
    blocks += [
        Section(
            "Share a story or a question about it in this thread: what has worked for you, "
            "what hasn't, what you are wondering about. Every experience counts."
        ),
        ContextLine(f"Theme of {dates.month_name(theme.month)} · `{context.prefix} theme list`"),
    ]
    card = Card(f"This month's theme: *{typed(theme.title)}*", tuple(blocks))
    await context.enqueue(
        opening_key(community.id, theme.month), "theme", Target("channel", community.channel), card
    )
    theme.opened_at = context.now()


async def opening_message(context: Context, community: Community, month: str) -> str | None:
    """The platform id of the month's opening post, once it has landed."""
    return await context.session.scalar(
        select(OutboxMessage.sent_message_id).where(
            OutboxMessage.key == opening_key(community.id, month)
        )
    )


async def _prompt(context: Context, community: Community, theme: Theme) -> None:
    theme.prompted_at = context.now()
    opening = await opening_message(context, community, theme.month)
    if opening is not None:
        thread = await stored.thread(context.session, community.id, opening)
        if (
            thread is not None
            and thread.participants >= BUSY_PARTICIPANTS
            and thread.last_at >= context.now() - BUSY_WINDOW
        ):
            theme.prompt_note = "busy"  # the channel is on it already: no need to prompt
            return
    theme.prompt_note = "prompted"
    start = dates.at_local(dates.month_start(theme.month), datetime.min.time(), community.timezone)
    pointer = await _liveliest_on(context, community, theme, start, opening)
    title = typed(theme.title)
    if pointer is not None:
        text, people = pointer
        blocks = (
            Section(
                f"Halfway through our month on *{title}*. The liveliest conversation on it so "
                f"far: “{text}” ({people} people). Join in, or start your own thread."
            ),
        )
    else:
        blocks = (
            Section(
                f"Halfway through our month on *{title}*: what is one thing that has worked "
                "for you, or one question you still have? Reply in the thread."
            ),
        )
    card = Card(f"Mid-month on *{title}*", blocks)
    key = f"theme:{community.id}:{theme.month}:prompt"
    await context.enqueue(key, "theme", Target("channel", community.channel), card)


def _words(title: str) -> set[str]:
    return {w for w in re.findall(r"\w+", title.lower()) if len(w) >= 4}


async def _liveliest_on(
    context: Context, community: Community, theme: Theme, start: datetime, opening: str | None
) -> tuple[str, int] | None:
    """The month's liveliest thread about the theme (its opening words name it)."""
    wanted = _words(theme.title)
    threads = await stored.liveliest(context.session, community.id, start, context.now(), 20)
    for thread, text in threads:
        if thread.thread_id == opening or not text:
            continue
        if wanted & set(re.findall(r"\w+", text.lower())):
            shown = text if len(text) <= 80 else text[:79] + "…"
            return typed(shown), thread.participants
    return None


# What others read


async def current_line(context: Context, community_id: int, now: datetime) -> str | None:
    """The month's theme, for nudges and the digest."""
    community = await context.session.get(Community, community_id)
    if community is None:
        return None
    month = dates.month_of(dates.local(now, community.timezone).date())
    theme = await stored.theme(context.session, community_id, month)
    return f"This month's theme: *{typed(theme.title)}*" if theme else None


async def month_items(context: Context, period: DigestPeriod) -> list[DigestItem]:
    line = await current_line(context, period.community_id, period.end)
    return [DigestItem(line)] if line else []
