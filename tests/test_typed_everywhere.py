"""Every handler that shows what a member or facilitator typed marks it with `typed()`: a
community's name and purpose, its groups and interests, a member's settings, a survey's
title, questions, choices and answers. Fed `<!channel> & <b>*bold*</b> <at>x</at>`, each
reply shows those characters on Slack and Teams and never a broadcast, a tag or a mention."""

from __future__ import annotations

import re
from typing import Any

from slack_sdk.models.blocks import Block
from sqlalchemy import select

from hearth.bot.slack import render as slack
from hearth.bot.teams import render as teams
from hearth.handlers import build_registry
from hearth.handlers.cards import Card
from hearth.handlers.context import Defaults
from hearth.handlers.events import (
    ActionClicked,
    CommandInvoked,
    Event,
    FormSubmitted,
    MemberJoined,
)
from hearth.handlers.hub import Hearth
from hearth.storage.db import Database
from hearth.storage.models import Poll
from tests.recording import RecordingMessenger, SettableClock

EVIL = "<!channel> & <b>*bold*</b> <at>x</at>"
ON_SLACK = "&lt;!channel&gt; &amp; &lt;b&gt;*bold*&lt;/b&gt; &lt;at&gt;x&lt;/at&gt;"
ON_TEAMS = r"\<!channel\> & \<b\>\*bold\*\</b\> \<at\>x\</at\>"
SLACK_MENTION = re.compile(r"<@[A-Z0-9]+>")
BARE_AMPERSAND = re.compile(r"&(?!(?:amp|lt|gt);)")
FRAN, ANN = "U0FRAN", "U0ANN"


def slack_texts(card: Card) -> list[str]:
    """Every mrkdwn text Slack would read: the blocks and the notification text."""
    out = [slack.fallback_text(card)]
    for block in slack.blocks(card):
        Block.parse(block).validate_json()
        if block["type"] == "section":
            out += [block["text"]["text"], *(f["text"] for f in block.get("fields", []))]
        elif block["type"] == "context":
            out += [e["text"] for e in block["elements"]]
    return out


def teams_texts(card: Card) -> tuple[list[str], list[str]]:
    """The Adaptive Card's text blocks, and its mention entities' texts."""
    adaptive = teams.adaptive_card(card)
    texts = [b["text"] for b in adaptive["body"] if b["type"] == "TextBlock"]
    return texts, [e["text"] for e in adaptive["msteams"].get("entities", [])]


def assert_shown_as_typed(cards: list[Card], what: str) -> None:
    assert cards, f"{what}: no reply"
    on_slack = [t for card in cards for t in slack_texts(card)]
    for text in on_slack:
        assert "<" not in SLACK_MENTION.sub("", text), (what, text)  # nothing live but users
        assert not BARE_AMPERSAND.search(text), (what, text)
    assert any(ON_SLACK in t for t in on_slack), (what, on_slack)
    on_teams = []
    for card in cards:
        texts, entities = teams_texts(card)
        assert all(e != "<at>x</at>" for e in entities), what
        for text in texts:
            for entity in entities:
                text = text.replace(entity, "")
            assert "<at>" not in text and "**bold**" not in text, (what, text)
            on_teams.append(text)
    assert any(ON_TEAMS in t for t in on_teams), (what, on_teams)


class World:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.clock = SettableClock()
        self.messenger = RecordingMessenger()
        self.hub = Hearth(db, build_registry(), {"test": self.messenger}, self.clock, Defaults())
        self.count = 0

    async def send(self, kind: type[Event], user: str, **fields: Any) -> list[Card]:
        """Handle one event; the cards Hearth showed for it."""
        shown = self._shown()
        self.count += 1
        common = {"platform": "test", "workspace": "W1", "channel": "C1"}
        await self.hub.handle(
            kind(**common, at=self.clock.now(), user=user, event_id=f"e{self.count}", **fields)
        )
        self.clock.advance(seconds=2)
        return self._shown()[len(shown) :]

    def _shown(self) -> list[Card]:
        m = self.messenger
        return [c for _, c in m.private] + [c for _, c in m.posts] + [c for _, c in m.homes]

    async def command(self, user: str, text: str, **fields: Any) -> list[Card]:
        return await self.send(CommandInvoked, user, text=text, **fields)


async def test_typed_text_is_shown_as_typed_in_every_reply(db: Database) -> None:
    world = World(db)
    shown = await world.command(FRAN, "setup", channel_name=EVIL)
    assert_shown_as_typed(shown, "setup (the community's name)")
    assert_shown_as_typed(await world.command(FRAN, f"purpose set {EVIL}"), "purpose set")
    assert_shown_as_typed(await world.command(FRAN, f"purpose set {EVIL}"), "purpose unchanged")
    assert_shown_as_typed(await world.command(FRAN, "timezone"), "timezone")
    assert_shown_as_typed(await world.command(FRAN, "timezone Europe/Paris"), "timezone set")
    assert_shown_as_typed(await world.command(FRAN, f"timezone {EVIL}"), "a zone refused")
    await world.command(FRAN, f'segments set "{EVIL}" "Other"')
    await world.command(FRAN, f'interests set "{EVIL}" "Risk"')
    await world.send(MemberJoined, ANN)
    await world.command(ANN, "settings")
    values = {"segment": EVIL, "interests": [EVIL], "working_hours": "Mon-Fri 09:00-17:00"}
    shown = await world.send(FormSubmitted, ANN, form="member.settings", values=values)
    assert_shown_as_typed(shown, "settings summary (group, interests)")
    assert_shown_as_typed(await world.command(FRAN, "members"), "members (groups)")

    await world.command(FRAN, "survey")
    form = world.messenger.forms[-1][1]
    values = {"title": EVIL, "q1": f"text: {EVIL}", "q2": f"choice: {EVIL} | {EVIL}! | B"}
    shown = await world.send(
        FormSubmitted, FRAN, form="survey.create", values=values, context=form.context
    )
    assert_shown_as_typed(shown, "survey draft")
    async with db.transaction() as session:
        survey = await session.scalar(select(Poll))
    assert survey is not None
    assert_shown_as_typed(await world.command(FRAN, f"survey post {survey.id}"), "survey post")
    await world.send(ActionClicked, ANN, action="survey.open", value=str(survey.id))
    answers = world.messenger.forms[-1][1]
    title = teams.form_card(answers)["body"][0]["text"]
    assert title == r"\<!channel\> & \<b\>\*bold\*\<…"  # plain text on Teams too, clipped
    shown = await world.send(
        FormSubmitted, ANN, form="survey.answer", values={"q1": "?"}, context=answers.context
    )
    assert_shown_as_typed(shown, "survey answered (thanks, the survey's card)")
    shown = await world.send(
        FormSubmitted, ANN, form="survey.answer", values={"q2": "C"}, context=answers.context
    )
    assert_shown_as_typed(shown, "a choice refused (the form's title, label and choices)")
    shown = await world.send(
        FormSubmitted,
        ANN,
        form="survey.answer",
        values={"q1": EVIL, "q2": f"{EVIL}!"},
        context=answers.context,
    )
    assert_shown_as_typed(shown, "survey answered again")
    assert_shown_as_typed(await world.command(FRAN, f"survey results {survey.id}"), "results")
    await world.command(FRAN, "survey")
    form = world.messenger.forms[-1][1]
    values = {"title": EVIL, "q1": "text: fine?"}
    await world.send(FormSubmitted, FRAN, form="survey.create", values=values, context=form.context)
    assert_shown_as_typed(await world.command(FRAN, f"survey delete {survey.id + 1}"), "deleted")
