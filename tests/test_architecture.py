"""The dependency rule: the core never imports a platform SDK; storage imports nothing of ours."""

from __future__ import annotations

import ast
import functools
import inspect
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, web
from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botframework.connector.aio.operations_async import ConversationsOperations
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from hearth.handlers.context import Context
from hearth.handlers.ports import Messenger
from tests.conftest import shared_path

HEARTH = Path(__file__).resolve().parents[1] / "hearth"
PLATFORM_SDKS = ("slack_bolt", "slack_sdk", "botbuilder", "botframework", "aiohttp")


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules(folder: str) -> list[Path]:
    found = sorted((HEARTH / folder).rglob("*.py"))
    assert found, f"no modules under hearth/{folder}"
    return found


@pytest.mark.parametrize("folder", ["handlers", "storage", "scheduler"])
def test_core_imports_no_platform_code(folder: str) -> None:
    offenders = {
        f"{path.relative_to(HEARTH)}: {name}"
        for path in modules(folder)
        for name in imports_of(path)
        if name.split(".")[0] in PLATFORM_SDKS
    }
    assert offenders == set()


def test_storage_imports_nothing_of_ours() -> None:
    offenders = {
        f"{path.relative_to(HEARTH)}: {name}"
        for path in modules("storage")
        for name in imports_of(path)
        if name.startswith("hearth.") and not name.startswith("hearth.storage")
    }
    assert offenders == set()


def test_handlers_use_only_the_calendar_s_words_not_its_engine() -> None:
    """Features declare timed work (rules, declarations); the engine runs above them."""
    offenders = {
        f"{path.relative_to(HEARTH)}: {name}"
        for path in modules("handlers")
        for name in imports_of(path)
        if name.startswith("hearth.scheduler")
        and name not in ("hearth.scheduler.rules", "hearth.scheduler.declarations")
    }
    assert offenders == set()


def test_no_settings_are_read_at_import_time() -> None:
    offenders = [
        str(path.relative_to(HEARTH))
        for path in HEARTH.rglob("*.py")
        if "os.environ" in path.read_text() and path.name != "cli.py"
    ]
    assert offenders == []


# ------------------------------------------------------------------ no send outside the outbox

READS = {
    "find_posted": "looks for an earlier post",
    "profile": "asks who a member is",
}
"""Messenger methods that reach nobody; every other method of the port sends or shows."""
NOT_SENDS = {"create_claims_identity": "Bot Framework authentication; sends nothing"}
"""botbuilder methods named like a send that are not one."""
TEAMS_VERBS = ("send", "reply", "update", "create", "continue", "upload", "delete")
"""botbuilder's verbs for what changes a conversation (the first word of a method's name)."""
COMMON_TYPES = (
    dict,
    list,
    set,
    str,
    bytes,
    socket.socket,
    web.UrlDispatcher,
    ClientSession,
    Context,
)
"""Types whose methods share names with a sending method (`dict.update`, `str.join`,
`ClientSession.post`, `Context.reply_privately`, which queues a direct answer): a call of such a
name counts only on a receiver named for the port or client."""
PLATFORM_MODULES = {"bot/slack/messenger.py", "bot/teams/messenger.py"}
"""The only modules that call a platform client's sending methods: the Messenger port's
implementations."""
OUTBOX = {"bot/outbox_sender.py"}
DIRECT_ANSWERS = {"handlers/context.py", "handlers/hub.py"}
"""Where answers to a member's own action (a private reply, a form, an update of what they
clicked) go out, after the transaction commits (ARCHITECTURE.md: they do not wait in the outbox)."""
PLATFORM_EXCEPTIONS = {
    ("bot/teams/adapter.py", "send_activity"): "the invoke response: the HTTP answer to the "
    "activity being handled, not a message",
}


def _changes_something(path: str, operation: dict[str, Any]) -> bool:
    """A Slack Web API method that needs a write scope, or shows a view or dialog."""
    scopes = [s for grant in operation.get("security", []) for s in grant.get("slackAuth", [])]
    family = path.strip("/").split(".")[0]
    return any(s.split(":")[1:2] == ["write"] for s in scopes) or family in ("views", "dialog")


@functools.cache
def slack_sends() -> frozenset[str]:
    """AsyncWebClient (and webhook) methods that post, change or show something, derived from
    Slack's own Web API spec (every method needing a write scope, and views) and the SDK."""
    spec = json.loads(shared_path("specs", "slack", "web-api.openapi.json").read_text())
    writes = {
        path.strip("/").replace(".", "_")
        for path, operations in spec["paths"].items()
        for operation in operations.values()
        if _changes_something(path, operation)
    }
    client = {name for name in dir(AsyncWebClient) if not name.startswith("_")}
    sends = {name for name in client if any(name == w or name.startswith(f"{w}_") for w in writes)}
    webhook = {n for n in dir(AsyncWebhookClient) if not n.startswith("_")}
    return frozenset(sends | {n for n in webhook if callable(getattr(AsyncWebhookClient, n))})


def teams_sends() -> set[str]:
    """botbuilder methods (turn context, adapter, Connector conversations) that change a
    conversation, derived from those classes."""
    names = {
        name
        for cls in (TurnContext, CloudAdapter, ConversationsOperations)
        for name in dir(cls)
        if not name.startswith("_") and callable(getattr(cls, name))
    }
    assert set(NOT_SENDS) <= names
    return {n for n in names if n.split("_")[0] in TEAMS_VERBS} - set(NOT_SENDS)


def messenger_sends() -> set[str]:
    """Every method of the Messenger port except its reads."""
    methods = {name for name, f in vars(Messenger).items() if inspect.iscoroutinefunction(f)}
    assert set(READS) <= methods
    return methods - set(READS)


def _names_in(node: ast.AST) -> Iterator[str]:
    for inner in ast.walk(node):
        if isinstance(inner, ast.Name):
            yield inner.id
        elif isinstance(inner, ast.Attribute):
            yield inner.attr


def send_offenders(source: str, where: str) -> list[str]:
    """Calls in one module (`where`, relative to hearth/) of a sending method from a place
    that may not make it."""
    slack, teams, port = slack_sends(), teams_sends(), messenger_sends()
    common = {name for cls in COMMON_TYPES for name in dir(cls)}
    offenders = []
    for node in ast.walk(ast.parse(source, filename=where)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        method, receiver = node.func.attr, node.func.value
        named = {n.lower() for n in _names_in(receiver)}
        call = f"{where}:{node.lineno}: {ast.unparse(receiver)}.{method}(…)"
        if method in port and (method not in common or any("messenger" in n for n in named)):
            allowed = OUTBOX if method == "post" else OUTBOX | DIRECT_ANSWERS | PLATFORM_MODULES
            if where not in allowed:
                offenders.append(call)
        platform = method in slack | teams
        if (
            platform
            and (method not in common or any("webhook" in n for n in named))
            and where not in PLATFORM_MODULES
            and (where, method) not in PLATFORM_EXCEPTIONS
        ):
            offenders.append(call)
    return offenders


def test_the_sending_methods_are_derived_from_the_classes() -> None:
    assert {
        "chat_postMessage",
        "chat_postEphemeral",
        "chat_update",
        "files_upload",
        "files_upload_v2",
        "conversations_open",
        "views_open",
        "views_publish",
        "send",
    } <= slack_sends()
    assert {
        "send_activity",
        "send_activities",
        "update_activity",
        "create_conversation",
        "continue_conversation",
        "send_to_conversation",
        "reply_to_activity",
    } <= teams_sends()
    assert messenger_sends() == {
        "post",
        "update",
        "reply_privately",
        "open_form",
        "send_file",
        "show_home",
        "join",
    }
    assert "auth_test" not in slack_sends() and "users_info" not in slack_sends()


def test_nothing_sends_outside_the_outbox_and_the_messengers() -> None:
    offenders = [
        offender
        for path in sorted(HEARTH.rglob("*.py"))
        for offender in send_offenders(path.read_text(), str(path.relative_to(HEARTH)))
    ]
    assert offenders == []


SNEAKY = """
async def welcome(context, client, turn, adapter, hub, url):
    await context.messenger.post("W", target, card)
    await hub.messengers["slack"].update("W", ref, card)
    await client.chat_postEphemeral(channel="C", user="U", text="hi")
    await client.files_upload_v2(channel="C", content=b"x")
    await client.conversations_open(users="U")
    await client.views_open(trigger_id="t", view={})
    await AsyncWebhookClient(url).send(text="hi")
    await turn.send_activity("hi")
    await adapter.continue_conversation(reference, logic, "app")
    await turn.context.adapter.create_conversation(reference, logic)
    names = {}
    names.update(a=1)
    " ".join(["not", "a", "send"])
    session.post(url)
"""


def test_the_send_check_finds_every_kind_of_send() -> None:
    found = send_offenders(SNEAKY, "handlers/welcome.py")
    assert [line.split(": ", 1)[1] for line in found] == [
        "context.messenger.post(…)",
        "hub.messengers['slack'].update(…)",
        "client.chat_postEphemeral(…)",
        "client.files_upload_v2(…)",
        "client.conversations_open(…)",
        "client.views_open(…)",
        "AsyncWebhookClient(url).send(…)",
        "turn.send_activity(…)",
        "adapter.continue_conversation(…)",
        "turn.context.adapter.create_conversation(…)",
    ]
    assert send_offenders(SNEAKY.replace("client.", "self.client."), "bot/slack/messenger.py") == [
        f"bot/slack/messenger.py:{n}: {call}" for n, call in [(3, "context.messenger.post(…)")]
    ]
