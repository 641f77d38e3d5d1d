"""Taking a test's database away for a while, and giving it back.

PostgreSQL: a TCP proxy on a free loopback port stands between Hearth and the server; an outage
cuts every open connection and refuses new ones (what a restarting or unreachable server does).
SQLite has no connection to cut: every statement fails with the driver's own OperationalError
(disk I/O error) while the outage lasts.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url

from hearth.storage.db import Database


class _Proxy:
    """Forwards loopback connections to `host:port` until cut."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.listen_port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.listen_port)
        self.listen_port = self._server.sockets[0].getsockname()[1]

    def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream = await asyncio.open_connection(self.host, self.port)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, upstream}
        await asyncio.gather(
            _pipe(reader, upstream), _pipe(upstream_reader, writer), return_exceptions=True
        )
        self._writers -= {writer, upstream}


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.transport.abort()


class DatabaseOutage:
    """`url` is what Hearth should connect to; `begin()` starts an outage, `end()` ends it."""

    def __init__(self, database_url: str) -> None:
        self._url = make_url(database_url)
        self._proxy: _Proxy | None = None
        self.down = False

    async def start(self) -> str:
        """The URL to give Hearth (through the proxy on PostgreSQL)."""
        if self._url.get_backend_name() != "postgresql":
            return self._url.render_as_string(hide_password=False)
        self._proxy = _Proxy(self._url.host or "127.0.0.1", self._url.port or 5432)
        await self._proxy.start()
        proxied = self._url.set(host="127.0.0.1", port=self._proxy.listen_port)
        return proxied.render_as_string(hide_password=False)

    def attach(self, db: Database) -> None:
        """Make `db`'s statements fail during an outage (SQLite; harmless on PostgreSQL)."""
        dbapi = db.engine.dialect.loaded_dbapi

        @event.listens_for(db.engine.sync_engine, "before_cursor_execute")
        def _fail(*_args: Any) -> None:
            if self.down and self._proxy is None:
                raise dbapi.OperationalError("disk I/O error (test outage)")

    def begin(self) -> None:
        self.down = True
        if self._proxy is not None:
            self._proxy.cut()

    async def end(self) -> None:
        self.down = False
        if self._proxy is not None:
            await self._proxy.start()

    def close(self) -> None:
        if self._proxy is not None:
            self._proxy.cut()
