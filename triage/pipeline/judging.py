"""Verdicts: the policy at an SL in a mode and scope, must-fix counts, ``triage explain``."""

from __future__ import annotations

from collections.abc import Sequence

from triage.errors import BadInputError
from triage.model import (
    NO_MODEL,
    Explanation,
    IssueRow,
    RecordedScope,
    Release,
    SecurityLevel,
    Status,
    TriagedFinding,
)
from triage.pipeline.context import Context
from triage.scoring import MODES, Policy, capability, make_policy
from triage.scoring.decisions import apply_decision
from triage.scoring.scope import ALL as ALL_SCOPE
from triage.scoring.scope import Scope, ScopedPolicy


def must_fix_by_sl(ctx: Context, rel: object) -> dict[SecurityLevel, int]:
    """Must-fix counts at SL 1..4 for a release, from the SQL severity histogram."""
    hist = ctx.store.severity_histogram(rel, ctx.clock().date())  # type: ignore[arg-type]
    out = {}
    for sl in SecurityLevel:
        minimum, _ = ctx.rules.threshold(sl)
        out[sl] = sum(n for sev, n in hist.items() if sev >= minimum)
    return out


def judged_release(ctx: Context, product: str, release: str | None, sl: int | None
                   ) -> tuple[list[Release], Release, SecurityLevel]:
    """The product's releases, the one judged (the latest without ``release``) and its SL.

    The SL is ``sl``, else the release's target SL, else SL 2.
    """
    rels = ctx.store.releases(product)
    if not rels:
        raise BadInputError(f"product {product!r} has no releases")
    rel = ctx.store.release(product, release) if release else rels[-1]
    level = SecurityLevel(sl) if sl else (rel.target_sl or SecurityLevel.SL2)
    return rels, rel, level


def triage_release(
    ctx: Context, rel: Release, level: SecurityLevel, mode: str = "severity",
    scope: Scope = ALL_SCOPE, statuses: list[IssueRow] | None = None,
) -> tuple[list[TriagedFinding], list[IssueRow]]:
    """A release's findings, each with its verdict, status and decision; and those gone.

    ``statuses`` are the release's compared issues when already read (an empty list: the
    statuses do not matter, every finding counts as new).
    """
    policy = policy_for(ctx, mode, level, scope)
    if statuses is None:
        statuses = ctx.store.status(rel)
    by_prov = {(r.tool, r.to_prov): r.status for r in statuses if r.to_prov is not None}
    gone = [r for r in statuses if r.status in (Status.FIXED, Status.NOT_ANALYSED)]
    decided = ctx.store.current_decisions(rel.product, rel)
    today = ctx.clock().date()
    order = {r.name: r.seq for r in ctx.store.releases(rel.product)}
    out = []
    for issue_id, sf in ctx.store.findings(rel):
        status = by_prov.get((sf.finding.tool.name, sf.finding.provenance), Status.NEW)
        decision = decided.get(issue_id)
        reached = bool(decision and decision.target_release in order
                       and order[decision.target_release] <= rel.seq)
        verdict = apply_decision(policy.judge(sf), decision, today, reached)
        out.append(TriagedFinding(issue_id, sf, verdict, status, decision))
    return out, gone


def policy_for(ctx: Context, mode: str, sl: SecurityLevel, scope: Scope) -> Policy:
    """The policy of ``mode`` at ``sl``, judging only the findings inside ``scope``."""
    policy = make_policy(mode, ctx.rules, sl)
    return policy if scope == ALL_SCOPE else ScopedPolicy(policy, scope)


def release_scope(ctx: Context, rel: Release, scope: Scope | None = None,
                  record: bool = False) -> Scope:
    """The scope phase a release is judged in (SM-5), recorded per release.

    A scope given applies (and, with ``record``, is recorded for the release with its
    justification); without one, the release keeps the phase recorded for it, else ``all``.
    """
    if scope is not None:
        if record:
            ctx.store.record_scope(rel, RecordedScope(
                scope.name, scope.justification, scope.globs, tuple(sorted(scope.changed))))
        return scope
    kept = ctx.store.recorded_scope(rel)
    if kept is None:
        return ALL_SCOPE
    return Scope(kept.name, kept.justification, kept.globs, frozenset(kept.changed))


def must_fix_by_sl_in(
    ctx: Context, rel: Release, mode: str, level: SecurityLevel,
    triaged: Sequence[TriagedFinding], scope: Scope = ALL_SCOPE,
) -> tuple[tuple[SecurityLevel, int], ...]:
    """Must-fix counts at SL 1..4 in a mode the SQL histogram cannot answer (judged here).

    The findings are already loaded with their decisions; each other SL only judges again.
    """
    today = ctx.clock().date()
    order = {r.name: r.seq for r in ctx.store.releases(rel.product)}
    out = []
    for sl in SecurityLevel:
        if sl == level:
            out.append((sl, sum(1 for t in triaged if t.verdict.must_fix)))
            continue
        policy = policy_for(ctx, mode, sl, scope)
        n = 0
        for t in triaged:
            d = t.decision
            reached = bool(d and d.target_release in order and order[d.target_release] <= rel.seq)
            n += apply_decision(policy.judge(t.scored), d, today, reached).must_fix
        out.append((sl, n))
    return tuple(out)


def explain(ctx: Context, product: str, issue_id: int,
            release: str | None = None) -> Explanation:
    """The whole chain behind one issue's verdicts (``triage explain``).

    SARIF origin, component and why, base and contextual severity, capability class, the
    verdict at every SL in every mode, and the risk score; without ``release``, from the
    latest release in which the issue occurs.
    """
    rels = ctx.store.releases(product)
    if not rels:
        raise BadInputError(f"product {product!r} has no releases")
    candidates = [ctx.store.release(product, release)] if release else list(reversed(rels))
    found = None
    for rel in candidates:
        found = next((sf for iid, sf in ctx.store.findings(rel) if iid == issue_id), None)
        if found is not None:
            break
    if found is None:
        where = f"release {release}" if release else "any release"
        raise BadInputError(f"issue {issue_id} has no occurrence in {product} {where}",
                            hint="issue ids are in the status, report and diff output")
    status = next((r.status for r in ctx.store.status(rel)
                   if r.issue_id == issue_id and r.to_prov == found.finding.provenance),
                  Status.NEW)
    decision = ctx.store.current_decisions(product).get(issue_id)
    order = {r.name: r.seq for r in rels}
    reached = bool(decision and decision.target_release in order
                   and order[decision.target_release] <= rel.seq)
    today = ctx.clock().date()
    verdicts = tuple(
        apply_decision(make_policy(mode, ctx.rules, sl).judge(found), decision, today, reached)
        for mode in MODES for sl in SecurityLevel
    )
    table, _ = ctx.rules.capability_policy(SecurityLevel.SL1)
    cap, why = capability(found, table)
    return Explanation(
        product=product, release=rel.name, issue_id=issue_id, status=status, scored=found,
        capability=cap, capability_reasons=why,
        target_sl=rel.target_sl or SecurityLevel.SL2, verdicts=verdicts, decision=decision,
        threat_model_given=found.exposure.component_kind != NO_MODEL.component_kind,
    )
