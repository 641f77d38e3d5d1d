"""The digest that brings people back: built from every registered digest section, posted on
the community's cadence, by DM to those who asked, and measured (the newsletter spike).

- **Cadence.** `rhythm.digest` fires every Monday at 09:00 community time; the channel's cadence
  (`/cop digest every weekly|fortnightly|monthly|off`) says which Mondays post (fortnights count
  from when it was set; monthly: the month's first Monday), the first one after the community's
  first whole period. `rhythm.newsletter` posts the
  monthly newsletter (when added) on the month's first working day, covering the month before.
  Each post is keyed by its period: a restart or a takeover never posts twice, and a digest
  missed while Hearth was down is posted once when it is back within its period.
- **Content.** Every section of `registry.digest_sections`, in order, for the period. Nothing
  is posted when nothing happened (only sections that set the scene: `DigestSection.news` False).
- **Limits.** The card keeps to Slack's (50 blocks, 3000 characters a section) and a Teams
  card's size: SECTION_ITEMS lines a section, CARD_CHARS in all; the rest goes in the thread
  under the digest, with a "more in the thread" line.
- **DMs.** `rhythm.dm_digest` runs daily at 07:00: members whose settings ask for the digest by
  DM (daily, weekly on Mondays, monthly on the 1st) get it through the outbox, due 09:00 in
  their own zone; the send policy applies (pause, preference, quiet hours). A segment given
  its own cadence (`--segment`) gets it by DM at that cadence too.
- **The spike.** 48 hours after each channel digest, `rhythm.spike` counts members' messages in
  those 48 hours and in the same 48 hours a week before, and keeps both (`/cop digest stats`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from hearth.handlers import jobs, policy
from hearth.handlers.cards import (
    TYPED_END,
    TYPED_START,
    Actions,
    Block,
    Button,
    Card,
    ContextLine,
    Section,
    typed,
)
from hearth.handlers.commands import Args, CommandError, UsageError
from hearth.handlers.context import Context
from hearth.handlers.events import ActionClicked
from hearth.handlers.jobs import JobDue
from hearth.handlers.ports import Target
from hearth.handlers.registry import DigestPeriod, DigestSection, Registry
from hearth.handlers.rhythm import dates
from hearth.handlers.rhythm.common import follow_up, job_community
from hearth.storage import rhythm as stored
from hearth.storage.models import (
    Community,
    DigestCadence,
    DigestRun,
    Member,
    MemberSettings,
    Membership,
)

GROUP = "community rhythm"
DIGEST_AT = "monday 09:00"
NEWSLETTER_AT = "weekdays 09:00"
DM_AT = "daily 07:00"
DM_LOCAL = time(9, 0)
SPIKE = timedelta(hours=48)
CADENCES = ("weekly", "fortnightly", "monthly", "off")
SPANS = {"weekly": 7, "fortnightly": 14, "daily": 1}
SECTION_ITEMS = 5
"""Lines a section shows in the channel card; the rest go to the thread."""
LINE_CHARS = 400
SECTION_CHARS = 2000
"""Hearth's markup; the Block Kit rendering escapes it (a little longer), still under 3000."""
CARD_CHARS = 9000
"""All a card's text: a Teams activity must stay under about 28 KB, escaping and JSON included."""
MORE_BLOCKS = 40
STATS_SHOWN = 8
STOP = "rhythm.digest_stop"
EVERY_USAGE = 'weekly|fortnightly|monthly|off | newsletter [off] [--segment "<group>"]'


def register(registry: Registry) -> None:
    registry.command(
        "digest every",
        EVERY_USAGE,
        summary="how often the digest comes (or add the monthly newsletter)",
        facilitator_only=True,
        group=GROUP,
    )(every_command)
    registry.command(
        "digest preview", summary="the next digest as it stands, just for you", group=GROUP
    )(preview_command)
    registry.command(
        "digest now", summary="post the digest now", facilitator_only=True, group=GROUP
    )(now_command)
    registry.command(
        "digest stats",
        summary="activity after the last digests (the newsletter spike)",
        group=GROUP,
    )(stats_command)
    grace = timedelta(days=6, hours=23)  # a digest missed while down: posted within its week
    registry.every("rhythm.digest", DIGEST_AT, misfire_grace=grace)(digest_job)
    registry.every("rhythm.newsletter", NEWSLETTER_AT, misfire_grace=timedelta(hours=12))(
        newsletter_job
    )
    registry.every("rhythm.dm_digest", DM_AT, misfire_grace=timedelta(hours=12))(dm_digest_job)
    registry.job("rhythm.spike")(spike_job)
    registry.action(STOP)(stop_clicked)


# Building


@dataclass(frozen=True)
class Built:
    """A digest's sections (those with items), and whether anything happened in its period."""

    sections: tuple[DigestSection, ...]
    happened: bool

    @property
    def items(self) -> int:
        return sum(len(s.items) for s in self.sections)


async def build(context: Context, community: Community, start: datetime, end: datetime) -> Built:
    """Every registered section for [start, end), in order."""
    period = DigestPeriod(community.id, start, end)
    found: list[DigestSection] = []
    happened = False
    ordered = sorted(context.registry.digest_sections.items(), key=lambda kv: (kv[1][0], kv[0]))
    for _name, (_order, provider) in ordered:
        section = await provider(context, period)
        if section is None or not section.items:
            continue
        found.append(section)
        happened = happened or section.news
    return Built(tuple(found), happened)


# Rendering within the platforms' limits


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if cut.count(TYPED_START) > cut.count(TYPED_END):
        cut += TYPED_END
    return cut + "…"


def _lines(section: DigestSection) -> list[str]:
    lines = []
    for item in section.items:
        text = item.text + (f" {item.link}" if item.link else "")
        lines.append(_clip(f"• {text}", LINE_CHARS))
    return lines


def render(
    headline: str,
    built: Built,
    *,
    footer: Sequence[Block] = (),
    more_where: str = "in the thread below",
) -> tuple[Card, list[Card]]:
    """The digest card, and the cards for its thread (what did not fit), each within limits."""
    shown: list[Block] = []
    rest: list[tuple[str, list[str]]] = []
    used = len(headline)
    for section in built.sections:
        lines = _lines(section)
        title = f"*{section.title}*"
        keep: list[str] = []
        size = len(title)
        for line in lines[:SECTION_ITEMS]:
            if size + len(line) + 1 > SECTION_CHARS or used + size + len(line) > CARD_CHARS:
                break
            keep.append(line)
            size += len(line) + 1
        if keep:
            shown.append(Section("\n".join([title, *keep])))
            used += size
        if len(keep) < len(lines):
            rest.append((section.title, lines[len(keep) :]))
    more = sum(len(lines) for _, lines in rest)
    if more:
        shown.append(ContextLine(f"…and {more} more {more_where}."))
    shown.extend(footer)
    return Card(headline, tuple(shown)), _thread_cards(rest)


def _thread_cards(rest: list[tuple[str, list[str]]]) -> list[Card]:
    cards: list[Card] = []
    blocks: list[Block] = []
    used = 0

    def flush() -> None:
        nonlocal blocks, used
        if blocks:
            cards.append(Card("More from the digest", tuple(blocks)))
        blocks, used = [], 0

    for title, lines in rest:
        chunk: list[str] = [f"*{title}*"]
        size = len(chunk[0])
        for line in lines:
            if size + len(line) + 1 > SECTION_CHARS:
                if used + size > CARD_CHARS or len(blocks) >= MORE_BLOCKS:
                    flush()
                blocks.append(Section("\n".join(chunk)))
                used += size
                chunk, size = [f"*{title}* (continued)"], len(title) + 14
            chunk.append(line)
            size += len(line) + 1
        if used + size > CARD_CHARS or len(blocks) >= MORE_BLOCKS:
            flush()
        blocks.append(Section("\n".join(chunk)))
        used += size
    flush()
    return cards


def headline(community: Community, kind: str, start: datetime, end: datetime) -> str:
    name = typed(community.name)
    last = end - timedelta(hours=10)  # a Monday 09:00 digest covers the week to Sunday
    zone = community.timezone
    span = f"{dates.shown_day(start, zone)} to {dates.shown_day(last, zone)}"
    match kind:
        case "newsletter":
            month = dates.month_of(dates.local(start, community.timezone).date())
            return f"*{name} newsletter* — {dates.month_name(month)}"
        case "monthly":
            return f"*The month in {name}* — {span}"
        case "fortnightly":
            return f"*The fortnight in {name}* — {span}"
        case "weekly":
            return f"*The week in {name}* — {span}"
    return f"*What's new in {name}* — {span}"


# Posting


async def post(
    context: Context, community: Community, kind: str, start: datetime, end: datetime
) -> DigestRun | None:
    """Post the digest of [start, end) to the channel once; None when nothing happened."""
    if await stored.run_of(context.session, community.id, kind, start) is not None:
        return None
    built = await build(context, community, start, end)
    if not built.happened:
        return None
    card, more = render(headline(community, kind, start, end), built)
    key = f"digest:{community.id}:{kind}:{start.isoformat()}"
    await context.enqueue(key, "digest_post", Target("channel", community.channel), card)
    for number, extra in enumerate(more, 1):
        await follow_up(context, key, f"{key}:more{number}", "digest_post", extra)
    run = DigestRun(
        community_id=community.id,
        kind=kind,
        period_start=start,
        period_end=end,
        posted_at=context.now(),
        items=built.items,
    )
    context.session.add(run)
    await context.session.flush()
    await jobs.schedule(
        context, f"digest-spike:{run.id}", "rhythm.spike", context.now() + SPIKE, {"run": run.id}
    )
    return run


async def channel_cadence(context: Context, community: Community) -> DigestCadence:
    found = (await stored.cadences(context.session, community.id)).get("")
    return found or DigestCadence(
        community_id=community.id,
        segment="",
        every="weekly",
        newsletter=False,
        since=community.created_at,
    )


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _first_monday(month: str) -> date:
    day = dates.month_start(month)
    return day + timedelta(days=(7 - day.weekday()) % 7)


def window(
    every: str, end: datetime, zone: str, since: datetime
) -> tuple[datetime, datetime] | None:
    """The period a digest of cadence `every` ending (posted) at `end` covers, or None when
    `end` is not one of its posting times (an off week of a fortnightly digest, say)."""
    today = dates.local(end, zone).date()
    clock = dates.local(end, zone).time()
    match every:
        case "weekly":
            return dates.at_local(today - timedelta(days=7), clock, zone), end
        case "fortnightly":
            weeks = (_monday(today) - _monday(dates.local(since, zone).date())).days // 7
            if weeks % 2:
                return None
            return dates.at_local(today - timedelta(days=14), clock, zone), end
        case "monthly":
            if today != _first_monday(dates.month_of(today)):
                return None
            previous = _first_monday(dates.previous_month(dates.month_of(today)))
            return dates.at_local(previous, clock, zone), end
    return None


async def digest_job(context: Context, due: JobDue) -> None:
    community = await job_community(context, due)
    if community is None or due.period is None:
        return
    cadence = await channel_cadence(context, community)
    span = window(cadence.every, due.period, community.timezone, cadence.since)
    if span is not None and span[0] >= community.created_at:  # whole periods only
        await post(context, community, cadence.every, *span)


async def newsletter_job(context: Context, due: JobDue) -> None:
    community = await job_community(context, due)
    if community is None or due.period is None:
        return
    cadence = await channel_cadence(context, community)
    if not cadence.newsletter:
        return
    today = dates.local(due.period, community.timezone).date()
    month = dates.month_of(today)
    if today < dates.working_day(month, 1):
        return
    zone = community.timezone
    start = dates.at_local(dates.month_start(dates.previous_month(month)), time(0), zone)
    end = dates.at_local(dates.month_start(month), time(0), zone)
    await post(context, community, "newsletter", start, end)


# Commands


async def every_command(context: Context, args: Args) -> None:
    from hearth.handlers.rhythm.common import flags

    community = await context.require_community()
    words, found = flags(args, ("segment",))
    cadences = await stored.cadences(context.session, community.id)
    if not words and not found:
        context.reply_privately(Card("The digest", (Section(_describe(community, cadences)),)))
        return
    wanted = [w.lower() for w in words]
    segment = found.get("segment", "").strip()
    if segment and segment not in community.segments:
        offered = ", ".join(f"“{typed(s)}”" for s in community.segments) or "none yet"
        raise UsageError(f"“{typed(segment)}” is not one of this community's groups ({offered}).")
    row = cadences.get(segment)
    if row is None:
        row = DigestCadence(
            community_id=community.id,
            segment=segment,
            every="weekly" if not segment else "off",
            newsletter=False,
            since=context.now(),
        )
        context.session.add(row)
    match wanted:
        case [every] if every in CADENCES:
            row.every, row.since = every, context.now()
        case ["monthly", "newsletter"] | ["newsletter"] if not segment:
            row.newsletter = True
        case ["newsletter", "off"] | ["no", "newsletter"] if not segment:
            row.newsletter = False
        case _:
            raise UsageError(f"Say how often: `{context.prefix} digest every {EVERY_USAGE}`.")
    cadences[segment] = row
    context.reply_privately(Card("Done.", (Section(_describe(community, cadences)),)))


def _describe(community: Community, cadences: dict[str, DigestCadence]) -> str:
    channel = cadences.get("")
    every = channel.every if channel else "weekly"
    lines = [
        "Channel digest: "
        + ("off" if every == "off" else f"{every}, Mondays 09:00 ({community.timezone})"),
        "Monthly newsletter: "
        + ("on, the first working day of the month" if channel and channel.newsletter else "off"),
    ]
    lines += [
        f"Group “{typed(segment)}”: by DM, {row.every}"
        for segment, row in sorted(cadences.items())
        if segment and row.every != "off"
    ]
    return "\n".join(lines)


async def _next_channel(
    context: Context, community: Community
) -> tuple[str, datetime, datetime] | None:
    """The next channel digest: its kind, and its period (from its start to now, for now)."""
    cadence = await channel_cadence(context, community)
    if cadence.every == "off":
        return None
    rule = context.registry.recurring["rhythm.digest"].rule
    moment = context.now()
    for _ in range(10):
        moment = rule.next_after(moment, community.timezone)
        span = window(cadence.every, moment, community.timezone, cadence.since)
        if span is not None:
            return cadence.every, span[0], moment
    return None


async def preview_command(context: Context, args: Args) -> None:
    community = await context.require_community()
    upcoming = await _next_channel(context, community)
    if upcoming is None:
        raise CommandError(
            f"The channel digest is off; `{context.prefix} digest now` posts one anyway."
        )
    kind, start, due = upcoming
    built = await build(context, community, start, _up_to_now(context))
    when = dates.shown(due, community.timezone)
    if not built.happened:
        context.reply_privately(
            Card(
                f"Nothing has happened yet for the digest due {when}: as it stands, none is posted."
            )
        )
        return
    card, more = render(
        headline(community, kind, start, context.now()),
        built,
        footer=(ContextLine(f"Preview, just for you: the digest due {when}, as it stands now."),),
    )
    context.reply_privately(card)
    for extra in more:
        context.reply_privately(extra)


async def now_command(context: Context, args: Args) -> None:
    community = await context.require_community()
    runs = await stored.recent_runs(context.session, community.id, 1)
    floor = context.now() - timedelta(days=31)
    start = max(runs[0].period_end, floor) if runs else context.now() - timedelta(days=7)
    if start >= context.now():
        raise CommandError("A digest has just been posted; there is nothing new since.")
    run = await post(context, community, "now", start, _up_to_now(context))
    if run is None:
        since = dates.shown(start, community.timezone)
        raise CommandError(f"Nothing has happened since {since}: no digest posted.")
    context.reply_privately(
        Card(
            "Posted the digest; `/cop digest stats` will show its spike.".replace(
                "/cop", context.prefix
            )
        )
    )


def _up_to_now(context: Context) -> datetime:
    """The end of a period that takes in what happened at this very moment."""
    return context.now() + timedelta(seconds=1)


async def stats_command(context: Context, args: Args) -> None:
    community = await context.require_community()
    runs = await stored.recent_runs(context.session, community.id, STATS_SHOWN)
    if not runs:
        context.reply_privately(Card("No digest has been posted yet."))
        return
    lines = [spike_line(run, community.timezone) for run in runs]
    context.reply_privately(
        Card(
            "The newsletter spike: messages in the 48 hours after each digest",
            (
                Section("\n".join(lines)),
                ContextLine(
                    "Compared with the same 48 hours a week before (members' messages in the "
                    "channel and its threads)."
                ),
            ),
        )
    )


def spike_line(run: DigestRun, zone: str) -> str:
    when = f"{dates.shown_day(run.posted_at, zone)} ({run.kind})"
    if run.after is None or run.before is None:
        return f"• {when}: measuring until {dates.shown(run.posted_at + SPIKE, zone)}"
    if run.before == 0:
        change = "new activity" if run.after else "no change"
    else:
        percent = round((run.after - run.before) * 100 / run.before)
        change = f"{percent:+d}%"
    after = f"{run.after} message{'' if run.after == 1 else 's'}"
    return f"• {when}: {after} after, {run.before} the week before: *{change}*"


async def spike_job(context: Context, due: JobDue) -> None:
    run = await context.session.get(DigestRun, due.payload["run"])
    if run is None:
        return
    start = run.posted_at
    after = await stored.messages_between(context.session, run.community_id, start, start + SPIKE)
    week = start - timedelta(days=7)
    before = await stored.messages_between(context.session, run.community_id, week, week + SPIKE)
    await stored.record_spike(context.session, run.id, after, before)


# By DM


async def dm_digest_job(context: Context, due: JobDue) -> None:
    community = await job_community(context, due)
    if community is None or due.period is None:
        return
    zone = community.timezone
    today = dates.local(due.period, zone).date()
    cadences = await stored.cadences(context.session, community.id)
    rows = await context.session.execute(
        select(Member, MemberSettings)
        .join(Membership, Membership.member_id == Member.id)
        .outerjoin(MemberSettings, MemberSettings.member_id == Member.id)
        .where(
            Membership.community_id == community.id,
            Membership.left_at.is_(None),
            Member.is_bot.is_(False),
        )
        .where(
            MemberSettings.member_id.is_not(None)
            | Member.segment.in_([s for s, c in cadences.items() if s and c.every != "off"])
        )
        .order_by(Member.id)
    )
    built: dict[tuple[datetime, datetime], Built] = {}
    for member, settings in rows:
        chosen = policy.choices(member, settings, zone)
        own = chosen.digest if chosen.dms.get("digests") else None
        segment = cadences.get(member.segment or "") if member.segment else None
        frequency = own or (segment.every if segment and segment.every != "off" else None)
        if frequency is None or (
            own is None and settings is not None and settings.dms.get("digests") is False
        ):
            continue
        span = _dm_window(
            frequency, today, due.period, zone, segment.since if segment else due.period
        )
        if span is None:
            continue
        if span not in built:
            built[span] = await build(context, community, *span)
        if not built[span].happened:
            continue
        kind = "digest" if own else "group_digest"
        await _send_dm(context, community, member, chosen.zone, kind, frequency, span, built[span])


def _dm_window(
    frequency: str, today: date, moment: datetime, zone: str, since: datetime
) -> tuple[datetime, datetime] | None:
    clock = dates.local(moment, zone).time()
    match frequency:
        case "daily":
            return dates.at_local(today - timedelta(days=1), clock, zone), moment
        case "weekly" if today.weekday() == 0:
            return dates.at_local(today - timedelta(days=7), clock, zone), moment
        case "fortnightly" if today.weekday() == 0:
            weeks = (_monday(today) - _monday(dates.local(since, zone).date())).days // 7
            return (
                None
                if weeks % 2
                else (dates.at_local(today - timedelta(days=14), clock, zone), moment)
            )
        case "monthly" if today.day == 1:
            previous = dates.month_start(dates.previous_month(dates.month_of(today)))
            return dates.at_local(previous, clock, zone), moment
    return None


async def _send_dm(
    context: Context,
    community: Community,
    member: Member,
    zone: str,
    kind: str,
    frequency: str,
    span: tuple[datetime, datetime],
    built: Built,
) -> None:
    due = dates.at_local(dates.local(span[1], zone).date(), DM_LOCAL, zone)
    footer = (
        ContextLine(
            f"Your {frequency} digest of {typed(community.name)} by direct message, as your "
            "settings (or your group's) say. Change how often, or stop it, in your settings."
        ),
        Actions(
            (Button("Settings", "settings.open"),)
            + ((Button("Stop these digests", STOP),) if kind == "group_digest" else ())
        ),
    )
    card, _ = render(
        headline(community, frequency, *span),
        built,
        footer=footer,
        more_where=f"in the channel (`{context.prefix} digest preview` shows it all)",
    )
    key = f"digest-dm:{community.id}:{member.id}:{span[1].isoformat()}"
    await context.enqueue(
        key,
        kind,
        Target("dm", member.user_id),
        card,
        due_at=max(due, context.now()),
        member=member,
    )


async def stop_clicked(context: Context, event: ActionClicked) -> None:
    """No more digests by DM, whatever the member's group gets (their settings turn it on)."""
    member = await context.member()
    stored = await context.session.get(MemberSettings, member.id)
    if stored is None:
        stored = MemberSettings(member_id=member.id, dms={}, updated_at=context.now())
        context.session.add(stored)
    stored.dms = {**stored.dms, "digests": False}
    stored.updated_at = context.now()
    context.reply_privately(
        Card(
            "Done: no more digests by direct message. "
            f"`{context.prefix} settings` turns them back on."
        )
    )
