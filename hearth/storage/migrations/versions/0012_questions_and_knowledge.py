"""questions, expert requests and the knowledge base, with full-text search

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hearth.storage.models

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

SQLITE_SEARCH = (
    "CREATE VIRTUAL TABLE knowledge_fts USING fts5("
    "title, body, content='knowledge', content_rowid='id', tokenize='porter unicode61')",
    "CREATE TRIGGER knowledge_fts_insert AFTER INSERT ON knowledge BEGIN "
    "INSERT INTO knowledge_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END",
    "CREATE TRIGGER knowledge_fts_delete AFTER DELETE ON knowledge BEGIN "
    "INSERT INTO knowledge_fts(knowledge_fts, rowid, title, body) "
    "VALUES ('delete', old.id, old.title, old.body); END",
    "CREATE TRIGGER knowledge_fts_update AFTER UPDATE OF title, body ON knowledge BEGIN "
    "INSERT INTO knowledge_fts(knowledge_fts, rowid, title, body) "
    "VALUES ('delete', old.id, old.title, old.body); "
    "INSERT INTO knowledge_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END",
)
POSTGRES_SEARCH = (
    "CREATE INDEX ix_knowledge_search ON knowledge USING gin "
    "(to_tsvector('english', title || ' ' || body))",
)


def upgrade() -> None:
    op.create_table(
        "questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=True),
        sa.Column("asker_id", sa.Integer(), nullable=True),
        sa.Column("asker_sealed", sa.String(length=255), nullable=True),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("stage", sa.Integer(), nullable=False),
        sa.Column("asked_at", hearth.storage.models.UTCDateTime(), nullable=False),
        sa.Column("first_reply_at", hearth.storage.models.UTCDateTime(), nullable=True),
        sa.Column("answered_at", hearth.storage.models.UTCDateTime(), nullable=True),
        sa.Column("answerer_id", sa.Integer(), nullable=True),
        sa.Column("answer_message_id", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(["answerer_id"], ["members.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["asker_id"], ["members.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("community_id", "message_id"),
    )
    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_questions_community_status", ["community_id", "status", "asked_at"], unique=False
        )
        batch_op.create_index(
            "ix_questions_community_answered", ["community_id", "answered_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_questions_asker_id"), ["asker_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_questions_answerer_id"), ["answerer_id"], unique=False)

    op.create_table(
        "question_requests",
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("asked_at", hearth.storage.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["question_id"], ["questions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("question_id", "member_id"),
    )
    with op.batch_alter_table("question_requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_question_requests_member_status", ["member_id", "status"], unique=False
        )

    op.create_table(
        "knowledge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("helper_id", sa.Integer(), nullable=True),
        sa.Column("thread_id", sa.String(length=255), nullable=True),
        sa.Column("link", sa.Text(), nullable=False),
        sa.Column("created_at", hearth.storage.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["helper_id"], ["members.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["question_id"], ["questions.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("question_id"),
    )
    with op.batch_alter_table("knowledge", schema=None) as batch_op:
        batch_op.create_index(
            "ix_knowledge_community_created", ["community_id", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_knowledge_helper_id"), ["helper_id"], unique=False)

    statements = SQLITE_SEARCH if op.get_bind().dialect.name == "sqlite" else POSTGRES_SEARCH
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS knowledge_fts_{trigger}")
        op.execute("DROP TABLE IF EXISTS knowledge_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_knowledge_search")
    op.drop_table("knowledge")
    op.drop_table("question_requests")
    op.drop_table("questions")
