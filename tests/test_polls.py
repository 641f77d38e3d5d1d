"""Polls below the console: restarts, messages in flight, rate of updates, voter keys, digests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from hearth.bot.outbox_sender import OutboxSender
from hearth.handlers import build_registry
from hearth.handlers.cards import Card, unmarked
from hearth.handlers.commands import CommandError, UsageError
from hearth.handlers.context import Defaults
from hearth.handlers.events import ActionClicked, CommandInvoked
from hearth.handlers.hub import Hearth
from hearth.handlers.poll_spec import PollSpec, check, parse_command
from hearth.handlers.polls import voter_key
from hearth.handlers.ports import Target
from hearth.handlers.surveys import parse_question
from hearth.scheduler.scheduler import Scheduler
from hearth.storage import migrate, outbox
from hearth.storage import polls as stored
from hearth.storage.db import Database
from hearth.storage.models import DueJob, OutboxMessage, Poll
from tests.recording import RecordingMessenger, SettableClock

COMMON = {"platform": "test", "workspace": "W1", "channel": "C1"}
SECRET = b"k" * 32


def hub(db: Database, messenger: RecordingMessenger, clock: SettableClock) -> Hearth:
    """A hub whose calendar is the polls' own (closing and recurring polls are one-shots): the
    other features' recurring posts (digests, themes…) would fire beside them."""
    registry = build_registry()
    registry.recurring.clear()
    return Hearth(db, registry, {"test": messenger}, clock, Defaults(secret=SECRET))


async def command(hearth: Hearth, text: str, user: str = "fran") -> None:
    await hearth.handle(CommandInvoked(**COMMON, user=user, at=hearth.clock.now(), text=text))


async def vote(hearth: Hearth, user: str, option: int, poll: int = 1) -> None:
    await hearth.handle(
        ActionClicked(
            **COMMON,
            user=user,
            at=hearth.clock.now(),
            action="poll.vote",
            value=f"{poll}|{option}",
        )
    )


async def row(db: Database, key: str) -> OutboxMessage | None:
    async with db.transaction() as session:
        return await session.scalar(select(OutboxMessage).where(OutboxMessage.key == key))


async def test_closing_and_recurring_survive_a_restart(database_url: str) -> None:
    clock, messenger = SettableClock(), RecordingMessenger(min_send_interval=0)
    first = Database(database_url)
    await migrate.upgrade(first)
    hearth = hub(first, messenger, clock)
    await command(hearth, "setup")
    await command(hearth, 'poll "Lunch?" "Pizza" "Salad" --closes 90m')
    await command(hearth, 'poll "Standup?" "Yes" "No" --every "daily 10:00" --closes 4h')
    await OutboxSender(first, {"test": messenger}, clock).deliver_due()
    await vote(hearth, "alice", 0)
    await first.close()  # the process stops; what is due lives in the database

    clock.advance(hours=2)
    restarted = Database(database_url)
    hearth = hub(restarted, messenger, clock)
    sender = OutboxSender(restarted, {"test": messenger}, clock)
    assert await Scheduler(hearth).run_due() == 2  # the close at 10:30, the standup at 10:00
    assert await Scheduler(hearth).run_due() == 0
    await sender.deliver_due()
    ((ref, final),) = [(r, c) for r, c in messenger.updates if c.text.startswith("📊 Final")]
    assert unmarked(final.text) == "📊 Final result: Lunch?"
    assert final.buttons() == []
    assert ref == messenger.updates[0][0]
    assert [unmarked(c.text) for _, c in messenger.posts] == ["📊 Lunch?", "📊 Standup?"]
    async with restarted.transaction() as session:
        jobs = sorted(j.key for j in await session.scalars(select(DueJob)))
        lunch = await session.get(Poll, 1)
    assert jobs == [
        "poll-close:2",
        f"poll-series:1:{datetime(2026, 12, 2, 10, tzinfo=UTC).isoformat()}",
    ]
    assert lunch is not None and lunch.result == {"counts": [1, 0], "voters": 1}
    await restarted.close()


async def test_a_vote_while_the_post_is_in_flight_is_shown_once_it_lands(db: Database) -> None:
    clock, messenger = SettableClock(), RecordingMessenger()
    hearth = hub(db, messenger, clock)
    await command(hearth, "setup")
    await command(hearth, 'poll "Lunch?" "Pizza" "Salad"')
    async with db.transaction() as session:  # another process is posting it right now
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.key == "poll:1:post")
            .values(status=outbox.SENDING)
        )
    await vote(hearth, "alice", 1)
    assert await row(db, "poll:1:update") is None
    async with db.transaction() as session:  # … and it lands
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.key == "poll:1:post")
            .values(status=outbox.SENT, sent_conversation="C1", sent_message_id="99")
        )
    assert await Scheduler(hearth).run_due() == 0
    clock.advance(seconds=2)
    assert await Scheduler(hearth).run_due() == 1
    await OutboxSender(db, {"test": messenger}, clock).deliver_due()
    ((ref, card),) = messenger.updates
    assert (ref.conversation, ref.message_id) == ("C1", "99")
    assert "Salad ▇▇▇▇▇▇▇▇▇▇ 1 · 100%" in unmarked(card.blocks[0].text)  # type: ignore[union-attr]


async def test_updates_are_sent_at_most_every_two_seconds(db: Database) -> None:
    clock, messenger = SettableClock(), RecordingMessenger(min_send_interval=0)
    hearth = hub(db, messenger, clock)
    sender = OutboxSender(db, {"test": messenger}, clock)
    await command(hearth, "setup")
    await command(hearth, 'poll "Lunch?" "Pizza" "Salad"')
    await sender.deliver_due()
    await vote(hearth, "alice", 0)  # the first update after a quiet spell goes at once
    await vote(hearth, "bob", 0)  # … and later votes join it while it waits
    assert await sender.deliver_due() == 1
    clock.advance(seconds=0.5)
    await vote(hearth, "carol", 1)
    await vote(hearth, "dave", 1)
    waiting = await row(db, "poll:1:update")
    assert waiting is not None
    assert (waiting.status, waiting.due_at) == (
        outbox.PENDING,
        clock.now() + timedelta(seconds=1.5),
    )
    assert await sender.deliver_due() == 0
    clock.advance(seconds=1.5)
    assert await sender.deliver_due() == 1
    assert [c.blocks[-1].text.split(" · ")[-1] for _, c in messenger.updates] == [  # type: ignore[union-attr]
        "2 votes",
        "4 votes",
    ]


async def test_a_card_changed_after_the_sender_picked_the_row_is_the_one_sent(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between reading what is due and claiming it, a vote rewrites the pending update."""
    clock, messenger = SettableClock(), RecordingMessenger()
    async with db.transaction() as session:
        await outbox.enqueue(
            session,
            key="k",
            kind="test",
            platform="test",
            workspace="W1",
            target=Target("channel", "C1"),
            card=Card("1 vote").to_json(),
            due_at=clock.now(),
            member_id=None,
            now=clock.now(),
        )
    claim = outbox.claim

    async def vote_then_claim(
        session: object, message_id: int, now: datetime, **lease: Any
    ) -> object:
        async with db.transaction() as other:
            await outbox.replace_pending(other, "k", Card("2 votes").to_json())
        return await claim(session, message_id, now, **lease)  # type: ignore[arg-type]

    monkeypatch.setattr(outbox, "claim", vote_then_claim)
    await OutboxSender(db, {"test": messenger}, clock).deliver_due()
    assert [c.text for _, c in messenger.posts] == ["2 votes"]


def test_voter_keys_tell_repeat_voters_apart_and_nothing_else() -> None:
    poll = Poll(id=1, voter_salt="a" * 32)
    other = Poll(id=2, voter_salt="b" * 32)
    key = voter_key(SECRET, poll, "slack", "T1", "U1")
    assert key == voter_key(SECRET, poll, "slack", "T1", "U1")
    assert len({key, voter_key(SECRET, poll, "slack", "T1", "U2")}) == 2
    assert key != voter_key(SECRET, other, "slack", "T1", "U1")  # unlinkable across polls
    assert key != voter_key(b"another secret", poll, "slack", "T1", "U1")
    assert "U1" not in key and len(key) == 64


async def test_closed_results_are_kept_for_the_digest(db: Database) -> None:
    clock, messenger = SettableClock(), RecordingMessenger()
    hearth = hub(db, messenger, clock)
    await command(hearth, "setup")
    await command(hearth, 'poll "Lunch?" "Pizza" "Salad" --multi')
    await command(hearth, 'poll "Dinner?" "Curry" "Pasta"')
    for user in ("alice", "bob"):
        await vote(hearth, user, 0)
        await vote(hearth, user, 1)
    clock.advance(hours=1)
    await command(hearth, "poll close 1")
    async with db.transaction() as session:
        since = clock.now() - timedelta(days=7)
        closed = await stored.closed_between(session, 1, since, clock.now() + timedelta(1))
    assert [(p.question, p.result) for p in closed] == [("Lunch?", {"counts": [2, 2], "voters": 2})]


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        (
            '"Lunch?" "Pizza" "Salad" --multi --ANONYMOUS --hidden',
            PollSpec("Lunch?", ("Pizza", "Salad"), multi=True, anonymous=True, hidden=True),
        ),
        (
            "“Lunch?” “Pizza” “Salad” —multi —closes 2026-12-08 17:00",
            PollSpec("Lunch?", ("Pizza", "Salad"), multi=True, closes="2026-12-08 17:00"),
        ),
        (
            '"Lunch?" Pizza Salad --closes=3d --every "first monday 10:00"',
            PollSpec("Lunch?", ("Pizza", "Salad"), closes="3d", every="first monday 10:00"),
        ),
    ],
)
def test_the_command_reads_flags_anywhere(text: str, spec: PollSpec) -> None:
    assert parse_command(text) == spec


def test_options_are_checked() -> None:
    assert check(PollSpec("  Lunch? ", (" Pizza  slice", "Salad"))).options == (
        "Pizza slice",
        "Salad",
    )
    with pytest.raises(UsageError, match="Option 3 is empty"):  # refused, not dropped
        check(PollSpec("Lunch?", ("Pizza", "Salad", " ")))
    with pytest.raises(UsageError, match="at most 10"):
        check(PollSpec("Q", tuple(str(n) for n in range(11))))
    with pytest.raises(UsageError, match="Option 2 has 76 characters"):
        check(PollSpec("Q", ("A", "x" * 76)))
    with pytest.raises(UsageError, match="300 characters"):
        check(PollSpec("Q" * 301, ("A", "B")))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("choice: Format? | Talk | Workshop |", "Question 1: choice 3 is empty"),
        ("choice: Format? | Talk | \u200b", "Question 1: choice 2 is empty"),
        ("choice: Format? | Talk", "Question 1: give at least two choices"),
        ("choice: Format? | Talk | talk", "Question 1: each choice must be different."),
        ("text: \u200b", "Question 1 has no question."),
    ],
)
def test_empty_single_and_repeated_survey_choices_are_refused(text: str, message: str) -> None:
    with pytest.raises(CommandError) as raised:
        parse_question(1, text)
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize(
    ("text", "kind", "question", "options"),
    [
        ("What went well?", "text", "What went well?", ()),
        ("text: What went well?", "text", "What went well?", ()),
        ("Scale:  How useful was it?", "scale", "How useful was it?", ()),
        ("choice: Format? | Talk | Workshop", "choice", "Format?", ("Talk", "Workshop")),
    ],
)
def test_survey_questions_have_a_tiny_syntax(
    text: str, kind: str, question: str, options: tuple[str, ...]
) -> None:
    parsed = parse_question(1, text)
    assert (parsed.kind, parsed.text, parsed.options) == (kind, question, options)
