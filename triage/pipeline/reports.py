"""The release report, the CI gate, the diff, the trend and ``triage run``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from triage import package_version
from triage.errors import BadInputError
from triage.model import (
    NO_MODEL,
    IngestResult,
    IssueRow,
    ReleaseReport,
    SecurityLevel,
    Severity,
    Status,
    Tier,
    TrendPoint,
    TrendReport,
    TriagedFinding,
)
from triage.pipeline.context import Context, ThreatModelJoin
from triage.pipeline.judging import (
    judged_release,
    must_fix_by_sl,
    must_fix_by_sl_in,
    policy_for,
    release_scope,
    triage_release,
)
from triage.pipeline.storing import ingest
from triage.scoring.scope import ALL as ALL_SCOPE
from triage.scoring.scope import Scope

if TYPE_CHECKING:
    from triage.store.trend_sql import ReleaseCounts


def release_report(
    ctx: Context, product: str, release: str | None = None, sl: int | None = None,
    threat_model: Path | None = None, mode: str = "severity", scope: Scope | None = None,
    record_scope: bool = False,
) -> ReleaseReport:
    """Build the release report: verdicts at the SL in ``mode``, changes, run health, gaps.

    Only findings inside ``scope`` are judged; the others are out of scope (SM-5). Without
    a scope, the release's recorded phase applies; ``record_scope`` records the one given
    (the gate does: the phase a release is judged in is part of its record).
    """
    rels, rel, level = judged_release(ctx, product, release, sl)
    scope = release_scope(ctx, rel, scope, record=record_scope)
    policy = policy_for(ctx, mode, level, scope)
    triaged, gone = triage_release(ctx, rel, level, mode, scope)
    previous = ""
    for a, b in zip(rels, rels[1:], strict=False):
        if b.name == rel.name:
            previous = a.name
    gaps = sorted({t.scored.finding.location.path for t in triaged
                   if t.scored.exposure.component_id == "unmodelled"
                   and t.scored.exposure.component_kind != NO_MODEL.component_kind
                   and t.scored.finding.location.path})
    definitions = dict(ctx.rules.sl_definitions)
    return ReleaseReport(
        product=product,
        release=rel.name,
        previous=previous,
        sl=level,
        policy=policy.wording,
        sl_definition=definitions.get(level, ""),
        generated_at=ctx.clock().isoformat(),
        tool_version=package_version(),
        findings=tuple(triaged),
        fixed=tuple(gone),
        scans=tuple(ctx.store.scans(rel)),
        must_fix_by_sl=tuple(sorted(must_fix_by_sl(ctx, rel).items()))
        if mode == "severity" and scope == ALL_SCOPE
        else must_fix_by_sl_in(ctx, rel, mode, level, triaged, scope),
        model_gaps=tuple(gaps),
        mode=mode,
        scope=scope.name,
        scope_justification=scope.justification,
        threat_model_given=not triaged or any(
            t.scored.exposure.component_kind != NO_MODEL.component_kind for t in triaged),
    )


@dataclass(frozen=True, slots=True)
class GateResult:
    """The CI gate's answer."""

    report: ReleaseReport
    """The release report it judged."""
    new_only: bool
    """Whether only new and reintroduced findings counted."""

    @property
    def blocking(self) -> tuple[TriagedFinding, ...]:
        """Must-fix findings that fail the gate."""
        items = self.report.must_fix
        if self.new_only:
            items = tuple(t for t in items if t.status in (Status.NEW, Status.REINTRODUCED))
        return items

    @property
    def passed(self) -> bool:
        """True when nothing blocks the release."""
        return not self.blocking


def gate(ctx: Context, product: str, release: str | None, sl: int | None,
         new_only: bool = False, mode: str = "severity", scope: Scope | None = None
         ) -> GateResult:
    """Judge a release at the SL in ``mode``: the gate fails when must-fix findings remain."""
    return GateResult(release_report(ctx, product, release, sl, mode=mode, scope=scope,
                                     record_scope=True), new_only)


def diff(ctx: Context, product: str, old: str, new: str) -> list[IssueRow]:
    """New, fixed, persisting and reintroduced issues between two releases."""
    a = ctx.store.release(product, old)
    b = ctx.store.release(product, new)
    if a.seq > b.seq:
        raise BadInputError(
            f"--from {old} comes after --to {new} in the release order of {product}",
            hint=f"swap them: --from {new} --to {old}",
        )
    return ctx.store.diff(a, b)


def trend(ctx: Context, product: str, sl: int | None = None,
          threat_model: Path | None = None) -> TrendReport:
    """Per release: must-fix at each SL, new, fixed, persisting (SM-13 evidence).

    The counts are aggregated in SQL across all releases at once; a release triaged in a
    scope phase is judged in that phase (SM-5), its findings loaded and judged here. With
    ``threat_model``, the high-risk components are the model's; else those that had
    findings in a release so far.
    """
    rels = ctx.store.releases(product)
    if not rels:
        raise BadInputError(f"product {product!r} has no releases")
    level = SecurityLevel(sl) if sl else (rels[-1].target_sl or SecurityLevel.SL2)
    minimum, _ = ctx.rules.threshold(level)
    today = ctx.clock().date()
    counts, fixes = ctx.store.trend_counts(
        product, minimum, {s: ctx.rules.threshold(s)[0] for s in SecurityLevel}, today)
    phased: dict[int, _Phased] = {}
    for i, rel in enumerate(rels):
        scope = release_scope(ctx, rel)
        if scope != ALL_SCOPE:  # path globs and changed files: judged in Python
            triaged, _ = triage_release(ctx, rel, level, "severity", scope, statuses=[])
            must = [t for t in triaged if t.verdict.must_fix]
            phased[i] = _Phased(frozenset(t.issue_id for t in must),
                                frozenset(t.scored.exposure.component_id for t in must),
                                must_fix_by_sl_in(ctx, rel, "severity", level, triaged, scope))
    points = _backlog_and_fixes(ctx, counts, phased, threat_model, minimum, today)
    return TrendReport(product=product, sl=level, generated_at=ctx.clock().isoformat(),
                       tool_version=package_version(), points=tuple(points), fixes=tuple(fixes))




@dataclass(frozen=True, slots=True)
class RunResult:
    """What ``triage run`` did: the ingest, the gate's verdict and, when asked, the trend."""

    ingested: IngestResult
    """The scans stored."""
    gate: GateResult
    """The gate over the release just ingested."""
    trend: TrendReport | None
    """The product's trend including this release, or None when not asked for."""


def run(
    ctx: Context, sarif_paths: Sequence[Path], product: str, release: str,
    threat_model: Path | None = None, source_root: Path | None = None,
    strip_prefixes: tuple[str, ...] = (), sl: int | None = None, mode: str = "severity",
    new_only: bool = False, with_trend: bool = False, scope: Scope | None = None,
    released: dt.date | None = None, progress: Callable[[int, int], None] | None = None,
) -> RunResult:
    """One-shot CI: ingest a release's logs, judge it at the SL, and build the trend.

    ``released`` dates the release and ``progress(done, total)`` hears how far reading the
    logs is, both as in ``ingest``.
    """
    ingested, _ = ingest(ctx, sarif_paths, product, release, threat_model, source_root,
                         strip_prefixes, progress=progress, released=released)
    judged = gate(ctx, product, release, sl, new_only, mode, scope)
    shown = trend(ctx, product, sl, threat_model) if with_trend else None
    return RunResult(ingested, judged, shown)


def high_risk_components(threat_model: Path | None) -> frozenset[str] | None:
    """In-scope components of tier high or critical in the model, or None without a model."""
    if threat_model is None:
        return None
    join = ThreatModelJoin(threat_model)
    return frozenset(cid for cid, risk in join.risks.items()
                     if int(risk.tier) >= Tier.HIGH and not risk.out_of_scope)


@dataclass(frozen=True, slots=True)
class _Phased:
    """A release triaged in a scope phase, judged in that phase."""

    must: frozenset[int]
    """Issues that must be fixed at the trend's SL."""
    dirty: frozenset[str]
    """Their components."""
    by_sl: tuple[tuple[SecurityLevel, int], ...]
    """Must-fix at each SL."""


def _backlog_and_fixes(
    ctx: Context, counts: Sequence[ReleaseCounts], phased: dict[int, _Phased],
    threat_model: Path | None, minimum: Severity, today: dt.date,
) -> list[TrendPoint]:
    """The trend's points: the store's counts, the backlog and the clean high-risk components.

    The backlog's entries and exits compare a release's must-fix issues with the previous
    release's; next to a release judged in a scope phase, they compare the two sets.
    """
    modelled = high_risk_components(threat_model)
    seen_high: set[str] = set()
    sets: dict[int, frozenset[int]] = {i: p.must for i, p in phased.items()}

    def must_set(i: int) -> frozenset[int]:
        if i not in sets:
            sets[i] = ctx.store.must_fix_issues(counts[i].release, minimum, today)
        return sets[i]

    out = []
    for i, c in enumerate(counts):
        seen_high |= c.high_risk
        open_, entered, left = c.must_fix, c.must_fix_new, c.must_fix_left
        dirty, by_sl = c.dirty, c.must_fix_by_sl
        if i in phased or i - 1 in phased:
            now = must_set(i)
            before = must_set(i - 1) if i else frozenset()
            open_, entered, left = len(now), len(now - before), len(before - now)
        if i in phased:
            dirty, by_sl = phased[i].dirty, phased[i].by_sl
        high = modelled if modelled is not None else frozenset(seen_high)
        out.append(TrendPoint(
            release=c.release.name, must_fix_by_sl=by_sl, new=c.new, fixed=c.fixed,
            persisting=c.persisting, reintroduced=c.reintroduced, not_analysed=c.not_analysed,
            total=c.total, must_fix_open=open_, must_fix_new=entered, must_fix_fixed=left,
            high_risk_components=tuple(sorted(high)),
            high_risk_clean=tuple(sorted(high - dirty)), released=c.release.released,
        ))
    return out
