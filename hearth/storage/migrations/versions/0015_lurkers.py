"""lurkers: first and last posts per member, nudges, lurker settings

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hearth.storage.models import UTCDateTime

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "participation",
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("first_posted_at", UTCDateTime(), nullable=False),
        sa.Column("last_posted_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("community_id", "member_id"),
    )
    op.create_table(
        "nudges",
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("community_id", "member_id", "number"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_nudges_community_due", "nudges", ["community_id", "due_at"])
    op.create_table(
        "lurker_settings",
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("per_day", sa.Integer(), nullable=False),
        sa.Column("celebrate", sa.Boolean(), nullable=False),
        sa.Column("nudge_template", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("community_id"),
    )
    # the sweep's index on memberships (community_id, joined_at) comes with 0013
    # Who posted before this revision has posted: one pass over the history, once.
    op.execute(
        "INSERT INTO participation (community_id, member_id, first_posted_at, last_posted_at) "
        "SELECT community_id, member_id, MIN(posted_at), MAX(posted_at) FROM messages "
        "WHERE member_id IS NOT NULL AND NOT from_bot GROUP BY community_id, member_id"
    )


def downgrade() -> None:
    op.drop_table("lurker_settings")
    op.drop_index("ix_nudges_community_due", table_name="nudges")
    op.drop_table("nudges")
    op.drop_table("participation")
