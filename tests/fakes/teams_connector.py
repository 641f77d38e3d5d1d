"""Fake Bot Connector v3 (Teams ``serviceUrl``) that checks every call against the swagger.

``FakeConnector`` serves the v3 REST calls a bot makes on ``http://127.0.0.1:<free port>/``
(see :data:`SUPPLEMENT_ROUTES` for the one route botbuilder uses that the shared swagger
lacks). Each request is checked against ``../shared/specs/teams/connector-api.swagger.json``
and ``teams-api.swagger.json``: the route and verb exist, query parameters are declared
and typed, the JSON body validates (jsonschema draft-4 over the swagger ``definitions``)
and an ``Authorization: Bearer`` header is present (and equals
:attr:`FakeConnector.access_token` unless that is ``None``). A failed check answers
HTTP 400 with an ``ErrorResponse`` and appends a readable line to
:attr:`FakeConnector.violations`. The fake also validates its *own* responses, so a
drift between the fake and the swagger shows up there too.

Usage (see ``tests/test_teams_fakes.py`` for the full fixtures)::

    async with BotFrameworkAuthStub() as auth, FakeConnector() as connector:
        adapter = CloudAdapter(
            ConfigurationBotFrameworkAuthentication(
                auth.bot_config(app_id=APP_ID, app_password="secret"),
                credentials_factory=connector.credentials_factory(APP_ID),
            )
        )
        ...  # POST activities with serviceUrl=connector.service_url and
        ...  # Authorization=auth.auth_header(app_id=APP_ID, service_url=connector.service_url)
        connector.assert_no_violations()

Swagger 2.0 → JSON Schema: the definitions are used as draft-4 as they are. The shared
swagger marks *no* property as required, so a small overlay adds what the live service
enforces and a bot must never omit (``Activity.type``; for Teams, creating a
conversation needs ``members`` and a tenant id). ``x-ms-enum.modelAsString`` enums are
open-ended by swagger semantics; ``strict_enums=True`` (the default) still enforces
them, which catches typos such as ``"mesage"``.

Outgoing tokens (the bot → connector direction) -- how botbuilder 4.17 gets them:
``CloudAdapter`` asks its ``BotFrameworkAuthentication`` for a ``ConnectorFactory``; that
calls ``ServiceClientCredentialsFactory.create_credentials(app_id, oauth_scope,
login_endpoint, validate_authority)``. ``ConfigurationServiceClientCredentialFactory``
(the default of ``ConfigurationBotFrameworkAuthentication``) delegates to
``PasswordServiceClientCredentialFactory``, which returns ``MicrosoftAppCredentials``;
its ``get_access_token`` runs MSAL ``ConfidentialClientApplication.acquire_token_for_client``
against ``https://login.microsoftonline.com/botframework.com`` (scope
``https://api.botframework.com/.default``). msrest then calls
``credentials.signed_session()`` -- synchronously, on the event loop -- to set
``Authorization: Bearer <token>`` on every request.

MSAL only accepts an ``https://`` authority and performs instance discovery, so it
cannot simply be pointed at a plain-http loopback stub. The supported seam is the
``credentials_factory=`` argument of ``ConfigurationBotFrameworkAuthentication``: pass
:class:`FixedTokenCredentialsFactory` (``FakeConnector.credentials_factory(app_id)``). It
subclasses ``PasswordServiceClientCredentialFactory``, so inbound checks
(``is_valid_app_id``: token ``aud`` must equal the app id; ``is_authentication_disabled``:
no app id) behave exactly like production, and only ``create_credentials`` differs: it
returns :class:`FixedTokenAppCredentials` (an ``AppCredentials`` whose
``get_access_token`` returns a fixed string) and records each request in
:attr:`FixedTokenCredentialsFactory.requests` (scope, login endpoint).

Retries: msrest retries, via urllib3 ``Retry``, statuses 408/500/502/503/504 (and
>= 506) three times, but under urllib3 2.x only for idempotent verbs (GET, PUT, DELETE
...): the ``method_whitelist`` msrest sets is ignored by urllib3 2, so POSTs (send,
reply, create) are *not* retried. 412 and 429 are never retried; the bot sees
``ErrorResponseException`` with ``.response.status_code`` and the ``Retry-After`` header.
"""

from __future__ import annotations

import base64
import copy
import functools
import itertools
import json
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import jsonschema
import pytest
from aiohttp import web
from botframework.connector.auth import (
    AppCredentials,
    MicrosoftAppCredentials,
    PasswordServiceClientCredentialFactory,
)

from ._loopback import LoopbackServer

SHARED_DIR = Path(__file__).resolve().parents[2].parent / "shared"
TEAMS_SPECS_DIR = SHARED_DIR / "specs" / "teams"
CONNECTOR_SWAGGER = TEAMS_SPECS_DIR / "connector-api.swagger.json"
TEAMS_SWAGGER = TEAMS_SPECS_DIR / "teams-api.swagger.json"
ACTIVITIES_DIR = TEAMS_SPECS_DIR / "activities"
API_RESPONSES_DIR = TEAMS_SPECS_DIR / "api-responses"

SUPPLEMENT_ROUTES: dict[tuple[str, str], tuple[str, str]] = {
    ("GET", "/v3/conversations/{conversationId}/members/{memberId}"): (
        "Conversations_GetConversationMember",
        "ChannelAccount",
    ),
}
"""Routes botbuilder calls that the shared (older) connector swagger lacks.

``(verb, template) -> (operationId, response definition)``. ``GET .../members/{memberId}``
is in the current Bot Connector REST reference and is what ``TeamsInfo.get_member``
uses. Calls to it are checked like swagger routes (auth, no body) and flagged with
``Call.in_swagger == False``.
"""

REQUIRED_OVERLAY: dict[str, tuple[str, ...]] = {"Activity": ("type",)}
"""Required properties added on top of the swagger (which marks none)."""


# -- shared/ availability -------------------------------------------------------------
def teams_specs_missing_reason() -> str | None:
    """Why the Teams specs cannot be used, or ``None`` when they are all present."""
    needed = (CONNECTOR_SWAGGER, TEAMS_SWAGGER, ACTIVITIES_DIR)
    missing = [str(path) for path in needed if not path.exists()]
    if missing:
        return (
            "Teams specs not found (expected the shared/ checkout beside the repo): "
            + ", ".join(missing)
        )
    return None


def require_teams_specs() -> Path:
    """Skip the calling test (or module, at import time) unless shared/ specs exist."""
    reason = teams_specs_missing_reason()
    if reason is not None:
        pytest.skip(reason, allow_module_level=True)
    return TEAMS_SPECS_DIR


def load_sample_activity(name: str, *, service_url: str | None = None) -> dict[str, Any]:
    """A sample from ``shared/specs/teams/activities/`` with ``serviceUrl`` rewritten."""
    filename = name if name.endswith(".json") else f"{name}.json"
    activity: dict[str, Any] = json.loads((ACTIVITIES_DIR / filename).read_text("utf-8"))
    if service_url is not None:
        activity["serviceUrl"] = service_url
    return activity


# -- swagger --------------------------------------------------------------------------
@dataclass(frozen=True)
class _Param:
    name: str
    location: str
    required: bool
    type: str | None
    schema_ref: str | None


@dataclass(frozen=True)
class Operation:
    """One swagger operation (or supplement route)."""

    verb: str
    template: str
    operation_id: str
    document: str
    segments: tuple[str, ...]
    params: tuple[_Param, ...]
    consumes: tuple[str, ...]
    responses: Mapping[str, str | None]
    in_swagger: bool = True

    @property
    def literal_segments(self) -> int:
        """Specificity used to prefer ``/activities/history`` over ``/activities/{id}``."""
        return sum(1 for seg in self.segments if not seg.startswith("{"))

    @property
    def body_param(self) -> _Param | None:
        """The ``in: body`` parameter, if any."""
        return next((p for p in self.params if p.location == "body"), None)

    def match(self, segments: Sequence[str]) -> dict[str, str] | None:
        """Path parameters if ``segments`` (already unquoted) fit this template."""
        if len(segments) != len(self.segments):
            return None
        values: dict[str, str] = {}
        for tmpl, seg in zip(self.segments, segments, strict=True):
            if tmpl.startswith("{"):
                if not seg:
                    return None
                values[tmpl[1:-1]] = seg
            elif tmpl != seg:
                return None
        return values


def _ref_name(ref: str | None) -> str | None:
    return ref.rsplit("/", 1)[-1] if ref else None


class SwaggerSpec:
    """Routes and schema validators built from one or more Swagger 2.0 documents."""

    def __init__(self, documents: Sequence[Path], *, strict_enums: bool = True) -> None:
        self.operations: list[Operation] = []
        self._definitions: dict[str, dict[str, Any]] = {}
        for path in documents:
            doc = json.loads(path.read_text("utf-8-sig"))
            self._definitions[path.name] = self._prepare_definitions(
                doc.get("definitions", {}), strict_enums=strict_enums
            )
            for template, ops in doc.get("paths", {}).items():
                for verb, op in ops.items():
                    if verb == "parameters":
                        continue
                    self.operations.append(self._operation(path.name, template, verb, op))
        if documents:
            connector = documents[0].name
            for (verb, template), (op_id, response) in SUPPLEMENT_ROUTES.items():
                self.operations.append(
                    Operation(
                        verb=verb,
                        template=template,
                        operation_id=op_id,
                        document=connector,
                        segments=tuple(template.strip("/").split("/")),
                        params=(),
                        consumes=(),
                        responses={"200": response},
                        in_swagger=False,
                    )
                )

    @staticmethod
    def _prepare_definitions(
        definitions: Mapping[str, Any], *, strict_enums: bool
    ) -> dict[str, Any]:
        defs: dict[str, Any] = copy.deepcopy(dict(definitions))
        for name, required in REQUIRED_OVERLAY.items():
            if name in defs:
                defs[name]["required"] = sorted(set(defs[name].get("required", [])) | set(required))
        if not strict_enums:
            for schema in defs.values():
                if schema.get("x-ms-enum", {}).get("modelAsString"):
                    schema.pop("enum", None)
        return defs

    @staticmethod
    def _operation(document: str, template: str, verb: str, op: Mapping[str, Any]) -> Operation:
        params = tuple(
            _Param(
                name=p["name"],
                location=p["in"],
                required=bool(p.get("required")),
                type=p.get("type"),
                schema_ref=(p.get("schema") or {}).get("$ref"),
            )
            for p in op.get("parameters", [])
        )
        responses = {
            str(code): _ref_name((resp.get("schema") or {}).get("$ref"))
            for code, resp in op.get("responses", {}).items()
        }
        return Operation(
            verb=verb.upper(),
            template=template,
            operation_id=op.get("operationId", f"{verb.upper()} {template}"),
            document=document,
            segments=tuple(template.strip("/").split("/")),
            params=params,
            consumes=tuple(op.get("consumes", [])),
            responses=responses,
        )

    def resolve(
        self, verb: str, segments: Sequence[str]
    ) -> tuple[Operation | None, dict[str, str], str | None]:
        """``(operation, path_params, error)`` for a request path split into segments."""
        candidates = [(op, op.match(segments)) for op in self.operations]
        matching = [(op, params) for op, params in candidates if params is not None]
        if not matching:
            return None, {}, "no such path in the swagger"
        with_verb = [(op, params) for op, params in matching if op.verb == verb]
        if not with_verb:
            allowed = sorted({op.verb for op, _ in matching})
            return None, {}, f"verb {verb} not defined for this path (swagger allows {allowed})"
        op, params = max(with_verb, key=lambda item: item[0].literal_segments)
        return op, params or {}, None

    @functools.cache  # noqa: B019 - instances live for a test session at most
    def validator(self, document: str, definition: str) -> jsonschema.Draft4Validator:
        """A draft-4 validator for ``#/definitions/<definition>`` of ``document``."""
        schema = {
            "allOf": [{"$ref": f"#/definitions/{definition}"}],
            "definitions": self._definitions[document],
        }
        return jsonschema.Draft4Validator(schema)

    def validate(self, document: str, definition: str, instance: Any) -> list[str]:
        """Readable schema errors of ``instance`` against a definition (empty if valid)."""
        errors = sorted(
            self.validator(document, definition).iter_errors(instance),
            key=lambda e: list(map(str, e.absolute_path)),
        )
        return [f"{definition}{_json_path(e.absolute_path)}: {e.message}" for e in errors]


def _json_path(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


@functools.cache
def load_spec(strict_enums: bool = True) -> SwaggerSpec:
    """The connector + Teams swagger (cached; requires shared/)."""
    return SwaggerSpec([CONNECTOR_SWAGGER, TEAMS_SWAGGER], strict_enums=strict_enums)


# -- recorded calls -------------------------------------------------------------------
@dataclass(frozen=True)
class Call:
    """One request the fake received (recorded whatever its outcome)."""

    verb: str
    path: str
    conversation_id: str | None
    body: Any
    operation_id: str | None = None
    activity_id: str | None = None
    query: Mapping[str, str] = field(default_factory=dict)
    status: int = 200
    injected_failure: bool = False
    in_swagger: bool = True
    authorization: str | None = None


@dataclass
class _Failure:
    status: int
    remaining: int
    retry_after: float | None
    operation_id: str | None


_ERROR_CODES = {
    400: "BadArgument",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    412: "PreconditionFailed",
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


def _error_body(status: int, message: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code or _ERROR_CODES.get(status, "ServiceError"), "message": message}}


_NOT_FOUND_ACTIVITY = _error_body(404, "activity not found", "ActivityNotFoundInConversation")


class _Reply:
    """A handler result: status + JSON body (``None`` = empty body)."""

    __slots__ = ("body", "status")

    def __init__(self, status: int, body: Any = None) -> None:
        self.status = status
        self.body = body


# -- outgoing credentials -------------------------------------------------------------
@dataclass(frozen=True)
class CredentialRequest:
    """Arguments botbuilder passed to ``create_credentials``."""

    app_id: str | None
    oauth_scope: str | None
    login_endpoint: str | None
    validate_authority: bool | None


class FixedTokenAppCredentials(AppCredentials):
    """``AppCredentials`` that never calls MSAL: ``get_access_token`` returns ``token``."""

    def __init__(self, *, app_id: str, token: str, oauth_scope: str | None = None) -> None:
        super().__init__(app_id=app_id, oauth_scope=oauth_scope)
        self._token = token

    def get_access_token(self, force_refresh: bool = False) -> str:
        """The fixed token."""
        return self._token


class FixedTokenCredentialsFactory(PasswordServiceClientCredentialFactory):
    """Production app-id semantics inbound; a fixed bearer token outbound (no network)."""

    def __init__(self, app_id: str | None, token: str) -> None:
        super().__init__(app_id, None)
        self.token = token
        self.requests: list[CredentialRequest] = []

    async def create_credentials(
        self,
        app_id: str,
        oauth_scope: str,
        login_endpoint: str,
        validate_authority: bool,
    ) -> AppCredentials:
        """Mirror the parent's checks, then return :class:`FixedTokenAppCredentials`."""
        self.requests.append(
            CredentialRequest(app_id, oauth_scope, login_endpoint, validate_authority)
        )
        if await self.is_authentication_disabled():
            return MicrosoftAppCredentials.empty()
        if not await self.is_valid_app_id(app_id):
            raise Exception("Invalid app_id")  # same type and text as the parent class
        return FixedTokenAppCredentials(app_id=app_id, token=self.token, oauth_scope=oauth_scope)


# -- the fake -------------------------------------------------------------------------
_Handler = Callable[[dict[str, str], Mapping[str, str], Any], _Reply]


class FakeConnector:
    """In-memory Bot Connector v3 + Teams routes, served on a free loopback port.

    ``async with FakeConnector() as connector:`` then use :attr:`service_url` as the
    activity ``serviceUrl`` and :meth:`credentials_factory` for the adapter. All
    recorded state is safe to read from the test's thread.
    """

    def __init__(
        self,
        *,
        require_auth: bool = True,
        access_token: str | None = "",
        strict_enums: bool = True,
        teams_rules: bool = True,
    ) -> None:
        """``access_token=""`` generates one; ``None`` accepts any bearer token."""
        self.access_token: str | None = (
            f"fake-connector-token-{secrets.token_hex(8)}" if access_token == "" else access_token
        )
        self.require_auth = require_auth
        self.teams_rules = teams_rules
        self.spec = load_spec(strict_enums)
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._violations: list[str] = []
        self._failures: list[_Failure] = []
        self._drops: dict[str, int] = {}
        self._sent: dict[str, list[dict[str, Any]]] = {}
        self._latest: dict[tuple[str, str], dict[str, Any] | None] = {}
        self._conversations: dict[str, dict[str, Any]] = {}
        self._members: dict[str, list[dict[str, Any]]] = {}
        self._teams: dict[str, dict[str, Any]] = {}
        self._attachments: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        self._handlers: dict[str, _Handler] = {
            "Conversations_GetConversations": self._get_conversations,
            "Conversations_CreateConversation": self._create_conversation,
            "Conversations_SendToConversation": self._send_to_conversation,
            "Conversations_ReplyToActivity": self._reply_to_activity,
            "Conversations_UpdateActivity": self._update_activity,
            "Conversations_DeleteActivity": self._delete_activity,
            "Conversations_SendConversationHistory": self._send_history,
            "Conversations_GetConversationMembers": self._get_members,
            "Conversations_GetActivityMembers": self._get_members,
            "Conversations_GetConversationPagedMembers": self._get_paged_members,
            "Conversations_GetConversationMember": self._get_member,
            "Conversations_DeleteConversationMember": self._delete_member,
            "Conversations_UploadAttachment": self._upload_attachment,
            "Attachments_GetAttachmentInfo": self._get_attachment_info,
            "Attachments_GetAttachment": self._get_attachment_view,
            "Teams_FetchChannelList": self._fetch_channel_list,
            "Teams_FetchTeamDetails": self._fetch_team_details,
        }
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._server = LoopbackServer(app, name="fake-bot-connector")

    # -- lifecycle -------------------------------------------------------------
    async def __aenter__(self) -> FakeConnector:
        await self._server.__aenter__()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._server.__aexit__(*exc_info)

    def start(self) -> None:
        """Start serving (blocking); prefer ``async with``."""
        self._server.start()

    def stop(self) -> None:
        """Stop serving."""
        self._server.stop()

    @property
    def service_url(self) -> str:
        """``http://127.0.0.1:<port>/`` -- use as the activity's ``serviceUrl``."""
        return f"{self._server.base_url}/"

    def credentials_factory(self, app_id: str | None) -> FixedTokenCredentialsFactory:
        """Credentials factory whose outgoing token this connector accepts."""
        return FixedTokenCredentialsFactory(app_id, self.access_token or "test-token")

    # -- recorded state --------------------------------------------------------
    @property
    def calls(self) -> tuple[Call, ...]:
        """Every request received, in order."""
        with self._lock:
            return tuple(self._calls)

    @property
    def violations(self) -> tuple[str, ...]:
        """Readable swagger/auth violations (tests assert this is empty)."""
        with self._lock:
            return tuple(self._violations)

    @property
    def sent(self) -> dict[str, list[dict[str, Any]]]:
        """Activities posted per conversation id (send, reply, create), with assigned ids."""
        with self._lock:
            return {cid: [dict(a) for a in acts] for cid, acts in self._sent.items()}

    def activities(self, conversation_id: str) -> list[dict[str, Any]]:
        """Activities posted to one conversation, in order."""
        return self.sent.get(conversation_id, [])

    def activity(self, conversation_id: str, activity_id: str) -> dict[str, Any] | None:
        """Latest state of a posted activity (after updates); ``None`` if deleted/unknown."""
        with self._lock:
            latest = self._latest.get((conversation_id, activity_id))
            return dict(latest) if latest else None

    @property
    def conversations(self) -> dict[str, dict[str, Any]]:
        """Conversations created through ``POST /v3/conversations`` -> their parameters."""
        with self._lock:
            return dict(self._conversations)

    @property
    def pending_failures(self) -> int:
        """Injected failures not yet consumed."""
        with self._lock:
            return sum(f.remaining for f in self._failures)

    def assert_no_violations(self) -> None:
        """Raise ``AssertionError`` listing every violation, if any."""
        violations = self.violations
        assert not violations, "Bot Connector contract violations:\n  " + "\n  ".join(violations)

    # -- arranging -------------------------------------------------------------
    def fail_next(
        self,
        status: int = 429,
        *,
        times: int = 1,
        retry_after: float | None = None,
        operation_id: str | None = None,
    ) -> None:
        """Answer the next ``times`` valid calls (optionally of one operation) with ``status``."""
        if status < 400 or times < 1:
            raise ValueError("status must be >= 400 and times >= 1")
        with self._lock:
            self._failures.append(_Failure(status, times, retry_after, operation_id))

    def drop_next(self, operation_id: str, *, times: int = 1) -> None:
        """Handle the next ``times`` valid calls of an operation (the activity is stored), then
        close the connection without an answer: the bot cannot tell whether it went through."""
        with self._lock:
            self._drops[operation_id] = self._drops.get(operation_id, 0) + times

    def add_member(self, conversation_id: str, member: Mapping[str, Any]) -> None:
        """Make ``member`` (a ChannelAccount/TeamsChannelAccount dict) part of a conversation."""
        with self._lock:
            self._members.setdefault(conversation_id, []).append(dict(member))

    def add_team(
        self,
        team_id: str,
        *,
        name: str,
        aad_group_id: str | None = None,
        channels: Sequence[Mapping[str, str]] = (),
    ) -> None:
        """Register a team for ``GET /v3/teams/{teamId}`` and ``.../conversations``."""
        details = {"id": team_id, "name": name}
        if aad_group_id:
            details["aadGroupId"] = aad_group_id
        with self._lock:
            self._teams[team_id] = {"details": details, "channels": [dict(c) for c in channels]}

    # -- request pipeline ------------------------------------------------------
    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        verb = request.method.upper()
        raw_path = request.rel_url.raw_path
        segments = [unquote(seg) for seg in raw_path.strip("/").split("/")]
        path = "/" + "/".join(segments)
        query = dict(request.query)
        auth = request.headers.get("Authorization")
        problems: list[str] = []

        op, params, route_error = self.spec.resolve(verb, segments)
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
                problems.append("body is not JSON")
        if route_error:
            problems.append(route_error)
        else:
            assert op is not None
            problems += self._check_request(op, request, query, body, raw, params)
        problems += self._check_auth(auth)

        label = f"{verb} {raw_path}" + (f" ({op.operation_id})" if op else "")
        conversation_id = params.get("conversationId")
        activity_id = params.get("activityId")
        record = functools.partial(
            Call,
            verb=verb,
            path=path,
            conversation_id=conversation_id,
            body=body,
            operation_id=op.operation_id if op else None,
            activity_id=activity_id,
            query=query,
            in_swagger=op.in_swagger if op else False,
            authorization=auth,
        )

        if problems:
            with self._lock:
                self._violations += [f"{label}: {p}" for p in problems]
                self._calls.append(record(status=400))
            return web.json_response(_error_body(400, "; ".join(problems)), status=400)

        assert op is not None
        failure = self._take_failure(op.operation_id)
        if failure is not None:
            with self._lock:
                self._calls.append(record(status=failure.status, injected_failure=True))
            headers = {}
            if failure.retry_after is not None:
                ra = failure.retry_after
                headers["Retry-After"] = str(int(ra)) if float(ra).is_integer() else str(ra)
            message = f"injected by FakeConnector.fail_next({failure.status})"
            return web.json_response(
                _error_body(failure.status, message), status=failure.status, headers=headers
            )

        with self._lock:
            reply = self._handlers[op.operation_id](params, query, body)
            bad = self._check_response(op, reply)
            self._violations += [f"{label}: fake's own response: {p}" for p in bad]
            self._calls.append(record(status=reply.status))
            drop = self._drops.get(op.operation_id, 0) > 0
            if drop:
                self._drops[op.operation_id] -= 1
        if drop:
            assert request.transport is not None
            request.transport.abort()  # the answer is lost on the way back
            return web.Response(status=500)
        if reply.body is None:
            return web.Response(status=reply.status)
        if isinstance(reply.body, bytes):
            return web.Response(status=reply.status, body=reply.body)
        return web.json_response(reply.body, status=reply.status)

    def _check_auth(self, auth: str | None) -> list[str]:
        if not self.require_auth:
            return []
        if not auth:
            return ["missing Authorization header"]
        scheme, _, token = auth.partition(" ")
        if scheme != "Bearer" or not token:
            return ["Authorization header is not 'Bearer <token>'"]
        if self.access_token is not None and token != self.access_token:
            return ["bearer token is not the one issued for this connector"]
        return []

    def _check_request(
        self,
        op: Operation,
        request: web.Request,
        query: Mapping[str, str],
        body: Any,
        raw: bytes,
        params: Mapping[str, str],
    ) -> list[str]:
        problems: list[str] = []
        declared = {p.name: p for p in op.params if p.location == "query"}
        for name, value in query.items():
            param = declared.get(name)
            if param is None:
                problems.append(f"query parameter {name!r} is not declared")
            elif param.type == "integer" and not value.lstrip("-").isdigit():
                problems.append(f"query parameter {name!r} must be an integer, got {value!r}")
        for param in declared.values():
            if param.required and param.name not in query:
                problems.append(f"required query parameter {param.name!r} missing")

        body_param = op.body_param
        if body_param is None:
            if raw.strip():
                problems.append("operation takes no body, but one was sent")
            return problems
        if not raw.strip():
            if body_param.required:
                problems.append(f"required body {body_param.name!r} missing")
            return problems
        content_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if op.consumes and content_type not in op.consumes:
            problems.append(f"Content-Type {content_type!r} not in {list(op.consumes)}")
        definition = _ref_name(body_param.schema_ref)
        if definition and not isinstance(body, str):
            problems += self.spec.validate(op.document, definition, body)
            problems += self._semantic_checks(op, body, params)
        return problems

    def _semantic_checks(self, op: Operation, body: Any, params: Mapping[str, str]) -> list[str]:
        problems: list[str] = []
        if not isinstance(body, dict):
            return problems
        conv = (body.get("conversation") or {}).get("id")
        path_conv = params.get("conversationId")
        takes_activity = op.body_param and _ref_name(op.body_param.schema_ref) == "Activity"
        if takes_activity and path_conv and conv is not None and conv != path_conv:
            problems.append(
                f"activity.conversation.id {conv!r} differs from path conversationId {path_conv!r}"
            )
        if op.operation_id == "Conversations_CreateConversation" and self.teams_rules:
            if not body.get("members"):
                problems.append("Teams rule (not in swagger): 'members' must list the user(s)")
            tenant = body.get("tenantId") or ((body.get("channelData") or {}).get("tenant") or {})
            if not tenant or (isinstance(tenant, dict) and not tenant.get("id")):
                problems.append(
                    "Teams rule (not in swagger): tenantId or channelData.tenant.id is required"
                )
        return problems

    def _check_response(self, op: Operation, reply: _Reply) -> list[str]:
        if reply.body is None or isinstance(reply.body, bytes):
            return []
        status = str(reply.status)
        if reply.status >= 400:  # error shapes: validate against "default" when declared
            definition = op.responses.get(status) or op.responses.get("default")
        elif status not in op.responses:
            return [f"status {status} not declared for {op.operation_id}"]
        else:
            definition = op.responses[status]
        return self.spec.validate(op.document, definition, reply.body) if definition else []

    def _take_failure(self, operation_id: str) -> _Failure | None:
        with self._lock:
            for failure in self._failures:
                if failure.operation_id in (None, operation_id):
                    failure.remaining -= 1
                    if failure.remaining == 0:
                        self._failures.remove(failure)
                    return failure
        return None

    # -- handlers (called with self._lock held) -------------------------------------
    def _new_activity_id(self) -> str:
        return str(1_700_000_000_000 + next(self._ids))

    def _store_activity(self, conversation_id: str, activity: Mapping[str, Any]) -> str:
        activity_id = self._new_activity_id()
        stored = dict(activity, id=activity_id)
        self._sent.setdefault(conversation_id, []).append(stored)
        self._latest[(conversation_id, activity_id)] = stored
        return activity_id

    def _get_conversations(
        self, params: dict[str, str], query: Mapping[str, str], body: Any
    ) -> _Reply:
        conversations = [
            {"id": cid, "members": self._members.get(cid, [])} for cid in self._conversations
        ]
        return _Reply(200, {"conversations": conversations})

    def _create_conversation(
        self, params: dict[str, str], query: Mapping[str, str], body: Any
    ) -> _Reply:
        prefix = "19:" if body.get("isGroup") else "a:"
        conversation_id = f"{prefix}fake-{next(self._ids)}-{secrets.token_hex(6)}"
        self._conversations[conversation_id] = dict(body)
        self._members[conversation_id] = [dict(m) for m in body.get("members", [])]
        result: dict[str, Any] = {"id": conversation_id, "serviceUrl": self.service_url}
        if body.get("activity"):
            result["activityId"] = self._store_activity(conversation_id, body["activity"])
        return _Reply(201, result)

    def _send_to_conversation(
        self, params: dict[str, str], query: Mapping[str, str], body: Any
    ) -> _Reply:
        return _Reply(201, {"id": self._store_activity(params["conversationId"], body)})

    def _reply_to_activity(
        self, params: dict[str, str], query: Mapping[str, str], body: Any
    ) -> _Reply:
        return _Reply(201, {"id": self._store_activity(params["conversationId"], body)})

    def _update_activity(
        self, params: dict[str, str], query: Mapping[str, str], body: Any
    ) -> _Reply:
        key = (params["conversationId"], params["activityId"])
        if self._latest.get(key) is None:
            return _Reply(404, _NOT_FOUND_ACTIVITY)
        self._latest[key] = dict(body, id=params["activityId"])
        return _Reply(200, {"id": params["activityId"]})

    def _delete_activity(
        self, params: dict[str, str], query: Mapping[str, str], body: Any
    ) -> _Reply:
        key = (params["conversationId"], params["activityId"])
        if self._latest.get(key) is None:
            return _Reply(404, _NOT_FOUND_ACTIVITY)
        self._latest[key] = None
        return _Reply(200)

    def _send_history(self, params: dict[str, str], query: Mapping[str, str], body: Any) -> _Reply:
        return _Reply(201, {"id": f"history-{next(self._ids)}"})

    def _get_members(self, params: dict[str, str], query: Mapping[str, str], body: Any) -> _Reply:
        return _Reply(200, list(self._members.get(params["conversationId"], [])))

    def _get_paged_members(
        self, params: dict[str, str], query: Mapping[str, str], body: Any
    ) -> _Reply:
        members = self._members.get(params["conversationId"], [])
        start = int(query.get("continuationToken") or 0)
        size = int(query.get("pageSize") or 200)
        result: dict[str, Any] = {"members": members[start : start + size]}
        if start + size < len(members):
            result["continuationToken"] = str(start + size)
        return _Reply(200, result)

    def _get_member(self, params: dict[str, str], query: Mapping[str, str], body: Any) -> _Reply:
        for member in self._members.get(params["conversationId"], []):
            if params["memberId"] in (member.get("id"), member.get("aadObjectId")):
                return _Reply(200, member)
        return _Reply(404, _error_body(404, "member not found", "MemberNotFoundInConversation"))

    def _delete_member(self, params: dict[str, str], query: Mapping[str, str], body: Any) -> _Reply:
        members = self._members.get(params["conversationId"], [])
        self._members[params["conversationId"]] = [
            m for m in members if m.get("id") != params["memberId"]
        ]
        return _Reply(200)

    def _upload_attachment(
        self, params: dict[str, str], query: Mapping[str, str], body: Any
    ) -> _Reply:
        attachment_id = f"att-{next(self._ids)}"
        self._attachments[attachment_id] = dict(body)
        return _Reply(201, {"id": attachment_id})

    def _get_attachment_info(
        self, params: dict[str, str], query: Mapping[str, str], body: Any
    ) -> _Reply:
        data = self._attachments.get(params["attachmentId"])
        if data is None:
            return _Reply(404, _error_body(404, "attachment not found"))
        size = len(base64.b64decode(data.get("originalBase64") or ""))
        info = {
            "name": data.get("name", ""),
            "type": data.get("type", ""),
            "views": [{"viewId": "original", "size": size}],
        }
        return _Reply(200, info)

    def _get_attachment_view(
        self, params: dict[str, str], query: Mapping[str, str], body: Any
    ) -> _Reply:
        data = self._attachments.get(params["attachmentId"])
        if data is None or params["viewId"] != "original":
            return _Reply(404, _error_body(404, "attachment view not found"))
        return _Reply(200, base64.b64decode(data.get("originalBase64") or ""))

    def _fetch_channel_list(
        self, params: dict[str, str], query: Mapping[str, str], body: Any
    ) -> _Reply:
        team = self._teams.get(params["teamId"])
        if team is None:
            return _Reply(404, _error_body(404, "team not found"))
        return _Reply(200, {"conversations": team["channels"]})

    def _fetch_team_details(
        self, params: dict[str, str], query: Mapping[str, str], body: Any
    ) -> _Reply:
        team = self._teams.get(params["teamId"])
        if team is None:
            return _Reply(404, _error_body(404, "team not found"))
        return _Reply(200, team["details"])
