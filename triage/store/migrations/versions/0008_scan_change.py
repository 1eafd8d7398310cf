"""What changed at each scan, kept by ingest for the trend (scan_change, scan.compared_with).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the table and the column; scans stored before stay NULL (compared on the fly)."""
    with op.batch_alter_table("scan") as batch:
        batch.add_column(sa.Column("compared_with", sa.Integer))
    op.create_table(
        "scan_change",
        sa.Column("scan_id", sa.Integer, sa.ForeignKey("scan.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("sgn", sa.Integer, nullable=False),
        sa.Column("issue_id", sa.Integer, nullable=False),
        sa.Column("severity", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("suppression", sa.String(12), nullable=False),
        sa.Column("in_scope", sa.Boolean, nullable=False),
        sa.Column("tier", sa.Integer, nullable=False),
        sa.Column("component", sa.String(200), nullable=False),
    )
    op.create_index("ix_scan_change", "scan_change", ["scan_id", "sgn"])


def downgrade() -> None:
    """Drop them."""
    op.drop_index("ix_scan_change", table_name="scan_change")
    op.drop_table("scan_change")
    with op.batch_alter_table("scan") as batch:
        batch.drop_column("compared_with")
