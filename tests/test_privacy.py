"""forget-me leaves no trace of the member in any table, on every backend, and is idempotent;
the audit log, facilitators' counts, retention and the platform's own signals about members."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from textwrap import dedent
from typing import Any

import pytest
from sqlalchemy import inspect, select, text

from hearth.bot.console.session import ConsoleSession
from hearth.bot.outbox_sender import OutboxSender
from hearth.bot.settings import Settings, SettingsError
from hearth.handlers import build_registry
from hearth.handlers.cards import unmarked
from hearth.handlers.context import Defaults
from hearth.handlers.events import CommandInvoked, MemberJoined, MessagePosted, ProfileChanged
from hearth.handlers.hub import Hearth
from hearth.handlers.retention import effective_days
from hearth.scheduler.scheduler import Scheduler
from hearth.storage import outbox
from hearth.storage.db import Database
from hearth.storage.models import (
    InboundEvent,
    Member,
    Message,
    OutboxMessage,
)
from tests.console_helpers import START, expected, stale_click, transcript
from tests.recording import RecordingMessenger, SettableClock
from tests.test_members_console import registry_with_dms

ZELDAS_LIFE = """\
facilitator: /cop segments set "Delivery" "Leadership"
facilitator: /cop poll "Lunch?" "Pizza" "Salad"
facilitator: /cop poll "Secret ballot?" "Yes" "No" --anonymous
facilitator: /cop survey
facilitator submits 6 title="Check-in" q1="How was it?"
facilitator: /cop survey post 3
zelda joins
zelda clicks "Leadership" on 10
zelda clicks "Pizza" on 3
zelda clicks "Yes" on 5
zelda clicks "Answer the survey" on 9
zelda submits 16 q1="Great, thanks"
zelda: /cop poll "Coffee?" "Tea" "Coffee"
zelda: /cop settings
zelda submits 21 timezone=Europe/Paris working_hours="Mon-Fri 9-17"
zelda: Hello all, I'm Zelda and I run the RAID clinic
alice in thread 23: Thanks @zelda, and Zelda's clinic was great
facilitator: /cop facilitator add @zelda
zelda: /cop welcome set Hi {name}, welcome!
wait 13h
facilitator: /cop expert @zelda
facilitator: /cop nudge @zelda
"""
"""Zelda joins, chooses, votes (openly and anonymously), answers a survey, starts a poll, sets
her settings, talks and is talked about, becomes a facilitator and changes something, is named
in the welcome post and has two DMs waiting for her working hours."""


async def console(db: Database) -> ConsoleSession:
    session = ConsoleSession(db, START, lambda line: None, Defaults(), registry_with_dms())
    await session.start()
    return session


async def run(session: ConsoleSession, script: str) -> None:
    for line in dedent(script).splitlines():
        await session.run_line(line)


async def dump(db: Database) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table in the database (not only those the models know)."""
    async with db.engine.connect() as connection:
        tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
        return {
            table: [
                dict(row)
                for row in (await connection.execute(text(f'SELECT * FROM "{table}"'))).mappings()
            ]
            for table in sorted(tables)
        }


def traces(tables: dict[str, list[dict[str, Any]]], *needles: str) -> list[str]:
    """Where any needle appears (case-insensitively) in any column of any row."""
    found = []
    for table, rows in tables.items():
        for row in rows:
            for column, value in row.items():
                shown = json.dumps(value, default=str) if not isinstance(value, str) else value
                if any(n.lower() in shown.lower() for n in needles):
                    found.append(f"{table}.{column}: {shown[:120]}")
    return found


async def test_forget_me_leaves_no_trace_in_any_table_and_is_idempotent(db: Database) -> None:
    session = await console(db)
    await run(session, ZELDAS_LIFE)
    before = await dump(db)
    assert len(traces(before, "zelda")) > 12  # she is everywhere: the scan can see her
    (zelda,) = [m["id"] for m in before["members"] if m["user_id"] == "zelda"]
    assert before["poll_votes"] and before["survey_answers"] and before["audit_log"]

    await run(session, "zelda: /cop forget-me")
    confirm = max(session.workspace.items)
    await run(session, f'zelda clicks "Yes, forget me" on {confirm}')
    after = await dump(db)
    # what alice wrote about her stays word for word; only her mention went
    assert traces(after, "zelda") == [
        "messages.text: Thanks a former member, and Zelda's clinic was great"
    ]
    links = [
        f"{table}.{column}"
        for table, rows in after.items()
        for row in rows
        for column, value in row.items()
        if column.endswith(("member_id", "actor_id", "creator_id")) and value == zelda
    ]
    assert links == []  # nothing points at her old record either
    assert len(after["forgotten_members"]) == 1

    # what others need stays, without her: her message, the anonymous vote, the audit entries
    messages = sorted(after["messages"], key=lambda m: m["id"])
    assert [m["text"] for m in messages] == [
        None,  # hers: Hearth's copy loses its text, the row stays for the thread
        "Thanks a former member, and Zelda's clinic was great",
    ]
    assert messages[0]["member_id"] is None
    assert len(after["poll_votes"]) == 1 and after["poll_votes"][0]["member_id"] is None
    assert after["survey_answers"] == []
    assert {e["action"]: e["actor_id"] for e in after["audit_log"]}["welcome set"] is None
    assert (
        "a former member"
        in {e["action"]: e["detail"] for e in after["audit_log"]}["facilitator add"]
    )
    dms = [o for o in after["outbox"] if o["target_kind"] == "dm"]
    assert dms == []  # her welcome DM and the two waiting ones are gone

    await stale_click(session, "zelda", "Yes, forget me", confirm)  # a second click
    assert await dump(db) == after
    shown = session.workspace.items[max(session.workspace.items)].card
    assert shown is not None and shown.text.startswith("Hearth has already forgotten you")


async def test_the_only_facilitator_hands_over_first(db: Database) -> None:
    out = await transcript(db, "facilitator: /cop forget-me\nalice: /cop forget-me\n")
    assert out == expected(
        """\
        -- 2026-12-01 09:00 UTC --
        [1] (only @facilitator) bot: You're the only facilitator of #community. Hand over first: `/cop facilitator add @someone` there, then ask again.
        [2] (only @alice) bot: Hearth stores nothing about you.
        """
    )


async def test_the_audit_log_shows_who_changed_what_to_facilitators_only(db: Database) -> None:
    out = await transcript(
        db,
        """
        alice joins
        facilitator: /cop facilitator add @alice
        facilitator: /cop facilitator add @alice
        alice: /cop segments set "Delivery" "Leadership"
        alice: /cop segments set "Delivery" "Leadership"
        alice: /cop welcome preview
        alice: /cop retention off
        wait 1h
        alice: /cop retention 30
        alice: /cop retention 30
        bob: /cop audit
        facilitator: /cop audit
        """,
        timezone="Europe/London",
    )
    assert "[2] (only @facilitator) bot: @alice is now a facilitator of #community." in out
    assert "[3] (only @facilitator) bot: @alice is already a facilitator of #community." in out
    assert "No change: #community keeps the text of its messages with no time limit." in out
    assert "[5] (only @alice) bot: No change: newcomers choose from: Delivery, Leadership." in out
    assert out[out.index("[10]") :] == expected(
        """\
        [10] (only @bob) bot: Sorry, only facilitators of #community can use `/cop audit`.
        [11] (only @facilitator) bot: Latest changes in #community (newest first):
            • 2026-12-01 10:00 — @alice: `retention` 30
            • 2026-12-01 09:00 — @alice: `segments set` "Delivery" "Leadership"
            • 2026-12-01 09:00 — @facilitator: `facilitator add` @alice
            • 2026-12-01 09:00 — @facilitator: `setup`
            (Times in Europe/London. Only facilitators see this.)
        """
    )


async def test_facilitators_see_members_as_counts_only(db: Database) -> None:
    out = await transcript(
        db,
        """
        facilitator: /cop segments set "Delivery" "Leadership"
        alice joins
        alice clicks "Leadership" on 2
        bob joins
        bob clicks "Stop messages from Hearth" on 4
        carol joins
        carol leaves
        facilitator: /cop members
        """,
    )
    assert out[out.index("[7]") :] == expected(
        """\
        [7] (only @facilitator) bot: #community has 3 members.
            • Leadership: 1
            • no group chosen: 2
            (1 paused Hearth's messages; 0 deactivated. Only counts are shown: who opted out is theirs to know.)
        """
    )
    assert "bob" not in out[out.index("[7]") :]


async def test_retention_removes_old_text_and_keeps_the_rows(db: Database) -> None:
    clock = SettableClock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    messenger = RecordingMessenger()
    hub = Hearth(db, build_registry(), {"test": messenger}, clock, Defaults(retention_days=90))
    common = {"platform": "test", "workspace": "W1", "channel": "C1"}
    await hub.handle(CommandInvoked(**common, at=clock.now(), user="fran", text="setup"))
    for n, age in enumerate((40, 20, 5)):
        await hub.handle(
            MessagePosted(
                **common,
                at=clock.now() - timedelta(days=age),
                user="alice",
                message_id=f"m{n}",
                text=f"{age} days old",
                event_id=f"ev{n}",
            )
        )
    scheduler = Scheduler(hub)
    await hub.handle(CommandInvoked(**common, at=clock.now(), user="fran", text="retention 30"))
    assert unmarked(messenger.private[-1][1].text) == (
        "#C1 keeps the text of its messages for 30 days."
    )
    assert "1 older message just lost" in messenger.private[-1][1].blocks[0].text  # type: ignore[union-attr]
    clock.advance(days=16)  # the daily purge runs at 03:00 (community time), the prune at 03:30
    await scheduler.run_due()  # missed days are made up once, not 16 times (see below)
    assert await scheduler.run_due() == 0
    async with db.transaction() as session:
        rows = list(await session.scalars(select(Message).order_by(Message.message_id)))
        jobs = list(await session.execute(text("SELECT job, period FROM job_firings")))
    assert [(m.text, m.purged_at is not None, m.member_id is not None) for m in rows] == [
        (None, True, True),
        (None, True, True),
        ("5 days old", False, True),
    ]
    retention = [(job, period) for job, period in jobs if "retention" in job]
    assert sorted((job, str(period)[:16]) for job, period in retention) == [
        ("questions.retention@community:1", "2026-12-17 03:10"),  # questions' text too
        ("retention.prune@test", "2026-12-17 03:30"),
        ("retention.purge@community:1", "2026-12-17 03:00"),
    ]
    async with db.transaction() as session:
        assert list(await session.scalars(select(InboundEvent))) == []  # a week is enough
    assert effective_days(None, None) is None and effective_days(90, 30) == 30
    assert effective_days(90, None) == 90 and effective_days(None, 400) == 400


def test_the_retention_setting_is_read_and_checked() -> None:
    assert (
        Settings.from_env({"HEARTH_MESSAGE_RETENTION_DAYS": "90"}).defaults().retention_days == 90
    )
    assert Settings.from_env({}).message_retention_days is None
    with pytest.raises(SettingsError, match="HEARTH_MESSAGE_RETENTION_DAYS"):
        Settings.from_env({"HEARTH_MESSAGE_RETENTION_DAYS": "a while"})


async def test_a_deactivated_member_is_never_messaged(db: Database) -> None:
    clock = SettableClock()
    messenger = RecordingMessenger()
    hub = Hearth(db, build_registry(), {"test": messenger}, clock, Defaults())
    common = {"platform": "test", "workspace": "W1", "channel": "C1", "at": clock.now()}
    await hub.handle(CommandInvoked(**common, user="fran", text="setup"))
    await hub.handle(MemberJoined(**common, user="alice"))
    await hub.handle(ProfileChanged(**common | {"channel": ""}, user="stranger"))
    deleted = RecordingMessenger.profile

    async def gone(self: RecordingMessenger, workspace: str, user_id: str) -> Any:
        profile = await deleted(self, workspace, user_id)
        return profile.__class__(user_id, profile.name, profile.tz, deleted=True)

    messenger.profile = gone.__get__(messenger)  # type: ignore[method-assign]
    await hub.handle(ProfileChanged(**common | {"channel": ""}, user="alice"))
    await OutboxSender(db, {"test": messenger}, clock).deliver_due()
    assert [t.kind for t, _ in messenger.posts] == []
    async with db.transaction() as session:
        members = {m.user_id: m for m in await session.scalars(select(Member))}
        welcome = await session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "welcome"))
    assert "stranger" not in members  # nothing is stored about someone who never took part
    assert members["alice"].deactivated
    assert welcome is not None and (welcome.status, welcome.last_error) == (
        outbox.SKIPPED,
        "deactivated",
    )


async def test_someone_forgotten_who_comes_back_is_a_quiet_stranger_until_optin(
    db: Database,
) -> None:
    session = await console(db)
    await run(session, "zelda joins\nzelda: /cop forget-me")
    await run(session, f'zelda clicks "Yes, forget me" on {max(session.workspace.items)}')
    await run(
        session,
        """
        zelda leaves
        zelda joins
        zelda: Hello again
        facilitator: /cop nudge @zelda
        """,
    )
    async with db.transaction() as connection:
        zelda = await connection.scalar(select(Member).where(Member.user_id == "zelda"))
        rows = list(await connection.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    assert zelda is not None and zelda.unsolicited_dms_off  # no welcome DM, no nudge
    assert [(r.kind, r.status) for r in rows if r.target_kind == "dm"] == [
        ("nudge", outbox.SKIPPED)
    ]
    await run(session, "zelda: /cop optin\nfacilitator: /cop nudge @zelda")
    last = session.workspace.items[max(session.workspace.items)]
    assert (last.conversation, last.card and last.card.text) == (
        "dm:zelda",
        "Zelda, a thread in #community could use you.",
    )
    assert (await dump(db))["forgotten_members"] == []
