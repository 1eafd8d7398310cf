"""Terminal table format (rich); colour only when the output is a terminal."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from triage.model import IssueRow, ReleaseReport, TrendReport

_SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan",
                   "info": "dim"}
_STATUS_STYLE = {"new": "bold", "reintroduced": "bold magenta", "fixed": "green"}


def _console(buf: io.StringIO, color: bool) -> Console:
    return Console(file=buf, width=200, highlight=False, force_terminal=color,
                   color_system="standard" if color else None)


def _sev(label: str) -> Text:
    return Text(label, style=_SEVERITY_STYLE.get(label, ""))


def _status(label: str) -> Text:
    return Text(label, style=_STATUS_STYLE.get(label, ""))


def _release(r: ReleaseReport) -> Table:
    mode = "" if r.mode == "severity" else f" ({r.mode} mode)"
    caption = None if r.threat_model_given else "no threat model was given: findings rated on " \
        "their own severity"
    table = Table(title=f"{r.product} {r.release}: {len(r.must_fix)} must-fix at {r.sl.label}"
                  f"{mode}", caption=caption)
    for col in ("risk", "severity", "component", "tool", "rule", "location", "status", "issue"):
        # Fold long paths and rule ids onto more lines rather than cut them with "…".
        table.add_column(col, justify="right" if col in ("risk", "issue") else "left",
                         overflow="fold")
    for t in r.must_fix:
        f = t.scored.finding
        table.add_row(str(t.scored.risk_score), _sev(t.scored.severity.label),
                      t.scored.exposure.component_id, f.tool.name, f.rule_id,
                      f"{f.location.path}:{f.location.start_line or ''}",
                      _status(t.status.value), str(t.issue_id))
    return table


def _trend(t: TrendReport) -> Table:
    table = Table(title=f"{t.product}: trend")
    table.add_column("release")
    table.add_column("released")
    for sl in (1, 2, 3, 4):
        table.add_column(f"must-fix SL-{sl}", justify="right")
    for col in ("new", "fixed", "persisting", "reintroduced", f"backlog {t.sl.label}",
                "high-risk clean"):
        table.add_column(col, justify="right")
    for p in t.points:
        table.add_row(p.release, p.released.isoformat() if p.released else "",
                      *[str(n) for _, n in p.must_fix_by_sl], str(p.new),
                      str(p.fixed), str(p.persisting), str(p.reintroduced), str(p.must_fix_open),
                      f"{len(p.high_risk_clean)}/{len(p.high_risk_components)}")
    return table


def _diff(rows: list[IssueRow]) -> Table:
    table = Table()
    for col in ("status", "tool", "rule", "location", "severity", "component", "issue"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(_status(r.status.value), r.tool, r.rule_id, f"{r.path}:{r.line or ''}",
                      _sev(r.severity.label), r.component, str(r.issue_id))
    return table


def render(report: Any, color: bool = False) -> str:
    """Render a report as a table: plain text, or with ANSI colours for a terminal."""
    if isinstance(report, ReleaseReport):
        table = _release(report)
    elif isinstance(report, TrendReport):
        table = _trend(report)
    else:
        table = _diff(list(report))
    buf = io.StringIO()
    _console(buf, color).print(table)
    return buf.getvalue()
