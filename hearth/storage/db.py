"""The database: an async engine, sessions, and the few dialect differences we care about."""

from __future__ import annotations

import asyncio
import contextvars
from collections import deque
from collections.abc import AsyncIterator, Callable, Collection, Hashable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Interval,
    any_,
    bindparam,
    event,
    func,
    literal,
    type_coerce,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, ORMExecuteState, Session
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.sql.operators import custom_op

SQLITE_BUSY_TIMEOUT_MS = 30_000
_HOLDING_WRITER: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "hearth_holding_sqlite_writer", default=False
)
_DEFERRED = "hearth.deferred_inserts"
_KEPT = "hearth.kept_rows"
T = TypeVar("T")


class HearthSession(Session):
    """A Session that runs its deferred writes (`defer`, `insert_ignore_later`) before it runs
    its next statement or commits, so the session always reads its own writes."""


class DeferredWrite(Protocol):
    """Writes queued in a session, written together by one call (a few statements at most)."""

    def write(self, session: Session) -> None: ...


W = TypeVar("W", bound=DeferredWrite)


@event.listens_for(HearthSession, "do_orm_execute")
def _before_statement(state: ORMExecuteState) -> None:
    _write_deferred(state.session)


@event.listens_for(HearthSession, "before_commit")
def _before_commit(session: Session) -> None:
    _write_deferred(session)


def _write_deferred(session: Session) -> None:
    pending: dict[Hashable, DeferredWrite] = session.info.pop(_DEFERRED, {})
    for writer in pending.values():
        writer.write(session)


def defer(session: Session | AsyncSession, key: Hashable, new: Callable[[], W]) -> W:
    """The session's deferred write under `key` (made by `new` on first use), to queue work in.

    It is written just before the session's next statement or its commit: work that each event
    of a batch queues this way is written at once, in one statement per table, when nothing else
    runs a statement in between.
    """
    pending = session.info.setdefault(_DEFERRED, {})
    writer = pending.get(key)
    if writer is None:
        writer = pending[key] = new()
    return cast(W, writer)


def keep(session: AsyncSession, rows: Iterable[object]) -> None:
    """Hold loaded rows for the session's life, so that `session.get` finds them without a
    statement (the session's identity map holds unchanged rows only weakly)."""
    session.info.setdefault(_KEPT, []).extend(rows)


@dataclass
class _InsertIgnore:
    model: type[DeclarativeBase]
    rows: list[dict[str, Any]] = field(default_factory=list)

    def write(self, session: Session) -> None:  # Core executemany: compiled once, cached
        insert = dialect_insert(session)(self.model.__table__).on_conflict_do_nothing()
        session.execute(insert, self.rows)


def _dialect(session: Session | AsyncSession) -> str | None:
    return session.bind.dialect.name if session.bind is not None else None


def dialect_insert(session: Session | AsyncSession) -> Any:
    """The INSERT construct that knows ON CONFLICT for the session's database."""
    return postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert


def one_of(
    session: Session | AsyncSession, column: ColumnElement[T], values: Collection[T]
) -> ColumnElement[bool]:
    """`column IN values`; on PostgreSQL `= ANY(array)`, one parameter, so that a statement
    is prepared once whatever the number of values (an IN list of a new length is a new
    statement to parse and plan)."""
    if _dialect(session) == "postgresql":
        return column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(column.type)))
    return column.in_(list(values))


def plus_days(
    session: Session | AsyncSession, moment: ColumnElement[datetime], days: int
) -> ColumnElement[datetime]:
    """`moment` (a UTC time column) plus whole `days`, computed by the database, exactly.

    SQLite keeps times as text, `YYYY-MM-DD HH:MM:SS.ffffff`: the whole seconds are shifted
    and the microseconds kept as written (a text comparison then orders them correctly).
    """
    if _dialect(session) == "sqlite":
        seconds = func.strftime("%Y-%m-%d %H:%M:%S", func.substr(moment, 1, 19), f"{days:+d} days")
        return type_coerce(seconds.concat(func.substr(moment, 20)), moment.type)
    shifted = type_coerce(moment, DateTime()) + literal(timedelta(days=days), Interval())
    return type_coerce(shifted, moment.type)


def scanned(session: Session | AsyncSession, column: ColumnElement[T]) -> ColumnElement[T]:
    """`column`, for a condition no index should serve: on SQLite, a query that aggregates
    most of a table's rows then reads them in table order (pages in sequence) rather than in an
    index's order (a random page per row, several times slower). SQLite's unary `+` changes no
    value and keeps the planner off indexes on the column; PostgreSQL plans that well already.
    """
    if _dialect(session) == "sqlite":
        return UnaryExpression(column, operator=custom_op("+"), type_=column.type)
    return column


class Database:
    """One engine and its session factory."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.engine: AsyncEngine = create_async_engine(self.url, pool_pre_ping=self.is_postgres)
        self._writer: _Writer | None = None
        if self.url.get_backend_name() == "sqlite":
            _serialise_sqlite_writes(self.engine)
            self._writer = _Writer()
        self.sessions = async_sessionmaker(
            self.engine, expire_on_commit=False, sync_session_class=HearthSession
        )

    @property
    def is_postgres(self) -> bool:
        return self.url.get_backend_name() == "postgresql"

    @asynccontextmanager
    async def transaction(self, *, urgent: bool = False) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error.

        On SQLite every transaction is a writer (BEGIN IMMEDIATE), so this process's
        transactions queue for it in turn, rather than in SQLite's busy handler, which sleeps
        and retries (other processes still meet the busy timeout); `urgent` ones (storing what
        was just acknowledged) go before the others that wait.
        """
        if self._writer is None or _HOLDING_WRITER.get():
            async with self.sessions() as session, session.begin():
                yield session
            return
        await self._writer.acquire(urgent)
        token = _HOLDING_WRITER.set(True)
        try:
            async with self.sessions() as session, session.begin():
                yield session
        finally:
            _HOLDING_WRITER.reset(token)
            self._writer.release()

    async def close(self) -> None:
        await self.engine.dispose()


class _Writer:
    """SQLite's one writer, for this process's transactions in turn: urgent ones first, then
    the others, each lane first come first served."""

    def __init__(self) -> None:
        self._held = False
        self._lanes: tuple[deque[asyncio.Future[None]], ...] = (deque(), deque())

    async def acquire(self, urgent: bool) -> None:
        if not self._held and not any(self._lanes):
            self._held = True
            return
        turn = asyncio.get_running_loop().create_future()
        self._lanes[0 if urgent else 1].append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.release()  # given the writer as it was cancelled: pass it on
            raise  # a cancelled turn left in its lane is skipped by `release`

    def release(self) -> None:
        for lane in self._lanes:
            while lane:
                turn = lane.popleft()
                if not turn.done():
                    turn.set_result(None)  # the writer passes on, still held
                    return
        self._held = False


def _serialise_sqlite_writes(engine: AsyncEngine) -> None:
    """WAL, a busy timeout and BEGIN IMMEDIATE: concurrent writers wait instead of failing."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


async def insert_ignore(
    session: AsyncSession, model: type[DeclarativeBase], values: dict[str, Any]
) -> bool:
    """INSERT … ON CONFLICT DO NOTHING; True when the row was new."""
    result = await session.execute(
        dialect_insert(session)(model).values(**values).on_conflict_do_nothing()
    )
    return result.rowcount == 1


def insert_ignore_later(
    session: AsyncSession, model: type[DeclarativeBase], values: dict[str, Any]
) -> None:
    """Queue an INSERT … ON CONFLICT DO NOTHING whose outcome the caller does not need.

    Queued rows are written together (one multi-row statement per table) just before the
    session's next statement or its commit: a batch of events writes its messages at once.
    """
    defer(session, model, lambda: _InsertIgnore(model)).rows.append(values)


async def insert_ignore_many(
    session: AsyncSession,
    model: type[DeclarativeBase],
    rows: list[dict[str, Any]],
    *returning: str,
) -> set[tuple[Any, ...]]:
    """INSERT … ON CONFLICT DO NOTHING of many rows; the `returning` columns of the new ones."""
    if not rows:
        return set()
    insert = dialect_insert(session)
    table = model.__table__  # Core executemany ("insertmanyvalues"): compiled once, cached
    statement = insert(table).on_conflict_do_nothing().returning(*(table.c[c] for c in returning))
    return {tuple(row) for row in await session.execute(statement, rows)}
