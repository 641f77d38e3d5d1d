"""Serve an aiohttp app on 127.0.0.1 from a private thread and event loop.

Both Bot Framework fakes need this rather than running on the caller's loop:

* botframework-connector 4.17 fetches OpenID metadata and JWKS with the
  *synchronous* ``requests.get`` from inside the bot's event loop
  (``jwt_token_extractor._OpenIdMetadata._refresh``);
* ``TeamsInfo.get_team_details`` / ``get_team_channels`` use the *synchronous*
  msrest ``TeamsConnectorClient``, also called on the bot's event loop.

A server on that same loop could never answer those blocking calls, so the
request would hang (deadlock until the client times out). A server on its own
thread answers both sync and async clients.
"""

from __future__ import annotations

import asyncio
import threading

from aiohttp import web

_START_TIMEOUT_S = 10.0


class LoopbackServer:
    """An aiohttp ``Application`` on ``127.0.0.1:<free port>`` in a background thread."""

    def __init__(self, app: web.Application, *, name: str) -> None:
        self._app = app
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        """The bound port (the OS chose it: we bind port 0)."""
        if self._port is None:
            raise RuntimeError(f"{self._name} is not running")
        return self._port

    @property
    def running(self) -> bool:
        """Whether the server is bound and serving."""
        return self._port is not None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start serving; blocks until the socket is bound."""
        if self._thread is not None:
            raise RuntimeError(f"{self._name} already started")
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()
        if not self._ready.wait(_START_TIMEOUT_S):
            raise RuntimeError(f"{self._name} did not start within {_START_TIMEOUT_S}s")
        if self._error is not None:
            raise RuntimeError(f"{self._name} failed to start") from self._error

    def stop(self) -> None:
        """Stop serving and join the thread (idempotent)."""
        loop, thread, runner = self._loop, self._thread, self._runner
        if loop is None or thread is None:
            return
        if runner is not None and loop.is_running():
            asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(_START_TIMEOUT_S)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(_START_TIMEOUT_S)
        self._loop = self._thread = self._runner = None
        self._port = None
        self._ready.clear()

    async def __aenter__(self) -> LoopbackServer:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await asyncio.to_thread(self.stop)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            runner = web.AppRunner(self._app, access_log=None)
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, "127.0.0.1", 0)
            loop.run_until_complete(site.start())
            self._runner = runner
            self._port = int(runner.addresses[0][1])
        except BaseException as exc:  # reported to start()
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()
