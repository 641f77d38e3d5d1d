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

from hearth.handlers import polls
from hearth.handlers.cards import Actions, Button, Card, ContextLine, Field, Form
from hearth.handlers.commands import Args, CommandError, UsageError
from hearth.handlers.context import Context
from hearth.handlers.events import ActionClicked, FormSubmitted
from hearth.handlers.forms import read
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
QUESTION_HINT = "text: …, scale: … (1–5) or choice: … | A | B"


def register(registry: Registry) -> None:
    registry.command(
        "survey", summary="ask several questions at once (opens a form)", facilitator_only=True
    )(survey_command)
    registry.command(
        "survey post", "<id>", summary="post a survey in this channel", facilitator_only=True
    )(post_command)
    registry.command(
        "survey results", "<id>", summary="a survey's results, privately", facilitator_only=True
    )(results_command)
    registry.form("survey.create")(create_from_form)
    registry.action("survey.post")(post_clicked)
    registry.action("survey.open")(open_answers)
    registry.form("survey.answer")(store_answers)


def survey_form() -> Form:
    """Title, up to MAX_QUESTIONS questions in the tiny syntax, anonymity, closing time."""
    questions = tuple(
        Field(f"q{n}", f"Question {n}" + (f" — {QUESTION_HINT}" if n == 1 else ""), required=n == 1)
        for n in range(1, MAX_QUESTIONS + 1)
    )
    return Form(
        "New survey",
        "survey.create",
        (
            Field("title", "Title"),
            *questions,
            Field(
                "anonymous", "Anonymous: answers are not linked to anyone", "yesno", required=False
            ),
            Field("closes", "Closes after (7d) or at (2026-12-08 17:00)", required=False),
        ),
        submit_label="Create survey",
    )


def parse_question(number: int, text: str) -> Question:
    """One question in the form's syntax; raises CommandError naming the question."""
    match = QUESTION.fullmatch(text)
    kind, rest = (match.group(1).lower(), match.group(2)) if match else ("text", text)
    options: tuple[str, ...] = ()
    if kind == "choice":
        parts = [" ".join(p.split()) for p in rest.split("|")]
        rest, options = parts[0], tuple(p for p in parts[1:] if p)
        if len(options) < 2:
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
        if len({o.lower() for o in options}) < len(options):
            raise CommandError(f"Question {number}: each choice must be different.")
    rest = " ".join(rest.split())
    if not rest:
        raise CommandError(f"Question {number} has no question.")
    if len(rest) > MAX_QUESTION_LENGTH:
        raise CommandError(f"Question {number}: keep it to {MAX_QUESTION_LENGTH} characters.")
    return Question(kind, rest, options)  # type: ignore[arg-type]


async def survey_command(context: Context, args: Args) -> None:
    if args.text:
        raise UsageError("`survey` opens a form; type it with nothing after it.")
    context.open_form(survey_form())


async def create_from_form(context: Context, event: FormSubmitted) -> None:
    """A survey draft, shown to the facilitator with a button to post it."""
    community = await context.community()
    member = await context.member()
    if community is None or not await context.is_facilitator(community, member):
        raise CommandError("Only facilitators can create surveys, in their community channel.")
    form = survey_form()
    values = read(form, event.values)
    questions = [
        parse_question(n, str(values[f"q{n}"]))
        for n in range(1, MAX_QUESTIONS + 1)
        if str(values[f"q{n}"]).strip()
    ]
    title = " ".join(str(values["title"]).split())
    if len(title) > MAX_QUESTION_LENGTH:
        raise CommandError(f"Keep the title to {MAX_QUESTION_LENGTH} characters.")
    closes = str(values["closes"])
    closes_at, close_after = None, None
    if closes:
        duration = parse_duration(closes)
        try:
            if duration is None:
                closes_at = parse_moment(closes, community.timezone, context.now())
        except TimeError as error:
            raise CommandError(f"New survey: {error}") from error
        close_after = int(duration.total_seconds()) if duration else None
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
    context.reply_privately(
        Card(
            f"{label(survey)} “{title}” is ready, with {len(questions)} "
            f"question{'' if len(questions) == 1 else 's'}:",
            (
                *question_list(questions),
                Actions((Button("Post it now", "survey.post", str(survey.id), "primary"),)),
                ContextLine(
                    f"Or later: `{context.prefix} survey post {survey.id}`."
                    + (" Anonymous: answers are stored without names." if survey.anonymous else "")
                ),
            ),
        )
    )


async def post_command(context: Context, args: Args) -> None:
    community = await context.require_community()
    tokens = args.tokens
    text = tokens[0].removeprefix("#") if len(tokens) == 1 else ""
    if not text.isdigit():
        raise UsageError("Give the survey's number, like `4`.")
    await _post(context, community, int(text))


async def post_clicked(context: Context, event: ActionClicked) -> None:
    survey = await polls.clicked_poll(context, event.value, "survey")
    community = await polls.community_of(context, survey)
    if not await context.is_facilitator(community, await context.member()):
        raise CommandError(f"Only facilitators of {community.name} can post surveys.")
    await _post(context, community, survey.id)


async def _post(context: Context, community: Community, survey_id: int) -> None:
    survey = await stored.lock_poll(context.session, survey_id)
    if survey is None or survey.kind != "survey" or survey.community_id != community.id:
        raise CommandError(f"There is no survey #{survey_id} in {community.name}.")
    if survey.status != stored.DRAFT:
        raise CommandError(f"{label(survey)} is already posted.")
    await polls.open_poll(context, community, survey)
    context.reply_privately(
        Card(
            f"{label(survey)} “{survey.question}” is posted in {community.name}.",
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
        raise CommandError(f"{survey.question}: please answer at least one question.")
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
            f"Thank you! Your answers to “{survey.question}” are {note}. Click *Answer the "
            "survey* again to change them until it closes.",
            blocks,
        )
    )


async def results_command(context: Context, args: Args) -> None:
    community = await context.require_community()
    tokens = args.tokens
    text = tokens[0].removeprefix("#") if len(tokens) == 1 else ""
    survey = await context.session.get(Poll, int(text)) if text.isdigit() else None
    if survey is None or survey.kind != "survey" or survey.community_id != community.id:
        raise UsageError(f"Give the number of a survey of {community.name}, like `4`.")
    rows = await stored.all_answers(context.session, survey.id)
    context.reply_privately(survey_summary(survey, rows, context.prefix))
