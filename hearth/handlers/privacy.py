"""A member's data: `/cop my-data` sends them all of it, `/cop forget-me` erases it.

Each feature declares what it stores about members with `registry.personal(name, export=…,
forget=…)`; my-data has one section per declaration and forget-me runs every `forget` before
erasing the member record itself. Here are the core sections and the erasure: in one
transaction, the member's settings, memberships, facilitator roles, DMs, conversation
references, journal entries, open one-use tokens and the handled-event ids that name them
go; Hearth's copies of messages they wrote keep their place in threads without an author
or text; their mentions (`<@id>`, structured, never words that happen to be their name)
become "a former member" in every text column of every table (others' messages, polls, a
community's welcome template, segments and interests, cards, the audit log), and their id and
name go from Hearth's own records (a card's names, a job's payload); polls whose text changed
are shown again; the member record goes; and a tombstone with no identity in it
(`policy.forgotten_key`) lets Hearth treat them as a stranger who asked for silence if they
come back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    String,
    Text,
    and_,
    cast,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from hearth.handlers import once, policy, polls, preferences
from hearth.handlers.audit import FORMER_MEMBER
from hearth.handlers.cards import Actions, Button, Card, ContextLine, Section, typed
from hearth.handlers.commands import Args, CommandError
from hearth.handlers.context import MEMBERS, Context
from hearth.handlers.events import ActionClicked
from hearth.handlers.registry import Registry
from hearth.storage import journal, outbox
from hearth.storage import polls as stored
from hearth.storage.db import insert_ignore
from hearth.storage.models import (
    AuditEntry,
    Base,
    Community,
    ConversationRef,
    DueJob,
    Facilitator,
    ForgottenMember,
    InboundEvent,
    Member,
    MemberSettings,
    Membership,
    Message,
    OutboxMessage,
    Poll,
)

FILENAME = "hearth-my-data.json"
PLANNED = ("questions", "expertise")
"""Sections later features will fill (questions asked, expertise): empty lists until then."""


def register(registry: Registry) -> None:
    registry.command(
        "my-data",
        summary="get everything Hearth stores about you, as a file",
        needs_community=False,
        group="members and privacy",
    )(my_data)
    registry.command(
        "forget-me",
        summary="delete everything Hearth stores about you",
        needs_community=False,
        group="members and privacy",
    )(ask)
    registry.action("privacy.export")(export_clicked)
    registry.action("privacy.ask")(ask_clicked)
    registry.action("privacy.forget")(forget_clicked)
    registry.action("privacy.keep")(keep_clicked)
    registry.personal("profile", export=export_profile)
    registry.personal("settings", export=export_settings)
    registry.personal("communities", export=export_communities)
    registry.personal("facilitator_of", export=export_facilitator_roles)
    registry.personal("messages", export=export_messages)
    registry.personal("messages_from_hearth", export=export_outbox)
    registry.personal("facilitator_actions", export=export_audit)


# my-data


async def my_data(context: Context, args: Args) -> None:
    await _send_data(context)


async def export_clicked(context: Context, event: ActionClicked) -> None:
    await _send_data(context)


async def _send_data(context: Context) -> None:
    member = await known_member(context)
    if member is None:
        context.reply_privately(Card(await _nothing_stored(context)))
        return
    content = json.dumps(await export(context, member), indent=2, ensure_ascii=False) + "\n"
    context.send_file(FILENAME, content.encode(), "Everything Hearth stores about you")


async def export(context: Context, member: Member) -> dict[str, Any]:
    """Every section of the member's data, JSON-ready."""
    document: dict[str, Any] = {
        "about": (
            f"What Hearth stores about you ({member.platform} {member.workspace}), "
            f"as of {_iso(context.now())}."
        ),
        "not_included": (
            "Votes and survey answers you gave anonymously: Hearth stores them without anything "
            "that links them to you, so it cannot tell which are yours."
        ),
    }
    for section in context.registry.personal_data.values():
        if section.export is not None:
            document[section.name] = await section.export(context, member)
    for name in PLANNED:
        document.setdefault(name, [])
    return document


async def export_profile(context: Context, member: Member) -> dict[str, Any]:
    return {
        "platform": member.platform,
        "workspace": member.workspace,
        "user_id": member.user_id,
        "name": member.name,
        "time_zone_from_platform": member.tz,
        "bot": member.is_bot,
        "deactivated": member.deactivated,
        "first_seen": _iso(member.created_at),
        "group": member.segment,
        "interests": list(member.interests),
    }


async def export_settings(context: Context, member: Member) -> dict[str, Any]:
    stored = await context.session.get(MemberSettings, member.id)
    chosen = policy.choices(member, stored, await policy.fallback_zone(context.session, member))
    return {
        "messages_paused": chosen.paused,
        "direct_messages": dict(chosen.dms),
        "time_zone": chosen.zone,
        "time_zone_is_your_choice": chosen.zone_is_own,
        "working_hours": str(chosen.working) if chosen.working else None,
        "quiet_hours": str(chosen.quiet) if chosen.quiet else None,
        "digest": chosen.digest if chosen.dms.get("digests") else "off",
        "away_until": _iso(chosen.away_until),
    }


async def export_communities(context: Context, member: Member) -> list[dict[str, Any]]:
    rows = await context.session.execute(
        select(Membership, Community.name)
        .join(Community, Community.id == Membership.community_id)
        .where(Membership.member_id == member.id)
        .order_by(Membership.joined_at)
    )
    return [
        {"community": name, "joined": _iso(m.joined_at), "left": _iso(m.left_at)}
        for m, name in rows
    ]


async def export_facilitator_roles(context: Context, member: Member) -> list[dict[str, Any]]:
    rows = await context.session.execute(
        select(Facilitator.added_at, Community.name)
        .join(Community, Community.id == Facilitator.community_id)
        .where(Facilitator.member_id == member.id)
        .order_by(Facilitator.added_at)
    )
    return [{"community": name, "since": _iso(added)} for added, name in rows]


async def export_messages(context: Context, member: Member) -> list[dict[str, Any]]:
    rows = await context.session.execute(
        select(Message, Community.name)
        .join(Community, Community.id == Message.community_id)
        .where(Message.member_id == member.id)
        .order_by(Message.posted_at, Message.id)
    )
    return [
        {
            "community": name,
            "posted": _iso(m.posted_at),
            "in_a_thread": m.thread_id is not None,
            "text": m.text,
            "edited": _iso(m.edited_at),
            "deleted": _iso(m.deleted_at),
            "text_removed_by_retention": _iso(m.purged_at),
        }
        for m, name in rows
    ]


async def export_outbox(context: Context, member: Member) -> list[dict[str, Any]]:
    """The messages Hearth started to the member: what kind, and when (not their text)."""
    rows = await context.session.scalars(
        select(OutboxMessage).where(_their_dms(member)).order_by(OutboxMessage.id)
    )
    return [
        {
            "kind": row.kind,
            "status": row.status,
            "due": _iso(row.due_at),
            "sent": _iso(row.sent_at),
        }
        for row in rows
    ]


async def export_audit(context: Context, member: Member) -> list[dict[str, Any]]:
    """What the member changed as a facilitator."""
    rows = await context.session.execute(
        select(AuditEntry, Community.name)
        .join(Community, Community.id == AuditEntry.community_id)
        .where(AuditEntry.actor_id == member.id)
        .order_by(AuditEntry.at, AuditEntry.id)
    )
    return [
        {"community": name, "action": e.action, "detail": e.detail, "at": _iso(e.at)}
        for e, name in rows
    ]


# forget-me


async def ask(context: Context, args: Args) -> None:
    await _ask(context)


async def ask_clicked(context: Context, event: ActionClicked) -> None:
    await _ask(context)


async def _ask(context: Context) -> None:
    member = await known_member(context)
    if member is None:
        _show(context, Card(await _nothing_stored(context)))
        return
    await _check_not_sole_facilitator(context, member)
    prefix = context.prefix
    token = await once.issue(
        context.session, context.event.platform, _confirming(member), context.now()
    )
    _show(
        context,
        Card(
            "Forget you? This can't be undone.",
            (
                Section(
                    "Hearth will delete your profile and settings, your community memberships "
                    "and facilitator roles, the messages it sent you, your votes and survey "
                    "answers that carry your name, and your name and mentions of you wherever "
                    "it stored them. Its copies of messages you wrote lose their text (the "
                    "messages stay where you posted them, for you to delete there)."
                ),
                Section(
                    "Afterwards Hearth treats you as a stranger and never messages you "
                    f"unprompted, unless you ask it to with `{prefix} optin`."
                ),
                ContextLine(f"`{prefix} my-data` first, if you'd like a copy."),
                Actions(
                    (
                        Button("Yes, forget me", "privacy.forget", token, style="danger"),
                        Button("Cancel", "privacy.keep", token),
                    )
                ),
            ),
        ),
    )


async def forget_clicked(context: Context, event: ActionClicked) -> None:
    member = await known_member(context)
    if member is None:
        _answer(context, event, Card(await _nothing_stored(context)))
        return
    await _check_not_sole_facilitator(context, member)
    await _take_confirmation(context, event, member)
    await once.revoke(context.session, event.platform, _confirming(member))  # other cards too
    await forget(context, member)
    _answer(
        context,
        event,
        Card(
            "Done: Hearth has forgotten you.",
            (
                ContextLine(
                    "It keeps no name or id of yours, only a note it cannot read back, so that "
                    f"it stays silent if you come back. `{context.prefix} optin` ends that."
                ),
            ),
        ),
    )


async def keep_clicked(context: Context, event: ActionClicked) -> None:
    member = await known_member(context)
    if member is None:
        _answer(context, event, Card(await _nothing_stored(context)))
        return
    # Cancel uses up the confirmation too: a stale "Yes" on it then does nothing
    await once.use(context.session, event.platform, event.value, _confirming(member), context.now())
    if event.message is None and not event.channel and member is not None:  # the Home view
        context.show_home(preferences.home_card(member, await preferences.current(context, member)))
        return
    _answer(context, event, Card("Nothing was deleted."))


def _confirming(member: Member) -> str:
    """What a forget-me confirmation is for: this member record (gone once forgotten)."""
    return f"forget-me:{member.id}"


async def _take_confirmation(context: Context, event: ActionClicked, member: Member) -> None:
    """Use up the clicked confirmation, or refuse a click on one used, expired or not theirs."""
    taken = await once.use(
        context.session, event.platform, event.value, _confirming(member), context.now()
    )
    if taken != "ok":
        raise CommandError(
            "That confirmation is no longer valid, so nothing was deleted. "
            f"`{context.prefix} forget-me` asks again."
        )


def _answer(context: Context, event: ActionClicked, card: Card) -> None:
    """Replace the card clicked (in the Home view: the view)."""
    if event.message is not None:
        context.update(event.message, card)
    else:
        _show(context, card)


def _show(context: Context, card: Card) -> None:
    """Privately, or in the Home view when that is where the member acted (no channel)."""
    if context.event.channel:
        context.reply_privately(card)
    else:
        context.show_home(card)


async def known_member(context: Context) -> Member | None:
    """The actor's member record, if Hearth has one (never creates it)."""
    event = context.event
    cached: dict[tuple[str, str, str], Member] = context.session.info.get(MEMBERS, {})
    found = cached.get((event.platform, event.workspace, event.user))
    if found is not None:
        return found
    return await context.session.scalar(
        select(Member).where(
            Member.platform == event.platform,
            Member.workspace == event.workspace,
            Member.user_id == event.user,
        )
    )


async def _nothing_stored(context: Context) -> str:
    event = context.event
    key = policy.forgotten_key(context.defaults.secret, event.platform, event.workspace, event.user)
    if await context.session.get(ForgottenMember, key) is not None:
        return (
            "Hearth has already forgotten you: it keeps only a note, with no name or id, not to "
            "message you unprompted."
        )
    return "Hearth stores nothing about you."


async def _check_not_sole_facilitator(context: Context, member: Member) -> None:
    """Refuse while a community would be left without a facilitator."""
    other = aliased(Facilitator)
    others = (
        select(func.count())
        .select_from(other)
        .where(other.community_id == Community.id, other.member_id != member.id)
        .correlate(Community)
        .scalar_subquery()
    )
    alone = list(
        await context.session.scalars(
            select(Community.name)
            .join(Facilitator, Facilitator.community_id == Community.id)
            .where(Facilitator.member_id == member.id, others == 0)
            .order_by(Community.id)
        )
    )
    if alone:
        raise CommandError(
            f"You're the only facilitator of {typed(', '.join(alone))}. Hand over first: "
            f"`{context.prefix} facilitator add @someone` there, then ask again."
        )


@dataclass
class Identity:
    """Everything that names a member in stored data: ids, display name, private chats."""

    platform: str
    workspace: str
    ids: set[str]
    name: str
    conversations: set[str] = field(default_factory=set)

    def tokens(self) -> set[str]:
        return {t for t in (*self.ids, self.name, *self.conversations) if t}


async def forget(context: Context, member: Member) -> None:
    """Erase the member, in the handler's transaction (see the module's docstring)."""
    session = context.session
    identity = await _identity(session, member)
    mentioned_in = await _scrub(session, identity)
    for section in context.registry.personal_data.values():
        if section.forget is not None:
            await section.forget(context, member)
    for model in (MemberSettings, Facilitator, Membership):
        await session.execute(delete(model).where(model.member_id == member.id))
    await session.execute(
        update(Message).where(Message.member_id == member.id).values(member_id=None, text=None)
    )
    await session.execute(
        update(AuditEntry).where(AuditEntry.actor_id == member.id).values(actor_id=None)
    )
    await session.execute(delete(OutboxMessage).where(_their_dms(member)))
    await outbox.forget_recipient(session, member.platform, member.workspace, member.user_id)
    await _forget_references(session, identity)
    await once.revoke_member(session, member.platform, member.id)
    await _forget_in_hearths_records(session, identity)
    await session.execute(delete(Member).where(Member.id == member.id))
    session.expunge(member)
    session.info.get(MEMBERS, {}).pop((member.platform, member.workspace, member.user_id), None)
    key = policy.forgotten_key(
        context.defaults.secret, member.platform, member.workspace, member.user_id
    )
    await insert_ignore(session, ForgottenMember, {"key": key})
    for poll_id in sorted(mentioned_in):  # their messages now say what the rows say
        poll = await stored.lock_poll(session, poll_id)
        if poll is not None and poll.status != stored.DRAFT:
            await polls.show(context, await polls.community_of(context, poll), poll)


def _their_dms(member: Member) -> ColumnElement[bool]:
    return or_(
        OutboxMessage.member_id == member.id,
        and_(
            OutboxMessage.platform == member.platform,
            OutboxMessage.workspace == member.workspace,
            OutboxMessage.target_kind == "dm",
            OutboxMessage.target_id == member.user_id,
        ),
    )


async def _identity(session: AsyncSession, member: Member) -> Identity:
    """The member's ids and name, their DM conversations, and (Teams) the account ids their
    stored conversation references carry."""
    identity = Identity(member.platform, member.workspace, {member.user_id}, member.name)
    identity.conversations.update(
        c
        for c in await session.scalars(
            select(OutboxMessage.sent_conversation).where(
                _their_dms(member), OutboxMessage.sent_conversation.is_not(None)
            )
        )
        if c
    )
    references = await session.execute(
        select(ConversationRef.key, ConversationRef.reference).where(
            ConversationRef.platform == member.platform,
            ConversationRef.workspace == member.workspace,
            ConversationRef.key.in_((f"user:{member.user_id}", f"member:{member.user_id}")),
        )
    )
    for key, reference in references:
        user = reference.get("user") or {}
        identity.ids.update(i for i in (user.get("id"), user.get("aadObjectId")) if i)
        conversation = (reference.get("conversation") or {}).get("id")
        if key.startswith("user:") and conversation:  # their 1:1 chat with Hearth
            identity.conversations.add(conversation)
    return identity


async def _forget_references(session: AsyncSession, identity: Identity) -> None:
    """Delete stored conversation references and handled-event ids that name the member."""
    ids = identity.ids | identity.conversations
    await session.execute(
        delete(ConversationRef).where(
            ConversationRef.platform == identity.platform,
            ConversationRef.workspace == identity.workspace,
            or_(
                ConversationRef.key.in_(ids),
                *(ConversationRef.key.contains(i, autoescape=True) for i in ids),
                *(cast(ConversationRef.reference, Text).contains(i, autoescape=True) for i in ids),
            ),
        )
    )
    await session.execute(
        delete(InboundEvent).where(
            InboundEvent.platform == identity.platform,
            or_(*_handled_events_of(identity)),
        )
    )
    await journal.forget_user(session, identity.platform, identity.workspace, identity.ids)


def _handled_events_of(identity: Identity) -> list[ColumnElement[bool]]:
    """The handled-event ids that name the member, and only those: the events of their 1:1
    chat (`<conversation>:…`) and the ones the adapter keyed by them (`…:<kind>:<user
    id>:<channel>`, a whole segment). One-use tokens (`once:…`) name member records, not
    platform ids: `once.revoke_member` closes the member's own."""
    event_id = InboundEvent.event_id
    return [
        *(event_id.startswith(f"{c}:", autoescape=True) for c in identity.conversations),
        *(
            and_(
                event_id.not_like(f"{once.PREFIX}%"),
                event_id.contains(f":{i}:", autoescape=True),
            )
            for i in identity.ids
        ),
    ]


async def _scrub(session: AsyncSession, identity: Identity) -> set[int]:
    """Replace the member's mentions (`<@id>`, `<@id|label>`) with "a former member" in every
    text and JSON column of every table: what people wrote is otherwise left exactly as it
    was, word for word. Returns the ids of the polls whose text changed."""
    ids = sorted(identity.ids, key=len, reverse=True)
    mention = re.compile("<@(?:" + "|".join(re.escape(i) for i in ids) + r")(?:\|[^<>]*)?>")

    def scrub(text: str) -> str:
        return mention.sub(FORMER_MEMBER, text)

    polls_changed: set[int] = set()
    for mapper in Base.registry.mappers:
        model = mapper.class_
        for column in mapper.local_table.columns:
            if column.primary_key or not isinstance(column.type, String | JSON):
                continue
            searched = column if isinstance(column.type, String) else cast(column, Text)
            attribute = mapper.get_property_by_column(column).key
            rows = await session.scalars(
                select(model).where(
                    or_(*(searched.contains(f"<@{i}", autoescape=True) for i in ids))
                )
            )
            for row in rows:
                before = getattr(row, attribute)
                after = _scrub_json(before, scrub, set())
                if after != before:
                    setattr(row, attribute, after)
                    if isinstance(row, Poll):
                        polls_changed.add(row.id)
    await session.flush()
    return polls_changed


async def _forget_in_hearths_records(session: AsyncSession, identity: Identity) -> None:
    """Hearth's own structured records that carry the member's id as a value: a card's
    `names` (mentioned id → name), a queued job's payload."""
    ids = identity.ids
    keys = [json.dumps(i) for i in ids]

    def same(text: str) -> str:
        return FORMER_MEMBER if text in ids else text

    for outgoing in await session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.platform == identity.platform,
            OutboxMessage.workspace == identity.workspace,
            or_(*(cast(OutboxMessage.card, Text).contains(k, autoescape=True) for k in keys)),
        )
    ):
        card = dict(outgoing.card)
        card["names"] = {k: v for k, v in card.get("names", {}).items() if k not in ids}
        if "quiet" in card:
            card["quiet"] = [q for q in card["quiet"] if q not in ids]
        outgoing.card = card
    for job in await session.scalars(
        select(DueJob).where(
            DueJob.platform == identity.platform,
            DueJob.workspace == identity.workspace,
            or_(*(cast(DueJob.payload, Text).contains(k, autoescape=True) for k in keys)),
        )
    ):
        job.payload = _scrub_json(job.payload, same, ids)
    await session.flush()


def _scrub_json(value: Any, scrub: Callable[[str], str], ids: set[str]) -> Any:
    """`value` with every string scrubbed and every key that is one of `ids` dropped."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, list):
        return [_scrub_json(v, scrub, ids) for v in value]
    if isinstance(value, dict):
        return {scrub(k): _scrub_json(v, scrub, ids) for k, v in value.items() if k not in ids}
    return value


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
