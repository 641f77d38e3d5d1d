"""Which process fires the calendar: exactly one at a time.

APScheduler 3 cannot share a job store between processes, and firing twice posts twice, so on
PostgreSQL the leader holds a session-level advisory lock on a connection of its own (outside
the pool). Stand-bys try for the lock every few seconds; when the leader's process dies its
connection closes and PostgreSQL releases the lock, so a stand-by takes over within seconds
(TCP keepalives bound the wait to about half a minute when the leader's host vanishes without
closing it). The recorded firings make the hand-over safe even if two believed they led. On
SQLite there is one process, which always leads.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from hearth.storage.db import Database

log = logging.getLogger(__name__)

LOCK_KEY = int.from_bytes(hashlib.sha256(b"hearth.scheduler").digest()[:8], "big", signed=True)
"""The advisory lock's key: the same in every Hearth process on a database."""
KEEPALIVE = {
    "tcp_keepalives_idle": "10",
    "tcp_keepalives_interval": "5",
    "tcp_keepalives_count": "3",
}
"""The server notices a leader whose host vanished within about 25 s, and frees the lock."""


class Leadership(Protocol):
    async def hold(self) -> bool:
        """True while this process leads (taking the lead when it is free)."""
        ...

    async def release(self) -> None:
        """Step down (at shutdown)."""
        ...


class SoleProcess:
    """SQLite: one process, always the leader."""

    async def hold(self) -> bool:
        return True

    async def release(self) -> None:
        return None


class AdvisoryLock:
    """PostgreSQL: the leader holds `pg_try_advisory_lock(LOCK_KEY)` on its own connection."""

    def __init__(self, url: URL, key: int = LOCK_KEY) -> None:
        self.key = key
        self._engine = create_async_engine(
            url, poolclass=NullPool, connect_args={"server_settings": KEEPALIVE}
        )
        self._connection: AsyncConnection | None = None
        self.leading = False

    async def hold(self) -> bool:
        try:
            if self._connection is None:
                connection = await self._engine.connect()
                self._connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            if self.leading:  # the lock lives as long as the session: is it still there?
                await self._connection.execute(text("SELECT 1"))
            else:
                self.leading = bool(
                    await self._connection.scalar(
                        text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
                    )
                )
        except (SQLAlchemyError, OSError):
            if self.leading:
                log.error("scheduler: lost the connection that holds the lead", exc_info=True)
            else:
                log.warning("scheduler: cannot reach the database to seek the lead", exc_info=True)
            await self._drop()
            return False
        return self.leading

    async def release(self) -> None:
        if self._connection is not None and self.leading:
            try:
                await self._connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": self.key}
                )
            except (SQLAlchemyError, OSError):
                log.warning("scheduler: could not release the lead cleanly", exc_info=True)
        await self._drop()
        await self._engine.dispose()

    async def _drop(self) -> None:
        self.leading = False
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                await connection.close()
            except (SQLAlchemyError, OSError):
                log.debug("scheduler: closing a broken connection failed", exc_info=True)


def leadership_for(db: Database) -> Leadership:
    """An advisory lock on PostgreSQL; the one process on SQLite."""
    return AdvisoryLock(db.url) if db.is_postgres else SoleProcess()
