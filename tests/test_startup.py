"""Operators get one clear line, not a traceback: no platform to serve, a database Hearth cannot
use (in `serve`, `console` and `db upgrade`), a Slack token Slack refuses."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from hearth.bot import cli
from hearth.bot.app import init_app
from hearth.bot.settings import Settings
from hearth.bot.startup import StartupError
from tests.conftest import _postgres_reachable, postgres_server_url, unavailable
from tests.fakes.slack_api import SPEC_MISSING_REASON, FakeSlackApi, spec_available
from tests.test_ci_guard import closed_port

ROOT = Path(__file__).resolve().parents[1]
SECRET = "s" * 32
PLATFORM_SETTINGS = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "MICROSOFT_APP_ID",
    "MicrosoftAppId",
    "MICROSOFT_APP_PASSWORD",
    "MicrosoftAppPassword",
    "MICROSOFT_APP_TENANT_ID",
    "MicrosoftAppTenantId",
    "MICROSOFT_APP_TYPE",
    "MicrosoftAppType",
    "HEARTH_TEAMS_EMULATOR",
    "DATABASE_URL",
    "PORT",
)
needs_spec = pytest.mark.skipif(not spec_available(), reason=SPEC_MISSING_REASON)


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """No platform or database settings, and a scratch working directory."""
    for name in PLATFORM_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    yield monkeypatch


def one_line(capsys: pytest.CaptureFixture[str]) -> str:
    """What the command wrote to stderr, checked to be one line and no traceback."""
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    assert captured.err.count("\n") == 1, captured.err
    return captured.err.rstrip("\n")


# ------------------------------------------------------------------ nothing to serve


def test_serve_without_credentials_refuses_and_names_the_settings(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    environment.setenv("HEARTH_SECRET", SECRET)
    assert cli.main(["serve"]) == 2
    assert one_line(capsys) == (
        "hearth: nothing to serve: set SLACK_BOT_TOKEN with SLACK_SIGNING_SECRET "
        "(or SLACK_APP_TOKEN for Socket Mode) for Slack, or MICROSOFT_APP_ID with "
        "MICROSOFT_APP_PASSWORD for Teams (HEARTH_TEAMS_EMULATOR=1 to try Teams locally); "
        "`hearth console` needs neither"
    )


# ------------------------------------------------------------------ a database Hearth cannot use


def unreachable_postgres() -> tuple[str, str]:
    """A PostgreSQL URL nobody answers at, and how the message shows it."""
    url = f"postgresql+asyncpg://hearth:secret@127.0.0.1:{closed_port()}/hearth"
    return url, url.replace(":secret@", ":***@")


def missing_postgres_database() -> tuple[str, str]:
    """The test server, but a database on it that does not exist."""
    url = postgres_server_url().rsplit("/", 1)[0] + "/hearth_no_such_database"
    return url, url


def sqlite_in_a_missing_folder() -> tuple[str, str]:
    url = "sqlite+aiosqlite:////nonexistent-folder/hearth.db"
    return url, url


@pytest.mark.parametrize(
    ("database", "reason"),
    [
        (unreachable_postgres, "Connect call failed"),
        (missing_postgres_database, 'database "hearth_no_such_database" does not exist'),
        (sqlite_in_a_missing_folder, "unable to open database file"),
    ],
    ids=["unreachable", "missing-database", "bad-sqlite-path"],
)
@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
@pytest.mark.parametrize("command", [["db", "upgrade"], ["console"], ["serve"]])
def test_a_database_hearth_cannot_use_is_one_line_naming_database_url(
    environment: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
    database: object,
    reason: str,
) -> None:
    if database is missing_postgres_database:
        problem = asyncio.run(_postgres_reachable())
        if problem is not None:
            unavailable(problem)
    url, shown = database()  # type: ignore[operator]
    environment.setenv("DATABASE_URL", url)
    environment.setenv("PORT", str(closed_port()))
    if command == ["serve"]:
        environment.setenv("HEARTH_TEAMS_EMULATOR", "1")  # something to serve, no network
    assert cli.main(command) == 2
    line = one_line(capsys)
    assert line.startswith(f"hearth: cannot use the database at DATABASE_URL={shown}: ")
    assert reason in line
    assert "secret" not in line


def test_a_file_that_is_not_a_database(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "notes.db").write_text("these are my notes, not a database\n" * 100)
    environment.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/notes.db")
    assert cli.main(["db", "upgrade"]) == 2
    assert one_line(capsys) == (
        f"hearth: cannot use the database at DATABASE_URL=sqlite+aiosqlite:///{tmp_path}/notes.db:"
        " file is not a database"
    )


def test_the_console_names_its_database_option_when_given(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    script = tmp_path / "s.txt"
    script.write_text("alice joins\n")
    url = "sqlite+aiosqlite:////nonexistent-folder/console.db"
    assert cli.main(["console", "--script", str(script), "--database", url]) == 2
    assert one_line(capsys) == (
        f"hearth: cannot use the database at --database={url}: unable to open database file"
    )


# ------------------------------------------------------------------ a token Slack refuses


@needs_spec
async def test_a_refused_slack_token_stops_the_app_at_start_up(sqlite_url: str) -> None:
    async with FakeSlackApi() as fake:
        fake.fail_next("auth.test", error="invalid_auth")
        settings = Settings(
            database_url=sqlite_url,
            slack_bot_token="xoxb-wrong",
            slack_signing_secret="s",
            slack_api_url=fake.base_url,
        )
        server = TestServer(init_app(settings))
        with pytest.raises(StartupError) as caught:
            await server.start_server()
        await server.close()
        assert str(caught.value) == "Slack refused SLACK_BOT_TOKEN (auth.test: invalid_auth)"
        assert [c.method for c in fake.calls] == ["auth.test"]


@needs_spec
async def test_hearth_serve_with_a_refused_slack_token_says_so_in_one_line(tmp_path: Path) -> None:
    async with FakeSlackApi() as fake:
        fake.fail_next("auth.test", error="invalid_auth")
        env = {k: v for k, v in os.environ.items() if k not in PLATFORM_SETTINGS}
        env.update(
            PYTHONPATH=str(ROOT),
            DATABASE_URL=f"sqlite:///{tmp_path}/hearth.db",
            PORT=str(closed_port()),
            SLACK_BOT_TOKEN="xoxb-wrong",
            SLACK_SIGNING_SECRET="s",
            SLACK_API_URL=fake.base_url,
            HEARTH_SECRET=SECRET,
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "hearth.bot.cli",
            "serve",
            env=env,
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2
    assert b"Traceback" not in out + err
    lines = [line for line in err.decode().splitlines() if " INFO " not in line]
    assert lines == ["hearth: Slack refused SLACK_BOT_TOKEN (auth.test: invalid_auth)"]


def test_a_database_from_a_newer_hearth(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with sqlite3.connect(tmp_path / "newer.db") as connection:
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        connection.execute("INSERT INTO alembic_version VALUES ('9999_from_the_future')")
    environment.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/newer.db")
    assert cli.main(["db", "upgrade"]) == 2
    assert one_line(capsys) == (
        f"hearth: cannot use the database at DATABASE_URL=sqlite+aiosqlite:///{tmp_path}/newer.db:"
        " Can't locate revision identified by '9999_from_the_future'"
    )
