"""outbox claimed_at: when the current delivery was first attempted

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 08:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hearth.storage.models

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("claimed_at", hearth.storage.models.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("claimed_at")
