"""The first schema: product, release, scan, issue, occurrence.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the tables of the first release."""
    op.create_table(
        "product",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
    )
    op.create_table(
        "release",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("product_id", sa.Integer, sa.ForeignKey("product.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("seq", sa.Float, nullable=False),
        sa.Column("target_sl", sa.Integer),
        sa.Column("threat_model", sa.Text),
        sa.Column("threat_model_sha256", sa.String(64)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("product_id", "name", name="uq_release_name"),
    )
    op.create_table(
        "scan",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("release_id", sa.Integer, sa.ForeignKey("release.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("tool", sa.String(100), nullable=False),
        sa.Column("tool_version", sa.String(100), nullable=False),
        sa.Column("sarif_files", sa.Text, nullable=False),
        sa.Column("sarif_sha256", sa.String(64), nullable=False),
        sa.Column("successful", sa.Boolean, nullable=False),
        sa.Column("not_analysed", sa.Text, nullable=False),
        sa.Column("notes", sa.Text, nullable=False),
        sa.Column("finding_count", sa.Integer, nullable=False),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("release_id", "tool", name="uq_scan_tool"),
    )
    op.create_table(
        "issue",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("product_id", sa.Integer, sa.ForeignKey("product.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("tool", sa.String(100), nullable=False),
        sa.Column("rule_id", sa.String(500), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("first_release_id", sa.Integer, sa.ForeignKey("release.id"), nullable=False),
    )
    op.create_index("ix_issue_fp", "issue", ["product_id", "tool", "fingerprint"])
    op.create_table(
        "occurrence",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("scan_id", sa.Integer, sa.ForeignKey("scan.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("release_id", sa.Integer, sa.ForeignKey("release.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("issue_id", sa.Integer, sa.ForeignKey("issue.id"), nullable=False),
        sa.Column("link", sa.String(30), nullable=False),
        sa.Column("rule_id", sa.String(500), nullable=False),
        sa.Column("rule_name", sa.String(500), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("start_line", sa.Integer),
        sa.Column("end_line", sa.Integer),
        sa.Column("start_column", sa.Integer),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("snippet", sa.Text, nullable=False),
        sa.Column("level", sa.String(10), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("suppression", sa.String(12), nullable=False),
        sa.Column("native_severity", sa.String(20), nullable=False),
        sa.Column("native_confidence", sa.String(20), nullable=False),
        sa.Column("security_severity", sa.Float),
        sa.Column("cwe", sa.String(200), nullable=False),
        sa.Column("base_severity", sa.Integer, nullable=False),
        sa.Column("severity", sa.Integer, nullable=False),
        sa.Column("component", sa.String(200), nullable=False),
        sa.Column("component_kind", sa.String(50), nullable=False),
        sa.Column("tier", sa.Integer, nullable=False),
        sa.Column("in_scope", sa.Boolean, nullable=False),
        sa.Column("exposure", sa.Integer, nullable=False),
        sa.Column("risk_score", sa.Integer, nullable=False),
        sa.Column("explain", sa.Text, nullable=False),
        sa.Column("exposure_json", sa.Text, nullable=False),
        sa.Column("sarif_file", sa.String(500), nullable=False),
        sa.Column("run_index", sa.Integer, nullable=False),
        sa.Column("result_index", sa.Integer, nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("text_key", sa.Text, nullable=False),
        sa.Column("message_key", sa.Text, nullable=False),
        sa.Column("tool_fingerprints", sa.Text, nullable=False),
    )
    op.create_index("ix_occ_release_issue", "occurrence", ["release_id", "issue_id"])
    op.create_index("ix_occ_scan", "occurrence", ["scan_id"])
    op.create_index("ix_occ_fp", "occurrence", ["fingerprint"])
