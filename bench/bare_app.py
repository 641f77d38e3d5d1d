"""The baseline for bench/ingest.py: a bare slack-bolt AsyncApp with a no-op `message` listener.

Served by aiohttp like `hearth serve`: POST /slack/events (bolt verifies the signature itself)
and GET /healthz. Configured from the environment: PORT, SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET,
SLACK_API_URL.

Bolt's default single-team authorization calls auth.test through a per-request client that adds
`team_id`, a parameter the spec-checking fake Web API rejects; like Hearth, this app calls
auth.test once through its own client and reuses the answer, which costs the same per request.
"""

from __future__ import annotations

import os
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_sdk.web.async_client import AsyncWebClient


class OnceAuthorize(AsyncAuthorize):
    """auth.test on the first request, then the same bot identity for every request."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self.identity: dict[str, Any] | None = None

    async def __call__(self, *, user_id: str | None, **_: Any) -> AuthorizeResult:
        if self.identity is None:
            self.identity = dict((await self.client.auth_test()).data)  # type: ignore[arg-type]
        return AuthorizeResult(
            enterprise_id=self.identity.get("enterprise_id"),
            team_id=self.identity.get("team_id"),
            bot_id=self.identity.get("bot_id"),
            bot_user_id=self.identity.get("user_id"),
            bot_token=self.client.token,
            user_id=user_id,
        )


def build(token: str, signing_secret: str, api_url: str) -> web.Application:
    """The aiohttp app around a bolt AsyncApp that listens to `message` and does nothing."""
    bolt = AsyncApp(
        client=AsyncWebClient(base_url=api_url),
        authorize=OnceAuthorize(AsyncWebClient(token=token, base_url=api_url)),
        signing_secret=signing_secret,
        request_verification_enabled=True,
    )

    @bolt.event("message")
    async def noop() -> None:
        return None

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/slack/events", events)
    app.router.add_get("/healthz", healthz)
    return app


def main() -> None:
    env = os.environ
    app = build(env["SLACK_BOT_TOKEN"], env["SLACK_SIGNING_SECRET"], env["SLACK_API_URL"])
    web.run_app(app, host="127.0.0.1", port=int(env["PORT"]), print=None)


if __name__ == "__main__":
    main()
