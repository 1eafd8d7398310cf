"""Shared pieces of the report formats: the IEC 62443-4-1 evidence map and small helpers."""

from __future__ import annotations

from triage.model import IssueRow, Provenance

EVIDENCE = (
    ("SI-1", "Security implementation review",
     "static analysis of the release, every finding tracked"),
    ("SM-11", "Assessing and addressing security-related issues",
     "every issue tracked to closure across releases, nothing dropped"),
    ("DM-3", "Assessing security-related issues",
     "severity in the light of the threat model: component tier and reachability"),
    ("DM-4", "Addressing security-related issues",
     "must-fix at the target SL; below-threshold findings carry a recorded disposition"),
    ("SVV-3", "Vulnerability testing", "scanner runs and their health per release"),
    ("SM-13", "Continuous improvement", "new / fixed / persisting per release, the trend"),
)
"""(requirement id, title, what this report gives as evidence)."""


def prov(p: Provenance | None) -> dict[str, object] | None:
    """SARIF provenance as JSON."""
    if p is None:
        return None
    return {"file": p.file, "sha256": p.sha256, "run": p.run, "result": p.result}


def issue_row_json(r: IssueRow) -> dict[str, object]:
    """One diff/status row as JSON (the shape ``score_identity.py`` reads)."""
    return {
        "issue": r.issue_id,
        "status": r.status.value,
        "tool": r.tool,
        "rule": r.rule_id,
        "path": r.path,
        "line": r.line,
        "severity": r.severity.label,
        "component": r.component,
        "link": r.link,
        "from": prov(r.from_prov),
        "to": prov(r.to_prov),
    }


def md_escape(text: str) -> str:
    """Escape Markdown table metacharacters and keep a cell on one line."""
    return (text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
            .replace("<", "&lt;").replace(">", "&gt;"))
