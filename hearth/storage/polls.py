"""Poll and survey queries: votes are written and counted in SQL, never read-modify-written."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hearth.storage.models import Member, Poll, PollSeries, PollVote, SurveyAnswer

OPEN, CLOSED, DRAFT = "open", "closed", "draft"


async def lock_poll(session: AsyncSession, poll_id: int) -> Poll | None:
    """The poll, row-locked until the transaction ends (SELECT … FOR UPDATE on PostgreSQL;
    SQLite runs one writer at a time already), so that votes on one poll are applied and
    counted in commit order."""
    return await session.scalar(
        select(Poll)
        .where(Poll.id == poll_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def lock_series(session: AsyncSession, series_id: int) -> PollSeries | None:
    """The series, row-locked like `lock_poll`."""
    return await session.scalar(
        select(PollSeries)
        .where(PollSeries.id == series_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def choices(session: AsyncSession, poll_id: int, voter: str) -> list[int]:
    """The options this voter has chosen, in option order."""
    return list(
        await session.scalars(
            select(PollVote.option)
            .where(PollVote.poll_id == poll_id, PollVote.voter == voter)
            .order_by(PollVote.option)
        )
    )


async def vote_once(
    session: AsyncSession, poll_id: int, voter: str, option: int, member_id: int | None
) -> int | None:
    """On a one-choice poll: choose `option`, or withdraw it if it was the voter's choice.

    Returns the voter's previous choice (None if they had not voted). The primary key allows
    one row per voter whatever happens; call with the poll locked.
    """
    where = (PollVote.poll_id == poll_id, PollVote.voter == voter, PollVote.slot == 0)
    previous = await session.scalar(select(PollVote.option).where(*where))
    if previous == option:
        await session.execute(delete(PollVote).where(*where))
    elif previous is None:
        await session.execute(
            insert(PollVote).values(
                poll_id=poll_id, voter=voter, slot=0, option=option, member_id=member_id
            )
        )
    else:
        await session.execute(update(PollVote).where(*where).values(option=option))
    return previous


async def toggle_choice(
    session: AsyncSession, poll_id: int, voter: str, option: int, member_id: int | None
) -> bool:
    """On a several-choice poll: add `option` to the choices, or remove it; True if added."""
    removed = await session.execute(
        delete(PollVote).where(
            PollVote.poll_id == poll_id, PollVote.voter == voter, PollVote.slot == option
        )
    )
    if removed.rowcount:
        return False
    await session.execute(
        insert(PollVote).values(
            poll_id=poll_id, voter=voter, slot=option, option=option, member_id=member_id
        )
    )
    return True


async def counts(session: AsyncSession, poll_id: int) -> dict[int, int]:
    """Votes per option (options nobody chose are absent)."""
    rows = await session.execute(
        select(PollVote.option, func.count())
        .where(PollVote.poll_id == poll_id)
        .group_by(PollVote.option)
    )
    return {option: n for option, n in rows}


async def voter_count(session: AsyncSession, poll_id: int) -> int:
    """How many people voted (on a several-choice poll, fewer than the votes)."""
    return (
        await session.scalar(
            select(func.count(func.distinct(PollVote.voter))).where(PollVote.poll_id == poll_id)
        )
        or 0
    )


async def voters(
    session: AsyncSession, poll_id: int, limit: int | None = None
) -> dict[int, list[Member]]:
    """Who chose each option, by name (the first `limit` per option when given): nobody on
    anonymous polls, which store no members."""
    ranked = (
        select(
            PollVote.option,
            PollVote.member_id,
            func.row_number()
            .over(partition_by=PollVote.option, order_by=(Member.name, Member.id))
            .label("rank"),
        )
        .join(Member, Member.id == PollVote.member_id)
        .where(PollVote.poll_id == poll_id)
        .subquery()
    )
    query = select(ranked.c.option, Member).join(Member, Member.id == ranked.c.member_id)
    if limit is not None:
        query = query.where(ranked.c.rank <= limit)
    rows = await session.execute(query.order_by(ranked.c.option, ranked.c.rank))
    found: dict[int, list[Member]] = {}
    for option, member in rows:
        found.setdefault(option, []).append(member)
    return found


async def answers_of(session: AsyncSession, poll_id: int, voter: str) -> dict[int, str]:
    """One respondent's answers to a survey, by question number."""
    rows = await session.execute(
        select(SurveyAnswer.question, SurveyAnswer.answer).where(
            SurveyAnswer.poll_id == poll_id, SurveyAnswer.voter == voter
        )
    )
    return dict(rows.all())


async def replace_answers(
    session: AsyncSession,
    poll_id: int,
    voter: str,
    member_id: int | None,
    answers: dict[int, str],
) -> bool:
    """Store a respondent's answers, replacing earlier ones; True if they had answered before."""
    earlier = await session.execute(
        delete(SurveyAnswer).where(SurveyAnswer.poll_id == poll_id, SurveyAnswer.voter == voter)
    )
    if answers:
        await session.execute(
            insert(SurveyAnswer),
            [
                {
                    "poll_id": poll_id,
                    "voter": voter,
                    "question": question,
                    "answer": answer,
                    "member_id": member_id,
                }
                for question, answer in sorted(answers.items())
            ],
        )
    return bool(earlier.rowcount)


async def respondent_count(session: AsyncSession, poll_id: int) -> int:
    """How many people answered a survey."""
    return (
        await session.scalar(
            select(func.count(func.distinct(SurveyAnswer.voter))).where(
                SurveyAnswer.poll_id == poll_id
            )
        )
        or 0
    )


async def all_answers(
    session: AsyncSession, poll_id: int
) -> list[tuple[str, Member | None, dict[int, str]]]:
    """Every respondent's answers, ordered by voter key (an order that says nothing about who
    answered when), with the member for open surveys."""
    rows = await session.execute(
        select(SurveyAnswer, Member)
        .outerjoin(Member, Member.id == SurveyAnswer.member_id)
        .where(SurveyAnswer.poll_id == poll_id)
        .order_by(SurveyAnswer.voter, SurveyAnswer.question)
    )
    found: dict[str, tuple[Member | None, dict[int, str]]] = {}
    for answer, member in rows:
        found.setdefault(answer.voter, (member, {}))[1][answer.question] = answer.answer
    return [(voter, member, answers) for voter, (member, answers) in found.items()]


async def in_community(session: AsyncSession, community_id: int, *statuses: str) -> list[Poll]:
    """The community's polls and surveys with one of `statuses`, oldest first."""
    return list(
        await session.scalars(
            select(Poll)
            .where(Poll.community_id == community_id, Poll.status.in_(statuses))
            .order_by(Poll.id)
        )
    )


async def open_in_series(session: AsyncSession, series_id: int) -> list[Poll]:
    """A recurring poll's instances that are still open."""
    return list(
        await session.scalars(
            select(Poll).where(Poll.series_id == series_id, Poll.status == OPEN).order_by(Poll.id)
        )
    )


async def active_series(session: AsyncSession, community_id: int) -> list[PollSeries]:
    """The community's recurring polls that still post."""
    return list(
        await session.scalars(
            select(PollSeries)
            .where(PollSeries.community_id == community_id, PollSeries.active.is_(True))
            .order_by(PollSeries.id)
        )
    )


async def closed_between(
    session: AsyncSession, community_id: int, since: datetime, until: datetime
) -> list[Poll]:
    """Polls and surveys that closed in [since, until), with their kept `result`: for digests."""
    return list(
        await session.scalars(
            select(Poll)
            .where(
                Poll.community_id == community_id,
                Poll.closed_at >= since,
                Poll.closed_at < until,
            )
            .order_by(Poll.closed_at, Poll.id)
        )
    )
