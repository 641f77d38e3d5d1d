"""Migrations build exactly the schema the models describe, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from hearth.storage import migrate
from hearth.storage.db import Database
from hearth.storage.models import SEARCH_OBJECTS, Base, Community, ExpertQuestion

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


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


async def test_opening_terms_of_questions_indexed_before_0017_are_backfilled(
    database_url: str,
) -> None:
    database = Database(database_url)
    try:
        await migrate.upgrade(database, "0016")
        terms = [f"t{i}" for i in range(14)]  # the first 12 open the question
        async with database.transaction() as session:  # tables 0017 leaves as they were
            community = Community(
                platform="console",
                workspace="w",
                channel="C",
                name="#c",
                timezone="UTC",
                segments=[],
                interests=[],
                created_at=T0,
            )
            session.add(community)
            await session.flush()
            question = ExpertQuestion(
                community_id=community.id, question_key="q1", terms=terms, asked_at=T0
            )
            session.add(question)
            await session.flush()
            for term in terms:  # the two tables 0017 adds a column to, as they were
                await session.execute(
                    text(
                        "INSERT INTO expert_question_terms (community_id, term, question_id,"
                        " length) VALUES (:c, :t, :q, 14)"
                    ),
                    {"c": community.id, "t": term, "q": question.id},
                )
                await session.execute(
                    text(
                        "INSERT INTO expert_term_stats (community_id, term, questions)"
                        " VALUES (:c, :t, 1)"
                    ),
                    {"c": community.id, "t": term},
                )
        await migrate.upgrade(database)
        async with database.engine.connect() as connection:
            flags = dict(
                (
                    await connection.exec_driver_sql(
                        "SELECT term, opening FROM expert_question_terms"
                    )
                ).all()
            )
            openings = dict(
                (
                    await connection.exec_driver_sql("SELECT term, openings FROM expert_term_stats")
                ).all()
            )
    finally:
        await database.close()
    assert {t for t, opening in flags.items() if opening} == {f"t{i}" for i in range(12)}
    assert openings == {f"t{i}": int(i < 12) for i in range(14)}
