"""A question's life: noticed (or asked with `/cop ask`), routed to up to three people,
escalated when nobody replies, marked as answered, kept as knowledge.

- **Noticed**: a member's message in the community channel that `classify.is_question` reads
  as a question, or `/cop ask [--anonymous] <question>` / the ask form (Hearth posts those in
  the channel). Thread replies are replies, never new questions. A noticed question is written
  with the rest of its batch of events; a keyed one-shot due at once (`question.start`) routes
  it just after, so that routing never slows the storing of a busy channel's messages.
- **Routed**: the registry's first responders, then `expertise.rank_experts`; never the asker,
  nobody with `Defaults.max_open_requests` requests open (HEARTH_MAX_OPEN_REQUESTS), nobody the
  send policy would drop (paused, stopped expert requests, deactivated, a bot), nobody who
  left; someone outside their working hours (or under the weekly cap) is asked only when
  nobody else can be: their DM waits for them.
- **Escalated** by keyed one-shots (`handlers/jobs.py`): with no reply but the asker's after
  ESCALATE_AFTER working hours of the community, the next experts; after TO_FACILITATORS, the
  facilitators, with a word in the thread. The asker is asked once, FOLLOW_UP_AFTER the first
  reply, whether it was answered. Answering cancels every follow-up, and each job looks again.
- **Answered** (the Mark as answered button, or ✅ by the asker on the question or a reply):
  the answer is kept as knowledge, the answerer thanked, expertise learns from it.

Every message Hearth starts here goes through the outbox and the send policy.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hearth.handlers import jobs, policy
from hearth.handlers.cards import Actions, Button, Card, ContextLine, Field, Form, Section, typed
from hearth.handlers.commands import Args, CommandError, UsageError, number, visible
from hearth.handlers.context import Context
from hearth.handlers.events import ActionClicked, FormSubmitted, MessagePosted, ReactionAdded
from hearth.handlers.expertise import (
    rank_experts,
    record_accepted,
    record_question,
    record_reply,
)
from hearth.handlers.forms import read
from hearth.handlers.jobs import JobDue
from hearth.handlers.ports import Target
from hearth.handlers.questions import classify, sealing
from hearth.handlers.questions.timing import add_working_hours, link
from hearth.handlers.registry import Arrival
from hearth.storage import outbox
from hearth.storage import questions as stored
from hearth.storage.db import insert_ignore_later
from hearth.storage.models import (
    Community,
    Facilitator,
    KnowledgeEntry,
    Member,
    MemberSettings,
    Membership,
    Message,
    Question,
    QuestionRequest,
)

FIRST_ROUND = 3
"""People asked about a new question (and again at the first escalation)."""
ESCALATE_AFTER = 4
"""Working hours of the community with no reply before the next experts are asked."""
TO_FACILITATORS = timedelta(hours=24)
FOLLOW_UP_AFTER = timedelta(hours=4)
"""After the first reply, when the asker is asked whether it answered their question."""
SCRUB_AFTER = timedelta(minutes=10)
CHECKS = frozenset(
    {"white_check_mark", "heavy_check_mark", "ballot_box_with_check", "✅", "✔️", "check"}
)
ASK_FORM = "questions.ask"
MENTIONS = re.compile(r"<[@#!][^>]*>")
ASK_USAGE = "[--anonymous] <your question>"


# Asking


async def preload(session: AsyncSession, arrivals: list[Arrival]) -> None:
    """The questions a batch's replies went to, found at once (a thread that starts in this
    batch is looked up when its reply comes, once its question is written)."""
    posts = [(a.community.id, a.event) for a in arrivals if isinstance(a.event, MessagePosted)]
    here = {(community, event.message_id) for community, event in posts}
    await stored.look_up_threads(
        session,
        {(community, event.thread_id) for community, event in posts if event.thread_id} - here,
    )


async def on_message(context: Context, event: MessagePosted) -> None:
    """A channel message: a reply in a question's thread, or maybe a new question."""
    if event.is_dm or event.from_bot:
        return
    community = await context.community()
    if community is None:
        return
    member = await context.member()
    if member.is_bot:
        return
    if event.thread_id:
        await on_reply(context, community, member, event)
        return
    if not classify.is_question(event.text):
        return
    insert_ignore_later(  # written with the rest of the batch, like the message
        context.session,
        Question,
        {
            "community_id": community.id,
            "message_id": event.message_id,
            "asker_id": member.id,
            "anonymous": False,
            "text": event.text,
            "via": "message",
            "status": stored.OPEN,
            "stage": 0,
            "asked_at": context.now(),  # when Hearth noticed it: follow-ups count from here
        },
    )
    jobs.schedule_later(
        context,
        f"question:{community.id}:{event.message_id}:start",
        "question.start",
        context.now(),
        {"community": community.id, "message": event.message_id},
        channel=community.channel,
    )


async def start_job(context: Context, job: JobDue) -> None:
    """A question noticed in the channel, just after its batch of events was stored (routing
    is not done inside the batch): "this may help", then route it and say so in its thread."""
    found = await stored.by_message(
        context.session, int(job.payload["community"]), str(job.payload["message"])
    )
    question = await stored.lock(context.session, found.id) if found else None
    if question is None or question.status != stored.OPEN or question.asker_id is None:
        return  # answered, withdrawn or forgotten meanwhile
    community = await _community(context, question)
    asker = await context.session.get(Member, question.asker_id)
    assert asker is not None, "a question's asker is a member"
    suggestion = await similar(context, community, question)
    if suggestion is not None:
        await _in_thread(context, community, question, "similar", suggestion)
    asked = await start(context, community, question, asker)
    if asked:
        people = "one person" if asked == 1 else f"{asked} people"
        await _in_thread(
            context,
            community,
            question,
            "asked",
            Card(f"Thanks for asking! I've asked {people} who may know to have a look."),
        )


async def ask_command(context: Context, args: Args) -> None:
    """`/cop ask [--anonymous] <question>`: Hearth posts it in the channel."""
    community = await context.require_community()
    words = args.text.split(None, 1)
    anonymous = bool(words) and words[0].lower() in ("--anonymous", "—anonymous", "-anonymous")
    text = visible(words[1] if anonymous and len(words) > 1 else "" if anonymous else args.text)
    if text[:1] in '"“' and text[-1:] in '"”' and len(text) > 1:
        text = text[1:-1].strip()
    if not text:
        raise UsageError("Write your question after `ask`, like `ask How do I start a RAID log?`")
    await post_question(context, community, text, anonymous=anonymous, via="command")


def ask_form(token: str = "") -> Form:
    """The ask form (opened by the "questions.ask" action, from any feature's button)."""
    return Form(
        "Ask a question",
        ASK_FORM,
        (
            Field("question", "Your question", multiline=True),
            Field(
                "anonymous",
                "Ask anonymously: nobody, facilitators included, sees it was you",
                "yesno",
                required=False,
            ),
        ),
        submit_label="Ask",
        context=token,
    )


async def open_ask_form(context: Context, event: ActionClicked) -> None:
    """The "questions.ask" action: show the ask form (for this channel's community, or the
    one named in the button's value)."""
    community = await context.community()
    tag = str(community.id) if community else event.value
    context.open_form(ask_form(tag))


async def submit_ask_form(context: Context, event: FormSubmitted) -> None:
    values = read(ask_form(), event.values)
    community = await context.community()
    wanted = number(event.context)
    if community is None and wanted is not None:
        found = await context.session.get(Community, wanted)
        if found is not None and (found.platform, found.workspace) == (
            event.platform,
            event.workspace,
        ):
            community = found
            context.community_set_up(found)
    if community is None:
        raise CommandError("Questions are asked in a community channel; open the form there.")
    text = visible(str(values["question"]))
    if not text:
        raise CommandError("Ask a question: write it in the form.")
    await post_question(context, community, text, anonymous=bool(values["anonymous"]), via="form")


async def post_question(
    context: Context, community: Community, text: str, *, anonymous: bool, via: str
) -> None:
    """Post a question in the channel for the member (without naming them, if anonymous)."""
    event = context.event
    member = await context.member()
    question = Question(
        community_id=community.id,
        message_id=None,
        asker_id=None if anonymous else member.id,
        asker_sealed=sealing.seal(context.defaults.secret, event.user) if anonymous else None,
        anonymous=anonymous,
        text=text,
        via=via,
        status=stored.OPEN,
        stage=0,
        asked_at=context.now(),
    )
    context.session.add(question)
    await context.session.flush()
    if anonymous:
        headline = f"❓ A member asks, anonymously: “{typed(text)}”"
        note = "Reply in this thread: Hearth passes your answers on to them privately."
        names: dict[str, str] = {}
    else:
        headline = f"❓ <@{member.user_id}> asks: “{typed(text)}”"
        note = "Reply in this thread to help."
        names = {member.user_id: member.name}
    blocks: list[Section | ContextLine] = []
    suggestion = await similar(context, community, question)
    if suggestion is not None:
        blocks.append(Section(suggestion.text))
    blocks.append(ContextLine(note))
    await context.enqueue(
        stored.post_key(question.id),
        "question_post",
        Target("channel", community.channel),
        Card(headline, tuple(blocks), names=names, quiet=frozenset(names)),
    )
    asked = await start(context, community, question, member)
    people = "nobody yet" if not asked else "one person" if asked == 1 else f"{asked} people"
    privately = "anonymously " if anonymous else ""
    lines = [f"Your question is posted {privately}in {typed(community.name)}; I've asked {people}."]
    if anonymous:
        lines.append("Answers in its thread come to you here, privately; nobody sees it was you.")
    context.reply_privately(Card(" ".join(lines)))


async def start(context: Context, community: Community, question: Question, asker: Member) -> int:
    """Learn from a new question, route it, and schedule its follow-ups; how many were asked."""
    if not question.anonymous:
        await record_question(
            context.session,
            community_id=community.id,
            question_key=key_of(question),
            asker_id=asker.id,
            text=MENTIONS.sub(" ", question.text or ""),  # who is named is not the subject
            at=question.asked_at,
        )
    asked = await route(context, community, question, FIRST_ROUND, asker_id=asker.id)
    first = add_working_hours(question.asked_at, ESCALATE_AFTER, community.timezone)
    await _schedule(context, community, question, "escalate", first, stage=1)
    await _schedule(
        context, community, question, "facilitators", question.asked_at + TO_FACILITATORS, stage=2
    )
    return asked


def key_of(question: Question) -> str:
    """The question's key for expertise: its chat message id, else Hearth's own id for it."""
    return question.message_id if question.via == "message" else f"question-{question.id}"


async def _schedule(
    context: Context,
    community: Community,
    question: Question,
    step: str,
    due: datetime,
    **payload: int,
) -> None:
    await jobs.schedule(
        context,
        f"question:{question.id}:{step}",
        f"question.{step}",
        due,
        {"question": question.id, **payload},
        channel=community.channel,
    )


# Routing


async def route(
    context: Context,
    community: Community,
    question: Question,
    wanted: int,
    *,
    asker_id: int | None,
) -> int:
    """Ask up to `wanted` more people about a question; how many were asked."""
    session, now = context.session, context.now()
    already = await stored.asked_members(session, question.id)
    if asker_id is None and question.anonymous:  # known only in memory, from the seal
        user = sealing.unseal(context.defaults.secret, question.asker_sealed)
        asker_id = await stored.member_id_of(session, community, user) if user else None
    exclude = set(already) | ({asker_id} if asker_id is not None else set())
    order: list[int] = []
    for provider in context.registry.first_responders.values():
        order.extend(await provider(context, community.id, now))
    ranked = await rank_experts(
        session,
        community_id=community.id,
        text=MENTIONS.sub(" ", question.text or ""),
        asker_id=asker_id if asker_id is not None else 0,
        at=now,
        limit=wanted + 10,
        exclude=exclude,
        question_key=None if question.anonymous else key_of(question),
    )
    order.extend(r.member_id for r in ranked)
    candidates = list(dict.fromkeys(m for m in order if m not in exclude))
    load = await stored.open_requests(session, candidates)
    ready: list[Member] = []
    later: list[Member] = []
    for member_id in candidates:
        if len(ready) >= wanted:
            break
        member = await session.get(Member, member_id)
        if member is None or load.get(member_id, 0) >= context.defaults.max_open_requests:
            continue
        membership = await session.get(Membership, (community.id, member_id))
        if membership is not None and membership.left_at is not None:
            continue  # left the community (someone never seen joining may predate Hearth)
        decision = await policy.check(
            session, context.registry.outbox_kinds, "expert_request", member, now
        )
        if decision.action == "drop":
            continue
        if decision.action == "defer":
            if decision.reason != "frequency cap":
                later.append(member)  # outside their hours: only if nobody else can
            continue
        ready.append(member)
    chosen = (ready + later)[:wanted]
    asker = (
        await session.get(Member, question.asker_id)
        if question.asker_id and not question.anonymous
        else None
    )
    for member in chosen:
        session.add(
            QuestionRequest(
                question_id=question.id,
                member_id=member.id,
                stage=question.stage,
                status=stored.ASKED,
                asked_at=now,
            )
        )
        await context.enqueue(
            f"question:{question.id}:ask:{member.id}",
            "expert_request",
            Target("dm", member.user_id),
            request_card(community, question, asker),
            member=member,
        )
    return len(chosen)


def request_card(community: Community, question: Question, asker: Member | None) -> Card:
    """The DM asking someone to help: the question, a link, I'll answer / Not me."""
    who = f"<@{asker.user_id}>" if asker else "A member (anonymously)"
    names = {asker.user_id: asker.name} if asker else {}
    where = link(community.platform, community.workspace, community.channel, question.message_id)
    value = str(question.id)
    return Card(
        f"{who} asked in {typed(community.name)}: “{typed(question.text or '')}” — could you help?",
        (
            Section(f"The question: {where}"),
            Actions(
                (
                    Button("I'll answer", "questions.take", value, style="primary"),
                    Button("Not me", "questions.pass", value),
                    Button("Stop these requests", "questions.stop", value),
                )
            ),
            ContextLine("“Not me” passes it on to someone else at once."),
        ),
        names=names,
        quiet=frozenset(names),
    )


async def _request(context: Context, event: ActionClicked) -> tuple[Question, QuestionRequest]:
    question_id = number(event.value)
    question = await stored.lock(context.session, question_id) if question_id else None
    member = await context.member()
    request = (
        await context.session.get(QuestionRequest, (question.id, member.id)) if question else None
    )
    if question is None or request is None:
        raise CommandError("That question is no longer waiting for you.")
    return question, request


async def take(context: Context, event: ActionClicked) -> None:
    """I'll answer."""
    question, request = await _request(context, event)
    community = await _community(context, question)
    if question.status != stored.OPEN:
        raise CommandError("That question has been answered already: thank you anyway!")
    request.status = stored.TAKING
    where = link(community.platform, community.workspace, community.channel, question.message_id)
    card = Card(
        f"Thank you! You're answering “{typed(question.text or '')}”: reply in its thread, {where}."
    )
    if event.message is not None:
        context.update(event.message, card)
    else:
        context.reply_privately(card)


async def pass_on(context: Context, event: ActionClicked) -> None:
    """Not me: passed on to the next person at once."""
    question, request = await _request(context, event)
    community = await _community(context, question)
    if request.status == stored.PASSED:
        raise CommandError("You've already passed this one on.")
    request.status = stored.PASSED
    card = Card(f"No problem: I'll ask someone else about “{typed(question.text or '')}”.")
    if event.message is not None:
        context.update(event.message, card)
    else:
        context.reply_privately(card)
    if question.status == stored.OPEN:
        await route(context, community, question, 1, asker_id=question.asker_id)


async def stop_requests(context: Context, event: ActionClicked) -> None:
    """Stop these requests: the member's expert_requests preference goes off."""
    member = await context.member()
    settings = await context.session.get(MemberSettings, member.id)
    if settings is None:
        settings = MemberSettings(member_id=member.id, dms={}, updated_at=context.now())
        context.session.add(settings)
    settings.dms = {**settings.dms, "expert_requests": False}
    settings.updated_at = context.now()
    question_id = number(event.value)
    if question_id is not None:
        request = await context.session.get(QuestionRequest, (question_id, member.id))
        question = await stored.lock(context.session, question_id)
        if request is not None and request.status == stored.ASKED and question is not None:
            request.status = stored.PASSED
            if question.status == stored.OPEN:
                community = await _community(context, question)
                await route(context, community, question, 1, asker_id=question.asker_id)
    context.reply_privately(
        Card(
            "Done: Hearth won't ask you to help with questions any more. "
            f"Turn them back on in `{context.prefix} settings`."
        )
    )


# Replies, answers, follow-ups


async def on_reply(
    context: Context, community: Community, member: Member, event: MessagePosted
) -> None:
    """A reply in a thread: if it is a question's, by someone other than the asker, it counts."""
    assert event.thread_id is not None
    found = await stored.by_message(context.session, community.id, event.thread_id)
    if found is None or found.status != stored.OPEN:
        return
    question = await stored.lock(context.session, found.id)
    assert question is not None
    if question.asker_id == member.id or _is_anonymous_asker(context, question, event.user):
        return
    if not question.anonymous:
        await record_reply(
            context.session,
            community_id=community.id,
            question_key=key_of(question),
            replier_id=member.id,
            at=event.at,
        )
    if question.first_reply_at is None:
        question.first_reply_at = context.now()
        await _schedule(context, community, question, "followup", context.now() + FOLLOW_UP_AFTER)
    if question.anonymous:
        where = link(community.platform, community.workspace, community.channel, event.message_id)
        await _to_anonymous_asker(
            context,
            community,
            question,
            f"reply:{event.message_id}",
            Card(
                f"<@{member.user_id}> replied to your anonymous question "
                f"“{typed(question.text or '')}”: “{typed(event.text)}”",
                (ContextLine(f"The reply: {where}"),),
                names={member.user_id: member.name},
                quiet=frozenset({member.user_id}),
            ),
        )


def _is_anonymous_asker(context: Context, question: Question, user: str) -> bool:
    if not question.anonymous:
        return False
    return sealing.unseal(context.defaults.secret, question.asker_sealed) == user


async def _to_anonymous_asker(
    context: Context, community: Community, question: Question, what: str, card: Card
) -> None:
    """DM an anonymous asker; the delivery row (the one place their address is written) is
    erased once it has gone (see `scrub_job`)."""
    user = sealing.unseal(context.defaults.secret, question.asker_sealed)
    if user is None:
        return
    await context.enqueue(
        f"question:{question.id}:anon:{what}", "question_answer", Target("dm", user), card
    )
    due = context.now() + SCRUB_AFTER
    await jobs.schedule(
        context,
        f"question:{question.id}:scrub:{int(due.timestamp())}",
        "question.scrub",
        due,
        {"question": question.id},
        channel=community.channel,
    )


async def scrub_job(context: Context, job: JobDue) -> None:
    """Erase delivered DMs to an anonymous asker (their address and what was said)."""
    question_id = int(job.payload["question"])
    prefix = f"question:{question_id}:anon:"
    rows = await stored.outbox_rows(context.session, prefix)
    done = [key for key, status in rows if status not in (outbox.PENDING, outbox.SENDING)]
    await stored.delete_outbox_rows(context.session, done, context.now())
    if len(done) < len(rows):
        due = context.now() + SCRUB_AFTER
        await jobs.schedule(
            context,
            f"question:{question_id}:scrub:{int(due.timestamp())}",
            "question.scrub",
            due,
            {"question": question_id},
        )


async def followup_job(context: Context, job: JobDue) -> None:
    """Ask the asker, once, whether their question was answered."""
    question = await stored.lock(context.session, int(job.payload["question"]))
    if question is None or question.status != stored.OPEN:
        return
    community = await _community(context, question)
    where = link(community.platform, community.workspace, community.channel, question.message_id)
    card = Card(
        f"Did you get the answer you needed to “{typed(question.text or '')}”?",
        (
            Section(f"Your question: {where}"),
            Actions(
                (
                    Button("Mark as answered", "questions.answered", str(question.id), "primary"),
                    Button("Not yet", "questions.not_yet", str(question.id)),
                )
            ),
            ContextLine(
                "Only you see this: a ✅ reaction would show it was you, the button doesn't."
                if question.anonymous
                else "You can also react with ✅ to the reply that answered it."
            ),
        ),
    )
    if question.anonymous:
        await _to_anonymous_asker(context, community, question, "followup", card)
        return
    asker = await context.session.get(Member, question.asker_id) if question.asker_id else None
    if asker is not None:
        await context.enqueue(
            f"question:{question.id}:followup",
            "question_followup",
            Target("dm", asker.user_id),
            card,
            member=asker,
        )


async def answered_clicked(context: Context, event: ActionClicked) -> None:
    """Mark as answered (the asker's button)."""
    question = await _askers_question(context, event.value)
    community = await _community(context, question)
    if question.status != stored.OPEN:
        raise CommandError("That question is already marked as answered.")
    await mark_answered(context, community, question, await _likely_answer(context, question))
    card = Card(f"Marked as answered: “{typed(question.text or '')}”. Thanks for asking!")
    if event.message is not None:
        context.update(event.message, card)
    else:
        context.reply_privately(card)


async def not_yet_clicked(context: Context, event: ActionClicked) -> None:
    question = await _askers_question(context, event.value)
    card = Card(
        f"Thanks for saying. The thread of “{typed(question.text or '')}” stays open; "
        "react with ✅ to the reply that answers it when one does."
    )
    if event.message is not None:
        context.update(event.message, card)
    else:
        context.reply_privately(card)


async def _askers_question(context: Context, value: str) -> Question:
    question_id = number(value)
    question = await stored.lock(context.session, question_id) if question_id else None
    if question is None:
        raise CommandError("That question no longer exists.")
    if question.anonymous:
        if not _is_anonymous_asker(context, question, context.event.user):
            raise CommandError("Only whoever asked a question can mark it as answered.")
    elif question.asker_id != (await context.member()).id:
        raise CommandError("Only whoever asked a question can mark it as answered.")
    return question


async def on_reaction(context: Context, event: ReactionAdded) -> None:
    """✅ by the asker on their question or on a reply in its thread: answered."""
    if event.emoji.strip(":") not in CHECKS:
        return
    community = await context.community()
    if community is None:
        return
    session = context.session
    question = await stored.by_message(session, community.id, event.message_id)
    answer = None
    if question is None:
        answer = await session.scalar(
            select(Message).where(
                Message.community_id == community.id, Message.message_id == event.message_id
            )
        )
        if answer is None or answer.thread_id is None:
            return
        question = await stored.by_message(session, community.id, answer.thread_id)
    if question is None or question.status != stored.OPEN:
        return
    question = await stored.lock(session, question.id)
    assert question is not None
    if question.anonymous:
        if not _is_anonymous_asker(context, question, event.user):
            return
    elif question.asker_id != (await context.member()).id:
        return
    if answer is not None and answer.member_id == question.asker_id:
        answer = None  # the asker's own follow-up is not the answer
    await mark_answered(
        context, community, question, answer or await _likely_answer(context, question)
    )


async def _likely_answer(context: Context, question: Question) -> Message | None:
    """The reply that most likely answered: by whoever said I'll answer, else the first one
    by anyone but the asker."""
    if question.message_id is None:
        return None
    replies = [
        m
        for m in await stored.thread(context.session, question.community_id, question.message_id)
        if m.thread_id == question.message_id
        and not m.from_bot
        and m.member_id is not None
        and m.member_id != question.asker_id
        and m.text
    ]
    taking = set(
        await context.session.scalars(
            select(QuestionRequest.member_id).where(
                QuestionRequest.question_id == question.id,
                QuestionRequest.status == stored.TAKING,
            )
        )
    )
    preferred = [m for m in replies if m.member_id in taking]
    return (preferred or replies or [None])[0]


async def mark_answered(
    context: Context, community: Community, question: Question, answer: Message | None
) -> None:
    """Answered: stop every follow-up, keep the knowledge, thank the answerer."""
    session, now = context.session, context.now()
    question.status = stored.ANSWERED
    question.answered_at = now
    question.asker_sealed = None  # nobody needs to reach an anonymous asker any more
    for step in ("escalate", "facilitators", "followup"):
        await jobs.cancel(context, f"question:{question.id}:{step}")
    for member_id in await stored.close_requests(session, question.id):
        await outbox.cancel_pending(session, f"question:{question.id}:ask:{member_id}")
    helper = await session.get(Member, answer.member_id) if answer and answer.member_id else None
    if answer is not None:
        question.answerer_id = answer.member_id
        question.answer_message_id = answer.message_id
    if helper is not None and not question.anonymous:
        await record_accepted(
            session,
            community_id=community.id,
            question_key=key_of(question),
            answerer_id=helper.id,
            at=now,
        )
    where = link(
        community.platform,
        community.workspace,
        community.channel,
        answer.message_id if answer else question.message_id,
    )
    if answer is not None and answer.text and question.text:
        await stored.add_knowledge(
            session,
            KnowledgeEntry(
                community_id=community.id,
                kind="answer",
                question_id=question.id,
                title=question.text,
                body=answer.text,
                helper_id=helper.id if helper else None,
                thread_id=question.message_id,
                link=where,
                created_at=now,
            ),
        )
    if helper is not None:
        asker = "the asker" if question.anonymous else "they"
        await context.enqueue(
            f"question:{question.id}:thanks",
            "question_thanks",
            Target("dm", helper.user_id),
            Card(
                f"Thank you, {typed(helper.name)}! Your answer to “{typed(question.text or '')}” "
                f"is the one {asker} marked as answering it.",
                (
                    ContextLine(
                        f"It's kept in the community's knowledge now: `{context.prefix} search` "
                        "finds it for the next person who wonders."
                    ),
                ),
            ),
            member=helper,
        )
    thanks = f" — thank you <@{helper.user_id}>!" if helper else "."
    names = {helper.user_id: helper.name} if helper else {}
    await _in_thread(
        context,
        community,
        question,
        "answered",
        Card(f"✅ Marked as answered{thanks}", names=names),
    )


# Escalation


async def escalate_job(context: Context, job: JobDue) -> None:
    """No reply but the asker's after the working-hours wait: ask the next experts."""
    question = await _still_silent(context, job)
    if question is None:
        return
    community = await _community(context, question)
    question.stage = max(question.stage, 1)
    await route(context, community, question, FIRST_ROUND, asker_id=question.asker_id)


async def facilitators_job(context: Context, job: JobDue) -> None:
    """No reply after a day: the facilitators hear of it, and the thread hears we're on it."""
    question = await _still_silent(context, job)
    if question is None:
        return
    community = await _community(context, question)
    question.stage = 2
    facilitators = await context.session.scalars(
        select(Member)
        .join(Facilitator, Facilitator.member_id == Member.id)
        .where(Facilitator.community_id == community.id)
        .order_by(Member.id)
    )
    where = link(community.platform, community.workspace, community.channel, question.message_id)
    for facilitator in facilitators:
        if facilitator.id == question.asker_id:
            continue
        await context.enqueue(
            f"question:{question.id}:facilitator:{facilitator.id}",
            "question_escalation",
            Target("dm", facilitator.user_id),
            Card(
                f"A question in {typed(community.name)} has had no reply for a day: "
                f"“{typed(question.text or '')}”. Could you answer it, or find someone who can?",
                (Section(f"The question: {where}"),),
            ),
            member=facilitator,
        )
    await _in_thread(
        context,
        community,
        question,
        "finding",
        Card("Great question! We're finding the right person to answer it."),
    )


async def _still_silent(context: Context, job: JobDue) -> Question | None:
    """The job's question, locked, if it is open and nobody but the asker has replied."""
    question = await stored.lock(context.session, int(job.payload["question"]))
    if question is None or question.status != stored.OPEN:
        return None
    if question.message_id is None:  # Hearth's own post: learn its id now
        await stored.learn_post_ids(context.session, question.community_id)
    if question.first_reply_at is not None:
        return None
    if question.stage >= int(job.payload.get("stage", 1)):
        return None
    return question


# Helpers


async def _community(context: Context, question: Question) -> Community:
    community = await context.session.get(Community, question.community_id)
    assert community is not None, "a question goes with its community"
    return community


async def _in_thread(
    context: Context, community: Community, question: Question, what: str, card: Card
) -> None:
    """A reply from Hearth in the question's thread (once per `what`)."""
    if question.message_id is None:
        await stored.learn_post_ids(context.session, community.id)
    if question.message_id is None:
        return
    await context.enqueue(
        f"question:{question.id}:thread:{what}",
        "question_reply",
        Target("channel", community.channel, thread=question.message_id),
        card,
    )


async def similar(context: Context, community: Community, question: Question) -> Card | None:
    """ "This may help": a very similar question the community answered before (found with the
    full-text index; kept only when most of the new question's words are in the old one)."""
    words = stored.terms(question.text or "")
    if len(words) < 2:
        return None
    ours = {_stem(w) for w in words}
    for entry in await stored.search(context.session, community.id, words, every=False, limit=3):
        if entry.question_id == question.id or entry.kind != "answer":
            continue
        theirs = {_stem(w) for w in stored.terms(entry.title)}
        shared = len(ours & theirs)
        if shared >= 2 and shared / max(min(len(ours), len(theirs)), 1) >= 0.6:
            return Card(
                f"This may help: a very similar question was answered before — "
                f"“{typed(entry.title)}”: {entry.link}"
            )
    return None


def _stem(word: str) -> str:
    """A crude stem for comparing two questions' words ("logs" and "log" are one)."""
    for ending in ("ing", "ed", "es", "s"):
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return word[: -len(ending)]
    return word
