"""The library, the jobs board and a hot seat on Teams, end to end: @mention commands in the
channel, the expert's card in a 1:1 chat, the early-question form, a thread reply, scheduled
steps and the summary, every Connector call checked against the swagger; on both backends."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("botbuilder.integration.aiohttp", reason="botbuilder is not installed")

from tests.fakes.teams_connector import require_teams_specs

require_teams_specs()

from hearth.bot.app import HUB  # noqa: E402
from hearth.scheduler.scheduler import Scheduler  # noqa: E402
from hearth.storage.models import (  # noqa: E402
    DueJob,
    HotSeat,
    HotSeatQuestion,
    JobPosting,
    OutboxMessage,
    Resource,
)
from tests.teams_helpers import (  # noqa: E402
    ALICE,
    BOB,
    TEAM,
    TENANT,
    TeamsHarness,
    actions,
    activity,
    card,
    eventually,
    serve_teams,
    texts,
)
from tests.test_teams_http import (  # noqa: E402
    channel_command,
    last_texts,
    personal_message,
    set_up_community,
)

MENTION_BOB = {"type": "mention", "text": "<at>Bob</at>", "mentioned": {"id": BOB["id"]}}


class Ids:
    """Fresh activity ids (Hearth drops a delivery it has seen)."""

    def __init__(self) -> None:
        self.n = 1400900200000

    def __call__(self) -> str:
        self.n += 1
        return str(self.n)


async def command(h: TeamsHarness, ids: Ids, text: str, **more: Any) -> None:
    assert (await h.post(channel_command(h, text, id=ids(), **more)))[0] == 200


def chat_of(h: TeamsHarness, who: dict[str, Any]) -> str | None:
    for chat, params in h.personal_chats().items():
        if params["members"][0]["id"] == who["id"] and h.connector.activities(chat):
            return chat
    return None


def all_texts(h: TeamsHarness, conversation: str) -> str:
    return "\n".join(t for c in h.sent_cards(conversation) for t in texts(c))


async def run_due(h: TeamsHarness, at: datetime) -> None:
    h.clock.set(at)
    await Scheduler(h.app[HUB]).run_due()
    for _ in range(10):  # posts into one conversation are paced on the app's clock
        await h.flush()
        h.clock.advance(seconds=1)


def in_chat(h: TeamsHarness, ids: Ids, who: dict[str, Any], chat: str, **more: Any) -> dict:
    message = personal_message(
        h,
        "",
        id=ids(),
        conversation={"conversationType": "personal", "id": chat},
        channelData={"tenant": {"id": TENANT}},
        **more,
    )
    message["from"] = who
    if "value" in more:
        message.pop("text")
    return message


@pytest.fixture
def db_url(database_url: str) -> str:
    return database_url


async def test_the_library_and_the_jobs_board_on_teams(tmp_path: Path, db_url: str) -> None:
    ids = Ids()
    async with serve_teams(tmp_path, database_url=db_url) as h:
        fran_chat = await set_up_community(h)
        await command(h, ids, 'resource add https://example.org/raid "RAID *log*" --tags risk')
        assert "Added to the library" in last_texts(h, fran_chat)[0]
        assert r"RAID \*log\*" in last_texts(h, fran_chat)[0]
        await command(h, ids, "resources raid")
        assert any("example.org/raid" in t for t in last_texts(h, fran_chat))
        await command(h, ids, 'job post https://example.org/jobs/1 "Delivery lead" --closes 1d')
        await command(h, ids, "jobs")
        assert any("Delivery lead" in t for t in last_texts(h, fran_chat))
        await run_due(h, datetime(2026, 12, 2, 9, 0, 1, tzinfo=UTC))
        await command(h, ids, "jobs")
        assert last_texts(h, fran_chat)[0] == "No open jobs on the board."
        assert await h.rows(JobPosting) == []
        assert [r.url for r in await h.rows(Resource)] == ["https://example.org/raid"]


async def accepted_and_announced(h: TeamsHarness, ids: Ids) -> tuple[str, str]:
    """Bob and Alice join; a hot seat on Tue 8 Dec is proposed in the channel, accepted in
    Bob's chat and announced (a week ahead is now): Fran's and Bob's chats."""
    fran_chat = await set_up_community(h)
    bob_joins = activity(  # Hearth reaches members it has seen in the team
        "conversationUpdate_membersAdded__team_member_added_v3",
        h.connector,
        id=ids(),
        membersAdded=[{"id": BOB["id"], "aadObjectId": BOB["aadObjectId"]}],
    )
    assert (await h.post(bob_joins))[0] == 200
    alice_joins = activity(
        "conversationUpdate_membersAdded__team_member_added_v3",
        h.connector,
        id=ids(),
        membersAdded=[{"id": ALICE["id"], "aadObjectId": ALICE["aadObjectId"]}],
    )
    assert (await h.post(alice_joins))[0] == 200
    await command(
        h,
        ids,
        'hotseat <at>Bob</at> "Assurance" --starts 2026-12-08 --days 1',
        entities=[MENTION_BOB],
    )
    assert "I've asked" in last_texts(h, fran_chat)[0]
    await eventually(lambda: chat_of(h, BOB) is not None, what="bob's chat")
    bob_chat = chat_of(h, BOB)
    assert bob_chat is not None
    await run_due(h, h.clock.now())  # the welcome went first: the invitation is paced
    assert "invites you" in all_texts(h, bob_chat)
    (invite,) = [a for a in h.connector.activities(bob_chat) if "invites you" in texts(card(a))[0]]
    by_title = {a["title"]: a for a in actions(card(invite))}
    accept = in_chat(
        h, ids, BOB, bob_chat, replyToId=invite["id"], value=by_title["Accept"]["data"]
    )
    assert (await h.post(accept))[0] == 200
    assert [s.status for s in await h.rows(HotSeat)] == ["accepted"]

    await run_due(h, datetime(2026, 12, 1, 9, 0, 1, tzinfo=UTC))  # a week ahead: now
    assert "Coming up" in all_texts(h, TEAM)
    return fran_chat, bob_chat


async def test_a_hot_seat_on_teams(tmp_path: Path, db_url: str) -> None:
    ids = Ids()
    async with serve_teams(tmp_path, database_url=db_url) as h:
        _, bob_chat = await accepted_and_announced(h, ids)
        announcement = [
            a for a in h.connector.activities(TEAM) if "Coming up" in texts(card(a))[0]
        ][-1]
        (ask,) = [a for a in actions(card(announcement)) if a["title"] == "Ask a question early"]
        click = channel_command(h, "", sender=ALICE, id=ids(), replyToId=announcement["id"])
        click["value"] = ask["data"]
        click.pop("text")
        click["entities"] = []
        assert (await h.post(click))[0] == 200
        await eventually(lambda: chat_of(h, ALICE) is not None, what="Alice's chat")
        alice_chat = chat_of(h, ALICE)
        assert alice_chat is not None
        await eventually(
            lambda: "Ask the hot seat" in all_texts(h, alice_chat), what="the form in her chat"
        )
        (form,) = [
            card(a)
            for a in h.connector.activities(alice_chat)
            if texts(card(a))[0] == "Ask the hot seat"
        ]
        (submit,) = form["actions"]
        answer = in_chat(
            h,
            ids,
            ALICE,
            alice_chat,
            value=submit["data"] | {"question": "Where do I start?", "anonymous": "yes"},
        )
        assert (await h.post(answer))[0] == 200
        assert [(q.asker_id, q.text) for q in await h.rows(HotSeatQuestion)] == [
            (None, "Where do I start?")
        ]

        await run_due(h, datetime(2026, 12, 8, 9, 0, 1, tzinfo=UTC))
        assert "The hot seat is open" in all_texts(h, TEAM)
        (question,) = [a for a in h.connector.activities(TEAM) if "Q1 for" in texts(card(a))[0]]
        assert "asked anonymously" in texts(card(question))[0]
        thread = f"{TEAM};messageid={question['id']}"
        reply = activity(
            "message_mention__channel_v3",
            h.connector,
            id=ids(),
            text="Start with the risks that scare you",
            from_=BOB,
            entities=[],
            conversation={"isGroup": True, "conversationType": "channel", "id": thread},
        )
        assert (await h.post(reply))[0] == 200

        await run_due(h, datetime(2026, 12, 8, 17, 0, 1, tzinfo=UTC))
        summary = [a for a in h.connector.activities(TEAM) if "has closed" in texts(card(a))[0]]
        assert len(summary) == 1
        shown = "\n".join(texts(card(summary[0])))
        assert "Start with the risks that scare you" in shown
        hot_seat_posts = [
            t for a in h.connector.activities(TEAM) for t in texts(card(a)) if "welcome" not in t
        ]
        assert not any("Alice" in t for t in hot_seat_posts)
        assert "Thank you for the hot seat" in all_texts(h, bob_chat)


async def test_a_hot_seat_moved_on_teams(tmp_path: Path, db_url: str) -> None:
    """Moved a week on after its announcement: a note in the channel and a message to the
    expert; nothing is written at the old times, it opens and closes once at the new ones."""
    ids = Ids()
    async with serve_teams(tmp_path, database_url=db_url) as h:
        fran_chat, bob_chat = await accepted_and_announced(h, ids)
        await command(h, ids, "hotseat move H1 --starts 2026-12-15")
        assert "moves to Tue 15 Dec (it was to run Tue 8 Dec)" in last_texts(h, fran_chat)[0]
        await run_due(h, h.clock.now())
        assert "New dates" in all_texts(h, TEAM)
        assert "moves to Tue 15 Dec" in all_texts(h, bob_chat)
        await command(h, ids, "hotseat move H1 --starts 2028-01-04")
        assert "more than a year away" in last_texts(h, fran_chat)[0]

        await run_due(h, datetime(2026, 12, 8, 9, 0, 1, tzinfo=UTC))
        await run_due(h, datetime(2026, 12, 8, 17, 0, 1, tzinfo=UTC))
        written = [m.key for m in await h.rows(OutboxMessage)]
        assert not any(k.endswith((":open", ":summary", ":remind:1")) for k in written)

        await run_due(h, datetime(2026, 12, 15, 9, 0, 1, tzinfo=UTC))
        await run_due(h, datetime(2026, 12, 15, 17, 0, 1, tzinfo=UTC))
        shown = [t for c in h.sent_cards(TEAM) for t in texts(c)]
        counts = [sum(w in t for t in shown) for w in ("Coming up", "is open", "has closed")]
        assert counts == [1, 1, 1]
        assert "Tue 15 Dec" in next(t for t in shown if "is open" in t)
        assert await h.rows(DueJob) == []
