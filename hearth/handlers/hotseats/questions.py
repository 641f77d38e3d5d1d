"""Early questions: the "Ask a question early" form, and each question's own post (tracked by
the questions feature). An anonymous question keeps no trace of who asked."""

from __future__ import annotations

from hearth.handlers.cards import Card, typed
from hearth.handlers.commands import CommandError, number, visible
from hearth.handlers.context import Context
from hearth.handlers.events import ActionClicked, FormSubmitted
from hearth.handlers.forms import read
from hearth.handlers.hotseats.cards import ask_form, question_post
from hearth.handlers.hotseats.timing import key
from hearth.handlers.ports import Target
from hearth.storage import hotseats as stored
from hearth.storage import questions as questions_stored
from hearth.storage.models import Community, HotSeat, HotSeatQuestion, Member, Question

MAX_QUESTION = 1000


async def open_ask_form(context: Context, event: ActionClicked) -> None:
    """The "Ask a question early" button: the form (nothing is stored, nobody is looked up)."""
    hot_seat = await _open_for_questions(context, event.value)
    expert = await context.session.get(Member, hot_seat.expert_id) if hot_seat.expert_id else None
    if expert is None:
        raise CommandError("That hot seat has no expert any more.")
    context.open_form(ask_form(hot_seat, expert))


async def _open_for_questions(context: Context, value: str) -> HotSeat:
    found = number(value)
    hot_seat = await context.session.get(HotSeat, found) if found is not None else None
    community = await context.session.get(Community, hot_seat.community_id) if hot_seat else None
    event = context.event
    if (
        hot_seat is None
        or community is None
        or (community.platform, community.workspace) != (event.platform, event.workspace)
    ):
        raise CommandError("That hot seat no longer exists.")
    if hot_seat.status != stored.ACCEPTED or hot_seat.ends_at <= context.now():
        raise CommandError(f"The hot seat “{typed(hot_seat.topic)}” takes no more questions.")
    return hot_seat


async def ask(context: Context, event: FormSubmitted) -> None:
    """An early question: stored with its asker, or (anonymous) with no trace of who asked."""
    hot_seat = await _open_for_questions(context, event.context)
    expert = await context.session.get(Member, hot_seat.expert_id) if hot_seat.expert_id else None
    if expert is None:
        raise CommandError("That hot seat has no expert any more.")
    values = read(ask_form(hot_seat, expert), event.values)
    text = str(values["question"]).strip()
    if not visible(text):
        raise CommandError("Ask the hot seat: please write your question.")
    if len(text) > MAX_QUESTION:
        raise CommandError(f"Ask the hot seat: keep the question under {MAX_QUESTION} characters.")
    anonymous = bool(values["anonymous"])
    asker = None if anonymous else await context.member()
    locked = await stored.lock(context.session, hot_seat.id)
    assert locked is not None, "a hot seat is never deleted while its community exists"
    question = HotSeatQuestion(
        hot_seat_id=hot_seat.id,
        number=await stored.question_count(context.session, hot_seat.id) + 1,
        asker_id=asker.id if asker else None,
        text=text,
    )
    context.session.add(question)
    await context.session.flush()
    community = await context.session.get(Community, hot_seat.community_id)
    assert community is not None
    running = hot_seat.starts_at <= context.now()
    if running:  # open already: it gets its thread now
        await post_question(context, community, hot_seat, question, expert, asker)
    how = " anonymously: nobody, facilitators included, will see who asked" if anonymous else ""
    when = "It is posted now" if running else "It opens its own thread on the first day"
    context.reply_privately(
        Card(
            f"Thank you — your question Q{question.number} for the hot seat "
            f"“{typed(hot_seat.topic)}” is saved{how}. {when}."
        )
    )


async def post_question(
    context: Context,
    community: Community,
    hot_seat: HotSeat,
    question: HotSeatQuestion,
    expert: Member,
    asker: Member | None,
) -> None:
    """Post an early question as its own message, tracked by the questions feature: replies in
    its thread count as replies to a question, and at the close its answer becomes knowledge.
    It is not routed (its expert is reminded each morning) and keeps no trace of an anonymous
    asker (nothing sealed: nobody is told of replies)."""
    tracked = Question(
        community_id=community.id,
        message_id=None,  # learned from the outbox once the post is delivered
        asker_id=asker.id if asker is not None else None,
        asker_sealed=None,
        anonymous=asker is None,
        text=question.text,
        via="hotseat",
        status=questions_stored.OPEN,
        stage=0,
        asked_at=context.now(),
    )
    context.session.add(tracked)
    await context.session.flush()
    question.question_id = tracked.id
    await context.enqueue(
        post_key(hot_seat, question),
        "hotseat_post",
        Target("channel", community.channel),
        question_post(hot_seat, question, expert, asker),
    )


def post_key(hot_seat: HotSeat, question: HotSeatQuestion) -> str:
    """The outbox key of an early question's post: the questions feature's own key for its
    tracked question (so it learns the post's message id), else (before it is posted) ours."""
    if question.question_id is not None:
        return questions_stored.post_key(question.question_id)
    return key(hot_seat, f"q:{question.number}")
