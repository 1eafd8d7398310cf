"""Drop the index on occurrence.fingerprint: no query looks an occurrence up by it.

Identity reads a scan's fingerprints through the (scan, path) index; the index on the
fingerprint alone only cost every ingest a random insert per finding.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Drop the index."""
    op.drop_index("ix_occ_fp", table_name="occurrence")


def downgrade() -> None:
    """Put it back."""
    op.create_index("ix_occ_fp", "occurrence", ["fingerprint"])
