"""The member policy: one rule, every send path through it, and the hours it reads."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from hearth.bot.outbox_sender import OutboxSender
from hearth.handlers import build_registry, policy
from hearth.handlers.cards import Card
from hearth.handlers.context import Context, Defaults
from hearth.handlers.events import CommandInvoked, MemberJoined
from hearth.handlers.hours import Hours, HoursError, next_allowed, parse_hours
from hearth.handlers.hub import Hearth
from hearth.handlers.policy import Kind
from hearth.handlers.ports import Target
from hearth.handlers.registry import Registry
from hearth.storage import outbox
from hearth.storage.db import Database
from hearth.storage.models import Member, MemberSettings, OutboxMessage
from tests.recording import RecordingMessenger, SettableClock

HEARTH = Path(__file__).resolve().parents[1] / "hearth"
MONDAY_9 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
KINDS = build_registry().outbox_kinds

# ------------------------------------------------------------------ every send path


DYNAMIC_KINDS = {
    ("handlers/polls.py", "poll.kind"): {"poll", "survey"},
    ("handlers/rhythm/common.py", "payload['kind']"): {"digest_post", "article"},
    ("handlers/rhythm/digest.py", "kind"): {"digest", "group_digest"},
    ("handlers/hotseats/manage.py", "kind"): {"hotseat_invite", "hotseat_post", "hotseat_status"},
}
"""Calls whose kind is not a literal: what the expression can be (checked against the code)."""


def enqueue_calls() -> list[tuple[str, ast.expr]]:
    """Every `…enqueue(…)` call under hearth/ with its kind argument."""
    found = []
    for path in sorted(HEARTH.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else None
            name = name or (node.func.id if isinstance(node.func, ast.Name) else None)
            if name != "enqueue":
                continue
            kind = next((k.value for k in node.keywords if k.arg == "kind"), None)
            if kind is None and len(node.args) >= 2:
                kind = node.args[1]
            assert kind is not None, f"{path}:{node.lineno}: enqueue without a kind"
            found.append((str(path.relative_to(HEARTH)), kind))
    return found


def test_every_enqueued_kind_is_declared_by_a_feature() -> None:
    calls = enqueue_calls()
    assert len(calls) >= 6, calls  # welcome DM and post, intro, poll post and update, summary
    dynamic_seen = set()
    for where, kind in calls:
        if isinstance(kind, ast.Constant) and isinstance(kind.value, str):
            kinds = {kind.value}
        elif isinstance(kind, ast.Name) and kind.id == "kind" and where == "handlers/context.py":
            continue  # Context.enqueue passing its own argument on (checked at run time)
        else:
            key = (where, ast.unparse(kind))
            assert key in DYNAMIC_KINDS, f"{where}: enqueue kind {key[1]} is not a literal"
            dynamic_seen.add(key)
            kinds = DYNAMIC_KINDS[key]
        assert kinds <= set(KINDS), f"{where}: undeclared outbox kind {kinds}"
    assert dynamic_seen == set(DYNAMIC_KINDS)


def test_a_kind_two_features_send_is_declared_alike() -> None:
    registry = Registry()
    registry.sends(Kind("intro", dm=False))
    registry.sends(Kind("intro", dm=False))  # the welcome's and the nudge's introductions
    with pytest.raises(ValueError, match="'intro' declared twice"):
        registry.sends(Kind("intro", dm=True))
    assert registry.outbox_kinds == {"intro": Kind("intro", dm=False)}


async def setup_members(db: Database, clock: SettableClock) -> tuple[Hearth, RecordingMessenger]:
    """A community (fran) and two members who joined: alice and bob."""
    messenger = RecordingMessenger(min_send_interval=0)
    hub = Hearth(db, build_registry(), {"test": messenger}, clock, Defaults())
    common = {"platform": "test", "workspace": "W1", "channel": "C1"}
    await hub.handle(CommandInvoked(**common, at=clock.now(), user="fran", text="setup"))
    for user in ("alice", "bob"):
        await hub.handle(MemberJoined(**common, at=clock.now(), user=user))
    await OutboxSender(db, {"test": messenger}, clock).deliver_due()
    messenger.posts.clear()
    return hub, messenger


async def member_id(db: Database, user: str) -> int:
    async with db.transaction() as session:
        return (await session.scalars(select(Member.id).where(Member.user_id == user))).one()


async def put(
    db: Database, clock: SettableClock, kind: str, user: str, member: int | None, n: int = 0
) -> None:
    target = Target("dm", user) if KINDS[kind].dm else Target("channel", "C1")
    async with db.transaction() as session:
        await outbox.enqueue(
            session,
            key=f"{kind}:{user}:{n}:{clock.now().isoformat()}",
            kind=kind,
            platform="test",
            workspace="W1",
            target=target,
            card=Card(f"{kind} for {user}").to_json(),
            due_at=clock.now(),
            member_id=member,
            now=clock.now(),
        )


@pytest.mark.parametrize("state", ["forgotten", "deactivated", "bot", "paused"])
async def test_the_sender_applies_the_policy_to_every_dm_kind(db: Database, state: str) -> None:
    """Run a DM of every registered kind through the sender for a member who must not get it."""
    clock = SettableClock(MONDAY_9)
    _, messenger = await setup_members(db, clock)
    alice = await member_id(db, "alice")
    if state == "forgotten":
        async with db.transaction() as session:
            await session.execute(
                update(OutboxMessage).values(member_id=None)
            )  # rows written before the forget keep no member
            await session.delete(await session.get(Member, alice))
    else:
        column = {"deactivated": "deactivated", "bot": "is_bot", "paused": "unsolicited_dms_off"}
        async with db.transaction() as session:
            await session.execute(
                update(Member).where(Member.id == alice).values({column[state]: True})
            )
    dm_kinds = [k for k in KINDS.values() if k.dm]
    for n, kind in enumerate(dm_kinds):
        await put(db, clock, kind.name, "alice", None if state == "forgotten" else alice, n)
        await put(db, clock, kind.name, "alice", None, n + 100)  # a row naming no member
    await put(db, clock, "welcome_post", "C1", None)
    await OutboxSender(db, {"test": messenger}, clock).deliver_due()
    sent = [(t.kind, c.text) for t, c in messenger.posts]
    solicited = {k.name for k in dm_kinds if not k.unsolicited}
    if state == "paused":  # what the member asked for still reaches them
        expected = [("dm", f"{k} for alice") for k in sorted(solicited) for _ in range(2)]
        assert sorted(t for t in sent if t[0] == "dm") == expected
    else:
        assert [t for t in sent if t[0] == "dm"] == []
    assert ("channel", "welcome_post for C1") in sent  # channel posts are nobody's DM
    async with db.transaction() as session:
        skipped = list(
            await session.scalars(
                select(OutboxMessage.last_error).where(OutboxMessage.status == outbox.SKIPPED)
            )
        )
    assert len(skipped) == 2 * len(dm_kinds) - (2 * len(solicited) if state == "paused" else 0)


async def test_a_dm_of_an_unregistered_kind_is_refused_at_enqueue(db: Database) -> None:
    clock = SettableClock(MONDAY_9)
    hub, _ = await setup_members(db, clock)
    event = CommandInvoked(
        platform="test", workspace="W1", channel="C1", at=clock.now(), user="fran", text=""
    )
    async with db.transaction() as session:
        context = Context(session, event, hub.messengers["test"], clock, hub.registry, Defaults())
        with pytest.raises(policy.UnknownKind):
            await context.enqueue("x", "shout", Target("dm", "alice"), Card("hey"))
        with pytest.raises(ValueError, match="goes to a DM"):
            await context.enqueue("y", "nudge", Target("channel", "C1"), Card("hey"))
        await context.enqueue("z", "nudge", Target("dm", "alice"), Card("hey"))
        row = await session.scalar(select(OutboxMessage).where(OutboxMessage.key == "z"))
    assert row is not None and row.member_id == await member_id(db, "alice")


async def test_three_capped_dms_a_week_then_the_fourth_waits(db: Database) -> None:
    clock = SettableClock(MONDAY_9)
    _, messenger = await setup_members(db, clock)
    alice = await member_id(db, "alice")
    sender = OutboxSender(db, {"test": messenger}, clock)
    for n in range(3):
        await put(db, clock, "nudge" if n % 2 else "expert_request", "alice", alice, n)
        await sender.deliver_due()
        clock.advance(days=1)
    await put(db, clock, "nudge", "alice", alice, 3)
    await put(db, clock, "reminder", "alice", alice, 4)  # not capped
    await sender.deliver_due()
    assert [c.text for t, c in messenger.posts if t.kind == "dm"] == [
        "expert_request for alice",
        "nudge for alice",
        "expert_request for alice",
        "reminder for alice",
    ]
    async with db.transaction() as session:
        waiting = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.status == outbox.PENDING)
        )
    assert waiting is not None
    assert (waiting.kind, waiting.due_at) == ("nudge", MONDAY_9 + timedelta(days=7))
    assert waiting.last_error == "deferred: frequency cap"
    clock.current = MONDAY_9 + timedelta(days=7)
    await sender.deliver_due()
    assert messenger.posts[-1][1].text == "nudge for alice"


async def test_quiet_hours_in_the_members_zone_defer_and_preferences_drop(db: Database) -> None:
    clock = SettableClock(datetime(2026, 12, 7, 22, 30, tzinfo=UTC))  # 22:30 London, 17:30 NY
    _, messenger = await setup_members(db, clock)
    alice, bob = await member_id(db, "alice"), await member_id(db, "bob")
    async with db.transaction() as session:
        session.add(
            MemberSettings(
                member_id=bob,
                dms={"nudges": False},
                tz="America/New_York",
                updated_at=clock.now(),
            )
        )
    await put(db, clock, "nudge", "alice", alice)  # quiet hours in London: until 08:00
    await put(db, clock, "nudge", "bob", bob)  # bob turned nudges off
    await put(db, clock, "expert_request", "bob", bob)  # 17:30 in New York: fine
    await OutboxSender(db, {"test": messenger}, clock).deliver_due()
    assert [(t.id, c.text) for t, c in messenger.posts] == [("bob", "expert_request for bob")]
    async with db.transaction() as session:
        rows = {(r.target_id, r.kind): r for r in await session.scalars(select(OutboxMessage))}
    assert rows["alice", "nudge"].status == outbox.PENDING
    assert rows["alice", "nudge"].due_at == datetime(2026, 12, 8, 8, 0, tzinfo=UTC)
    assert (rows["bob", "nudge"].status, rows["bob", "nudge"].last_error) == (
        outbox.SKIPPED,
        "turned off nudges",
    )


# ------------------------------------------------------------------ the rule itself


def member(**values: object) -> Member:
    fields = {
        "platform": "test",
        "workspace": "W1",
        "user_id": "alice",
        "name": "Alice",
        "tz": "Europe/London",
        "is_bot": False,
        "deactivated": False,
        "unsolicited_dms_off": False,
        "interests": [],
    }
    return Member(**(fields | values))


def decide(kind: str, who: Member | None, now: datetime = MONDAY_9, **settings: object) -> str:
    stored = MemberSettings(dms={}, **settings) if settings else None
    chosen = policy.choices(who, stored, "UTC") if who else None
    decision = policy.decide(KINDS[kind], who, chosen, recent=(), now=now)
    return decision.action if decision.action != "defer" else f"defer {decision.until:%d %H:%M}"


def test_kinds_are_independent_toggles() -> None:
    off = {"dms": {"nudges": False}}
    stored = MemberSettings(**off)
    chosen = policy.choices(member(), stored, "UTC")
    nudge = policy.decide(KINDS["nudge"], member(), chosen, recent=(), now=MONDAY_9)
    expert = policy.decide(KINDS["expert_request"], member(), chosen, recent=(), now=MONDAY_9)
    assert (nudge.action, nudge.reason, expert.action) == ("drop", "turned off nudges", "send")


def test_who_is_never_messaged() -> None:
    assert decide("nudge", None) == "drop"
    assert decide("nudge", member(deactivated=True)) == "drop"
    assert decide("survey_summary", member(deactivated=True)) == "drop"
    assert decide("nudge", member(is_bot=True)) == "drop"
    assert decide("welcome", member(unsolicited_dms_off=True)) == "drop"
    assert decide("survey_summary", member(unsolicited_dms_off=True)) == "send"
    assert decide("welcome_post", None) == "send"


def test_timing() -> None:
    late = datetime(2026, 12, 7, 22, 0, tzinfo=UTC)  # a Monday, 22:00 in London
    assert decide("nudge", member(), late) == "defer 08 08:00"
    assert decide("welcome", member(), late) == "send"  # an answer to joining
    assert decide("nudge", member(), late, quiet_hours="") == "send"
    assert decide("nudge", member(), late, tz="Asia/Tokyo") == "defer 07 23:00"  # 08:00 Tokyo
    assert decide("nudge", member(), late, tz="America/New_York") == "send"  # 17:00 there
    weekend = datetime(2026, 12, 12, 12, 0, tzinfo=UTC)  # Saturday noon
    working = {"working_hours": "Mon-Fri 09:00-17:00"}
    assert decide("nudge", member(), weekend, **working) == "defer 14 09:00"
    assert decide("reminder", member(), weekend, **working) == "send"  # not a work ping


def test_the_cap_counts_a_rolling_week() -> None:
    chosen = policy.choices(member(), None, "UTC")
    sent = [MONDAY_9 - timedelta(days=d) for d in (6, 3, 1)]
    capped = policy.decide(KINDS["nudge"], member(), chosen, recent=sent, now=MONDAY_9)
    assert (capped.action, capped.until) == ("defer", MONDAY_9 + timedelta(days=1))
    uncapped = policy.decide(KINDS["reminder"], member(), chosen, recent=sent, now=MONDAY_9)
    assert uncapped.action == "send"


@pytest.mark.parametrize(
    ("text", "shown", "days"),
    [
        ("Mon-Fri 09:00-17:30", "Mon-Fri 09:00-17:30", {0, 1, 2, 3, 4}),
        ("21:00-08:00", "21:00-08:00", set(range(7))),
        ("9-17", "09:00-17:00", set(range(7))),
        ("weekdays 8.30 to 16", "Mon-Fri 08:30-16:00", {0, 1, 2, 3, 4}),
        ("sat,sun 10:00-12:00", "Sat,Sun 10:00-12:00", {5, 6}),
        ("Fri-Mon 10:00–11:00", "Mon,Fri,Sat,Sun 10:00-11:00", {4, 5, 6, 0}),
    ],
)
def test_hours_are_read_as_people_write_them(text: str, shown: str, days: set[int]) -> None:
    hours = parse_hours(text)
    assert hours is not None and str(hours) == shown and hours.days == days


@pytest.mark.parametrize("text", ["tomorrow", "25:00-26:00", "Someday 9-5"])
def test_unreadable_hours_say_what_to_write(text: str) -> None:
    with pytest.raises(HoursError):
        parse_hours(text)


def test_windows_past_midnight_and_the_next_allowed_time() -> None:
    quiet = Hours(time(21), time(8))
    assert parse_hours("off") is None and parse_hours("") is None
    assert quiet.contains(datetime(2026, 12, 7, 23, 0)) and quiet.contains(datetime(2026, 12, 8, 7))
    assert not quiet.contains(datetime(2026, 12, 8, 8, 0))
    # across the spring-forward night in New York, 08:00 local is 12:00 UTC, not 13:00
    before = datetime(2026, 3, 8, 5, 0, tzinfo=UTC)
    allowed = next_allowed(before, "America/New_York", quiet=quiet)
    assert allowed == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)
    everything = Hours(time(0), time(0))
    assert next_allowed(before, "UTC", quiet=everything) is None
