"""Lurker queries: who never posted, who is due a nudge, and what nudging achieved.

Every query here reads memberships, participation facts and nudges: indexed rows whose number
grows with the members, never with the message history (the "lively thread" reads only the
recent window of messages, through `ix_messages_community_posted`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    distinct,
    false,
    func,
    literal,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from hearth.storage.db import insert_ignore, keep, plus_days, scanned
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
    UTCDateTime,
)

_Row = TypeVar("_Row", bound=tuple[Any, ...])

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


def _members(community_id: int) -> Select[tuple[Member, datetime]]:
    """The community's members, past and present, who can be lurkers: not facilitators, bots
    or deactivated (forgotten members have no row any more); their participation facts joined
    (`Participation.member_id` is NULL for those who never posted)."""
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
            Facilitator.member_id.is_(None),
            Member.is_bot.is_(false()),
            Member.deactivated.is_(false()),
        )
    )


def _quiet_members(
    community_id: int,
    joined_before: datetime,
    joined: ColumnElement[datetime] = Membership.joined_at,
) -> Select[tuple[Member, datetime]]:
    """The community's lurkers: current members who joined before `joined_before` and never
    posted (see `_members`). `joined`: the join time as the condition reads it (`scanned`)."""
    return _members(community_id).where(
        Membership.left_at.is_(None),
        joined <= joined_before,
        Participation.member_id.is_(None),
    )


def _nudgeable(query: Select[_Row]) -> Select[_Row]:
    """`query` (over members) kept to those who did not pause Hearth nor turn the preference
    "nudges" off, as their settings are now."""
    return query.outerjoin(MemberSettings, MemberSettings.member_id == Member.id).where(
        Member.unsolicited_dms_off.is_(false()),
        or_(
            MemberSettings.member_id.is_(None),
            MemberSettings.dms["nudges"].as_boolean().is_(None),
            MemberSettings.dms["nudges"].as_boolean() == true(),
        ),
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
    """The community's lurkers counted in SQL, by group and pause (no row per member), in one
    pass over its members in table order."""
    counts = [func.sum(case((Membership.joined_at > edge, 1), else_=0)) for edge in edges]
    joined = scanned(session, Membership.joined_at)
    query = (
        _quiet_members(community_id, joined_before, joined)
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
        _nudgeable(_quiet_members(community_id, joined_before))  # those who turned nudges off
        .add_columns(first.member_id)  # would otherwise stand first in line every day
        .outerjoin(first, nudge(first, 1))
        .outerjoin(sent, sent.key == first.key)
        .outerjoin(second, nudge(second, 2))
        .where(
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
class Rate:
    """`converted` of `counted` members."""

    converted: int
    counted: int


@dataclass(frozen=True)
class NudgedRate:
    """Members nudged in the window: `rate` among those with a nudge sent by `closed`, and
    `too_soon`: those whose nudges in the window were all sent after `closed`."""

    rate: Rate
    too_soon: int


async def nudged_rate(
    session: AsyncSession, community_id: int, *, start: datetime, closed: datetime, days: int
) -> NudgedRate:
    """Of the members with a nudge sent in [`start`, now], those with one sent by `closed` and,
    of them, those whose first post came `days` days after one of those at most (sent ≤ first
    post ≤ sent + days). One aggregate over the window's nudges (`ix_nudges_community_due`:
    a nudge is deferred at most a week by the weekly cap, so one sent since `start` was due
    since `start` − 8 days)."""
    member, sent_at, first = Nudge.member_id, OutboxMessage.sent_at, Participation.first_posted_at
    settled = sent_at <= closed
    converted = and_(settled, first >= sent_at, first <= plus_days(session, sent_at, days))
    query = (
        select(
            func.count(distinct(member)),
            func.count(distinct(case((settled, member)))),
            func.count(distinct(case((converted, member)))),
        )
        .select_from(Nudge)
        .join(OutboxMessage, OutboxMessage.key == Nudge.key)
        .outerjoin(
            Participation,
            and_(
                Participation.community_id == Nudge.community_id,
                Participation.member_id == Nudge.member_id,
            ),
        )
        .where(
            Nudge.community_id == community_id,
            Nudge.due_at >= start - timedelta(days=8),
            OutboxMessage.status == SENT,
            sent_at >= start,
        )
    )
    total, counted, posted = (await session.execute(query)).one()
    return NudgedRate(Rate(posted, counted), total - counted)


async def comparable_rate(
    session: AsyncSession,
    community_id: int,
    *,
    lurk_days: int,
    start: datetime,
    closed: datetime,
    days: int,
) -> Rate:
    """The baseline of the README, in one aggregate: members (see `_members`) who may be
    nudged, whose reference moment r = max(joined + `lurk_days`, `start`) is by `closed`, who
    had not posted before r, nor left or been sent a nudge before r + `days`; of them, those
    whose first post came in [r, r + `days`)."""
    joined, first = scanned(session, Membership.joined_at), Participation.first_posted_at
    early = joined <= start - timedelta(days=lurk_days)  # a lurker before the window opened
    became = case(
        (early, literal(start, UTCDateTime())), else_=plus_days(session, joined, lurk_days)
    )
    ended = case(
        (early, literal(start + timedelta(days=days), UTCDateTime())),
        else_=plus_days(session, joined, lurk_days + days),
    )
    nudged_before_end = (
        select(Nudge.number)
        .join(OutboxMessage, OutboxMessage.key == Nudge.key)
        .where(
            Nudge.community_id == Membership.community_id,
            Nudge.member_id == Membership.member_id,
            OutboxMessage.status == SENT,
            OutboxMessage.sent_at < ended,
        )
        .exists()
    )
    query = (
        _nudgeable(_members(community_id))
        .with_only_columns(
            func.count(), func.sum(case((and_(first.is_not(None), first < ended), 1), else_=0))
        )
        .where(
            joined <= closed - timedelta(days=lurk_days),
            or_(first.is_(None), first >= became),
            or_(Membership.left_at.is_(None), Membership.left_at >= ended),
            ~nudged_before_end,
        )
    )
    counted, posted = (await session.execute(query)).one()
    return Rate(int(posted or 0), counted)


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
