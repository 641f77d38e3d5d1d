"""Shared fixtures: databases (SQLite always, PostgreSQL when reachable) and ../shared paths.

Outside CI a test that lacks ../shared or a PostgreSQL server is skipped, saying what is
missing. When the environment variable CI is set, nothing may be skipped for want of them: the
run stops at once if they are absent, and such a test fails instead of skipping.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import NoReturn

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from hearth.storage import migrate
from hearth.storage.db import Database
from tests.fakes.slack_api import SPEC_MISSING_REASON, spec_available
from tests.fakes.teams_connector import teams_specs_missing_reason

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


def in_ci() -> bool:
    """The CI environment variable is set (and not to 0 or false)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false")


def unavailable(reason: str) -> NoReturn:
    """Skip the calling test for want of `reason`; in CI, fail it instead."""
    if in_ci():
        pytest.fail(f"{reason} (CI is set, so this fails instead of skipping)", pytrace=False)
    pytest.skip(reason)


def shared_path(*parts: str) -> Path:
    """A file under ../shared, or skip the test saying what is missing (fail it in CI)."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        unavailable(f"needs {path} (the ../shared folder beside the repository is absent)")
    return path


def postgres_server_url() -> str:
    return os.environ.get("TEST_DATABASE_URL") or DEFAULT_POSTGRES


def postgres_unreachable(error: BaseException) -> str:
    server = make_url(postgres_server_url()).render_as_string()
    return (
        f"PostgreSQL not reachable at {server} ({str(error) or type(error).__name__}); "
        "set TEST_DATABASE_URL to run the PostgreSQL variants"
    )


async def _postgres_reachable() -> str | None:
    """None when the test server answers, else why not."""
    dsn = make_url(postgres_server_url()).set(drivername="postgresql")
    try:
        connection = await asyncpg.connect(dsn.render_as_string(hide_password=False), timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        return postgres_unreachable(error)
    await connection.close()
    return None


def pytest_sessionstart(session: pytest.Session) -> None:
    """In CI, stop before running anything when ../shared or PostgreSQL is missing."""
    if not in_ci():
        return
    problems = []
    if not SHARED.is_dir():
        problems.append(f"{SHARED} (the ../shared folder beside the repository) is absent")
    else:  # the fakes' own checks, which skip whole modules when their specs are missing
        if not spec_available():
            problems.append(SPEC_MISSING_REASON)
        teams = teams_specs_missing_reason()
        if teams is not None:
            problems.append(teams)
    reason = asyncio.run(_postgres_reachable())
    if reason is not None:
        problems.append(reason)
    if problems:
        pytest.exit("CI is set but " + "; ".join(problems), returncode=pytest.ExitCode.TESTS_FAILED)


async def _postgres_database() -> AsyncIterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards; skips if none answers."""
    server = make_url(postgres_server_url())
    dsn = server.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        admin = await asyncpg.connect(dsn, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        unavailable(postgres_unreachable(error))
    name = f"hearth_test_{uuid.uuid4().hex[:12]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Each test using this runs twice: on SQLite, and on PostgreSQL when it is reachable."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/hearth.db"
        return
    async for url in _postgres_database():
        yield url


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path}/hearth.db"


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A migrated database on each backend."""
    database = Database(database_url)
    await migrate.upgrade(database)
    yield database
    await database.close()
