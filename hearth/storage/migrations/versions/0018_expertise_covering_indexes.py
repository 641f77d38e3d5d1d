"""expertise: covering indexes for the rows routing reads per question

Routing one question reads the index rows of its terms (past questions and members) and the
answers to the past questions most like it: a few thousand rows. With these indexes each read
is an index-only range scan instead of an index lookup plus a table lookup per row.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 13:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

COVERING = {
    "ix_expert_question_terms_covering": (
        "expert_question_terms",
        ["community_id", "term", "question_id", "length", "opening"],
    ),
    "ix_expert_terms_covering": (
        "expert_terms",
        ["community_id", "term", "member_id", "weight", "declared"],
    ),
    "ix_expert_answers_covering": (
        "expert_answers",
        ["question_id", "member_id", "accepted", "clock"],
    ),
}


def upgrade() -> None:
    for name, (table, columns) in COVERING.items():
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, (table, _) in COVERING.items():
        op.drop_index(name, table_name=table)
