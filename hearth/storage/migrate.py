"""Alembic migrations, run programmatically on the application's own engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from hearth.storage.db import Database

MIGRATIONS = Path(__file__).with_name("migrations")
FULLTEXT_TABLE_PREFIXES = ("resources_fts",)
"""SQLite FTS5 tables (and their shadow tables) that migrations create outside the models."""
FULLTEXT_INDEXES = frozenset({"ix_resources_fulltext"})
"""PostgreSQL full-text (GIN, expression) indexes that migrations create outside the models."""


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Autogenerate's filter: full-text tables and indexes are the migrations' own (the models
    cannot describe an FTS5 table or an expression index), so they are not compared."""
    if type_ == "table" and name and name.startswith(FULLTEXT_TABLE_PREFIXES):
        return False
    return not (type_ == "index" and name in FULLTEXT_INDEXES)


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, pointed at our scripts (and a live connection when given)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the schema to `revision`."""
    async with db.engine.begin() as connection:
        await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), revision))
