"""The pipeline: ingest → join → score → policy → store → report, one function per command.

It is the only module that sees every stage; stages exchange ``triage.model`` records. The
CLI calls exactly one function here per command and renders what it returns.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import subprocess
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, ParamSpec, TypeVar

# The `threatmodel` package loads each part on first use (networkx only with a model); the
# IEC plan is imported where used: `triage ingest` starts without them.
import threatmodel
from triage import __version__
from triage.errors import BadInputError
from triage.ingest import ahead
from triage.ingest.ahead import stream_direct_ahead, stream_direct_here
from triage.ingest.decisions_file import DecisionEntry, dump_decisions, parse_decisions
from triage.ingest.paths import PathNormaliser
from triage.ingest.sarif import collector_paused, file_size, read_sarif
from triage.ingest.stream import (
    Spool,
    stream_sarif,
    stream_threshold,
)
from triage.model import (
    NO_MODEL,
    UNMODELLED,
    Action,
    Decision,
    Explanation,
    Exposure,
    Finding,
    IngestResult,
    IssueRow,
    NotContiguous,
    ReadAgain,
    RecordedScope,
    Release,
    ReleaseReport,
    ScanInput,
    ScoredChunks,
    ScoredFinding,
    SecurityLevel,
    Severity,
    Status,
    Tier,
    TrendPoint,
    TrendReport,
    TriagedFinding,
)
from triage.scoring import MODES, Policy, Rules, capability, make_policy, score
from triage.scoring.decisions import apply_decision
from triage.scoring.scope import ALL as ALL_SCOPE
from triage.scoring.scope import HIGH_RISK_JUSTIFICATION, Scope, ScopedPolicy

if TYPE_CHECKING:
    from triage import iec
    from triage.store import SqlStore
    from triage.store.trend_sql import ReleaseCounts

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
        self._cache: dict[tuple[str, str], Exposure] = {}

    def exposure(self, path: str, function: str = "") -> Exposure:
        """The exposure of the component that claims ``path`` (and its ``function``).

        A component whose ``functions`` selector matches the enclosing function wins over a
        path-only one; without a function, path selectors alone decide.
        """
        key = (path, function)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._exposure(path, function)
            self._cache[key] = hit
        return hit

    def _exposure(self, path: str, function: str) -> Exposure:
        if self.model is None:
            return NO_MODEL
        match = self.matcher.match(path, function)
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
            matched_function_glob=match.function_glob,
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
    progress: Callable[[int, int], None] | None = None,
    released: dt.date | None = None,
) -> tuple[IngestResult, dict[SecurityLevel, int]]:
    """Read, join, score and store SARIF logs for a release; return what was stored.

    Everything is parsed and validated before the store is touched, so bad input changes
    nothing already stored. ``progress(done, total)`` hears how far reading the logs is.
    ``released`` dates the release (replacing a stored date); a new release without it is
    dated the day of the ingest (the context's clock).
    """
    notes: list[str] = []
    if threat_model is None:
        # A product judged with a threat model keeps it: a CI job that forgets the option
        # must not silently judge the release without one (and pass its gate).
        recorded = ctx.store.recorded_threat_model(product)
        if recorded:
            threat_model = Path(recorded)
            if not threat_model.is_file():
                raise BadInputError(
                    f"{recorded}: the threat model of {product}'s earlier releases is not there",
                    hint="pass --threat-model FILE")
            notes.append(f"threat model: {recorded} (recorded with the earlier releases)")
    if source_root is not None and not source_root.is_dir():
        raise BadInputError(f"{source_root}: --source-root is not a directory")
    join = ThreatModelJoin(threat_model)
    normaliser = PathNormaliser(source_root, strip_prefixes)
    paths = [Path(p) for p in sarif_paths]
    size = sum(file_size(p) for p in paths)

    def scored(findings: Iterable[Finding]) -> list[ScoredFinding]:
        return [score(f, join.exposure(f.location.path, f.location.function), ctx.rules)
                for f in findings]

    target = SecurityLevel(join.model.target_sl) if join.model else None
    tm = (str(threat_model), join.sha256) if threat_model is not None else None

    def store(batches: list[tuple[ScanInput, Sequence[ScoredFinding] | ScoredChunks]],
              found: list[str]) -> IngestResult:
        # With the source tree at hand, keep each file's line hashes: the next release links
        # its findings to these through a line diff (DESIGN.md §8, identity).
        sources = {path: normaliser.line_hashes(path) for path in sorted(set(found))
                   if path} if source_root is not None else {}
        # Findings, rows and links hold no reference cycles: reference counting frees each
        # chunk, and collections every few hundred allocations would only walk them.
        with collector_paused():
            return ctx.store.ingest(product, release, batches, after=after, target_sl=target,
                                    threat_model=tm, sources=sources, released=released,
                                    ingest_day=ctx.clock().date())

    result: IngestResult | None = None
    if size > stream_threshold() and len(paths) == 1 and source_root is None:
        # One large log: its files' results stream straight to the store, chunk by chunk.
        # Reading and storing overlap: the whole bar, in the spool's units (twice the size),
        # which a log read again through the spool then never takes backwards.
        forward = _Forward(progress) if progress else None
        progress = forward
        report = (lambda done, total: forward(2 * done, 2 * total)) if forward else None
        # With two cores, a reader process reads, scores and makes the rows of a chunk
        # while this one links and writes the chunks before; else this one does it all.
        # A log whose tool comes before its results is read in one pass; should that turn
        # out wrong on the way, what was stored is rolled back and it is read in two.
        for one_pass in (True, False):
            read = (stream_direct_ahead if ahead.enabled() else stream_direct_here)(
                paths[0], normaliser, ctx.clock(), report,
                prepare=lambda chunk: ctx.store.rows(scored(chunk)), one_pass=one_pass)
            if read is None:
                break
            try:
                result = store([(read.scan, ScoredChunks(read.chunks(), read.header))], [])
            except ReadAgain:
                continue
            except NotContiguous:
                result = None  # rolled back; the spool groups the log's files
            finally:
                read.close()
            break
    if result is None:
        with contextlib.ExitStack() as stack:
            batches: list[tuple[ScanInput, Sequence[ScoredFinding] | ScoredChunks]]
            if size > stream_threshold():
                # Large logs: results streamed into a spool, scored and stored file by file.
                # Reading is the first half of the bar, scoring and storing the second.
                spool = Spool()
                stack.callback(spool.close)
                with collector_paused():
                    streamed = stream_sarif(
                        paths, normaliser, ctx.clock(), spool,
                        progress=(lambda done, total: progress(done, 2 * total)) if progress
                        else None)
                scans = [st.scan for st in streamed]
                found = [p for st in streamed for p in st.paths]
                stored = _StoredCount(sum(st.count for st in streamed), size, progress)
                batches = [(st.scan, ScoredChunks((stored.counted(scored(chunk))
                                                   for chunk in st.chunks()),
                                                  identities=st.identities))
                           for st in streamed]
            else:
                scans = read_sarif(paths, normaliser, now=ctx.clock(), progress=progress)
                found = [f.location.path for s in scans for f in s.findings]
                batches = [(s, scored(s.findings)) for s in scans]
            if not scans:
                names = ", ".join(p.name for p in paths)
                raise BadInputError(f"{names}: runs: no run in the log(s), so no scan to record",
                                    hint="a scanner that ran writes one run, even with no "
                                    "results")
            result = store(batches, found)
    if notes:
        result = replace(result, notes=(*notes, *result.notes))
    return result, must_fix_by_sl(ctx, result.release)


class _Forward:
    """Passes progress on, never backwards."""

    def __init__(self, progress: Callable[[int, int], None]) -> None:
        self.progress, self.done = progress, 0

    def __call__(self, done: int, total: int) -> None:
        self.done = max(self.done, done)
        self.progress(self.done, total)


class _StoredCount:
    """Tells ``progress`` how many of ``of`` findings went to the store.

    That is the bar's second half, after the ``size`` bytes of reading.
    """

    def __init__(self, of: int, size: int, progress: Callable[[int, int], None] | None
                 ) -> None:
        self.of, self.size, self.progress, self.done = of, size, progress, 0

    def counted(self, chunk: list[ScoredFinding]) -> list[ScoredFinding]:
        self.done += len(chunk)
        if self.progress and self.of:
            self.progress(self.size + self.size * self.done // self.of, 2 * self.size)
        return chunk


def must_fix_by_sl(ctx: Context, rel: object) -> dict[SecurityLevel, int]:
    """Must-fix counts at SL 1..4 for a release, from the SQL severity histogram."""
    hist = ctx.store.severity_histogram(rel, ctx.clock().date())  # type: ignore[arg-type]
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
    ctx: Context, rel: Release, level: SecurityLevel, mode: str = "severity",
    scope: Scope = ALL_SCOPE, statuses: list[IssueRow] | None = None,
) -> tuple[list[TriagedFinding], list[IssueRow]]:
    policy = _policy(ctx, mode, level, scope)
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
    rels, rel, level = _target(ctx, product, release, sl)
    scope = release_scope(ctx, rel, scope, record=record_scope)
    policy = _policy(ctx, mode, level, scope)
    triaged, gone = _triaged(ctx, rel, level, mode, scope)
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
        tool_version=__version__,
        findings=tuple(triaged),
        fixed=tuple(gone),
        scans=tuple(ctx.store.scans(rel)),
        must_fix_by_sl=tuple(sorted(must_fix_by_sl(ctx, rel).items()))
        if mode == "severity" and scope == ALL_SCOPE
        else _must_fix_by_sl_in(ctx, rel, mode, level, triaged, scope),
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
            triaged, _ = _triaged(ctx, rel, level, "severity", scope, statuses=[])
            must = [t for t in triaged if t.verdict.must_fix]
            phased[i] = _Phased(frozenset(t.issue_id for t in must),
                                frozenset(t.scored.exposure.component_id for t in must),
                                _must_fix_by_sl_in(ctx, rel, "severity", level, triaged, scope))
    points = _backlog_and_fixes(ctx, counts, phased, threat_model, minimum, today)
    return TrendReport(product=product, sl=level, generated_at=ctx.clock().isoformat(),
                       tool_version=__version__, points=tuple(points), fixes=tuple(fixes))


# ---- decisions (DM-3, DM-4) ---------------------------------------------------------------


def decide(ctx: Context, decision: Decision, release: str | None = None) -> Decision:
    """Record a triage decision on an issue (appended to its history)."""
    if decision.action == Action.ACCEPTED_RISK and decision.expires is None:
        raise BadInputError("an accepted risk needs --expires DATE",
                            hint="IEC 62443-4-1 DM-4: acceptances are reviewed; give an end")
    if decision.action == Action.DEFERRED and not decision.target_release:
        raise BadInputError("a deferral needs --target-release R")
    if not decision.reason.strip():
        raise BadInputError("a decision needs a --reason")
    return ctx.store.decide(decision, release)


def decision_history(ctx: Context, issue_id: int) -> list[Decision]:
    """Every decision on an issue, oldest first."""
    return ctx.store.history(issue_id)


def export_decisions(ctx: Context, product: str) -> str:
    """The product's current decisions as a YAML file (decisions as code)."""
    keys = ctx.store.issue_keys(product)
    entries = [
        DecisionEntry(d, *keys[d.issue_id]) for d in ctx.store.current_decisions(product).values()
    ]
    return dump_decisions(product, entries)


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What ``decisions import`` did."""

    product: str
    """Product of the file."""
    added: tuple[Decision, ...]
    """Decisions appended to histories."""
    unchanged: int
    """Entries equal to the issue's current decision (importing twice changes nothing)."""
    conflicts: tuple[str, ...]
    """Entries not applied, and why (never overwritten silently)."""


def import_decisions(ctx: Context, text: str, name: str) -> ImportResult:
    """Apply a decisions file: idempotent, and conflicts are reported, not overwritten."""
    product, entries = parse_decisions(text, name)
    keys = ctx.store.issue_keys(product)
    by_fp = {(k[0], k[3]): iid for iid, k in keys.items()}
    current = ctx.store.current_decisions(product)
    added, unchanged, conflicts = [], 0, []
    for e in entries:
        d = e.decision
        iid = d.issue_id
        if keys.get(iid, ("",) * 4)[0::3] != (e.tool, e.fingerprint):
            iid = by_fp.get((e.tool, e.fingerprint), 0)
            if not iid:
                conflicts.append(f"issue {d.issue_id} ({e.tool} {e.rule} {e.path}): no such "
                                 f"issue in {product}")
                continue
        now = current.get(iid)
        same = now is not None and (now.action, now.reason, now.expires, now.target_release) == (
            d.action, d.reason, d.expires, d.target_release)
        if same:
            unchanged += 1
            continue
        if now is not None and now.at > d.at:
            conflicts.append(
                f"issue {iid}: the database has a newer decision ({now.action.value} by "
                f"{now.by}, {now.at.isoformat()}) than the file ({d.action.value}, "
                f"{d.at.isoformat()}): not overwritten")
            continue
        added.append(ctx.store.decide(replace(d, issue_id=iid)))
    return ImportResult(product, tuple(added), unchanged, tuple(conflicts))


# ---- IEC 62443-4-1 legacy plan ----


def iec_plan(answers_path: Path, rules: Rules, store: SqlStore | None = None,
             product: str | None = None, clock: Clock = _utc_now) -> iec.Plan:
    """Turn an answers file into the IEC 62443-4-1 legacy plan (DESIGN.md §10).

    With ``store`` and ``product``, question 4 is answered from the product's SL policy (the
    target SL recorded at ingest) and the evidence points at the product's real releases.
    The answers file may name a threat model (relative to it) for SR-2, SM-5 and SI-1.
    """
    from triage import iec

    table = iec.load_requirements()
    answers = iec.read_answers(answers_path, table)
    target, source = answers.target_sl, "the answers file" if answers.target_sl else ""
    releases: list[iec.ReleaseEvidence] = []
    if store is not None and product:
        rels = store.releases(product)
        if not rels:
            raise BadInputError(f"product {product!r} has no releases",
                                hint="ingest a release first, or drop --product")
        recorded = [r for r in rels if r.target_sl is not None]
        if recorded:
            target = recorded[-1].target_sl
            source = f"the store, release {recorded[-1].name}"
        ctx = Context(store=store, rules=rules, clock=clock)
        for rel in rels:
            scans = store.scans(rel)
            must = must_fix_by_sl(ctx, rel).get(target, 0) if target else 0
            releases.append(iec.ReleaseEvidence(
                rel.name, tuple(s.tool.name for s in scans), sum(s.findings for s in scans),
                must))
    tm_file, reviewed, justification, high = "", "", "", []
    if answers.threat_model:
        tm_path = answers_path.parent / answers.threat_model
        try:
            model = threatmodel.load_model(tm_path)
        except threatmodel.ModelError as e:
            raise BadInputError(str(e), hint=f"threat_model in {answers_path} names it") from e
        tm_file = str(tm_path)
        if target is None and model.target_sl:
            target, source = SecurityLevel(model.target_sl), f"the threat model {tm_path.name}"
        reviewed = model.last_reviewed.isoformat() if model.last_reviewed else ""
        justification = model.scope_justification
        for cid, risk in sorted(threatmodel.component_risks(model).items(),
                                key=lambda kv: (-int(kv[1].tier), kv[0])):
            if risk.tier >= threatmodel.Tier.HIGH and not risk.out_of_scope:
                high.append(iec.HighRiskComponent(cid, risk.tier.label,
                                                  model.component(cid).paths))
    policies = {sl: rules.threshold(sl)[1] for sl in SecurityLevel}
    context = iec.PlanContext(
        product=product or answers.product, target_sl=target, sl_source=source,
        policy=policies[target] if target else "", threat_model=tm_file,
        last_reviewed=reviewed, scope_justification=justification, high_risk=tuple(high),
        releases=tuple(releases),
    )
    return iec.build_plan(table, answers, context, policies, clock(), __version__)


# ---- reports and CI ----------------------------------------------------------------------


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


def _high_risk_components(threat_model: Path | None) -> frozenset[str] | None:
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
    modelled = _high_risk_components(threat_model)
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


# ---- threat model ----------------------------------------------------------------------------
# `triage threatmodel ...`: thin wrappers over the standalone `threatmodel` package, so the CLI
# never imports it and every ModelError becomes a BadInputError (exit 3, one line).

_P = ParamSpec("_P")
_R = TypeVar("_R")
_MODEL_HINT = "fix the threat model; `triage threatmodel validate FILE` names every problem"


def _model_call(fn: Callable[_P, _R], *args: _P.args, **kwargs: _P.kwargs) -> _R:
    try:
        return fn(*args, **kwargs)
    except threatmodel.ModelError as e:
        raise BadInputError(str(e), hint=_MODEL_HINT) from e


def check_threat_model(path: Path, source_root: Path | None = None,
                       today: dt.date | None = None) -> threatmodel.ModelCheck:
    """Validate a model; warnings (stale review, globs matching nothing) come back as data."""
    day = today or _utc_now().date()
    return _model_call(threatmodel.check_model, path, day, source_root)


def _model_and_risks(
    path: Path,
) -> tuple[threatmodel.ThreatModel, dict[str, threatmodel.ComponentRisk]]:
    model = _model_call(threatmodel.load_model, path)
    return model, threatmodel.component_risks(model)


THREAT_MODEL_VIEWS = ("table", "json", "dot", "mermaid")
"""Formats of ``show_threat_model``: table and json (``show``), dot and mermaid (``graph``)."""


def show_threat_model(path: Path, fmt: str = "table") -> str:
    """A rendered view of the model's components and their risk (``fmt`` in the views)."""
    views = {"table": threatmodel.risk_table, "json": threatmodel.risk_json,
             "dot": threatmodel.to_dot, "mermaid": threatmodel.to_mermaid}
    model, risks = _model_and_risks(path)
    return views[fmt](model, risks)


def threat_model_scope(path: Path) -> tuple[str, ...]:
    """Path globs of the high-risk components (SM-5 phase-1 scan scope)."""
    model, risks = _model_and_risks(path)
    return threatmodel.scope_globs(model, risks)


def threat_model_coverage(path: Path, source_root: Path) -> threatmodel.Coverage:
    """Which files under ``source_root`` fall in which component, and which in none."""
    model, _ = _model_and_risks(path)
    return _model_call(threatmodel.coverage, model, source_root)


def import_threat_dragon(path: Path) -> str:
    """A Threat Dragon v2 JSON model as commented schema-v1 YAML (paths left to fill)."""
    return _model_call(threatmodel.import_threat_dragon, path)


def starter_threat_model(today: dt.date | None = None) -> str:
    """The commented starter model for ``triage threatmodel init``."""
    return threatmodel.starter_model((today or _utc_now().date()).isoformat())
# ---- end threat model ------------------------------------------------------------------------


# ---- scoring and policy ----------------------------------------------------------------------


def _policy(ctx: Context, mode: str, sl: SecurityLevel, scope: Scope) -> Policy:
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


def load_scope(scope: str = "all", changed_files: Path | None = None,
               justification: str = "", git_range: str | None = None,
               repo: Path | None = None) -> Scope:
    """The scope phase (SM-5): ``all``, ``high-risk`` or a file of path globs.

    Files changed since the previous release (``changed_files``, or ``git diff --name-only``
    over ``git_range`` in ``repo``) are always in scope (SI-1).
    """
    changed: frozenset[str] = frozenset()
    if changed_files is not None:
        changed = frozenset(line.strip().removeprefix("./")
                            for line in _read_lines(changed_files, "--changed-files"))
    if git_range:
        changed |= _git_changed(git_range, repo or Path.cwd())
    if scope == "all":
        return Scope("all", justification or ALL_SCOPE.justification, changed=changed)
    if scope == "high-risk":
        return Scope("high-risk", justification or HIGH_RISK_JUSTIFICATION, changed=changed)
    globs = tuple(_read_lines(Path(scope), "--scope"))
    if not globs:
        raise BadInputError(f"{scope}: --scope: the file holds no path globs",
                            hint="one gitignore-style glob a line, e.g. from "
                                 "`triage threatmodel scope MODEL`")
    return Scope(Path(scope).name, justification or f"path globs in {scope}", globs, changed)


def _git_changed(git_range: str, repo: Path) -> frozenset[str]:
    """Repository-relative paths ``git diff --name-only`` lists for ``A..B``."""
    if ".." not in git_range or git_range.startswith("-"):
        raise BadInputError(f"--git-range {git_range!r}: expected A..B (two revisions)")
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), "diff", "--name-only", "--no-renames", git_range, "--"],
            capture_output=True, text=True, check=False, timeout=120,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise BadInputError(f"--git-range {git_range}: cannot run git: {e}",
                            hint="pass --changed-files FILE instead") from e
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or ["git failed"])[0]
        raise BadInputError(f"--git-range {git_range}: {why}",
                            hint="run in the repository, or pass --changed-files FILE")
    return frozenset(line for line in done.stdout.splitlines() if line)


def _read_lines(path: Path, option: str) -> list[str]:
    """Non-blank lines that are not ``#`` comments; a missing file is bad input (exit 3)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise BadInputError(f"{path}: {option}: cannot read: {getattr(e, 'strerror', e) or e}",
                            hint=f"{option} takes a text file, one entry a line") from e
    lines = (ln.strip() for ln in text.splitlines())
    return [ln for ln in lines if ln and not ln.startswith("#")]


def _must_fix_by_sl_in(
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
        policy = _policy(ctx, mode, sl, scope)
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


# ---- end scoring and policy ------------------------------------------------------------------
