"""Expertise commands: members declare what they know, facilitators assign it, anyone asks who
knows a topic; the welcome's interests seed it; my-data and forget-me cover it."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hearth.handlers.cards import Card, names_of, typed
from hearth.handlers.commands import Args, CommandError, UsageError, mentioned_user
from hearth.handlers.context import Context
from hearth.handlers.expertise import router
from hearth.handlers.expertise.text import terms as text_terms
from hearth.handlers.registry import Registry
from hearth.storage import expertise as store
from hearth.storage.models import Community, Member, Membership

GROUP = "questions and experts"
MAX_TOPIC = 60
"""Characters in a topic."""
MAX_TOPICS = 25
"""Topics one member may have in one community (declared, assigned and from interests)."""
SHOWN = 10
DECLARED, ASSIGNED, INTEREST = "declared", "assigned", "interest"
_SPACES = re.compile(r"\s+")


def register(registry: Registry) -> None:
    registry.command(
        "expertise add",
        '"<topic>"',
        summary="say you know a topic (others may ask you)",
        group=GROUP,
    )(add_own)
    registry.command(
        "expertise remove", '"<topic>"', summary="stop saying you know a topic", group=GROUP
    )(remove_own)
    registry.command("expertise list", summary="the topics you're known for here", group=GROUP)(
        list_own
    )
    registry.command(
        "expert add",
        '@someone "<topic>"',
        summary="record that someone knows a topic",
        facilitator_only=True,
        group=GROUP,
    )(assign)
    registry.command(
        "expert remove",
        '@someone "<topic>"',
        summary="unrecord that someone knows a topic",
        facilitator_only=True,
        group=GROUP,
    )(unassign)
    registry.command(
        "experts",
        "<topic>",
        summary="who knows a topic (declared, assigned or answering)",
        group=GROUP,
    )(who_knows)
    registry.personal("expertise", export=export_expertise, forget=forget_expertise)


def folded(topic: str) -> str:
    """A topic's comparison key: lower case, single spaces."""
    return _SPACES.sub(" ", topic).strip().casefold()


def _topic(text: str, problem: str) -> str:
    """The topic as typed (spaces tidied), or a usage error saying what is wrong."""
    topic = _SPACES.sub(" ", text).strip()
    if not topic:
        raise UsageError(problem)
    if len(topic) > MAX_TOPIC:
        raise UsageError(f"That topic is {len(topic)} characters; keep it under {MAX_TOPIC}.")
    if not text_terms(topic):
        raise UsageError('Name the topic in words, like `"benefits realisation"`.')
    return topic


def _own_topic(args: Args) -> str:
    return _topic(args.one_text(), 'Say which topic, like `"benefits realisation"`.')


def _member_and_topic(args: Args) -> tuple[str, str]:
    words = args.words
    user = mentioned_user(words[0].text) if words else None
    if user is None or words[0].quoted:
        raise UsageError('Mention one person, then the topic: `@alex "assurance"`.')
    rest = args.text.strip()[len(words[0].text) :]
    topic = _topic(Args(rest).one_text(), 'Add the topic after the mention: `@alex "assurance"`.')
    return user, topic


async def _add(
    context: Context, member: Member, topic: str, source: str, added_by: int | None
) -> bool:
    community = await context.require_community()
    session = context.session
    existing = await store.topics(session, community.id, member.id)
    if folded(topic) not in {t.key for t in existing} and len(existing) >= MAX_TOPICS:
        raise CommandError(
            f"That's {MAX_TOPICS} topics already; remove one first (`{context.prefix} "
            "expertise list` shows them)."
        )
    return await store.add_topic(
        session,
        community.id,
        member.id,
        folded(topic),
        topic,
        text_terms(topic),
        source=source,
        added_by=added_by,
        at=context.now(),
    )


async def add_own(context: Context, args: Args) -> None:
    topic = _own_topic(args)
    member = await context.member()
    added = await _add(context, member, topic, DECLARED, member.id)
    text = "Noted: you know" if added else "You're already down for"
    context.reply_privately(Card(f"{text} {typed(topic)}. Questions about it may come your way."))


async def remove_own(context: Context, args: Args) -> None:
    topic = _own_topic(args)
    community = await context.require_community()
    member = await context.member()
    removed = await store.remove_topic(
        context.session, community.id, member.id, folded(topic), text_terms(topic)
    )
    if not removed:
        raise CommandError(
            f"You're not down for {typed(topic)} here (`{context.prefix} expertise list` "
            "shows your topics)."
        )
    context.reply_privately(Card(f"Removed: {typed(topic)}."))


SOURCES = {DECLARED: "you said so", ASSIGNED: "a facilitator added it", INTEREST: "your interests"}


async def list_own(context: Context, args: Args) -> None:
    community = await context.require_community()
    member = await context.member()
    topics = await store.topics(context.session, community.id, member.id)
    record = [
        r
        for r in await store.member_record(context.session, member.id)
        if r.community_id == community.id
    ]
    lines = [f"• {typed(t.topic)} ({SOURCES.get(t.source, t.source)})" for t in topics]
    if not lines:
        lines = [f'No topics yet: `{context.prefix} expertise add "<topic>"` adds one.']
    if record and record[0].answers:
        answers = record[0].answers
        lines.append(
            f"You've answered {answers} question{'s' if answers != 1 else ''} here "
            f"({record[0].accepted} marked as the answer)."
        )
    context.reply_privately(Card(f"Your topics in {typed(community.name)}:\n" + "\n".join(lines)))


async def assign(context: Context, args: Args) -> None:
    user, topic = _member_and_topic(args)
    member = await context.member(user)
    if member.is_bot:
        raise CommandError("Bots can't be experts.")
    actor = await context.member()
    added = await _add(context, member, topic, ASSIGNED, actor.id)
    text = "now knows" if added else "already knows"
    context.reply_privately(
        Card(f"<@{member.user_id}> {text} {typed(topic)}.", names=names_of([member]))
    )
    if not added:
        from hearth.handlers import audit

        audit.no_change(context)


async def unassign(context: Context, args: Args) -> None:
    user, topic = _member_and_topic(args)
    community = await context.require_community()
    member = await context.member(user)
    removed = await store.remove_topic(
        context.session, community.id, member.id, folded(topic), text_terms(topic)
    )
    if not removed:
        raise CommandError(f"{typed(member.name)} isn't down for {typed(topic)} here.")
    context.reply_privately(
        Card(f"<@{member.user_id}> is no longer down for {typed(topic)}.", names=names_of([member]))
    )


async def who_knows(context: Context, args: Args) -> None:
    topic = _topic(args.one_text(), "Say which topic, like `/cop experts assurance`.")
    community = await context.require_community()
    session = context.session
    generated = await router.candidates(session, community.id, topic, set(), at=context.now())
    relevant = [c for c in generated if c.learned > 0 or c.declared > 0]
    picks = router.best(relevant, SHOWN)
    named = await store.topics_of(session, community.id, [c.member_id for _, c in picks])
    members = {
        m.id: m
        for m in await session.scalars(
            select(Member).where(Member.id.in_([c.member_id for _, c in picks]))
        )
    }
    lines = []
    for _, candidate in picks:
        member = members[candidate.member_id]
        matching = [t.topic for t in named.get(member.id, []) if _overlap(t.topic, topic)]
        if matching:
            why = f"knows {', '.join(typed(t) for t in matching[:2])}"
        else:
            why = router.reason(candidate, {})
        lines.append(f"• <@{member.user_id}>: {why}")
    if not lines:
        context.reply_privately(
            Card(
                f"Nobody here is known for {typed(topic)} yet. Know it? "
                f'`{context.prefix} expertise add "<topic>"` says so.'
            )
        )
        return
    context.reply_privately(
        Card(
            f"Who knows {typed(topic)} in {typed(community.name)}:\n" + "\n".join(lines),
            names=names_of(list(members.values())),
        )
    )


def _overlap(a: str, b: str) -> bool:
    return bool(set(text_terms(a)) & set(text_terms(b)))


# --- the welcome's interests ------------------------------------------------------------------


async def sync_interests(
    session: AsyncSession, member: Member, at: datetime, community_ids: list[int] | None = None
) -> None:
    """Make the member's interest-sourced topics match their chosen interests, in the given
    communities (default: those they are in now). Declared and assigned topics are kept."""
    if community_ids is None:
        community_ids = list(
            await session.scalars(
                select(Membership.community_id).where(
                    Membership.member_id == member.id, Membership.left_at.is_(None)
                )
            )
        )
    wanted = {folded(i): i for i in member.interests if text_terms(i)}
    for community_id in community_ids:
        existing = {t.key: t for t in await store.topics(session, community_id, member.id)}
        for key, topic in existing.items():
            if topic.source == INTEREST and key not in wanted:
                await store.remove_topic(
                    session, community_id, member.id, key, text_terms(topic.topic)
                )
        room = MAX_TOPICS - len(existing)
        for key, interest in wanted.items():
            if key not in existing and room > 0:
                room -= 1
                await store.add_topic(
                    session,
                    community_id,
                    member.id,
                    key,
                    interest[:MAX_TOPIC],
                    text_terms(interest),
                    source=INTEREST,
                    added_by=member.id,
                    at=at,
                )


# --- personal data ----------------------------------------------------------------------------


async def export_expertise(context: Context, member: Member) -> dict[str, Any]:
    """Topics the member is known for, their answering record, and the questions awaiting an
    answer they were among the first picks for, per community."""
    session = context.session
    topics = await store.member_topics(session, member.id)
    record = await store.member_record(session, member.id)
    picked = await store.waiting_picks(session, member.id)
    ids = {t.community_id for t in topics} | {r.community_id for r in record} | set(picked)
    names = {
        community_id: name
        for community_id, name in await session.execute(
            select(Community.id, Community.name).where(Community.id.in_(ids))
        )
    }
    return {
        "topics": [
            {
                "community": names.get(t.community_id),
                "topic": t.topic,
                "source": t.source,
                "added": t.added_at.isoformat(),
            }
            for t in topics
        ],
        "answering": [
            {
                "community": names.get(r.community_id),
                "questions_answered": r.answers,
                "answers_accepted": r.accepted,
                "last_answered": r.last_answered_at.isoformat() if r.last_answered_at else None,
            }
            for r in record
        ],
        "first_picks_awaiting_answers": [
            {"community": names.get(community_id), "questions": count}
            for community_id, count in picked.items()
        ],
    }


async def forget_expertise(context: Context, member: Member) -> None:
    await store.forget_member(context.session, member.id)
