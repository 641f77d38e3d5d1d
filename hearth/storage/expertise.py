"""Expertise queries: the incremental answer record and inverted term index behind routing.

Everything here is updated as questions and replies arrive (a few rows per event), so that
ranking one question reads only the index rows of its own terms and a few profiles.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    CompoundSelect,
    Select,
    bindparam,
    case,
    delete,
    func,
    select,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from hearth.storage.db import dialect_insert, one_of
from hearth.storage.models import (
    ExpertAnswer,
    ExpertCalibration,
    ExpertCommunity,
    ExpertPick,
    ExpertProfile,
    ExpertQuestion,
    ExpertQuestionTerm,
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
class Calibration:
    """How answered questions score the topic scales their first picks were made under."""

    scales: int
    """How many topic scales there are (bit i of a pick: scale i)."""
    keep: float
    """Each scale's score is multiplied by this per answered question, then 1 added on a hit."""


@dataclass(frozen=True)
class Totals:
    """A community's running totals (see ExpertCommunity)."""

    questions: int
    answers: int
    term_mass: float
    profiles: int
    calibrated: int = 0


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


async def _bump(session: AsyncSession, community_id: int, **steps: float) -> ExpertCommunity:
    """Add `steps` to the community's totals (one atomic upsert); the totals after."""
    table = ExpertCommunity.__table__
    values = {"questions": 0, "answers": 0, "term_mass": 0.0, "profiles": 0, "calibrated": 0}
    values |= steps
    statement = dialect_insert(session)(table).values(community_id=community_id, **values)
    statement = statement.on_conflict_do_update(
        index_elements=["community_id"],
        set_={name: table.c[name] + statement.excluded[name] for name in steps},
    ).returning(*table.c)
    row = (await session.execute(statement)).one()
    return ExpertCommunity(**row._mapping)


async def totals(session: AsyncSession, community_id: int) -> Totals:
    row = (
        await session.execute(
            select(
                ExpertCommunity.questions,
                ExpertCommunity.answers,
                ExpertCommunity.term_mass,
                ExpertCommunity.profiles,
                ExpertCommunity.calibrated,
            ).where(ExpertCommunity.community_id == community_id)
        )
    ).one_or_none()
    return Totals(0, 0, 0.0, 0) if row is None else Totals(*row)


async def add_question(
    session: AsyncSession,
    community_id: int,
    question_key: str,
    asker_id: int | None,
    terms: list[str],
    at: datetime,
    *,
    opening: int,
) -> bool:
    """Remember a question and count its terms (its first `opening` terms are its opening);
    False (and nothing changes) if already seen."""
    insert = dialect_insert(session)
    table = ExpertQuestion.__table__
    result = await session.execute(
        insert(table)
        .values(
            community_id=community_id,
            question_key=question_key,
            asker_id=asker_id,
            terms=terms,
            asked_at=at,
        )
        .on_conflict_do_nothing()
        .returning(table.c.id)
    )
    question_id = result.scalar()
    if question_id is None:
        return False
    await _bump(session, community_id, questions=1)
    if terms:
        opening_terms = set(terms[:opening])
        table = ExpertTermStat.__table__
        statement = insert(table)
        statement = statement.on_conflict_do_update(
            index_elements=["community_id", "term"],
            set_={
                "questions": table.c.questions + 1,
                "openings": table.c.openings + statement.excluded.openings,
            },
        )
        await session.execute(
            statement,
            [
                {
                    "community_id": community_id,
                    "term": t,
                    "questions": 1,
                    "openings": int(t in opening_terms),
                }
                for t in sorted(set(terms))
            ],
        )
        await session.execute(
            insert(ExpertQuestionTerm.__table__),
            [
                {
                    "community_id": community_id,
                    "term": t,
                    "question_id": question_id,
                    "length": len(terms),
                    "opening": t in opening_terms,
                }
                for t in sorted(set(terms))
            ],
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
    calibration: Calibration,
) -> bool:
    """Learn from a reply (or an accepted answer) to a known question; False when there was
    nothing new to learn (unknown question, the asker's own reply, a repeat). An accepted
    answer also scores the question's first picks (`calibration`)."""
    answers, profiles = ExpertAnswer.__table__, ExpertProfile.__table__
    questions = ExpertQuestion.__table__
    found = (
        await session.execute(
            select(
                questions.c.id,
                questions.c.asker_id,
                questions.c.terms,
                answers.c.accepted,
                profiles.c.answers,
                profiles.c.activity_key,
                profiles.c.fast_key,
            )
            .outerjoin(
                answers,
                (answers.c.question_id == questions.c.id) & (answers.c.member_id == member_id),
            )
            .outerjoin(
                profiles,
                (profiles.c.community_id == community_id) & (profiles.c.member_id == member_id),
            )
            .where(
                questions.c.community_id == community_id,
                questions.c.question_key == question_key,
            )
        )
    ).one_or_none()
    if found is None:
        return False
    question_id, asker_id, question_terms, was_accepted, answered, slow_key, fast_key = found
    if asker_id == member_id or (was_accepted is not None and (was_accepted or not accepted)):
        return False
    new = was_accepted is None
    terms = sorted(set(question_terms))
    gain = (1.0 if new else 0.0) + (accepted_bonus if accepted else 0.0)
    mass = gain * len(terms)
    insert = dialect_insert(session)
    if new:
        community = await _bump(
            session,
            community_id,
            answers=1,
            term_mass=mass,
            profiles=0 if answered else 1,
        )
        clock = community.answers
        await session.execute(
            insert(answers).values(
                question_id=question_id,
                member_id=member_id,
                accepted=accepted,
                answered_at=at,
                clock=clock,
            )
        )
        slow = _key(slow_key or 0.0, clock, decay.slow)
        fast = _key(fast_key or 0.0, clock, decay.fast)
        statement = insert(profiles).values(
            community_id=community_id,
            member_id=member_id,
            answers=1,
            accepted=1 if accepted else 0,
            activity_key=slow,
            fast_key=fast,
            term_mass=mass,
            last_clock=clock,
            last_answered_at=at,
        )
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=["community_id", "member_id"],
                set_={
                    "answers": profiles.c.answers + 1,
                    "accepted": profiles.c.accepted + statement.excluded.accepted,
                    "activity_key": statement.excluded.activity_key,
                    "fast_key": statement.excluded.fast_key,
                    "term_mass": profiles.c.term_mass + statement.excluded.term_mass,
                    "last_clock": statement.excluded.last_clock,
                    "last_answered_at": statement.excluded.last_answered_at,
                },
            )
        )
    else:
        await session.execute(
            update(answers)
            .where(answers.c.question_id == question_id, answers.c.member_id == member_id)
            .values(accepted=True)
        )
        await _bump(session, community_id, term_mass=mass)
        await session.execute(
            update(profiles)
            .where(profiles.c.community_id == community_id, profiles.c.member_id == member_id)
            .values(accepted=profiles.c.accepted + 1, term_mass=profiles.c.term_mass + mass)
        )
    if terms:
        table = ExpertTerm.__table__
        statement = insert(table)
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=["community_id", "term", "member_id"],
                set_={"weight": table.c.weight + statement.excluded.weight},
            ),
            [
                {
                    "community_id": community_id,
                    "term": t,
                    "member_id": member_id,
                    "weight": gain,
                    "declared": 0,
                }
                for t in terms
            ],
        )
    if accepted:
        await _calibrate(session, community_id, question_id, member_id, calibration)
    return True


async def remember_picks(
    session: AsyncSession, community_id: int, question_key: str, picks: dict[int, int]
) -> bool:
    """Keep the router's first picks of a known question (member → bit i set when picked under
    topic scale i) until it is answered. Only the first routing of a question counts: False
    (and nothing changes) for an unknown question or one whose picks are kept already."""
    question_id = await session.scalar(
        select(ExpertQuestion.id).where(
            ExpertQuestion.community_id == community_id,
            ExpertQuestion.question_key == question_key,
        )
    )
    if question_id is None or not picks:
        return False
    kept = await session.scalar(
        select(ExpertPick.member_id).where(ExpertPick.question_id == question_id).limit(1)
    )
    if kept is not None:
        return False
    await session.execute(
        dialect_insert(session)(ExpertPick.__table__).on_conflict_do_nothing(),
        [{"question_id": question_id, "member_id": m, "scales": s} for m, s in picks.items()],
    )
    return True


async def _calibrate(
    session: AsyncSession,
    community_id: int,
    question_id: int,
    answerer_id: int,
    calibration: Calibration,
) -> None:
    """Score each topic scale by whether its first picks held the answerer. The picks are
    taken by deleting them, so a question counts once even when two acceptances race."""
    picks = dict(
        (member, scales)
        for member, scales in await session.execute(
            delete(ExpertPick)
            .where(ExpertPick.question_id == question_id)
            .returning(ExpertPick.member_id, ExpertPick.scales)
        )
    )
    if not picks:
        return
    hit = picks.get(answerer_id, 0)
    table = ExpertCalibration.__table__
    await session.execute(
        dialect_insert(session)(table).on_conflict_do_nothing(),
        [
            {"community_id": community_id, "scale": i, "score": 0.0}
            for i in range(calibration.scales)
        ],
    )
    await session.execute(
        update(table)
        .where(table.c.community_id == community_id)
        .values(
            score=table.c.score * calibration.keep
            + case(
                (table.c.scale.in_([i for i in range(calibration.scales) if hit >> i & 1]), 1.0),
                else_=0.0,
            )
        )
    )
    await _bump(session, community_id, calibrated=1)


async def best_scale(
    session: AsyncSession, community_id: int, *, default: int, minimum: int
) -> int:
    """The topic scale whose first picks best held the answerers of the community's recently
    answered questions (ties: the one nearest `default`); `default` until `minimum` answered
    questions were scored."""
    rows = await session.execute(
        select(ExpertCalibration.scale, ExpertCalibration.score, ExpertCommunity.calibrated)
        .join(ExpertCommunity, ExpertCommunity.community_id == ExpertCalibration.community_id)
        .where(ExpertCalibration.community_id == community_id)
    )
    ranked = [
        (score, -abs(scale - default), -scale, scale)
        for scale, score, calibrated in rows
        if calibrated >= minimum
    ]
    return max(ranked)[3] if ranked else default


@dataclass(frozen=True)
class TermCount:
    """How many of a community's questions contain a term, and how many open with it."""

    questions: int
    openings: int


async def term_frequencies(
    session: AsyncSession, community_id: int, terms: Collection[str]
) -> dict[str, TermCount]:
    """How many questions contain (and open with) each of `terms` (absent: none)."""
    if not terms:
        return {}
    rows = await session.execute(
        select(ExpertTermStat.term, ExpertTermStat.questions, ExpertTermStat.openings).where(
            ExpertTermStat.community_id == community_id,
            one_of(session, ExpertTermStat.term, terms),
        )
    )
    return {term: TermCount(count, openings) for term, count, openings in rows}


async def postings(
    session: AsyncSession, community_id: int, terms: Collection[str], per_term: int = 1000
) -> list[tuple[str, int, float, int]]:
    """(term, member, learned weight, declared count) for each of `terms` (an index range scan),
    at most `per_term` rows a term (the heaviest), so a common word cannot flood the ranking."""
    if not terms:
        return []
    return await _read_per_term(session, _heaviest_members, community_id, terms, per_term)


@cache
def _heaviest_members(count: int, per_term: int) -> CompoundSelect:
    table = ExpertTerm.__table__
    return _per_term(
        count,
        lambda term: (
            select(table.c.term, table.c.member_id, table.c.weight, table.c.declared)
            .where(table.c.community_id == bindparam("community"), table.c.term == term)
            .order_by((table.c.declared + table.c.weight).desc())
            .limit(per_term)
        ),
    )


def _per_term(count: int, query: Callable[[BindParameter[str]], Select[Any]]) -> CompoundSelect:
    """`query(term)` for `count` terms (`term0`, `term1`…) in one statement: each an index range
    scan that stops at its own LIMIT (a window over all the terms' rows would read and sort them
    all). Built once per count (callers cache it): building one costs more than running it."""
    return union_all(*(select(query(bindparam(f"term{i}")).subquery()) for i in range(count)))


async def _read_per_term(
    session: AsyncSession,
    statement: Callable[[int, int], CompoundSelect],
    community_id: int,
    terms: Collection[str],
    per_term: int,
) -> list[Any]:
    """The rows of `statement(count, per_term)` for the community's distinct `terms`."""
    distinct = list(dict.fromkeys(terms))
    values = {f"term{i}": term for i, term in enumerate(distinct)}
    rows = await session.execute(
        statement(len(distinct), per_term), {"community": community_id, **values}
    )
    return [tuple(row) for row in rows]


async def term_weights(
    session: AsyncSession, community_id: int, terms: Collection[str], members: Collection[int]
) -> dict[tuple[int, str], float]:
    """(member, term) → learned weight, for each of `terms` and `members` that has one."""
    if not terms or not members:
        return {}
    table = ExpertTerm.__table__
    rows = await session.execute(
        select(table.c.member_id, table.c.term, table.c.weight).where(
            table.c.community_id == community_id,
            one_of(session, table.c.term, terms),
            one_of(session, table.c.member_id, members),
            table.c.weight > 0,
        )
    )
    return {(member, term): weight for member, term, weight in rows}


async def similar_questions(
    session: AsyncSession, community_id: int, terms: Collection[str], per_term: int = 1000
) -> list[tuple[str, int, int, bool]]:
    """(term, question, question length, whether the term opens it) for past questions
    containing one of `terms`, at most `per_term` a term (the most recent)."""
    if not terms:
        return []
    return await _read_per_term(session, _latest_questions, community_id, terms, per_term)


@cache
def _latest_questions(count: int, per_term: int) -> CompoundSelect:
    table = ExpertQuestionTerm.__table__
    return _per_term(
        count,
        lambda term: (
            select(table.c.term, table.c.question_id, table.c.length, table.c.opening)
            .where(table.c.community_id == bindparam("community"), table.c.term == term)
            .order_by(table.c.question_id.desc())
            .limit(per_term)
        ),
    )


async def answers_to(
    session: AsyncSession, questions: Collection[int]
) -> list[tuple[int, int, bool, int]]:
    """(question, member, accepted, clock) of every answer to `questions`."""
    if not questions:
        return []
    table = ExpertAnswer.__table__
    rows = await session.execute(
        select(table.c.question_id, table.c.member_id, table.c.accepted, table.c.clock).where(
            one_of(session, table.c.question_id, questions)
        )
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]


async def answered_for(session: AsyncSession, community_id: int, asker_id: int) -> dict[int, int]:
    """How many of this asker's questions each member answered."""
    answers, questions = ExpertAnswer.__table__, ExpertQuestion.__table__
    rows = await session.execute(
        select(answers.c.member_id, func.count())
        .join(questions, questions.c.id == answers.c.question_id)
        .where(questions.c.asker_id == asker_id, questions.c.community_id == community_id)
        .group_by(answers.c.member_id)
    )
    return {member: count for member, count in rows}


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
    table = ExpertProfile.__table__
    rows = await session.execute(
        select(
            table.c.member_id,
            table.c.answers,
            table.c.accepted,
            table.c.activity_key,
            table.c.fast_key,
            table.c.term_mass,
            table.c.last_clock,
            table.c.last_answered_at,
        ).where(table.c.community_id == community_id, one_of(session, table.c.member_id, wanted))
    )
    return {
        member: Profile(
            member,
            answers,
            accepted,
            _activity(slow, clock, decay.slow),
            _activity(fast, clock, decay.fast),
            mass,
            clock - last,
            last_at if last_at is None or last_at.tzinfo else last_at.replace(tzinfo=UTC),
        )
        for member, answers, accepted, slow, fast, mass, last, last_at in rows
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


async def topics_of(
    session: AsyncSession, community_id: int, members: Collection[int]
) -> dict[int, list[ExpertTopic]]:
    """The topics of each of `members` in a community, by topic."""
    result: dict[int, list[ExpertTopic]] = {}
    if not members:
        return result
    for topic in await session.scalars(
        select(ExpertTopic)
        .where(ExpertTopic.community_id == community_id, ExpertTopic.member_id.in_(list(members)))
        .order_by(ExpertTopic.key)
    ):
        result.setdefault(topic.member_id, []).append(topic)
    return result


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
    table = ExpertTerm.__table__
    statement = dialect_insert(session)(table)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["community_id", "term", "member_id"],
            set_={"declared": table.c.declared + step},
        ),
        rows,
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


async def waiting_picks(session: AsyncSession, member_id: int) -> dict[int, int]:
    """Per community, the unanswered questions whose kept first picks include the member."""
    rows = await session.execute(
        select(ExpertQuestion.community_id, func.count())
        .join(ExpertPick, ExpertPick.question_id == ExpertQuestion.id)
        .where(ExpertPick.member_id == member_id)
        .group_by(ExpertQuestion.community_id)
    )
    return {community: count for community, count in rows}


async def forget_member(session: AsyncSession, member_id: int) -> None:
    """Erase what expertise knows of a member: topics, answers, profile, index rows; the
    questions they asked keep no trace of them."""
    for row in await member_record(session, member_id):
        await _bump(
            session, row.community_id, term_mass=-row.term_mass, profiles=-1 if row.answers else 0
        )
    await session.execute(delete(ExpertTopic).where(ExpertTopic.member_id == member_id))
    await session.execute(delete(ExpertTerm).where(ExpertTerm.member_id == member_id))
    await session.execute(delete(ExpertPick).where(ExpertPick.member_id == member_id))
    await session.execute(delete(ExpertAnswer).where(ExpertAnswer.member_id == member_id))
    await session.execute(delete(ExpertProfile).where(ExpertProfile.member_id == member_id))
    await session.execute(
        update(ExpertQuestion).where(ExpertQuestion.asker_id == member_id).values(asker_id=None)
    )
