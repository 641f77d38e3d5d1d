"""outbox leases, shared pacing and remembered DM channels

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hearth.storage.models

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("lease_until", hearth.storage.models.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(sa.Column("failures", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(
            sa.Column("in_doubt", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    # rows a sender left `sending` before leases existed: expired, so any sender takes them over
    op.execute("UPDATE outbox SET in_doubt = TRUE WHERE status = 'sending'")
    op.create_table(
        "outbox_pacing",
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("workspace", sa.String(length=255), nullable=False),
        sa.Column("conversation", sa.String(length=300), nullable=False),
        sa.Column("next_slot", hearth.storage.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("platform", "workspace", "conversation"),
    )
    with op.batch_alter_table("outbox_pacing", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_pacing_next_slot"), ["next_slot"], unique=False)
    op.create_table(
        "dm_channels",
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("workspace", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("conversation", sa.String(length=255), nullable=False),
        sa.Column("updated_at", hearth.storage.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("platform", "workspace", "user_id"),
    )


def downgrade() -> None:
    op.drop_table("dm_channels")
    with op.batch_alter_table("outbox_pacing", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_pacing_next_slot"))
    op.drop_table("outbox_pacing")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("in_doubt")
        batch_op.drop_column("failures")
        batch_op.drop_column("lease_until")
        batch_op.drop_column("claimed_by")
