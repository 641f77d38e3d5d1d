"""The conversion figures of `/cop lurkers`, computed in SQL, against the README's definition
written out in Python over the same rows: members at the edges of every window (to the
microsecond), who left, were nudged, paused Hearth or turned nudges off."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hearth.storage import lurkers as store
from hearth.storage.db import Database
from hearth.storage.models import (
    Community,
    Facilitator,
    Member,
    MemberSettings,
    Membership,
    Nudge,
    OutboxMessage,
    Participation,
)

NOW = datetime(2026, 12, 16, 7, 0, tzinfo=UTC)
LURK, WINDOW, WEEK = timedelta(days=14), timedelta(days=90), timedelta(days=7)
START, CLOSED = NOW - WINDOW, NOW - WEEK
TICK = timedelta(microseconds=1)
EDGES = (-TICK, timedelta(0), TICK, WEEK - TICK, WEEK, WEEK + TICK)


@dataclass
class Person:
    joined: datetime
    left: datetime | None
    first: datetime | None
    sent: list[tuple[datetime | None, str]]
    """Their nudges: when sent, and the outbox status."""
    paused: bool = False
    nudges_off: bool = False
    bot: bool = False
    facilitator: bool = False


def people(rng: random.Random, count: int) -> list[Person]:
    """Members whose facts fall on (or a microsecond either side of) each boundary."""

    def near(moment: datetime) -> datetime:
        spread = timedelta(seconds=rng.randrange(-20 * 86400, 20 * 86400))
        return moment + (rng.choice(EDGES) if rng.random() < 0.7 else spread)

    found = []
    for _ in range(count):
        joined = rng.choice((START - LURK, CLOSED - LURK, NOW - timedelta(days=60)))
        joined = near(joined) + timedelta(microseconds=rng.randrange(1_000_000))
        became = max(joined + LURK, START)
        sent: list[tuple[datetime | None, str]] = []
        for _ in range(rng.choice((0, 0, 1, 2))):
            status = rng.choice(("sent", "sent", "sent", "cancelled"))
            at = min(rng.choice((near(became), near(START), near(CLOSED))), NOW)
            sent.append((at if status == "sent" else None, status))
        found.append(
            Person(
                joined=joined,
                left=rng.choice((None, None, near(became))),
                first=rng.choice(
                    (None, near(became), near(CLOSED), *(near(at) for at, _ in sent if at))
                ),
                sent=sent,
                paused=rng.random() < 0.08,
                nudges_off=rng.random() < 0.08,
                bot=rng.random() < 0.04,
                facilitator=rng.random() < 0.04,
            )
        )
    return found


def expected(found: list[Person]) -> tuple[store.Rate, int, store.Rate]:
    """The README's definitions, one member at a time."""
    nudged = converted = soon = 0
    for person in found:
        times = [at for at, status in person.sent if status == "sent" and at and at >= START]
        settled = [at for at in times if at <= CLOSED]
        soon += bool(times) and not settled
        nudged += bool(settled)
        first = person.first
        converted += first is not None and any(at <= first <= at + WEEK for at in settled)
    counted = posted = 0
    for person in found:
        if person.paused or person.nudges_off or person.bot or person.facilitator:
            continue
        became = max(person.joined + LURK, START)
        first, sent = person.first, [at for at, status in person.sent if status == "sent" and at]
        if (
            became > CLOSED
            or (first is not None and first < became)
            or (person.left is not None and person.left < became + WEEK)
            or (sent and min(sent) < became + WEEK)
        ):
            continue
        counted += 1
        posted += first is not None and became <= first < became + WEEK
    return store.Rate(converted, nudged), soon, store.Rate(posted, counted)


async def load(db: Database, found: list[Person]) -> int:
    async with db.transaction() as session:
        community = Community(
            platform="console",
            workspace="W",
            channel="C",
            name="community",
            timezone="UTC",
            segments=[],
            interests=[],
            created_at=START - timedelta(days=400),
        )
        session.add(community)
        await session.flush()
        for n, person in enumerate(found):
            member = Member(
                platform="console",
                workspace="W",
                user_id=f"U{n}",
                name=f"Member {n}",
                is_bot=person.bot,
                unsolicited_dms_off=person.paused,
                interests=[],
                created_at=person.joined,
            )
            session.add(member)
            await session.flush()
            session.add(
                Membership(
                    community_id=community.id,
                    member_id=member.id,
                    joined_at=person.joined,
                    left_at=person.left,
                )
            )
            if person.facilitator:
                session.add(
                    Facilitator(community_id=community.id, member_id=member.id, added_at=START)
                )
            if person.nudges_off or n % 5 == 0:
                dms = {"nudges": False} if person.nudges_off else {"digest": True}
                session.add(MemberSettings(member_id=member.id, dms=dms, updated_at=START))
            if person.first is not None:
                session.add(
                    Participation(
                        community_id=community.id,
                        member_id=member.id,
                        first_posted_at=person.first,
                        last_posted_at=person.first,
                    )
                )
            for number, (at, status) in enumerate(person.sent, start=1):
                key = f"nudge:{community.id}:{member.id}:{number}"
                due = at or START
                session.add(
                    Nudge(
                        community_id=community.id,
                        member_id=member.id,
                        number=number,
                        key=key,
                        due_at=due,
                        created_at=due,
                    )
                )
                session.add(
                    OutboxMessage(
                        key=key,
                        kind="nudge",
                        platform="console",
                        workspace="W",
                        target_kind="dm",
                        target_id=member.user_id,
                        member_id=member.id,
                        card={},
                        status=status,
                        due_at=due,
                        created_at=due,
                        sent_at=at,
                    )
                )
        return community.id


async def test_the_sql_figures_are_the_readme_definitions(db: Database) -> None:
    found = people(random.Random(12), 400)
    community_id = await load(db, found)
    nudged, soon, comparable = expected(found)
    assert nudged.counted > 20 and comparable.counted > 20 and comparable.converted > 5
    async with db.transaction() as session:
        got = await store.nudged_rate(session, community_id, start=START, closed=CLOSED, days=7)
        baseline = await store.comparable_rate(
            session, community_id, lurk_days=14, start=START, closed=CLOSED, days=7
        )
    assert (got.rate, got.too_soon, baseline) == (nudged, soon, comparable)
