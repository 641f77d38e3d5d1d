"""What polls and surveys look like: cards with result bars, summaries, and CSV exports.

Pure functions of what the database says. Questions, options and answers are what people
typed and go into cards through `typed`, so no platform reads them as markup or mentions.
Every card stays within Slack's limits (a section's text under 3000 characters, buttons'
labels under 76, far fewer than 50 blocks) because the handlers cap options, labels and
questions before anything is stored.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any, Literal

from hearth.handlers.cards import (
    Actions,
    Block,
    Button,
    Card,
    ContextLine,
    Section,
    names_of,
    typed,
)
from hearth.handlers.schedules import format_moment
from hearth.storage.models import Community, Member, Poll

BAR = "▇"
BAR_WIDTH = 10
NAMES_PER_OPTION = 5
TEXT_ANSWERS_SHOWN = 10
ANSWER_CLIP = 200
SCALE = ("1", "2", "3", "4", "5")
QuestionKind = Literal["text", "scale", "choice"]


@dataclass(frozen=True)
class Question:
    """One survey question: short text, a 1–5 scale, or one choice among `options`."""

    kind: QuestionKind
    text: str
    options: tuple[str, ...] = ()

    @property
    def choices(self) -> tuple[str, ...]:
        return SCALE if self.kind == "scale" else self.options

    def describe(self) -> str:
        """`How useful was it? (1–5)`, `Which format? (Talk / Workshop)`."""
        if self.kind == "scale":
            return f"{self.text} (1–5)"
        if self.kind == "choice":
            return f"{self.text} ({' / '.join(self.options)})"
        return self.text

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "text": self.text, "options": list(self.options)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Question:
        return cls(data["kind"], data["text"], tuple(data.get("options", ())))


def questions_of(poll: Poll) -> list[Question]:
    return [Question.from_json(q) for q in poll.questions]


@dataclass(frozen=True)
class Tally:
    """A poll's votes as SQL counted them: per option, how many people, and (open polls) who."""

    counts: dict[int, int]
    voters: int
    names: dict[int, list[Member]] = field(default_factory=dict)
    """The first few (NAMES_PER_OPTION) people by name per option; none for anonymous polls."""


def label(poll: Poll) -> str:
    """`Poll #3` or `Survey #4`."""
    return f"{'Survey' if poll.kind == 'survey' else 'Poll'} #{poll.id}"


def votes(n: int, multi: bool = False) -> str:
    word = "voter" if multi else "vote"
    return f"{n} {word}{'' if n == 1 else 's'}"


def responses(n: int) -> str:
    return f"{n} response{'' if n == 1 else 's'}"


def bar_lines(
    options: tuple[str, ...] | list[str], counts: dict[int, int], total: int
) -> list[str]:
    """`Benefits realisation ▇▇▇▇▇▇ 6 · 60%`, one line per option; percentages of `total`."""
    lines = []
    for index, text in enumerate(options):
        option = typed(text)
        n = counts.get(index, 0)
        percent = round(100 * n / total) if total else 0
        bar = BAR * round(BAR_WIDTH * n / total) if total else ""
        lines.append(f"{option} {bar} {n} · {percent}%" if bar else f"{option} {n} · {percent}%")
    return lines


def poll_card(poll: Poll, community: Community, creator: Member | None, tally: Tally) -> Card:
    """The poll message: results (or that they are hidden), a button per option while open."""
    closed = poll.status == "closed"
    blocks: list[Block] = []
    if poll.hidden and not closed:
        blocks.append(
            Section(
                f"Results are hidden until the poll closes ({votes(tally.voters, poll.multi)} "
                "so far)."
            )
        )
    else:
        lines = bar_lines(poll.options, tally.counts, tally.voters)
        if not poll.anonymous:
            lines = [
                _with_names(line, tally.names.get(i, []), tally.counts.get(i, 0))
                for i, line in enumerate(lines)
            ]
        blocks.append(Section("\n".join(lines)))
    if not closed:
        blocks.append(
            Actions(
                tuple(Button(o, "poll.vote", f"{poll.id}|{i}") for i, o in enumerate(poll.options))
            )
        )
    blocks.append(ContextLine(" · ".join(_poll_facts(poll, community, creator, tally))))
    people = [m for ms in tally.names.values() for m in ms] if not poll.anonymous else []
    question = typed(poll.question)
    headline = f"📊 Final result: {question}" if closed else f"📊 {question}"
    return Card(headline, tuple(blocks), names=names_of([*people, *([creator] if creator else [])]))


def _with_names(line: str, members: list[Member], count: int) -> str:
    if not members:
        return line
    shown = ", ".join(f"<@{m.user_id}>" for m in members[:NAMES_PER_OPTION])
    more = count - min(len(members), NAMES_PER_OPTION)
    return f"{line} — {shown}" + (f" +{more}" if more > 0 else "")


def _poll_facts(
    poll: Poll, community: Community, creator: Member | None, tally: Tally
) -> list[str]:
    facts = [label(poll)]
    if creator is not None:
        facts[0] += f" by <@{creator.user_id}>"
    if poll.status == "closed":
        if poll.closed_at:
            facts.append(
                f"closed {format_moment(poll.closed_at, community.timezone, now=poll.created_at)}"
            )
    else:
        facts.append("choose any" if poll.multi else "choose one")
    if poll.anonymous:
        facts.append("anonymous: nobody can see who voted what")
    if poll.status == "closed" and not tally.voters:
        facts.append("nobody voted")
    elif not poll.hidden or poll.status == "closed":
        facts.append(votes(tally.voters, poll.multi))
    if poll.status == "open" and poll.closes_at:
        facts.append(
            f"closes {format_moment(poll.closes_at, community.timezone, now=poll.created_at)}"
        )
    return facts


def outcome(poll: Poll, tally: Tally) -> str:
    """One sentence on who won: for the person who closed the poll."""
    if not tally.voters:
        return "Nobody voted."
    top = max(tally.counts.values())
    leaders = [typed(o) for i, o in enumerate(poll.options) if tally.counts.get(i, 0) == top]
    of = f"of {votes(tally.voters, poll.multi)}"
    if len(leaders) == 1:
        return f"“{leaders[0]}” came first with {top} {of}."
    tied = ", ".join(f"“{o}”" for o in leaders[:-1]) + f" and “{leaders[-1]}”"
    return f"{tied} tied with {top} each ({of})."


def survey_card(poll: Poll, community: Community, creator: Member | None, respondents: int) -> Card:
    """The survey message: its questions and an *Answer the survey* button while open."""
    names = names_of([creator] if creator else [])
    by = f" from <@{creator.user_id}>" if creator else ""
    questions = questions_of(poll)
    facts = [label(poll)]
    if poll.status == "closed":
        when = (
            format_moment(poll.closed_at, community.timezone, now=poll.created_at)
            if poll.closed_at
            else ""
        )
        facts += [f"closed {when}".strip(), responses(respondents)]
        thanks = (
            f"Thank you! {respondents} {'person' if respondents == 1 else 'people'} answered; "
            "the facilitators have the results."
            if respondents
            else "This survey has closed; nobody answered it."
        )
        return Card(
            f"📝 {typed(poll.question)} — closed",
            (Section(thanks), ContextLine(" · ".join(facts))),
            names=names,
        )
    if poll.anonymous:
        facts.append("anonymous: nobody can see who answered what")
    facts.append(responses(respondents))
    if poll.closes_at:
        facts.append(
            f"closes {format_moment(poll.closes_at, community.timezone, now=poll.created_at)}"
        )
    count = f"{len(questions)} question{'' if len(questions) == 1 else 's'}"
    return Card(
        f"📝 {typed(poll.question)}",
        (
            Section(f"A short survey{by}, {count}:"),
            *question_list(questions),
            Actions((Button("Answer the survey", "survey.open", str(poll.id), "primary"),)),
            ContextLine(" · ".join(facts)),
        ),
        names=names,
    )


def question_list(questions: list[Question]) -> list[Section]:
    """One numbered section per question (each well within a section's length limit)."""
    return [Section(f"{n}. {typed(q.describe())}") for n, q in enumerate(questions, start=1)]


def survey_summary(
    poll: Poll, rows: list[tuple[str, Member | None, dict[int, str]]], prefix: str
) -> Card:
    """The facilitator's summary: bars for choices and scales, the text answers themselves."""
    blocks: list[Block] = []
    for number, question in enumerate(questions_of(poll), start=1):
        given = [answers[number - 1] for _, _, answers in rows if number - 1 in answers]
        head = f"*{number}. {typed(question.text)}*"
        if question.kind == "text":
            shown = [
                f"“{typed(_clip(a, ANSWER_CLIP))}”" for a in sorted(given)[:TEXT_ANSWERS_SHOWN]
            ]
            more = len(given) - len(shown)
            if more > 0:
                shown.append(f"…and {more} more: `{prefix} poll export {poll.id}`")
            body = shown or ["No answers."]
            blocks.append(Section("\n".join([f"{head} ({len(given)} answered)", *body])))
            continue
        counts: dict[int, int] = {}
        for answer in given:
            if answer in question.choices:
                index = question.choices.index(answer)
                counts[index] = counts.get(index, 0) + 1
        note = f"({len(given)} answered)"
        if question.kind == "scale" and given:
            average = sum(int(a) for a in given if a in SCALE) / len(given)
            note = f"({len(given)} answered, average {average:.1f} of 5)"
        lines = bar_lines(question.choices, counts, len(given))
        blocks.append(Section("\n".join([f"{head} {note}", *lines])))
    blocks.append(
        ContextLine(
            "Anonymous survey: answers are shown without names, in no particular order."
            if poll.anonymous
            else f"Everyone's answers, by name: `{prefix} poll export {poll.id}`."
        )
    )
    return Card(
        f"📝 Results of {label(poll).lower()} “{typed(poll.question)}”: {responses(len(rows))}",
        tuple(blocks),
    )


def poll_csv(poll: Poll, tally: Tally) -> bytes:
    """One row per option: votes, percent and (open polls only) who chose it."""
    header = ["option", "votes", "percent"] + ([] if poll.anonymous else ["voters"])
    rows = []
    for index, option in enumerate(poll.options):
        n = tally.counts.get(index, 0)
        row: list[str | int] = [option, n, round(100 * n / tally.voters) if tally.voters else 0]
        if not poll.anonymous:
            row.append("; ".join(m.name for m in tally.names.get(index, [])))
        rows.append(row)
    return _csv([header, *rows])


def survey_csv(poll: Poll, rows: list[tuple[str, Member | None, dict[int, str]]]) -> bytes:
    """One row per respondent, one column per question, sorted: by name, or for anonymous
    surveys (no names) by the answers themselves, an order that says nothing about who."""
    questions = questions_of(poll)
    header = ([] if poll.anonymous else ["respondent"]) + [q.text for q in questions]
    lines: list[list[str | int]] = []
    for _, member, answers in rows:
        name = [] if poll.anonymous else [member.name if member else "(unknown)"]
        lines.append([*name, *(answers.get(i, "") for i in range(len(questions)))])
    lines.sort(key=lambda row: [str(cell).lower() for cell in row])  # by name, or by answers
    return _csv([header, *lines])


def _csv(rows: list[list[str | int]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return out.getvalue().encode("utf-8")


def _cell(value: str | int) -> str | int:
    """Text that a spreadsheet would run as a formula is quoted with a leading apostrophe."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
