"""The pipeline: ingest → join → score → policy → store → report, one function per command.

It is the only module that sees every stage; stages exchange ``triage.model`` records. The
CLI calls exactly one function here per command and renders what it returns.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import threatmodel
from triage import __version__
from triage.errors import BadInputError
from triage.ingest.paths import PathNormaliser
from triage.ingest.sarif import read_sarif
from triage.model import (
    UNMODELLED,
    Exposure,
    IngestResult,
    IssueRow,
    Release,
    ReleaseReport,
    SecurityLevel,
    Status,
    Tier,
    TrendPoint,
    TrendReport,
    TriagedFinding,
)
from triage.scoring import Rules, SeverityPolicy, score
from triage.store import SqlStore

Clock = Callable[[], dt.datetime]


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


@dataclass(frozen=True, slots=True)
class Context:
    """What every command needs: the store, the rules and the clock."""

    store: SqlStore
    rules: Rules
    clock: Clock = _utc_now


class ThreatModelJoin:
    """Join findings' paths to threat-model components and their risk."""

    def __init__(self, path: Path | None) -> None:
        self.model = None
        self.sha256 = ""
        self.risks: dict[str, threatmodel.ComponentRisk] = {}
        if path is not None:
            try:
                self.model = threatmodel.load_model(path)
            except threatmodel.ModelError as e:
                raise BadInputError(str(e), hint="fix the threat model and ingest again") from e
            self.sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
            self.risks = threatmodel.component_risks(self.model)
            self.matcher = threatmodel.PathMatcher(self.model)
        self._cache: dict[str, Exposure] = {}

    def exposure(self, path: str) -> Exposure:
        """The exposure of the component that claims ``path``."""
        hit = self._cache.get(path)
        if hit is None:
            hit = self._exposure(path)
            self._cache[path] = hit
        return hit

    def _exposure(self, path: str) -> Exposure:
        if self.model is None:
            return UNMODELLED
        match = self.matcher.match(path)
        if match.component_id == threatmodel.UNMODELLED:
            return UNMODELLED
        risk = self.risks[match.component_id]
        return Exposure(
            component_id=risk.component_id,
            component_kind=risk.kind,
            tier=Tier(int(risk.tier)),
            exposure=risk.exposure,
            asset_value=round(risk.asset_value, 1),
            unauthenticated_from_untrusted=risk.unauthenticated_from_untrusted,
            reachable=risk.reachable,
            out_of_scope=risk.out_of_scope,
            justification=risk.justification,
            matched_glob=match.glob,
            reasons=risk.reasons,
        )

    def gaps(self) -> tuple[str, ...]:
        """Paths no component claims."""
        return self.matcher.unmatched() if self.model is not None else ()


def ingest(
    ctx: Context,
    sarif_paths: Sequence[Path],
    product: str,
    release: str,
    threat_model: Path | None = None,
    source_root: Path | None = None,
    strip_prefixes: tuple[str, ...] = (),
    after: str | None = None,
) -> tuple[IngestResult, dict[SecurityLevel, int]]:
    """Read, join, score and store SARIF logs for a release; return what was stored.

    Everything is parsed and validated before the store is touched, so bad input changes
    nothing already stored.
    """
    join = ThreatModelJoin(threat_model)
    scans = read_sarif(sarif_paths, PathNormaliser(source_root, strip_prefixes))
    batches = [
        (s, [score(f, join.exposure(f.location.path), ctx.rules) for f in s.findings])
        for s in scans
    ]
    target = SecurityLevel(join.model.target_sl) if join.model else None
    tm = (str(threat_model), join.sha256) if threat_model is not None else None
    result = ctx.store.ingest(product, release, batches, after=after, target_sl=target,
                              threat_model=tm)
    return result, must_fix_by_sl(ctx, result.release)


def must_fix_by_sl(ctx: Context, rel: object) -> dict[SecurityLevel, int]:
    """Must-fix counts at SL 1..4 for a release, from the SQL severity histogram."""
    hist = ctx.store.severity_histogram(rel)  # type: ignore[arg-type]
    out = {}
    for sl in SecurityLevel:
        minimum, _ = ctx.rules.threshold(sl)
        out[sl] = sum(n for sev, n in hist.items() if sev >= minimum)
    return out


def _target(ctx: Context, product: str, release: str | None, sl: int | None):
    rels = ctx.store.releases(product)
    if not rels:
        raise BadInputError(f"product {product!r} has no releases")
    rel = ctx.store.release(product, release) if release else rels[-1]
    level = SecurityLevel(sl) if sl else (rel.target_sl or SecurityLevel.SL2)
    return rels, rel, level


def _triaged(
    ctx: Context, rel: Release, level: SecurityLevel
) -> tuple[list[TriagedFinding], list[IssueRow]]:
    policy = SeverityPolicy(ctx.rules, level)
    statuses = ctx.store.status(rel)
    by_prov = {(r.tool, r.to_prov): r.status for r in statuses if r.to_prov is not None}
    gone = [r for r in statuses if r.status in (Status.FIXED, Status.NOT_ANALYSED)]
    out = []
    for issue_id, sf in ctx.store.findings(rel):
        status = by_prov.get((sf.finding.tool.name, sf.finding.provenance), Status.NEW)
        out.append(TriagedFinding(issue_id, sf, policy.judge(sf), status))
    return out, gone


def release_report(
    ctx: Context, product: str, release: str | None = None, sl: int | None = None,
    threat_model: Path | None = None,
) -> ReleaseReport:
    """Build the release report: verdicts at the SL, changes, run health, model gaps."""
    rels, rel, level = _target(ctx, product, release, sl)
    triaged, gone = _triaged(ctx, rel, level)
    previous = ""
    for a, b in zip(rels, rels[1:], strict=False):
        if b.name == rel.name:
            previous = a.name
    gaps = sorted({t.scored.finding.location.path for t in triaged
                   if t.scored.exposure.component_id == "unmodelled"
                   and t.scored.finding.location.path})
    definitions = dict(ctx.rules.sl_definitions)
    return ReleaseReport(
        product=product,
        release=rel.name,
        previous=previous,
        sl=level,
        policy=ctx.rules.threshold(level)[1],
        sl_definition=definitions.get(level, ""),
        generated_at=ctx.clock().isoformat(),
        tool_version=__version__,
        findings=tuple(triaged),
        fixed=tuple(gone),
        scans=tuple(ctx.store.scans(rel)),
        must_fix_by_sl=tuple(sorted(must_fix_by_sl(ctx, rel).items())),
        model_gaps=tuple(gaps),
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
         new_only: bool = False) -> GateResult:
    """Judge a release at the SL: the gate fails when must-fix findings remain."""
    return GateResult(release_report(ctx, product, release, sl), new_only)


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


def trend(ctx: Context, product: str, sl: int | None = None) -> TrendReport:
    """Per release: must-fix at each SL, new, fixed, persisting (SM-13 evidence)."""
    rels = ctx.store.releases(product)
    if not rels:
        raise BadInputError(f"product {product!r} has no releases")
    level = SecurityLevel(sl) if sl else (rels[-1].target_sl or SecurityLevel.SL2)
    points = []
    for rel in rels:
        counts = Counter(r.status for r in ctx.store.status(rel))
        points.append(
            TrendPoint(
                release=rel.name,
                must_fix_by_sl=tuple(sorted(must_fix_by_sl(ctx, rel).items())),
                new=counts[Status.NEW],
                fixed=counts[Status.FIXED],
                persisting=counts[Status.PERSISTING],
                reintroduced=counts[Status.REINTRODUCED],
                not_analysed=counts[Status.NOT_ANALYSED],
                total=sum(s.findings for s in ctx.store.scans(rel)),
            )
        )
    return TrendReport(product=product, sl=level, generated_at=ctx.clock().isoformat(),
                       tool_version=__version__, points=tuple(points))
