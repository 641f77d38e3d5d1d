"""Lurker queries: who never posted, who is due a nudge, and what nudging achieved.

Every query here reads memberships, participation facts and nudges: indexed rows whose number
grows with the members, never with the message history (the "lively thread" reads only the
recent window of messages, through `ix_messages_community_posted`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    false,
    func,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from hearth.storage.db import insert_ignore, keep
from hearth.storage.models import (
    Facilitator,
    LurkerSettings,
    Member,
    MemberSettings,
    Membership,
    Message,
    Nudge,
    OutboxMessage,
    Participation,
)

SENT = "sent"
"""outbox.SENT (storage imports nothing of handlers; the outbox module is ours too)."""


async def settings_of(session: AsyncSession, community_id: int) -> LurkerSettings:
    """The community's settings row, created with the defaults when there is none."""
    row = await session.get(LurkerSettings, community_id)
    if row is None:
        await insert_ignore(
            session,
            LurkerSettings,
            {"community_id": community_id, "days": 14, "per_day": 3, "celebrate": True},
        )
        row = await session.get(LurkerSettings, community_id)
        assert row is not None
    return row


async def load_participation(session: AsyncSession, pairs: set[tuple[int, int]]) -> None:
    """Load the post facts of these (community, member) pairs into the session in one query,
    so that `record_post` finds them there."""
    if pairs:
        keep(
            session,
            await session.scalars(
                select(Participation).where(
                    tuple_(Participation.community_id, Participation.member_id).in_(pairs)
                )
            ),
        )


async def record_post(
    session: AsyncSession, community_id: int, member_id: int, at: datetime
) -> bool:
    """Keep the member's first/last post facts; True when this is their first post here."""
    row = await session.get(Participation, (community_id, member_id))
    if row is not None:
        if at > row.last_posted_at:
            row.last_posted_at = at
        if at < row.first_posted_at:
            row.first_posted_at = at
        return False
    inserted = await insert_ignore(
        session,
        Participation,
        {
            "community_id": community_id,
            "member_id": member_id,
            "first_posted_at": at,
            "last_posted_at": at,
        },
    )
    return inserted


def _quiet_members(community_id: int, joined_before: datetime) -> Select[tuple[Member, datetime]]:
    """Current members who joined before `joined_before` and never posted: not facilitators,
    bots or deactivated (forgotten members have no row any more)."""
    return (
        select(Member, Membership.joined_at)
        .join(Membership, Membership.member_id == Member.id)
        .outerjoin(
            Participation,
            and_(
                Participation.community_id == Membership.community_id,
                Participation.member_id == Membership.member_id,
            ),
        )
        .outerjoin(
            Facilitator,
            and_(
                Facilitator.community_id == Membership.community_id,
                Facilitator.member_id == Membership.member_id,
            ),
        )
        .where(
            Membership.community_id == community_id,
            Membership.left_at.is_(None),
            Membership.joined_at <= joined_before,
            Participation.member_id.is_(None),
            Facilitator.member_id.is_(None),
            Member.is_bot.is_(false()),
            Member.deactivated.is_(false()),
        )
    )


@dataclass(frozen=True)
class LurkerGroup:
    """Lurkers of one group (segment) who did or did not pause Hearth: how many, how many joined
    after each of the `edges` given, and when the longest-standing joined."""

    segment: str | None
    paused: bool
    count: int
    after: tuple[int, ...]
    oldest: datetime


async def lurker_groups(
    session: AsyncSession, community_id: int, joined_before: datetime, edges: tuple[datetime, ...]
) -> list[LurkerGroup]:
    """The community's lurkers counted in SQL, by group and pause (no row per member)."""
    counts = [func.sum(case((Membership.joined_at > edge, 1), else_=0)) for edge in edges]
    query = (
        _quiet_members(community_id, joined_before)
        .with_only_columns(
            Member.segment,
            Member.unsolicited_dms_off,
            func.count(),
            func.min(Membership.joined_at),
            *counts,
        )
        .group_by(Member.segment, Member.unsolicited_dms_off)
    )
    return [
        LurkerGroup(segment, bool(paused), count, tuple(int(n or 0) for n in after), oldest)
        for segment, paused, count, oldest, *after in await session.execute(query)
    ]


async def lurker_names(
    session: AsyncSession, community_id: int, joined_before: datetime, limit: int
) -> list[tuple[str, datetime]]:
    """The first `limit` lurkers who did not pause Hearth, longest quiet first: name, joined."""
    query = (
        _quiet_members(community_id, joined_before)
        .with_only_columns(Member.name, Membership.joined_at)
        .where(Member.unsolicited_dms_off.is_(false()))
        .order_by(Membership.joined_at, Member.id)
        .limit(limit)
    )
    return [(name, joined) for name, joined in await session.execute(query)]


@dataclass(frozen=True)
class Candidate:
    """A lurker due a nudge: `number` is 1 or 2."""

    member: Member
    joined_at: datetime
    number: int


async def due_for_nudge(
    session: AsyncSession,
    community_id: int,
    *,
    joined_before: datetime,
    last_sent_before: datetime,
    offset: int,
    limit: int,
) -> list[Candidate]:
    """Lurkers who may get a nudge now, by nudge number: never nudged (1), or nudged once with
    that nudge sent before `last_sent_before` (2). Members who paused Hearth or turned the
    preference "nudges" off are left out."""
    first, second = aliased(Nudge), aliased(Nudge)
    sent = aliased(OutboxMessage)

    def nudge(alias: type[Nudge], number: int) -> ColumnElement[bool]:
        return and_(
            alias.community_id == Membership.community_id,
            alias.member_id == Membership.member_id,
            alias.number == number,
        )

    query = (
        _quiet_members(community_id, joined_before)
        .add_columns(first.member_id)
        .outerjoin(first, nudge(first, 1))
        .outerjoin(sent, sent.key == first.key)
        .outerjoin(second, nudge(second, 2))
        .outerjoin(MemberSettings, MemberSettings.member_id == Member.id)
        .where(
            Member.unsolicited_dms_off.is_(false()),
            or_(  # not those who turned nudges off (they would stand first in line every day)
                MemberSettings.member_id.is_(None),
                MemberSettings.dms["nudges"].as_boolean().is_(None),
                MemberSettings.dms["nudges"].as_boolean() == true(),
            ),
            second.member_id.is_(None),
            or_(
                first.member_id.is_(None),
                and_(sent.status == SENT, sent.sent_at <= last_sent_before),
            ),
        )
        .order_by(Membership.joined_at, Member.id)
        .offset(offset)
        .limit(limit)
    )
    return [
        Candidate(member, joined, 1 if nudged is None else 2)
        for member, joined, nudged in await session.execute(query)
    ]


async def nudges_of(session: AsyncSession, community_id: int, member_id: int) -> list[Nudge]:
    return list(
        await session.scalars(
            select(Nudge)
            .where(Nudge.community_id == community_id, Nudge.member_id == member_id)
            .order_by(Nudge.number)
        )
    )


@dataclass(frozen=True)
class SentNudge:
    member_id: int
    number: int
    sent_at: datetime


async def sent_nudges(session: AsyncSession, community_id: int, since: datetime) -> list[SentNudge]:
    """Nudges of the community that went out since `since`."""
    rows = await session.execute(
        select(Nudge.member_id, Nudge.number, OutboxMessage.sent_at)
        .join(OutboxMessage, OutboxMessage.key == Nudge.key)
        .where(
            Nudge.community_id == community_id,
            Nudge.due_at >= since - timedelta(days=8),  # deferred at most a week by the cap
            OutboxMessage.status == SENT,
            OutboxMessage.sent_at >= since,
        )
    )
    return [SentNudge(m, n, at) for m, n, at in rows if at is not None]


async def first_nudge_sent(session: AsyncSession, community_id: int) -> dict[int, datetime]:
    """When each member's first nudge here went out (members never nudged are absent)."""
    rows = await session.execute(
        select(Nudge.member_id, func.min(OutboxMessage.sent_at))
        .join(OutboxMessage, OutboxMessage.key == Nudge.key)
        .where(Nudge.community_id == community_id, OutboxMessage.status == SENT)
        .group_by(Nudge.member_id)
    )
    return {m: at for m, at in rows if at is not None}


@dataclass(frozen=True)
class Comparable:
    """A member for the conversion baseline: when they joined, left, first posted."""

    member_id: int
    joined_at: datetime
    left_at: datetime | None
    first_posted_at: datetime | None
    paused: bool
    nudges_on: bool


async def comparable_pool(
    session: AsyncSession, community_id: int, joined_before: datetime, posted_since: datetime
) -> list[Comparable]:
    """Members who joined before `joined_before` and had not posted before `posted_since`
    (or never): not facilitators, bots or deactivated."""
    query = (
        select(
            Membership.member_id,
            Membership.joined_at,
            Membership.left_at,
            Participation.first_posted_at,
            Member.unsolicited_dms_off,
            MemberSettings.dms,
        )
        .join(Member, Member.id == Membership.member_id)
        .outerjoin(MemberSettings, MemberSettings.member_id == Member.id)
        .outerjoin(
            Participation,
            and_(
                Participation.community_id == Membership.community_id,
                Participation.member_id == Membership.member_id,
            ),
        )
        .outerjoin(
            Facilitator,
            and_(
                Facilitator.community_id == Membership.community_id,
                Facilitator.member_id == Membership.member_id,
            ),
        )
        .where(
            Membership.community_id == community_id,
            Membership.joined_at <= joined_before,
            or_(
                Participation.member_id.is_(None),
                Participation.first_posted_at >= posted_since,
            ),
            Facilitator.member_id.is_(None),
            Member.is_bot.is_(false()),
            Member.deactivated.is_(false()),
        )
    )
    return [
        Comparable(member, joined, left, first, paused, bool((dms or {}).get("nudges", True)))
        for member, joined, left, first, paused, dms in await session.execute(query)
    ]


async def first_posts(
    session: AsyncSession, community_id: int, member_ids: list[int]
) -> dict[int, datetime]:
    found: dict[int, datetime] = {}
    for start in range(0, len(member_ids), 500):
        rows = await session.execute(
            select(Participation.member_id, Participation.first_posted_at).where(
                Participation.community_id == community_id,
                Participation.member_id.in_(member_ids[start : start + 500]),
            )
        )
        found.update({member: at for member, at in rows})
    return found


async def lively_thread(
    session: AsyncSession, community_id: int, since: datetime
) -> tuple[str, int] | None:
    """The text of the thread with the most replies since `since` (two at least) and how many;
    None when there is none, or its text is gone."""
    replies = func.count(Message.id)
    row = (
        await session.execute(
            select(Message.thread_id, replies)
            .where(
                Message.community_id == community_id,
                Message.posted_at >= since,
                Message.thread_id.is_not(None),
                Message.deleted_at.is_(None),
            )
            .group_by(Message.thread_id)
            .having(replies >= 2)
            .order_by(replies.desc(), Message.thread_id)
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    text = await session.scalar(
        select(Message.text).where(
            Message.community_id == community_id,
            Message.message_id == row[0],
            Message.deleted_at.is_(None),
        )
    )
    return (text, row[1]) if text else None


async def facilitators(session: AsyncSession, community_id: int) -> list[Member]:
    """The community's facilitators who are still in it, first added first."""
    return list(
        await session.scalars(
            select(Member)
            .join(Facilitator, Facilitator.member_id == Member.id)
            .outerjoin(
                Membership,
                (Membership.member_id == Member.id)
                & (Membership.community_id == Facilitator.community_id),
            )
            .where(Facilitator.community_id == community_id, Membership.left_at.is_(None))
            .order_by(Facilitator.added_at)
        )
    )
