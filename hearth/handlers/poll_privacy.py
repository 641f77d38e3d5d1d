"""What polls and surveys store about a member, for my-data and forget-me (handlers/privacy.py).

Only votes and answers of polls and surveys that show names carry a member; anonymous ones
carry a keyed hash that cannot be traced back without the server secret and the poll's salt
(docs/polls.md), so there is nothing of the member's to send or erase there. Forgetting deletes
the member's named votes and answers, takes their name off the polls they started, and brings
each affected poll's message up to date (its counts and names).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update

from hearth.handlers import polls
from hearth.handlers.context import Context
from hearth.handlers.poll_cards import questions_of
from hearth.handlers.registry import Registry
from hearth.storage import polls as stored
from hearth.storage.models import Member, Poll, PollSeries, PollVote, SurveyAnswer


def register(registry: Registry) -> None:
    registry.personal("polls_started", export=export_started, forget=forget_polls)
    registry.personal("poll_votes", export=export_votes)
    registry.personal("survey_answers", export=export_answers)


async def export_started(context: Context, member: Member) -> list[dict[str, Any]]:
    polls_ = await context.session.scalars(
        select(Poll).where(Poll.creator_id == member.id).order_by(Poll.id)
    )
    return [
        {
            "id": p.id,
            "kind": p.kind,
            "question": p.question,
            "status": p.status,
            "created": p.created_at.isoformat(),
        }
        for p in polls_
    ]


async def export_votes(context: Context, member: Member) -> list[dict[str, Any]]:
    rows = await context.session.execute(
        select(PollVote.option, Poll)
        .join(Poll, Poll.id == PollVote.poll_id)
        .where(PollVote.member_id == member.id)
        .order_by(Poll.id, PollVote.option)
    )
    return [
        {"poll": poll.id, "question": poll.question, "choice": _option(poll, option)}
        for option, poll in rows
    ]


async def export_answers(context: Context, member: Member) -> list[dict[str, Any]]:
    rows = await context.session.execute(
        select(SurveyAnswer.question, SurveyAnswer.answer, Poll)
        .join(Poll, Poll.id == SurveyAnswer.poll_id)
        .where(SurveyAnswer.member_id == member.id)
        .order_by(Poll.id, SurveyAnswer.question)
    )
    out = []
    for number, answer, poll in rows:
        questions = questions_of(poll)
        asked = questions[number].text if number < len(questions) else f"question {number + 1}"
        out.append({"survey": poll.id, "title": poll.question, "question": asked, "answer": answer})
    return out


async def forget_polls(context: Context, member: Member) -> None:
    """Delete the member's named votes and answers; refresh the messages of affected polls."""
    session = context.session
    touched = set(
        await session.scalars(select(PollVote.poll_id).where(PollVote.member_id == member.id))
    )
    touched.update(
        await session.scalars(
            select(SurveyAnswer.poll_id).where(SurveyAnswer.member_id == member.id)
        )
    )
    touched.update(await session.scalars(select(Poll.id).where(Poll.creator_id == member.id)))
    for poll_id in sorted(touched):  # lock in id order, as everyone else does one at a time
        await stored.lock_poll(session, poll_id)
    await session.execute(delete(PollVote).where(PollVote.member_id == member.id))
    await session.execute(delete(SurveyAnswer).where(SurveyAnswer.member_id == member.id))
    await session.execute(update(Poll).where(Poll.creator_id == member.id).values(creator_id=None))
    await session.execute(
        update(PollSeries).where(PollSeries.creator_id == member.id).values(creator_id=None)
    )
    for poll_id in sorted(touched):
        poll = await stored.lock_poll(session, poll_id)
        if poll is not None and poll.status != stored.DRAFT:
            await polls.show(context, await polls.community_of(context, poll), poll)


def _option(poll: Poll, option: int) -> str:
    return poll.options[option] if 0 <= option < len(poll.options) else f"option {option + 1}"
