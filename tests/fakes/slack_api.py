"""Local fake of the Slack Web API, checked against Slack's own OpenAPI (Swagger 2.0) spec.

Usage::

    async with FakeSlackApi() as fake:
        client = AsyncWebClient(token="xoxb-test", base_url=fake.base_url)
        await client.chat_postMessage(channel="C1", text="hi")
        assert fake.violations == []
        assert fake.calls_to("chat.postMessage")[0]["text"] == "hi"

Every request to ``/api/<method>`` is checked against the spec: the method must exist, a
required token must come as ``Authorization: Bearer ...``, every required parameter must be
present, every parameter must be known to the spec and boolean/integer/number parameters must
parse. A failed check answers HTTP 400 ``{"ok": false, "error": "spec_violation"}`` and is
appended to ``fake.violations``.

The spec (``../shared/specs/slack/web-api.openapi.json``) dates from 2021; newer parameters that
slack_sdk can send are reported as unknown rather than silently accepted, except the few Hearth
uses, which are listed with their documentation in ``SUPPLEMENTS`` and ``PARAMETER_SUPPLEMENTS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import functools
import json
import math
import re
import socket
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import WSMsgType, web

SPEC_RELATIVE_PATH = Path("shared/specs/slack/web-api.openapi.json")

TEAM_ID = "T111"
TEAM_NAME = "Test"
TEAM_URL = "https://test.slack.com/"
BOT_USER_ID = "UHEARTH"
BOT_USER_NAME = "hearth"
BOT_ID = "BHEARTH"
APP_ID = "AHEARTH"

# Parameters whose value is JSON sent as a string in form/query encoding.
JSON_STRING_PARAMS = frozenset(
    {"blocks", "attachments", "view", "metadata", "unfurls", "user_auth_blocks", "profile", "files"}
)

_FIRST_TS_SECONDS = 1_700_000_000
_TS_STEP_MICROS = 100
_INTEGER_RE = re.compile(r"-?\d+")
_TRUE_FALSE = frozenset({"true", "false", "1", "0"})


def spec_path() -> Path:
    """Return where the Slack Web API OpenAPI spec is expected (``../shared`` of the repo)."""
    return Path(__file__).resolve().parents[2].parent / SPEC_RELATIVE_PATH


def spec_available() -> bool:
    """Return True when the Slack OpenAPI spec file exists."""
    return spec_path().is_file()


SPEC_MISSING_REASON = (
    f"Slack Web API OpenAPI spec not found at {spec_path()}; "
    "the ../shared checkout next to the repository is needed for Slack fake tests"
)


@dataclass(frozen=True)
class ParamSpec:
    """One parameter of a Slack method as the spec declares it."""

    name: str
    location: str  # "header", "query" or "formData"
    required: bool
    type: str


@dataclass(frozen=True)
class MethodSpec:
    """What the spec says about one Web API method."""

    name: str
    http_verb: str
    consumes: frozenset[str]
    params: Mapping[str, ParamSpec]  # excluding ``token``
    token: ParamSpec | None


def _supplement(name: str, required: tuple[str, ...], optional: tuple[str, ...]) -> MethodSpec:
    params = {p: ParamSpec(p, "formData", p in required, "string") for p in (*required, *optional)}
    return MethodSpec(
        name=name,
        http_verb="POST",
        consumes=frozenset({"application/x-www-form-urlencoded"}),
        params=MappingProxyType(params),
        token=ParamSpec("token", "header", True, "string"),
    )


SUPPLEMENTS: Mapping[str, MethodSpec] = MappingProxyType(
    {
        # Slack's file upload since files.upload was retired (2024-25); the 2021 spec predates
        # them. Parameters as documented at docs.slack.dev/reference/methods/<name>.
        "files.getUploadURLExternal": _supplement(
            "files.getUploadURLExternal", ("filename", "length"), ("alt_txt", "snippet_type")
        ),
        "files.completeUploadExternal": _supplement(
            "files.completeUploadExternal",
            ("files",),
            ("channel_id", "channels", "initial_comment", "thread_ts"),
        ),
        # Socket Mode's URL, called with the app-level token (docs.slack.dev: apps.connections.open)
        "apps.connections.open": _supplement("apps.connections.open", (), ()),
    }
)
"""Methods checked against Slack's documentation because the 2021 OpenAPI file lacks them."""

PARAMETER_SUPPLEMENTS: Mapping[str, tuple[ParamSpec, ...]] = MappingProxyType(
    {
        # Message metadata (2022), documented at docs.slack.dev/messaging/message-metadata:
        # posted with chat.postMessage, read back only when history is asked to include it.
        "chat.postMessage": (ParamSpec("metadata", "formData", False, "string"),),
        "conversations.history": (ParamSpec("include_all_metadata", "query", False, "boolean"),),
        "conversations.replies": (ParamSpec("include_all_metadata", "query", False, "boolean"),),
    }
)
"""Parameters newer than the 2021 OpenAPI file, checked against Slack's documentation."""


@functools.lru_cache(maxsize=4)
def load_method_specs(path: Path) -> Mapping[str, MethodSpec]:
    """Parse the Swagger file at ``path`` into a read-only ``{method: MethodSpec}`` index."""
    with path.open(encoding="utf-8") as fh:
        spec = json.load(fh)
    methods: dict[str, MethodSpec] = {}
    for route, item in spec["paths"].items():
        for verb, operation in item.items():
            params: dict[str, ParamSpec] = {}
            token: ParamSpec | None = None
            for raw in operation.get("parameters", []):
                param = ParamSpec(
                    name=raw["name"],
                    location=raw["in"],
                    required=bool(raw.get("required", False)),
                    type=raw.get("type", "string"),
                )
                if param.name == "token":
                    token = param
                else:
                    params[param.name] = param
            name = route.lstrip("/")
            methods[name] = MethodSpec(
                name=name,
                http_verb=verb.upper(),
                consumes=frozenset(operation.get("consumes", [])),
                params=MappingProxyType(params),
                token=token,
            )
    for name, extra in PARAMETER_SUPPLEMENTS.items():
        method = methods[name]
        params = dict(method.params) | {param.name: param for param in extra}
        methods[name] = dataclasses.replace(method, params=MappingProxyType(params))
    return MappingProxyType(methods | dict(SUPPLEMENTS))


@dataclass(frozen=True)
class Call:
    """One request the fake received.

    ``failed`` is True when the fake answered with an injected failure or a spec violation
    (not for ordinary simulated errors such as ``user_not_found``).
    """

    method: str
    params: dict[str, Any]
    failed: bool = False
    http_verb: str = field(default="POST", compare=False)
    token: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class _InjectedFailure:
    status: int
    error: str
    retry_after: int | None
    after_handling: bool = False
    drop_connection: bool = False


@dataclass
class _Limit:
    """A Slack rate-limit tier on one method: at most `per_minute` calls in any minute."""

    per_minute: int
    now: Callable[[], datetime]
    recent: deque[datetime] = field(default_factory=deque)

    def retry_after(self) -> int | None:
        """None to let a call through (and count it), else whole seconds to wait."""
        now = self.now()
        while self.recent and (now - self.recent[0]).total_seconds() >= 60:
            self.recent.popleft()
        if len(self.recent) < self.per_minute:
            self.recent.append(now)
            return None
        return max(1, math.ceil(60 - (now - self.recent[0]).total_seconds()))


class SlackApiException(Exception):
    """Raised by a method handler to answer ``{"ok": false, "error": error}``."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


Handler = Callable[[dict[str, Any]], dict[str, Any]]


class FakeSlackApi:
    """A spec-checking fake Slack Web API served by aiohttp on 127.0.0.1 and a free port."""

    def __init__(
        self,
        *,
        users: Mapping[str, Mapping[str, Any]] | None = None,
        channels: Mapping[str, Mapping[str, Any]] | None = None,
        auto_create_channels: bool = True,
        spec: Path | None = None,
    ) -> None:
        """Set up state; ``users``/``channels`` values are merged over generated defaults.

        With ``auto_create_channels`` (default) any channel id the bot refers to exists; set it
        False to get ``channel_not_found`` for channels not added via ``channels``/``add_channel``.
        """
        path = spec or spec_path()
        if not path.is_file():
            raise FileNotFoundError(SPEC_MISSING_REASON if spec is None else str(path))
        self._methods = load_method_specs(path)
        self.auto_create_channels = auto_create_channels

        self.calls: list[Call] = []
        self.violations: list[str] = []
        self.delays: dict[str, float] = {}
        """Seconds the fake takes to answer a method (a slow Slack), by method name."""
        self.users: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self.ephemerals: list[dict[str, Any]] = []
        self.views: dict[str, dict[str, Any]] = {}
        self.responses: list[dict[str, Any]] = []
        self.files: dict[str, dict[str, Any]] = {}
        """Uploaded files by id: filename, content (bytes), and once shared: channel, comment."""

        self._response_log: list[tuple[str, dict[str, Any]]] = []
        self._failures: dict[str, deque[_InjectedFailure]] = {}
        self._limits: dict[str, _Limit] = {}
        self.rate_limited: list[str] = []
        """Methods answered 429 by a `limit`, one entry per such answer."""
        self._holds: dict[str, int] = {}
        self._release = asyncio.Event()
        self.held: list[str] = []
        """Methods of calls waiting in a `hold` right now."""
        self._home_views: dict[str, str] = {}
        self._ts_counter = 0
        self._view_counter = 0
        self._hash_counter = 0
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._handlers: dict[str, Handler] = {
            "auth.test": self._auth_test,
            "users.info": self._users_info,
            "conversations.open": self._conversations_open,
            "conversations.join": self._conversations_join,
            "conversations.info": self._conversations_info,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.getPermalink": self._chat_get_permalink,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "views.open": self._views_open,
            "views.push": self._views_open,
            "views.publish": self._views_publish,
            "views.update": self._views_update,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
            "apps.connections.open": self._apps_connections_open,
        }
        self.socket_acks: list[dict[str, Any]] = []
        """Acknowledgements received over Socket Mode, in order."""
        self._sockets: list[web.WebSocketResponse] = []

        self.add_user(BOT_USER_ID, BOT_USER_NAME, is_bot=True, real_name="Hearth")
        for user_id, overrides in (users or {}).items():
            self._add_user_from_mapping(user_id, overrides)
        for channel_id, overrides in (channels or {}).items():
            purpose = overrides.get("purpose", "")
            record = self.add_channel(
                channel_id,
                name=overrides.get("name"),
                purpose=purpose if isinstance(purpose, str) else "",
                is_member=bool(overrides.get("is_member", False)),
                is_private=overrides.get("is_private"),
            )
            extra = {k: v for k, v in overrides.items() if isinstance(v, dict) or k != "purpose"}
            record.update(copy.deepcopy(extra))

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> FakeSlackApi:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Start serving on 127.0.0.1 on a port the OS picks."""
        if self._runner is not None:
            raise RuntimeError("FakeSlackApi already started")
        app = web.Application()
        app.router.add_route("GET", "/api/{method}", self._handle_api)
        app.router.add_route("POST", "/api/{method}", self._handle_api)
        app.router.add_route("POST", "/respond/{token}", self._handle_respond)
        app.router.add_route("POST", "/upload/{file_id}", self._handle_upload)
        app.router.add_route("GET", "/socket", self._handle_socket)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind(("127.0.0.1", 0))
            self._port = sock.getsockname()[1]
            await web.SockSite(runner, sock).start()
        except BaseException:
            sock.close()
            await runner.cleanup()
            raise
        self._runner = runner

    async def close(self) -> None:
        """Stop the server (idempotent)."""
        for ws in self._sockets:
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def port(self) -> int:
        """The TCP port the fake listens on."""
        if self._port is None or self._runner is None:
            raise RuntimeError("FakeSlackApi is not running; use `async with FakeSlackApi()`")
        return self._port

    @property
    def url(self) -> str:
        """Server root, e.g. ``http://127.0.0.1:54321``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """Web API base URL for ``AsyncWebClient(base_url=...)``."""
        return f"{self.url}/api/"

    def response_url(self, token: str = "x") -> str:
        """A ``response_url`` for slash-command / interaction payloads that posts to this fake."""
        return f"{self.url}/respond/{token}"

    # ------------------------------------------------------------------ test helpers

    def add_user(
        self,
        user_id: str,
        name: str,
        tz: str = "Europe/London",
        is_bot: bool = False,
        deleted: bool = False,
        real_name: str | None = None,
    ) -> dict[str, Any]:
        """Add (or replace) a user returned by ``users.info``; returns the stored user object."""
        real = real_name if real_name is not None else name
        offset = datetime.now(UTC).astimezone(ZoneInfo(tz)).utcoffset()
        profile: dict[str, Any] = {
            "display_name": name,
            "display_name_normalized": name,
            "real_name": real,
            "real_name_normalized": real,
            "team": TEAM_ID,
        }
        if is_bot:
            profile.update({"bot_id": BOT_ID if user_id == BOT_USER_ID else "B" + user_id[1:]})
            if user_id == BOT_USER_ID:
                profile["api_app_id"] = APP_ID
        user: dict[str, Any] = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": name,
            "real_name": real,
            "tz": tz,
            "tz_offset": int(offset.total_seconds()) if offset is not None else 0,
            "is_bot": is_bot,
            "is_app_user": False,
            "is_admin": False,
            "is_owner": False,
            "deleted": deleted,
            "profile": profile,
        }
        self.users[user_id] = user
        return user

    def add_channel(
        self,
        channel_id: str,
        name: str | None = None,
        purpose: str = "",
        is_member: bool = False,
        is_private: bool | None = None,
    ) -> dict[str, Any]:
        """Add (or replace) a conversation; returns the stored channel object."""
        is_im = channel_id.startswith("D")
        private = channel_id.startswith("G") if is_private is None else is_private
        record: dict[str, Any] = {
            "id": channel_id,
            "created": _FIRST_TS_SECONDS,
            "is_channel": not is_im and not private,
            "is_group": private,
            "is_im": is_im,
            "is_mpim": False,
            "is_private": private or is_im,
            "is_archived": False,
            "is_general": False,
            "is_member": is_member,
            "context_team_id": TEAM_ID,
        }
        if not is_im:
            record["name"] = name if name is not None else f"channel-{channel_id.lower()}"
            record["name_normalized"] = record["name"]
            record["topic"] = {"value": "", "creator": "", "last_set": 0}
            record["purpose"] = {
                "value": purpose,
                "creator": "",
                "last_set": _FIRST_TS_SECONDS if purpose else 0,
            }
        self.channels[channel_id] = record
        return record

    def fail_next(
        self,
        method: str,
        status: int | None = None,
        *,
        error: str | None = None,
        retry_after: int = 1,
        times: int = 1,
        after_handling: bool = False,
    ) -> None:
        """Make the next ``times`` spec-valid calls to ``method`` fail.

        ``status`` defaults to 429 (``ratelimited`` with ``Retry-After``) or, when only ``error``
        is given, to 200 with ``{"ok": false, "error": error}``. Other statuses (e.g. 500) answer
        ``{"ok": false, "error": error or "internal_error"}``. With ``after_handling`` the call
        takes effect first (a message is posted) and only its answer fails, as when Slack did
        the work but the response was lost.
        """
        if method not in self._methods:
            raise ValueError(f"{method!r} is not a method in the Slack spec")
        if status is None:
            status = 200 if error is not None else 429
        if error is None:
            error = {429: "ratelimited", 200: "fatal_error"}.get(status, "internal_error")
        failure = _InjectedFailure(
            status=status,
            error=error,
            retry_after=retry_after if status == 429 else None,
            after_handling=after_handling,
        )
        queue = self._failures.setdefault(method, deque())
        queue.extend([failure] * times)

    def drop_next(self, method: str, *, times: int = 1, after_handling: bool = True) -> None:
        """Close the connection of the next ``times`` calls without an answer; by default only
        after doing the work (the post lands), as when Slack's answer is lost on the way."""
        if method not in self._methods:
            raise ValueError(f"{method!r} is not a method in the Slack spec")
        failure = _InjectedFailure(0, "", None, after_handling, drop_connection=True)
        self._failures.setdefault(method, deque()).extend([failure] * times)

    def limit(self, method: str, per_minute: int, now: Callable[[], datetime]) -> None:
        """Enforce a rate-limit tier on ``method`` (Tier 3: 50 per minute), measured on the
        ``now`` clock: a call over it is answered 429 ``ratelimited`` with ``Retry-After``."""
        self._limits[method] = _Limit(per_minute, now)

    def hold(self, method: str, times: int) -> None:
        """Keep the next ``times`` calls to ``method`` waiting, unhandled, until `release()`;
        then they are handled as usual (even if their caller has gone)."""
        self._holds[method] = self._holds.get(method, 0) + times
        self._release.clear()

    def release(self) -> None:
        """Let every held call go on."""
        self._holds.clear()
        self._release.set()

    def calls_to(self, method: str, *, include_failed: bool = True) -> list[dict[str, Any]]:
        """Parameters of every recorded call to ``method``, oldest first."""
        return [
            c.params for c in self.calls if c.method == method and (include_failed or not c.failed)
        ]

    def responses_for(self, token: str) -> list[dict[str, Any]]:
        """Bodies posted to ``response_url(token)``, oldest first."""
        return [body for tok, body in self._response_log if tok == token]

    def channel_messages(self, channel: str) -> list[dict[str, Any]]:
        """Stored messages of ``channel`` (including thread replies), oldest first."""
        found = [msg for (chan, _), msg in self.messages.items() if chan == channel]
        return sorted(found, key=lambda m: float(m["ts"]))

    # ------------------------------------------------------------------ HTTP layer

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        problems: list[str] = []
        params, param_token, sent_json = await self._read_params(request, problems)
        header_token = self._bearer_token(request, problems)
        spec = self._methods.get(method)
        if spec is None:
            problems.append(f"unknown method {method!r} (not in the Slack OpenAPI spec)")
        else:
            self._check_against_spec(spec, sent_json, params, header_token, param_token, problems)
        params.pop("token", None)
        self._decode_json_params(params, problems)

        call_kwargs: dict[str, Any] = {
            "method": method,
            "params": params,
            "http_verb": request.method,
            "token": header_token or param_token,
        }
        if problems:
            detail = f"{request.method} {method}: " + "; ".join(problems)
            self.violations.append(detail)
            self.calls.append(Call(failed=True, **call_kwargs))
            return web.json_response(
                {"ok": False, "error": "spec_violation", "detail": detail}, status=400
            )

        if self._holds.get(method, 0) > 0:
            self._holds[method] -= 1
            self.held.append(method)
            try:
                await self._release.wait()
            finally:
                self.held.remove(method)

        limit = self._limits.get(method)
        retry_after = limit.retry_after() if limit is not None else None
        if retry_after is not None:
            self.calls.append(Call(failed=True, **call_kwargs))
            self.rate_limited.append(method)
            return web.json_response(
                {"ok": False, "error": "ratelimited"},
                status=429,
                headers={"Retry-After": str(retry_after)},
            )

        if self.delays.get(method):
            await asyncio.sleep(self.delays[method])
        queue = self._failures.get(method)
        if queue:
            failure = queue.popleft()
            self.calls.append(Call(failed=True, **call_kwargs))
            if failure.after_handling:
                with contextlib.suppress(SlackApiException):
                    self._handlers.get(method, _default_ok)(copy.deepcopy(params))
            if failure.drop_connection:
                assert request.transport is not None
                request.transport.abort()  # no answer at all: the caller sees the line drop
                return web.Response(status=500)
            headers = {}
            if failure.retry_after is not None:
                headers["Retry-After"] = str(failure.retry_after)
            return web.json_response(
                {"ok": False, "error": failure.error}, status=failure.status, headers=headers
            )

        self.calls.append(Call(**call_kwargs))
        handler = self._handlers.get(method, _default_ok)
        try:
            body = handler(copy.deepcopy(params))
        except SlackApiException as exc:
            body = {"ok": False, "error": exc.error}
        return web.json_response(body)

    @property
    def socket_connected(self) -> bool:
        return any(not ws.closed for ws in self._sockets)

    async def socket_send(self, envelope: dict[str, Any]) -> None:
        """Send a Socket Mode envelope (events_api, slash_commands, interactive) to the app."""
        live = [ws for ws in self._sockets if not ws.closed]
        if not live:
            raise RuntimeError("no Socket Mode connection")
        await live[-1].send_json(envelope)

    def _apps_connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket"}

    async def _handle_socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": 1})
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                self.socket_acks.append(json.loads(message.data))
        return ws

    async def _handle_upload(self, request: web.Request) -> web.Response:
        record = self.files.get(request.match_info["file_id"])
        if record is None:
            return web.Response(status=404, text="unknown upload")
        record["content"] = await request.read()
        return web.Response(text="OK - uploaded")

    def _files_get_upload_url(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = f"F{len(self.files) + 1:08d}"
        self.files[file_id] = {"filename": params["filename"], "length": int(params["length"])}
        return {"ok": True, "file_id": file_id, "upload_url": f"{self.url}/upload/{file_id}"}

    def _files_complete_upload(self, params: dict[str, Any]) -> dict[str, Any]:
        shared = []
        for entry in params["files"]:
            record = self.files.get(entry.get("id", ""))
            if record is None or "content" not in record:
                raise SlackApiException("file_not_found")
            if len(record["content"]) != record["length"]:
                raise SlackApiException("file_upload_size_mismatch")
            record.update(
                channel=params.get("channel_id"),
                comment=params.get("initial_comment"),
                title=entry.get("title"),
            )
            shared.append(
                {"id": entry["id"], "title": entry.get("title"), "name": record["filename"]}
            )
        return {"ok": True, "files": shared}

    async def _handle_respond(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        try:
            body = json.loads(await request.text())
        except json.JSONDecodeError as exc:
            body = None
            problem = f"body is not JSON ({exc})"
        else:
            problem = "" if isinstance(body, dict) else "body is not a JSON object"
        if problem:
            detail = f"POST /respond/{token}: {problem}"
            self.violations.append(detail)
            return web.json_response(
                {"ok": False, "error": "spec_violation", "detail": detail}, status=400
            )
        assert isinstance(body, dict)
        self.responses.append(body)
        self._response_log.append((token, body))
        return web.Response(text="ok", content_type="text/html")

    async def _read_params(
        self, request: web.Request, problems: list[str]
    ) -> tuple[dict[str, Any], str | None, bool]:
        """Merge query string and body (form, multipart or JSON) into one dict.

        Returns ``(params, token parameter if any, whether the body was JSON)``.
        """
        params: dict[str, Any] = dict(request.query.items())
        sent_json = False
        if request.can_read_body:
            if request.content_type == "application/json":
                sent_json = True
                raw = await request.text()
                try:
                    body = json.loads(raw) if raw.strip() else {}
                except json.JSONDecodeError as exc:
                    problems.append(f"JSON body does not parse ({exc})")
                    body = {}
                if isinstance(body, dict):
                    params.update(body)
                else:
                    problems.append("JSON body is not an object")
            elif request.content_type in (
                "application/x-www-form-urlencoded",
                "multipart/form-data",
            ):
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        params[key] = value.file.read()
                    else:
                        params[key] = value
            else:
                raw_bytes = await request.read()
                if raw_bytes:
                    problems.append(f"unsupported Content-Type {request.content_type!r}")
        token = params.get("token")
        return params, token if isinstance(token, str) else None, sent_json

    @staticmethod
    def _bearer_token(request: web.Request, problems: list[str]) -> str | None:
        header = request.headers.get("Authorization")
        if header is None or header.startswith("Basic "):
            return None
        scheme, _, token = header.partition(" ")
        if scheme != "Bearer" or not token.strip():
            problems.append("Authorization header is not 'Bearer <token>'")
            return None
        return token.strip()

    @staticmethod
    def _check_against_spec(
        spec: MethodSpec,
        sent_json: bool,
        params: dict[str, Any],
        header_token: str | None,
        param_token: str | None,
        problems: list[str],
    ) -> None:
        if sent_json and "application/json" not in spec.consumes:
            problems.append(
                f"{spec.name} does not accept a JSON body (spec consumes "
                f"{sorted(spec.consumes)}); Slack would ignore its arguments"
            )
        token_spec = spec.token
        if token_spec is not None:
            if token_spec.location == "header":
                if param_token is not None:
                    problems.append("token sent as a parameter; send 'Authorization: Bearer'")
                if token_spec.required and header_token is None:
                    problems.append("missing required token ('Authorization: Bearer ...')")
            elif token_spec.required and header_token is None and param_token is None:
                problems.append("missing required token")
        elif param_token is not None:
            problems.append("unknown parameter 'token'")

        for name in sorted(params):
            if name == "token":
                continue
            param = spec.params.get(name)
            if param is None:
                problems.append(f"unknown parameter {name!r} (not in the spec for {spec.name})")
            elif not _type_ok(params[name], param.type):
                problems.append(f"parameter {name!r} should be {param.type}, got {params[name]!r}")
        for param in spec.params.values():
            if param.required and params.get(param.name) in (None, ""):
                problems.append(f"missing required parameter {param.name!r}")

    @staticmethod
    def _decode_json_params(params: dict[str, Any], problems: list[str]) -> None:
        for name in JSON_STRING_PARAMS & params.keys():
            value = params[name]
            if isinstance(value, str) and value.strip():
                try:
                    params[name] = json.loads(value)
                except json.JSONDecodeError:
                    problems.append(f"parameter {name!r} is not valid JSON: {value[:80]!r}")

    # ------------------------------------------------------------------ state helpers

    def _add_user_from_mapping(self, user_id: str, overrides: Mapping[str, Any]) -> None:
        user = self.add_user(
            user_id,
            str(overrides.get("name", user_id.lower())),
            tz=str(overrides.get("tz", "Europe/London")),
            is_bot=bool(overrides.get("is_bot", False)),
            deleted=bool(overrides.get("deleted", False)),
            real_name=overrides.get("real_name"),
        )
        user.update(copy.deepcopy(dict(overrides)))
        user["id"] = user_id

    def _next_ts(self) -> str:
        self._ts_counter += 1
        micros = self._ts_counter * _TS_STEP_MICROS
        return f"{_FIRST_TS_SECONDS + micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _channel(self, channel_id: Any) -> dict[str, Any]:
        if not isinstance(channel_id, str) or not channel_id:
            raise SlackApiException("channel_not_found")
        record = self.channels.get(channel_id)
        if record is None:
            if not self.auto_create_channels:
                raise SlackApiException("channel_not_found")
            record = self.add_channel(channel_id)
        return record

    def _open_im(self, user_id: str) -> dict[str, Any]:
        channel_id = "D" + user_id
        record = self.channels.get(channel_id)
        if record is None:
            record = self.add_channel(channel_id, is_member=True)
            record["user"] = user_id
        return record

    def _resolve_post_channel(self, channel: Any) -> str:
        """Posting to a user id goes to the DM with that user, as on Slack."""
        if isinstance(channel, str) and channel[:1] in ("U", "W"):
            return self._open_im(channel)["id"]
        return self._channel(channel)["id"]

    # ------------------------------------------------------------------ method handlers

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": TEAM_URL,
            "team": TEAM_NAME,
            "user": BOT_USER_NAME,
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(params.get("user", ""))
        if user is None:
            raise SlackApiException("user_not_found")
        return {"ok": True, "user": copy.deepcopy(user)}

    def _conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        users = [u for u in str(params.get("users") or "").split(",") if u]
        if params.get("channel"):
            record = self._channel(params["channel"])
            return {
                "ok": True,
                "no_op": True,
                "already_open": True,
                "channel": {"id": record["id"]},
            }
        if not users:
            raise SlackApiException("users_list_not_supplied")
        if len(users) == 1:
            existed = "D" + users[0] in self.channels
            record = self._open_im(users[0])
        else:
            channel_id = "G" + "".join(sorted(u.lstrip("UW") for u in users))
            existed = channel_id in self.channels
            record = self.channels.get(channel_id) or self.add_channel(
                channel_id, name="mpdm-" + "--".join(sorted(users)), is_member=True
            )
            record["is_mpim"] = True
        body: dict[str, Any] = {"ok": True, "channel": {"id": record["id"]}}
        if existed:
            body.update({"no_op": True, "already_open": True})
        return body

    def _conversations_join(self, params: dict[str, Any]) -> dict[str, Any]:
        record = self._channel(params.get("channel"))
        if record["is_im"] or record["is_mpim"]:
            raise SlackApiException("method_not_supported_for_channel_type")
        already = record["is_member"]
        record["is_member"] = True
        body: dict[str, Any] = {"ok": True, "channel": copy.deepcopy(record)}
        if already:
            body["warning"] = "already_in_channel"
            body["response_metadata"] = {"warnings": ["already_in_channel"]}
        return body

    def _conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "channel": copy.deepcopy(self._channel(params.get("channel")))}

    def _conversations_history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params.get("channel"))["id"]
        top_level = [
            msg
            for msg in self.channel_messages(channel)
            if msg.get("thread_ts") in (None, msg["ts"]) or msg.get("subtype") == "thread_broadcast"
        ]
        return self._page(list(reversed(top_level)), params) | {"pin_count": 0}

    def _conversations_replies(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params.get("channel"))["id"]
        parent = str(params.get("ts"))
        if (channel, parent) not in self.messages:
            raise SlackApiException("thread_not_found")
        thread = [
            msg
            for msg in self.channel_messages(channel)
            if msg["ts"] == parent or msg.get("thread_ts") == parent
        ]  # oldest first, as Slack lists a thread
        return self._page(thread, params)

    @staticmethod
    def _page(messages: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
        """One page of `messages` (already in Slack's order), as history methods answer."""
        limit = int(params.get("limit") or 100)
        start = int(params.get("cursor") or 0)
        oldest = float(params.get("oldest") or 0)
        latest = float(params.get("latest") or "inf")
        in_range = [m for m in messages if oldest < float(m["ts"]) < latest]
        page = copy.deepcopy(in_range[start : start + limit])
        if params.get("include_all_metadata") not in (True, "true", "1", 1):
            for message in page:  # Slack leaves metadata out unless asked for it
                message.pop("metadata", None)
        more = start + limit < len(in_range)
        return {
            "ok": True,
            "messages": page,
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        if not any(params.get(k) for k in ("text", "blocks", "attachments")):
            raise SlackApiException("no_text")
        channel = self._resolve_post_channel(params.get("channel"))
        ts = self._next_ts()
        message: dict[str, Any] = {
            "type": "message",
            "text": params.get("text") or "",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM_ID,
            "ts": ts,
        }
        for key in ("blocks", "attachments", "metadata"):
            if params.get(key):
                message[key] = params[key]
        thread_ts = params.get("thread_ts")
        if thread_ts:
            message["thread_ts"] = str(thread_ts)
            message["parent_user_id"] = self.messages.get(
                (channel, str(thread_ts)), {"user": BOT_USER_ID}
            )["user"]
            if params.get("reply_broadcast") in (True, "true", "1", 1):
                message["subtype"] = "thread_broadcast"
        self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": copy.deepcopy(message)}

    def _chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = str(params.get("channel"))
        ts = str(params.get("ts"))
        message = self.messages.get((channel, ts))
        if message is None:
            raise SlackApiException("message_not_found")
        for key in ("text", "blocks", "attachments", "metadata"):
            if key in params:
                message[key] = params[key]
        message["edited"] = {"user": BOT_ID, "ts": self._next_ts()}
        return {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "text": message.get("text", ""),
            "message": copy.deepcopy(message),
        }

    def _chat_delete(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = str(params.get("channel"))
        ts = str(params.get("ts"))
        if self.messages.pop((channel, ts), None) is None:
            raise SlackApiException("message_not_found")
        return {"ok": True, "channel": channel, "ts": ts}

    def _chat_get_permalink(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = str(params.get("channel"))
        ts = str(params.get("message_ts"))
        if (channel, ts) not in self.messages:
            raise SlackApiException("message_not_found")
        link = f"{TEAM_URL}archives/{channel}/p{ts.replace('.', '')}"
        return {"ok": True, "channel": channel, "permalink": link}

    def _chat_post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        if not any(params.get(k) for k in ("text", "blocks", "attachments")):
            raise SlackApiException("no_text")
        channel = self._channel(params.get("channel"))["id"]
        message_ts = self._next_ts()
        self.ephemerals.append({**params, "channel": channel, "message_ts": message_ts})
        return {"ok": True, "message_ts": message_ts}

    def _new_view(self, view: Any, *, view_id: str | None = None) -> dict[str, Any]:
        if not isinstance(view, dict) or "type" not in view:
            raise SlackApiException("invalid_arguments")
        if view_id is None:
            self._view_counter += 1
            view_id = f"V{self._view_counter:08d}"
        previous = self.views.get(view_id, {})
        self._hash_counter += 1
        stored: dict[str, Any] = {
            "id": view_id,
            "team_id": TEAM_ID,
            "private_metadata": "",
            "callback_id": "",
            "external_id": previous.get("external_id", ""),
            "state": {"values": {}},
            "clear_on_close": False,
            "notify_on_close": False,
            "root_view_id": previous.get("root_view_id", view_id),
            "previous_view_id": None,
            "app_id": APP_ID,
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
            **copy.deepcopy(view),
            "hash": f"{_FIRST_TS_SECONDS}.{self._hash_counter:08d}",
        }
        self.views[view_id] = stored
        return stored

    def _views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "view": copy.deepcopy(self._new_view(params.get("view")))}

    def _views_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        user_id = str(params.get("user_id"))
        view_id = self._home_views.get(user_id)
        stale = view_id is not None and params.get("hash") not in (
            None,
            "",
            self.views[view_id]["hash"],
        )
        if stale:
            raise SlackApiException("hash_conflict")
        stored = self._new_view(params.get("view"), view_id=view_id)
        self._home_views[user_id] = stored["id"]
        return {"ok": True, "view": copy.deepcopy(stored)}

    def _views_update(self, params: dict[str, Any]) -> dict[str, Any]:
        view_id = params.get("view_id")
        if not view_id and params.get("external_id"):
            view_id = next(
                (v["id"] for v in self.views.values() if v["external_id"] == params["external_id"]),
                None,
            )
        if not view_id or view_id not in self.views:
            raise SlackApiException("not_found")
        if params.get("hash") and params["hash"] != self.views[view_id]["hash"]:
            raise SlackApiException("hash_conflict")
        return {
            "ok": True,
            "view": copy.deepcopy(self._new_view(params.get("view"), view_id=view_id)),
        }


def _default_ok(params: dict[str, Any]) -> dict[str, Any]:
    return {"ok": True}


def _type_ok(value: Any, spec_type: str) -> bool:
    """Loose Slack-style type check: form/query values are strings, JSON keeps its types."""
    if value is None:
        return True
    if spec_type == "boolean":
        if isinstance(value, bool):
            return True
        if isinstance(value, int):
            return value in (0, 1)
        return isinstance(value, str) and value.lower() in _TRUE_FALSE
    if spec_type == "integer":
        if isinstance(value, bool):
            return False
        return isinstance(value, int) or (
            isinstance(value, str) and _INTEGER_RE.fullmatch(value) is not None
        )
    if spec_type == "number":
        if isinstance(value, bool):
            return False
        if isinstance(value, int | float):
            return True
        try:
            float(value)
        except (TypeError, ValueError):
            return False
        return True
    return True
