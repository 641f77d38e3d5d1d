"""forget-me takes away the member's identity (their mentions, their name where Hearth put it,
their platform id) and never another person's words: a member called Will is forgotten and
"Will you come?" stays as it was, in the poll's row, its card, `poll list` and the export, also
after the next vote."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from hearth.bot.outbox_sender import OutboxSender
from hearth.handlers import build_registry
from hearth.handlers.cards import Card, unmarked
from hearth.handlers.context import Defaults
from hearth.handlers.events import (
    ActionClicked,
    CommandInvoked,
    Event,
    FormSubmitted,
    MemberJoined,
    MessagePosted,
)
from hearth.handlers.hub import Hearth
from hearth.handlers.ports import Profile
from hearth.storage import journal
from hearth.storage.db import Database
from hearth.storage.models import (
    Community,
    InboundEvent,
    JournalEntry,
    Message,
    OutboxMessage,
    Poll,
)
from tests.recording import RecordingMessenger, SettableClock
from tests.test_privacy import dump, traces

WILL = "U0WILL42"
NAMES = {"U0FRAN": "Fran", WILL: "Will", "U0ANN": "Ann"}
QUESTION = "Will you come to the Mark II workshop? Ask <@U0WILL42|will>"
ANNS_WORDS = "Will anyone review my RAID log? I will buy coffee. cc <@U0WILL42>"


@dataclass
class NamedMessenger(RecordingMessenger):
    """Members with platform ids (U0…) and display names that are also English words."""

    async def profile(self, workspace: str, user_id: str) -> Profile | None:
        return Profile(user_id, NAMES.get(user_id, user_id), tz="Europe/London")


class World:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.clock = SettableClock()
        self.messenger = NamedMessenger()
        self.hub = Hearth(db, build_registry(), {"test": self.messenger}, self.clock, Defaults())
        self.sender = OutboxSender(db, {"test": self.messenger}, self.clock)
        self.count = 0

    async def send(self, kind: type[Event], user: str, **fields: Any) -> None:
        self.count += 1
        common = {"platform": "test", "workspace": "W1", "channel": "C1"}
        await self.hub.handle(
            kind(**common, at=self.clock.now(), user=user, event_id=f"e{self.count}", **fields)
        )
        self.clock.advance(seconds=2)
        await self.sender.deliver_due()

    async def command(self, user: str, text: str) -> None:
        await self.send(CommandInvoked, user, text=text)

    def button(self, label: str) -> str:
        """The value of the button whose label starts with `label` on the latest private reply."""
        _user, card = self.messenger.private[-1]
        for button in card.buttons():
            if unmarked(button.label).startswith(label):
                return button.value
        raise AssertionError(f"no button {label!r} on the latest private reply")

    async def poll(self) -> Poll:
        async with self.db.transaction() as session:
            poll = await session.scalar(select(Poll))
        assert poll is not None
        return poll

    async def card_of(self, poll: Poll) -> Card:
        """The poll's message as members see it last: its post or its latest update."""
        async with self.db.transaction() as session:
            rows = list(
                await session.scalars(
                    select(OutboxMessage)
                    .where(OutboxMessage.key.like(f"poll%{poll.id}%"))
                    .order_by(OutboxMessage.id)
                )
            )
        assert rows, "the poll has a message"
        return Card.from_json(rows[-1].card)


def shown(card: Card) -> str:
    return unmarked(card.text)


async def test_forgetting_will_removes_his_mentions_and_id_and_leaves_everyones_words(
    db: Database,
) -> None:
    world = World(db)
    await world.command("U0FRAN", "setup")
    await world.send(MemberJoined, WILL)
    await world.send(MemberJoined, "U0ANN")
    await world.command("U0FRAN", f'poll "{QUESTION}" "Yes" "<@U0WILL42> presents" "No"')
    await world.command("U0FRAN", 'segments set "Delivery" "<@U0WILL42> fans"')
    await world.command("U0FRAN", 'interests set "Risk" "Ask <@U0WILL42|will>"')
    await world.command("U0FRAN", "welcome set Hi {name}, ask <@U0WILL42|will> anything")
    await world.command("U0FRAN", "facilitator add <@U0WILL42|will>")
    await world.send(MessagePosted, "U0ANN", message_id="m1", text=ANNS_WORDS)
    await world.send(MessagePosted, WILL, message_id="m2", text="I'm Will, hello")
    poll = await world.poll()
    await world.send(ActionClicked, WILL, action="poll.vote", value=f"{poll.id}|1")
    before = await dump(db)
    assert len(traces(before, WILL)) > 8  # the scan sees him where he is

    await world.command(WILL, "forget-me")
    await world.send(ActionClicked, WILL, action="privacy.forget", value=world.button("Yes"))
    await world.send(ActionClicked, "U0ANN", action="poll.vote", value=f"{poll.id}|0")

    after = await dump(db)
    assert traces(after, WILL) == []  # his platform id: nowhere, in any table or column
    assert traces(after, "@will") == []  # nor his name as a mention
    poll = await world.poll()
    question = "Will you come to the Mark II workshop? Ask a former member"
    assert (poll.question, poll.options) == (question, ["Yes", "a former member presents", "No"])
    async with db.transaction() as session:
        community = await session.scalar(select(Community))
        messages = {m.message_id: m.text for m in await session.scalars(select(Message))}
    assert community is not None
    assert community.welcome_template == "Hi {name}, ask a former member anything"
    assert community.segments == ["Delivery", "a former member fans"]
    assert community.interests == ["Risk", "Ask a former member"]
    assert messages == {
        "m1": "Will anyone review my RAID log? I will buy coffee. cc a former member",
        "m2": None,  # his own words: Hearth's copy is gone, the row stays for the thread
    }

    # every rendering of the poll says the same, after the next vote too
    card = await world.card_of(poll)
    assert shown(card) == f"📊 {question}"
    assert "a former member presents" in unmarked(json.dumps(card.to_json()))
    assert WILL not in card.names
    await world.command("U0FRAN", "poll list")
    listed = world.messenger.private[-1][1]
    assert question in unmarked(json.dumps(listed.to_json(), ensure_ascii=False))
    await world.command("U0FRAN", f"poll export {poll.id}")
    exported = world.messenger.files[-1][2].decode()
    assert exported.splitlines()[1:] == [
        "Yes,1,100,Ann",
        "a former member presents,0,0,",
        "No,0,0,",
    ]


async def test_forget_me_deletes_exactly_the_members_handled_events_tokens_and_journal(
    db: Database,
) -> None:
    """Only what names the member goes: their journal entries (pending and dead letters),
    the handled-event ids keyed by their platform id, their own one-use tokens; another
    member's open form token stays usable although its key contains the forgotten id."""
    world = World(db)
    gone = "create"  # a platform id that is a substring of every `once:poll.create:…` key
    await world.command("U0FRAN", "setup")
    await world.send(MemberJoined, gone)
    await world.send(MemberJoined, "U0ANN")
    await world.command("U0ANN", "poll")  # Ann's form: open, token key `once:poll.create:…`
    ann_form = world.messenger.forms[-1][1]
    await world.command(gone, "poll")  # their own open form: closed by forget-me
    their_form = world.messenger.forms[-1][1]
    async with db.transaction() as session:
        await journal.append(
            session,
            [
                {
                    "key": f"test:{n}",
                    "platform": "test",
                    "kind": "MessagePosted",
                    "event": {"workspace": "W1", "channel": "C1", "user": user, "text": "hi"},
                    "received_at": world.clock.now(),
                    "next_attempt_at": world.clock.now() + timedelta(days=1),
                }
                for n, user in enumerate((gone, gone, "U0ANN"))
            ],
        )
        await session.execute(
            update(JournalEntry).where(JournalEntry.key == "test:1").values(status="dead")
        )
        session.add_all(
            InboundEvent(platform="test", event_id=e, received_at=world.clock.now())
            for e in (
                f"19:chan:conversationUpdate:a1:MemberJoined:{gone}:C1",
                "19:chan:conversationUpdate:a1:MemberJoined:U0ANN:C1",
                "19:chan:conversationUpdate:a2:MemberJoined:U0ANNcreate:C1",
            )
        )
    assert len(traces(await dump(db), gone)) > 5

    await world.command(gone, "forget-me")
    await world.send(ActionClicked, gone, action="privacy.forget", value=world.button("Yes"))

    async with db.transaction() as session:
        entries = [(e.key, e.event["user"]) for e in await session.scalars(select(JournalEntry))]
        handled = set(await session.scalars(select(InboundEvent.event_id)))
    assert entries == [("test:2", "U0ANN")]
    assert "19:chan:conversationUpdate:a1:MemberJoined:U0ANN:C1" in handled
    assert "19:chan:conversationUpdate:a2:MemberJoined:U0ANNcreate:C1" in handled
    assert not [e for e in handled if f":{gone}:" in e]
    assert len([e for e in handled if e.startswith("once:poll.create:")]) == 1  # Ann's only

    values = {"question": "Lunch?", "options": "Pizza | Salad"}
    await world.send(
        FormSubmitted, "U0ANN", form="poll.create", values=values, context=ann_form.context
    )
    assert [p.question for p in [await world.poll()]] == ["Lunch?"]  # her form still works
    await world.send(
        FormSubmitted, gone, form="poll.create", values=values, context=their_form.context
    )
    async with db.transaction() as session:
        assert len(list(await session.scalars(select(Poll)))) == 1  # theirs was closed
