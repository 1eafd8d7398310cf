"""``triage explain``: the whole chain behind one issue's verdicts, as text or JSON.

SARIF origin, component and why, base and contextual severity with reasons, capability class
and why, the verdict at each SL in each mode, and the risk score (DESIGN.md §11).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from triage.model import Explanation, Reason, SecurityLevel, Verdict

SCHEMA_VERSION = 1


def _modes(e: Explanation) -> dict[str, dict[SecurityLevel, Verdict]]:
    out: dict[str, dict[SecurityLevel, Verdict]] = {}
    for v in e.verdicts:
        out.setdefault(v.mode, {})[v.sl] = v
    return out


def _steps(reasons: tuple[Reason, ...], step: str) -> list[str]:
    return [r.text for r in reasons if r.step == step]


def render_text(e: Explanation) -> str:
    """Plain text for a terminal or a ticket."""
    sf, f = e.scored, e.scored.finding
    ex, loc = sf.exposure, f.location
    where = f"{loc.path}:{loc.start_line}" if loc.start_line else (loc.path or "(no file)")
    where += f" in {loc.function}" if loc.function else ""
    lines = [
        f"issue {e.issue_id} of {e.product} {e.release} ({e.status.value})",
        "",
        "SARIF origin",
        f"  {f.provenance.file}: runs[{f.provenance.run}].results[{f.provenance.result}]",
        f"  tool {f.tool.name} {f.tool.version}".rstrip() + f", rule {f.rule_id}"
        + (f" ({f.rule_name})" if f.rule_name and f.rule_name != f.rule_id else ""),
        f"  level {f.level}, kind {f.kind}, suppression {f.suppression.value}"
        + (f", native severity {f.native_severity}" if f.native_severity else "")
        + (f", confidence {f.native_confidence}" if f.native_confidence else "")
        + (f", security-severity {f.security_severity:g}"
           if f.security_severity is not None else ""),
        f"  CWE: {', '.join(f'CWE-{c}' for c in f.cwe_ids) or 'none given'}",
        f"  at {where}: {f.message}",
        "",
        f"Component {ex.component_id} ({ex.component_kind}), tier {ex.tier.label}, "
        f"exposure {ex.exposure}, asset value {ex.asset_value:g}",
    ]
    lines += [f"  - {t}" for t in _steps(sf.explain, "component")]
    lines += [f"  - {t}" for t in ex.reasons]
    lines += [
        "",
        f"Severity: base {sf.base_severity.label} -> contextual {sf.severity.label}",
        *[f"  - {t}" for t in _steps(sf.explain, "base-severity")],
        *[f"  - {t}" for t in _steps(sf.explain, "context")],
        "",
        f"Capability: {e.capability.name.lower()} (the attacker SL-{int(e.capability)} "
        "defends against)",
        *[f"  - {r.text}" for r in e.capability_reasons],
        "",
        f"Risk score: {sf.risk_score}/100",
        *[f"  - {t}" for t in _steps(sf.explain, "risk-score")],
    ]
    if e.decision is not None:
        d = e.decision
        lines += ["", f"Decision: {d.action.value} by {d.by} on {d.at.date().isoformat()}: "
                  f"{d.reason}"]
    modes = _modes(e)
    lines += ["", f"Verdicts (target {e.target_sl.label}; * = must fix)",
              ("  mode        " + "  ".join(f"{sl.label:16}" for sl in SecurityLevel)).rstrip()]
    for mode, by_sl in modes.items():
        cells = []
        for sl in SecurityLevel:
            v = by_sl[sl]
            cells.append(f"{('*' if v.must_fix else ' ') + v.disposition:16}")
        lines.append(f"  {mode:10}  " + "  ".join(cells).rstrip())
    lines += ["", f"At {e.target_sl.label}:"]
    for mode, by_sl in modes.items():
        v = by_sl[e.target_sl]
        lines.append(f"  {mode}: {v.disposition}: {v.reason}")
        if v.disagreement:
            lines.append(f"    disagreement: {v.disagreement}")
    return "\n".join(lines) + "\n"


def _verdict(v: Verdict) -> dict[str, Any]:
    return {"must_fix": v.must_fix, "disposition": v.disposition, "reason": v.reason,
            "disagreement": v.disagreement or None}


def render_json(e: Explanation) -> str:
    """A versioned JSON document (``schema``: 1)."""
    sf, f = e.scored, e.scored.finding
    ex = sf.exposure
    doc = {
        "schema": SCHEMA_VERSION,
        "kind": "explanation",
        "product": e.product,
        "release": e.release,
        "issue": e.issue_id,
        "status": e.status.value,
        "threat_model_given": e.threat_model_given,
        "sarif": {
            "file": f.provenance.file, "run": f.provenance.run, "result": f.provenance.result,
            "tool": f.tool.name, "tool_version": f.tool.version, "rule": f.rule_id,
            "rule_name": f.rule_name, "level": f.level, "kind": f.kind,
            "suppression": f.suppression.value, "native_severity": f.native_severity or None,
            "native_confidence": f.native_confidence or None,
            "security_severity": f.security_severity, "cwe": list(f.cwe_ids),
            "message": f.message, "path": f.location.path, "line": f.location.start_line,
            "function": f.location.function or None,
        },
        "component": {
            "id": ex.component_id, "kind": ex.component_kind, "tier": ex.tier.label,
            "exposure": ex.exposure, "asset_value": ex.asset_value,
            "unauthenticated_from_untrusted": ex.unauthenticated_from_untrusted,
            "reachable": ex.reachable, "out_of_scope": ex.out_of_scope,
            "justification": ex.justification or None, "glob": ex.matched_glob or None,
            "function_glob": ex.matched_function_glob or None,
            "why": _steps(sf.explain, "component") + list(ex.reasons),
        },
        "severity": {
            "base": sf.base_severity.label, "contextual": sf.severity.label,
            "why": _steps(sf.explain, "base-severity") + _steps(sf.explain, "context"),
        },
        "capability": {
            "class": e.capability.name.lower(), "sl": int(e.capability),
            "why": [r.text for r in e.capability_reasons],
        },
        "risk_score": {"score": sf.risk_score, "why": _steps(sf.explain, "risk-score")},
        "decision": None if e.decision is None else {
            "action": e.decision.action.value, "reason": e.decision.reason,
            "by": e.decision.by, "at": e.decision.at.isoformat(),
            "expires": e.decision.expires.isoformat() if e.decision.expires else None,
            "target_release": e.decision.target_release or None,
        },
        "target_sl": int(e.target_sl),
        "verdicts": {mode: {sl.label: _verdict(v) for sl, v in by_sl.items()}
                     for mode, by_sl in _modes(e).items()},
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


EXPLAIN_FORMATS: dict[str, Callable[[Explanation], str]] = {
    "json": render_json,
    "text": render_text,
}
"""Format name → renderer of an ``Explanation``."""
