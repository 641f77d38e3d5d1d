"""No acknowledged event is lost: platform faults, a database outage, dead letters and a crowd of
clicks, end to end on Slack (signed requests into the real app; the Web API a spec-checked fake)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from hearth.bot.app import JOURNAL
from hearth.handlers.intake import EventJournal
from hearth.storage import db as db_module
from hearth.storage.models import InboundEvent, JournalEntry, Member, Membership, Message, PollVote
from tests.fakes.slack_api import SPEC_MISSING_REASON, spec_available
from tests.outages import SqliteWriterHeld, TcpProxy
from tests.slack_helpers import (
    CHANNEL,
    TEAM,
    HearthHarness,
    dm_buttons,
    event_callback,
    eventually,
    load_event,
    running_hearth,
)

pytestmark = pytest.mark.skipif(not spec_available(), reason=SPEC_MISSING_REASON)

JOINERS = [f"UJ{n:02d}" for n in range(20)]
OUTAGE_SECONDS = float(os.environ.get("HEARTH_TEST_OUTAGE_SECONDS", "2"))
"""How long the database is away in the outage test (the issue's figure is 20: set it so)."""
CROWD = int(os.environ.get("HEARTH_TEST_CROWD", "1000"))


def journal_of(hearth: HearthHarness) -> EventJournal:
    """The app's journal, retrying on a test's time scale (backoff and polls of tens of ms)."""
    journal = hearth.client.app[JOURNAL]  # type: ignore[index]
    journal.backoff, journal.max_backoff, journal.poll_every = 0.05, 0.5, 0.05
    journal.wake()
    return journal


async def set_up_community(hearth: HearthHarness) -> None:
    await hearth.command("setup Sharing delivery practice")
    await eventually(lambda: hearth.fake.calls_to("conversations.join"), what="the bot to join")


def joined(user: str) -> dict[str, Any]:
    return event_callback("member_joined_channel", user=user, channel=CHANNEL)


def posted(n: int) -> dict[str, Any]:
    ts = f"1700000000.{n:06d}"
    return event_callback(
        "message_channel", channel=CHANNEL, user="U111", text=f"m{n}", ts=ts, event_ts=ts
    )


async def welcomed_once_each(hearth: HearthHarness, users: list[str]) -> None:
    """Every user got exactly one welcome DM, and nothing more is waiting to go."""
    await eventually(
        lambda: all(hearth.posts_to(f"D{user}") for user in users),
        timeout=60,
        what="every joiner's welcome DM",
    )
    assert await hearth.sender.deliver_due() == 0
    assert [len(hearth.posts_to(f"D{user}")) for user in users] == [1] * len(users)
    members = await hearth.rows(
        select(Member.user_id)
        .join(Membership, Membership.member_id == Member.id)
        .where(Member.user_id.in_(users))
    )
    assert sorted(user for (user,) in members) == sorted(users)


# ---------------------------------------------------------------- the profile lookup fails


async def test_profile_lookups_answering_429_and_500_lose_no_join(database_url: str) -> None:
    async with running_hearth(database_url) as hearth:
        for n, user in enumerate(JOINERS):
            hearth.fake.add_user(user, f"joiner{n}", real_name=f"Joiner {n}")
        await set_up_community(hearth)
        journal = journal_of(hearth)
        hearth.fake.fail_next("users.info", 429, retry_after=0, times=25)
        hearth.fake.fail_next("users.info", 500, times=25)

        responses = await asyncio.gather(*(hearth.post_json(joined(user)) for user in JOINERS))
        assert [r.status for r in responses] == [200] * len(JOINERS)

        await welcomed_once_each(hearth, JOINERS)
        failed = [c for c in hearth.fake.calls if c.method == "users.info" and c.failed]
        assert len(failed) == 50  # the fault happened, and was waited out
        assert journal.counts.retried > 0 and journal.counts.dead == 0
        names = dict(await hearth.rows(select(Member.user_id, Member.name)))
        assert [names[user] for user in JOINERS] == [f"Joiner {n}" for n in range(20)]
        assert await hearth.count(JournalEntry) == 0
        assert hearth.fake.violations == []


# ---------------------------------------------------------------- the database goes away


@dataclass
class Outage:
    """Starts and ends a database outage for a running Hearth."""

    url: str
    proxy: TcpProxy | None = None
    lock: SqliteWriterHeld | None = None

    async def begin(self) -> None:
        if self.proxy is not None:
            self.proxy.cut()
        else:
            assert self.lock is not None
            await self.lock.hold()

    def end(self) -> None:
        if self.proxy is not None:
            self.proxy.restore()
        else:
            assert self.lock is not None
            self.lock.release()


@pytest.fixture
async def outage(database_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Outage]:
    """Hearth's URL and how to cut it off: PostgreSQL through a TCP proxy the test controls;
    SQLite with its writer lock held by another connection (and a short busy timeout)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        monkeypatch.setattr(db_module, "SQLITE_BUSY_TIMEOUT_MS", 200)
        yield Outage(database_url, lock=SqliteWriterHeld(Path(url.database or "")))
        return
    async with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        through = url.set(host="127.0.0.1", port=proxy.port)
        yield Outage(through.render_as_string(hide_password=False), proxy=proxy)


class Slack:
    """Delivers events as Slack does: again (with X-Slack-Retry-Num) until answered 200."""

    def __init__(self, hearth: HearthHarness) -> None:
        self.hearth = hearth
        self.refused = 0
        self.acknowledged: list[str] = []

    async def deliver(self, payload: dict[str, Any], timeout: float) -> None:
        attempts = 0

        async def once() -> bool:
            nonlocal attempts
            retry = {"X-Slack-Retry-Num": str(attempts), "X-Slack-Retry-Reason": "http_error"}
            response = await self.hearth.post_json(
                payload, extra_headers=retry if attempts else None
            )
            attempts += 1
            self.refused += response.status != 200
            return response.status == 200

        await eventually(once, timeout, f"{payload['event_id']} to be acknowledged")
        self.acknowledged.append(payload["event_id"])


async def test_a_database_outage_under_load_loses_nothing_acknowledged(outage: Outage) -> None:
    async with running_hearth(outage.url) as hearth:
        await set_up_community(hearth)
        journal = journal_of(hearth)
        journal.ack_deadline, journal.lease = 1.0, 1.0
        slack = Slack(hearth)
        users = JOINERS[:10]
        before = [posted(n) for n in range(20)]
        during = [joined(user) for user in users] + [posted(n) for n in range(20, 80)]
        loop = asyncio.get_running_loop()
        deadline = OUTAGE_SECONDS + 60
        deliveries: list[asyncio.Task[None]] = []

        def next_event(ends: float) -> bool:
            """New events all through the outage, as a busy workspace sends them."""
            due = len(during) * (1 - (ends - loop.time()) / OUTAGE_SECONDS)
            while len(deliveries) < min(due, len(during)):
                payload = during[len(deliveries)]
                deliveries.append(asyncio.create_task(slack.deliver(payload, deadline)))
            return loop.time() >= ends

        await asyncio.gather(*(slack.deliver(p, deadline) for p in before))
        await outage.begin()
        try:
            ends = loop.time() + OUTAGE_SECONDS
            await eventually(lambda: next_event(ends), OUTAGE_SECONDS + 30, "the outage to end")
            refused_during = slack.refused
        finally:
            outage.end()
        next_event(loop.time())  # any left
        await asyncio.gather(*deliveries)  # nobody steps in: delivery resumes by itself

        assert refused_during > 0  # Slack was told to deliver again, not 200 and dropped
        everything = before + during
        assert sorted(slack.acknowledged) == sorted(p["event_id"] for p in everything)
        await eventually(
            lambda: _count_is(hearth, Message, 80), timeout=60, what="every message stored"
        )
        await welcomed_once_each(hearth, users)
        assert await hearth.count(InboundEvent) == len(everything)  # each handled once
        await eventually(lambda: _count_is(hearth, JournalEntry, 0), what="the journal to empty")
        assert journal.counts.dead == 0
        assert hearth.fake.violations == []


async def _count_is(hearth: HearthHarness, model: type[Any], expected: int) -> bool:
    try:
        return await hearth.count(model) == expected
    except SQLAlchemyError:  # not back yet
        return False


# ---------------------------------------------------------------- dead letters


async def _dead_letters_are(hearth: HearthHarness, expected: int) -> bool:
    return await hearth.count(JournalEntry, JournalEntry.status == "dead") == expected


async def _hearth_cli(url: str, *args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hearth.bot.cli",
        *args,
        env={**os.environ, "DATABASE_URL": url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode()


async def test_an_event_that_keeps_failing_is_a_dead_letter_until_retried(
    database_url: str,
) -> None:
    async with running_hearth(database_url) as hearth:
        await set_up_community(hearth)
        journal = journal_of(hearth)
        journal.max_attempts = 3
        hearth.fake.add_user("UJ00", "never", real_name="Nora Never")
        hearth.fake.add_user("UJ01", "scope", real_name="Sam Scope")
        hearth.fake.fail_next("users.info", 500, times=3)  # three failures: out of attempts
        assert (await hearth.post_json(joined("UJ00"))).status == 200
        await eventually(lambda: _dead_letters_are(hearth, 1), timeout=30, what="a dead letter")
        hearth.fake.fail_next("users.info", error="missing_scope")  # permanent: dead at once
        assert (await hearth.post_json(joined("UJ01"))).status == 200
        await eventually(lambda: _dead_letters_are(hearth, 2), timeout=30, what="a second one")
        assert (journal.counts.retried, journal.counts.dead) == (2, 2)

        letters = await hearth.rows(select(JournalEntry).order_by(JournalEntry.id))
        assert [(e.status, e.attempts, e.kind) for (e,) in letters] == [
            ("dead", 3, "MemberJoined"),
            ("dead", 1, "MemberJoined"),
        ]
        assert letters[0][0].last_error == "TemporaryFailure: internal_error"
        assert letters[1][0].last_error == "PermanentFailure: missing_scope"
        assert hearth.posts_to("DUJ00") == [] and hearth.posts_to("DUJ01") == []

        code, listed = await _hearth_cli(hearth.db.url.render_as_string(False), "events", "retry")
        assert code == 0 and "2 dead letters" in listed and "missing_scope" in listed
        first = letters[0][0].id
        code, said = await _hearth_cli(
            hearth.db.url.render_as_string(False), "events", "retry", str(first)
        )
        assert code == 0 and "queued 1 events again" in said, said
        await welcomed_once_each(hearth, ["UJ00"])
        code, said = await _hearth_cli(
            hearth.db.url.render_as_string(False), "events", "retry", "--all"
        )
        assert code == 0 and "queued 1 events again" in said, said
        await welcomed_once_each(hearth, ["UJ00", "UJ01"])
        assert await hearth.count(JournalEntry) == 0
        assert hearth.fake.violations == []


# ---------------------------------------------------------------- a crowd of clicks


def vote(hearth: HearthHarness, user: str, button: dict[str, Any], ts: str) -> dict[str, Any]:
    click = load_event("block_actions")
    click["user"] = {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM}
    click["container"] = {
        "type": "message",
        "message_ts": ts,
        "channel_id": CHANNEL,
        "is_ephemeral": False,
    }
    click["channel"] = {"id": CHANNEL, "name": "random"}
    click["response_url"] = hearth.fake.response_url(user)
    click["actions"][0].update(
        action_id=button["action_id"], value=button["value"], text=button["text"]
    )
    return click


@pytest.mark.timeout(300)
async def test_a_thousand_concurrent_poll_clicks_are_all_counted(database_url: str) -> None:
    async with running_hearth(database_url) as hearth:
        await set_up_community(hearth)
        await hearth.command('poll "Lunch?" "Pizza" "Salad" "Soup"')
        await eventually(
            lambda: any(dm_buttons(p, "poll.vote") for p in hearth.posts_to(CHANNEL)),
            what="the poll to be posted",
        )
        [poll] = [p for p in hearth.posts_to(CHANNEL) if dm_buttons(p, "poll.vote")]
        [message] = [m for m in hearth.fake.channel_messages(CHANNEL) if dm_buttons(m, "poll.vote")]
        buttons = dm_buttons(poll, "poll.vote")
        hearth.fake.delays["users.info"] = 0.5  # a slow Slack; every voter is new to Hearth
        voters = [f"UV{n:04d}" for n in range(CROWD)]
        answered = len(hearth.fake.responses)

        responses = await asyncio.gather(
            *(
                hearth.post_form(
                    {"payload": json.dumps(vote(hearth, user, buttons[n % 3], message["ts"]))}
                )
                for n, user in enumerate(voters)
            )
        )
        assert [r.status for r in responses] == [200] * CROWD
        await eventually(
            lambda: len(hearth.fake.responses) >= answered + CROWD,
            timeout=240,
            what="every voter's confirmation",
        )
        said = {user: hearth.fake.responses_for(user) for user in voters}
        assert [
            u for u in voters if len(said[u]) != 1 or "You voted" not in said[u][0]["text"]
        ] == []
        counted = dict(
            await hearth.rows(select(PollVote.option, func.count()).group_by(PollVote.option))
        )
        assert counted == {k: len(range(k, CROWD, 3)) for k in range(3)}

        assert hearth.fake.violations == []
