"""Questions on Teams, through the real app, Bot Framework activities and the spec-checked
Connector fake: a channel question answered in its thread and marked answered from the
follow-up card; the next asker routed to the one who answered, who takes it (I'll answer)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("botbuilder.integration.aiohttp", reason="botbuilder is not installed")

from tests.fakes.teams_connector import require_teams_specs

require_teams_specs()

from hearth.bot.app import SCHEDULER  # noqa: E402
from hearth.storage.models import KnowledgeEntry, Question  # noqa: E402
from tests.teams_helpers import (  # noqa: E402
    ALICE,
    BOB,
    FRAN,
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
from tests.test_teams_http import personal_message, set_up_community  # noqa: E402


def in_channel(
    h: TeamsHarness, activity_id: str, sender: dict, text: str, thread: str | None = None
) -> dict:
    """A plain message in the General channel (or a reply in the thread of `thread`)."""
    root = thread or activity_id
    return activity(
        "message_mention__channel_v3",
        h.connector,
        id=activity_id,
        text=text,
        from_=sender,
        entities=[],
        conversation={"isGroup": True, "id": f"{TEAM};messageid={root}"},
    )


def chat_of(h: TeamsHarness, who: dict) -> str | None:
    for chat, params in h.personal_chats().items():
        if params["members"][0]["id"] == who["id"] and h.connector.activities(chat):
            return chat
    return None


def click(h: TeamsHarness, who: dict, chat: str, sent: dict, title: str, activity_id: str) -> dict:
    """`who` clicks the button `title` on the card `sent` in their 1:1 chat."""
    button = next(a for a in actions(card(sent)) if a["title"] == title)
    message = personal_message(
        h,
        "",
        id=activity_id,
        conversation={"conversationType": "personal", "id": chat},
        channelData={"tenant": {"id": TENANT}},
        replyToId=sent["id"],
        value=button["data"],
    )
    message["from"] = who
    message.pop("text")
    return message


def all_text(sent: dict[str, Any]) -> str:
    return "\n".join(texts(card(sent)))


async def test_a_question_on_teams_from_notice_to_knowledge(
    tmp_path: Path, database_url: str
) -> None:
    async with serve_teams(tmp_path, database_url=database_url) as h:
        await set_up_community(h)
        question = "Has anyone used a RAID log on a small project?"
        assert (await h.post(in_channel(h, "1400900100901", ALICE, question)))[0] == 200
        reply = in_channel(
            h, "1400900100902", BOB, "Yes, keep it to one page.", thread="1400900100901"
        )
        assert (await h.post(reply))[0] == 200
        (asked,) = await h.rows(Question)
        assert asked.message_id == "1400900100901" and asked.first_reply_at is not None

        # four hours later Alice is asked, once, in her 1:1 chat; she marks it answered
        h.clock.advance(hours=4, minutes=1)
        h.app[SCHEDULER].wake()
        h.sender.wake()
        await eventually(lambda: chat_of(h, ALICE) is not None, what="Alice's follow-up")
        alice_chat = chat_of(h, ALICE)
        assert alice_chat is not None
        (followup,) = h.connector.activities(alice_chat)
        assert "Did you get the answer" in all_text(followup)
        marked = click(h, ALICE, alice_chat, followup, "Mark as answered", "1531861890201")
        assert (await h.post(marked))[0] == 200
        await eventually(lambda: chat_of(h, BOB) is not None, what="Bob's thanks")
        bob_chat = chat_of(h, BOB)
        assert bob_chat is not None
        assert "Your answer to" in all_text(h.connector.activities(bob_chat)[0])
        (kept,) = await h.rows(KnowledgeEntry)
        assert kept.body == "Yes, keep it to one page."
        assert "teams.microsoft.com/l/message/" in kept.link

        # Fran asks much the same: a link to the answer in her thread; Bob is asked and takes it
        again = "How do I start a RAID log for a small project?"
        h.clock.advance(minutes=1)
        assert (await h.post(in_channel(h, "1400900100903", FRAN, again)))[0] == 200
        thread = f"{TEAM};messageid=1400900100903"
        await eventually(
            lambda: any("This may help" in all_text(a) for a in h.connector.activities(thread)),
            what="the similar-question link",
        )
        await eventually(lambda: len(h.connector.activities(bob_chat)) == 2, what="Bob's request")
        request = h.connector.activities(bob_chat)[1]
        assert "could you help?" in all_text(request)
        assert [a["title"] for a in actions(card(request))][:2] == ["I'll answer", "Not me"]
        taking = click(h, BOB, bob_chat, request, "I'll answer", "1531861890202")
        assert (await h.post(taking))[0] == 200
        await eventually(
            lambda: "You're answering" in all_text(h.connector.activity(bob_chat, request["id"])),
            what="Bob's request to say he is answering",
        )
        assert h.clock.now() - asked.asked_at < timedelta(
            hours=5
        )  # Hearth's time, not the sample's
