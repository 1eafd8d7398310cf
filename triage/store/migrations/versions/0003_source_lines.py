"""Per-release line hashes of the source files with findings (for the line-map identity layer).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add source_file: one row per (release, path) given with --source-root."""
    op.create_table(
        "source_file",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("release_id", sa.Integer, sa.ForeignKey("release.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("line_hashes", sa.Text, nullable=False),
        sa.UniqueConstraint("release_id", "path", name="uq_source_file"),
    )
