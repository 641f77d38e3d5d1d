"""The console refuses bad input with one line naming it: `--start`, `tz` and `wait` lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from hearth.bot import cli
from hearth.bot.console.script import ScriptError
from hearth.bot.console.session import ConsoleSession
from hearth.handlers.context import Defaults
from hearth.storage.db import Database
from tests.console_helpers import START


def one_script(tmp_path: Path, lines: str) -> Path:
    script = tmp_path / "demo.txt"
    script.write_text(lines)
    return script


@pytest.mark.parametrize(
    ("start", "reason"),
    [
        ("9999-12-31T23:00", "outside the console's years 1970–2999"),
        ("0001-01-01T00:00+05:00", "outside the console's years 1970–2999"),
        ("1969-12-31T23:59", "outside the console's years 1970–2999"),
        ("tomorrow", "not an ISO 8601 time like 2026-12-01T09:00: 'tomorrow'"),
    ],
)
def test_a_start_the_console_cannot_show_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], start: str, reason: str
) -> None:
    script = one_script(tmp_path, "alice joins\n")
    status = cli.main(["console", "--script", str(script), "--start", start])
    out, err = capsys.readouterr()
    assert status == 2
    assert len(err.splitlines()) == 1
    assert err.startswith("hearth: --start: ")
    assert reason in err
    assert out == ""


def test_the_last_start_the_console_shows_still_welcomes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = one_script(tmp_path, "alice joins\nwait 1d\n")
    assert cli.main(["console", "--script", str(script), "--start", "2999-12-30T09:00"]) == 0
    out = capsys.readouterr().out
    assert "[1] DM @alice bot: Hi Alice" in out


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("alice tz EST", "“EST” is an abbreviation"),
        ("alice tz CET", "like Europe/Paris"),
        ("alice tz Mars/Olympus", "“Mars/Olympus” isn't a time zone I know"),
        ("wait 99999999999999999999w", "wait 99999999999999999999w is too long"),
        ("wait 999999999d", "that wait would go past the console's years 1970–2999"),
        ('alice clicks "Go" on 99999999999999999999', "can't read"),
    ],
)
def test_a_bad_line_is_file_line_reason_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, reason: str
) -> None:
    script = one_script(tmp_path, f"alice joins\n{line}\nalice: never reached\n")
    status = cli.main(["console", "--script", str(script), "--start", "2026-12-01T09:00"])
    out, err = capsys.readouterr()
    assert status == 2
    assert len(err.splitlines()) == 1
    assert err.startswith(f"{script}:2: ")
    assert reason in err
    assert "never reached" not in out


@pytest.mark.parametrize(
    ("typed", "zone"),
    [("utc", "UTC"), ("europe/london", "Europe/London"), ("America/New_York", "America/New_York")],
)
async def test_a_tz_line_takes_zones_as_the_command_grammar_does(
    db: Database, typed: str, zone: str
) -> None:
    session = ConsoleSession(db, START, [].append, Defaults("UTC"))
    await session.start()
    await session.run_line(f"alice tz {typed}")
    assert session.workspace.time_zones["alice"] == zone
    with pytest.raises(ScriptError):
        await session.run_line("alice tz EST")
    assert session.workspace.time_zones["alice"] == zone  # a refused line changes nothing
