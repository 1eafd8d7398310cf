"""CSV format: one row per finding (release report), per release (trend) or per issue (diff).

Cells that a spreadsheet would read as a formula (``=``, ``+``, ``-``, ``@``, tab, CR) get a
leading apostrophe, so a crafted rule id or message cannot run in the reader's spreadsheet
(OWASP "CSV injection").
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from triage.model import IssueRow, ReleaseReport, TrendReport
from triage.report.common import by_kind

RELEASE_COLUMNS = (
    "issue", "status", "tool", "rule", "path", "line", "component", "tier", "base_severity",
    "severity", "risk_score", "must_fix", "disposition", "decision", "suppression", "cwe",
    "message", "reason",
)
"""Columns of the release report, one row per finding ordered by risk score."""

DIFF_COLUMNS = ("issue", "status", "tool", "rule", "path", "line", "severity", "component",
                "link", "message")
"""Columns of a diff, one row per issue."""

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    """A value as a cell; text that looks like a formula is defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _write(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(header)
    for row in rows:
        out.writerow([_cell(v) for v in row])
    return buf.getvalue()


def _release(r: ReleaseReport) -> str:
    rows: list[tuple[object, ...]] = []
    for t in r.findings:
        f, s = t.scored.finding, t.scored
        rows.append((
            t.issue_id, t.status.value, f.tool.name, f.rule_id, f.location.path,
            f.location.start_line, s.exposure.component_id, s.exposure.tier.label,
            s.base_severity.label, s.severity.label, s.risk_score, t.verdict.must_fix,
            t.verdict.disposition, t.decision.action.value if t.decision else "",
            f.suppression.value,
            " ".join(f"CWE-{c}" for c in f.cwe_ids), f.message, t.verdict.reason,
        ))
    for x in r.fixed:
        rows.append((x.issue_id, x.status.value, x.tool, x.rule_id, x.path, x.line,
                     x.component, "", "", x.severity.label, "", False, x.status.value, "",
                     "", "", x.message, ""))
    return _write(RELEASE_COLUMNS, rows)


def _trend(t: TrendReport) -> str:
    sls = [sl for sl, _ in t.points[0].must_fix_by_sl] if t.points else []
    header = ["release", "released", *(f"must_fix_{sl.label}" for sl in sls), "backlog",
              "must_fix_new", "must_fix_fixed", "new", "fixed", "persisting", "reintroduced",
              "not_analysed", "total", "high_risk_components", "high_risk_clean"]
    rows = [
        (p.release, p.released.isoformat() if p.released else None,
         *(n for _, n in p.must_fix_by_sl), p.must_fix_open, p.must_fix_new,
         p.must_fix_fixed,
         p.new, p.fixed, p.persisting, p.reintroduced, p.not_analysed, p.total,
         len(p.high_risk_components), len(p.high_risk_clean))
        for p in t.points
    ]
    return _write(header, rows)


def _diff(rows: list[IssueRow]) -> str:
    return _write(DIFF_COLUMNS, [
        (r.issue_id, r.status.value, r.tool, r.rule_id, r.path, r.line, r.severity.label,
         r.component, r.link, r.message)
        for r in rows
    ])


def render(report: Any) -> str:
    """Render a release report, a trend report or a diff as CSV (RFC 4180, LF row ends)."""
    return by_kind(report, _release, _trend, _diff)
