"""The scope phase each release was triaged in, with its justification (SM-5).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add release_scope: one row per release whose scope was chosen explicitly."""
    op.create_table(
        "release_scope",
        sa.Column("release_id", sa.Integer, sa.ForeignKey("release.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("justification", sa.Text, nullable=False),
        sa.Column("globs", sa.Text, nullable=False),
        sa.Column("changed", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
