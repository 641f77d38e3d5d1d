"""the community's rhythm: themes, articles of the month, digests and thread counters

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 00:41:10.516549
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hearth.storage.models

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "articles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("blurb", sa.Text(), nullable=False),
        sa.Column("suggested_by", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", hearth.storage.models.UTCDateTime(), nullable=False),
        sa.Column("decided_at", hearth.storage.models.UTCDateTime(), nullable=True),
        sa.Column("posted_month", sa.String(length=7), nullable=True),
        sa.Column("posted_at", hearth.storage.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["suggested_by"], ["members.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.create_index(
            "ix_articles_community_status", ["community_id", "status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_articles_suggested_by"), ["suggested_by"], unique=False
        )

    op.create_table(
        "digest_cadences",
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("segment", sa.String(length=255), nullable=False),
        sa.Column("every", sa.String(length=16), nullable=False),
        sa.Column("newsletter", sa.Boolean(), nullable=False),
        sa.Column("since", hearth.storage.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("community_id", "segment"),
    )
    op.create_table(
        "digest_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("period_start", hearth.storage.models.UTCDateTime(), nullable=False),
        sa.Column("period_end", hearth.storage.models.UTCDateTime(), nullable=False),
        sa.Column("posted_at", hearth.storage.models.UTCDateTime(), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("after", sa.Integer(), nullable=True),
        sa.Column("before", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("community_id", "kind", "period_start"),
    )
    with op.batch_alter_table("digest_runs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_digest_runs_community_posted", ["community_id", "posted_at"], unique=False
        )

    op.create_table(
        "themes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("blurb", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", hearth.storage.models.UTCDateTime(), nullable=False),
        sa.Column("opened_at", hearth.storage.models.UTCDateTime(), nullable=True),
        sa.Column("prompted_at", hearth.storage.models.UTCDateTime(), nullable=True),
        sa.Column("prompt_note", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by"], ["members.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("community_id", "month"),
    )
    op.create_table(
        "thread_activity",
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.String(length=255), nullable=False),
        sa.Column("replies", sa.Integer(), nullable=False),
        sa.Column("participants", sa.Integer(), nullable=False),
        sa.Column("started_at", hearth.storage.models.UTCDateTime(), nullable=False),
        sa.Column("last_at", hearth.storage.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("community_id", "thread_id"),
    )
    with op.batch_alter_table("thread_activity", schema=None) as batch_op:
        batch_op.create_index(
            "ix_thread_activity_community_last", ["community_id", "last_at"], unique=False
        )

    op.create_table(
        "thread_participants",
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.String(length=255), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("community_id", "thread_id", "member_id"),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("thread_participants", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_thread_participants_member_id"), ["member_id"], unique=False
        )

    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.create_index(
            "ix_memberships_community_joined", ["community_id", "joined_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.drop_index("ix_memberships_community_joined")

    with op.batch_alter_table("thread_participants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_thread_participants_member_id"))

    op.drop_table("thread_participants")
    with op.batch_alter_table("thread_activity", schema=None) as batch_op:
        batch_op.drop_index("ix_thread_activity_community_last")

    op.drop_table("thread_activity")
    op.drop_table("themes")
    with op.batch_alter_table("digest_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_digest_runs_community_posted")

    op.drop_table("digest_runs")
    op.drop_table("digest_cadences")
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_articles_suggested_by"))
        batch_op.drop_index("ix_articles_community_status")

    op.drop_table("articles")
