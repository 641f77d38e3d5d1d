"""scheduler: firings and supervised one-shot jobs

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hearth.storage.models

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_firings",
        sa.Column("job", sa.String(length=255), nullable=False),
        sa.Column("period", hearth.storage.models.UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("retry_at", hearth.storage.models.UTCDateTime(), nullable=True),
        sa.Column("fired_at", hearth.storage.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("job", "period"),
    )
    with op.batch_alter_table("job_firings", schema=None) as batch_op:
        batch_op.create_index("ix_job_firings_status_retry", ["status", "retry_at"], unique=False)
    with op.batch_alter_table("due_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("failed_at", hearth.storage.models.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("due_jobs", schema=None) as batch_op:
        batch_op.drop_column("failed_at")
        batch_op.drop_column("last_error")
        batch_op.drop_column("attempts")
    with op.batch_alter_table("job_firings", schema=None) as batch_op:
        batch_op.drop_index("ix_job_firings_status_retry")
    op.drop_table("job_firings")
