"""Settings, read once at start-up from the environment into one typed object."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///hearth.db"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
}


class SettingsError(Exception):
    """A setting is missing, malformed or contradicts another; the message says which and why."""


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    port: int = 3000
    timezone: str = "UTC"
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL

    @property
    def slack_enabled(self) -> bool:
        return self.slack_bot_token is not None

    @property
    def slack_socket_mode(self) -> bool:
        return self.slack_app_token is not None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Build and check the settings; raises SettingsError naming the culprit."""

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        settings = cls(
            database_url=_database_url(get("DATABASE_URL") or DEFAULT_DATABASE_URL),
            port=_port(get("PORT") or "3000"),
            timezone=_timezone(get("HEARTH_TIMEZONE") or "UTC"),
            slack_bot_token=get("SLACK_BOT_TOKEN"),
            slack_signing_secret=get("SLACK_SIGNING_SECRET"),
            slack_app_token=get("SLACK_APP_TOKEN"),
            slack_api_url=_api_url(get("SLACK_API_URL") or DEFAULT_SLACK_API_URL),
        )
        settings._check_slack()
        return settings

    def _check_slack(self) -> None:
        if self.slack_bot_token and not self.slack_bot_token.startswith("xoxb-"):
            raise SettingsError("SLACK_BOT_TOKEN must be a bot token (it starts with xoxb-)")
        if self.slack_app_token:
            if not self.slack_bot_token:
                raise SettingsError("SLACK_APP_TOKEN (Socket Mode) also needs SLACK_BOT_TOKEN")
            if not self.slack_app_token.startswith("xapp-"):
                raise SettingsError(
                    "SLACK_APP_TOKEN must be an app-level token (it starts with xapp-)"
                )
        elif self.slack_bot_token and not self.slack_signing_secret:
            raise SettingsError(
                "SLACK_SIGNING_SECRET is required with SLACK_BOT_TOKEN in HTTP mode "
                "(or set SLACK_APP_TOKEN for Socket Mode)"
            )
        if self.slack_signing_secret and not self.slack_bot_token:
            raise SettingsError("SLACK_SIGNING_SECRET is set but SLACK_BOT_TOKEN is not")


def _database_url(value: str) -> str:
    try:
        url = make_url(value)
    except ArgumentError as error:
        raise SettingsError(f"DATABASE_URL is not a database URL: {value!r}") from error
    backend = url.get_backend_name()
    if backend not in DRIVERS:
        raise SettingsError(f"DATABASE_URL must be SQLite or PostgreSQL, not {backend!r}")
    return url.set(drivername=DRIVERS[backend]).render_as_string(hide_password=False)


def _port(value: str) -> int:
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise SettingsError(f"PORT must be a number from 1 to 65535, not {value!r}")
    return int(value)


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise SettingsError(f"HEARTH_TIMEZONE is not a known time zone: {value!r}") from error
    return value


def _api_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise SettingsError(f"SLACK_API_URL must be an http(s) URL, not {value!r}")
    return value if value.endswith("/") else value + "/"
