"""Triage decisions (append-only history) and the SARIF sha256 on each occurrence.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the decision table and occurrence.sarif_sha256 (empty for older rows)."""
    op.create_table(
        "decision",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("issue_id", sa.Integer, sa.ForeignKey("issue.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("decided_by", sa.String(200), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires", sa.Date),
        sa.Column("target_release", sa.String(200)),
        sa.Column("release_id", sa.Integer, sa.ForeignKey("release.id", ondelete="SET NULL")),
    )
    op.create_index("ix_decision_issue", "decision", ["issue_id", "id"])
    with op.batch_alter_table("occurrence") as batch:
        batch.add_column(sa.Column("sarif_sha256", sa.String(64), nullable=False,
                                   server_default=""))
