"""Base and contextual severity, and the risk score, each with the reasons behind it.

Base severity (DESIGN.md §7), first that applies: a rule override for (tool, rule id);
``security-severity`` in CVSS bands; the tool's native severity; the SARIF level. The
threat model then moves it: up in a critical tier (or a high tier reachable unauthenticated
from an untrusted zone), down where no entry point reaches the component; test code and
out-of-scope components are rated info.
"""

from __future__ import annotations

from triage.model import Exposure, Finding, Reason, ScoredFinding, Severity, Tier
from triage.scoring.rules import Rules

_CONFIDENCE = {"HIGH": 1.0, "MEDIUM": 0.6, "LOW": 0.3}


def base_severity(finding: Finding, rules: Rules) -> tuple[Severity, Reason]:
    """The severity before the threat model, and the reason for it."""
    tool, rule_id = finding.tool.name, finding.rule_id
    override = rules.override_for(tool, rule_id)
    if override is not None:
        return override.severity, Reason(
            "base-severity",
            f"{override.severity.label}: {override.reason} ({override.source}, "
            f"{override.tool}/{override.rule})",
        )
    if finding.security_severity is not None and finding.security_severity > 0:
        for low, sev in rules.bands:
            if finding.security_severity >= low:
                return sev, Reason(
                    "base-severity",
                    f"{sev.label}: security-severity {finding.security_severity:g} "
                    f"is at least {low:g}",
                )
    if finding.native_severity:
        for t, word, sev in rules.native:
            if t == tool and word == finding.native_severity:
                return sev, Reason(
                    "base-severity",
                    f"{sev.label}: {tool} rates it {finding.native_severity}",
                )
    if finding.kind != "fail":
        return Severity.INFO, Reason(
            "base-severity", f"info: SARIF kind {finding.kind!r} is not a defect (SARIF 3.27.9)"
        )
    sev = dict(rules.levels).get(finding.level, Severity.MEDIUM)
    return sev, Reason("base-severity", f"{sev.label}: SARIF level {finding.level!r}")


def contextual_severity(
    base: Severity, exposure: Exposure, rules: Rules
) -> tuple[Severity, tuple[Reason, ...]]:
    """The rating the SL policy reads: the base severity moved by the threat model."""
    ctx = rules.context
    comp = exposure.component_id
    if exposure.is_test:
        return ctx.test_code, (
            Reason("context", f"{ctx.test_code.label}: test code (component {comp})"),
        )
    if exposure.out_of_scope:
        why = exposure.justification or "declared out of scope"
        return ctx.out_of_scope, (
            Reason("context", f"{ctx.out_of_scope.label}: component {comp} is out of scope: {why}"),
        )
    if base == Severity.INFO:
        return base, (
            Reason("context", f"info unchanged: not a weakness (component {comp})"),
        )
    if exposure.tier == Tier.CRITICAL and ctx.raise_in_critical_tier:
        new = base.shifted(ctx.raise_in_critical_tier)
        return new, (
            Reason("context", f"{base.label} -> {new.label}: component {comp} is critical tier"),
        )
    if exposure.tier == Tier.HIGH and ctx.raise_in_high_tier and (
        exposure.unauthenticated_from_untrusted or not ctx.high_tier_needs_unauthenticated_reach
    ):
        new = base.shifted(ctx.raise_in_high_tier)
        unauth = (" and reachable unauthenticated from an untrusted zone"
                  if exposure.unauthenticated_from_untrusted else "")
        return new, (
            Reason("context",
                   f"{base.label} -> {new.label}: component {comp} is high tier{unauth}"),
        )
    if not exposure.reachable and ctx.lower_when_unreachable:
        new = base.shifted(-ctx.lower_when_unreachable)
        return new, (
            Reason("context", f"{base.label} -> {new.label}: component {comp} is not reachable "
                   "from any entry point"),
        )
    return base, (
        Reason("context", f"{base.label} unchanged: component {comp}, tier {exposure.tier.label}"),
    )


def risk_score(severity: Severity, exposure: Exposure, confidence: str) -> tuple[int, Reason]:
    """0..100 for ordering work: severity 60, tier 20, exposure 10, confidence 10."""
    conf = _CONFIDENCE.get(confidence, 0.6)
    parts = (
        round(int(severity) / 4 * 60),
        round(int(exposure.tier) / 4 * 20),
        round(min(exposure.exposure, 5) / 5 * 10),
        round(conf * 10),
    )
    score = sum(parts)
    return score, Reason(
        "risk-score",
        f"{score} = severity {parts[0]}/60 + tier {parts[1]}/20 + exposure {parts[2]}/10 "
        f"+ confidence {parts[3]}/10 ({confidence.lower() or 'unknown'})",
    )


_Scored = tuple[Severity, Reason, Severity, tuple[Reason, ...], int, Reason, str, str]
"""base, why, contextual, why, score, why, the component line's middle and its end."""
_MEMO: dict[int, tuple[Rules, dict[tuple[object, ...], _Scored]]] = {}
"""Per rules object (held, so its id is not reused): severities and scores worked out so
far. A scan repeats a few hundred (rule, component) combinations thousands of times."""
_MEMO_SIZE = 50_000


def score(finding: Finding, exposure: Exposure, rules: Rules) -> ScoredFinding:
    """Score one finding in the light of its component."""
    held, memo = _MEMO.get(id(rules), (None, {}))
    if held is not rules:
        memo = {}
        _MEMO[id(rules)] = (rules, memo)
    # Everything but the component line depends on these alone.
    key = (finding.tool.name, finding.rule_id, finding.security_severity,
           finding.native_severity, finding.kind, finding.level, finding.native_confidence,
           exposure)
    hit = memo.get(key)
    if hit is None:
        base, why_base = base_severity(finding, rules)
        ctx, why_ctx = contextual_severity(base, exposure, rules)
        points, why_score = risk_score(ctx, exposure, finding.native_confidence)
        if len(memo) >= _MEMO_SIZE:
            memo.clear()
        component = f" -> {exposure.component_id}" + (
            f" (glob {exposure.matched_glob})" if exposure.matched_glob else "")
        hit = memo[key] = (base, why_base, ctx, why_ctx, points, why_score, component,
                           f", tier {exposure.tier.label}")
    base, why_base, ctx, why_ctx, points, why_score, component, tier = hit
    join = Reason(
        "component",
        (finding.location.path or "(no file)") + component
        + (f" (function {finding.location.function} matches {exposure.matched_function_glob})"
           if exposure.matched_function_glob else "")
        + tier,
    )
    return ScoredFinding(
        finding=finding,
        exposure=exposure,
        base_severity=base,
        severity=ctx,
        risk_score=points,
        explain=(why_base, join, *why_ctx, why_score),
    )
