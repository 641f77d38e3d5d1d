"""The community's library: links members suggest and facilitators approve, found with the
database's own full-text search, saved from the channel with a reaction, new ones in the digest.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from hearth.handlers.cards import Card, ContextLine, Section, typed
from hearth.handlers.commands import Args, CommandError, UsageError
from hearth.handlers.context import Context
from hearth.handlers.events import ReactionAdded
from hearth.handlers.links import (
    MAX_DESCRIPTION,
    MAX_TITLE,
    URL_IN_TEXT,
    check_tags,
    check_title,
    check_url,
    first_url,
    parse_flags,
)
from hearth.handlers.registry import DigestItem, DigestPeriod, DigestSection, Registry
from hearth.storage import library as stored
from hearth.storage.models import Community, LibrarySettings, Member, Message, Resource

GROUP = "hot seats, library and jobs"
ADD_USAGE = '<url> "title" [--tags risk,templates] [--description "…"]'
SLACK_LINK = re.compile(r"<(https?://[^>|\s]*)(?:\|([^>]*))?>", re.IGNORECASE)
"""Slack's link markup in a message: `<https://…>` or `<https://…|label>`."""
EMOJI_ALIASES = {"📌": "pushpin", "🔖": "bookmark", "📚": "books", "⭐": "star"}


def register(registry: Registry) -> None:
    registry.command(
        "resource add",
        ADD_USAGE,
        summary="suggest a link for the library (facilitators: add it straight away)",
        group=GROUP,
    )(add_command)
    registry.command(
        "resources",
        "[words]",
        summary="find links in the library by title, tags, description",
        group=GROUP,
    )(search_command)
    registry.command(
        "resource pending",
        summary="suggestions waiting for review",
        facilitator_only=True,
        audited=False,
        group=GROUP,
    )(pending_command)
    registry.command(
        "resource approve",
        "<id>",
        summary="put a suggestion in the library",
        facilitator_only=True,
        group=GROUP,
    )(approve_command)
    registry.command(
        "resource reject",
        "<id>",
        summary="turn a suggestion down",
        facilitator_only=True,
        group=GROUP,
    )(reject_command)
    registry.command(
        "resource remove",
        "<id>",
        summary="take a link out of the library",
        facilitator_only=True,
        group=GROUP,
    )(remove_command)
    registry.command(
        "library reaction",
        "[emoji|off]",
        summary="the reaction that saves a link shared in the channel (e.g. :pushpin:)",
        facilitator_only=True,
        group=GROUP,
    )(reaction_command)
    registry.on(ReactionAdded)(on_reaction)
    registry.digest_section("library.new", order=60)(digest)
    registry.personal("library", export=export, forget=None)


def label(resource: Resource) -> str:
    return f"L{resource.id}"


def describe(resource: Resource) -> str:
    """One line: its number, title, link and tags (safe card text)."""
    tags = f" · {typed(resource.tags.replace(',', ', '))}" if resource.tags else ""
    return f"• {label(resource)} *{typed(resource.title)}* — {typed(resource.url)}{tags}"


async def add_command(context: Context, args: Args) -> None:
    community = await context.require_community()
    plain, flags = parse_flags(args.text, ("--tags", "--description"))
    if len(plain) != 2 or plain[0].quoted:
        raise UsageError(
            "Give the link and then its title in quotes: `resource add "
            'https://example.org/raid "RAID log template" --tags risk`.'
        )
    url = check_url(plain[0].text)
    title = check_title(plain[1].text)
    tags = check_tags(flags.get("--tags", ""))
    description = " ".join(flags.get("--description", "").split())
    if len(description) > MAX_DESCRIPTION:
        raise UsageError(f"Keep the description under {MAX_DESCRIPTION} characters.")
    member = await context.member()
    facilitator = await context.is_facilitator(community, member)
    resource = await save(context, community, member, url, title, tags, description, facilitator)
    if resource is None:
        raise CommandError("That link is already in the library, or waiting for review.")
    if facilitator:
        text = f"Added to the library: {describe(resource)}"
        more = (
            f"`{context.prefix} resources` finds it; `resource remove {label(resource)}` "
            "takes it out."
        )
    else:
        text = f"Thanks! Your suggestion {describe(resource)} waits for a facilitator's review."
        more = "It appears in the library and the digest once a facilitator approves it."
    context.reply_privately(Card(text, (ContextLine(more),)))


async def save(
    context: Context,
    community: Community,
    member: Member,
    url: str,
    title: str,
    tags: str,
    description: str,
    approved: bool,
    message_id: str | None = None,
) -> Resource | None:
    """A new resource (approved straight away when a facilitator adds it); None if the link is
    in the library already."""
    if await stored.by_url(context.session, community.id, url) is not None:
        return None
    now = context.now()
    resource = Resource(
        community_id=community.id,
        url=url,
        title=title,
        tags=tags,
        description=description,
        status=stored.APPROVED if approved else stored.SUGGESTED,
        added_by=member.id,
        reviewed_by=member.id if approved else None,
        message_id=message_id,
        created_at=now,
        approved_at=now if approved else None,
    )
    context.session.add(resource)
    await context.session.flush()
    return resource


async def search_command(context: Context, args: Args) -> None:
    community = await context.require_community()
    found = await stored.search(context.session, community.id, args.text)
    words = stored.search_words(args.text)
    blocks: list[Section | ContextLine] = []
    if found:
        blocks.append(Section("\n".join(describe(r) for r in found)))
    if words:
        shown = typed(" ".join(words))
        headline = (
            f"In the library for “{shown}”:" if found else f"Nothing in the library for “{shown}”."
        )
    else:
        headline = "The newest in the library:" if found else "The library is empty so far."
    member = await context.member()
    if await context.is_facilitator(community, member):
        waiting = await stored.pending_count(context.session, community.id)
        if waiting:
            blocks.append(
                ContextLine(
                    f"{waiting} suggestion{' waits' if waiting == 1 else 's wait'} for review: "
                    f"`{context.prefix} resource pending`."
                )
            )
    blocks.append(ContextLine(f"Suggest a link: `{context.prefix} resource add {ADD_USAGE}`."))
    context.reply_privately(Card(headline, tuple(blocks)))


async def pending_command(context: Context, args: Args) -> None:
    community = await context.require_community()
    waiting = await stored.pending(context.session, community.id)
    if not waiting:
        context.reply_privately(Card("No suggestions wait for review."))
        return
    context.reply_privately(
        Card(
            "Suggestions waiting for review:",
            (
                Section("\n".join(describe(r) for r in waiting)),
                ContextLine(f"`{context.prefix} resource approve <id>` or `resource reject <id>`."),
            ),
        )
    )


async def _resource(context: Context, community: Community, args: Args) -> Resource:
    number = args.one_number("Give the number of a library link, like `L3` or `3`.", prefix="L")
    resource = await context.session.get(Resource, number)
    if resource is None or resource.community_id != community.id:
        raise CommandError(f"There is no library link L{number} in {typed(community.name)}.")
    return resource


async def approve_command(context: Context, args: Args) -> None:
    community = await context.require_community()
    resource = await _resource(context, community, args)
    if resource.status == stored.APPROVED:
        raise CommandError(f"{label(resource)} is already in the library.")
    resource.status = stored.APPROVED
    resource.reviewed_by = (await context.member()).id
    resource.approved_at = context.now()
    context.reply_privately(Card(f"In the library now: {describe(resource)}"))


async def reject_command(context: Context, args: Args) -> None:
    community = await context.require_community()
    resource = await _resource(context, community, args)
    if resource.status != stored.SUGGESTED:
        raise CommandError(
            f"{label(resource)} isn't waiting for review; `resource remove {label(resource)}` "
            "takes a link out of the library."
        )
    await context.session.delete(resource)
    context.reply_privately(Card(f"Suggestion {label(resource)} turned down and removed."))


async def remove_command(context: Context, args: Args) -> None:
    community = await context.require_community()
    resource = await _resource(context, community, args)
    await context.session.delete(resource)
    context.reply_privately(
        Card(f"Removed from the library: {label(resource)} *{typed(resource.title)}*.")
    )


def emoji_name(raw: str) -> str:
    """`:pushpin:`, `pushpin` and 📌 all as `pushpin`."""
    name = raw.strip().strip(":").lower()
    return EMOJI_ALIASES.get(name, name)


async def reaction_command(context: Context, args: Args) -> None:
    community = await context.require_community()
    settings = await context.session.get(LibrarySettings, community.id)
    tokens = args.tokens
    if not tokens:
        current = settings.save_reaction if settings else None
        text = (
            f"Reacting with :{typed(current)}: to a message with a link saves it to the library."
            if current
            else "No reaction saves links yet."
        )
        context.reply_privately(
            Card(
                text,
                (
                    ContextLine(
                        f"`{context.prefix} library reaction pushpin` sets one; "
                        "`library reaction off` turns it off."
                    ),
                ),
            )
        )
        return
    if len(tokens) != 1:
        raise UsageError("Give one emoji, like `pushpin`, or `off`.")
    name = emoji_name(tokens[0])
    if name != "off" and not (
        0 < len(name) <= 64 and all(c.isalnum() or c in "_-+'" for c in name)
    ):
        raise UsageError("Give an emoji by name, like `pushpin` or `:bookmark:`, or `off`.")
    if settings is None:
        settings = LibrarySettings(community_id=community.id, updated_at=context.now())
        context.session.add(settings)
    settings.save_reaction = None if name == "off" else name
    settings.updated_at = context.now()
    text = (
        "Reactions no longer save links."
        if name == "off"
        else f"Reacting with :{typed(name)}: to a message with a link now saves it to the library "
        "(a facilitator's reaction adds it; a member's suggests it)."
    )
    context.reply_privately(Card(text))


async def on_reaction(context: Context, event: ReactionAdded) -> None:
    """The chosen reaction on a channel message with a link saves (or suggests) the link."""
    community = await context.community()
    if community is None:
        return
    settings = await context.session.get(LibrarySettings, community.id)
    if settings is None or settings.save_reaction != emoji_name(event.emoji):
        return
    message = await context.session.scalar(
        select(Message).where(
            Message.community_id == community.id, Message.message_id == event.message_id
        )
    )
    url = first_url(message.text or "") if message is not None else None
    if message is None or url is None:
        return
    member = await context.member()
    if member.is_bot:
        return
    title = _title_from(message.text or "", url)
    facilitator = await context.is_facilitator(community, member)
    resource = await save(
        context, community, member, url, title, "", "", facilitator, message_id=event.message_id
    )
    if resource is None:
        return  # already saved: a second reaction changes nothing
    if facilitator:
        text = f"Saved to the library: {describe(resource)}"
    else:
        text = f"Suggested for the library: {describe(resource)} — a facilitator will review it."
    context.reply_privately(
        Card(text, (ContextLine(f"`{context.prefix} resources` searches the library."),))
    )


def _title_from(text: str, url: str) -> str:
    """A title for a link saved from a message: the message's words around it (a Slack link's
    label kept, links dropped), else the site's name."""
    labelled = SLACK_LINK.sub(lambda m: m.group(2) or " ", text)
    words = " ".join(w for w in labelled.split() if not URL_IN_TEXT.match(w))
    title = words.strip(" :-—") or url.split("/")[2]
    return title if len(title) <= MAX_TITLE else title[: MAX_TITLE - 1] + "…"


async def digest(context: Context, period: DigestPeriod) -> DigestSection | None:
    """Links approved in the period."""
    new = await stored.approved_between(
        context.session, period.community_id, period.start, period.end
    )
    if not new:
        return None
    items = tuple(DigestItem(f"*{typed(r.title)}* — {typed(r.url)}", r.url) for r in new)
    return DigestSection("New in the library", items)


async def export(context: Context, member: Member) -> list[dict[str, str]]:
    """my-data: the links the member added or suggested."""
    found = await context.session.scalars(select(Resource).where(Resource.added_by == member.id))
    return [{"url": r.url, "title": r.title, "status": r.status} for r in found]
