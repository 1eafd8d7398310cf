"""Shared pieces of the report formats: the IEC 62443-4-1 evidence map and small helpers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from triage.model import (
    Action,
    Decision,
    IssueRow,
    Provenance,
    ReleaseReport,
    TrendReport,
    TriagedFinding,
)

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


EXPIRY_WARNING_DAYS = 30
"""Acceptances expiring within this many days are flagged in the release report (DM-4)."""


@dataclass(frozen=True, slots=True)
class DecisionLine:
    """A finding's triage decision as the release report lists it, with its expiry state."""

    finding: TriagedFinding
    """The finding decided on."""
    decision: Decision
    """Its current decision."""
    expiry: str
    """``expired``, ``expires in N days`` (within ``EXPIRY_WARNING_DAYS``) or ``""``."""


def decision_lines(r: ReleaseReport) -> list[DecisionLine]:
    """The release's decided findings by issue id; expiry judged on the report's date."""
    today = dt.date.fromisoformat(r.generated_at[:10])
    out = []
    for t in sorted(r.findings, key=lambda t: t.issue_id):
        d = t.decision
        if d is None:
            continue
        expiry = ""
        if d.action == Action.ACCEPTED_RISK and d.expires is not None:
            left = (d.expires - today).days
            if left < 0:
                expiry = "expired"
            elif left <= EXPIRY_WARNING_DAYS:
                expiry = f"expires in {left} days"
        out.append(DecisionLine(t, d, expiry))
    return out


def by_kind(
    report: Any,
    release: Callable[[ReleaseReport], str],
    trend: Callable[[TrendReport], str],
    diff: Callable[[list[IssueRow]], str],
) -> str:
    """Render ``report`` with the function for its kind: release, trend or diff rows."""
    if isinstance(report, ReleaseReport):
        return release(report)
    if isinstance(report, TrendReport):
        return trend(report)
    return diff(list(report))
