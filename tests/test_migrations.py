"""Migrations build exactly the schema the models describe, on every backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from hearth.storage import migrate
from hearth.storage.db import Database
from hearth.storage.models import SEARCH_OBJECTS, Base


def _ours(name: str | None, type_: str, parents: object) -> bool:
    """Leave out the full-text search objects made beside the models (SEARCH_OBJECTS)."""
    return not (name or "").startswith(SEARCH_OBJECTS)


async def test_models_and_migrations_agree(db: Database) -> None:
    async with db.engine.connect() as connection:
        diff = await connection.run_sync(
            lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"include_name": _ours}), Base.metadata
            )
        )
    assert diff == []


async def test_upgrade_is_idempotent(db: Database) -> None:
    await migrate.upgrade(db)
    async with db.engine.connect() as connection:
        tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    assert set(Base.metadata.tables) <= tables
