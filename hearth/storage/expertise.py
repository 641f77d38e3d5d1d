"""Expertise queries: the incremental answer record and inverted term index behind routing.

Everything here is updated as questions and replies arrive (a few rows per event), so that
ranking one question reads only the index rows of its own terms and a few profiles.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hearth.storage.db import dialect_insert
from hearth.storage.models import (
    ExpertAnswer,
    ExpertCommunity,
    ExpertProfile,
    ExpertQuestion,
    ExpertTerm,
    ExpertTermStat,
    ExpertTopic,
)


@dataclass(frozen=True)
class Decay:
    """Half-lives, in answers recorded in the community, of the two activity measures."""

    slow: float
    fast: float


@dataclass(frozen=True)
class Totals:
    """A community's running totals (see ExpertCommunity)."""

    questions: int
    answers: int
    term_mass: float
    profiles: int


@dataclass(frozen=True)
class Profile:
    """A member's answering record, with activity decayed to the community's clock now."""

    member_id: int
    answers: int
    accepted: int
    activity: float
    fast: float
    term_mass: float
    since_last: int
    """Answers recorded in the community since this member's last one."""
    last_answered_at: datetime | None


def _activity(key: float, clock: int, half_life: float) -> float:
    if key == 0.0:
        return 0.0
    return 2.0 ** (key - clock / half_life)


def _key(key: float, clock: int, half_life: float) -> float:
    """`key` with one more answer at `clock` (log2 of the decayed count, plus clock/half-life)."""
    now = clock / half_life
    before = 2.0 ** (key - now) if key else 0.0
    return math.log2(before + 1.0) + now


async def _community(session: AsyncSession, community_id: int) -> ExpertCommunity:
    """The community's totals row, created if missing, locked until the transaction ends."""
    insert = dialect_insert(session)
    await session.execute(
        insert(ExpertCommunity)
        .values(community_id=community_id, questions=0, answers=0, term_mass=0.0, profiles=0)
        .on_conflict_do_nothing()
    )
    row = await session.scalar(
        select(ExpertCommunity)
        .where(ExpertCommunity.community_id == community_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert row is not None
    return row


async def totals(session: AsyncSession, community_id: int) -> Totals:
    row = await session.get(ExpertCommunity, community_id)
    if row is None:
        return Totals(0, 0, 0.0, 0)
    return Totals(row.questions, row.answers, row.term_mass, row.profiles)


async def add_question(
    session: AsyncSession,
    community_id: int,
    question_key: str,
    asker_id: int | None,
    terms: list[str],
    at: datetime,
) -> bool:
    """Remember a question and count its terms; False (and nothing changes) if already seen."""
    insert = dialect_insert(session)
    result = await session.execute(
        insert(ExpertQuestion)
        .values(
            community_id=community_id,
            question_key=question_key,
            asker_id=asker_id,
            terms=terms,
            asked_at=at,
        )
        .on_conflict_do_nothing()
    )
    if result.rowcount != 1:
        return False
    community = await _community(session, community_id)
    community.questions += 1
    if terms:
        statement = insert(ExpertTermStat).values(
            [{"community_id": community_id, "term": t, "questions": 1} for t in set(terms)]
        )
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=["community_id", "term"],
                set_={"questions": ExpertTermStat.questions + 1},
            )
        )
    return True


async def add_answer(
    session: AsyncSession,
    community_id: int,
    question_key: str,
    member_id: int,
    at: datetime,
    *,
    accepted: bool,
    decay: Decay,
    accepted_bonus: float,
) -> bool:
    """Learn from a reply (or an accepted answer) to a known question; False when there was
    nothing new to learn (unknown question, the asker's own reply, a repeat)."""
    question = await session.scalar(
        select(ExpertQuestion).where(
            ExpertQuestion.community_id == community_id,
            ExpertQuestion.question_key == question_key,
        )
    )
    if question is None or question.asker_id == member_id:
        return False
    answer = await session.get(ExpertAnswer, (question.id, member_id))
    if answer is not None and (answer.accepted or not accepted):
        return False
    community = await _community(session, community_id)
    insert = dialect_insert(session)
    await session.execute(
        insert(ExpertProfile)
        .values(
            community_id=community_id,
            member_id=member_id,
            answers=0,
            accepted=0,
            activity_key=0.0,
            fast_key=0.0,
            term_mass=0.0,
            last_clock=0,
        )
        .on_conflict_do_nothing()
    )
    profile = await session.scalar(
        select(ExpertProfile)
        .where(ExpertProfile.community_id == community_id, ExpertProfile.member_id == member_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert profile is not None
    terms = sorted(set(question.terms))
    gain = 0.0
    if answer is None:
        session.add(
            ExpertAnswer(
                question_id=question.id, member_id=member_id, accepted=accepted, answered_at=at
            )
        )
        if profile.answers == 0:
            community.profiles += 1
        community.answers += 1
        clock = community.answers
        profile.answers += 1
        profile.activity_key = _key(profile.activity_key, clock, decay.slow)
        profile.fast_key = _key(profile.fast_key, clock, decay.fast)
        profile.last_clock = clock
        profile.last_answered_at = at
        gain += 1.0
    else:
        answer.accepted = True
    if accepted:
        profile.accepted += 1
        gain += accepted_bonus
    if terms and gain:
        profile.term_mass += gain * len(terms)
        community.term_mass += gain * len(terms)
        statement = insert(ExpertTerm).values(
            [
                {
                    "community_id": community_id,
                    "term": t,
                    "member_id": member_id,
                    "weight": gain,
                    "declared": 0,
                }
                for t in terms
            ]
        )
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=["community_id", "term", "member_id"],
                set_={"weight": ExpertTerm.weight + gain},
            )
        )
    return True


async def term_frequencies(
    session: AsyncSession, community_id: int, terms: Collection[str]
) -> dict[str, int]:
    """How many questions contain each of `terms` (absent: none)."""
    if not terms:
        return {}
    rows = await session.execute(
        select(ExpertTermStat.term, ExpertTermStat.questions).where(
            ExpertTermStat.community_id == community_id, ExpertTermStat.term.in_(list(terms))
        )
    )
    return {term: count for term, count in rows}


async def postings(
    session: AsyncSession, community_id: int, terms: Collection[str]
) -> list[tuple[str, int, float, int]]:
    """(term, member, learned weight, declared count) for each of `terms` (an index range scan)."""
    if not terms:
        return []
    rows = await session.execute(
        select(ExpertTerm.term, ExpertTerm.member_id, ExpertTerm.weight, ExpertTerm.declared).where(
            ExpertTerm.community_id == community_id, ExpertTerm.term.in_(list(terms))
        )
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]


async def most_active(
    session: AsyncSession, community_id: int, limit: int, exclude: Collection[int]
) -> list[int]:
    """The members with the highest recency-decayed activity (an index scan)."""
    rows = await session.scalars(
        select(ExpertProfile.member_id)
        .where(ExpertProfile.community_id == community_id)
        .order_by(ExpertProfile.activity_key.desc())
        .limit(limit + len(exclude))
    )
    return [m for m in rows if m not in exclude][:limit]


async def profiles(
    session: AsyncSession,
    community_id: int,
    members: Iterable[int],
    clock: int,
    decay: Decay,
) -> dict[int, Profile]:
    """The answering record of each of `members` who has one, decayed to `clock`."""
    wanted = list(members)
    if not wanted:
        return {}
    rows = await session.scalars(
        select(ExpertProfile).where(
            ExpertProfile.community_id == community_id, ExpertProfile.member_id.in_(wanted)
        )
    )
    return {
        p.member_id: Profile(
            p.member_id,
            p.answers,
            p.accepted,
            _activity(p.activity_key, clock, decay.slow),
            _activity(p.fast_key, clock, decay.fast),
            p.term_mass,
            clock - p.last_clock,
            p.last_answered_at,
        )
        for p in rows
    }


# --- declared and assigned topics -------------------------------------------------------------


async def topics(
    session: AsyncSession, community_id: int, member_id: int | None = None
) -> list[ExpertTopic]:
    """A community's topics (one member's when given), by topic then member."""
    query = select(ExpertTopic).where(ExpertTopic.community_id == community_id)
    if member_id is not None:
        query = query.where(ExpertTopic.member_id == member_id)
    return list(await session.scalars(query.order_by(ExpertTopic.key, ExpertTopic.member_id)))


async def member_topics(session: AsyncSession, member_id: int) -> list[ExpertTopic]:
    """Every topic of one member, in every community."""
    return list(
        await session.scalars(
            select(ExpertTopic)
            .where(ExpertTopic.member_id == member_id)
            .order_by(ExpertTopic.community_id, ExpertTopic.key)
        )
    )


async def _declare_terms(
    session: AsyncSession, community_id: int, member_id: int, terms: Iterable[str], step: int
) -> None:
    rows = [
        {
            "community_id": community_id,
            "term": t,
            "member_id": member_id,
            "weight": 0.0,
            "declared": max(step, 0),
        }
        for t in sorted(set(terms))
    ]
    if not rows:
        return
    insert = dialect_insert(session)
    await session.execute(
        insert(ExpertTerm)
        .values(rows)
        .on_conflict_do_update(
            index_elements=["community_id", "term", "member_id"],
            set_={"declared": ExpertTerm.declared + step},
        )
    )
    await session.execute(
        delete(ExpertTerm).where(
            ExpertTerm.community_id == community_id,
            ExpertTerm.member_id == member_id,
            ExpertTerm.declared <= 0,
            ExpertTerm.weight <= 0.0,
        )
    )


async def add_topic(
    session: AsyncSession,
    community_id: int,
    member_id: int,
    key: str,
    topic: str,
    terms: list[str],
    *,
    source: str,
    added_by: int | None,
    at: datetime,
) -> bool:
    """Record that a member knows `topic`; False if it was already recorded."""
    insert = dialect_insert(session)
    result = await session.execute(
        insert(ExpertTopic)
        .values(
            community_id=community_id,
            member_id=member_id,
            key=key,
            topic=topic,
            source=source,
            added_by=added_by,
            added_at=at,
        )
        .on_conflict_do_nothing()
    )
    if result.rowcount != 1:
        return False
    await _declare_terms(session, community_id, member_id, terms, 1)
    return True


async def remove_topic(
    session: AsyncSession, community_id: int, member_id: int, key: str, terms: list[str]
) -> bool:
    """Forget that a member knows `topic`; False if it was not recorded."""
    result = await session.execute(
        delete(ExpertTopic).where(
            ExpertTopic.community_id == community_id,
            ExpertTopic.member_id == member_id,
            ExpertTopic.key == key,
        )
    )
    if result.rowcount != 1:
        return False
    await _declare_terms(session, community_id, member_id, terms, -1)
    return True


# --- personal data ----------------------------------------------------------------------------


async def member_record(session: AsyncSession, member_id: int) -> list[ExpertProfile]:
    return list(
        await session.scalars(select(ExpertProfile).where(ExpertProfile.member_id == member_id))
    )


async def forget_member(session: AsyncSession, member_id: int) -> None:
    """Erase what expertise knows of a member: topics, answers, profile, index rows; the
    questions they asked keep no trace of them."""
    for row in await member_record(session, member_id):
        community = await _community(session, row.community_id)
        community.term_mass -= row.term_mass
        community.profiles -= 1 if row.answers else 0
    await session.execute(delete(ExpertTopic).where(ExpertTopic.member_id == member_id))
    await session.execute(delete(ExpertTerm).where(ExpertTerm.member_id == member_id))
    await session.execute(delete(ExpertAnswer).where(ExpertAnswer.member_id == member_id))
    await session.execute(delete(ExpertProfile).where(ExpertProfile.member_id == member_id))
    await session.execute(
        update(ExpertQuestion).where(ExpertQuestion.asker_id == member_id).values(asker_id=None)
    )
