"""An index on occurrence.issue_id, the foreign key to issue.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ix_occ_issue.

    Deleting an issue checks that no occurrence refers to it, and an issue's occurrences
    across releases are found, without reading the whole table.
    """
    op.create_index("ix_occ_issue", "occurrence", ["issue_id"])


def downgrade() -> None:
    """Drop the issue index."""
    op.drop_index("ix_occ_issue", table_name="occurrence")
