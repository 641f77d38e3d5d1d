"""Hot seats: an expert answers the community's questions for some days.

A facilitator proposes (`/cop hotseat @expert "topic" --starts 2027-02-01 --days 5`); the
expert accepts or declines with buttons in a DM. Once accepted, every step is a keyed one-shot
(`handlers/jobs.py`) named by hot seat and step, so a restart neither repeats nor drops one and
cancelling or extending finds them all:

- `hotseat:<id>:announce` — a week ahead (at once when that has passed): the channel post with
  the "Ask a question early" form (anonymous if the asker wants: then no row, message or log
  line says who asked);
- `hotseat:<id>:open` — 09:00 of the first day: the opening post, then each early question
  as its own post (its own thread);
- `hotseat:<id>:remind:<day>` — each morning: a DM to the expert listing the early questions
  their thread has no answer from them to (the send policy holds it for their working hours);
- `hotseat:<id>:close:<days>` — 17:00 of the last day: the summary of every question and its
  answers, and thanks to the expert.

What is posted goes through the outbox under keys of the same shape. While a hot seat runs,
the questions feature asks its expert first (`first_responder("hotseat")`), and welcomes and
nudges may mention it (`highlight("hotseat")`).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from hearth.handlers import jobs
from hearth.handlers.cards import Card, ContextLine, Section, names_of, typed
from hearth.handlers.commands import Args, CommandError, UsageError, mentioned_user, number, visible
from hearth.handlers.context import Context
from hearth.handlers.events import ActionClicked, FormSubmitted
from hearth.handlers.forms import read
from hearth.handlers.hotseat_cards import (
    Answered,
    announcement,
    answered_invitation,
    ask_form,
    cancelled,
    days_of,
    extended,
    invitation,
    label,
    opening,
    question_post,
    reminder,
    status_note,
    summary,
    thanks,
)
from hearth.handlers.jobs import JobDue
from hearth.handlers.links import check_title, parse_flags
from hearth.handlers.ports import Target
from hearth.handlers.questions.flow import mark_answered
from hearth.handlers.questions.timing import link
from hearth.handlers.registry import Registry
from hearth.storage import hotseats as stored
from hearth.storage import outbox
from hearth.storage import questions as questions_stored
from hearth.storage.models import Community, HotSeat, HotSeatQuestion, Member, Question

GROUP = "hot seats, library and jobs"
USAGE = '@expert "topic" --starts 2027-02-01 [--days 5]'
OPENS = time(9, 0)
CLOSES = time(17, 0)
REMINDS = time(9, 30)
ANNOUNCE_AHEAD = timedelta(days=7)
MAX_DAYS = 14
MAX_AHEAD = timedelta(days=366)
MAX_QUESTION = 1000
DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", re.ASCII)


def register(registry: Registry) -> None:
    registry.command(
        "hotseat",
        USAGE,
        summary="propose an expert for a hot seat (they accept first)",
        facilitator_only=True,
        group=GROUP,
    )(propose_command)
    registry.command(
        "hotseat list", summary="hot seats proposed, coming up and running", group=GROUP
    )(list_command)
    registry.command(
        "hotseat cancel",
        "<id>",
        summary="call a hot seat off (every step of it)",
        facilitator_only=True,
        group=GROUP,
    )(cancel_command)
    registry.command(
        "hotseat extend",
        "<id> <days>",
        summary="give a hot seat more days",
        facilitator_only=True,
        group=GROUP,
    )(extend_command)
    registry.action("hotseat.accept")(accept)
    registry.action("hotseat.decline")(decline)
    registry.action("hotseat.ask")(open_ask_form)
    registry.form("hotseat.ask")(ask)
    registry.job("hotseat.announce")(announce_job)
    registry.job("hotseat.open")(open_job)
    registry.job("hotseat.remind")(remind_job)
    registry.job("hotseat.close")(close_job)
    registry.first_responder("hotseat")(first_responders)
    registry.highlight("hotseat")(highlight)
    registry.personal("hotseats", export=export)


# Times


def _local(day: date, at: time, community: Community) -> datetime:
    return datetime.combine(day, at, ZoneInfo(community.timezone)).astimezone(ZoneInfo("UTC"))


def _first_day(hot_seat: HotSeat, community: Community) -> date:
    return hot_seat.starts_at.astimezone(ZoneInfo(community.timezone)).date()


def _ends_at(first: date, days: int, community: Community) -> datetime:
    return _local(first + timedelta(days=days - 1), CLOSES, community)


def _days(text: str) -> int:
    value = number(text.removesuffix("d").removesuffix("days").strip())
    if value is None or not 1 <= value <= MAX_DAYS:
        raise UsageError(f"Give the number of days, from 1 to {MAX_DAYS}, like `--days 5`.")
    return value


# Keys


def _key(hot_seat: HotSeat, step: str) -> str:
    return f"hotseat:{hot_seat.id}:{step}"


def _close_step(hot_seat: HotSeat) -> str:
    return f"close:{hot_seat.days}"


# Proposing and answering


async def propose_command(context: Context, args: Args) -> None:
    community = await context.require_community()
    plain, flags = parse_flags(args.text, ("--starts", "--days"))
    expert_id = mentioned_user(plain[0].text) if plain and not plain[0].quoted else None
    if expert_id is None or len(plain) != 2:
        raise UsageError(
            'Mention the expert, then the topic in quotes: `hotseat @alex "Assurance in agile '
            'delivery" --starts 2027-02-01 --days 5`.'
        )
    topic = check_title(plain[1].text, "topic")
    match = DATE.fullmatch(flags.get("--starts", "").strip())
    if match is None:
        raise UsageError("Give the first day as `--starts 2027-02-01` (year-month-day).")
    try:
        first = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError as error:
        raise UsageError(f"--starts: that is not a date ({error}).") from error
    days = _days(flags.get("--days", "5"))
    now = context.now()
    starts_at, ends_at = _local(first, OPENS, community), _ends_at(first, days, community)
    if starts_at <= now:
        raise UsageError("--starts: that day has begun or passed; pick a later one.")
    if starts_at - now > MAX_AHEAD:
        raise UsageError("--starts: that is more than a year away; pick something sooner.")
    expert = await context.member(expert_id)
    if expert.is_bot or expert.deactivated:
        raise CommandError(f"<@{expert.user_id}> can't take a hot seat (a bot, or deactivated).")
    clash = await stored.overlapping(context.session, community.id, starts_at, ends_at)
    if clash is not None:
        raise CommandError(
            f"Hot seat {label(clash)} “{typed(clash.topic)}” runs "
            f"{days_of(clash, community)}; one hot seat at a time."
        )
    proposer = await context.member()
    hot_seat = HotSeat(
        community_id=community.id,
        expert_id=expert.id,
        proposer_id=proposer.id,
        topic=topic,
        status=stored.PROPOSED,
        starts_at=starts_at,
        days=days,
        ends_at=ends_at,
        created_at=now,
    )
    context.session.add(hot_seat)
    await context.session.flush()
    await context.enqueue(
        _key(hot_seat, "invite"),
        "hotseat_invite",
        Target("dm", expert.user_id),
        invitation(hot_seat, community, expert, proposer),
        member=expert,
    )
    context.reply_privately(
        Card(
            f"Hot seat {label(hot_seat)} “{typed(topic)}”, {days_of(hot_seat, community)}: "
            f"I've asked <@{expert.user_id}> to accept.",
            (ContextLine(f"`{context.prefix} hotseat list` shows where it stands."),),
            names=names_of([expert]),
        )
    )


async def _clicked(context: Context, event: ActionClicked) -> tuple[HotSeat, Community, Member]:
    found = number(event.value)
    hot_seat = await stored.lock(context.session, found) if found is not None else None
    community = await context.session.get(Community, hot_seat.community_id) if hot_seat else None
    if (
        hot_seat is None
        or community is None
        or (community.platform, community.workspace) != (event.platform, event.workspace)
    ):
        raise CommandError("That hot seat no longer exists.")
    member = await context.member()
    if hot_seat.expert_id != member.id:
        raise CommandError("Only the expert invited can answer this.")
    if hot_seat.status != stored.PROPOSED:
        raise CommandError(f"You already answered: the hot seat is {hot_seat.status}.")
    return hot_seat, community, member


async def accept(context: Context, event: ActionClicked) -> None:
    hot_seat, community, expert = await _clicked(context, event)
    now = context.now()
    if hot_seat.starts_at <= now:
        raise CommandError("That hot seat was to start already; ask a facilitator for a new date.")
    hot_seat.status = stored.ACCEPTED
    await _schedule_all(context, community, hot_seat)
    await _tell_proposer(
        context,
        hot_seat,
        f"<@{expert.user_id}> accepted the hot seat {label(hot_seat)} "
        f"“{typed(hot_seat.topic)}”, {days_of(hot_seat, community)}.",
        expert,
    )
    if event.message is not None:
        context.update(event.message, answered_invitation(hot_seat, community, accepted=True))


async def decline(context: Context, event: ActionClicked) -> None:
    hot_seat, community, expert = await _clicked(context, event)
    hot_seat.status = stored.DECLINED
    await _tell_proposer(
        context,
        hot_seat,
        f"<@{expert.user_id}> declined the hot seat {label(hot_seat)} “{typed(hot_seat.topic)}”.",
        expert,
    )
    if event.message is not None:
        context.update(event.message, answered_invitation(hot_seat, community, accepted=False))


async def _tell_proposer(context: Context, hot_seat: HotSeat, text: str, expert: Member) -> None:
    proposer = (
        await context.session.get(Member, hot_seat.proposer_id) if hot_seat.proposer_id else None
    )
    if proposer is None:
        return
    await context.enqueue(
        _key(hot_seat, f"status:{hot_seat.status}"),
        "hotseat_status",
        Target("dm", proposer.user_id),
        Card(text, names=names_of([expert])),
        member=proposer,
    )


async def _schedule_all(
    context: Context, community: Community, hot_seat: HotSeat, *, from_day: int = 1
) -> None:
    """The steps of an accepted hot seat still to come, as keyed one-shots (scheduling one
    twice adds nothing); `from_day` > 1 (an extension): only the new days' reminders and the
    close."""
    now = context.now()
    channel = community.channel
    steps = []
    if from_day == 1:
        steps += [
            ("announce", "hotseat.announce", max(now, hot_seat.starts_at - ANNOUNCE_AHEAD)),
            ("open", "hotseat.open", hot_seat.starts_at),
        ]
    first = _first_day(hot_seat, community)
    for day in range(from_day, hot_seat.days + 1):
        steps.append(
            (
                f"remind:{day}",
                "hotseat.remind",
                _local(first + timedelta(days=day - 1), REMINDS, community),
            )
        )
    steps.append((_close_step(hot_seat), "hotseat.close", hot_seat.ends_at))
    for step, kind, due in steps:
        if due >= now:
            await jobs.schedule(
                context,
                _key(hot_seat, step),
                kind,
                due,
                {"hotseat": hot_seat.id, "step": step},
                channel=channel,
            )


def _all_steps(hot_seat: HotSeat) -> list[str]:
    days = range(1, hot_seat.days + 1)
    return ["announce", "open", *(f"remind:{d}" for d in days), _close_step(hot_seat)]


# Early questions


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
        await _post_question(context, community, hot_seat, question, expert, asker)
    how = " anonymously: nobody, facilitators included, will see who asked" if anonymous else ""
    when = "It is posted now" if running else "It opens its own thread on the first day"
    context.reply_privately(
        Card(
            f"Thank you — your question Q{question.number} for the hot seat "
            f"“{typed(hot_seat.topic)}” is saved{how}. {when}."
        )
    )


async def _post_question(
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
        _post_key(hot_seat, question),
        "hotseat_post",
        Target("channel", community.channel),
        question_post(hot_seat, question, expert, asker),
    )


def _post_key(hot_seat: HotSeat, question: HotSeatQuestion) -> str:
    """The outbox key of an early question's post: the questions feature's own key for its
    tracked question (so it learns the post's message id), else (before it is posted) ours."""
    if question.question_id is not None:
        return questions_stored.post_key(question.question_id)
    return _key(hot_seat, f"q:{question.number}")


# The scheduled steps


async def _due(context: Context, job: JobDue) -> tuple[HotSeat, Community, Member] | None:
    """The job's hot seat if the step still stands (accepted, and this is still its step)."""
    hot_seat = await stored.lock(context.session, int(job.payload["hotseat"]))
    if hot_seat is None or hot_seat.status != stored.ACCEPTED:
        return None
    if job.payload["step"] not in _all_steps(hot_seat):
        return None  # superseded (an extension moved the close)
    community = await context.session.get(Community, hot_seat.community_id)
    expert = await context.session.get(Member, hot_seat.expert_id) if hot_seat.expert_id else None
    if community is None or expert is None:
        return None
    return hot_seat, community, expert


async def announce_job(context: Context, job: JobDue) -> None:
    found = await _due(context, job)
    if found is None:
        return
    hot_seat, community, expert = found
    await context.enqueue(
        _key(hot_seat, "announce"),
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
        _key(hot_seat, "open"),
        "hotseat_post",
        Target("channel", community.channel),
        opening(hot_seat, community, expert, len(early)),
    )
    for question in early:
        asker = await context.session.get(Member, question.asker_id) if question.asker_id else None
        await _post_question(context, community, hot_seat, question, expert, asker)


async def _answers(
    context: Context, community: Community, hot_seat: HotSeat, expert: Member
) -> list[Answered]:
    """Each early question with the members' replies in its thread, the expert's first."""
    early = await stored.questions(context.session, hot_seat.id)
    keys = {q.number: _post_key(hot_seat, q) for q in early}
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
        _key(hot_seat, job.payload["step"]),
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
        _key(hot_seat, "summary"),
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
        _key(hot_seat, "thanks"),
        "hotseat_status",
        Target("dm", expert.user_id),
        thanks(hot_seat, community, sum(1 for a in answered if a.by_expert)),
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


# Listing, cancelling, extending


async def list_command(context: Context, args: Args) -> None:
    community = await context.require_community()
    now = context.now()
    seats = await stored.live(context.session, community.id, now)
    if not seats:
        context.reply_privately(
            Card(
                f"No hot seats are planned in {typed(community.name)}.",
                (ContextLine(f"A facilitator proposes one: `{context.prefix} hotseat {USAGE}`."),),
            )
        )
        return
    lines = []
    for seat in seats:
        expert = await context.session.get(Member, seat.expert_id) if seat.expert_id else None
        who = typed(expert.name) if expert else "someone"
        if seat.status == stored.PROPOSED:
            state = "waiting for the expert to accept"
        elif seat.starts_at <= now:
            state = "running now"
        else:
            state = "accepted"
        count = await stored.question_count(context.session, seat.id)
        lines.append(
            f"• {label(seat)} {who} on “{typed(seat.topic)}” — {days_of(seat, community)} · "
            f"{state} · {count} question{'' if count == 1 else 's'} sent early"
        )
    context.reply_privately(
        Card(
            f"Hot seats in {typed(community.name)}:",
            (Section("\n".join(lines)),),
        )
    )


async def _managed(context: Context, community: Community, args: Args, problem: str) -> HotSeat:
    tokens = args.tokens
    if not tokens:
        raise UsageError(problem)
    found = number(tokens[0][1:] if tokens[0][:1] in "Hh" else tokens[0])
    hot_seat = await stored.lock(context.session, found) if found is not None else None
    if hot_seat is None or hot_seat.community_id != community.id:
        raise CommandError(f"There is no hot seat {typed(tokens[0])} in {typed(community.name)}.")
    if hot_seat.status not in stored.LIVE or hot_seat.ends_at <= context.now():
        raise CommandError(f"Hot seat {label(hot_seat)} is {hot_seat.status} already.")
    return hot_seat


async def cancel_command(context: Context, args: Args) -> None:
    community = await context.require_community()
    if len(args.tokens) != 1:
        raise UsageError("Give the hot seat's number, like `H1`.")
    hot_seat = await _managed(context, community, args, "Give the hot seat's number, like `H1`.")
    was = hot_seat.status
    for step in _all_steps(hot_seat):
        await jobs.cancel(context, _key(hot_seat, step))
    for step in ("invite", "announce"):
        await outbox.cancel_pending(context.session, _key(hot_seat, step))
    hot_seat.status = stored.CANCELLED
    expert = await context.session.get(Member, hot_seat.expert_id) if hot_seat.expert_id else None
    announced = await stored.posted_threads(context.session, [_key(hot_seat, "announce")])
    if announced:
        await context.enqueue(
            _key(hot_seat, "cancelled"),
            "hotseat_post",
            Target("channel", community.channel),
            cancelled(hot_seat, community),
        )
    if expert is not None and was == stored.ACCEPTED:
        await context.enqueue(
            _key(hot_seat, "cancelled-dm"),
            "hotseat_status",
            Target("dm", expert.user_id),
            cancelled(hot_seat, community),
            member=expert,
        )
    context.reply_privately(
        status_note(
            f"Hot seat {label(hot_seat)} “{typed(hot_seat.topic)}” is cancelled; "
            "nothing more of it will be posted."
        )
    )


async def extend_command(context: Context, args: Args) -> None:
    community = await context.require_community()
    problem = "Give the hot seat and the days to add, like `hotseat extend H1 2`."
    if len(args.tokens) != 2:
        raise UsageError(problem)
    hot_seat = await _managed(context, community, args, problem)
    more = _days(args.tokens[1])
    if hot_seat.days + more > MAX_DAYS:
        raise UsageError(f"A hot seat lasts at most {MAX_DAYS} days.")
    first = _first_day(hot_seat, community)
    ends_at = _ends_at(first, hot_seat.days + more, community)
    clash = await stored.overlapping(
        context.session, community.id, hot_seat.starts_at, ends_at, other_than=hot_seat.id
    )
    if clash is not None:
        raise CommandError(f"Hot seat {label(clash)} starts then; one hot seat at a time.")
    if hot_seat.status == stored.ACCEPTED:
        await jobs.cancel(context, _key(hot_seat, _close_step(hot_seat)))
    hot_seat.days += more
    hot_seat.ends_at = ends_at
    if hot_seat.status == stored.ACCEPTED:
        await _schedule_all(context, community, hot_seat, from_day=hot_seat.days - more + 1)
        expert = (
            await context.session.get(Member, hot_seat.expert_id) if hot_seat.expert_id else None
        )
        announced = await stored.posted_threads(context.session, [_key(hot_seat, "announce")])
        if expert is not None and announced:
            await context.enqueue(
                _key(hot_seat, f"extended:{hot_seat.days}"),
                "hotseat_post",
                Target("channel", community.channel),
                extended(hot_seat, community, expert, to_expert=False),
            )
        if expert is not None:
            await context.enqueue(
                _key(hot_seat, f"extended-dm:{hot_seat.days}"),
                "hotseat_status",
                Target("dm", expert.user_id),
                extended(hot_seat, community, expert, to_expert=True),
                member=expert,
            )
    context.reply_privately(
        status_note(
            f"Hot seat {label(hot_seat)} “{typed(hot_seat.topic)}” now runs "
            f"{days_of(hot_seat, community)}."
        )
    )


# What other features ask


async def first_responders(context: Context, community_id: int, now: datetime) -> list[int]:
    """The expert of the hot seat running now, asked first about new questions."""
    running = await stored.running(context.session, community_id, now)
    return [running.expert_id] if running is not None and running.expert_id else []


async def highlight(context: Context, community_id: int, now: datetime) -> str | None:
    """ "Hot seat this week": the one running, or the one starting within a week."""
    seats = [
        s
        for s in await stored.live(context.session, community_id, now)
        if s.status == stored.ACCEPTED and s.starts_at - now <= ANNOUNCE_AHEAD
    ]
    community = await context.session.get(Community, community_id)
    if not seats or community is None:
        return None
    seat = seats[0]
    expert = await context.session.get(Member, seat.expert_id) if seat.expert_id else None
    who = typed(expert.name) if expert else "an expert"
    when = "now" if seat.starts_at <= now else days_of(seat, community)
    return f"🔥 Hot seat this week: {who} answers questions on “{typed(seat.topic)}” ({when})."


async def export(context: Context, member: Member) -> dict[str, list[dict[str, str]]]:
    """my-data: hot seats the member was the expert of, and questions they asked by name
    (anonymous questions are nobody's: nothing links them to anyone)."""
    seats = await context.session.scalars(select(HotSeat).where(HotSeat.expert_id == member.id))
    asked = await context.session.scalars(
        select(HotSeatQuestion).where(HotSeatQuestion.asker_id == member.id)
    )
    return {
        "as_expert": [{"topic": s.topic, "status": s.status} for s in seats],
        "questions": [{"text": q.text} for q in asked],
    }
