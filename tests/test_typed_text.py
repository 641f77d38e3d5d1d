"""What members and facilitators type is shown as typed and never does more than text: no
broadcast, user-group or Teams mention, no markup; mentions Hearth resolved still work."""

from __future__ import annotations

import html
import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block

from hearth.bot.console.render import render
from hearth.bot.slack import render as slack
from hearth.bot.teams import render as teams
from hearth.handlers.cards import Card, ContextLine, Section, spans, typed, unmarked
from tests.slack_helpers import CHANNEL, HearthHarness, eventually
from tests.teams_helpers import TEAM, serve_teams
from tests.test_slack_http import hearth, set_up_community  # noqa: F401 (a fixture)
from tests.test_teams_http import FRAN, channel_command
from tests.test_teams_http import set_up_community as set_up_teams

BROADCASTS = "<!channel> <!here> <!everyone> <!subteam^S0DEVS|@devs> <#C999|secret> <http://x|y>"
TEAMS_ESCAPE = re.compile(r"\\(.)")
MARKS = ("\ue000", "\ue001")
LIVE = re.compile(r"<[!#]|<http")
"""Slack reads `<!…>` (broadcasts, user groups), `<#…>` and `<http…>` as live entities."""


def live_entities(mrkdwn: str) -> list[str]:
    return LIVE.findall(mrkdwn)


def slack_texts(card_: Card) -> list[str]:
    """Every mrkdwn text Slack would read: the blocks and the notification text."""
    out = [slack.fallback_text(card_)]
    for block in slack.blocks(card_):
        Block.parse(block).validate_json()
        if block["type"] == "section":
            out += [block["text"]["text"], *(f["text"] for f in block.get("fields", []))]
        elif block["type"] == "context":
            out += [e["text"] for e in block["elements"]]
    return out


# ------------------------------------------------------------------ the renderers


def test_slack_escapes_typed_text_and_keeps_resolved_mentions() -> None:
    question = typed(f"{BROADCASTS} & <@U0ANN|ann> <@nobody> A &amp; B")
    card_ = Card(
        f"📊 {question}",
        (Section(f"*1. {question}*", (question,)), ContextLine(f"by <@U0FRAN> {question}")),
        names={"U0FRAN": "Fran"},
    )
    for text in slack_texts(card_):
        assert live_entities(text) == [], text
    (headline, *_) = slack.blocks(card_)
    assert headline["text"]["text"] == (
        "📊 &lt;!channel&gt; &lt;!here&gt; &lt;!everyone&gt; &lt;!subteam^S0DEVS|@devs&gt; "
        "&lt;#C999|secret&gt; &lt;http://x|y&gt; &amp; <@U0ANN> &lt;@nobody&gt; A &amp; B"
    )  # Slack's own `&amp;` (it escapes what people type) is not escaped twice
    assert "by <@U0FRAN> " in slack_texts(card_)[-1]  # Hearth's mention still notifies


def test_hearths_own_markup_never_broadcasts_on_slack() -> None:
    """Text a handler forgot to mark as typed still cannot reach the whole channel."""
    card_ = Card(f"Poll “{BROADCASTS}” is closed.")
    assert [t for t in slack_texts(card_) if "<!" in t] == []


def test_teams_escapes_markdown_and_at_tags_in_typed_text() -> None:
    name = "Fran Facilitator"
    question = typed(f"<at>{name}</at> **lunch** _now_ [click](http://x) 1. `code`")
    card_ = Card(f"📊 {question}", (ContextLine("Poll #1 by <@aad-fran>"),), {"aad-fran": name})
    adaptive = teams.adaptive_card(card_)
    headline = adaptive["body"][0]["text"]
    assert headline == (
        r"📊 \<at\>Fran Facilitator\</at\> \*\*lunch\*\* \_now\_ \[click\](http://x) 1. \`code\`"
    )
    assert [e["text"] for e in adaptive["msteams"]["entities"]] == [f"<at>{name}</at>"]
    assert f"<at>{name}</at>" not in headline  # Teams matches entities by this exact text
    assert adaptive["body"][1]["text"] == f"Poll #1 by <at>{name}</at>"
    assert adaptive["fallbackText"] == unmarked(card_.text)  # plain text: shown as typed


def test_a_display_name_cannot_close_the_at_tag() -> None:
    card_ = Card("Hi <@aad-1>", names={"aad-1": "Eve</at><at>Everyone"})
    adaptive = teams.adaptive_card(card_)
    assert adaptive["body"][0]["text"] == "Hi <at>Eve/atatEveryone</at>"
    assert adaptive["msteams"]["entities"][0]["text"] == "<at>Eve/atatEveryone</at>"


@given(st.text(max_size=60).filter(lambda t: "&" not in t and "<@" not in t))
def test_any_typed_text_is_shown_exactly_and_never_live(text: str) -> None:
    shown = unmarked(text)
    card_ = Card("Poll", (Section(typed(text)), ContextLine(f"*{typed(text)}*")))
    section, context = slack_texts(card_)[2:]
    assert live_entities(section) == live_entities(context) == []
    assert html.unescape(section) == (shown or " ")  # exactly what was typed, nothing more
    adaptive = teams.adaptive_card(card_)
    assert "entities" not in adaptive["msteams"]
    lines = [TEAMS_ESCAPE.sub(r"\1", b["text"]) for b in adaptive["body"][1:]]
    expected = [line for line in shown.splitlines() if line.strip()]
    assert lines[: len(expected)] == expected
    assert all(m not in line for line in render(card_) for m in MARKS)
    marked = [chunk for is_typed, chunk in spans(typed(text)) if is_typed]
    assert "".join(marked) == shown.replace("\n", "")


# ------------------------------------------------------------------ through the platforms


async def test_a_poll_typed_with_at_channel_does_not_ping_slack(
    hearth: HearthHarness,  # noqa: F811 (the fixture)
) -> None:
    await set_up_community(hearth)
    question = "<!channel> lunch? <!subteam^S0DEVS|@devs>"
    await hearth.command(f'poll "{question}" "<!here> Pizza" "Salad &amp; soup"')
    await eventually(lambda: hearth.posts_to(CHANNEL), what="the poll to be posted")
    (post,) = hearth.posts_to(CHANNEL)
    mrkdwn = [post["text"]] + [
        text
        for block in post["blocks"]
        for text in [block.get("text", {}).get("text", "")]
        + [e.get("text", "") for e in block.get("elements", []) if block["type"] == "context"]
        if block.get("text", {}).get("type", "mrkdwn") == "mrkdwn"
    ]
    assert [t for t in mrkdwn if "<!" in t] == []  # buttons are plain text: never read
    assert post["text"] == "📊 &lt;!channel&gt; lunch? &lt;!subteam^S0DEVS|@devs&gt;"
    lines = post["blocks"][1]["text"]["text"].splitlines()
    assert lines[0].startswith("&lt;!here&gt; Pizza ") and lines[1].startswith("Salad &amp; soup ")


async def test_a_poll_typed_with_an_at_tag_does_not_mention_on_teams(tmp_path: Path) -> None:
    async with serve_teams(tmp_path) as h:
        await set_up_teams(h)
        typed_tag = "&lt;at&gt;Fran Facilitator&lt;/at&gt;"  # how Teams sends typed `<at>`
        command = f'poll "{typed_tag} **now**?" "[Yes](http://x)" "No"'
        assert (await h.post(channel_command(h, command, id="1400900100901")))[0] == 200
        await eventually(lambda: h.connector.activities(TEAM), what="the poll to be posted")
        (posted,) = h.sent_cards(TEAM)
        question = posted["body"][0]["text"]
        assert question == r"📊 \<at\>Fran Facilitator\</at\> \*\*now\*\*?"
        mentioned = [e["text"] for e in posted["msteams"].get("entities", [])]
        assert mentioned == ["<at>Fran Facilitator</at>"]  # the creator, named by Hearth
        assert all(m not in question for m in mentioned)
        assert r"\[Yes\](http://x) 0 · 0%" in [b.get("text") for b in posted["body"]]
        buttons = [a["title"] for b in posted["body"] for a in b.get("actions", [])]
        assert "[Yes](http://x)" in buttons  # a button's title is plain text
        assert posted["msteams"]["entities"][0]["mentioned"]["id"] == FRAN["aadObjectId"]
