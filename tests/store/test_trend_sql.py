"""The trend's SQL aggregation equals judging every finding of every release in Python.

``reference_trend`` is the trend built the long way: per release, ``store.status`` (each
scan compared with the tool's previous one, occurrence by occurrence) and every finding
loaded and judged with its decision. ``pipeline.trend`` counts the same in SQL; the two
must agree release by release, field by field, on SQLite and PostgreSQL: with decisions of
every kind, a failed run, files a tool could not analyse, a release without one tool,
reintroduced issues, and a release triaged in a scope phase.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import text
from triage_testkit import PRODUCT, SAMPLE, THREAT_MODEL, ingest, release_logs

from triage import pipeline
from triage.model import (
    Action,
    Decision,
    FixTime,
    IssueRow,
    Release,
    SecurityLevel,
    Severity,
    Status,
    Tier,
    TrendPoint,
    TrendReport,
    TriagedFinding,
)
from triage.scoring import load_rules
from triage.scoring.scope import ALL, Scope
from triage.store import open_store

CLOCK = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC)


def reference_trend(ctx: pipeline.Context, product: str, sl: int | None = None,
                    threat_model: Path | None = None) -> TrendReport:
    """The trend judged finding by finding in Python, release by release."""
    rels = ctx.store.releases(product)
    level = SecurityLevel(sl) if sl else (rels[-1].target_sl or SecurityLevel.SL2)
    points = []
    judged: list[tuple[list[TriagedFinding], list[IssueRow]]] = []
    for rel in rels:
        statuses = ctx.store.status(rel)
        counts = Counter(r.status for r in statuses)
        scope = pipeline.release_scope(ctx, rel)
        triaged, gone = pipeline.triage_release(ctx, rel, level, "severity", scope, statuses)
        judged.append((triaged, gone))
        if scope == ALL:
            by_sl = tuple(sorted(pipeline.must_fix_by_sl(ctx, rel).items()))
        else:
            by_sl = pipeline.must_fix_by_sl_in(ctx, rel, "severity", level, triaged, scope)
        points.append(TrendPoint(
            release=rel.name, must_fix_by_sl=by_sl, new=counts[Status.NEW],
            fixed=counts[Status.FIXED], persisting=counts[Status.PERSISTING],
            reintroduced=counts[Status.REINTRODUCED], not_analysed=counts[Status.NOT_ANALYSED],
            total=sum(s.findings for s in ctx.store.scans(rel)), released=rel.released))
    points, fixes = _reference_backlog(rels, judged, points, threat_model)
    return TrendReport(product=product, sl=level, generated_at=ctx.clock().isoformat(),
                       tool_version="", points=tuple(points), fixes=fixes)


def _reference_backlog(
    rels: list[Release], judged: list[tuple[list[TriagedFinding], list[IssueRow]]],
    points: list[TrendPoint], threat_model: Path | None,
) -> tuple[list[TrendPoint], tuple[FixTime, ...]]:
    modelled = pipeline.high_risk_components(threat_model)
    seen_high: set[str] = set()
    previous: set[int] = set()
    opened_at: dict[int, int] = {}
    fixes: list[FixTime] = []
    out = []
    for i, (rel, point, (triaged, gone)) in enumerate(zip(rels, points, judged, strict=True)):
        must = {t.issue_id for t in triaged if t.verdict.must_fix}
        for t in triaged:
            if t.status in (Status.NEW, Status.REINTRODUCED) or t.issue_id not in opened_at:
                opened_at[t.issue_id] = i
            if t.scored.exposure.tier >= Tier.HIGH and not t.scored.exposure.out_of_scope:
                seen_high.add(t.scored.exposure.component_id)
        for row in sorted(gone, key=lambda r: r.issue_id):
            if row.status == Status.FIXED and row.issue_id in opened_at:
                start = opened_at.pop(row.issue_id)
                opened_on, fixed_on = rels[start].released, rel.released
                days = (fixed_on - opened_on).days if opened_on and fixed_on else None
                fixes.append(FixTime(row.issue_id, row.severity, rels[start].name, rel.name,
                                     i - start, days))
        high = modelled if modelled is not None else frozenset(seen_high)
        dirty = {t.scored.exposure.component_id for t in triaged if t.verdict.must_fix}
        out.append(replace(
            point, must_fix_open=len(must), must_fix_new=len(must - previous),
            must_fix_fixed=len(previous - must), high_risk_components=tuple(sorted(high)),
            high_risk_clean=tuple(sorted(high - dirty)),
        ))
        previous = must
    return out, tuple(fixes)


def _same(ctx: pipeline.Context, sl: int | None = None,
          threat_model: Path | None = None) -> TrendReport:
    """Assert the SQL trend equals the reference, release by release; return it."""
    ours = pipeline.trend(ctx, PRODUCT, sl, threat_model)
    ref = reference_trend(ctx, PRODUCT, sl, threat_model)
    assert [p.release for p in ours.points] == [p.release for p in ref.points]
    for mine, theirs in zip(ours.points, ref.points, strict=True):
        assert mine == theirs, mine.release
    assert ours.fixes == ref.fixes
    return ours


def _failed_log(tmp_path: Path, release: str, tool: str) -> str:
    """A real log of ``tool`` marked ``executionSuccessful: false`` with half its results."""
    doc = json.loads((SAMPLE / release / f"{tool}.sarif").read_text(encoding="utf-8"))
    run = doc["runs"][0]
    run["results"] = run["results"][::2]
    for inv in run.setdefault("invocations", [{}]):
        inv["executionSuccessful"] = False
    path = tmp_path / f"{tool}-failed.sarif"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return str(path)


def _build(url: str, tmp_path: Path) -> pipeline.Context:
    """Six releases with every kind of change and decision, judged on a fixed clock.

    A: 2.3.0, all three scanners. B: 2.1.0's bandit and ruff (files that stop parsing:
    not analysed) and semgrep. C: 3.3.0 with a failed bandit run and no semgrep. D: 3.6.9.
    E: 3.9.2, triaged in the high-risk scope phase. F: 3.16.1.
    """
    ingest(url, "A", logs=release_logs("2.3.0"))
    ingest(url, "B", logs=release_logs("2.1.0"))
    ingest(url, "C", logs=[*release_logs("3.3.0", ("ruff",)),
                           _failed_log(tmp_path, "3.3.0", "bandit")])
    ingest(url, "D", logs=release_logs("3.6.9"))
    ingest(url, "E", logs=release_logs("3.9.2"))
    ingest(url, "F", logs=release_logs("3.16.1"))
    ctx = pipeline.Context(store=open_store(url), rules=load_rules(None), clock=lambda: CLOCK)
    rels = {r.name: r for r in ctx.store.releases(PRODUCT)}
    pipeline.release_scope(ctx, rels["E"], Scope("high-risk", "phase 1"), record=True)

    def pick(release: str, minimum: Severity, n: int, skip: int = 0) -> list[int]:
        found = sorted({iid for iid, sf in ctx.store.findings(rels[release])
                        if sf.severity >= minimum and sf.finding.kind == "fail"})
        return found[skip:skip + n]

    def low(release: str, n: int) -> list[int]:
        return sorted({iid for iid, sf in ctx.store.findings(rels[release])
                       if sf.severity <= Severity.LOW})[:n]

    at = CLOCK - dt.timedelta(days=30)

    def decide(ids: list[int], action: Action, release: str | None, **kw: object) -> None:
        for iid in ids:
            ctx.store.decide(Decision(iid, action, "test", "tester", at, **kw),  # type: ignore[arg-type]
                             release)

    c, d = pick("C", Severity.MEDIUM, 12), pick("D", Severity.MEDIUM, 8, 20)
    assert len(c) == 12 and len(d) == 8
    decide(c[:3], Action.FALSE_POSITIVE, "C")
    decide(c[3:5], Action.ACCEPTED_RISK, "B", expires=dt.date(2025, 1, 1))  # expired: open
    decide(c[5:7], Action.ACCEPTED_RISK, "C", expires=dt.date(2027, 1, 1))
    decide(d[:2], Action.DEFERRED, "C", target_release="E")  # the target comes
    decide(d[2:3], Action.DEFERRED, "D", target_release="9.9")  # not a release yet
    decide(pick("B", Severity.MEDIUM, 2), Action.CONFIRMED, "B")
    decide(low("A", 3), Action.CONFIRMED, "A")
    decide(c[:1], Action.REOPENED, "D")  # a false positive reopened a release later
    decide(d[3:5], Action.FALSE_POSITIVE, "F")
    decide(c[7:8], Action.FALSE_POSITIVE, None)  # from the newest release on
    return ctx


def _check(ctx: pipeline.Context) -> None:
    ours = _same(ctx, threat_model=THREAT_MODEL)
    points = {p.release: p for p in ours.points}
    assert points["B"].not_analysed > 0
    assert points["C"].not_analysed > 0 and points["C"].fixed > 0
    assert sum(p.reintroduced for p in ours.points) > 0
    assert ours.fixes
    for sl in (1, 3, 4):
        _same(ctx, sl)
    held = _same(ctx, 3, THREAT_MODEL)
    assert any(p.must_fix_fixed for p in held.points)


def test_trend_sql_equals_python_on_sqlite(db_url: str, tmp_path: Path) -> None:
    ctx = _build(db_url, tmp_path)
    try:
        _check(ctx)
    finally:
        ctx.store.close()


@pytest.mark.postgres
def test_trend_sql_equals_python_on_postgres(pg_url: str, tmp_path: Path) -> None:
    ctx = _build(pg_url, tmp_path)
    try:
        _check(ctx)
    finally:
        ctx.store.close()


def test_trend_sql_equals_python_on_the_demo(corpus_db: str) -> None:
    """The eight pymodbus releases, with and without the threat model's components."""
    ctx = pipeline.Context(store=open_store(corpus_db), rules=load_rules(None),
                           clock=lambda: CLOCK)
    try:
        _same(ctx, threat_model=THREAT_MODEL)
        _same(ctx, 3)
    finally:
        ctx.store.close()


def test_must_fix_issues_is_the_backlog(db_url: str, tmp_path: Path) -> None:
    """``must_fix_issues`` is the set the severity policy judges must-fix, decisions applied."""
    ctx = _build(db_url, tmp_path)
    try:
        minimum, _ = ctx.rules.threshold(SecurityLevel.SL2)
        for rel in ctx.store.releases(PRODUCT):
            triaged, _ = pipeline.triage_release(ctx, rel, SecurityLevel.SL2, statuses=[])
            assert ctx.store.must_fix_issues(rel, minimum, CLOCK.date()) == {
                t.issue_id for t in triaged if t.verdict.must_fix}, rel.name
    finally:
        ctx.store.close()


def test_stored_changes_and_comparing_on_the_fly_agree(db_url: str, tmp_path: Path) -> None:
    """The trend reads what ingest kept of each scan's changes; without it (a store written
    before revision 0008), it compares the scans itself: the same trend either way."""
    ctx = _build(db_url, tmp_path)
    try:
        with ctx.store.engine.connect() as conn:
            kept = conn.scalar(text("SELECT count(*) FROM scan_change"))
            compared = conn.scalar(text(
                "SELECT count(*) FROM scan WHERE compared_with IS NOT NULL"))
        assert kept and compared
        stored = pipeline.trend(ctx, PRODUCT, threat_model=THREAT_MODEL)
        with ctx.store.engine.begin() as conn:
            conn.execute(text("DELETE FROM scan_change"))
            conn.execute(text("UPDATE scan SET compared_with = NULL"))
        assert pipeline.trend(ctx, PRODUCT, threat_model=THREAT_MODEL) == stored
        assert _same(ctx, threat_model=THREAT_MODEL) is not None
    finally:
        ctx.store.close()


def test_changes_follow_a_release_placed_between_and_a_replaced_log(db_url: str) -> None:
    """``--after`` and a replaced log change what changed at later scans: kept up to date."""
    for release in ("2.5.3", "3.3.0", "3.9.2"):
        ingest(db_url, release)
    ingest(db_url, "3.0.0", ("bandit", "ruff"), "--after", "2.5.3")
    # A different bandit log for 3.3.0 replaces the stored one (3.6.9's, as if re-run).
    ingest(db_url, "3.3.0", ("bandit",), logs=release_logs("3.6.9", ("bandit",)))
    ctx = pipeline.Context(store=open_store(db_url), rules=load_rules(None),
                           clock=lambda: CLOCK)
    try:
        stored = pipeline.trend(ctx, PRODUCT, threat_model=THREAT_MODEL)
        with ctx.store.engine.begin() as conn:
            conn.execute(text("DELETE FROM scan_change"))
            conn.execute(text("UPDATE scan SET compared_with = NULL"))
        assert pipeline.trend(ctx, PRODUCT, threat_model=THREAT_MODEL) == stored
    finally:
        ctx.store.close()
