"""Setting up a community, help, and who facilitates it."""

from __future__ import annotations

from sqlalchemy import delete, func, select

from hearth.handlers.cards import Card, ContextLine, Section, names_of
from hearth.handlers.commands import Args, CommandError, UsageError, mentioned_user
from hearth.handlers.context import Context
from hearth.handlers.events import BotAdded, CommandInvoked
from hearth.handlers.ports import Target
from hearth.handlers.registry import Registry
from hearth.storage.db import insert_ignore
from hearth.storage.models import Community, Facilitator, Member, Membership

DEFAULT_SEGMENTS = [
    "Delivery teams & managers",
    "Senior leadership",
    "The wider business",
    "External experts",
]
DEFAULT_INTERESTS = ["Getting started", "Tools & templates", "Lessons learned", "Events & meetups"]


def register(registry: Registry) -> None:
    registry.on(BotAdded)(introduce)
    registry.command("help", summary="list what I can do", needs_community=False)(show_help)
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


async def show_help(context: Context, args: Args) -> None:
    """Every command, generated from the registry."""
    prefix = context.prefix
    lines = [
        f"• `{prefix} {c.usage}` — {c.summary}"
        for c in sorted(context.registry.commands.values(), key=lambda c: c.name)
        if not c.facilitator_only
    ]
    steering = [
        f"• `{prefix} {c.usage}` — {c.summary}"
        for c in sorted(context.registry.commands.values(), key=lambda c: c.name)
        if c.facilitator_only
    ]
    context.reply_privately(
        Card(
            "Here's what I can do:",
            (
                Section("\n".join(lines)),
                Section("*For facilitators:*\n" + "\n".join(steering)),
                ContextLine("No question is too small — just ask in the community channel."),
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
            f"{existing.name} is already a community. "
            f"`{context.prefix} facilitator list` shows who facilitates it."
        )
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
        purpose=args.text,
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
            f"{community.name} is now a community, and you are its first facilitator.",
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
    mentions = ", ".join(f"<@{m.user_id}>" for m in facilitators)
    context.reply_privately(
        Card(f"Facilitators of {community.name}: {mentions}.", names=names_of(facilitators))
    )


async def add_facilitator(context: Context, args: Args) -> None:
    community = await context.require_community()
    member = await _mentioned_member(context, args)
    if member.is_bot:
        raise CommandError("Bots can't be facilitators.")
    added = await insert_ignore(
        context.session,
        Facilitator,
        {"community_id": community.id, "member_id": member.id, "added_at": context.now()},
    )
    text = "is now a facilitator" if added else "is already a facilitator"
    context.reply_privately(
        Card(f"<@{member.user_id}> {text} of {community.name}.", names=names_of([member]))
    )


async def remove_facilitator(context: Context, args: Args) -> None:
    community = await context.require_community()
    member = await _mentioned_member(context, args)
    if not await context.is_facilitator(community, member):
        raise CommandError(f"{member.name} isn't a facilitator of {community.name}.")
    count = await context.session.scalar(
        select(func.count())
        .select_from(Facilitator)
        .where(Facilitator.community_id == community.id)
    )
    if count == 1:
        raise CommandError(
            f"{community.name} needs at least one facilitator; add another one first."
        )
    await context.session.execute(
        delete(Facilitator).where(
            Facilitator.community_id == community.id, Facilitator.member_id == member.id
        )
    )
    context.reply_privately(
        Card(
            f"<@{member.user_id}> is no longer a facilitator of {community.name}.",
            names=names_of([member]),
        )
    )


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
