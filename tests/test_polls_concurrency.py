"""Votes are counted in SQL, atomically: a crowd clicking at once loses and doubles nothing."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from hearth.bot.outbox_sender import OutboxSender
from hearth.handlers import build_registry
from hearth.handlers.cards import Card, unmarked
from hearth.handlers.context import Defaults
from hearth.handlers.events import ActionClicked, CommandInvoked
from hearth.handlers.hub import Hearth
from hearth.storage import outbox
from hearth.storage.db import Database
from hearth.storage.models import Member, OutboxMessage, PollVote
from tests.recording import RecordingMessenger, SettableClock

CROWD = 200
COMMON = {"platform": "test", "workspace": "W1", "channel": "C1"}


async def posted_poll(db: Database, flags: str = "") -> tuple[Hearth, RecordingMessenger]:
    """A community with one poll whose message has gone out."""
    clock, messenger = SettableClock(), RecordingMessenger(min_send_interval=0)
    hub = Hearth(db, build_registry(), {"test": messenger}, clock, Defaults(secret=b"s" * 32))
    for text in ("setup", f'poll "Lunch?" "Pizza" "Salad" "Soup" {flags}'):
        await hub.handle(CommandInvoked(**COMMON, user="fran", at=clock.now(), text=text))
    assert await OutboxSender(db, {"test": messenger}, clock).deliver_due() == 1
    return hub, messenger


def click(hub: Hearth, user: str, option: int) -> ActionClicked:
    return ActionClicked(
        **COMMON, user=user, at=hub.clock.now(), action="poll.vote", value=f"1|{option}"
    )


async def update_rows(db: Database) -> list[OutboxMessage]:
    async with db.transaction() as session:
        return list(
            await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "poll_update"))
        )


@pytest.mark.parametrize("flags", ["", "--anonymous"])
async def test_a_crowd_voting_at_once_is_counted_exactly(db: Database, flags: str) -> None:
    hub, messenger = await posted_poll(db, flags)
    messenger.private.clear()
    await asyncio.gather(*(hub.handle(click(hub, f"user{n}", n % 3)) for n in range(CROWD)))
    async with db.transaction() as session:
        counted = dict(
            (
                await session.execute(
                    select(PollVote.option, func.count()).group_by(PollVote.option)
                )
            ).all()
        )
        members = await session.scalar(select(func.count()).select_from(Member))
    assert counted == {0: 67, 1: 67, 2: 66}
    assert len(messenger.private) == CROWD
    # One message update, pending, carrying the count after the last vote: the card is built
    # under the poll's lock, so the last committer's card is the complete one.
    (row,) = await update_rows(db)
    assert row.status == outbox.PENDING
    card = Card.from_json(row.card)
    assert "200 votes" in card.blocks[-1].text  # type: ignore[union-attr]
    lines = unmarked(card.blocks[0].text).splitlines()  # type: ignore[union-attr]
    assert [line.partition(" — ")[0] for line in lines] == [
        "Pizza ▇▇▇ 67 · 34%",
        "Salad ▇▇▇ 67 · 34%",
        "Soup ▇▇▇ 66 · 33%",
    ]
    # Anonymous voters leave no member record behind; named ones are members once each.
    assert members == (1 if flags else CROWD + 1)


async def test_one_member_clicking_different_options_at_once_keeps_one_vote(
    db: Database,
) -> None:
    hub, messenger = await posted_poll(db)
    messenger.private.clear()
    await asyncio.gather(*(hub.handle(click(hub, "alice", n % 3)) for n in range(CROWD)))
    async with db.transaction() as session:
        votes = list(await session.scalars(select(PollVote)))
    # Every click was applied to the state the previous one left: the confirmations, read as a
    # history, add up to what is stored (one vote, or none if the last click withdrew it).
    said = [card.text for _, card in messenger.private]
    voted = sum("You voted for" in text for text in said)
    changed = sum("You changed your vote" in text for text in said)
    withdrew = sum("You withdrew" in text for text in said)
    assert voted + changed + withdrew == CROWD
    assert len(votes) == voted - withdrew
    assert len(votes) <= 1


async def test_one_member_clicking_one_option_at_once_toggles_exactly(db: Database) -> None:
    hub, _ = await posted_poll(db)
    await asyncio.gather(*(hub.handle(click(hub, "alice", 1)) for _ in range(CROWD - 1)))
    async with db.transaction() as session:
        votes = list(await session.scalars(select(PollVote)))
    assert [v.option for v in votes] == [1]  # an odd number of toggles: one vote, never two
