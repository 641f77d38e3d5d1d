"""Members in control on Teams, end to end: the settings card in the 1:1 chat, and forget-me
erasing everything Teams-shaped too (conversation references, handled-activity ids)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("botbuilder.integration.aiohttp", reason="botbuilder is not installed")

from tests.fakes.teams_connector import require_teams_specs

require_teams_specs()

from hearth.storage.models import Member, MemberSettings  # noqa: E402
from tests.teams_helpers import (  # noqa: E402
    ALICE,
    FRAN,
    TEAM,
    TENANT,
    TeamsHarness,
    actions,
    activity,
    card,
    serve_teams,
    texts,
)
from tests.test_privacy import dump, traces  # noqa: E402
from tests.test_teams_http import (  # noqa: E402
    member_added,
    personal_message,
    set_up_community,
    welcome_delivered,
)


def alice_in(h: TeamsHarness, chat: str, activity_id: str, text: str, **more: Any) -> dict:
    """Alice writes (or clicks, or submits) in her 1:1 chat with Hearth."""
    message = personal_message(
        h,
        text,
        id=activity_id,
        conversation={"conversationType": "personal", "id": chat},
        channelData={"tenant": {"id": TENANT}},
        **more,
    )
    message["from"] = ALICE
    if not text:
        message.pop("text")
    return message


def in_channel(h: TeamsHarness, activity_id: str, sender: dict, text: str, **more: Any) -> dict:
    """A plain message in the team's General channel (not addressed to Hearth)."""
    return activity(
        "message_mention__channel_v3",
        h.connector,
        id=activity_id,
        text=text,
        from_=sender,
        conversation={"isGroup": True, "id": f"{TEAM};messageid={activity_id}"},
        **more,
    )


async def test_settings_card_then_forget_me_leaves_no_teams_trace(tmp_path: Path) -> None:
    async with serve_teams(tmp_path) as h:
        await set_up_community(h)
        assert (await h.post(member_added(h)))[0] == 200
        chat, _ = await welcome_delivered(h)
        mention = {"type": "mention", "text": "<at>Alice Liddell</at>", "mentioned": ALICE}
        for message in (
            in_channel(h, "1400900100710", ALICE, "Hello all, glad to be here", entities=[]),
            in_channel(
                h, "1400900100711", FRAN, "Welcome <at>Alice Liddell</at>!", entities=[mention]
            ),
        ):
            assert (await h.post(message))[0] == 200

        # settings: a card in her 1:1 chat, submitted like any Teams form
        assert (await h.post(alice_in(h, chat, "1531861890100", "settings")))[0] == 200
        form = h.sent_cards(chat)[-1]
        inputs = {e["id"]: e for e in form["body"] if e["type"].startswith("Input.")}
        assert inputs["quiet_hours"]["value"] == "21:00-08:00"
        assert inputs["nudges"]["value"] == "yes"
        (submit,) = form["actions"]
        values = submit["data"] | {"quiet_hours": "22:00-07:00", "expert_requests": "no"}
        assert (await h.post(alice_in(h, chat, "1531861890101", "", value=values)))[0] == 200
        (stored,) = await h.rows(MemberSettings)
        assert (stored.quiet_hours, stored.dms) == ("22:00-07:00", {"expert_requests": False})
        assert texts(h.sent_cards(chat)[-1])[0] == "Saved. Your settings now:"

        needles = (ALICE["aadObjectId"], ALICE["id"], "Alice Liddell", "Liddell", chat)
        seen = {t.split(".")[0] for t in traces(await dump(h.db), *needles)}
        assert seen >= {"members", "messages", "outbox", "conversation_refs", "inbound_events"}

        # forget-me: asked, confirmed with a click on the card, which then says it is done
        assert (await h.post(alice_in(h, chat, "1531861890102", "forget-me")))[0] == 200
        confirm = h.connector.activities(chat)[-1]
        yes = next(a for a in actions(card(confirm)) if a["title"] == "Yes, forget me")
        click = alice_in(h, chat, "1531861890103", "", replyToId=confirm["id"], value=yes["data"])
        assert (await h.post(click))[0] == 200
        done = card(h.connector.activity(chat, confirm["id"]))
        assert texts(done)[0] == "Done: Hearth has forgotten you."

        tables = await dump(h.db)
        assert traces(tables, *needles) == []
        assert [m["text"] for m in sorted(tables["messages"], key=lambda m: m["id"])] == [
            None,  # hers: Hearth's copy keeps no text
            "Welcome a former member!",  # Fran's words, her mention gone
        ]
        assert await h.rows(Member, Member.user_id == ALICE["aadObjectId"]) == []
        assert len(tables["forgotten_members"]) == 1
