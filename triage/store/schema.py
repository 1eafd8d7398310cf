"""The database schema (SQLAlchemy 2.x Core tables); portable to SQLite and PostgreSQL.

This is the schema at the newest migration; ``migrations/versions`` holds the steps that
bring an older database here. Change both together.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

products = Table(
    "product",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
)

releases = Table(
    "release",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("product_id", Integer, ForeignKey("product.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("seq", Float, nullable=False),
    Column("target_sl", Integer),
    Column("threat_model", Text),
    Column("threat_model_sha256", String(64)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # NULL for releases stored before revision 0004: they count as released on created_at.
    Column("released_on", Date),
    UniqueConstraint("product_id", "name", name="uq_release_name"),
)

scans = Table(
    "scan",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("release_id", Integer, ForeignKey("release.id", ondelete="CASCADE"), nullable=False),
    Column("tool", String(100), nullable=False),
    Column("tool_version", String(100), nullable=False, default=""),
    Column("sarif_files", Text, nullable=False),
    Column("sarif_sha256", String(64), nullable=False),
    Column("successful", Boolean, nullable=False),
    Column("not_analysed", Text, nullable=False),
    Column("notes", Text, nullable=False),
    Column("finding_count", Integer, nullable=False),
    Column("ingested_at", DateTime(timezone=True), nullable=False),
    # The scan its scan_change rows were computed against (the tool's previous one then);
    # NULL for a tool's first scan and for scans stored before revision 0008.
    Column("compared_with", Integer),
    UniqueConstraint("release_id", "tool", name="uq_scan_tool"),
)

issues = Table(
    "issue",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("product_id", Integer, ForeignKey("product.id", ondelete="CASCADE"), nullable=False),
    Column("tool", String(100), nullable=False),
    Column("rule_id", String(500), nullable=False),
    Column("path", Text, nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("first_release_id", Integer, ForeignKey("release.id"), nullable=False),
)
Index("ix_issue_fp", issues.c.product_id, issues.c.tool, issues.c.fingerprint)

explanations = Table(
    "explanation",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("digest", String(64), nullable=False, unique=True),
    Column("body", Text, nullable=False),
)
"""The reasons and exposures occurrences share, each stored once (by its sha256)."""

occurrences = Table(
    "occurrence",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("scan_id", Integer, ForeignKey("scan.id", ondelete="CASCADE"), nullable=False),
    Column("release_id", Integer, ForeignKey("release.id", ondelete="CASCADE"), nullable=False),
    Column("issue_id", Integer, ForeignKey("issue.id"), nullable=False),
    Column("link", String(30), nullable=False),
    Column("rule_id", String(500), nullable=False),
    Column("rule_name", String(500), nullable=False),
    Column("path", Text, nullable=False),
    Column("start_line", Integer),
    Column("end_line", Integer),
    Column("start_column", Integer),
    Column("message", Text, nullable=False),
    Column("snippet", Text, nullable=False),
    Column("level", String(10), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("suppression", String(12), nullable=False),
    Column("native_severity", String(20), nullable=False),
    Column("native_confidence", String(20), nullable=False),
    Column("security_severity", Float),
    Column("cwe", String(200), nullable=False),
    Column("base_severity", Integer, nullable=False),
    Column("severity", Integer, nullable=False),
    Column("component", String(200), nullable=False),
    Column("component_kind", String(50), nullable=False),
    Column("tier", Integer, nullable=False),
    Column("in_scope", Boolean, nullable=False),
    Column("exposure", Integer, nullable=False),
    Column("risk_score", Integer, nullable=False),
    # The reasons and the exposure as JSON: inline (rows before revision 0010), or "" with
    # the text in ``explanation`` under explain_id / exposure_id.
    Column("explain", Text, nullable=False),
    Column("exposure_json", Text, nullable=False),
    Column("explain_id", Integer),  # explanation.id; explanations are never deleted
    Column("exposure_id", Integer),
    Column("sarif_file", String(500), nullable=False),
    Column("sarif_sha256", String(64), nullable=False, server_default=""),
    Column("run_index", Integer, nullable=False),
    Column("result_index", Integer, nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("text_key", Text, nullable=False),
    Column("message_key", Text, nullable=False),
    Column("tool_fingerprints", Text, nullable=False),
)
release_scopes = Table(
    "release_scope",
    metadata,
    Column("release_id", Integer, ForeignKey("release.id", ondelete="CASCADE"), primary_key=True),
    Column("name", String(500), nullable=False),
    Column("justification", Text, nullable=False),
    Column("globs", Text, nullable=False),
    Column("changed", Text, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

source_files = Table(
    "source_file",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("release_id", Integer, ForeignKey("release.id", ondelete="CASCADE"), nullable=False),
    Column("path", Text, nullable=False),
    Column("line_hashes", Text, nullable=False),
    UniqueConstraint("release_id", "path", name="uq_source_file"),
)

decisions = Table(
    "decision",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("issue_id", Integer, ForeignKey("issue.id", ondelete="CASCADE"), nullable=False),
    Column("action", String(20), nullable=False),
    Column("reason", Text, nullable=False),
    Column("decided_by", String(200), nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("expires", Date),
    Column("target_release", String(200)),
    Column("release_id", Integer, ForeignKey("release.id", ondelete="SET NULL")),
)
Index("ix_decision_issue", decisions.c.issue_id, decisions.c.id)

Index("ix_occ_release_issue", occurrences.c.release_id, occurrences.c.issue_id)
# The foreign key's own index: deleting an issue (an orphan after relinking) looks up the
# occurrences that refer to it, which without it reads the whole table once per issue.
Index("ix_occ_issue", occurrences.c.issue_id)
Index("ix_occ_scan_path", occurrences.c.scan_id, occurrences.c.path)
# The trend compares each scan with the tool's previous one by merging the two index ranges
# in issue order; carrying the columns the trend counts makes that an index-only read.
Index("ix_occ_scan_trend", occurrences.c.scan_id, occurrences.c.issue_id,
      occurrences.c.severity, occurrences.c.kind, occurrences.c.suppression,
      occurrences.c.in_scope, occurrences.c.tier, occurrences.c.component)

# What changed at each scan against the tool's previous one, kept by ingest so the trend
# reads a few changed rows per scan instead of comparing whole scans: the issue versions
# (the columns the trend counts) that appeared (+1) and went (-1).
scan_changes = Table(
    "scan_change",
    metadata,
    Column("scan_id", Integer, ForeignKey("scan.id", ondelete="CASCADE"), nullable=False),
    Column("sgn", Integer, nullable=False),
    Column("issue_id", Integer, nullable=False),
    Column("severity", Integer, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("suppression", String(12), nullable=False),
    Column("in_scope", Boolean, nullable=False),
    Column("tier", Integer, nullable=False),
    Column("component", String(200), nullable=False),
)
Index("ix_scan_change", scan_changes.c.scan_id, scan_changes.c.sgn)
