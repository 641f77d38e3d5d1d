"""Self-tests of the Teams fakes: a real botbuilder CloudAdapter against them, offline.

The bot under test is a minimal ``ActivityHandler`` behind ``CloudAdapter`` served by
aiohttp on a free loopback port. Inbound tokens come from ``BotFrameworkAuthStub``;
outbound calls land on ``FakeConnector`` and are checked against the shared swagger.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web

pytest.importorskip(
    "botbuilder.integration.aiohttp",
    reason="botbuilder-integration-aiohttp (Teams SDK) is not installed",
)

from tests.fakes.teams_connector import require_teams_specs

require_teams_specs()

import jwt  # noqa: E402
import requests  # noqa: E402
from botbuilder.core import ActivityHandler, TurnContext  # noqa: E402
from botbuilder.core.teams import TeamsInfo  # noqa: E402
from botbuilder.integration.aiohttp import (  # noqa: E402
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)
from botbuilder.schema import (  # noqa: E402
    Activity,
    ActivityTypes,
    ChannelAccount,
    ConversationParameters,
    ConversationReference,
    ErrorResponseException,
)
from botframework.connector.auth import AuthenticateRequestResult  # noqa: E402

from tests.fakes.botframework_auth import (  # noqa: E402
    BOT_FRAMEWORK_ISSUER,
    PUBLIC_CLOUD_CALLER_ID,
    BotFrameworkAuthStub,
    SigningKey,
)
from tests.fakes.teams_connector import (  # noqa: E402
    FakeConnector,
    FixedTokenCredentialsFactory,
    load_sample_activity,
)

pytestmark = pytest.mark.asyncio

APP_ID = "9a1b2c3d-0000-4000-8000-00000000b07a"
APP_PASSWORD = "not-a-real-secret"
PERSONAL_SAMPLE = "message__personal_aad_object_id_v3"
CHANNEL_SAMPLE = "message_mention__channel_v3"
TENANT_ID = "09e852a2-4575-45f7-9586-7cc3acfdc715"  # from the personal sample
USER = {
    "id": "29:uniqueId",
    "name": "User name",
    "aadObjectId": "d2ffaeab-d802-4fec-8580-0987e9ad2628",
}


# -- the bot and its server ---------------------------------------------------------------
class GuardedAuthentication(ConfigurationBotFrameworkAuthentication):
    """Turn every token-validation failure into ``PermissionError`` (CloudAdapter -> 401).

    botbuilder 4.17 raises ``PermissionError`` only for claim mismatches; a missing
    header (parameterized mode), an unknown ``kid``, a bad signature or an expired
    token escape as other exceptions and CloudAdapter answers 500. Network failures
    fetching the metadata stay 5xx.
    """

    async def authenticate_request(
        self, activity: Activity, auth_header: str
    ) -> AuthenticateRequestResult:
        """Delegate; map non-network failures to ``PermissionError``."""
        try:
            return await super().authenticate_request(activity, auth_header)
        except (PermissionError, requests.RequestException):
            raise
        except Exception as exc:
            raise PermissionError(f"token rejected: {type(exc).__name__}: {exc}") from exc


class RecordingBot(ActivityHandler):
    """Echoes messages; records turns and conversation references."""

    def __init__(self) -> None:
        self.turns: list[Activity] = []
        self.references: list[ConversationReference] = []
        self.on_message: Callable[[TurnContext], Awaitable[None]] | None = None

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        """Record, run the optional hook, echo."""
        activity = turn_context.activity
        self.turns.append(activity)
        self.references.append(TurnContext.get_conversation_reference(activity))
        if self.on_message is not None:
            await self.on_message(turn_context)
        await turn_context.send_activity(f"echo: {activity.text}")


@dataclass
class BotHarness:
    """A CloudAdapter bot served on ``url`` (``POST /api/messages``)."""

    url: str
    adapter: CloudAdapter
    bot: RecordingBot
    http: aiohttp.ClientSession
    credentials: FixedTokenCredentialsFactory | None = None

    async def post(self, activity: dict[str, Any], auth_header: str | None) -> int:
        """POST an activity the way the Bot Framework channel does; return the status."""
        headers = {"Authorization": auth_header} if auth_header else {}
        async with self.http.post(self.url, json=activity, headers=headers) as response:
            await response.read()
            return response.status


@asynccontextmanager
async def serve_bot(
    adapter: CloudAdapter, bot: RecordingBot, **kwargs: Any
) -> AsyncIterator[BotHarness]:
    """Serve ``adapter.process(request, bot)`` at ``POST /api/messages`` on a free port."""

    async def messages(request: web.Request) -> web.Response | None:
        return await adapter.process(request, bot)

    app = web.Application()
    app.router.add_post("/api/messages", messages)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    try:
        async with aiohttp.ClientSession() as http:
            yield BotHarness(f"http://127.0.0.1:{port}/api/messages", adapter, bot, http, **kwargs)
    finally:
        await runner.cleanup()


@pytest_asyncio.fixture
async def auth_stub() -> AsyncIterator[BotFrameworkAuthStub]:
    """Local login.botframework.com."""
    async with BotFrameworkAuthStub() as stub:
        yield stub


@pytest_asyncio.fixture
async def connector() -> AsyncIterator[FakeConnector]:
    """Local Bot Connector; every test ends with zero contract violations."""
    async with FakeConnector() as fake:
        yield fake
        fake.assert_no_violations()


def _adapter(
    auth_stub: BotFrameworkAuthStub,
    connector: FakeConnector,
    *,
    guarded: bool,
) -> tuple[CloudAdapter, FixedTokenCredentialsFactory]:
    credentials = connector.credentials_factory(APP_ID)
    config = auth_stub.bot_config(app_id=APP_ID, app_password=APP_PASSWORD)
    auth_class = GuardedAuthentication if guarded else ConfigurationBotFrameworkAuthentication
    return CloudAdapter(auth_class(config, credentials_factory=credentials)), credentials


@pytest_asyncio.fixture
async def teams_bot(
    auth_stub: BotFrameworkAuthStub, connector: FakeConnector
) -> AsyncIterator[BotHarness]:
    """Authenticated bot (app id + password) wired to both fakes, with the 401 guard."""
    adapter, credentials = _adapter(auth_stub, connector, guarded=True)
    async with serve_bot(adapter, RecordingBot(), credentials=credentials) as harness:
        yield harness


@pytest_asyncio.fixture
async def raw_teams_bot(
    auth_stub: BotFrameworkAuthStub, connector: FakeConnector
) -> AsyncIterator[BotHarness]:
    """Same bot with plain ``ConfigurationBotFrameworkAuthentication`` (no guard)."""
    adapter, credentials = _adapter(auth_stub, connector, guarded=False)
    async with serve_bot(adapter, RecordingBot(), credentials=credentials) as harness:
        yield harness


def _personal_message(connector: FakeConnector, text: str = "hi") -> dict[str, Any]:
    activity = load_sample_activity(PERSONAL_SAMPLE, service_url=connector.service_url)
    activity["text"] = text
    return activity


# -- (a) inbound activity, reply to the connector ---------------------------------------------
async def test_valid_token_is_processed_and_reply_reaches_connector(
    teams_bot: BotHarness, auth_stub: BotFrameworkAuthStub, connector: FakeConnector
) -> None:
    activity = _personal_message(connector)
    header = auth_stub.auth_header(app_id=APP_ID, service_url=connector.service_url)

    status = await teams_bot.post(activity, header)

    assert status == 201  # CloudAdapter.process answers 201 for non-invoke activities
    assert [turn.text for turn in teams_bot.bot.turns] == ["hi"]
    assert teams_bot.bot.turns[0].caller_id == PUBLIC_CLOUD_CALLER_ID
    assert auth_stub.metadata_fetches >= 1 and auth_stub.jwks_fetches >= 1

    (call,) = connector.calls
    assert call.operation_id == "Conversations_ReplyToActivity"
    assert (call.verb, call.conversation_id, call.activity_id) == (
        "POST",
        "a:uniqueId",
        activity["id"],
    )
    assert call.path == f"/v3/conversations/a:uniqueId/activities/{activity['id']}"
    assert call.authorization == f"Bearer {connector.access_token}"
    assert call.body["text"] == "echo: hi"
    assert call.body["replyToId"] == activity["id"]
    assert call.body["from"]["id"] == activity["recipient"]["id"]
    assert call.body["recipient"]["id"] == USER["id"]
    assert [a["text"] for a in connector.activities("a:uniqueId")] == ["echo: hi"]
    assert connector.violations == ()

    assert teams_bot.credentials is not None
    request = teams_bot.credentials.requests[0]
    assert (request.app_id, request.oauth_scope) == (APP_ID, BOT_FRAMEWORK_ISSUER)


@pytest.mark.parametrize("version", ["1.0", "2.0"])
async def test_emulator_style_token_validates_against_local_metadata(
    teams_bot: BotHarness,
    auth_stub: BotFrameworkAuthStub,
    connector: FakeConnector,
    version: str,
) -> None:
    token = auth_stub.mint_emulator_token(app_id=APP_ID, version=version)

    status = await teams_bot.post(_personal_message(connector), f"Bearer {token}")

    assert status == 201
    assert len(teams_bot.bot.turns) == 1
    assert [c.operation_id for c in connector.calls] == ["Conversations_ReplyToActivity"]


# -- (b) rejected tokens ----------------------------------------------------------------------
def _bad_header(case: str, stub: BotFrameworkAuthStub, service_url: str) -> str | None:
    mint = stub.auth_header
    if case == "no_token":
        return None
    if case == "unpublished_key":
        return mint(app_id=APP_ID, service_url=service_url, signing_key=SigningKey.generate())
    if case == "forged_published_kid":
        forged = SigningKey.generate(kid=stub.keys[0].kid)
        return mint(app_id=APP_ID, service_url=service_url, signing_key=forged)
    if case == "wrong_audience":
        return mint(app_id="someone-elses-app-id", service_url=service_url)
    if case == "wrong_serviceurl_claim":
        return mint(app_id=APP_ID, service_url="https://smba.trafficmanager.net/amer/")
    if case == "expired":
        return mint(app_id=APP_ID, service_url=service_url, lifetime_s=-3600)
    if case == "wrong_issuer":
        return mint(app_id=APP_ID, service_url=service_url, issuer="https://evil.example")
    if case == "not_bearer":
        return "Basic dXNlcjpwYXNz"
    if case == "not_a_jwt":
        return "Bearer abc.def.ghi"
    raise AssertionError(case)


REJECTED = [
    "no_token",
    "unpublished_key",
    "forged_published_kid",
    "wrong_audience",
    "wrong_serviceurl_claim",
    "expired",
    "wrong_issuer",
    "not_bearer",
    "not_a_jwt",
]


@pytest.mark.parametrize("case", REJECTED)
async def test_rejected_token_is_401_and_handler_not_called(
    teams_bot: BotHarness, auth_stub: BotFrameworkAuthStub, connector: FakeConnector, case: str
) -> None:
    header = _bad_header(case, auth_stub, connector.service_url)

    status = await teams_bot.post(_personal_message(connector), header)

    assert status == 401
    assert teams_bot.bot.turns == []
    assert connector.calls == ()


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("no_token", 500),
        ("unpublished_key", 500),
        ("forged_published_kid", 500),
        ("expired", 500),
        ("not_a_jwt", 500),
        ("wrong_audience", 401),
        ("wrong_issuer", 401),
    ],
)
async def test_raw_cloud_adapter_status_for_rejected_tokens(
    raw_teams_bot: BotHarness,
    auth_stub: BotFrameworkAuthStub,
    connector: FakeConnector,
    case: str,
    expected: int,
) -> None:
    """Pins botbuilder 4.17 behaviour that ``GuardedAuthentication`` exists to fix."""
    header = _bad_header(case, auth_stub, connector.service_url)

    status = await raw_teams_bot.post(_personal_message(connector), header)

    assert status == expected
    assert raw_teams_bot.bot.turns == []
    assert connector.calls == ()


# -- (c) proactive continue_conversation ------------------------------------------------------
async def test_continue_conversation_with_round_tripped_reference(
    teams_bot: BotHarness, auth_stub: BotFrameworkAuthStub, connector: FakeConnector
) -> None:
    header = auth_stub.auth_header(app_id=APP_ID, service_url=connector.service_url)
    assert await teams_bot.post(_personal_message(connector), header) == 201
    stored = json.dumps(teams_bot.bot.references[0].serialize())  # what Hearth would persist
    reference = ConversationReference().deserialize(json.loads(stored))
    seen: list[Activity] = []

    async def proactive(turn_context: TurnContext) -> None:
        seen.append(turn_context.activity)
        await turn_context.send_activity("proactive hello")

    await teams_bot.adapter.continue_conversation(reference, proactive, APP_ID)

    assert [a.name for a in seen] == ["ContinueConversation"]
    assert [a["text"] for a in connector.activities("a:uniqueId")] == [
        "echo: hi",
        "proactive hello",
    ]
    call = connector.calls[-1]
    # botbuilder replies to the synthetic continuation activity id (a uuid1)
    assert call.operation_id == "Conversations_ReplyToActivity"
    assert call.activity_id == seen[0].id
    assert call.body["recipient"]["id"] == USER["id"]
    assert call.authorization == f"Bearer {connector.access_token}"


# -- (d) create_conversation for a 1:1 DM -----------------------------------------------------
async def test_create_conversation_personal_dm(
    teams_bot: BotHarness, connector: FakeConnector
) -> None:
    parameters = ConversationParameters(
        is_group=False,
        bot=ChannelAccount(id="28:uniqueId", name="Bot name"),
        members=[ChannelAccount(id=USER["id"], aad_object_id=USER["aadObjectId"])],
        tenant_id=TENANT_ID,
        channel_data={"tenant": {"id": TENANT_ID}},
    )
    created: list[Activity] = []

    async def on_created(turn_context: TurnContext) -> None:
        created.append(turn_context.activity)
        await turn_context.send_activity("welcome to Hearth")

    await teams_bot.adapter.create_conversation(
        APP_ID, on_created, parameters, "msteams", connector.service_url
    )

    (conversation_id,) = connector.conversations
    assert conversation_id.startswith("a:")
    assert created[0].conversation.id == conversation_id
    assert created[0].conversation.tenant_id == TENANT_ID
    assert connector.conversations[conversation_id]["members"][0]["id"] == USER["id"]
    assert [a["text"] for a in connector.activities(conversation_id)] == ["welcome to Hearth"]
    assert [c.operation_id for c in connector.calls] == [
        "Conversations_CreateConversation",
        "Conversations_ReplyToActivity",
    ]


async def test_create_conversation_without_tenant_is_a_violation() -> None:
    """The Teams rule layered on the swagger fires (then the fixture would fail)."""
    async with FakeConnector() as strict:
        adapter = CloudAdapter(
            ConfigurationBotFrameworkAuthentication(
                SimpleNamespace(APP_ID=APP_ID, APP_PASSWORD=APP_PASSWORD),
                credentials_factory=strict.credentials_factory(APP_ID),
            )
        )
        parameters = ConversationParameters(
            is_group=False, bot=ChannelAccount(id="28:uniqueId"), members=[]
        )

        async def never(turn_context: TurnContext) -> None:
            raise AssertionError("callback must not run")

        with pytest.raises(ErrorResponseException) as info:
            await adapter.create_conversation(
                APP_ID, never, parameters, "msteams", strict.service_url
            )

    assert info.value.response.status_code == 400
    assert any("'members'" in v for v in strict.violations)
    assert any("tenantId" in v for v in strict.violations)


# -- TeamsInfo (async client + the sync TeamsConnectorClient) ---------------------------------
async def test_teams_info_member_and_team_routes(
    teams_bot: BotHarness, auth_stub: BotFrameworkAuthStub, connector: FakeConnector
) -> None:
    activity = load_sample_activity(CHANNEL_SAMPLE, service_url=connector.service_url)
    team_id = activity["channelData"]["team"]["id"]
    connector.add_team(team_id, name="Practice", channels=[{"id": team_id, "name": "General"}])
    connector.add_member(
        activity["conversation"]["id"], {"id": activity["from"]["id"], "name": "SAMPLE USER"}
    )
    results: dict[str, Any] = {}

    async def lookups(turn_context: TurnContext) -> None:
        member = await TeamsInfo.get_member(turn_context, turn_context.activity.from_property.id)
        results["member"] = member.name
        results["channels"] = [c.name for c in await TeamsInfo.get_team_channels(turn_context)]
        results["team"] = (await TeamsInfo.get_team_details(turn_context)).name

    teams_bot.bot.on_message = lookups
    header = auth_stub.auth_header(app_id=APP_ID, service_url=connector.service_url)

    assert await teams_bot.post(activity, header) == 201

    assert results == {"member": "SAMPLE USER", "channels": ["General"], "team": "Practice"}
    operations = [(c.operation_id, c.in_swagger) for c in connector.calls]
    assert operations == [
        ("Conversations_GetConversationMember", False),  # SUPPLEMENT_ROUTES
        ("Teams_FetchChannelList", True),
        ("Teams_FetchTeamDetails", True),
        ("Conversations_ReplyToActivity", True),
    ]
    assert all(c.authorization == f"Bearer {connector.access_token}" for c in connector.calls)


# -- failure injection through botbuilder ---------------------------------------------------
async def _continue(
    harness: BotHarness,
    connector: FakeConnector,
    logic: Callable[[TurnContext], Awaitable[None]],
) -> None:
    reference = ConversationReference().deserialize(
        {
            "channelId": "msteams",
            "serviceUrl": connector.service_url,
            "conversation": {"id": "a:uniqueId", "conversationType": "personal"},
            "bot": {"id": "28:uniqueId"},
            "user": USER,
        }
    )
    await harness.adapter.continue_conversation(reference, logic, APP_ID)


async def test_throttling_surfaces_status_and_retry_after(
    teams_bot: BotHarness, connector: FakeConnector
) -> None:
    connector.fail_next(429, retry_after=7)
    errors: list[ErrorResponseException] = []

    async def send(turn_context: TurnContext) -> None:
        try:
            await turn_context.send_activity("throttled?")
        except ErrorResponseException as exc:
            errors.append(exc)

    await _continue(teams_bot, connector, send)

    assert [e.response.status_code for e in errors] == [429]
    assert errors[0].response.headers["Retry-After"] == "7"
    assert [(c.status, c.injected_failure) for c in connector.calls] == [(429, True)]
    assert connector.pending_failures == 0
    assert connector.activities("a:uniqueId") == []


@pytest.mark.parametrize("status", [412, 502, 504])
async def test_post_failures_are_not_retried_by_msrest(
    teams_bot: BotHarness, connector: FakeConnector, status: int
) -> None:
    connector.fail_next(status)
    errors: list[int] = []

    async def send(turn_context: TurnContext) -> None:
        try:
            await turn_context.send_activity("hello")
        except ErrorResponseException as exc:
            errors.append(exc.response.status_code)

    await _continue(teams_bot, connector, send)

    assert errors == [status]
    assert [c.status for c in connector.calls] == [status]


async def test_put_502_is_retried_by_msrest(
    teams_bot: BotHarness, connector: FakeConnector
) -> None:
    sent: list[str] = []

    async def send(turn_context: TurnContext) -> None:
        sent.append((await turn_context.send_activity("draft")).id)

    await _continue(teams_bot, connector, send)
    connector.fail_next(502, operation_id="Conversations_UpdateActivity")

    async def update(turn_context: TurnContext) -> None:
        edited = Activity(
            type=ActivityTypes.message,
            id=sent[0],
            text="final",
            conversation=turn_context.activity.conversation,
        )
        await turn_context.update_activity(edited)

    await _continue(teams_bot, connector, update)

    assert [(c.verb, c.status) for c in connector.calls] == [
        ("POST", 201),
        ("PUT", 502),
        ("PUT", 200),
    ]
    assert connector.activity("a:uniqueId", sent[0])["text"] == "final"


# -- emulator mode (no app id) ---------------------------------------------------------------
async def test_emulator_mode_accepts_unauthenticated_activity() -> None:
    async with FakeConnector(require_auth=False) as open_connector:
        # Only APP_ID/APP_PASSWORD (empty): the built-in public-cloud authentication.
        config = SimpleNamespace(APP_ID="", APP_PASSWORD="")
        adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(config))
        async with serve_bot(adapter, RecordingBot()) as harness:
            status = await harness.post(_personal_message(open_connector), None)
            assert status == 201
            assert [t.text for t in harness.bot.turns] == ["hi"]
            assert harness.bot.turns[0].caller_id is None
        (call,) = open_connector.calls
        assert call.authorization is None  # anonymous: no outgoing token either
        assert call.body["text"] == "echo: hi"
        open_connector.assert_no_violations()


async def test_emulator_mode_breaks_with_parameterized_settings(
    auth_stub: BotFrameworkAuthStub,
) -> None:
    """With any TO_BOT_* / OAUTH_URL / CALLER_ID setting, no-header requests answer 500."""
    async with FakeConnector(require_auth=False) as open_connector:
        config = auth_stub.bot_config(app_id="", app_password="")
        adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(config))
        async with serve_bot(adapter, RecordingBot()) as harness:
            status = await harness.post(_personal_message(open_connector), None)
            assert status == 500
            assert harness.bot.turns == []
        assert open_connector.calls == ()


# -- the fakes themselves --------------------------------------------------------------------
async def test_connector_flags_contract_violations() -> None:
    async with FakeConnector() as connector:
        await _exercise_violations(connector)


async def _exercise_violations(connector: FakeConnector) -> None:
    base = connector.service_url.rstrip("/")
    good = {"Authorization": f"Bearer {connector.access_token}"}
    cases: list[tuple[str, str, dict[str, str], Any, str]] = [
        ("POST", "/v3/conversations/a%3A1/activities", {}, {"type": "message"}, "Authorization"),
        ("POST", "/v3/conversations/a%3A1/activities", good, {"text": "x"}, "'type' is a required"),
        ("POST", "/v3/conversations/a%3A1/activities", good, {"type": "mesage"}, "is not one of"),
        (
            "POST",
            "/v3/conversations/a%3A1/activities",
            good,
            {"type": "message", "from": {"id": 5}},
            "Activity.from.id: 5 is not of type 'string'",
        ),
        (
            "POST",
            "/v3/conversations/a%3A1/activities",
            good,
            {"type": "message", "conversation": {"id": "a:2"}},
            "differs from path conversationId",
        ),
        ("PATCH", "/v3/conversations", good, {}, "verb PATCH not defined"),
        ("GET", "/v1/meetings/m1", good, None, "no such path"),
        ("GET", "/v3/conversations/a%3A1/pagedmembers?pageSize=ten", good, None, "integer"),
        ("GET", "/v3/conversations/a%3A1/members?x=1", good, None, "not declared"),
        (
            "POST",
            "/v3/conversations/a%3A1/activities",
            {"Authorization": "Bearer stolen"},
            {"type": "message"},
            "bearer token",
        ),
    ]
    async with aiohttp.ClientSession() as http:
        for verb, path, headers, body, expected in cases:
            kwargs: dict[str, Any] = {"headers": headers}
            if body is not None:
                kwargs["json"] = body
            async with http.request(verb, base + path, **kwargs) as response:
                payload = await response.json()
            assert response.status == 400, (verb, path)
            assert payload["error"]["code"] == "BadArgument"
            assert expected in connector.violations[-1], connector.violations[-1]
        async with http.post(
            base + "/v3/conversations/a%3A1/activities", json={"type": "message"}, headers=good
        ) as response:
            assert response.status == 201
    assert len(connector.violations) == len(cases)
    assert connector.calls[-1].conversation_id == "a:1"
    assert connector.calls[-1].status == 201


async def test_auth_stub_publishes_bot_framework_shaped_metadata(
    auth_stub: BotFrameworkAuthStub,
) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(auth_stub.openid_metadata_url) as response:
            metadata = await response.json()
        async with http.get(metadata["jwks_uri"]) as response:
            jwks = await response.json()

    assert metadata["issuer"] == BOT_FRAMEWORK_ISSUER
    (key,) = jwks["keys"]
    assert {"kty", "use", "kid", "x5t", "n", "e", "x5c", "endorsements"} <= key.keys()
    assert "msteams" in key["endorsements"]
    token = auth_stub.mint_token(app_id=APP_ID, service_url="http://127.0.0.1:1/")
    header = jwt.get_unverified_header(token)
    assert (header["alg"], header["kid"], header["x5t"]) == ("RS256", key["kid"], key["x5t"])
    claims = jwt.decode(
        token,
        jwt.PyJWK(key).key,
        algorithms=["RS256"],
        audience=APP_ID,
        issuer=BOT_FRAMEWORK_ISSUER,
    )
    assert claims["serviceurl"] == "http://127.0.0.1:1/"
    assert "ver" not in claims and "appid" not in claims  # would make it a skill token
