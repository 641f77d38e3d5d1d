"""Listing hot seats, and what facilitators do to one: cancel, extend or move it. Each finds
every scheduled step of the hot seat by its key and cancels or reschedules it."""

from __future__ import annotations

from hearth.handlers.cards import Card, ContextLine, Section, typed
from hearth.handlers.commands import Args, CommandError, UsageError, number
from hearth.handlers.context import Context
from hearth.handlers.hotseats.cards import (
    announcement,
    cancelled,
    days_of,
    extended,
    invitation,
    label,
    moved,
    status_note,
)
from hearth.handlers.hotseats.proposals import USAGE
from hearth.handlers.hotseats.timing import (
    MAX_DAYS,
    OPENS,
    cancel_all,
    close_step,
    days_option,
    ends_at,
    first_day,
    key,
    local,
    schedule_all,
    starts_option,
)
from hearth.handlers.links import parse_flags
from hearth.handlers.ports import Target
from hearth.storage import hotseats as stored
from hearth.storage import outbox
from hearth.storage.models import Community, HotSeat, Member

MOVE_USAGE = "<id> --starts 2027-02-01"


async def list_command(context: Context, args: Args) -> None:
    community = await context.require_community()
    now = context.now()
    seats = await stored.live(context.session, community.id, now)
    if not seats:
        context.reply_privately(
            Card(
                f"No hot seats are planned in {typed(community.name)}.",
                (ContextLine(f"A facilitator proposes one: `{context.prefix} hotseat {USAGE}`."),),
            )
        )
        return
    lines = []
    for seat in seats:
        expert = await context.session.get(Member, seat.expert_id) if seat.expert_id else None
        who = typed(expert.name) if expert else "someone"
        if seat.status == stored.PROPOSED:
            state = "waiting for the expert to accept"
        elif seat.starts_at <= now:
            state = "running now"
        else:
            state = "accepted"
        count = await stored.question_count(context.session, seat.id)
        lines.append(
            f"• {label(seat)} {who} on “{typed(seat.topic)}” — {days_of(seat, community)} · "
            f"{state} · {count} question{'' if count == 1 else 's'} sent early"
        )
    context.reply_privately(
        Card(
            f"Hot seats in {typed(community.name)}:",
            (Section("\n".join(lines)),),
        )
    )


async def _managed(
    context: Context, community: Community, given: str, *, moving: bool = False
) -> HotSeat:
    """The hot seat named `H1` or `1`, locked: live and not over (when `moving`, a proposal
    whose days passed unanswered may be given new ones); CommandError otherwise."""
    found = number(given[1:] if given[:1] in "Hh" else given)
    hot_seat = await stored.lock(context.session, found) if found is not None else None
    if hot_seat is None or hot_seat.community_id != community.id:
        raise CommandError(f"There is no hot seat {typed(given)} in {typed(community.name)}.")
    if hot_seat.status not in stored.LIVE:
        raise CommandError(f"Hot seat {label(hot_seat)} is {hot_seat.status} already.")
    over = hot_seat.ends_at <= context.now()
    if over and not (moving and hot_seat.status == stored.PROPOSED):
        raise CommandError(f"Hot seat {label(hot_seat)} is over ({days_of(hot_seat, community)}).")
    return hot_seat


async def _expert(context: Context, hot_seat: HotSeat) -> Member | None:
    return await context.session.get(Member, hot_seat.expert_id) if hot_seat.expert_id else None


async def _announced(context: Context, hot_seat: HotSeat) -> str | None:
    """The outbox status of the hot seat's announcement; None if it was never written."""
    return await outbox.status_of(context.session, key(hot_seat, "announce"))


async def cancel_command(context: Context, args: Args) -> None:
    community = await context.require_community()
    if len(args.tokens) != 1:
        raise UsageError("Give the hot seat's number, like `H1`.")
    hot_seat = await _managed(context, community, args.tokens[0])
    was = hot_seat.status
    await cancel_all(context, community, hot_seat)
    for step in ("invite", "announce"):
        await outbox.cancel_pending(context.session, key(hot_seat, step))
    hot_seat.status = stored.CANCELLED
    expert = await _expert(context, hot_seat)
    if await stored.posted_threads(context.session, [key(hot_seat, "announce")]):
        await context.enqueue(
            key(hot_seat, "cancelled"),
            "hotseat_post",
            Target("channel", community.channel),
            cancelled(hot_seat, community),
        )
    if expert is not None and was == stored.ACCEPTED:
        await context.enqueue(
            key(hot_seat, "cancelled-dm"),
            "hotseat_status",
            Target("dm", expert.user_id),
            cancelled(hot_seat, community),
            member=expert,
        )
    context.reply_privately(
        status_note(
            f"Hot seat {label(hot_seat)} “{typed(hot_seat.topic)}” is cancelled; "
            "nothing more of it will be posted."
        )
    )


async def extend_command(context: Context, args: Args) -> None:
    community = await context.require_community()
    problem = "Give the hot seat and the days to add, like `hotseat extend H1 2`."
    if len(args.tokens) != 2:
        raise UsageError(problem)
    hot_seat = await _managed(context, community, args.tokens[0])
    more = days_option(args.tokens[1])
    if hot_seat.days + more > MAX_DAYS:
        raise UsageError(f"A hot seat lasts at most {MAX_DAYS} days.")
    ending = ends_at(first_day(hot_seat, community), hot_seat.days + more, community)
    clash = await stored.overlapping(
        context.session, community.id, hot_seat.starts_at, ending, other_than=hot_seat.id
    )
    if clash is not None:
        raise CommandError(f"Hot seat {label(clash)} starts then; one hot seat at a time.")
    if hot_seat.status == stored.ACCEPTED:
        await cancel_all(context, community, hot_seat, [close_step(hot_seat)])
    hot_seat.days += more
    hot_seat.ends_at = ending
    if hot_seat.status == stored.ACCEPTED:
        await schedule_all(context, community, hot_seat, from_day=hot_seat.days - more + 1)
        expert = await _expert(context, hot_seat)
        announced = await stored.posted_threads(context.session, [key(hot_seat, "announce")])
        if expert is not None and announced:
            await context.enqueue(
                key(hot_seat, f"extended:{hot_seat.days}"),
                "hotseat_post",
                Target("channel", community.channel),
                extended(hot_seat, community, expert, to_expert=False),
            )
        if expert is not None:
            await context.enqueue(
                key(hot_seat, f"extended-dm:{hot_seat.days}"),
                "hotseat_status",
                Target("dm", expert.user_id),
                extended(hot_seat, community, expert, to_expert=True),
                member=expert,
            )
    context.reply_privately(
        status_note(
            f"Hot seat {label(hot_seat)} “{typed(hot_seat.topic)}” now runs "
            f"{days_of(hot_seat, community)}."
        )
    )


async def move_command(context: Context, args: Args) -> None:
    """New days for a hot seat that has not opened. Accepted: every step still to come is
    cancelled and scheduled again at its new time (keys naming the new first day); if it was
    announced, the channel gets a short note instead of a second announcement, and the expert
    a DM. Not yet accepted: the expert is invited again, for the new days."""
    community = await context.require_community()
    plain, flags = parse_flags(args.text, ("--starts",))
    if len(plain) != 1 or "--starts" not in flags:
        raise UsageError(
            "Give the hot seat and its new first day, like `hotseat move H1 --starts 2027-02-01`."
        )
    hot_seat = await _managed(context, community, plain[0].text, moving=True)
    now = context.now()
    if hot_seat.status == stored.ACCEPTED and hot_seat.starts_at <= now:
        raise CommandError(
            f"Hot seat {label(hot_seat)} is running ({days_of(hot_seat, community)}): it can't "
            f"move now. `{context.prefix} hotseat extend {label(hot_seat)} <days>` gives it "
            f"more days; `{context.prefix} hotseat cancel {label(hot_seat)}` calls it off."
        )
    first = starts_option(flags["--starts"], community, now)
    starts_at, ending = local(first, OPENS, community), ends_at(first, hot_seat.days, community)
    if starts_at == hot_seat.starts_at:
        raise CommandError(
            f"Hot seat {label(hot_seat)} runs {days_of(hot_seat, community)} already."
        )
    clash = await stored.overlapping(
        context.session, community.id, starts_at, ending, other_than=hot_seat.id
    )
    if clash is not None:
        raise CommandError(
            f"Hot seat {label(clash)} “{typed(clash.topic)}” runs "
            f"{days_of(clash, community)}; one hot seat at a time."
        )
    was = days_of(hot_seat, community)
    accepted = hot_seat.status == stored.ACCEPTED
    announced = await _announced(context, hot_seat)
    if accepted:
        await cancel_all(context, community, hot_seat)
    hot_seat.starts_at, hot_seat.ends_at = starts_at, ending
    expert = await _expert(context, hot_seat)
    if accepted:
        await schedule_all(context, community, hot_seat, announce=announced is None)
    then = ""
    if expert is not None and accepted:
        then = " " + await _moved_posts(context, community, hot_seat, expert, was, announced)
    elif expert is not None:
        proposer = await context.member()
        again = invitation(hot_seat, community, expert, proposer, was=was)
        to = Target("dm", expert.user_id)
        await _send(context, key(hot_seat, "invite"), "hotseat_invite", to, again, expert)
        then = " I've asked the expert to accept the new days."
    context.reply_privately(
        Card(
            f"Hot seat {label(hot_seat)} “{typed(hot_seat.topic)}” moves to "
            f"{days_of(hot_seat, community)} (it was to run {was}).{then}"
        )
    )


async def _moved_posts(
    context: Context,
    community: Community,
    hot_seat: HotSeat,
    expert: Member,
    was: str,
    announced: str | None,
) -> str:
    """An accepted hot seat moved: its announcement, if written but not gone out yet, shows
    the new days; one already out is followed by a note in the channel. The expert is told.
    Returns what the facilitator is told of it."""
    if announced is None:
        said = "I've told the expert; the channel hears of it a week before the new days."
    elif announced == outbox.PENDING:
        card = announcement(hot_seat, community, expert)
        await outbox.replace_pending(context.session, key(hot_seat, "announce"), card.to_json())
        said = "I've told the expert; the announcement about to go out shows the new days."
    else:
        note = moved(hot_seat, community, expert, was, to_expert=False)
        channel = Target("channel", community.channel)
        await _send(context, key(hot_seat, "moved"), "hotseat_post", channel, note, None)
        said = "I've told the channel and the expert."
    told = moved(hot_seat, community, expert, was, to_expert=True)
    dm = Target("dm", expert.user_id)
    await _send(context, key(hot_seat, "moved-dm"), "hotseat_status", dm, told, expert)
    return said


async def _send(
    context: Context, sent_as: str, kind: str, target: Target, card: Card, member: Member | None
) -> None:
    """Send `card` under the key `sent_as`; if an earlier move used that key, the card
    replaces its message while it waits, or goes out anew after it (a message being
    delivered at this very moment stays as it is)."""
    if await context.enqueue(sent_as, kind, target, card, member=member):
        return
    data = card.to_json()
    if await outbox.replace_pending(context.session, sent_as, data):
        return
    if await outbox.requeue(context.session, sent_as, data, context.now()):
        context.enqueued += 1  # wake the sender: the row is due again
