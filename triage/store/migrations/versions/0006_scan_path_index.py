"""An index on (scan, path): chunked ingest links a scan's findings one group of files at a time.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Replace the index on scan_id by one on (scan_id, path), which serves both."""
    op.create_index("ix_occ_scan_path", "occurrence", ["scan_id", "path"])
    op.drop_index("ix_occ_scan", table_name="occurrence")


def downgrade() -> None:
    """Back to the index on scan_id alone."""
    op.create_index("ix_occ_scan", "occurrence", ["scan_id"])
    op.drop_index("ix_occ_scan_path", table_name="occurrence")
