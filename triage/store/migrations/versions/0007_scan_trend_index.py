"""A covering index for the trend: a scan's issues in order, with the columns it counts.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

COLUMNS = ["scan_id", "issue_id", "severity", "kind", "suppression", "in_scope", "tier",
           "component"]


def upgrade() -> None:
    """Add ix_occ_scan_trend, so comparing two scans reads two index ranges only."""
    op.create_index("ix_occ_scan_trend", "occurrence", COLUMNS)


def downgrade() -> None:
    """Drop the trend's index."""
    op.drop_index("ix_occ_scan_trend", table_name="occurrence")
