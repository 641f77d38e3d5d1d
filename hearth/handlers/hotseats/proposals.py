"""Proposing a hot seat, and the expert accepting or declining it with the invitation's
buttons (accepting schedules every step)."""

from __future__ import annotations

from hearth.handlers.cards import Card, ContextLine, names_of, typed
from hearth.handlers.commands import Args, CommandError, UsageError, mentioned_user, number
from hearth.handlers.context import Context
from hearth.handlers.events import ActionClicked
from hearth.handlers.hotseats.cards import answered_invitation, days_of, invitation, label
from hearth.handlers.hotseats.timing import (
    OPENS,
    days_option,
    ends_at,
    key,
    local,
    schedule_all,
    starts_option,
)
from hearth.handlers.links import check_title, parse_flags
from hearth.handlers.ports import Target
from hearth.storage import hotseats as stored
from hearth.storage.models import Community, HotSeat, Member

USAGE = '@expert "topic" --starts 2027-02-01 [--days 5]'


async def propose_command(context: Context, args: Args) -> None:
    community = await context.require_community()
    plain, flags = parse_flags(args.text, ("--starts", "--days"))
    expert_id = mentioned_user(plain[0].text) if plain and not plain[0].quoted else None
    if expert_id is None or len(plain) != 2:
        raise UsageError(
            'Mention the expert, then the topic in quotes: `hotseat @alex "Assurance in agile '
            'delivery" --starts 2027-02-01 --days 5`.'
        )
    topic = check_title(plain[1].text, "topic")
    now = context.now()
    first = starts_option(flags.get("--starts", ""), community, now)
    days = days_option(flags.get("--days", "5"))
    starts_at, ending = local(first, OPENS, community), ends_at(first, days, community)
    expert = await context.member(expert_id)
    if expert.is_bot or expert.deactivated:
        raise CommandError(f"<@{expert.user_id}> can't take a hot seat (a bot, or deactivated).")
    clash = await stored.overlapping(context.session, community.id, starts_at, ending)
    if clash is not None:
        raise CommandError(
            f"Hot seat {label(clash)} “{typed(clash.topic)}” runs "
            f"{days_of(clash, community)}; one hot seat at a time."
        )
    proposer = await context.member()
    hot_seat = HotSeat(
        community_id=community.id,
        expert_id=expert.id,
        proposer_id=proposer.id,
        topic=topic,
        status=stored.PROPOSED,
        starts_at=starts_at,
        days=days,
        ends_at=ending,
        created_at=now,
    )
    context.session.add(hot_seat)
    await context.session.flush()
    await context.enqueue(
        key(hot_seat, "invite"),
        "hotseat_invite",
        Target("dm", expert.user_id),
        invitation(hot_seat, community, expert, proposer),
        member=expert,
    )
    context.reply_privately(
        Card(
            f"Hot seat {label(hot_seat)} “{typed(topic)}”, {days_of(hot_seat, community)}: "
            f"I've asked <@{expert.user_id}> to accept.",
            (ContextLine(f"`{context.prefix} hotseat list` shows where it stands."),),
            names=names_of([expert]),
        )
    )


async def _clicked(context: Context, event: ActionClicked) -> tuple[HotSeat, Community, Member]:
    found = number(event.value)
    hot_seat = await stored.lock(context.session, found) if found is not None else None
    community = await context.session.get(Community, hot_seat.community_id) if hot_seat else None
    if (
        hot_seat is None
        or community is None
        or (community.platform, community.workspace) != (event.platform, event.workspace)
    ):
        raise CommandError("That hot seat no longer exists.")
    member = await context.member()
    if hot_seat.expert_id != member.id:
        raise CommandError("Only the expert invited can answer this.")
    if hot_seat.status != stored.PROPOSED:
        raise CommandError(f"You already answered: the hot seat is {hot_seat.status}.")
    return hot_seat, community, member


async def accept(context: Context, event: ActionClicked) -> None:
    hot_seat, community, expert = await _clicked(context, event)
    now = context.now()
    if hot_seat.starts_at <= now:
        raise CommandError("That hot seat was to start already; ask a facilitator for a new date.")
    hot_seat.status = stored.ACCEPTED
    await schedule_all(context, community, hot_seat)
    await _tell_proposer(
        context,
        hot_seat,
        f"<@{expert.user_id}> accepted the hot seat {label(hot_seat)} "
        f"“{typed(hot_seat.topic)}”, {days_of(hot_seat, community)}.",
        expert,
    )
    if event.message is not None:
        context.update(event.message, answered_invitation(hot_seat, community, accepted=True))


async def decline(context: Context, event: ActionClicked) -> None:
    hot_seat, community, expert = await _clicked(context, event)
    hot_seat.status = stored.DECLINED
    await _tell_proposer(
        context,
        hot_seat,
        f"<@{expert.user_id}> declined the hot seat {label(hot_seat)} “{typed(hot_seat.topic)}”.",
        expert,
    )
    if event.message is not None:
        context.update(event.message, answered_invitation(hot_seat, community, accepted=False))


async def _tell_proposer(context: Context, hot_seat: HotSeat, text: str, expert: Member) -> None:
    proposer = (
        await context.session.get(Member, hot_seat.proposer_id) if hot_seat.proposer_id else None
    )
    if proposer is None:
        return
    await context.enqueue(
        key(hot_seat, f"status:{hot_seat.status}"),
        "hotseat_status",
        Target("dm", proposer.user_id),
        Card(text, names=names_of([expert])),
        member=proposer,
    )
