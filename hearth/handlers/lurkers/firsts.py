"""First posts: keep each member's first/last post facts, and celebrate the first one.

On each channel message or reply the member's `participation` row is written (the sweep reads
these facts, never the messages). The first one of a member who joined the community (not a
facilitator, not a bot, not someone who paused Hearth's messages) gets one reply in its thread
(unless the facilitators switched that off) and each facilitator a private heads-up, so that a
human says hello too. A nudge not yet sent to that member is withdrawn: a member who posted is
never nudged.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from hearth.handlers.cards import Card, ContextLine, Section, typed
from hearth.handlers.context import Context
from hearth.handlers.events import MessagePosted
from hearth.handlers.ports import Target
from hearth.handlers.registry import Arrival
from hearth.storage import lurkers as store
from hearth.storage.models import Community, Member, Membership


async def preload(session: AsyncSession, arrivals: list[Arrival]) -> None:
    """The post facts of everyone posting in this batch, in one query."""
    await store.load_participation(
        session,
        {
            (a.community.id, a.member.id)
            for a in arrivals
            if isinstance(a.event, MessagePosted) and a.member is not None
        },
    )


async def on_message(context: Context, event: MessagePosted) -> None:
    if event.is_dm or event.from_bot:
        return
    community = await context.community()
    if community is None:
        return
    member = await context.member()
    if member.is_bot:
        return
    await posted(context, community, member, event.at, thread=event.thread_id or event.message_id)


async def posted(
    context: Context,
    community: Community,
    member: Member,
    at: datetime,
    *,
    thread: str | None,
    intro: bool = False,
) -> None:
    """Record a post by `member` (an introduction Hearth posts for them: `intro`)."""
    from hearth.handlers.lurkers import nudges

    if not await store.record_post(context.session, community.id, member.id, at):
        return
    await nudges.withdraw(context, member, community.id)
    membership = await context.session.get(Membership, (community.id, member.id))
    if membership is None or await context.is_facilitator(community, member):
        return  # not someone who joined while Hearth watched, or one of the hosts
    if member.unsolicited_dms_off:
        return  # paused Hearth: not pinged in public, and facilitators see them only as a count
    settings = await store.settings_of(context.session, community.id)
    if thread is not None and settings.celebrate:
        await context.enqueue(
            f"celebrate:{community.id}:{member.id}",
            "celebration",
            Target("channel", community.channel, thread),
            Card(
                f"Welcome to the conversation, <@{member.user_id}>! 🎉 Thanks for your first "
                "post here — every question and every story helps someone.",
                names={member.user_id: member.name},
            ),
        )
    await heads_up(context, community, member, membership, intro=intro)


async def heads_up(
    context: Context,
    community: Community,
    member: Member,
    membership: Membership,
    *,
    intro: bool,
) -> None:
    """Tell each facilitator privately, so a human can say hello too."""
    days = (context.now() - membership.joined_at).days
    nudged = await store.nudges_of(context.session, community.id, member.id)
    what = "introduced themselves" if intro else "just posted for the first time"
    since = (
        "They joined today"
        if days == 0
        else f"They joined {days} day{'' if days == 1 else 's'} ago"
    )
    since += f" and got {len(nudged)} nudge{'' if len(nudged) == 1 else 's'}." if nudged else "."
    for facilitator in await store.facilitators(context.session, community.id):
        if facilitator.id == member.id:
            continue
        await context.enqueue(
            f"first-post:{community.id}:{member.id}:{facilitator.id}",
            "heads_up",
            Target("dm", facilitator.user_id),
            Card(
                f"<@{member.user_id}> {what} in {typed(community.name)} 🎉",
                (
                    Section(since + " A hello from you would mean a lot."),
                    ContextLine("Only facilitators get this."),
                ),
                names={member.user_id: member.name},
            ),
            member=facilitator,
        )
