"""Self-test of the fake Slack Web API, driven by the real slack_sdk AsyncWebClient."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack_api import (
    SPEC_MISSING_REASON,
    FakeSlackApi,
    spec_available,
    spec_path,
)

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.skipif(not spec_available(), reason=SPEC_MISSING_REASON),
]

TOKEN = "xoxb-test-token"
BLOCKS: list[dict[str, Any]] = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "*Hello* CoP"}},
    {
        "type": "actions",
        "elements": [
            {"type": "button", "action_id": "join", "text": {"type": "plain_text", "text": "Join"}}
        ],
    },
]
MODAL: dict[str, Any] = {
    "type": "modal",
    "callback_id": "propose",
    "title": {"type": "plain_text", "text": "Propose"},
    "blocks": [],
}


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeSlackApi]:
    """A running fake with one human user, U1 (alice, New York)."""
    async with FakeSlackApi(users={"U1": {"name": "alice", "tz": "America/New_York"}}) as api:
        yield api


@pytest_asyncio.fixture
async def client(fake: FakeSlackApi) -> AsyncWebClient:
    """slack_sdk client pointed at the fake, with slack_sdk's own retries switched off."""
    return AsyncWebClient(token=TOKEN, base_url=fake.base_url, retry_handlers=[])


def take_violations(fake: FakeSlackApi) -> list[str]:
    """Return and clear the recorded violations."""
    found = list(fake.violations)
    fake.violations.clear()
    return found


async def test_spec_path_and_free_port(fake: FakeSlackApi) -> None:
    """The spec is found under ../shared and each fake gets its own OS-chosen port."""
    assert spec_path().name == "web-api.openapi.json"
    assert spec_path().parent.parts[-3:] == ("shared", "specs", "slack")
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/api/", fake.base_url)
    async with FakeSlackApi() as other:
        assert other.port != fake.port
        assert other.port > 0


async def test_auth_test(fake: FakeSlackApi, client: AsyncWebClient) -> None:
    """auth.test returns the bot identity and is recorded with the bearer token."""
    resp = await client.auth_test()
    assert resp["team"] == "Test"
    assert resp["team_id"] == "T111"
    assert resp["user"] == "hearth"
    assert resp["user_id"] == "UHEARTH"
    assert resp["bot_id"] == "BHEARTH"
    assert resp["url"].startswith("https://")
    [call] = fake.calls
    assert (call.method, call.params, call.failed) == ("auth.test", {}, False)
    assert call.token == TOKEN
    assert call.http_verb == "POST"
    assert fake.violations == []


async def test_users_info_known_unknown_and_bot(fake: FakeSlackApi, client: AsyncWebClient) -> None:
    """users.info serves registered users, the bot user, and user_not_found otherwise."""
    fake.add_user("U2", "bob", tz="Asia/Tokyo", real_name="Bob B")
    alice = (await client.users_info(user="U1"))["user"]
    assert alice["id"] == "U1"
    assert alice["name"] == "alice"
    assert alice["tz"] == "America/New_York"
    assert alice["tz_offset"] in (-5 * 3600, -4 * 3600)
    assert alice["profile"]["display_name"] == "alice"
    assert alice["is_bot"] is False
    bob = (await client.users_info(user="U2"))["user"]
    assert (bob["real_name"], bob["profile"]["real_name"], bob["tz_offset"]) == (
        "Bob B",
        "Bob B",
        9 * 3600,
    )
    assert (await client.users_info(user="UHEARTH"))["user"]["is_bot"] is True

    with pytest.raises(SlackApiError) as err:
        await client.users_info(user="UNOBODY")
    assert err.value.response.status_code == 200
    assert err.value.response["error"] == "user_not_found"
    assert fake.calls[-1].failed is False
    assert [c.http_verb for c in fake.calls] == ["GET"] * 4
    assert fake.violations == []


async def test_dm_post_with_blocks_then_update(fake: FakeSlackApi, client: AsyncWebClient) -> None:
    """conversations.open + chat.postMessage (blocks) + chat.update keep consistent state."""
    opened = await client.conversations_open(users="U1")
    dm = opened["channel"]["id"]
    assert dm == "DU1"

    first = await client.chat_postMessage(channel=dm, text="Hello", blocks=BLOCKS)
    second = await client.chat_postMessage(channel=dm, text="Again")
    assert first["channel"] == dm
    assert re.fullmatch(r"\d{10}\.\d{6}", first["ts"])
    assert float(second["ts"]) > float(first["ts"])
    assert first["message"]["blocks"] == BLOCKS
    assert first["message"]["user"] == "UHEARTH"
    assert first["message"]["bot_id"] == "BHEARTH"
    assert fake.calls_to("chat.postMessage")[0]["blocks"] == BLOCKS
    assert fake.messages[(dm, first["ts"])]["text"] == "Hello"

    updated = await client.chat_update(channel=dm, ts=first["ts"], text="Edited", blocks=[])
    assert updated["message"]["text"] == "Edited"
    assert fake.messages[(dm, first["ts"])]["text"] == "Edited"
    assert fake.messages[(dm, first["ts"])]["blocks"] == []

    link = await client.chat_getPermalink(channel=dm, message_ts=first["ts"])
    assert link["permalink"].endswith(f"/archives/{dm}/p{first['ts'].replace('.', '')}")

    history = await client.conversations_history(channel=dm)
    assert [m["text"] for m in history["messages"]] == ["Again", "Edited"]
    assert history["has_more"] is False

    with pytest.raises(SlackApiError) as err:
        await client.chat_update(channel=dm, ts="1.000000", text="nope")
    assert err.value.response["error"] == "message_not_found"
    assert fake.violations == []


async def test_form_encoded_and_query_params_are_accepted(
    fake: FakeSlackApi, client: AsyncWebClient
) -> None:
    """Form bodies and query strings validate too; JSON-string blocks are decoded."""
    await client.api_call(
        "chat.postMessage", data={"channel": "C1", "text": "x", "blocks": json.dumps(BLOCKS)}
    )
    await client.api_call("users.info", http_verb="GET", params={"user": "U1"})
    assert fake.calls_to("chat.postMessage") == [{"channel": "C1", "text": "x", "blocks": BLOCKS}]
    assert fake.calls_to("users.info") == [{"user": "U1"}]
    assert fake.violations == []


async def test_missing_required_arg_is_a_violation(
    fake: FakeSlackApi, client: AsyncWebClient
) -> None:
    """chat.postMessage without channel answers HTTP 400 spec_violation."""
    with pytest.raises(SlackApiError) as err:
        await client.api_call("chat.postMessage", json={"text": "x"})
    assert err.value.response.status_code == 400
    assert err.value.response["error"] == "spec_violation"
    [violation] = take_violations(fake)
    assert "missing required parameter 'channel'" in violation
    assert fake.calls[-1].failed is True
    assert fake.messages == {}


async def test_unknown_method_is_a_violation(fake: FakeSlackApi, client: AsyncWebClient) -> None:
    """A method absent from the spec is rejected."""
    with pytest.raises(SlackApiError) as err:
        await client.api_call("chat.postMessages", json={"channel": "C1", "text": "x"})
    assert err.value.response.status_code == 400
    [violation] = take_violations(fake)
    assert "unknown method 'chat.postMessages'" in violation


async def test_unknown_parameter_and_missing_token_are_violations(fake: FakeSlackApi) -> None:
    """Parameters the 2021 spec lacks and a missing bearer token are both reported."""
    client = AsyncWebClient(token=TOKEN, base_url=fake.base_url, retry_handlers=[])
    with pytest.raises(SlackApiError):
        await client.chat_postMessage(channel="C1", text="x", markdown_text="**x**")
    [unknown] = take_violations(fake)
    assert "unknown parameter 'markdown_text'" in unknown

    anonymous = AsyncWebClient(base_url=fake.base_url, retry_handlers=[])
    with pytest.raises(SlackApiError):
        await anonymous.chat_postMessage(channel="C1", text="x")
    [no_token] = take_violations(fake)
    assert "missing required token" in no_token


async def test_json_body_to_form_only_method_and_bad_types(
    fake: FakeSlackApi, client: AsyncWebClient
) -> None:
    """Slack ignores JSON bodies for read methods; non-integer limits are rejected."""
    with pytest.raises(SlackApiError):
        await client.api_call("users.info", json={"user": "U1"})
    with pytest.raises(SlackApiError):
        await client.conversations_history(channel="C1", limit="lots")  # type: ignore[arg-type]
    json_body, bad_limit = take_violations(fake)
    assert "does not accept a JSON body" in json_body
    assert "'limit' should be integer" in bad_limit


async def test_rate_limit_injection(fake: FakeSlackApi, client: AsyncWebClient) -> None:
    """429 surfaces as SlackApiError with Retry-After; the next call succeeds."""
    fake.fail_next("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C1", text="x")
    assert err.value.response.status_code == 429
    assert err.value.response.headers["Retry-After"] == "7"
    assert err.value.response["error"] == "ratelimited"
    assert (await client.chat_postMessage(channel="C1", text="x"))["ok"] is True
    assert [c.failed for c in fake.calls] == [True, False]
    assert len(fake.calls_to("chat.postMessage", include_failed=False)) == 1
    assert len(fake.messages) == 1
    assert fake.violations == []


async def test_slack_sdk_rate_limit_handler_retries(fake: FakeSlackApi) -> None:
    """slack_sdk's own 429 retry handler honours the fake's Retry-After."""
    client = AsyncWebClient(
        token=TOKEN,
        base_url=fake.base_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
    )
    fake.fail_next("auth.test", retry_after=0)
    assert (await client.auth_test())["ok"] is True
    assert [c.failed for c in fake.calls] == [True, False]


async def test_server_error_and_error_injection(fake: FakeSlackApi, client: AsyncWebClient) -> None:
    """status=500 gives HTTP 500; error=... gives HTTP 200 ok:false; times counts down."""
    fake.fail_next("conversations.info", status=500)
    fake.fail_next("chat.postMessage", error="channel_not_found", times=2)
    with pytest.raises(SlackApiError) as err:
        await client.conversations_info(channel="C1")
    assert err.value.response.status_code == 500
    for _ in range(2):
        with pytest.raises(SlackApiError) as err:
            await client.chat_postMessage(channel="C1", text="x")
        assert err.value.response.status_code == 200
        assert err.value.response["error"] == "channel_not_found"
    assert (await client.chat_postMessage(channel="C1", text="x"))["ok"] is True
    assert [c.failed for c in fake.calls] == [True, True, True, False]
    assert fake.violations == []


async def test_channels_join_info_history(fake: FakeSlackApi, client: AsyncWebClient) -> None:
    """conversations.join flips is_member; info and history reflect stored state."""
    fake.add_channel("C1", name="cop-python", purpose="Python CoP")
    info = (await client.conversations_info(channel="C1"))["channel"]
    assert (info["name"], info["purpose"]["value"], info["is_member"]) == (
        "cop-python",
        "Python CoP",
        False,
    )
    joined = await client.conversations_join(channel="C1")
    assert joined["channel"]["id"] == "C1"
    assert joined["channel"]["name"] == "cop-python"
    assert (await client.conversations_info(channel="C1"))["channel"]["is_member"] is True

    posted = await client.chat_postMessage(channel="C1", text="root")
    await client.chat_postMessage(channel="C1", text="reply", thread_ts=posted["ts"])
    history = await client.conversations_history(channel="C1")
    assert [m["text"] for m in history["messages"]] == ["root"]
    assert fake.violations == []


async def test_strict_channels(fake: FakeSlackApi) -> None:
    """With auto_create_channels=False unknown channels give channel_not_found."""
    async with FakeSlackApi(auto_create_channels=False, channels={"C9": {"name": "known"}}) as f:
        client = AsyncWebClient(token=TOKEN, base_url=f.base_url, retry_handlers=[])
        assert (await client.conversations_info(channel="C9"))["channel"]["name"] == "known"
        with pytest.raises(SlackApiError) as err:
            await client.conversations_info(channel="C404")
        assert err.value.response["error"] == "channel_not_found"


async def test_ephemeral_views_and_default_ok(fake: FakeSlackApi, client: AsyncWebClient) -> None:
    """postEphemeral, views.* keep ids/hashes; other spec methods answer ok."""
    eph = await client.chat_postEphemeral(channel="C1", user="U1", text="only you")
    assert re.fullmatch(r"\d{10}\.\d{6}", eph["message_ts"])
    assert fake.ephemerals[0]["user"] == "U1"

    opened = (await client.views_open(trigger_id="123.456", view=MODAL))["view"]
    assert opened["id"].startswith("V")
    assert opened["callback_id"] == "propose"
    updated = (await client.views_update(view_id=opened["id"], view=MODAL, hash=opened["hash"]))[
        "view"
    ]
    assert updated["id"] == opened["id"]
    assert updated["hash"] != opened["hash"]
    with pytest.raises(SlackApiError) as err:
        await client.views_update(view_id=opened["id"], view=MODAL, hash=opened["hash"])
    assert err.value.response["error"] == "hash_conflict"

    home = {"type": "home", "blocks": BLOCKS}
    first = (await client.views_publish(user_id="U1", view=home))["view"]
    again = (await client.views_publish(user_id="U1", view=home))["view"]
    assert first["id"] == again["id"]
    assert fake.views[first["id"]]["type"] == "home"

    assert (await client.reactions_add(channel="C1", name="tada", timestamp=eph["message_ts"]))[
        "ok"
    ] is True
    assert fake.violations == []


async def test_response_url_records_respond(fake: FakeSlackApi) -> None:
    """slack_bolt's respond() posts JSON to the fake's response_url."""
    respond = AsyncRespond(response_url=fake.response_url("tok1"))
    resp = await respond(text="Done", replace_original=True, blocks=BLOCKS)
    assert resp.status_code == 200
    await AsyncRespond(response_url=fake.response_url("tok2"))(text="Other")
    assert fake.responses[0]["text"] == "Done"
    assert fake.responses[0]["replace_original"] is True
    assert fake.responses[0]["blocks"] == BLOCKS
    assert [r["text"] for r in fake.responses_for("tok2")] == ["Other"]
    assert fake.calls == []
    assert fake.violations == []


async def test_message_metadata_is_read_back_only_when_asked_for(
    fake: FakeSlackApi, client: AsyncWebClient
) -> None:
    """Metadata (a documented supplement to the 2021 spec) as Slack keeps and lists it."""
    metadata = {"event_type": "hearth_outbox", "event_payload": {"delivery": "d1"}}
    parent = await client.chat_postMessage(channel="C1", text="parent", metadata=metadata)
    await client.chat_postMessage(
        channel="C1", text="reply", thread_ts=parent["ts"], metadata=metadata
    )
    plain = await client.conversations_history(channel="C1")
    assert [m.get("metadata") for m in plain["messages"]] == [None]
    asked = await client.conversations_history(channel="C1", include_all_metadata=True)
    assert [m["metadata"] for m in asked["messages"]] == [metadata]
    thread = await client.conversations_replies(
        channel="C1", ts=parent["ts"], include_all_metadata=True, limit=1
    )
    assert [m["text"] for m in thread["messages"]] == ["parent"]
    assert thread["has_more"] is True
    rest = await client.conversations_replies(
        channel="C1", ts=parent["ts"], cursor=thread["response_metadata"]["next_cursor"]
    )
    assert [(m["text"], m.get("metadata")) for m in rest["messages"]] == [("reply", None)]
    assert take_violations(fake) == []
