"""The outbox: written with the state change, delivered once, paced, retried, never lost."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hearth.bot.outbox_sender import OutboxSender
from hearth.bot.settings import Settings, SettingsError
from hearth.handlers import build_registry
from hearth.handlers.cards import Card
from hearth.handlers.context import Defaults
from hearth.handlers.events import CommandInvoked, MemberJoined, MessageRef
from hearth.handlers.hub import Hearth
from hearth.handlers.ports import PermanentFailure, RateLimited, Target, TemporaryFailure
from hearth.storage import migrate, outbox
from hearth.storage.db import Database
from hearth.storage.models import Member, OutboxMessage
from tests.recording import RecordingMessenger, SettableClock


def hub(db: Database, messenger: RecordingMessenger, clock: SettableClock) -> Hearth:
    return Hearth(db, build_registry(), {"test": messenger}, clock, Defaults())


async def setup_and_join(
    db: Database, messenger: RecordingMessenger, clock: SettableClock, *users: str
) -> None:
    hearth = hub(db, messenger, clock)
    common = {"platform": "test", "workspace": "W1", "channel": "C1", "at": clock.now()}
    await hearth.handle(CommandInvoked(**common, user="fran", text="setup"))
    for user in users:
        await hearth.handle(MemberJoined(**common, user=user, event_id=f"join-{user}"))


async def claim(
    session: AsyncSession, row_id: int, clock: SettableClock, sender: str = "test"
) -> outbox.Claim | None:
    return await outbox.claim(
        session,
        row_id,
        clock.now(),
        sender=sender,
        lease=timedelta(seconds=60),
        interval=timedelta(seconds=0),
    )


async def rows(db: Database) -> list[OutboxMessage]:
    async with db.transaction() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def test_a_message_written_before_a_crash_goes_out_once_after_restart(
    database_url: str,
) -> None:
    clock, messenger = SettableClock(), RecordingMessenger()
    first = Database(database_url)
    await migrate.upgrade(first)
    await setup_and_join(first, messenger, clock, "alice")
    await first.close()  # the process stops before any sender ran
    assert messenger.posts == []

    restarted = Database(database_url)
    sender = OutboxSender(restarted, {"test": messenger}, clock)
    assert await sender.deliver_due() == 1
    assert await sender.deliver_due() == 0
    clock.advance(days=2)
    assert (
        await OutboxSender(restarted, {"test": messenger}, clock).deliver_due() == 1
    )  # daily post
    await restarted.close()
    assert [(t.kind, t.id) for t, _ in messenger.posts] == [("dm", "alice"), ("channel", "C1")]


async def test_a_delivery_interrupted_mid_send_is_taken_up_when_its_lease_runs_out(
    db: Database,
) -> None:
    clock, messenger = SettableClock(), RecordingMessenger()
    await setup_and_join(db, messenger, clock, "alice")
    [dm] = [r for r in await rows(db) if r.kind == "welcome"]
    async with db.transaction() as session:  # a sender that crashed after claiming it
        await claim(session, dm.id, clock, sender="crashed")
    sender = OutboxSender(db, {"test": messenger}, clock, lease=60)
    assert await sender.deliver_due() == 0  # leased by the "crashed" process
    clock.advance(seconds=59)
    assert await sender.deliver_due() == 0
    clock.advance(seconds=2)
    assert await sender.deliver_due() == 1
    assert len(messenger.posts) == 1
    [dm] = [r for r in await rows(db) if r.kind == "welcome"]
    assert (dm.status, dm.claimed_by, dm.lease_until) == (outbox.SENT, sender.name, None)


async def test_retry_after_is_honoured(db: Database) -> None:
    clock, messenger = SettableClock(), RecordingMessenger(failures=[RateLimited(30)])
    await setup_and_join(db, messenger, clock, "alice")
    sender = OutboxSender(db, {"test": messenger}, clock)
    await sender.deliver_due()
    assert messenger.posts == []
    clock.advance(seconds=29)
    assert await sender.deliver_due() == 0
    clock.advance(seconds=1)
    assert await sender.deliver_due() == 1
    dm = (await rows(db))[0]  # a try the platform turned away is not a failure
    assert (dm.status, dm.attempts, dm.failures, len(messenger.posts)) == (outbox.SENT, 2, 0, 1)


async def test_temporary_failures_back_off_with_jitter_then_succeed(db: Database) -> None:
    clock = SettableClock()
    messenger = RecordingMessenger(failures=[TemporaryFailure("502"), TemporaryFailure("timeout")])
    await setup_and_join(db, messenger, clock, "alice")
    sender = OutboxSender(db, {"test": messenger}, clock, jitter=lambda: 0.5)
    await sender.deliver_due()  # fails: next try in 2s
    clock.advance(seconds=2)
    await sender.deliver_due()  # fails: next try in 4s
    clock.advance(seconds=3.9)
    assert await sender.deliver_due() == 0
    clock.advance(seconds=0.1)
    assert await sender.deliver_due() == 1
    dm = (await rows(db))[0]
    assert (dm.status, dm.attempts, dm.last_error) == (outbox.SENT, 3, None)


async def test_permanent_failures_are_recorded_not_retried(db: Database) -> None:
    clock, messenger = (
        SettableClock(),
        RecordingMessenger(failures=[PermanentFailure("channel_not_found")]),
    )
    await setup_and_join(db, messenger, clock, "alice")
    sender = OutboxSender(db, {"test": messenger}, clock)
    await sender.deliver_due()
    clock.advance(hours=1)
    assert await sender.deliver_due() == 0
    dm = (await rows(db))[0]
    assert (dm.status, dm.last_error, messenger.posts) == (outbox.FAILED, "channel_not_found", [])


async def test_one_conversation_is_paced_others_are_not(db: Database) -> None:
    clock, messenger = SettableClock(), RecordingMessenger(min_send_interval=1.0)
    async with db.transaction() as session:
        for n, target in enumerate(["C1", "C1", "C1", "C2"]):
            await outbox.enqueue(
                session,
                key=f"k{n}",
                kind="test",
                platform="test",
                workspace="W1",
                target=Target("channel", target),
                card=Card(f"m{n}").to_json(),
                due_at=clock.now(),
                member_id=None,
                now=clock.now(),
            )
    sender = OutboxSender(db, {"test": messenger}, clock)
    assert await sender.deliver_due() == 2  # one for C1, one for C2
    assert await sender.deliver_due() == 0  # C1 must wait a second
    clock.advance(seconds=1)
    assert await sender.deliver_due() == 1
    clock.advance(seconds=1)
    assert await sender.deliver_due() == 1
    texts = [c.text for _, c in messenger.posts]
    assert (sorted(texts[:2]), texts[2:]) == (["m0", "m3"], ["m1", "m2"])  # C1, C2 in parallel


async def test_the_member_policy_is_checked_again_at_send_time(db: Database) -> None:
    clock, messenger = SettableClock(), RecordingMessenger()
    await setup_and_join(db, messenger, clock, "alice")
    async with db.transaction() as session:
        await session.execute(
            update(Member).where(Member.user_id == "alice").values(unsolicited_dms_off=True)
        )
    await OutboxSender(db, {"test": messenger}, clock).deliver_due()
    dm = (await rows(db))[0]
    assert (dm.status, messenger.posts) == (outbox.SKIPPED, [])


async def test_bots_get_no_welcome(db: Database) -> None:
    clock, messenger = SettableClock(), RecordingMessenger()
    await setup_and_join(db, messenger, clock, "botty")
    assert await rows(db) == []


async def test_two_senders_never_send_one_message_twice(db: Database) -> None:
    clock, messenger = SettableClock(), RecordingMessenger(min_send_interval=0)
    await setup_and_join(db, messenger, clock, *[f"user{n}" for n in range(20)])
    senders = [OutboxSender(db, {"test": messenger}, clock) for _ in range(3)]
    await asyncio.gather(*(s.deliver_due() for s in senders))
    dms = sorted(t.id for t, _ in messenger.posts)
    assert dms == sorted(f"user{n}" for n in range(20))


async def test_run_wakes_for_new_work_and_stops_cleanly(db: Database) -> None:
    clock, messenger = SettableClock(), RecordingMessenger()
    sender = OutboxSender(db, {"test": messenger}, clock)
    hearth = Hearth(db, build_registry(), {"test": messenger}, clock, Defaults(), sender.wake)
    task = asyncio.create_task(sender.run())
    common = {"platform": "test", "workspace": "W1", "channel": "C1", "at": clock.now()}
    await hearth.handle(CommandInvoked(**common, user="fran", text="setup"))
    await hearth.handle(MemberJoined(**common, user="alice"))
    async with asyncio.timeout(5):
        while not messenger.posts:
            await asyncio.sleep(0.01)
    sender.stop()
    await asyncio.wait_for(task, 5)
    assert messenger.posts[0][0] == Target("dm", "alice")


async def test_updates_coalesce_while_pending(db: Database) -> None:
    clock, messenger = SettableClock(), RecordingMessenger()
    ref = MessageRef("C1", "99")
    async with db.transaction() as session:
        for votes in range(1, 6):
            card = Card(f"{votes} votes").to_json()
            if not await outbox.replace_pending(session, "poll:1", card):
                await outbox.enqueue(
                    session,
                    key="poll:1",
                    kind="poll_update",
                    platform="test",
                    workspace="W1",
                    target=Target.replacing(ref),
                    card=card,
                    due_at=clock.now(),
                    member_id=None,
                    now=clock.now(),
                )
    assert await OutboxSender(db, {"test": messenger}, clock).deliver_due() == 1
    assert [(r, c.text) for r, c in messenger.updates] == [(ref, "5 votes")]
    assert messenger.posts == []


async def test_a_post_that_landed_before_its_answer_was_lost_is_not_sent_again(
    db: Database,
) -> None:
    clock, messenger = SettableClock(), RecordingMessenger(lost_answers=1)
    await setup_and_join(db, messenger, clock, "alice")
    sender = OutboxSender(db, {"test": messenger}, clock, jitter=lambda: 0.5)
    await sender.deliver_due()  # posted, but the caller saw a timeout
    [dm] = [r for r in await rows(db) if r.kind == "welcome"]
    assert (dm.status, dm.attempts) == (outbox.PENDING, 1)
    clock.advance(seconds=10)
    await sender.deliver_due()  # looks before posting again, and finds it
    [dm] = [r for r in await rows(db) if r.kind == "welcome"]
    assert (dm.status, dm.sent_message_id) == (outbox.SENT, "1")
    assert len(messenger.posts) == 1


async def test_a_crash_after_the_post_landed_sends_nothing_twice(db: Database) -> None:
    clock, messenger = SettableClock(), RecordingMessenger()
    await setup_and_join(db, messenger, clock, "alice")
    [dm] = [r for r in await rows(db) if r.kind == "welcome"]
    async with db.transaction() as session:  # the process that crashed: claimed, then posted
        claimed = await claim(session, dm.id, clock, sender="crashed")
    assert claimed is not None and not claimed.retry
    await messenger.post("W1", Target("dm", "alice"), Card.from_json(claimed.card), claimed.tag)

    restarted = OutboxSender(db, {"test": messenger}, clock, lease=60)
    clock.advance(seconds=61)
    assert await restarted.deliver_due() == 1
    [dm] = [r for r in await rows(db) if r.kind == "welcome"]
    assert dm.status == outbox.SENT
    assert len(messenger.posts) == 1


async def test_a_message_queued_again_is_a_new_delivery(db: Database) -> None:
    """Its earlier post must not pass for the new one: each delivery has its own tag."""
    clock, messenger = SettableClock(), RecordingMessenger()
    await setup_and_join(db, messenger, clock, "alice")
    [dm] = [r for r in await rows(db) if r.kind == "welcome"]
    async with db.transaction() as session:
        first = await claim(session, dm.id, clock)
        await outbox.finish(session, dm.id, status=outbox.SENT, in_doubt=False)
        assert await outbox.requeue(session, dm.key, {"text": "again"}, clock.now())
        clock.advance(seconds=1)
        second = await claim(session, dm.id, clock)
    assert first is not None and second is not None
    assert first.tag != second.tag
    assert not second.retry


async def test_a_row_left_sending_before_leases_existed_is_taken_over_after_a_look(
    db: Database,
) -> None:
    clock, messenger = SettableClock(), RecordingMessenger()
    await setup_and_join(db, messenger, clock, "alice")
    async with db.transaction() as session:  # as migration 0007 finds a row a sender left
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.kind == "welcome")
            .values(status=outbox.SENDING, attempts=1, in_doubt=True)
        )
    sender = OutboxSender(db, {"test": messenger}, clock)
    assert await sender.deliver_due() == 1
    [dm] = [r for r in await rows(db) if r.kind == "welcome"]
    assert (dm.status, dm.failures, len(messenger.posts)) == (outbox.SENT, 1, 1)


async def test_a_row_whose_senders_keep_dying_becomes_a_dead_letter(db: Database) -> None:
    """No row stays `sending` for ever, not even one that kills every process that sends it."""
    clock, messenger = SettableClock(), RecordingMessenger()
    await setup_and_join(db, messenger, clock, "alice")
    [dm] = [r for r in await rows(db) if r.kind == "welcome"]
    for process in ("first", "second"):
        async with db.transaction() as session:
            assert await claim(session, dm.id, clock, sender=process) is not None
        clock.advance(seconds=61)  # it died holding the lease
    sender = OutboxSender(db, {"test": messenger}, clock, lease=60, max_attempts=2)
    assert await sender.deliver_due() == 1
    [dm] = [r for r in await rows(db) if r.kind == "welcome"]
    assert (dm.status, dm.failures, messenger.posts) == (outbox.FAILED, 2, [])
    assert sender.counts.dead_lettered == 1


def test_the_lease_is_a_setting() -> None:
    assert Settings.from_env({}).outbox_lease_seconds == 60.0
    assert Settings.from_env({"HEARTH_OUTBOX_LEASE_SECONDS": "2.5"}).outbox_lease_seconds == 2.5
    for wrong in ("0", "soon", "7200"):
        with pytest.raises(SettingsError, match="HEARTH_OUTBOX_LEASE_SECONDS"):
            Settings.from_env({"HEARTH_OUTBOX_LEASE_SECONDS": wrong})
