"""Start-up checks that fail with one line for the operator instead of a traceback."""

from __future__ import annotations

import sqlite3

import aiohttp
from alembic.util.exc import CommandError
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from hearth.bot.slack.adapter import BotAuthorize
from hearth.storage import migrate
from hearth.storage.db import Database

DATABASE_ERRORS = (SQLAlchemyError, OSError, CommandError, TimeoutError)
"""What a database that cannot be reached, refuses us or is not Hearth's can raise."""


class StartupError(Exception):
    """Hearth cannot start; the message names the setting and the reason, in one line."""


def database_reason(error: BaseException) -> str:
    """Why a database call failed, in one line (the driver's words, not SQLAlchemy's wrapper)."""
    reason = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    return " ".join(str(reason).split()) or type(reason).__name__


def database_error(url: str, error: BaseException, setting: str = "DATABASE_URL") -> StartupError:
    """One line for a database Hearth cannot use: the setting, the URL (no password), why."""
    why = database_reason(error)
    shown = make_url(url).render_as_string(hide_password=True)
    return StartupError(f"cannot use the database at {setting}={shown}: {why}")


async def upgrade_database(db: Database, setting: str = "DATABASE_URL") -> None:
    """Apply the migrations, or raise StartupError saying why the database cannot be used."""
    try:
        _open_sqlite_file(db)
        await migrate.upgrade(db)
    except (*DATABASE_ERRORS, sqlite3.Error) as error:
        url = db.url.render_as_string(hide_password=False)
        raise database_error(url, error, setting) from error


def _open_sqlite_file(db: Database) -> None:
    """Open a SQLite file once, directly: aiosqlite, failing to open one, leaves its worker
    thread to report to an event loop that may be closed by then (a traceback on exit)."""
    path = db.url.database
    if db.url.get_backend_name() == "sqlite" and path and path != ":memory:":
        sqlite3.connect(path).close()


async def check_slack_token(authorize: BotAuthorize, api_url: str) -> None:
    """Ask Slack who the bot is (`auth.test`); a refused token or no answer is a StartupError."""
    try:
        await authorize.identify()
    except SlackApiError as error:
        code = error.response.get("error") or f"HTTP {error.response.status_code}"
        raise StartupError(f"Slack refused SLACK_BOT_TOKEN (auth.test: {code})") from error
    except (aiohttp.ClientError, TimeoutError) as error:
        why = " ".join(str(error).split()) or type(error).__name__
        raise StartupError(f"cannot reach Slack at SLACK_API_URL={api_url}: {why}") from error
