"""Settings, read once at start-up from the environment into one typed object."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from hearth.handlers.context import Defaults

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///hearth.db"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
MIN_SECRET = 32
CONSOLE_SECRET = "hearth console: a simulation, not a secret"
APP_TYPES = {
    "multitenant": "MultiTenant",
    "singletenant": "SingleTenant",
    "userassignedmsi": "UserAssignedMSI",
}
GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
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
    microsoft_app_id: str | None = None
    microsoft_app_password: str | None = None
    microsoft_app_tenant_id: str | None = None
    microsoft_app_type: str = "MultiTenant"
    teams_emulator: bool = False
    secret: str | None = None
    """HEARTH_SECRET: keys anonymous voters' hashes; required to serve, never stored."""
    message_retention_days: int | None = None
    """HEARTH_MESSAGE_RETENTION_DAYS: message text older than this is removed (None: kept)."""
    max_open_requests: int = 3
    """HEARTH_MAX_OPEN_REQUESTS: questions a member may be asked to help with at once."""
    outbox_lease_seconds: float = 60.0
    """HEARTH_OUTBOX_LEASE_SECONDS: how long a crashed process's in-flight messages wait
    before another sender takes them over (leases are renewed while a sender is alive)."""

    def defaults(self) -> Defaults:
        """What handlers need from the settings (the console, which simulates, may do without
        a secret; serving may not, see `_check_secret`)."""
        secret = (self.secret or CONSOLE_SECRET).encode()
        return Defaults(
            timezone=self.timezone,
            secret=secret,
            retention_days=self.message_retention_days,
            max_open_requests=self.max_open_requests,
        )

    @property
    def slack_enabled(self) -> bool:
        return self.slack_bot_token is not None

    @property
    def teams_enabled(self) -> bool:
        """Teams is on with an Azure Bot app id, or in emulator mode (loopback, no auth)."""
        return self.microsoft_app_id is not None or self.teams_emulator

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
            microsoft_app_id=_either(get, "MICROSOFT_APP_ID", "MicrosoftAppId"),
            microsoft_app_password=_either(get, "MICROSOFT_APP_PASSWORD", "MicrosoftAppPassword"),
            microsoft_app_tenant_id=_either(get, "MICROSOFT_APP_TENANT_ID", "MicrosoftAppTenantId"),
            microsoft_app_type=_app_type(_either(get, "MICROSOFT_APP_TYPE", "MicrosoftAppType")),
            teams_emulator=_flag("HEARTH_TEAMS_EMULATOR", get("HEARTH_TEAMS_EMULATOR")),
            secret=get("HEARTH_SECRET"),
            message_retention_days=_retention(get("HEARTH_MESSAGE_RETENTION_DAYS")),
            outbox_lease_seconds=_lease(get("HEARTH_OUTBOX_LEASE_SECONDS")),
            max_open_requests=_open_requests(get("HEARTH_MAX_OPEN_REQUESTS")),
        )
        settings._check_slack()
        settings._check_teams()
        settings._check_secret()
        return settings

    def _check_secret(self) -> None:
        if self.secret is not None and len(self.secret) < MIN_SECRET:
            raise SettingsError(f"HEARTH_SECRET must be at least {MIN_SECRET} characters long")

    def check_can_serve(self) -> None:
        """Serving needs a platform, and real workspaces the secret (the emulator does not)."""
        if not (self.slack_enabled or self.teams_enabled):
            raise SettingsError(
                "nothing to serve: set SLACK_BOT_TOKEN with SLACK_SIGNING_SECRET "
                "(or SLACK_APP_TOKEN for Socket Mode) for Slack, or MICROSOFT_APP_ID with "
                "MICROSOFT_APP_PASSWORD for Teams (HEARTH_TEAMS_EMULATOR=1 to try Teams locally); "
                "`hearth console` needs neither"
            )
        if self.secret is None and (self.slack_enabled or self.microsoft_app_id):
            raise SettingsError(
                "HEARTH_SECRET is required to serve Slack or Teams (it keys anonymous votes); "
                "make one with: python3 -c 'import secrets; print(secrets.token_hex(32))'"
            )

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

    def _check_teams(self) -> None:
        app_id, app_type = self.microsoft_app_id, self.microsoft_app_type
        if app_id is None:
            if self.microsoft_app_password or self.microsoft_app_tenant_id:
                raise SettingsError(
                    "MICROSOFT_APP_PASSWORD or MICROSOFT_APP_TENANT_ID is set "
                    "but MICROSOFT_APP_ID is not"
                )
            return
        if self.teams_emulator:
            raise SettingsError(
                "HEARTH_TEAMS_EMULATOR=1 serves Teams without authentication; "
                "it cannot be combined with MICROSOFT_APP_ID"
            )
        if not GUID.match(app_id):
            raise SettingsError(
                f"MICROSOFT_APP_ID must be the Azure Bot's app id (a GUID), not {app_id!r}"
            )
        if app_type != "UserAssignedMSI" and not self.microsoft_app_password:
            raise SettingsError(
                f"MICROSOFT_APP_PASSWORD is required with MICROSOFT_APP_ID ({app_type})"
            )
        if app_type != "MultiTenant" and not self.microsoft_app_tenant_id:
            raise SettingsError(
                f"MICROSOFT_APP_TENANT_ID is required when MICROSOFT_APP_TYPE is {app_type}"
            )


def _either(get: Callable[[str], str | None], *names: str) -> str | None:
    """The first of several accepted names that is set (`MICROSOFT_APP_ID` or `MicrosoftAppId`)."""
    return next((value for value in map(get, names) if value is not None), None)


def _app_type(value: str | None) -> str:
    if value is None:
        return "MultiTenant"
    if value.lower() not in APP_TYPES:
        raise SettingsError(
            f"MICROSOFT_APP_TYPE must be one of {', '.join(APP_TYPES.values())}, not {value!r}"
        )
    return APP_TYPES[value.lower()]


def _flag(name: str, value: str | None) -> bool:
    if value is None or value.lower() in ("0", "false", "no"):
        return False
    if value.lower() in ("1", "true", "yes"):
        return True
    raise SettingsError(f"{name} must be 1 or 0, not {value!r}")


def _database_url(value: str) -> str:
    try:
        url = make_url(value)
    except ArgumentError as error:
        raise SettingsError(f"DATABASE_URL is not a database URL: {value!r}") from error
    backend = url.get_backend_name()
    if backend not in DRIVERS:
        raise SettingsError(f"DATABASE_URL must be SQLite or PostgreSQL, not {backend!r}")
    return url.set(drivername=DRIVERS[backend]).render_as_string(hide_password=False)


def _retention(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isdigit() or not 0 < int(value) <= 36500:
        raise SettingsError(
            f"HEARTH_MESSAGE_RETENTION_DAYS must be a number of days from 1 to 36500, not {value!r}"
        )
    return int(value)


def _open_requests(value: str | None) -> int:
    if value is None:
        return 3
    if not value.isdigit() or not 0 < int(value) <= 100:
        raise SettingsError(
            f"HEARTH_MAX_OPEN_REQUESTS must be a number from 1 to 100, not {value!r}"
        )
    return int(value)


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


def _lease(value: str | None) -> float:
    if value is None:
        return 60.0
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not 1.0 <= seconds <= 3600.0:
        raise SettingsError(
            f"HEARTH_OUTBOX_LEASE_SECONDS must be a number of seconds from 1 to 3600, not {value!r}"
        )
    return seconds
