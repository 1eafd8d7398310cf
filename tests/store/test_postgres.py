"""PostgreSQL and SQLite give the same answers (DESIGN.md §8: any SQLAlchemy URL)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from triage_testkit import (
    PRODUCT,
    diff_json,
    ingest,
    invoke,
    report_json,
    row_counts,
    trend_json,
    without_generated_at,
)

pytestmark = pytest.mark.postgres

RELEASES = ("2.5.3", "3.0.0", "3.3.0")  # fixed, new, persisting and reintroduced issues


def _rows(diff: dict[str, Any]) -> Counter[tuple[Any, ...]]:
    """Diff rows without the issue ids (a backend may number them differently)."""
    return Counter(
        tuple(sorted((k, str(v)) for k, v in row.items() if k != "issue"))
        for row in diff["issues"]
    )


def _findings(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [{k: v for k, v in f.items() if k != "issue"} for f in report["findings"]]


def test_postgres_and_sqlite_agree(pg_url: str, db_url: str) -> None:
    for url in (pg_url, db_url):
        for release in RELEASES:
            ingest(url, release)
    assert row_counts(pg_url) == row_counts(db_url)

    trend_pg, trend_lite = trend_json(pg_url), trend_json(db_url)
    assert without_generated_at(trend_pg) == without_generated_at(trend_lite)
    assert sum(p["reintroduced"] for p in trend_pg["releases"]) > 0

    for old, new in zip(RELEASES, RELEASES[1:], strict=False):
        pg, lite = diff_json(pg_url, old, new), diff_json(db_url, old, new)
        assert _rows(pg) == _rows(lite)
        assert Counter(r["status"] for r in pg["issues"]) == Counter(
            r["status"] for r in lite["issues"])

    rep_pg, rep_lite = report_json(pg_url, "3.3.0"), report_json(db_url, "3.3.0")
    assert rep_pg["must_fix_by_sl"] == rep_lite["must_fix_by_sl"]
    assert rep_pg["status_counts"] == rep_lite["status_counts"]
    assert _findings(rep_pg) == _findings(rep_lite)

    for url in (pg_url, db_url):
        gate = invoke("gate", "--product", PRODUCT, "--release", "3.3.0", "--sl", "2", db=url)
        assert gate.exit_code == 1, gate.stderr


def test_postgres_reingest_is_a_no_op(pg_url: str) -> None:
    ingest(pg_url, "3.16.1")
    before = row_counts(pg_url), without_generated_at(trend_json(pg_url))
    res = ingest(pg_url, "3.16.1")
    assert res.stderr.count("already stored") == 3
    assert (row_counts(pg_url), without_generated_at(trend_json(pg_url))) == before


def test_postgres_bad_input_changes_nothing(pg_url: str, tmp_path: Any) -> None:
    ingest(pg_url, "3.16.1")
    before = row_counts(pg_url)
    bad = tmp_path / "bad.sarif"
    bad.write_text('{"version": "2.1.0", "runs": [{"tool": 5}]}', encoding="utf-8")
    res = invoke("ingest", bad, "--product", PRODUCT, "--release", "9", db=pg_url)
    assert res.exit_code == 3
    assert res.stderr.startswith("error: bad.sarif: runs[0].tool: ")
    assert row_counts(pg_url) == before
