"""The scheduled steps of an accepted hot seat: the announcement, the opening, the morning
reminders and the closing summary. Each first checks its step still stands."""

from __future__ import annotations

from sqlalchemy import select

from hearth.handlers.context import Context
from hearth.handlers.hotseats.cards import Answered, announcement, opening, reminder, summary
from hearth.handlers.hotseats.cards import thanks as thanks_card
from hearth.handlers.hotseats.questions import post_key, post_question
from hearth.handlers.hotseats.timing import is_current, key
from hearth.handlers.jobs import JobDue
from hearth.handlers.ports import Target
from hearth.handlers.questions.flow import mark_answered
from hearth.handlers.questions.timing import link
from hearth.storage import hotseats as stored
from hearth.storage import questions as questions_stored
from hearth.storage.models import Community, HotSeat, Member


async def _due(context: Context, job: JobDue) -> tuple[HotSeat, Community, Member] | None:
    """The job's hot seat if the step still stands (accepted, and this is still its step)."""
    hot_seat = await stored.lock(context.session, int(job.payload["hotseat"]))
    if hot_seat is None or hot_seat.status != stored.ACCEPTED:
        return None
    community = await context.session.get(Community, hot_seat.community_id)
    expert = await context.session.get(Member, hot_seat.expert_id) if hot_seat.expert_id else None
    if community is None or expert is None:
        return None
    if not is_current(hot_seat, community, job.payload):
        return None  # superseded (an extension moved the close, or the hot seat moved)
    return hot_seat, community, expert


async def announce_job(context: Context, job: JobDue) -> None:
    found = await _due(context, job)
    if found is None:
        return
    hot_seat, community, expert = found
    await context.enqueue(
        key(hot_seat, "announce"),
        "hotseat_post",
        Target("channel", community.channel),
        announcement(hot_seat, community, expert),
    )


async def open_job(context: Context, job: JobDue) -> None:
    found = await _due(context, job)
    if found is None:
        return
    hot_seat, community, expert = found
    early = await stored.questions(context.session, hot_seat.id)
    await context.enqueue(
        key(hot_seat, "open"),
        "hotseat_post",
        Target("channel", community.channel),
        opening(hot_seat, community, expert, len(early)),
    )
    for question in early:
        asker = await context.session.get(Member, question.asker_id) if question.asker_id else None
        await post_question(context, community, hot_seat, question, expert, asker)


async def _answers(
    context: Context, community: Community, hot_seat: HotSeat, expert: Member
) -> list[Answered]:
    """Each early question with the members' replies in its thread, the expert's first."""
    early = await stored.questions(context.session, hot_seat.id)
    keys = {q.number: post_key(hot_seat, q) for q in early}
    threads = await stored.posted_threads(context.session, list(keys.values()))
    replies = await stored.replies(context.session, community.id, list(threads.values()))
    out = []
    for question in early:
        thread = threads.get(keys[question.number])
        found = replies.get(thread, []) if thread else []
        mine = [m for m in found if m.member_id == expert.id]
        others = [m for m in found if m.member_id != expert.id]
        out.append(Answered(question, tuple(mine + others), bool(mine), thread))
    return out


async def _authors(context: Context, answered: list[Answered]) -> dict[int, Member]:
    ids = {r.member_id for a in answered for r in a.replies[:2] if r.member_id is not None}
    if not ids:
        return {}
    found = await context.session.scalars(select(Member).where(Member.id.in_(ids)))
    return {m.id: m for m in found}


async def remind_job(context: Context, job: JobDue) -> None:
    found = await _due(context, job)
    if found is None:
        return
    hot_seat, community, expert = found
    waiting = [
        a.question for a in await _answers(context, community, hot_seat, expert) if not a.by_expert
    ]
    if not waiting:
        return
    await context.enqueue(
        key(hot_seat, job.payload["step"]),
        "hotseat_reminder",
        Target("dm", expert.user_id),
        reminder(hot_seat, community, waiting, context.prefix),
        member=expert,
    )


async def close_job(context: Context, job: JobDue) -> None:
    found = await _due(context, job)
    if found is None:
        return
    hot_seat, community, expert = found
    answered = await _answers(context, community, hot_seat, expert)
    hot_seat.status = stored.CLOSED
    await _keep_answers(context, community, answered)
    await context.enqueue(
        key(hot_seat, "summary"),
        "hotseat_post",
        Target("channel", community.channel),
        summary(
            hot_seat,
            community,
            expert,
            answered,
            await _authors(context, answered),
            lambda message_id: link(
                community.platform, community.workspace, community.channel, message_id
            ),
        ),
    )
    await context.enqueue(
        key(hot_seat, "thanks"),
        "hotseat_status",
        Target("dm", expert.user_id),
        thanks_card(hot_seat, community, sum(1 for a in answered if a.by_expert)),
        member=expert,
    )


async def _keep_answers(context: Context, community: Community, answered: list[Answered]) -> None:
    """Every early question with a reply is marked answered (the expert's first reply, else the
    first one): the questions feature keeps it as knowledge, found by `/cop search`."""
    await questions_stored.learn_post_ids(context.session, community.id)
    for item in answered:
        if not item.replies or item.question.question_id is None:
            continue
        tracked = await questions_stored.lock(context.session, item.question.question_id)
        if tracked is None or tracked.status != questions_stored.OPEN:
            continue  # the asker marked it answered already
        await mark_answered(context, community, tracked, item.replies[0])
