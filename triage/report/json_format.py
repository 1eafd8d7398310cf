"""JSON format: every report as a documented, versioned JSON document (``schema``: 1)."""

from __future__ import annotations

import json
from typing import Any

from triage.model import IssueRow, ReleaseReport, TrendReport
from triage.report import series
from triage.report.common import EVIDENCE, decision_lines, issue_row_json, prov

SCHEMA_VERSION = 1


def _release(r: ReleaseReport) -> dict[str, Any]:
    return {
        "schema": SCHEMA_VERSION,
        "kind": "release-report",
        "product": r.product,
        "release": r.release,
        "previous": r.previous or None,
        "sl": int(r.sl),
        "policy": r.policy,
        "mode": r.mode,
        "scope": {"phase": r.scope, "justification": r.scope_justification or None},
        "threat_model_given": r.threat_model_given,
        "sl_definition": r.sl_definition,
        "generated_at": r.generated_at,
        "triage_version": r.tool_version,
        "must_fix_by_sl": {f"SL-{int(sl)}": n for sl, n in r.must_fix_by_sl},
        "disagreements": [t.issue_id for t in r.disagreements],
        "status_counts": r.status_counts(),
        "dispositions": r.disposition_counts(),
        "findings": [
            {
                "issue": t.issue_id,
                "status": t.status.value,
                "tool": t.scored.finding.tool.name,
                "rule": t.scored.finding.rule_id,
                "path": t.scored.finding.location.path,
                "line": t.scored.finding.location.start_line,
                "message": t.scored.finding.message,
                "cwe": list(t.scored.finding.cwe_ids),
                "component": t.scored.exposure.component_id,
                "tier": t.scored.exposure.tier.label,
                "base_severity": t.scored.base_severity.label,
                "severity": t.scored.severity.label,
                "risk_score": t.scored.risk_score,
                "verdict": {
                    "must_fix": t.verdict.must_fix,
                    "disposition": t.verdict.disposition,
                    "reason": t.verdict.reason,
                    "disagreement": t.verdict.disagreement or None,
                },
                "explain": [{"step": x.step, "text": x.text} for x in t.scored.explain],
                "to": prov(t.scored.finding.provenance),
            }
            for t in r.findings
        ],
        "fixed": [issue_row_json(x) for x in r.fixed],
        "decisions": [
            {
                "issue": x.decision.issue_id,
                "action": x.decision.action.value,
                "by": x.decision.by,
                "at": x.decision.at.isoformat(),
                "expires": x.decision.expires.isoformat() if x.decision.expires else None,
                "target_release": x.decision.target_release or None,
                "reason": x.decision.reason,
                "expiry": x.expiry or None,
                "disposition": x.finding.verdict.disposition,
            }
            for x in decision_lines(r)
        ],
        "scans": [
            {
                "tool": s.tool.name,
                "version": s.tool.version,
                "sha256": s.sarif_sha256,
                "findings": s.findings,
                "successful": s.successful,
                "not_analysed": list(s.not_analysed),
            }
            for s in r.scans
        ],
        "model_gaps": list(r.model_gaps),
        "evidence": [{"requirement": a, "title": b, "evidence": c} for a, b, c in EVIDENCE],
    }


def _trend(t: TrendReport) -> dict[str, Any]:
    shaped = series.shape(t)
    return {
        "schema": SCHEMA_VERSION,
        "kind": "trend-report",
        "product": t.product,
        "sl": int(t.sl),
        "generated_at": t.generated_at,
        "triage_version": t.tool_version,
        "releases": [
            {
                "release": p.release,
                "released": p.released.isoformat() if p.released else None,
                "must_fix_by_sl": {f"SL-{int(sl)}": n for sl, n in p.must_fix_by_sl},
                "new": p.new,
                "fixed": p.fixed,
                "persisting": p.persisting,
                "reintroduced": p.reintroduced,
                "not_analysed": p.not_analysed,
                "total": p.total,
                "backlog": {"open": p.must_fix_open, "entered": p.must_fix_new,
                            "left": p.must_fix_fixed},
                "high_risk_components": list(p.high_risk_components),
                "high_risk_clean": list(p.high_risk_clean),
                "high_risk_clean_share": share,
                "rolling_mean": {"new": new, "fixed": fixed},
            }
            for p, share, new, fixed in zip(t.points, shaped.clean_share, shaped.new_rolling,
                                            shaped.fixed_rolling, strict=True)
        ],
        "rolling_window": series.ROLLING_WINDOW,
        "time_to_fix": [
            {"severity": x.severity.label, "fixed": x.fixes, "mean_releases": x.mean,
             "median_releases": x.median, "mean_days": x.mean_days,
             "median_days": x.median_days}
            for x in shaped.time_to_fix
        ],
    }


def render(report: Any) -> str:
    """Render a release report, a trend report or a diff (list of ``IssueRow``) as JSON."""
    if isinstance(report, ReleaseReport):
        doc = _release(report)
    elif isinstance(report, TrendReport):
        doc = _trend(report)
    else:
        rows: list[IssueRow] = list(report)
        doc = {"schema": SCHEMA_VERSION, "kind": "diff",
               "issues": [issue_row_json(r) for r in rows]}
    return json.dumps(doc, indent=2, sort_keys=False, ensure_ascii=False) + "\n"
