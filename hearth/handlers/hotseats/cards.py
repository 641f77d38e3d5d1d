"""What hot seats show: the invitation, the announcement, the opening, questions, reminders,
the summary. Member text (topics, questions, answers, names) goes through `typed`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from hearth.handlers.cards import (
    Actions,
    Button,
    Card,
    ContextLine,
    Field,
    Form,
    Section,
    names_of,
    typed,
)
from hearth.storage.models import Community, HotSeat, HotSeatQuestion, Member, Message

MAX_EXCERPT = 300


@dataclass(frozen=True)
class Answered:
    """An early question with the replies in its thread (the expert's first)."""

    question: HotSeatQuestion
    replies: tuple[Message, ...]
    by_expert: bool
    thread: str | None = None
    """The message id of the question's post (its thread), once delivered."""


def label(hot_seat: HotSeat) -> str:
    return f"H{hot_seat.id}"


def days_of(hot_seat: HotSeat, community: Community) -> str:
    """`Mon 1 Feb – Fri 5 Feb` (one day: `Mon 1 Feb`), in the community's time zone."""
    zone = ZoneInfo(community.timezone)
    first, last = hot_seat.starts_at.astimezone(zone), hot_seat.ends_at.astimezone(zone)
    shown_first = f"{first:%a} {first.day} {first:%b}"
    if first.date() == last.date():
        return shown_first
    return f"{shown_first} – {last:%a} {last.day} {last:%b}"


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= MAX_EXCERPT else flat[: MAX_EXCERPT - 1] + "…"


def invitation(
    hot_seat: HotSeat,
    community: Community,
    expert: Member,
    proposer: Member,
    *,
    was: str | None = None,
) -> Card:
    """The invitation; `was` (the days it was to run), when it was moved before an answer."""
    moved = (ContextLine(f"New dates: it was to run {was}."),) if was else ()
    return Card(
        f"<@{proposer.user_id}> invites you to the hot seat in {typed(community.name)}: "
        f"“{typed(hot_seat.topic)}”, {days_of(hot_seat, community)}.",
        (
            *moved,
            Section(
                "For those days members' questions come to you first; Hearth collects questions "
                "early, opens with them, reminds you each morning of those still waiting, and "
                "closes with a summary of every answer."
            ),
            Actions(
                (
                    Button("Accept", "hotseat.accept", str(hot_seat.id), "primary"),
                    Button("Decline", "hotseat.decline", str(hot_seat.id)),
                )
            ),
            ContextLine(
                f"You're getting this because a facilitator of {typed(community.name)} "
                "proposed you."
            ),
            Actions(
                (
                    Button(
                        "Stop messages from Hearth",
                        "member.stop",
                        str(community.id),
                        style="danger",
                    ),
                )
            ),
        ),
        names=names_of([proposer, expert]),
    )


def answered_invitation(hot_seat: HotSeat, community: Community, accepted: bool) -> Card:
    if accepted:
        return Card(
            f"Thank you! You're in the hot seat “{typed(hot_seat.topic)}”, "
            f"{days_of(hot_seat, community)}. Hearth announces it a week ahead and sends you "
            "the questions."
        )
    return Card(f"You declined the hot seat “{typed(hot_seat.topic)}”; the facilitators know.")


def announcement(hot_seat: HotSeat, community: Community, expert: Member) -> Card:
    return Card(
        f"🔥 Coming up: <@{expert.user_id}> is in the hot seat on “{typed(hot_seat.topic)}”, "
        f"{days_of(hot_seat, community)}.",
        (
            Section(
                "Send your questions early: they're collected privately and each opens its own "
                "thread on the first day. You can ask anonymously — nobody, facilitators "
                "included, will see who asked."
            ),
            Actions((Button("Ask a question early", "hotseat.ask", str(hot_seat.id), "primary"),)),
        ),
        names=names_of([expert]),
    )


def ask_form(hot_seat: HotSeat, expert: Member) -> Form:
    return Form(
        "Ask the hot seat",
        "hotseat.ask",
        (
            Field("question", f"Your question for {expert.name}", multiline=True),
            Field(
                "anonymous",
                "Ask anonymously: nobody, facilitators included, will see who asked",
                "yesno",
                required=False,
            ),
        ),
        submit_label="Send",
        context=str(hot_seat.id),
    )


def opening(hot_seat: HotSeat, community: Community, expert: Member, count: int) -> Card:
    until = days_of(hot_seat, community)
    if count == 1:
        early = "The question sent early follows, in its own thread: reply there."
    elif count:
        early = f"The {count} questions sent early follow, each in its own thread: reply there."
    else:
        early = "Ask your questions here in the channel."
    return Card(
        f"🔥 The hot seat is open: <@{expert.user_id}> answers your questions on "
        f"“{typed(hot_seat.topic)}” ({until}).",
        (Section(f"{early} Questions asked in the channel go to <@{expert.user_id}> first."),),
        names=names_of([expert]),
    )


def question_post(
    hot_seat: HotSeat, question: HotSeatQuestion, expert: Member, asker: Member | None
) -> Card:
    who = f"asked by {typed(asker.name)}" if asker is not None else "asked anonymously"
    return Card(
        f"Q{question.number} for <@{expert.user_id}> ({who}): {typed(question.text)}",
        (ContextLine(f"Hot seat “{typed(hot_seat.topic)}” · reply in this thread"),),
        names=names_of([expert]),
    )


def reminder(
    hot_seat: HotSeat, community: Community, waiting: list[HotSeatQuestion], prefix: str
) -> Card:
    listed = "\n".join(f"• Q{q.number}: {typed(_excerpt(q.text))}" for q in waiting)
    return Card(
        f"Good morning! {len(waiting)} question{' waits' if len(waiting) == 1 else 's wait'} "
        f"for your answer in your hot seat “{typed(hot_seat.topic)}” in "
        f"{typed(community.name)}:",
        (
            Section(listed),
            ContextLine(
                "Reply in each question's thread. These reminders stop when the hot seat "
                f"closes; `{prefix} settings` turns reminders off."
            ),
        ),
    )


def summary(
    hot_seat: HotSeat,
    community: Community,
    expert: Member,
    answered: list[Answered],
    authors: dict[int, Member],
    link: Callable[[str | None], str],
) -> Card:
    """The closing post: every early question and the first answers in its thread, by whom
    (`authors`: the repliers by member id), each with its link (`link` of a message id)."""
    people: dict[str, Member] = {expert.user_id: expert}
    blocks: list[Section | ContextLine] = []
    for item in answered:
        lines = [
            f"*Q{item.question.number}* {typed(_excerpt(item.question.text))} — {link(item.thread)}"
        ]
        for reply in item.replies[:2]:
            author = authors.get(reply.member_id or 0)
            by = ""
            if author is not None and author.id == expert.id:
                by = f"<@{author.user_id}>: "
            elif author is not None:
                by = f"{typed(author.name)}: "
            lines.append(f"↳ {by}{typed(_excerpt(reply.text or ''))} — {link(reply.message_id)}")
        if not item.replies:
            lines.append("↳ _no answer in its thread yet_")
        blocks.append(Section("\n".join(lines)))
    count = len(answered)
    done = sum(1 for a in answered if a.replies)
    blocks.append(
        ContextLine(
            f"{done} of {count} question{'' if count == 1 else 's'} answered; each question's "
            "thread above keeps the whole conversation."
            if count
            else "No questions were sent early; the conversations are in the channel."
        )
    )
    return Card(
        f"🔥 The hot seat on “{typed(hot_seat.topic)}” ({days_of(hot_seat, community)}) has "
        f"closed. Thank you, <@{expert.user_id}>, for your answers!",
        tuple(blocks),
        names=names_of(list(people.values())),
    )


def thanks(hot_seat: HotSeat, community: Community, answered: int) -> Card:
    return Card(
        f"Thank you for the hot seat “{typed(hot_seat.topic)}” in {typed(community.name)}! "
        f"You answered {answered} of the questions sent early; the summary is posted in the "
        "channel and your answers are kept in the community's knowledge."
    )


def status_note(text: str) -> Card:
    return Card(text)


def cancelled(hot_seat: HotSeat, community: Community) -> Card:
    return Card(
        f"The hot seat “{typed(hot_seat.topic)}” ({days_of(hot_seat, community)}) is cancelled."
    )


def extended(hot_seat: HotSeat, community: Community, expert: Member, *, to_expert: bool) -> Card:
    if to_expert:
        return Card(
            f"Your hot seat “{typed(hot_seat.topic)}” in {typed(community.name)} now runs "
            f"{days_of(hot_seat, community)}. Thank you for the extra time!"
        )
    return Card(
        f"🔥 More time with <@{expert.user_id}>: the hot seat “{typed(hot_seat.topic)}” now "
        f"runs {days_of(hot_seat, community)}.",
        names=names_of([expert]),
    )


def moved(
    hot_seat: HotSeat, community: Community, expert: Member, was: str, *, to_expert: bool
) -> Card:
    """A hot seat on new days (`was`: the days it was to run), told to the expert or the
    channel (after its announcement: the announcement's button still takes questions)."""
    if to_expert:
        return Card(
            f"Your hot seat “{typed(hot_seat.topic)}” in {typed(community.name)} moves to "
            f"{days_of(hot_seat, community)} (it was to run {was}). Hearth opens it, reminds "
            "you and closes it on the new days; the questions sent early are kept."
        )
    return Card(
        f"🔥 New dates: the hot seat with <@{expert.user_id}> on “{typed(hot_seat.topic)}” "
        f"moves to {days_of(hot_seat, community)} (it was to run {was}).",
        (
            ContextLine(
                "The questions sent early are kept; the announcement's button still takes yours."
            ),
        ),
        names=names_of([expert]),
    )


def shown_at(moment: datetime, community: Community) -> str:
    local = moment.astimezone(ZoneInfo(community.timezone))
    return f"{local:%a} {local.day} {local:%b} {local:%H:%M} {local.tzname()}"
