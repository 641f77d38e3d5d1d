"""Settings: read once, and a wrong one stops start-up with one clear line."""

from __future__ import annotations

import pytest

from hearth.bot import cli
from hearth.bot.settings import Settings, SettingsError


def test_defaults_need_no_environment() -> None:
    settings = Settings.from_env({})
    assert settings.database_url == "sqlite+aiosqlite:///hearth.db"
    assert (settings.port, settings.timezone, settings.slack_enabled) == (3000, "UTC", False)
    assert settings.slack_api_url == "https://slack.com/api/"


SECRET = {"HEARTH_SECRET": "s" * 32}


def test_slack_http_and_socket_mode() -> None:
    http = Settings.from_env(
        {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "PORT": "8080", **SECRET}
    )
    assert (http.slack_enabled, http.slack_socket_mode, http.port) == (True, False, 8080)
    socket = Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", **SECRET})
    assert socket.slack_socket_mode
    assert http.defaults().secret == b"s" * 32


def test_the_console_needs_no_secret() -> None:
    assert Settings.from_env({}).defaults().secret  # a fixed, documented stand-in


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        ("postgres://u:p@db:5432/hearth", "postgresql+asyncpg://u:p@db:5432/hearth"),
        ("postgresql://u@db/hearth", "postgresql+asyncpg://u@db/hearth"),
        ("sqlite:///x.db", "sqlite+aiosqlite:///x.db"),
    ],
)
def test_database_urls_get_the_async_driver(url: str, normalised: str) -> None:
    assert Settings.from_env({"DATABASE_URL": url}).database_url == normalised


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PORT": "eighty"}, "PORT must be a number from 1 to 65535, not 'eighty'"),
        ({"PORT": "70000"}, "PORT must be a number from 1 to 65535, not '70000'"),
        ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL must be SQLite or PostgreSQL, not 'mysql'"),
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL is not a database URL: 'not a url'"),
        ({"HEARTH_TIMEZONE": "Mars/Base"}, "HEARTH_TIMEZONE is not a known time zone: 'Mars/Base'"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET is required with SLACK_BOT_TOKEN"),
        ({"SLACK_SIGNING_SECRET": "s"}, "SLACK_SIGNING_SECRET is set but SLACK_BOT_TOKEN is not"),
        (
            {"SLACK_BOT_TOKEN": "xoxp-1", "SLACK_SIGNING_SECRET": "s"},
            "SLACK_BOT_TOKEN must be a bot token",
        ),
        ({"SLACK_APP_TOKEN": "xapp-1"}, "SLACK_APP_TOKEN (Socket Mode) also needs SLACK_BOT_TOKEN"),
        (
            {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-2"},
            "SLACK_APP_TOKEN must be an app-level",
        ),
        ({"SLACK_API_URL": "ftp://x"}, "SLACK_API_URL must be an http(s) URL"),
        ({"HEARTH_SECRET": "short"}, "HEARTH_SECRET must be at least 32 characters long"),
    ],
)
def test_wrong_settings_are_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    assert str(caught.value).startswith(message)


def test_start_up_stops_with_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PORT", "eighty")
    assert cli.main(["serve"]) == 2
    assert (
        capsys.readouterr().err == "hearth: PORT must be a number from 1 to 65535, not 'eighty'\n"
    )


def test_serving_needs_the_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s")
    assert cli.main(["serve"]) == 2
    assert capsys.readouterr().err.startswith(
        "hearth: HEARTH_SECRET is required to serve Slack or Teams"
    )
