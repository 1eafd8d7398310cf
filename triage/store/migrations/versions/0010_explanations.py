"""Reasons and exposures stored once: the explanation table, occurrence.explain_id/exposure_id.

Findings of one rule and file share their reasons, and findings of one component their
exposure; stored with every occurrence they were half of its bytes. Rows stored before keep
their text inline.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the table and the two columns (NULL for the rows already stored)."""
    op.create_table(
        "explanation",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("digest", sa.String(64), nullable=False, unique=True),
        sa.Column("body", sa.Text, nullable=False),
    )
    op.add_column("occurrence", sa.Column("explain_id", sa.Integer))
    op.add_column("occurrence", sa.Column("exposure_id", sa.Integer))


def downgrade() -> None:
    """Put the texts back inline, then drop the columns and the table."""
    for column, inline in (("explain_id", "explain"), ("exposure_id", "exposure_json")):
        op.execute(
            f"UPDATE occurrence SET {inline} = (SELECT body FROM explanation "
            f"WHERE explanation.id = occurrence.{column}) WHERE {column} IS NOT NULL")
    with op.batch_alter_table("occurrence") as batch:
        batch.drop_column("exposure_id")
        batch.drop_column("explain_id")
    op.drop_table("explanation")
