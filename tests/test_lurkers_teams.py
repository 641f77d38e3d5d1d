"""Lurkers on Teams, through the real app and the spec-checking fake Connector: the nudge card in
working hours (UTC, Tokyo), Stop for good, asking anonymously and "Introduce myself" as form
cards, the first-post celebration, an interrupted sweep run again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("botbuilder.integration.aiohttp", reason="botbuilder is not installed")

from tests.fakes.teams_connector import require_teams_specs

require_teams_specs()

from hearth.bot.app import HUB  # noqa: E402
from hearth.scheduler.scheduler import Scheduler  # noqa: E402
from hearth.storage.models import (  # noqa: E402
    Member,
    MemberSettings,
    Nudge,
    Participation,
    Question,
)
from tests.lurker_helpers import nudge_rows, sweep  # noqa: E402
from tests.slack_helpers import eventually  # noqa: E402
from tests.teams_helpers import (  # noqa: E402
    ALICE,
    FRAN,
    TEAM,
    TeamsHarness,
    actions,
    card,
    serve_teams,
    texts,
)
from tests.test_members_teams import alice_in, in_channel  # noqa: E402
from tests.test_teams_http import member_added, set_up_community, welcome_delivered  # noqa: E402


async def at(h: TeamsHarness, **delta: float) -> None:
    """Move the clock on, run the jobs due, deliver what is due."""
    h.clock.advance(**delta)
    await Scheduler(h.app[HUB]).run_due()
    await h.flush()


async def nudged(h: TeamsHarness) -> tuple[str, dict[str, Any]]:
    """Alice joins; the sweep on day 15 at 07:00 UTC; her nudge at 09:00 (UTC: the community's
    zone, as Teams tells Hearth none)."""
    await set_up_community(h)
    assert (await h.post(member_added(h)))[0] == 200
    chat, _ = await welcome_delivered(h)
    await at(h, days=14, hours=22)
    assert len(h.connector.activities(chat)) == 1
    await at(h, hours=2)
    await eventually(lambda: len(h.connector.activities(chat)) == 2, what="the nudge")
    return chat, h.connector.activities(chat)[1]


def sent_with(h: TeamsHarness, needle: str) -> list[tuple[str, list[str]]]:
    """(conversation, texts) of every card the bot sent that contains `needle`."""
    return [
        (conversation, texts(card(a)))
        for conversation, sent_there in h.connector.sent.items()
        for a in sent_there
        if a.get("attachments") and needle in " ".join(texts(card(a)))
    ]


def click(h: TeamsHarness, chat: str, sent: dict[str, Any], title: str, n: int) -> dict:
    button = next(a for a in actions(card(sent)) if a["title"] == title)
    return alice_in(h, chat, f"15318619{n:05d}", "", replyToId=sent["id"], value=button["data"])


async def test_the_nudge_card_and_stop_these_messages(database_url: str, tmp_path: Path) -> None:
    async with serve_teams(tmp_path, database_url=database_url) as h:
        chat, sent = await nudged(h)
        nudge = card(sent)
        assert "No question is too small" in " ".join(texts(nudge))
        assert [a["title"] for a in actions(nudge)] == [
            "Ask a question",
            "Introduce myself",
            "Not now",
            "Stop these messages",
        ]
        assert (await h.post(click(h, chat, sent, "Stop these messages", 1)))[0] == 200
        done = card(h.connector.activity(chat, sent["id"]))
        assert texts(done)[0] == "Done: Hearth won't send you these messages again."
        (stored,) = await h.rows(MemberSettings)
        assert stored.dms == {"nudges": False}
        for _ in range(3):
            await at(h, days=20)
        assert len(h.connector.activities(chat)) == 2


async def test_introduce_myself_and_the_first_post(database_url: str, tmp_path: Path) -> None:
    async with serve_teams(tmp_path, database_url=database_url) as h:
        chat, sent = await nudged(h)
        assert (await h.post(click(h, chat, sent, "Introduce myself", 2)))[0] == 200
        form = h.sent_cards(chat)[-1]
        inputs = [e["id"] for e in form["body"] if e["type"].startswith("Input.")]
        assert inputs == ["intro"]
        (submit,) = form["actions"]
        values = submit["data"] | {"intro": "I'm Alice; I run retros in Oxford."}
        assert (await h.post(alice_in(h, chat, "1531861890300", "", value=values)))[0] == 200
        await h.flush()
        await eventually(lambda: sent_with(h, "introduce themselves"), what="the intro")
        posted = sent_with(h, "introduce themselves")
        assert len(posted) == 1, posted
        assert "I'm Alice; I run retros in Oxford." in posted[0][1]
        assert "Posted by Hearth on behalf of Alice Liddell, at their request." in posted[0][1]

        # a first post in the channel after the intro is not celebrated again
        message = in_channel(h, "1400900100900", ALICE, "Thanks all!", entities=[])
        assert (await h.post(message))[0] == 200
        await at(h, days=40)
        assert sent_with(h, "Welcome to the conversation") == []
        assert len(h.connector.activities(chat)) == 4  # welcome, nudge, form, thanks: no more


async def test_a_first_post_is_celebrated_in_its_thread(database_url: str, tmp_path: Path) -> None:
    async with serve_teams(tmp_path, database_url=database_url) as h:
        fran_chat = await set_up_community(h)
        assert (await h.post(member_added(h)))[0] == 200
        await welcome_delivered(h)
        before = len(h.connector.activities(fran_chat))
        message = in_channel(h, "1400900100901", ALICE, "Hello all, a first question", entities=[])
        assert (await h.post(message))[0] == 200
        await h.flush()

        def replies() -> list[tuple[str, dict[str, Any]]]:
            return [
                (conversation, a)
                for conversation, sent_there in h.connector.sent.items()
                for a in sent_there
                if a.get("attachments")
                and "Welcome to the conversation" in " ".join(texts(card(a)))
            ]

        # the app's own sender may hold the reply when the test's flush looks
        await eventually(lambda: len(replies()) >= 1, what="the celebration")
        assert len(replies()) == 1
        conversation, _ = replies()[0]
        assert conversation.endswith("messageid=1400900100901")  # in the post's thread
        await eventually(
            lambda: len(h.connector.activities(fran_chat)) > before, what="the heads-up"
        )
        heads_up = h.connector.activities(fran_chat)[before:]
        assert len(heads_up) == 1
        assert "just posted for the first time" in " ".join(texts(card(heads_up[0])))


async def test_not_now_then_the_second_nudge(database_url: str, tmp_path: Path) -> None:
    async with serve_teams(tmp_path, database_url=database_url) as h:
        chat, sent = await nudged(h)  # Wednesday 16 December, 09:00 UTC
        assert (await h.post(click(h, chat, sent, "Not now", 3)))[0] == 200
        assert texts(card(h.connector.activity(chat, sent["id"])))[0].startswith("No problem.")
        await at(h, days=32, hours=22)  # Monday 18 January, 07:00 UTC: the sweep
        await at(h, hours=2)
        await eventually(lambda: len(h.connector.activities(chat)) == 3, what="the second nudge")
        assert "This is the last one." in " ".join(texts(card(h.connector.activities(chat)[2])))


def mentions_alice(activity: dict[str, Any]) -> bool:
    dumped = json.dumps(activity)
    return any(needle in dumped for needle in (ALICE["id"], ALICE["aadObjectId"], "Alice"))


async def test_asking_anonymously_from_the_nudge(database_url: str, tmp_path: Path) -> None:
    async with serve_teams(tmp_path, database_url=database_url) as h:
        chat, sent = await nudged(h)
        before = {c: len(a) for c, a in h.connector.sent.items()}
        assert (await h.post(click(h, chat, sent, "Ask a question", 4)))[0] == 200
        form = h.sent_cards(chat)[-1]
        inputs = [e["id"] for e in form["body"] if e["type"].startswith("Input.")]
        assert inputs == ["question", "anonymous"]
        question = "Is it silly to ask how a RAID log differs from a risk register?"
        (submit,) = form["actions"]
        values = submit["data"] | {"question": question, "anonymous": "yes"}
        assert (await h.post(alice_in(h, chat, "1531861890400", "", value=values)))[0] == 200
        await h.flush()
        await eventually(lambda: sent_with(h, "A member asks, anonymously"), what="the question")
        [(where, shown)] = sent_with(h, "A member asks, anonymously")
        assert where != chat and question in " ".join(shown)
        assert "Your question is posted anonymously" in " ".join(texts(h.sent_cards(chat)[-1]))
        (stored,) = await h.rows(Question)
        assert (stored.anonymous, stored.asker_id, stored.via) == (True, None, "form")

        # routed like any question: an answer in its thread reaches her, privately
        root = h.connector.sent[where][-1]["id"]
        reply = in_channel(h, "1400900101000", FRAN, "Not silly: a RAID log is wider.", entities=[])
        reply["conversation"]["id"] = f"{TEAM};messageid={root}"
        assert (await h.post(reply))[0] == 200
        await at(h, minutes=1)
        await eventually(
            lambda: "anonymous question" in " ".join(texts(h.sent_cards(chat)[-1])),
            what="the answer to reach her",
        )
        elsewhere = [
            a
            for conversation, sent_there in h.connector.sent.items()
            if conversation != chat
            for a in sent_there[before.get(conversation, 0) :]
        ]
        assert elsewhere, "nothing was posted"
        assert not [a for a in elsewhere if mentions_alice(a)]
        (alice,) = await h.rows(Member, Member.name == ALICE["name"])
        assert await h.rows(Participation, Participation.member_id == alice.id) == []


async def test_a_member_in_tokyo_is_nudged_in_tokyo_working_hours(
    database_url: str, tmp_path: Path
) -> None:
    async with serve_teams(tmp_path, database_url=database_url) as h:
        await set_up_community(h)
        assert (await h.post(member_added(h)))[0] == 200
        chat, _ = await welcome_delivered(h)
        assert (await h.post(alice_in(h, chat, "1531861890500", "settings")))[0] == 200
        (submit,) = h.sent_cards(chat)[-1]["actions"]
        values = submit["data"] | {"timezone": "Asia/Tokyo"}
        assert (await h.post(alice_in(h, chat, "1531861890501", "", value=values)))[0] == 200
        assert texts(h.sent_cards(chat)[-1])[0] == "Saved. Your settings now:"
        (stored,) = await h.rows(MemberSettings)
        assert stored.tz == "Asia/Tokyo"
        before = len(h.connector.activities(chat))
        await at(h, days=14, hours=22)  # Wednesday 07:00 UTC: 16:00 in Tokyo; UTC is not at work
        await eventually(lambda: len(h.connector.activities(chat)) == before + 1, what="nudge")
        nudge = card(h.connector.activities(chat)[-1])
        assert "No question is too small" in " ".join(texts(nudge))
        (row,) = await h.rows(Nudge)
        assert row.due_at == h.clock.now()  # delivered then: the clock has not moved
        await at(h, days=3)
        assert len(h.connector.activities(chat)) == before + 1


async def test_an_interrupted_then_rerun_sweep_sends_one_nudge(
    database_url: str, tmp_path: Path
) -> None:
    async with serve_teams(tmp_path, database_url=database_url) as h:
        await set_up_community(h)
        assert (await h.post(member_added(h)))[0] == 200
        chat, _ = await welcome_delivered(h)
        await at(h, days=14, hours=21)  # Wednesday 06:00 UTC, before the scheduled sweep
        hub = h.app[HUB]
        assert await sweep(hub, interrupt=True) == 0
        assert await nudge_rows(hub) == (0, 0)  # rolled back whole
        assert await sweep(hub) == 1
        assert await sweep(hub) == 0
        await at(h, hours=1)  # the scheduled sweep runs too: nothing new
        await at(h, hours=2)  # 09:00 UTC
        await eventually(lambda: len(h.connector.activities(chat)) == 2, what="the nudge")
        await at(h, days=3)
        assert len(h.connector.activities(chat)) == 2
        assert await nudge_rows(hub) == (1, 1)
