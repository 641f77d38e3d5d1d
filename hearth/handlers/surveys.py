"""Surveys: a facilitator asks several questions at once; members answer in a form.

A survey is a `Poll` of kind `survey` (one numbering for polls and surveys, so `poll close`,
`poll list` and `poll export` work for both). It is written as a draft from a form, posted
with an *Answer the survey* button, and answered one row per member per question, under the
same voter-key rule as poll votes: anonymous surveys store no member.

Each question field of the form takes one question:

- `text: What should we change?` (or no prefix) — a short written answer
- `scale: How useful was this month's session?` — 1 to 5
- `choice: Which format next? | Talk | Workshop | Clinic` — one of the options
"""

from __future__ import annotations

import re
from dataclasses import replace
from zoneinfo import ZoneInfo

from hearth.handlers import audit, once, polls
from hearth.handlers.cards import Actions, Button, Card, ContextLine, Field, Form, typed
from hearth.handlers.commands import Args, CommandError, UsageError, number, visible
from hearth.handlers.context import Context
from hearth.handlers.events import ActionClicked, FormSubmitted
from hearth.handlers.forms import YES, read
from hearth.handlers.poll_cards import (
    Question,
    label,
    question_list,
    questions_of,
    survey_summary,
)
from hearth.handlers.poll_spec import MAX_OPTION_LENGTH, MAX_OPTIONS, MAX_QUESTION_LENGTH
from hearth.handlers.registry import Registry
from hearth.handlers.schedules import TimeError, parse_duration, parse_moment
from hearth.storage import polls as stored
from hearth.storage.models import Community, Poll

MAX_QUESTIONS = 8
MAX_ANSWER_LENGTH = 1000
MAX_FORM_TITLE = 24
"""Slack's limit for a modal's title."""
QUESTION = re.compile(r"\s*(text|scale|choice)\s*:\s*(.*)", re.IGNORECASE | re.DOTALL)
NEW = "new:"
"""A new survey's form context: `new:<community id>:<one-use token>` (an edited draft's is
`<draft id>:<one-use token>`): one form saves at most once."""
QUESTION_HINT = "text: …, scale: … (1–5) or choice: … | A | B"


def register(registry: Registry) -> None:
    group = "polls and surveys"
    registry.command(
        "survey",
        summary="ask several questions at once (opens a form)",
        facilitator_only=True,
        audited=False,  # opening the form changes nothing; the draft is recorded when saved
        group=group,
    )(survey_command)
    registry.command(
        "survey post",
        "<id>",
        summary="post a survey draft in its community",
        facilitator_only=True,
        group=group,
    )(post_command)
    registry.command(
        "survey edit",
        "<id>",
        summary="change a survey draft (opens the form)",
        facilitator_only=True,
        group=group,
    )(edit_command)
    registry.command(
        "survey delete",
        "<id>",
        summary="delete a survey draft",
        facilitator_only=True,
        group=group,
    )(delete_command)
    registry.command(
        "survey results",
        "<id>",
        summary="a survey's results, privately",
        facilitator_only=True,
        audited=False,
        group=group,
    )(results_command)
    registry.form("survey.create")(create_from_form)
    registry.action("survey.post")(post_clicked)
    registry.action("survey.open")(open_answers)
    registry.form("survey.answer")(store_answers)


def survey_form(draft: Poll | None = None, zone: str = "UTC") -> Form:
    """Title, up to MAX_QUESTIONS questions in the tiny syntax, anonymity, closing time;
    filled in from `draft` when one is edited (its id then travels as the form's context)."""
    written = [_written(q) for q in questions_of(draft)] if draft else []
    questions = tuple(
        Field(
            f"q{n}",
            f"Question {n}" + (f" — {QUESTION_HINT}" if n == 1 else ""),
            required=n == 1,
            initial=written[n - 1] if n <= len(written) else "",
        )
        for n in range(1, MAX_QUESTIONS + 1)
    )
    closes = ""
    if draft and draft.close_after:
        closes = _duration_text(draft.close_after)
    elif draft and draft.closes_at:
        closes = f"{draft.closes_at.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M}"
    return Form(
        f"Edit survey #{draft.id}" if draft else "New survey",
        "survey.create",
        (
            Field("title", "Title", initial=draft.question if draft else ""),
            *questions,
            Field(
                "anonymous",
                "Anonymous: answers are not linked to anyone",
                "yesno",
                required=False,
                initial=(YES if draft.anonymous else "no") if draft else "",
            ),
            Field(
                "closes",
                "Closes after (7d) or at (2026-12-08 17:00)",
                required=False,
                initial=closes,
            ),
        ),
        submit_label="Save draft" if draft else "Create survey",
        context=str(draft.id) if draft else "",
    )


def _written(question: Question) -> str:
    """A question as typed in the form's syntax (the inverse of `parse_question`)."""
    if question.kind == "choice":
        return " | ".join((f"choice: {question.text}", *question.options))
    return f"{question.kind}: {question.text}"


def _duration_text(seconds: int) -> str:
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds // 60}m"


def parse_question(number: int, text: str) -> Question:
    """One question in the form's syntax; raises CommandError naming the question."""
    match = QUESTION.fullmatch(text)
    kind, rest = (match.group(1).lower(), match.group(2)) if match else ("text", text)
    options: tuple[str, ...] = ()
    if kind == "choice":
        parts = [visible(p) for p in rest.split("|")]
        rest, options = parts[0], tuple(parts[1:])
        empty = next((n for n, o in enumerate(options, 1) if not o), None)
        if empty is not None and len(options) >= 2:
            raise CommandError(
                f"Question {number}: choice {empty} is empty (or only spaces or invisible "
                "characters); give it some text or leave it out."
            )
        if len(options) < 2 or empty is not None:
            raise CommandError(
                f"Question {number}: give at least two choices after the question, each after "
                "a |, like `choice: Which format? | Talk | Workshop`."
            )
        if len(options) > MAX_OPTIONS:
            raise CommandError(
                f"Question {number}: at most {MAX_OPTIONS} choices (it has {len(options)})."
            )
        if any(len(o) > MAX_OPTION_LENGTH for o in options):
            raise CommandError(
                f"Question {number}: keep each choice to {MAX_OPTION_LENGTH} characters."
            )
        if len({o.casefold() for o in options}) < len(options):
            raise CommandError(f"Question {number}: each choice must be different.")
    rest = visible(rest)
    if not rest:
        raise CommandError(f"Question {number} has no question.")
    if len(rest) > MAX_QUESTION_LENGTH:
        raise CommandError(f"Question {number}: keep it to {MAX_QUESTION_LENGTH} characters.")
    return Question(kind, rest, options)  # type: ignore[arg-type]


async def survey_command(context: Context, args: Args) -> None:
    community = await context.require_community()
    token = await _issue(context)
    context.open_form(replace(survey_form(), context=f"{NEW}{community.id}:{token}"))


async def _form_of(context: Context) -> str:
    """What a survey form's token is for: one save by the member who opened it."""
    return f"survey.form:{(await context.member()).id}"


async def _issue(context: Context) -> str:
    return await once.issue(
        context.session, context.event.platform, await _form_of(context), context.now()
    )


async def _use_form(context: Context, event: FormSubmitted) -> str:
    """Take the form's one-use token; the rest of its context (`new:<community id>` or the
    draft's id). Raises CommandError when the form was used already or has expired."""
    tag, _, token = event.context.rpartition(":")
    taken = await once.use(
        context.session, event.platform, token, await _form_of(context), context.now()
    )
    if taken != "ok":
        why = "was already used" if taken == "used" else "has expired"
        raise CommandError(f"This survey form {why}; `{context.prefix} survey` opens a new one.")
    return tag


async def create_from_form(context: Context, event: FormSubmitted) -> None:
    """A new survey draft (or an edited one, named by the form's context), shown to the
    facilitator with a button to post it."""
    tag = await _use_form(context, event)
    draft = await _draft_of_form(context, event, tag)
    if draft is not None:
        community: Community | None = await polls.community_of(context, draft)
    else:
        community = await polls.form_community(context, event, tag.removeprefix(NEW))
    member = await context.member()
    if community is None or not await context.is_facilitator(community, member):
        raise CommandError("Only facilitators can create surveys, in their community channel.")
    form = survey_form(draft, community.timezone)
    kept = {f.name: f.initial for f in form.fields if isinstance(f.initial, str)}
    values = read(form, kept | event.values)  # an edit keeps the fields not given
    questions = [
        parse_question(n, str(values[f"q{n}"]))
        for n in range(1, MAX_QUESTIONS + 1)
        if str(values[f"q{n}"]).strip()
    ]
    title = visible(str(values["title"]))
    if not title:
        raise CommandError("New survey: please give it a title.")
    if len(title) > MAX_QUESTION_LENGTH:
        raise CommandError(f"Keep the title to {MAX_QUESTION_LENGTH} characters.")
    closes = str(values["closes"])
    closes_at, close_after = None, None
    if closes:
        duration = parse_duration(closes)
        try:
            if duration is None:
                closes_at = parse_moment(closes, community.timezone, context.now())
            elif not duration:
                raise TimeError("Give a time after it is posted, like 7d.")
        except TimeError as error:
            raise CommandError(f"New survey: {error}") from error
        close_after = int(duration.total_seconds()) if duration else None
    if draft is not None:
        draft.question = title
        draft.questions = [q.to_json() for q in questions]
        draft.anonymous = bool(values["anonymous"])
        draft.close_after = close_after
        draft.closes_at = closes_at
        await context.session.flush()
        await audit.record(context, community, "survey edit", f"#{draft.id} {title}")
        _show_draft(context, draft, questions, "is saved")
        return
    survey = Poll(
        community_id=community.id,
        creator_id=member.id,
        kind="survey",
        question=title,
        options=[],
        questions=[q.to_json() for q in questions],
        anonymous=bool(values["anonymous"]),
        status=stored.DRAFT,
        close_after=close_after,
        closes_at=closes_at,
        created_at=context.now(),
    )
    context.session.add(survey)
    await context.session.flush()
    await audit.record(context, community, "survey", f"#{survey.id} {title}")
    _show_draft(context, survey, questions, "is ready")


def _show_draft(context: Context, survey: Poll, questions: list[Question], state: str) -> None:
    prefix = context.prefix
    context.reply_privately(
        Card(
            f"{label(survey)} “{typed(survey.question)}” {state}, with {len(questions)} "
            f"question{'' if len(questions) == 1 else 's'}:",
            (
                *question_list(questions),
                Actions((Button("Post it now", "survey.post", str(survey.id), "primary"),)),
                ContextLine(
                    f"Or later: `{prefix} survey post {survey.id}`. Change it with "
                    f"`{prefix} survey edit {survey.id}`, or drop it with "
                    f"`{prefix} survey delete {survey.id}`."
                    + (" Anonymous: answers are stored without names." if survey.anonymous else "")
                ),
            ),
        )
    )


async def _draft_of_form(context: Context, event: FormSubmitted, tag: str) -> Poll | None:
    """The draft an edit form was opened for (None for a new survey)."""
    if tag.startswith(NEW):
        return None
    survey_id = number(tag)
    survey = await stored.lock_poll(context.session, survey_id) if survey_id else None
    community = await context.session.get(Community, survey.community_id) if survey else None
    if (
        survey is None
        or survey.kind != "survey"
        or community is None
        or (community.platform, community.workspace) != (event.platform, event.workspace)
    ):
        raise CommandError("That survey draft no longer exists.")
    if survey.status != stored.DRAFT:
        raise CommandError(f"{label(survey)} is already posted, so it can't be changed.")
    return survey


async def _draft(context: Context, community: Community, args: Args) -> Poll:
    """The survey draft of `community` named in `args` (locked)."""
    survey_id = args.one_number("Give the survey's number, like `4`.")
    survey = await stored.lock_poll(context.session, survey_id)
    if survey is None or survey.kind != "survey" or survey.community_id != community.id:
        raise CommandError(f"There is no survey #{survey_id} in {typed(community.name)}.")
    if survey.status != stored.DRAFT:
        raise CommandError(f"{label(survey)} is already posted, so it can't be changed.")
    return survey


async def edit_command(context: Context, args: Args) -> None:
    """The survey form, filled in with the draft; saving it changes the draft."""
    community = await context.require_community()
    survey = await _draft(context, community, args)
    audit.no_change(context)  # opening the form changes nothing; saving it is recorded
    form = survey_form(survey, community.timezone)
    context.open_form(replace(form, context=f"{form.context}:{await _issue(context)}"))


async def delete_command(context: Context, args: Args) -> None:
    community = await context.require_community()
    survey = await _draft(context, community, args)
    await context.session.delete(survey)
    context.reply_privately(
        Card(f"{label(survey)} “{typed(survey.question)}” is deleted; it was never posted.")
    )


async def post_command(context: Context, args: Args) -> None:
    community = await context.require_community()
    await _post(context, community, args.one_number("Give the survey's number, like `4`."))


async def post_clicked(context: Context, event: ActionClicked) -> None:
    survey = await polls.clicked_poll(context, event.value, "survey")
    community = await polls.community_of(context, survey)
    if not await context.is_facilitator(community, await context.member()):
        raise CommandError(f"Only facilitators of {typed(community.name)} can post surveys.")
    await _post(context, community, survey.id)


async def _post(context: Context, community: Community, survey_id: int) -> None:
    survey = await stored.lock_poll(context.session, survey_id)
    if survey is None or survey.kind != "survey" or survey.community_id != community.id:
        raise CommandError(f"There is no survey #{survey_id} in {typed(community.name)}.")
    if survey.status != stored.DRAFT:
        raise CommandError(f"{label(survey)} is already posted.")
    await polls.open_poll(context, community, survey)
    context.reply_privately(
        Card(
            f"{label(survey)} “{typed(survey.question)}” is posted in {typed(community.name)}.",
            (
                ContextLine(
                    f"`{context.prefix} survey results {survey.id}` shows the answers so far; "
                    f"`{context.prefix} poll close {survey.id}` closes it."
                ),
            ),
        )
    )


def answer_form(survey: Poll, previous: dict[int, str]) -> Form:
    """The survey's questions as a form, filled in with the member's earlier answers."""
    fields = []
    for index, question in enumerate(questions_of(survey)):
        initial = previous.get(index, "")
        if question.kind == "text":
            field = Field(f"q{index + 1}", question.text, required=False, initial=initial)
        else:
            field = Field(
                f"q{index + 1}",
                question.describe() if question.kind == "scale" else question.text,
                "choice",
                question.choices,
                required=False,
                initial=initial if initial in question.choices else "",
            )
        fields.append(field)
    title = survey.question
    if len(title) > MAX_FORM_TITLE:
        title = title[: MAX_FORM_TITLE - 1] + "…"
    return Form(title, "survey.answer", tuple(fields), "Send answers", context=str(survey.id))


async def open_answers(context: Context, event: ActionClicked) -> None:
    """*Answer the survey*: the form, with this member's earlier answers if any."""
    survey = await polls.clicked_poll(context, event.value, "survey")
    if survey.status != stored.OPEN:
        raise CommandError(f"{label(survey)} has closed; thank you!")
    voter = polls.voter_key(
        context.defaults.secret, survey, event.platform, event.workspace, event.user
    )
    context.open_form(
        answer_form(survey, await stored.answers_of(context.session, survey.id, voter))
    )


async def store_answers(context: Context, event: FormSubmitted) -> None:
    """Keep a member's answers (replacing earlier ones) and update the response count."""
    found = await polls.clicked_poll(context, event.context, "survey")
    member = None if found.anonymous else await context.member()
    survey = await stored.lock_poll(context.session, found.id)
    assert survey is not None, "a survey is never deleted while its community exists"
    if survey.status != stored.OPEN:
        raise CommandError(
            f"{label(survey)} has closed, so your answers were not saved. Thank you!"
        )
    values = read(answer_form(survey, {}), event.values)
    answers = {
        int(name[1:]) - 1: str(value).strip()
        for name, value in values.items()
        if str(value).strip()
    }
    if not answers:
        raise CommandError(f"{typed(survey.question)}: please answer at least one question.")
    if any(len(a) > MAX_ANSWER_LENGTH for a in answers.values()):
        raise CommandError(f"Keep each answer to {MAX_ANSWER_LENGTH} characters, please.")
    voter = polls.voter_key(
        context.defaults.secret, survey, event.platform, event.workspace, event.user
    )
    again = await stored.replace_answers(
        context.session, survey.id, voter, member.id if member else None, answers
    )
    await polls.show(context, await polls.community_of(context, survey), survey)
    note = "updated" if again else "saved"
    blocks = (
        (ContextLine("This survey is anonymous: your answers are stored without your name."),)
        if survey.anonymous
        else ()
    )
    context.reply_privately(
        Card(
            f"Thank you! Your answers to “{typed(survey.question)}” are {note}. Click *Answer the "
            "survey* again to change them until it closes.",
            blocks,
        )
    )


async def results_command(context: Context, args: Args) -> None:
    community = await context.require_community()
    survey_id = args.one_number(
        f"Give the number of a survey of {typed(community.name)}, like `4`."
    )
    survey = await context.session.get(Poll, survey_id)
    if survey is None or survey.kind != "survey" or survey.community_id != community.id:
        raise UsageError(f"Give the number of a survey of {typed(community.name)}, like `4`.")
    rows = await stored.all_answers(context.session, survey.id)
    context.reply_privately(survey_summary(survey, rows, context.prefix))
