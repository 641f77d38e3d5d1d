"""Setting up a community, help, and who facilitates it."""

from __future__ import annotations

from sqlalchemy import delete, func, select

from hearth.handlers import audit, zones
from hearth.handlers.cards import Card, ContextLine, Section, names_of, typed
from hearth.handlers.commands import Args, CommandError, UsageError, mentioned_user, visible
from hearth.handlers.context import Context
from hearth.handlers.events import BotAdded, CommandInvoked
from hearth.handlers.policy import Kind
from hearth.handlers.ports import Target
from hearth.handlers.registry import GROUPS, Registry
from hearth.storage.db import insert_ignore
from hearth.storage.models import Community, Facilitator, Member, Membership, Message

DEFAULT_SEGMENTS = [
    "Delivery teams & managers",
    "Senior leadership",
    "The wider business",
    "External experts",
]
DEFAULT_INTERESTS = ["Getting started", "Tools & templates", "Lessons learned", "Events & meetups"]


MAX_PURPOSE = 300
GROUP_TITLES = {
    "community": "Community",
    "welcome": "Welcoming newcomers",
    "polls and surveys": "Polls and surveys",
    "questions and experts": "Questions and experts",
    "community rhythm": "Community rhythm",
    "members and privacy": "Members and privacy",
    "hot seats, library and jobs": "Hot seats, library and jobs",
}


def register(registry: Registry) -> None:
    registry.sends(Kind("intro", dm=False))  # a member's introduction, posted for them
    registry.on(BotAdded)(introduce)
    registry.command("help", "[command]", summary="what you can do here", needs_community=False)(
        show_help
    )
    registry.command(
        "setup",
        "[purpose]",
        summary="make this channel a community",
        needs_community=False,
        audited=True,
    )(setup)
    registry.command("facilitator list", summary="who facilitates this community")(
        list_facilitators
    )
    registry.command(
        "facilitator add", "@someone", summary="make someone a facilitator", facilitator_only=True
    )(add_facilitator)
    registry.command(
        "facilitator remove",
        "@someone",
        summary="stop someone being a facilitator",
        facilitator_only=True,
    )(remove_facilitator)
    registry.command(
        "purpose set",
        "<what the community is for>",
        summary="say what this community is for (shown in the welcome DM)",
        facilitator_only=True,
    )(set_purpose)
    registry.command(
        "timezone",
        "[<zone, like Europe/London>]",
        summary="the community's time zone, for closing times and schedules",
        facilitator_only=True,
    )(timezone_command)


async def show_help(context: Context, args: Args) -> None:
    """What the actor can do, grouped by task (`help <command>`: one command in detail)."""
    commands = context.registry.commands
    if args.text:
        context.reply_privately(_command_help(context, args))
        return
    facilitator = await _facilitates_here(context)
    prefix = context.prefix
    sections = []
    for group in GROUPS:
        shown = sorted(
            (
                c
                for c in commands.values()
                if c.group == group and (facilitator or not c.facilitator_only)
            ),
            key=lambda c: (c.facilitator_only, c.name),
        )
        if shown:
            lines = "\n".join(f"• `{prefix} {c.name}` — {c.summary}" for c in shown)
            sections.append(Section(f"*{GROUP_TITLES[group]}*\n{lines}"))
    headline = (
        "Here's what you can do, as a facilitator:" if facilitator else "Here's what you can do:"
    )
    context.reply_privately(
        Card(
            headline,
            (
                *sections,
                ContextLine(
                    f"`{prefix} help <command>` tells you more about one. No question is too "
                    "small — just ask in the community channel."
                ),
            ),
        )
    )


def _command_help(context: Context, args: Args) -> Card:
    """One command (or a family, like `poll`) in detail."""
    commands = context.registry.commands
    words = " ".join(args.text.lower().split()).removeprefix(context.prefix.lower() + " ")
    words = words.removeprefix("/cop ").strip()
    command = commands.get(words)
    if not words:
        raise UsageError("Name a command, like `help poll`.")
    family = sorted(
        (
            c
            for c in commands.values()
            if c.name.split()[0] == words and c != command  # `help poll`: its family too
        ),
        key=lambda c: c.name,
    )
    if command is None and not family:
        shown = words if len(words) <= 30 else words[:29] + "…"
        raise UsageError(f"I don't know the command `{shown.replace('`', '')}`.")
    prefix = context.prefix
    blocks = []
    if command is not None:
        who = (
            "Facilitators of the community can use it."
            if command.facilitator_only
            else "Anyone can use it."
        )
        blocks.append(Section(f"{command.summary[:1].upper()}{command.summary[1:]}. {who}"))
    if family:
        blocks.append(
            Section(
                ("See also:\n" if command else "")
                + "\n".join(f"• `{prefix} {c.usage}` — {c.summary}" for c in family)
            )
        )
    headline = f"`{prefix} {command.usage}`" if command else f"The `{words}` commands:"
    return Card(headline, tuple(blocks))


async def _facilitates_here(context: Context) -> bool:
    """Whether the actor facilitates this channel's community (elsewhere: any community)."""
    member = await context.member()
    community = await context.community()
    if community is not None:
        return await context.is_facilitator(community, member)
    found = await context.session.scalar(
        select(Facilitator.community_id).where(Facilitator.member_id == member.id).limit(1)
    )
    return found is not None


async def timezone_command(context: Context, args: Args) -> None:
    """`timezone` shows the community's zone; `timezone Europe/London` sets it."""
    community = await context.require_community()
    if not args.text:
        audit.no_change(context)
        context.reply_privately(
            Card(f"{typed(community.name)} keeps time in {community.timezone}.")
        )
        return
    try:
        zone = zones.resolve(args.one_text())
    except zones.ZoneError as error:
        raise UsageError(str(error)) from error
    if zone == community.timezone:
        audit.no_change(context)
        context.reply_privately(Card(f"No change: {typed(community.name)} keeps time in {zone}."))
        return
    community.timezone = zone
    context.reply_privately(
        Card(
            f"{typed(community.name)} now keeps time in {zone}.",
            (
                ContextLine(
                    "Closing times and repeat rules typed from now on are read in it; "
                    "times already set stay as they are."
                ),
            ),
        )
    )


async def set_purpose(context: Context, args: Args) -> None:
    """What the community is for, as the welcome DM's {purpose} shows it."""
    community = await context.require_community()
    purpose = visible(args.one_text()).rstrip(".")
    if not purpose:
        raise UsageError(
            "Say what the community is for, like `purpose set sharing what works in "
            "project delivery`."
        )
    if len(purpose) > MAX_PURPOSE:
        raise UsageError(f"Keep the purpose to {MAX_PURPOSE} characters (it has {len(purpose)}).")
    if purpose == community.purpose:
        audit.no_change(context)
        context.reply_privately(Card(f"That already is the purpose of {typed(community.name)}."))
        return
    community.purpose = purpose
    context.reply_privately(
        Card(
            f"Saved: “{typed(community.name)} is for {typed(purpose)}.”",
            (
                ContextLine(
                    f"The welcome DM shows it where it says {{purpose}}; "
                    f"`{context.prefix} welcome preview` shows the whole message."
                ),
            ),
        )
    )


async def setup(context: Context, args: Args) -> None:
    """Make the channel a community, with the person who asked as its first facilitator."""
    event = context.event
    if isinstance(event, CommandInvoked) and event.is_dm:
        raise CommandError(
            f"Run `{context.prefix} setup` in the channel that should become a community."
        )
    existing = await context.community()
    if existing:
        raise CommandError(
            f"{typed(existing.name)} is already a community. "
            f"`{context.prefix} facilitator list` shows who facilitates it."
        )
    purpose = visible(args.one_text()).rstrip(".")
    if len(purpose) > MAX_PURPOSE:
        raise UsageError(f"Keep the purpose to {MAX_PURPOSE} characters (it has {len(purpose)}).")
    name = (
        event.channel_name
        if isinstance(event, CommandInvoked) and event.channel_name
        else event.channel
    )
    community = Community(
        platform=event.platform,
        workspace=event.workspace,
        channel=event.channel,
        name=name if name.startswith("#") else f"#{name}",
        purpose=purpose,
        timezone=context.defaults.timezone,
        segments=list(DEFAULT_SEGMENTS),
        interests=list(DEFAULT_INTERESTS),
        created_at=context.now(),
    )
    context.session.add(community)
    await context.session.flush()
    member = await context.member()
    context.session.add(
        Facilitator(community_id=community.id, member_id=member.id, added_at=context.now())
    )
    await insert_ignore(
        context.session,
        Membership,
        {"community_id": community.id, "member_id": member.id, "joined_at": context.now()},
    )
    context.community_set_up(community)
    context.join_channel()
    prefix = context.prefix
    context.reply_privately(
        Card(
            f"{typed(community.name)} is now a community, and you are its first facilitator.",
            (
                Section(
                    "Everyone who joins from now on gets a warm welcome from me.\n"
                    f"• `{prefix} welcome preview` — see the welcome message\n"
                    f"• `{prefix} welcome set …` — write your own\n"
                    f"• `{prefix} facilitator add @someone` — share the work\n"
                    f"• `{prefix} help` — everything else"
                ),
            ),
        )
    )


async def list_facilitators(context: Context, args: Args) -> None:
    community = await context.require_community()
    facilitators = list(
        await context.session.scalars(
            select(Member)
            .join(Facilitator, Facilitator.member_id == Member.id)
            .where(Facilitator.community_id == community.id)
            .order_by(Facilitator.added_at)
        )
    )
    gone = set(
        await context.session.scalars(
            select(Membership.member_id).where(
                Membership.community_id == community.id, Membership.left_at.is_not(None)
            )
        )
    )
    mentions = ", ".join(
        f"<@{m.user_id}>" + (f" (has left {typed(community.name)})" if m.id in gone else "")
        for m in facilitators
    )
    context.reply_privately(
        Card(f"Facilitators of {typed(community.name)}: {mentions}.", names=names_of(facilitators))
    )


async def add_facilitator(context: Context, args: Args) -> None:
    community = await context.require_community()
    member = await _mentioned_member(context, args)
    if member.is_bot:
        raise CommandError("Bots can't be facilitators.")
    here = await _is_member(context, community, member)
    if here is False:
        raise CommandError(
            f"{typed(member.name)} has left {typed(community.name)}, and a facilitator must be "
            "a member of it."
        )
    if here is None:
        raise CommandError(
            f"I haven't seen {typed(member.name)} in {typed(community.name)}, and a facilitator "
            "must be a member of it: once they have joined or posted there, add them again."
        )
    added = await insert_ignore(
        context.session,
        Facilitator,
        {"community_id": community.id, "member_id": member.id, "added_at": context.now()},
    )
    if not added:
        audit.no_change(context)
    text = "is now a facilitator" if added else "is already a facilitator"
    context.reply_privately(
        Card(f"<@{member.user_id}> {text} of {typed(community.name)}.", names=names_of([member]))
    )


async def remove_facilitator(context: Context, args: Args) -> None:
    community = await context.require_community()
    member = await _mentioned_member(context, args)
    if not await context.is_facilitator(community, member):
        raise CommandError(f"{typed(member.name)} isn't a facilitator of {typed(community.name)}.")
    count = await context.session.scalar(
        select(func.count())
        .select_from(Facilitator)
        .where(Facilitator.community_id == community.id)
    )
    if count == 1:
        raise CommandError(
            f"{typed(community.name)} needs at least one facilitator; add another one first."
        )
    await context.session.execute(
        delete(Facilitator).where(
            Facilitator.community_id == community.id, Facilitator.member_id == member.id
        )
    )
    context.reply_privately(
        Card(
            f"<@{member.user_id}> is no longer a facilitator of {typed(community.name)}.",
            names=names_of([member]),
        )
    )


async def _is_member(context: Context, community: Community, member: Member) -> bool | None:
    """True when the member is in the community: joined and not left, or (someone in the
    channel before it became a community) seen posting there and never seen leaving, who then
    gets a membership row so that their leaving is noticed; False when they left; None when
    Hearth has never seen them there."""
    membership = await context.session.get(Membership, (community.id, member.id))
    if membership is not None:
        return membership.left_at is None
    first_post = await context.session.scalar(
        select(func.min(Message.posted_at)).where(
            Message.community_id == community.id, Message.member_id == member.id
        )
    )
    if first_post is None:
        return None
    await insert_ignore(
        context.session,
        Membership,
        {"community_id": community.id, "member_id": member.id, "joined_at": first_post},
    )
    return True


async def _mentioned_member(context: Context, args: Args) -> Member:
    tokens = args.tokens
    user_id = mentioned_user(tokens[0]) if len(tokens) == 1 else None
    if user_id is None:
        raise UsageError("Mention exactly one person, like `@alex`.")
    return await context.member(user_id)


async def introduce(context: Context, event: BotAdded) -> None:
    """Say hello, once, where Hearth was added."""
    await context.enqueue(
        f"intro:{event.platform}:{event.workspace}:{event.channel}",
        "intro",
        Target("channel", event.channel),
        introduction(context.prefix),
    )


def introduction(prefix: str) -> Card:
    """What Hearth says once when it is added to a team."""
    return Card(
        "Hi, I'm Hearth 👋 I help communities of practice feel like home.",
        (
            Section(
                "I welcome newcomers personally, remember what the community shares, "
                "and help facilitators keep the conversation going."
            ),
            Section(
                f"To make a channel a community, a facilitator types `{prefix} setup` in it "
                "(add the community's purpose after it if you like).\n"
                f"`{prefix} help` lists everything I can do."
            ),
            ContextLine("I only message people who join a community, and they can stop me."),
        ),
    )
