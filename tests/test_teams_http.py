"""Teams end to end: Bot Framework activities into `/api/messages` of the real app.

The shared sample activities are posted (serviceUrl on the fake Connector, ids as needed) with
tokens from a local OpenID stub; every Connector call is checked against the shared swagger.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("botbuilder.integration.aiohttp", reason="botbuilder is not installed")

from tests.fakes.teams_connector import ACTIVITIES_DIR, require_teams_specs

require_teams_specs()

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402
from aiohttp.test_utils import make_mocked_request  # noqa: E402

from hearth.bot.app import HUB, TEAMS_ROUTE, init_app  # noqa: E402
from hearth.bot.settings import Settings  # noqa: E402
from hearth.bot.teams.adapter import is_loopback  # noqa: E402
from hearth.handlers.cards import Card  # noqa: E402
from hearth.handlers.context import Context  # noqa: E402
from hearth.handlers.events import FormSubmitted  # noqa: E402
from hearth.handlers.forms import read  # noqa: E402
from hearth.handlers.ports import Target  # noqa: E402
from hearth.storage.models import (  # noqa: E402
    Community,
    ConversationRef,
    Facilitator,
    InboundEvent,
    Member,
    Message,
    OutboxMessage,
)
from tests.fakes.botframework_auth import SigningKey  # noqa: E402
from tests.teams_helpers import (  # noqa: E402
    ALICE,
    BOB,
    BOT,
    FRAN,
    TEAM,
    TENANT,
    TeamsHarness,
    actions,
    activity,
    card,
    eventually,
    running,
    serve_teams,
    texts,
)
from tests.test_teams_cards import ASK  # noqa: E402

MENTION_BOT = {"type": "mention", "text": "<at>TestBot</at>", "mentioned": BOT}


def channel_command(h: TeamsHarness, text: str, sender: dict[str, Any] = FRAN, **more: Any) -> dict:
    """`@TestBot <text>` in the team's General channel (the v3 channel sample)."""
    return activity(
        "message_mention__channel_v3",
        h.connector,
        text=f"<at>TestBot</at> {text}",
        from_=sender,
        entities=[MENTION_BOT, *more.pop("entities", [])],
        **more,
    )


def personal_message(h: TeamsHarness, text: str, **more: Any) -> dict:
    """A 1:1 message from the personal sample's user."""
    return activity("message__personal_aad_object_id_v3", h.connector, text=text, **more)


async def set_up_community(h: TeamsHarness) -> str:
    """`@TestBot setup` by Fran in the General channel; returns Fran's 1:1 chat id."""
    h.connector.add_team(TEAM, name="Agile Practice", channels=[{"id": TEAM}])
    h.connector.add_member(TEAM, FRAN)
    h.connector.add_member(TEAM, BOB)
    h.connector.add_member(TEAM, ALICE)
    assert (await h.post(channel_command(h, "setup How we run retros")))[0] == 200
    (chat,) = h.personal_chats()
    return chat


def last_texts(h: TeamsHarness, conversation: str) -> list[str]:
    return texts(h.sent_cards(conversation)[-1])


# ------------------------------------------------------------------ commands


async def test_setup_help_and_facilitators_by_mention_in_a_channel(tmp_path: Path) -> None:
    async with serve_teams(tmp_path) as h:
        fran_chat = await set_up_community(h)

        (community,) = await h.rows(Community)
        assert (community.platform, community.workspace, community.channel) == (
            "teams",
            TENANT,
            TEAM,
        )
        assert (community.name, community.purpose) == ("#Agile Practice", "How we run retros")
        (fran,) = await h.rows(Member)
        assert (fran.user_id, fran.name) == (FRAN["aadObjectId"], "Fran Facilitator")
        # the reply went privately: a new 1:1 chat with Fran, created through the Connector
        assert h.personal_chats()[fran_chat]["members"] == [
            {"id": FRAN["id"], "aadObjectId": FRAN["aadObjectId"]}
        ]
        assert h.personal_chats()[fran_chat]["channelData"] == {"tenant": {"id": TENANT}}
        assert last_texts(h, fran_chat)[0] == (
            "#Agile Practice is now a community, and you are its first facilitator."
        )

        await h.post(channel_command(h, "help", id="1400900100710"))
        help_texts = last_texts(h, fran_chat)
        assert help_texts[0] == "Here's what you can do, as a facilitator:"
        assert any(
            "• **@Hearth facilitator add** — make someone a facilitator" in t for t in help_texts
        )

        mention_bob = {"type": "mention", "text": "<at>Bob</at>", "mentioned": {"id": BOB["id"]}}
        bob_joins = activity(  # a facilitator must be a member Hearth has seen
            "conversationUpdate_membersAdded__team_member_added_v3",
            h.connector,
            id="1400900100709",
            membersAdded=[{"id": BOB["id"], "aadObjectId": BOB["aadObjectId"]}],
        )
        assert (await h.post(bob_joins))[0] == 200
        add = channel_command(h, "facilitator add <at>Bob</at>", entities=[mention_bob])
        add["id"] = "1400900100711"
        await h.post(add)
        reply = h.sent_cards(fran_chat)[-1]
        assert texts(reply) == ["<at>Bob Builder</at> is now a facilitator of #Agile Practice."]
        assert reply["msteams"]["entities"] == [
            {
                "type": "mention",
                "text": "<at>Bob Builder</at>",
                "mentioned": {"id": BOB["aadObjectId"], "name": "Bob Builder"},
            }
        ]
        facilitators = await h.rows(
            Member, Member.id.in_([f.member_id for f in await h.rows(Facilitator)])
        )
        assert sorted(m.user_id for m in facilitators) == [
            BOB["aadObjectId"],
            FRAN["aadObjectId"],
        ]
        fran_chats = [
            chat
            for chat, params in h.personal_chats().items()
            if params["members"][0]["id"] == FRAN["id"]
        ]
        assert fran_chats == [fran_chat]  # Fran's 1:1 chat is reused, not created again
        # outgoing credentials are built once, not once per turn or send
        assert [r.oauth_scope for r in h.credentials.requests] == ["https://api.botframework.com"]


async def test_unknown_commands_get_the_usage_privately(tmp_path: Path) -> None:
    async with serve_teams(tmp_path) as h:
        fran_chat = await set_up_community(h)
        before = len(await h.rows(Community))
        status, _ = await h.post(channel_command(h, "frobnicate now", id="1400900100702"))
        assert status == 200
        assert last_texts(h, fran_chat) == [
            "I don't know the command **frobnicate**.",
            "Try **@Hearth help** to see what I can do.",
        ]
        status, _ = await h.post(channel_command(h, "facilitator add", id="1400900100703"))
        assert last_texts(h, fran_chat)[-1] == "Usage: **@Hearth facilitator add @someone**"
        assert len(await h.rows(Community)) == before
        assert await h.rows(Message) == []  # commands are not community messages


async def test_commands_in_a_personal_chat_need_no_mention(tmp_path: Path) -> None:
    async with serve_teams(tmp_path) as h:
        status, _ = await h.post(personal_message(h, "help"))
        assert status == 200
        assert h.personal_chats() == {}  # answered in the chat it was asked in
        assert last_texts(h, "a:uniqueId")[0] == "Here's what you can do:"

        mention = {
            "type": "mention",
            "text": "<at>Bot name</at>",
            "mentioned": {"id": "28:uniqueId", "name": "Bot name"},
        }
        setup = personal_message(h, "<at>Bot name</at> setup", id="1531861881428")
        setup["entities"].append(mention)
        await h.post(setup)
        assert last_texts(h, "a:uniqueId") == [
            "Run **@Hearth setup** in the channel that should become a community."
        ]

        await h.post(personal_message(h, "hi there", id="1531861881429"))
        assert last_texts(h, "a:uniqueId")[0].startswith("Hi! I'm Hearth, the community's helper.")
        assert await h.rows(Community) == []
        calls = {c.operation_id for c in h.connector.calls}
        assert calls == {"Conversations_SendToConversation"}


# ------------------------------------------------------------------ welcome


def member_added(h: TeamsHarness, activity_id: str = "1400900100800") -> dict[str, Any]:
    return activity(
        "conversationUpdate_membersAdded__team_member_added_v3",
        h.connector,
        id=activity_id,
        membersAdded=[{"id": ALICE["id"], "aadObjectId": ALICE["aadObjectId"]}],
    )


async def welcome_delivered(h: TeamsHarness) -> tuple[str, dict[str, Any]]:
    """Wait for the welcome DM to Alice; returns her chat id and the activity sent."""

    def alice_chat() -> str | None:
        for chat, params in h.personal_chats().items():
            if params["members"][0]["id"] == ALICE["id"] and h.connector.activities(chat):
                return chat
        return None

    await eventually(lambda: alice_chat() is not None, what="the welcome DM")
    chat = alice_chat()
    assert chat is not None
    return chat, h.connector.activities(chat)[0]


async def test_a_member_added_to_the_team_gets_one_welcome(tmp_path: Path) -> None:
    async with serve_teams(tmp_path) as h:
        await set_up_community(h)
        assert (await h.post(member_added(h)))[0] == 200
        assert (await h.post(member_added(h)))[0] == 200  # the same delivery again
        assert (await h.post(member_added(h, "1400900100801")))[0] == 200  # a second delivery

        chat, sent = await welcome_delivered(h)
        await h.flush()
        alice_chats = [
            c for c, p in h.personal_chats().items() if p["members"][0]["id"] == ALICE["id"]
        ]
        assert alice_chats == [chat]
        assert len(h.connector.activities(chat)) == 1
        welcome = card(sent)
        assert texts(welcome)[0] == "Hi Alice, welcome to #Agile Practice! 👋"
        assert "Which group are you in?" in texts(welcome)
        titles = [a["title"] for a in actions(welcome)]
        assert titles[:2] == ["Delivery teams & managers", "Senior leadership"]
        assert titles[-1] == "Stop messages from Hearth"
        facilitator_mention = welcome["msteams"]["entities"][0]
        assert facilitator_mention["mentioned"] == {
            "id": FRAN["aadObjectId"],
            "name": "Fran Facilitator",
        }
        (alice,) = await h.rows(Member, Member.user_id == ALICE["aadObjectId"])
        assert alice.name == "Alice Liddell"  # looked up through the Connector
        welcomes = await h.rows(OutboxMessage, OutboxMessage.kind == "welcome")
        assert [(w.status, w.target_id) for w in welcomes] == [("sent", ALICE["aadObjectId"])]


async def test_the_bot_added_to_a_team_introduces_itself_once(tmp_path: Path) -> None:
    async with serve_teams(tmp_path) as h:
        added = activity("conversationUpdate_membersAdded__bot_added_to_team", h.connector)
        bot_id = added["recipient"]["id"]
        general = added["conversation"]["id"]
        for activity_id in ("f:first", "f:first", "f:second"):
            added["id"] = activity_id
            assert (await h.post(added, header=h.header()))[0] == 200
        await eventually(lambda: h.connector.activities(general), what="the introduction")
        await h.flush()
        (intro,) = h.connector.activities(general)
        assert intro["from"]["id"] == bot_id
        lines = texts(card(intro))
        assert lines[0] == "Hi, I'm Hearth 👋 I help communities of practice feel like home."
        assert any("**@Hearth setup**" in line for line in lines)
        (row,) = await h.rows(OutboxMessage)
        assert row.key == f"intro:teams:{added['channelData']['tenant']['id']}:{general}"
        assert await h.rows(Member) == []  # the bot is not welcomed as a member


# ------------------------------------------------------------------ cards


async def test_a_click_on_the_welcome_card_updates_it_and_stores_the_choice(
    tmp_path: Path,
) -> None:
    async with serve_teams(tmp_path) as h:
        await set_up_community(h)
        await h.post(member_added(h))
        chat, sent = await welcome_delivered(h)
        by_title = {a["title"]: a for a in actions(card(sent))}
        click = personal_message(
            h,
            "",
            id="1531861890000",
            conversation={"conversationType": "personal", "id": chat},
            channelData={"tenant": {"id": TENANT}},
            replyToId=sent["id"],
            value=by_title["Senior leadership"]["data"],
        )
        click["from"] = ALICE
        click.pop("text")
        references_before = [(r.key, r.updated_at) for r in await h.rows(ConversationRef)]
        h.clock.advance(minutes=5)
        assert (await h.post(click))[0] == 200
        # a click leaves stored references (and their times) alone: no hint of who clicked when
        assert [(r.key, r.updated_at) for r in await h.rows(ConversationRef)] == references_before

        (alice,) = await h.rows(Member, Member.user_id == ALICE["aadObjectId"])
        assert alice.segment == "Senior leadership"
        updated = card(h.connector.activity(chat, sent["id"]))
        titles = [a["title"] for a in actions(updated)]
        assert "✓ Senior leadership" in titles and "Senior leadership" not in titles
        (selected,) = [a for a in actions(updated) if a["title"] == "✓ Senior leadership"]
        assert selected["style"] == "positive"
        assert [c.operation_id for c in h.connector.calls][-1] == "Conversations_UpdateActivity"

        # Action.Execute (Universal Actions) arrives as an invoke and works the same way
        execute = activity(
            "invoke_adaptiveCard_action",
            h.connector,
            conversation={"conversationType": "personal", "id": chat, "tenantId": TENANT},
            replyToId=sent["id"],
            channelData={"tenant": {"id": TENANT}},
            value={
                "action": {"type": "Action.Execute", "data": by_title["Lessons learned"]["data"]},
                "trigger": "manual",
            },
        )
        execute["from"] = ALICE
        status, body = await h.post(execute)
        assert status == 200
        assert body["statusCode"] == 200
        (alice,) = await h.rows(Member, Member.user_id == ALICE["aadObjectId"])
        assert alice.interests == ["Lessons learned"]
        assert "✓ Lessons learned" in [
            a["title"] for a in actions(card(h.connector.activity(chat, sent["id"])))
        ]


# ------------------------------------------------------------------ memory


async def test_channel_messages_and_thread_replies_are_stored(tmp_path: Path) -> None:
    async with serve_teams(tmp_path) as h:
        reply = activity("message_mention__channel_thread_reply", h.connector)
        team, channel = reply["channelData"]["team"]["id"], reply["channelData"]["channel"]["id"]
        rido = reply["from"]
        bot_mention = reply["entities"][0]
        h.connector.add_team(team, name="Contoso", channels=[{"id": channel, "name": "Retros"}])
        setup = activity(
            "message_mention__channel_thread_reply",
            h.connector,
            id="1759881500000",
            text="<at>ridotest</at> setup",
            conversation=dict(reply["conversation"], id=f"{channel};messageid=1759881500000"),
        )
        assert (await h.post(setup))[0] == 200
        (community,) = await h.rows(Community)
        assert (community.channel, community.name) == (channel, "#Retros")

        root = activity(
            "message_mention__channel_thread_reply",
            h.connector,
            id="1759881511856",
            text="How do you run retros remotely? Ask <at>ridotest</at>!",
            conversation=dict(reply["conversation"], id=f"{channel};messageid=1759881511856"),
        )
        reply["text"] = "We use a shared board &amp; timebox it."
        reply["entities"] = []
        for message in (root, reply, reply):  # the reply is delivered twice
            assert (await h.post(message))[0] == 200

        stored = await h.rows(Message)
        assert [(m.message_id, m.thread_id, m.text) for m in stored] == [
            ("1759881511856", None, "How do you run retros remotely? Ask @ridotest!"),
            ("1759944781430", "1759881511856", "We use a shared board & timebox it."),
        ]
        (author,) = await h.rows(Member)
        assert (author.user_id, author.name) == (rido["aadObjectId"], "rido")
        assert {m.member_id for m in stored} == {author.id}
        assert bot_mention["mentioned"]["id"] == reply["recipient"]["id"]
        refs = {r.key: r for r in await h.rows(ConversationRef)}
        assert refs[channel].team == team
        assert refs[f"member:{rido['aadObjectId']}"].reference["user"]["id"] == rido["id"]

        # edits and deletions follow (Teams sends them with the message's own id)
        where = {k: reply[k] for k in ("conversation", "channelData", "from", "recipient")}
        edit = activity("messageUpdate__sdk_fixture", h.connector, **where)
        edit |= {"id": "1759944781430", "text": "We use a shared board."}
        removal = activity("messageDelete__sdk_fixture", h.connector, **where)
        removal["id"] = "1759881511856"
        assert (await h.post(edit))[0] == 200 and (await h.post(removal))[0] == 200
        after = {m.message_id: m for m in await h.rows(Message)}
        assert after["1759944781430"].text == "We use a shared board."
        assert after["1759944781430"].edited_at is not None
        assert (after["1759881511856"].text, after["1759881511856"].deleted_at is not None) == (
            None,
            True,
        )


async def test_a_member_removed_from_the_team_leaves_the_community(tmp_path: Path) -> None:
    async with serve_teams(tmp_path, stop_sender=True) as h:
        await set_up_community(h)
        await h.post(member_added(h))
        removed = activity(
            "conversationUpdate_membersRemoved__team_member_removed_v3",
            h.connector,
            id="1400900100900",
            membersRemoved=[{"id": ALICE["id"], "aadObjectId": ALICE["aadObjectId"]}],
        )
        assert (await h.post(removed))[0] == 200
        posts = await h.rows(OutboxMessage, OutboxMessage.kind == "welcome_post")
        assert [p.status for p in posts] == ["cancelled"]  # Alice is no longer named


# ------------------------------------------------------------------ security


def bad_header(case: str, h: TeamsHarness) -> str | None:
    assert h.auth is not None
    match case:
        case "none":
            return None
        case "not_bearer":
            return "Basic dXNlcjpwYXNz"
        case "not_a_jwt":
            return "Bearer abc.def.ghi"
        case "wrong_audience":
            return h.header(app_id="11111111-2222-4333-8444-555555555555")
        case "unpublished_key":
            return h.header(signing_key=SigningKey.generate())
        case "forged_kid":
            return h.header(signing_key=SigningKey.generate(kid=h.auth.keys[0].kid))
        case "expired":
            return h.header(lifetime_s=-3600)
        case "wrong_issuer":
            return h.header(issuer="https://evil.example")
        case "other_service_url":
            return h.header(service_url="https://smba.trafficmanager.net/amer/")
        case "not_endorsed":
            key = SigningKey.generate(endorsements=["webchat"])
            h.auth.keys = (*h.auth.keys, key)
            return h.header(signing_key=key)
    raise AssertionError(case)


@pytest.mark.parametrize(
    "case",
    [
        "none",
        "not_bearer",
        "not_a_jwt",
        "wrong_audience",
        "unpublished_key",
        "forged_kid",
        "expired",
        "wrong_issuer",
        "other_service_url",
        "not_endorsed",
    ],
)
async def test_requests_without_a_valid_token_get_401_and_change_nothing(
    tmp_path: Path, case: str
) -> None:
    async with serve_teams(tmp_path) as h:
        h.connector.add_team(TEAM, name="Agile Practice", channels=[{"id": TEAM}])
        status, body = await h.post(channel_command(h, "setup"), header=bad_header(case, h))
        assert status == 401
        assert body == {"error": "missing or invalid Bot Framework token"}
        for model in (Community, Member, InboundEvent, ConversationRef, OutboxMessage):
            assert await h.rows(model) == []
        assert h.connector.calls == ()


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"\xff\xfe",
        b"[1, 2]",
        b'"message"',
        b"{}",
        b'{"type": 5}',
        b'{"type": "message", "from": "someone"}',
        b'{"type": "message", "timestamp": "yesterday"}',
    ],
)
async def test_malformed_bodies_get_400(tmp_path: Path, body: bytes) -> None:
    async with serve_teams(tmp_path) as h:
        status, answer = await h.post(body)
        assert status == 400
        assert "error" in answer
        assert await h.rows(InboundEvent) == []


@pytest.mark.parametrize("missing", ["conversation", "from", "recipient"])
async def test_activities_missing_what_hearth_needs_get_400(tmp_path: Path, missing: str) -> None:
    async with serve_teams(tmp_path) as h:
        broken = personal_message(h, "help")
        del broken[missing]
        status, answer = await h.post(broken)
        assert (status, answer["error"]) == (400, f"activity has no {_named(missing)}")
        assert h.connector.calls == ()


def _named(field: str) -> str:
    return {"conversation": "conversation id", "from": "sender"}.get(field, field)


SAMPLES = sorted(p.stem for p in ACTIVITIES_DIR.glob("*.json")) if ACTIVITIES_DIR.exists() else []


async def test_every_sample_activity_is_answered_without_a_server_error(tmp_path: Path) -> None:
    """All shared samples, as the channel would post them: never a 5xx, no contract breach."""
    async with serve_teams(tmp_path) as h:
        statuses = {}
        for name in SAMPLES:
            sample = activity(name, h.connector)
            statuses[name] = (await h.post(sample))[0]
        assert statuses and all(s < 500 for s in statuses.values()), statuses
        assert statuses["message__personal_aad_object_id_v3"] == 200
        assert statuses["invoke_adaptiveCard_action"] == 200
        assert h.connector.violations == ()


# ------------------------------------------------------------------ emulator mode


async def test_emulator_mode_serves_loopback_without_a_token(tmp_path: Path) -> None:
    async with serve_teams(tmp_path, emulator=True) as h:
        emulated = personal_message(h, "help", channelId="emulator")
        emulated["channelData"] = {}
        status, _ = await h.post(emulated, header=None)
        assert status == 200
        (call,) = h.connector.calls
        assert call.operation_id == "Conversations_SendToConversation"
        assert call.authorization is None  # no app id: nothing to sign outgoing calls with
        assert texts(card(call.body))[0] == "Here's what you can do:"
        (ref,) = [r for r in await h.rows(ConversationRef) if r.key == "a:uniqueId"]
        assert ref.workspace == "emulator"


async def test_emulator_mode_refuses_other_peers(tmp_path: Path) -> None:
    async with serve_teams(tmp_path, emulator=True) as h:
        route = h.app[TEAMS_ROUTE]
        body = json.dumps(personal_message(h, "help")).encode()
        for peer, expected in (("203.0.113.9", 403), ("10.0.0.7", 403), ("::1", 200)):
            request = _request_from(peer, body)
            response = await route(request)
            assert response.status == expected, peer
        assert len(h.connector.calls) == 1  # only the loopback request was handled


def test_loopback_peers() -> None:
    assert [is_loopback(p) for p in ("127.0.0.1", "127.8.9.10", "::1", "fe80::1%eth0")] == [
        True,
        True,
        True,
        False,
    ]
    assert [is_loopback(p) for p in ("192.168.1.2", None, "not-an-ip")] == [False] * 3


def _request_from(peer: str, body: bytes) -> web.Request:
    """A request as aiohttp builds it, from `peer`, with `body`."""

    class Transport:
        def get_extra_info(self, name: str, default: object = None) -> object:
            return (peer, 50000) if name == "peername" else default

        def is_closing(self) -> bool:
            return False

    request = make_mocked_request(
        "POST", "/api/messages", headers={"Content-Type": "application/json"}, transport=Transport()
    )

    async def read() -> bytes:
        return body

    request.read = read  # type: ignore[method-assign]
    return request


async def test_without_credentials_there_is_no_teams_endpoint(tmp_path: Path) -> None:
    app = init_app(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/h.db"))
    async with (
        running(app) as base,
        aiohttp.ClientSession() as http,
        http.post(f"{base}/api/messages", json={"type": "message"}) as response,
    ):
        assert response.status == 404


# ------------------------------------------------------------------ forms and files


async def test_a_form_is_shown_privately_and_its_submission_comes_back(tmp_path: Path) -> None:
    async with serve_teams(tmp_path) as h:
        fran_chat = await set_up_community(h)
        seen: list[FormSubmitted] = []

        async def submitted(context: Context, event: FormSubmitted) -> None:
            seen.append(event)
            context.reply_privately(Card(f"Thanks, {read(ASK, event.values)['urgency']} it is."))

        h.app[HUB].registry.form(ASK.action)(submitted)
        await h.messenger.open_form(TENANT, TEAM, FRAN["aadObjectId"], ASK, None)
        form_card = h.sent_cards(fran_chat)[-1]
        inputs = [e["id"] for e in form_card["body"] if e["type"].startswith("Input.")]
        assert inputs == ["question", "anonymous", "topics", "urgency"]

        (submit,) = form_card["actions"]
        answer = personal_message(
            h,
            "",
            id="1531861899999",
            conversation={"conversationType": "personal", "id": fran_chat},
            channelData={"tenant": {"id": TENANT}},
            value=submit["data"] | {"question": "Why?", "topics": "1", "urgency": "0"},
        )
        answer["from"] = FRAN
        assert (await h.post(answer))[0] == 200
        (event,) = seen
        assert (event.form, event.context, event.user) == ("test.ask", "42", FRAN["aadObjectId"])
        assert event.values == {"question": "Why?", "topics": ["Tools"], "urgency": "Low"}
        assert last_texts(h, fran_chat) == ["Thanks, Low it is."]


async def test_thread_replies_updates_and_files_through_the_messenger(tmp_path: Path) -> None:
    async with serve_teams(tmp_path) as h:
        fran_chat = await set_up_community(h)
        root = await h.messenger.post(TENANT, Target("channel", TEAM), Card("Root"))
        reply = await h.messenger.post(TENANT, Target("channel", TEAM, root.message_id), Card("Re"))
        thread = f"{TEAM};messageid={root.message_id}"
        call = h.connector.calls[-1]
        assert (call.operation_id, call.conversation_id, call.activity_id) == (
            "Conversations_ReplyToActivity",
            thread,
            root.message_id,
        )
        assert texts(card(h.connector.activity(thread, reply.message_id))) == ["Re"]
        await h.messenger.update(TENANT, root, Card("Root, edited"))
        assert texts(card(h.connector.activity(TEAM, root.message_id))) == ["Root, edited"]

        await h.messenger.send_file(
            TENANT, FRAN["aadObjectId"], "votes.csv", b"option,votes\nA,3\n", "Your export"
        )
        assert last_texts(h, fran_chat) == [
            "Your export",
            "option,votes",
            "A,3",
            "votes.csv, 17 bytes",
        ]
        assert await h.messenger.profile(TENANT, FRAN["aadObjectId"]) is None  # no turn: no lookup
        await h.messenger.join(TENANT, TEAM)  # nothing to do on Teams
