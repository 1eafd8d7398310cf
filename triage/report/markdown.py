"""Markdown format: fits ``$GITHUB_STEP_SUMMARY`` and merge-request comments."""

from __future__ import annotations

from typing import Any

from triage.model import IssueRow, ReleaseReport, Status, TrendReport
from triage.report import series
from triage.report.common import EVIDENCE, by_kind, decision_lines, md_escape

# GitHub's job summary limit is 1 MiB; stay well inside it.
MAX_ROWS = 200


def _policy_notes(r: ReleaseReport) -> list[str]:
    """Lines for a mode, a scope phase or a missing threat model, only when they apply."""
    notes = []
    if r.mode != "severity":
        notes.append(f"Policy mode: **{r.mode}** (DESIGN.md §7).")
    if r.scope != "all":
        notes.append(f"Scope phase: **{md_escape(r.scope)}** (SM-5: "
                     f"{md_escape(r.scope_justification)}); changed files are always in scope "
                     "(SI-1).")
    if not r.threat_model_given:
        notes += ["", "> **No threat model was given**: every finding sits in `unmodelled` and "
                  "is rated on its own severity; reach and component tiers are unknown."]
    return notes


def _release(r: ReleaseReport) -> str:
    must = r.must_fix
    counts = r.status_counts()
    lines = [
        f"# {md_escape(r.product)} {md_escape(r.release)}: security findings at {r.sl.label}",
        "",
        f"**{len(must)} must-fix** at {r.sl.label} ({md_escape(r.policy)}; supplier "
        "residual-risk policy under IEC 62443-4-1 DM-4).",
        f"{r.sl.label}: \"{md_escape(r.sl_definition)}\"." if r.sl_definition else "",
        *_policy_notes(r),
        "",
        "| SL | must-fix |",
        "|---|---:|",
        *[f"| {sl.label} | {n} |" for sl, n in r.must_fix_by_sl],
        "",
        f"Since {md_escape(r.previous) or 'the start'}: "
        + ", ".join(f"{counts[s.value]} {s.value}" for s in Status),
        "",
        "## Must fix",
        "",
    ]
    if must:
        lines += ["| risk | severity | component | tool | rule | location | status | issue |",
                  "|---:|---|---|---|---|---|---|---:|"]
        for t in must[:MAX_ROWS]:
            f = t.scored.finding
            loc = f"{f.location.path}:{f.location.start_line or ''}"
            lines.append(
                f"| {t.scored.risk_score} | {t.scored.severity.label} | "
                f"{md_escape(t.scored.exposure.component_id)} | {f.tool.name} | "
                f"{md_escape(f.rule_id)} | `{md_escape(loc)}` | {t.status.value} | {t.issue_id} |"
            )
        if len(must) > MAX_ROWS:
            lines.append(f"\n… and {len(must) - MAX_ROWS} more (see the JSON report).")
    else:
        lines.append(f"Nothing must be fixed at {r.sl.label}.")
    if r.disagreements:
        lines += ["", f"## Disagreements between the severity and capability modes "
                  f"({len(r.disagreements)}, for review under DM-3)", "",
                  "| issue | severity | component | tool | rule | location | why |",
                  "|---:|---|---|---|---|---|---|"]
        for t in r.disagreements[:MAX_ROWS]:
            f = t.scored.finding
            loc = f"{f.location.path}:{f.location.start_line or ''}"
            lines.append(
                f"| {t.issue_id} | {t.scored.severity.label} | "
                f"{md_escape(t.scored.exposure.component_id)} | {f.tool.name} | "
                f"{md_escape(f.rule_id)} | `{md_escape(loc)}` | "
                f"{md_escape(t.verdict.disagreement)} |")
    decided = decision_lines(r)
    if decided:
        warn = sum(1 for x in decided if x.expiry)
        lines += ["", f"## Decisions ({len(decided)}; {warn} acceptance(s) expired or expiring "
                  "within 30 days, DM-4)", "",
                  "| issue | decision | by | expires | expiry | reason |",
                  "|---:|---|---|---|---|---|"]
        for x in decided[:MAX_ROWS]:
            d = x.decision
            until = d.expires.isoformat() if d.expires else (d.target_release or "")
            lines.append(f"| {d.issue_id} | {d.action.value} | {md_escape(d.by)} | "
                         f"{md_escape(until)} | {'**' + x.expiry + '**' if x.expiry else ''} | "
                         f"{md_escape(d.reason)} |")
    by_comp: dict[str, dict[str, int]] = {}
    for t in r.findings:
        row = by_comp.setdefault(t.scored.exposure.component_id, {})
        row[t.verdict.disposition] = row.get(t.verdict.disposition, 0) + 1
    dispositions = sorted({d for row in by_comp.values() for d in row})
    lines += ["", "## Dispositions by component (DM-4: nothing is dropped)", "",
              "| component | " + " | ".join(dispositions) + " |",
              "|---|" + "---:|" * len(dispositions)]
    for comp in sorted(by_comp):
        lines.append(f"| {md_escape(comp)} | "
                     + " | ".join(str(by_comp[comp].get(d, 0)) for d in dispositions) + " |")
    lines += ["", "## Scans and run health", "", "| tool | version | findings | health |",
              "|---|---|---:|---|"]
    for s in r.scans:
        health = "ok" if s.successful and not s.not_analysed else (
            ("run failed; " if not s.successful else "")
            + (f"{len(s.not_analysed)} file(s) not analysed: "
               + ", ".join(f"`{md_escape(p)}`" for p in s.not_analysed[:5])
               + (" …" if len(s.not_analysed) > 5 else "") if s.not_analysed else "")
        )
        lines.append(f"| {s.tool.name} | {md_escape(s.tool.version)} | {s.findings} | {health} |")
    if r.model_gaps:
        lines += ["", "## Threat-model gaps", "",
                  f"{len(r.model_gaps)} file(s) with findings match no component:", ""]
        lines += [f"- `{md_escape(p)}`" for p in r.model_gaps[:50]]
    lines += ["", "## IEC 62443-4-1 evidence", "", "| requirement | what this report shows |",
              "|---|---|"]
    lines += [f"| {a} {b} | {c} |" for a, b, c in EVIDENCE]
    lines += ["", f"<sub>triage {r.tool_version}, {r.generated_at}</sub>", ""]
    return "\n".join(lines)


def _days(mean: float | None, median: float | None) -> str:
    """The days' part of a time-to-fix line; empty when no fix has both release dates."""
    return "" if mean is None or median is None else f"; in days mean {mean:g}, median {median:g}"


def _trend(t: TrendReport) -> str:
    sls = [sl for sl, _ in t.points[0].must_fix_by_sl] if t.points else []
    lines = [
        f"# {md_escape(t.product)}: trend across {len(t.points)} releases",
        "",
        f"Must-fix counts at each SL (target {t.sl.label}); new, fixed and persisting "
        "against the previous release (IEC 62443-4-1 SM-13, continuous improvement).",
        "",
        "| release | released | " + " | ".join(f"must-fix {sl.label}" for sl in sls)
        + " | new | fixed | persisting | reintroduced | not analysed | findings |"
        + " backlog | entered | left | high-risk clean |",
        "|---|---|" + "---:|" * (len(sls) + 10),
    ]
    for p in t.points:
        lines.append(
            f"| {md_escape(p.release)} | {p.released.isoformat() if p.released else ''} | "
            + " | ".join(str(n) for _, n in p.must_fix_by_sl)
            + f" | {p.new} | {p.fixed} | {p.persisting} | {p.reintroduced} | "
            f"{p.not_analysed} | {p.total} | {p.must_fix_open} | {p.must_fix_new} | "
            f"{p.must_fix_fixed} | {len(p.high_risk_clean)}/{len(p.high_risk_components)} |"
        )
    shaped = series.shape(t)
    lines += ["", f"Backlog: must-fix open at {t.sl.label} after triage decisions; entered and "
              "left: must-fix that joined or left it at that release. High-risk clean: "
              f"high- and critical-tier components with no must-fix at {t.sl.label}.", "",
              "## Time to fix, in releases and days", ""]
    if shaped.time_to_fix:
        lines += [f"- {x.severity.label}: {x.fixes} fixed, mean {x.mean:g}, median "
                  f"{x.median:g}" + _days(x.mean_days, x.median_days)
                  for x in shaped.time_to_fix]
    else:
        lines.append("No issue has been fixed yet.")
    lines += ["", f"<sub>triage {t.tool_version}, {t.generated_at}</sub>", ""]
    return "\n".join(lines)


def _diff(rows: list[IssueRow]) -> str:
    lines = ["| status | tool | rule | location | severity | component | issue |",
             "|---|---|---|---|---|---|---:|"]
    for r in rows:
        lines.append(f"| {r.status.value} | {r.tool} | {md_escape(r.rule_id)} | "
                     f"`{md_escape(r.path)}:{r.line or ''}` | {r.severity.label} | "
                     f"{md_escape(r.component)} | {r.issue_id} |")
    return "\n".join(lines) + "\n"


def render(report: Any) -> str:
    """Render a release report, a trend report or a diff as Markdown."""
    return by_kind(report, _release, _trend, _diff)
