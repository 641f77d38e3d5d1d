"""Forms on Teams end to end: `@Hearth poll` in a channel opens the form in the member's 1:1
chat; submitting it there posts the poll in the community's channel, once."""

from __future__ import annotations

from pathlib import Path

from hearth.storage.models import Poll
from tests.teams_helpers import TEAM, TENANT, serve_teams
from tests.test_teams_http import (
    FRAN,
    channel_command,
    last_texts,
    personal_message,
    set_up_community,
)
from tests.waiting import eventually


async def test_a_poll_form_opened_in_a_channel_and_submitted_in_the_chat_posts_once(
    tmp_path: Path,
) -> None:
    async with serve_teams(tmp_path) as h:
        fran_chat = await set_up_community(h)
        assert (await h.post(channel_command(h, "poll", id="1400900100902")))[0] == 200
        form_card = h.sent_cards(fran_chat)[-1]
        inputs = [e["id"] for e in form_card["body"] if e["type"].startswith("Input.")]
        assert inputs[:2] == ["question", "options"]
        (submit,) = form_card["actions"]
        posted_before = len(h.sent_cards(TEAM))

        for n, question in enumerate(("Lunch?", "Dinner?")):
            answer = personal_message(
                h,
                "",
                id=f"153186190000{n}",
                conversation={"conversationType": "personal", "id": fran_chat},
                channelData={"tenant": {"id": TENANT}},
                value=submit["data"] | {"question": question, "options": "Pizza\nSalad"},
            )
            answer["from"] = FRAN
            assert (await h.post(answer))[0] == 200
            if n == 0:
                await eventually(
                    lambda: len(h.sent_cards(TEAM)) > posted_before, what="the poll to be posted"
                )

        assert [p.question for p in await h.rows(Poll)] == ["Lunch?"]
        (poll_card,) = h.sent_cards(TEAM)[posted_before:]
        assert poll_card["body"][0]["text"] == "📊 Lunch?"
        assert last_texts(h, fran_chat) == [
            "This form was already used; **@Hearth poll** opens a new one."
        ]
