"""The daily sweep and the nudge: a warm DM to a quiet member, and what its buttons do.

A nudge is scheduled by the sweep (one recurring job per community) as a `nudges` row and an
outbox DM under the same key, `nudge:<community>:<member>:<number>`, in one transaction: a sweep
that is interrupted rolls back whole, and one run again finds the row and schedules nothing.
The DM is due at the member's next moment inside their working hours (Mon-Fri 09:00-17:00 in
their zone when they set none) and outside their quiet hours; a member whose next such moment is
more than a day away waits for a later sweep. The outbox sender applies the one send policy when
it is due (opt-outs, quiet hours, the weekly cap shared with expert requests). A member who posts
before it goes out has it withdrawn (see firsts.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update

from hearth.handlers import policy
from hearth.handlers.cards import Actions, Button, Card, ContextLine, Field, Form, Section, typed
from hearth.handlers.commands import CommandError, number, visible
from hearth.handlers.context import Context
from hearth.handlers.events import ActionClicked, FormSubmitted
from hearth.handlers.forms import read
from hearth.handlers.hours import WEEKDAYS, Hours, next_allowed
from hearth.handlers.jobs import JobDue
from hearth.handlers.ports import Target
from hearth.handlers.templates import Template, TemplateError
from hearth.storage import lurkers as store
from hearth.storage import outbox
from hearth.storage.db import insert_ignore
from hearth.storage.models import (
    Community,
    Member,
    MemberSettings,
    Membership,
    Nudge,
    OutboxMessage,
)

ASK_ACTION = "questions.ask"
"""The questions feature's "ask a question" form (with its "ask anonymously" choice); the
button's value is the community's id, as a DM has no community of its own."""
INTRO_FORM = "lurkers.intro"
MAX_NUDGES = 2
SPACING = timedelta(days=30)
"""Between a member's first nudge going out and their second."""
LOOKAHEAD = timedelta(days=1)
"""A member is nudged by today's sweep only if their next allowed moment is within this."""
DEFAULT_WORKING = Hours(
    datetime.strptime("09:00", "%H:%M").time(), datetime.strptime("17:00", "%H:%M").time(), WEEKDAYS
)
"""Working hours assumed for a member who set none (in their own time zone)."""
BATCH = 200
MAX_SCANNED = 2000
"""Candidates one sweep looks at, at most (those whose hours do not allow today wait)."""
LIVELY_WINDOW = timedelta(days=7)
MAX_INTRO = 1000

DEFAULT_TEMPLATE = (
    "Hi {name}, it's good to have you in {community} 👋\n"
    "We haven't heard from you yet, and that's fine: people learn a lot just by reading. But if "
    "something in your work has you wondering, ask! No question is too small — someone here has "
    "wondered the same, and people are glad to help. Or simply say hello and tell us what you "
    "work on.\n"
    "— {facilitators}"
)
PLACEHOLDERS = ("name", "community", "purpose", "facilitators")
NO_PURPOSE = "sharing practice and learning from each other"


def template_of(text: str | None) -> Template:
    """The community's nudge template (the standard one when none is set or it is unusable)."""
    try:
        return Template.parse(text or DEFAULT_TEMPLATE, PLACEHOLDERS)
    except TemplateError:
        return Template.parse(DEFAULT_TEMPLATE, PLACEHOLDERS)


async def highlight(context: Context, community: Community, now: datetime) -> str | None:
    """The first "what's on now" line a feature offers, else the recent lively thread."""
    for provider in context.registry.highlights.values():
        line = await provider(context, community.id, now)
        if line:
            return line
    lively = await store.lively_thread(context.session, community.id, now - LIVELY_WINDOW)
    if lively is None:
        return None
    text, replies = lively
    first = " ".join(text.split())
    snippet = first if len(first) <= 90 else first[:89] + "…"
    where = typed(community.name)
    return f"A lively thread in {where} right now ({replies} replies): “{typed(snippet)}”"


async def nudge_card(
    context: Context,
    community: Community,
    member: Member,
    template: str | None,
    line: str | None,
    *,
    joined_days: int,
    number: int = 1,
) -> Card:
    """The nudge DM for `member`."""
    facilitators = await store.facilitators(context.session, community.id)
    text = template_of(template).render(
        {
            "name": typed(member.name.split()[0] if member.name.strip() else member.name),
            "community": typed(community.name),
            "purpose": typed(community.purpose or NO_PURPOSE),
            "facilitators": ", ".join(f"<@{f.user_id}>" for f in facilitators)
            or "The facilitators",
        },
        literal=typed,
    )
    headline, _, rest = text.partition("\n")
    tag = str(community.id)
    blocks: list[Section | ContextLine | Actions] = []
    if rest.strip():
        blocks.append(Section(rest))
    if line:
        blocks.append(Section(line))
    blocks += [
        Actions(
            (
                Button("Ask a question", ASK_ACTION, tag, style="primary"),
                Button("Introduce myself", "lurkers.intro", tag),
                Button("Not now", "lurkers.later", tag),
                Button("Stop these messages", "lurkers.stop", tag, style="danger"),
            )
        ),
        ContextLine(
            f"You're getting this because you joined {typed(community.name)} "
            f"{joined_days} days ago and haven't posted yet. "
            + ("Hearth sends this at most twice." if number == 1 else "This is the last one.")
        ),
    ]
    return Card(headline, tuple(blocks), names={f.user_id: f.name for f in facilitators})


async def sweep_job(context: Context, job: JobDue) -> None:
    """The daily sweep of one community."""
    community = await context.session.get(Community, int(job.payload["community"]))
    if community is not None:
        await sweep(context, community)


async def sweep(context: Context, community: Community) -> int:
    """Schedule today's nudges in `community` (at most its `per_day`); how many."""
    session, now = context.session, context.now()
    settings = await store.settings_of(session, community.id)
    scheduled, offset = 0, 0
    line: str | None = None
    looked = False
    while scheduled < settings.per_day and offset < MAX_SCANNED:
        batch = await store.due_for_nudge(
            session,
            community.id,
            joined_before=now - timedelta(days=settings.days),
            last_sent_before=now - SPACING,
            offset=offset,
            limit=BATCH,
        )
        offset += len(batch)
        for candidate in batch:
            if scheduled >= settings.per_day:
                break
            due = await _when(context, candidate.member, now)
            if due is None:
                continue
            if not looked:
                line, looked = await highlight(context, community, now), True
            if await _schedule(context, community, candidate, due, settings.nudge_template, line):
                scheduled += 1
        if len(batch) < BATCH:
            break
    return scheduled


async def _when(context: Context, member: Member, now: datetime) -> datetime | None:
    """When the member may be nudged, if within LOOKAHEAD and they did not turn nudges off."""
    stored = await context.session.get(MemberSettings, member.id)
    chosen = policy.choices(member, stored, await policy.fallback_zone(context.session, member))
    if chosen.paused or not chosen.dms.get("nudges", True):
        return None
    due = next_allowed(
        now, chosen.zone, quiet=chosen.quiet, working=chosen.working or DEFAULT_WORKING
    )
    return due if due is not None and due <= now + LOOKAHEAD else None


async def _schedule(
    context: Context,
    community: Community,
    candidate: store.Candidate,
    due: datetime,
    template: str | None,
    line: str | None,
) -> bool:
    member = candidate.member
    key = f"nudge:{community.id}:{member.id}:{candidate.number}"
    added = await insert_ignore(
        context.session,
        Nudge,
        {
            "community_id": community.id,
            "member_id": member.id,
            "number": candidate.number,
            "key": key,
            "due_at": due,
            "created_at": context.now(),
        },
    )
    if not added:
        return False
    days = (due - candidate.joined_at).days
    card = await nudge_card(
        context, community, member, template, line, joined_days=days, number=candidate.number
    )
    await context.enqueue(
        key, "nudge", Target("dm", member.user_id), card, due_at=due, member=member
    )
    return True


async def withdraw(context: Context, member: Member, community_id: int | None = None) -> int:
    """Withdraw the member's nudges not sent yet (in one community, or all)."""
    query = update(OutboxMessage).where(
        OutboxMessage.member_id == member.id,
        OutboxMessage.kind == "nudge",
        OutboxMessage.status == outbox.PENDING,
    )
    if community_id is not None:
        query = query.where(OutboxMessage.key.startswith(f"nudge:{community_id}:"))
    result = await context.session.execute(query.values(status=outbox.CANCELLED))
    return result.rowcount


async def _community(context: Context, value: str) -> Community:
    community_id = number(value)
    community = await context.session.get(Community, community_id) if community_id else None
    if community is None or community.platform != context.event.platform:
        raise CommandError("That community no longer exists.")
    return community


def _answer(context: Context, event: ActionClicked, card: Card) -> None:
    if event.message:
        context.update(event.message, card)
    else:
        context.reply_privately(card)


async def stop_clicked(context: Context, event: ActionClicked) -> None:
    """Stop these messages: the settings' "nudges" preference goes off, at once and for good."""
    member = await context.member()
    stored = await context.session.get(MemberSettings, member.id)
    if stored is None:
        stored = MemberSettings(member_id=member.id, dms={}, updated_at=context.now())
        context.session.add(stored)
    stored.dms = {**stored.dms, "nudges": False}
    stored.updated_at = context.now()
    await withdraw(context, member)
    _answer(
        context,
        event,
        Card(
            "Done: Hearth won't send you these messages again.",
            (
                ContextLine(
                    f"You can still ask and post any time. Changed your mind? "
                    f"`{context.prefix} settings` → nudges."
                ),
            ),
        ),
    )


async def later_clicked(context: Context, event: ActionClicked) -> None:
    """Not now: a friendly word, nothing else changes."""
    community = await _community(context, event.value)
    _answer(
        context,
        event,
        Card(
            f"No problem. Whenever you're ready, {typed(community.name)} is there — and no "
            "question is too small.",
            (Actions((Button("Ask a question", ASK_ACTION, str(community.id)),)),),
        ),
    )


def intro_form(community: Community) -> Form:
    return Form(
        "Introduce yourself",
        INTRO_FORM,
        (
            Field(
                "intro",
                "A few lines about you: who you are, what you work on, one thing you'd like "
                "to learn",
                multiline=True,
            ),
        ),
        submit_label="Post",
        context=str(community.id),
    )


async def intro_clicked(context: Context, event: ActionClicked) -> None:
    community = await _community(context, event.value)
    context.open_form(intro_form(community))


async def intro_submitted(context: Context, event: FormSubmitted) -> None:
    """Post the member's introduction in the channel: by Hearth, on their behalf, saying so."""
    from hearth.handlers.lurkers import firsts

    community = await _community(context, event.context)
    values = read(intro_form(community), event.values)
    text = visible(str(values["intro"]))
    if not text:
        raise CommandError("Introduce yourself: please write a few words.")
    if len(text) > MAX_INTRO:
        raise CommandError(
            f"Introduce yourself: keep it under {MAX_INTRO} characters (this is {len(text)})."
        )
    member = await context.member()
    membership = await context.session.get(Membership, (community.id, member.id))
    if membership is None or membership.left_at is not None:
        raise CommandError(f"Join {typed(community.name)} first, then introduce yourself there.")
    card = Card(
        f"👋 <@{member.user_id}> would like to introduce themselves:",
        (
            Section(typed(text)),
            ContextLine(f"Posted by Hearth on behalf of {typed(member.name)}, at their request."),
        ),
        names={member.user_id: member.name},
    )
    key = f"intro:{community.id}:{member.id}"
    if not await context.enqueue(key, "intro", Target("channel", community.channel), card):
        context.reply_privately(
            Card(f"You've already introduced yourself in {typed(community.name)} — thank you!")
        )
        return
    await firsts.posted(context, community, member, context.now(), thread=None, intro=True)
    context.reply_privately(
        Card(f"Thanks! Your introduction is going up in {typed(community.name)} now.")
    )
