"""Property: any `/cop` text, by anyone, anywhere, is run or refused with a reply; a refused
command changes nothing in the database. On SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hearth.bot.console.session import ConsoleSession
from hearth.bot.console.workspace import CHANNEL, PLATFORM, WORKSPACE
from hearth.handlers import build_registry
from hearth.handlers.cards import Card
from hearth.handlers.context import Defaults
from hearth.handlers.events import ActionClicked, CommandInvoked, Event
from hearth.handlers.ports import Messenger
from hearth.storage.db import Database
from tests.console_helpers import START
from tests.test_privacy import dump

NAMES = sorted(build_registry().commands)
PIECES = (
    '"Lunch?"',
    '"A"',
    '"B"',
    '"',
    "“",
    '""',
    '"\u200b"',
    "--multi",
    "--closes",
    "--every",
    "--closes=1d",
    "3d",
    "17:00",
    "2026-12-08",
    "9999-12-31T23:00",
    "<@alice>",
    "<@facilitator>",
    "<@nobody>",
    "#1",
    "1",
    "2",
    "R1",
    "off",
    "30",
    "0",
    "²",
    "٣",
    "99999999999999999999",
    "{name}",
    "{oops",
    "{name!r}",
    "\u200b",
    "\x00",
    "\ud800",
)
ARGUMENTS = st.lists(st.sampled_from(PIECES) | st.text(max_size=12), max_size=6).map(" ".join)
SETUP = """\
alice joins
bob joins
facilitator: /cop poll "Lunch?" "Pizza" "Salad" --closes 2d
facilitator: /cop survey
"""


@dataclass
class World:
    """One console workspace shared by the examples, and the refusals it answered."""

    session: ConsoleSession
    refused: list[str] = field(default_factory=list)


WORLDS: dict[int, World] = {}


async def world_for(db: Database) -> World:
    """The workspace for this test's database (made on the first example)."""
    if id(db) in WORLDS:
        return WORLDS[id(db)]
    session = ConsoleSession(db, START, lambda line: None, Defaults("UTC"))
    await session.start()
    for line in SETUP.splitlines():
        await session.run_line(line)
    form = max(session.workspace.items)
    await session.run_line(f"facilitator submits {form} title=Draft q1=How?")
    tables = await dump(db)
    assert (len(tables["communities"]), len(tables["polls"])) == (1, 2), "the world is set up"
    world = World(session)
    answer = session.hearth._answer

    async def refusal(messenger: Messenger, event: Event, card: Card) -> None:
        world.refused.append(card.text)
        await answer(messenger, event, card)

    session.hearth._answer = refusal  # type: ignore[method-assign]
    WORLDS.clear()
    WORLDS[id(db)] = world
    return world


@settings(
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    name=st.sampled_from(NAMES),
    arguments=ARGUMENTS,
    actor=st.sampled_from(["facilitator", "alice", "zed"]),
    in_dm=st.booleans(),
)
async def test_any_command_is_run_or_refused_and_a_refusal_changes_nothing(
    db: Database, name: str, arguments: str, actor: str, in_dm: bool
) -> None:
    world = await world_for(db)
    before: dict[str, list[dict[str, Any]]] = await dump(db)
    world.refused.clear()
    await world.session.hearth.handle(  # raises if anything but a refusal goes wrong
        CommandInvoked(
            platform=PLATFORM,
            workspace=WORKSPACE,
            channel=f"dm:{actor}" if in_dm else CHANNEL,
            user=actor,
            at=world.session.clock.now(),
            text=f"{name} {arguments}",
            is_dm=in_dm,
            channel_name=CHANNEL,
        )
    )
    if world.refused:
        assert await dump(db) == before, world.refused


VALUES = st.lists(st.sampled_from(["1", "0", "²", "٣", "99999999999999999999", "|", "x", ""]))


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    action=st.sampled_from(
        ["poll.vote", "survey.open", "survey.post", "welcome.segment", "welcome.interest"]
    ),
    value=VALUES.map("".join),
)
async def test_button_values_are_numbers_the_database_can_hold_or_refused(
    db: Database, action: str, value: str
) -> None:
    world = await world_for(db)
    before = await dump(db)
    world.refused.clear()
    await world.session.hearth.handle(
        ActionClicked(
            platform=PLATFORM,
            workspace=WORKSPACE,
            channel=CHANNEL,
            user="alice",
            at=world.session.clock.now(),
            action=action,
            value=value,
        )
    )
    if world.refused:
        assert await dump(db) == before, world.refused
