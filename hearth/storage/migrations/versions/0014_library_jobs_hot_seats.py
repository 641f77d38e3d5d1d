"""the community's library (full-text searched), the jobs board and hot seats

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 01:00:00

Full text: on SQLite an external-content FTS5 table `resources_fts` kept in step with
`resources` by triggers; on PostgreSQL a stored generated column `resources_fts_vector` (the
immutable SQL function `resource_document(...)` of title, tags and description) with a GIN
index, so neither matching nor ranking recomputes a document. Neither is in the
models: `SEARCH_OBJECTS` in models.py keeps them out of the autogenerate comparison.
A later migration that rebuilds `resources` in SQLite batch mode must create the triggers again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

SQLITE_FULLTEXT = (
    "CREATE VIRTUAL TABLE resources_fts USING fts5(title, tags, description, "
    "content='resources', content_rowid='id', tokenize='porter unicode61')",
    "CREATE TRIGGER resources_fts_insert AFTER INSERT ON resources BEGIN "
    "INSERT INTO resources_fts(rowid, title, tags, description) "
    "VALUES (new.id, new.title, new.tags, new.description); END",
    "CREATE TRIGGER resources_fts_delete AFTER DELETE ON resources BEGIN "
    "INSERT INTO resources_fts(resources_fts, rowid, title, tags, description) "
    "VALUES ('delete', old.id, old.title, old.tags, old.description); END",
    "CREATE TRIGGER resources_fts_update AFTER UPDATE ON resources BEGIN "
    "INSERT INTO resources_fts(resources_fts, rowid, title, tags, description) "
    "VALUES ('delete', old.id, old.title, old.tags, old.description); "
    "INSERT INTO resources_fts(rowid, title, tags, description) "
    "VALUES (new.id, new.title, new.tags, new.description); END",
)
POSTGRES_FULLTEXT = (
    "CREATE FUNCTION resource_document(title text, tags text, description text) "
    "RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ "
    "SELECT setweight(to_tsvector('english', coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english', replace(coalesce(tags, ''), ',', ' ')), 'B') || "
    "setweight(to_tsvector('english', coalesce(description, '')), 'C') $$",
    "ALTER TABLE resources ADD COLUMN resources_fts_vector tsvector "
    "GENERATED ALWAYS AS (resource_document(title, tags, description)) STORED",
    "CREATE INDEX ix_resources_fulltext ON resources USING gin (resources_fts_vector)",
)


def upgrade() -> None:
    op.create_table(
        "library_settings",
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("save_reaction", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("community_id"),
    )
    op.create_table(
        "resources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("tags", sa.String(length=400), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("added_by", sa.Integer(), nullable=True),
        sa.Column("reviewed_by", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("approved_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["added_by"], ["members.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["reviewed_by"], ["members.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("community_id", "url"),
    )
    op.create_index(
        "ix_resources_community_status",
        "resources",
        ["community_id", "status", "approved_at"],
    )
    op.create_index("ix_resources_added_by", "resources", ["added_by"])
    op.create_table(
        "job_postings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("poster_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("closes_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["poster_id"], ["members.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_job_postings_community_closes", "job_postings", ["community_id", "closes_at"]
    )
    op.create_index(
        "ix_job_postings_community_created", "job_postings", ["community_id", "created_at"]
    )
    op.create_index("ix_job_postings_poster_id", "job_postings", ["poster_id"])
    op.create_table(
        "hot_seats",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("expert_id", sa.Integer(), nullable=True),
        sa.Column("proposer_id", sa.Integer(), nullable=True),
        sa.Column("topic", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("ends_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["expert_id"], ["members.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["proposer_id"], ["members.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_hot_seats_community_status", "hot_seats", ["community_id", "status"])
    op.create_index("ix_hot_seats_expert_id", "hot_seats", ["expert_id"])
    op.create_table(
        "hot_seat_questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hot_seat_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("asker_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["hot_seat_id"], ["hot_seats.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["question_id"], ["questions.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["asker_id"], ["members.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_hot_seat_questions_hot_seat_id", "hot_seat_questions", ["hot_seat_id"])
    op.create_index("ix_hot_seat_questions_asker_id", "hot_seat_questions", ["asker_id"])
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_FULLTEXT if dialect == "sqlite" else POSTGRES_FULLTEXT:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS resources_fts_{trigger}")
        op.execute("DROP TABLE IF EXISTS resources_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_resources_fulltext")
    op.drop_table("hot_seat_questions")
    op.drop_table("hot_seats")
    op.drop_table("job_postings")
    op.drop_table("resources")
    op.drop_table("library_settings")
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP FUNCTION IF EXISTS resource_document(text, text, text)")
