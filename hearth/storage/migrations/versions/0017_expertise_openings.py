"""expertise: opening terms, and each community's calibration of topic against activity

A question's opening is its first 12 terms (a title, a first line): the index marks them and
counts, per term, the questions it opens. Calibration keeps the router's first picks of a
question under each topic scale until it is answered, and per community how often each
scale's picks held the answerer.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 07:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

OPENING_TERMS = 12
"""hearth.handlers.expertise.text.OPENING_TERMS when this revision was written."""


def upgrade() -> None:
    with op.batch_alter_table("expert_question_terms") as batch:
        batch.add_column(
            sa.Column("opening", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("expert_term_stats") as batch:
        batch.add_column(sa.Column("openings", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("expert_communities") as batch:
        batch.add_column(sa.Column("calibrated", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "expert_picks",
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("scales", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["question_id"], ["expert_questions.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("question_id", "member_id"),
    )
    op.create_index("ix_expert_picks_member", "expert_picks", ["member_id"])
    op.create_table(
        "expert_calibration",
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("scale", sa.Integer(), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("community_id", "scale"),
    )
    _backfill()


def _backfill() -> None:
    """Mark the opening terms of the questions already indexed, and count them per term."""
    bind = op.get_bind()
    questions = sa.table(
        "expert_questions",
        sa.column("id", sa.Integer()),
        sa.column("community_id", sa.Integer()),
        sa.column("terms", sa.JSON()),
    )
    index = sa.table(
        "expert_question_terms",
        sa.column("question_id", sa.Integer()),
        sa.column("term", sa.String()),
        sa.column("opening", sa.Boolean()),
    )
    stats = sa.table(
        "expert_term_stats",
        sa.column("community_id", sa.Integer()),
        sa.column("term", sa.String()),
        sa.column("openings", sa.Integer()),
    )
    counts: dict[tuple[int, str], int] = {}
    for question_id, community_id, terms in bind.execute(
        sa.select(questions.c.id, questions.c.community_id, questions.c.terms)
    ):
        opening = sorted(set((terms or [])[:OPENING_TERMS]))
        if not opening:
            continue
        bind.execute(
            sa.update(index)
            .where(index.c.question_id == question_id, index.c.term.in_(opening))
            .values(opening=True)
        )
        for term in opening:
            counts[community_id, term] = counts.get((community_id, term), 0) + 1
    for (community_id, term), count in counts.items():
        bind.execute(
            sa.update(stats)
            .where(stats.c.community_id == community_id, stats.c.term == term)
            .values(openings=count)
        )


def downgrade() -> None:
    op.drop_table("expert_calibration")
    op.drop_index("ix_expert_picks_member", table_name="expert_picks")
    op.drop_table("expert_picks")
    with op.batch_alter_table("expert_communities") as batch:
        batch.drop_column("calibrated")
    with op.batch_alter_table("expert_term_stats") as batch:
        batch.drop_column("openings")
    with op.batch_alter_table("expert_question_terms") as batch:
        batch.drop_column("opening")
