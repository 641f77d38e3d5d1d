"""Keeping members' records in step with what their platform says about them, and the
facilitators' view of who is in a community (counts only)."""

from __future__ import annotations

from sqlalchemy import func, select

from hearth.handlers.cards import Card, ContextLine, Section, typed
from hearth.handlers.commands import Args
from hearth.handlers.context import Context
from hearth.handlers.events import ProfileChanged
from hearth.handlers.registry import Registry
from hearth.storage.models import Member, Membership


def register(registry: Registry) -> None:
    registry.on(ProfileChanged)(on_profile_changed)
    registry.command(
        "members",
        summary="how many members, by group (counts only)",
        facilitator_only=True,
        audited=False,
        group="members and privacy",
    )(summary)


async def on_profile_changed(context: Context, event: ProfileChanged) -> None:
    """Refresh name, time zone and deactivation of a member Hearth knows.

    Someone Hearth has never met (a new account in the workspace, say) stays unknown: nothing
    is stored about people until they take part. A deactivated member gets nothing more from
    Hearth (see handlers/policy.py).
    """
    member = await context.session.scalar(
        select(Member).where(
            Member.platform == event.platform,
            Member.workspace == event.workspace,
            Member.user_id == event.user,
        )
    )
    if member is None:
        return
    profile = context.profile(event.user)  # fetched before the transaction
    if profile is None:
        return
    member.name = profile.name
    member.tz = profile.tz
    member.is_bot = profile.is_bot
    member.deactivated = profile.deleted


async def summary(context: Context, args: Args) -> None:
    """Members now in the community by group, and how many paused Hearth: numbers, no names."""
    community = await context.require_community()
    here = (
        select(Member)
        .join(Membership, Membership.member_id == Member.id)
        .where(
            Membership.community_id == community.id,
            Membership.left_at.is_(None),
            Member.is_bot.is_(False),
        )
        .subquery()
    )
    by_group = dict(
        (group or "", n)
        for group, n in await context.session.execute(
            select(here.c.segment, func.count()).group_by(here.c.segment)
        )
    )
    total = sum(by_group.values())
    paused = await context.session.scalar(
        select(func.count()).select_from(here).where(here.c.unsolicited_dms_off.is_(True))
    )
    deactivated = await context.session.scalar(
        select(func.count()).select_from(here).where(here.c.deactivated.is_(True))
    )
    lines = [
        f"• {typed(group)}: {by_group[group]}"
        for group in [*community.segments, *sorted(set(by_group) - set(community.segments))]
        if group and by_group.get(group)
    ]
    if by_group.get(""):
        lines.append(f"• no group chosen: {by_group['']}")
    context.reply_privately(
        Card(
            f"{typed(community.name)} has {total} member{'' if total == 1 else 's'}.",
            (
                *((Section("\n".join(lines)),) if lines else ()),
                ContextLine(
                    f"{paused} paused Hearth's messages; {deactivated} deactivated. "
                    "Only counts are shown: who opted out is theirs to know."
                ),
            ),
        )
    )
