"""The library API (``triage.pipeline``) on the real pymodbus releases.

Every finding is explained (base severity, component, context), test code is below the
threshold with a DM-4 disposition, and raising the SL never removes a must-fix finding.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from triage_testkit import (
    PRODUCT,
    RELEASES,
    SAMPLE,
    THREAT_MODEL,
    release_logs,
    results_of,
    row_counts,
)

from triage import pipeline
from triage.errors import BadInputError
from triage.model import SecurityLevel, Severity, Status
from triage.scoring import load_rules
from triage.store import open_store


@pytest.fixture
def corpus(corpus_db: str) -> Iterator[pipeline.Context]:
    """A library context over the session store (read-only)."""
    ctx = pipeline.Context(store=open_store(corpus_db), rules=load_rules())
    yield ctx
    ctx.store.close()


@pytest.fixture
def fresh(db_url: str) -> Iterator[pipeline.Context]:
    """A library context over an empty store, with a fixed clock."""
    clock = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)
    ctx = pipeline.Context(store=open_store(db_url), rules=load_rules(), clock=lambda: clock)
    yield ctx
    ctx.store.close()


@pytest.mark.parametrize("release", RELEASES)
def test_every_stored_finding_is_explained(corpus: pipeline.Context, release: str) -> None:
    rel = corpus.store.release(PRODUCT, release)
    stored = corpus.store.findings(rel)
    assert len(stored) == sum(s.findings for s in corpus.store.scans(rel)) > 0
    for _issue, sf in stored:
        steps = [r.step for r in sf.explain]
        for step in ("base-severity", "component", "context"):
            assert step in steps, (sf.finding.rule_id, steps)
        # In the order the numbers were made.
        assert steps.index("base-severity") < steps.index("component") < steps.index("context")
        assert all(r.text for r in sf.explain)
        assert sf.exposure.component_id in next(r.text for r in sf.explain
                                                if r.step == "component")
        assert 0 <= sf.risk_score <= 100


def test_test_code_is_below_threshold_with_a_dm4_disposition(corpus: pipeline.Context) -> None:
    report = pipeline.release_report(corpus, PRODUCT, "3.3.0", 2)
    tests = [t for t in report.findings if t.scored.exposure.component_kind == "test"]
    assert len(tests) > 100  # 3.3.0 still ships test/: hundreds of B101/S101 asserts
    for t in tests:
        assert t.scored.finding.location.path.startswith("test/")
        assert t.scored.severity == Severity.INFO
        assert not t.verdict.must_fix
        assert t.verdict.sl == SecurityLevel.SL2
        assert t.verdict.disposition == "below-threshold"
        assert "DM-4" in t.verdict.reason and "SL-2" in t.verdict.reason
        assert any(r.step == "context" and "test code" in r.text for r in t.scored.explain)


def test_out_of_scope_components_are_kept_not_dropped(corpus: pipeline.Context) -> None:
    report = pipeline.release_report(corpus, PRODUCT, "2.1.0", 4)
    oos = [t for t in report.findings if t.scored.exposure.out_of_scope]
    assert oos  # setup.py / ez_setup.py belong to the out-of-scope packaging component
    for t in oos:
        assert not t.verdict.must_fix
        assert t.verdict.disposition == "out-of-scope"
        assert t.scored.exposure.component_id in t.verdict.reason


@pytest.mark.parametrize("release", ["3.3.0", "3.16.1"])
def test_raising_the_sl_never_removes_a_must_fix_finding(corpus: pipeline.Context,
                                                         release: str) -> None:
    must: dict[int, set[tuple[int, str, int]]] = {}
    for sl in (1, 2, 3, 4):
        report = pipeline.release_report(corpus, PRODUCT, release, sl)
        must[sl] = {(t.issue_id, t.scored.finding.provenance.file,
                     t.scored.finding.provenance.result) for t in report.must_fix}
        # The SQL aggregate agrees with the per-finding verdicts.
        assert len(must[sl]) == dict(report.must_fix_by_sl)[SecurityLevel(sl)]
        for t in report.must_fix:
            assert t.verdict.disposition == "must-fix" and t.verdict.sl == SecurityLevel(sl)
    assert must[1] <= must[2] <= must[3] <= must[4]
    assert must[2] and must[4] != must[2]


def test_the_gate_is_the_must_fix_set(corpus: pipeline.Context) -> None:
    result = pipeline.gate(corpus, PRODUCT, "3.16.1", 2)
    assert not result.passed and result.blocking == result.report.must_fix
    only_new = pipeline.gate(corpus, PRODUCT, "3.16.1", 2, new_only=True)
    assert only_new.blocking == tuple(t for t in result.blocking
                                      if t.status in (Status.NEW, Status.REINTRODUCED))


def test_ingest_returns_what_it_stored(fresh: pipeline.Context) -> None:
    logs = [Path(p) for p in release_logs("3.9.2")]
    result, must = pipeline.ingest(fresh, logs, PRODUCT, "3.9.2", threat_model=THREAT_MODEL)
    assert result.release.name == "3.9.2" and result.release.target_sl == SecurityLevel.SL2
    assert {s.tool.name for s in result.scans} == {"bandit", "ruff", "semgrep"}
    assert sum(s.findings for s in result.scans) == dict(result.counts)["new"] == 68
    assert result.skipped == ()
    assert list(must) == list(SecurityLevel)
    assert [must[sl] for sl in SecurityLevel] == sorted(must.values())
    again, _ = pipeline.ingest(fresh, logs, PRODUCT, "3.9.2", threat_model=THREAT_MODEL)
    assert set(again.skipped) == {"bandit", "ruff", "semgrep"}
    assert again.counts == result.counts
    report = pipeline.release_report(fresh, PRODUCT)
    assert report.generated_at == "2026-11-26T12:00:00+00:00"  # the injected clock


def test_bad_input_raises_and_stores_nothing(fresh: pipeline.Context, db_url: str,
                                             tmp_path: Path) -> None:
    bad = tmp_path / "bad.sarif"
    bad.write_text('{"version": "2.1.0", "runs": [{"tool": {"driver": {}}}]}',
                   encoding="utf-8")
    logs = [Path(p) for p in release_logs("3.9.2")] + [bad]
    with pytest.raises(BadInputError) as err:
        pipeline.ingest(fresh, logs, PRODUCT, "3.9.2")
    assert err.value.exit_code == 3
    assert str(err.value).startswith("bad.sarif: runs[0].tool.driver.name: ")
    assert row_counts(db_url) == dict.fromkeys(row_counts(db_url), 0)
    with pytest.raises(BadInputError):
        pipeline.trend(fresh, PRODUCT)


def test_two_jobs_ingesting_at_once_lose_nothing(db_url: str) -> None:
    """Two CI jobs, one SQLite file, two releases at the same time (DESIGN.md §8)."""
    releases = ("3.9.2", "3.16.1")
    errors: list[BaseException] = []
    start = threading.Barrier(len(releases), timeout=60)

    def job(release: str) -> None:
        ctx = pipeline.Context(store=open_store(db_url), rules=load_rules())
        try:
            start.wait()
            pipeline.ingest(ctx, [Path(p) for p in release_logs(release)], PRODUCT, release,
                            threat_model=THREAT_MODEL)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)
        finally:
            ctx.store.close()

    threads = [threading.Thread(target=job, args=(r,)) for r in releases]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    ctx = pipeline.Context(store=open_store(db_url), rules=load_rules())
    try:
        stored = {r.name: r for r in ctx.store.releases(PRODUCT)}
        assert set(stored) == set(releases)
        assert len({r.seq for r in stored.values()}) == 2
        for name in releases:
            assert sum(s.findings for s in ctx.store.scans(stored[name])) == sum(
                len(results_of(p)) for p in release_logs(name))
    finally:
        ctx.store.close()


def test_trend_points_follow_release_order(corpus: pipeline.Context) -> None:
    trend = pipeline.trend(corpus, PRODUCT)
    assert [p.release for p in trend.points] == list(RELEASES)
    assert trend.sl == SecurityLevel.SL2
    for p in trend.points:
        counts = [n for _, n in p.must_fix_by_sl]
        assert counts == sorted(counts)


def test_sample_data_is_where_the_tests_expect_it() -> None:
    assert all((SAMPLE / r / f"{t}.sarif").is_file() for r in RELEASES
               for t in ("bandit", "ruff", "semgrep"))
