"""Reasons and exposures are stored once and read back whole (revision 0010)."""

from __future__ import annotations

from sqlalchemy import create_engine, func, select
from triage_testkit import ingest, report_json, row_counts

from triage.store.schema import explanations, occurrences


def test_reasons_are_stored_once_and_read_back_whole(db_url: str) -> None:
    ingest(db_url, "3.3.0")
    ingest(db_url, "3.6.9")
    counts = row_counts(db_url)
    # 1,732 + 789 findings share a few hundred reason lists and component exposures.
    assert counts["explanation"] * 3 < counts["occurrence"]
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            inline = conn.scalar(select(func.count()).where(
                (occurrences.c.explain != "") | occurrences.c.explain_id.is_(None)))
            assert inline == 0
            assert conn.scalar(select(func.count(func.distinct(explanations.c.digest)))) == (
                counts["explanation"])
    finally:
        engine.dispose()
    for release in ("3.3.0", "3.6.9"):
        findings = report_json(db_url, release)["findings"]
        assert len(findings) == {"3.3.0": 1732, "3.6.9": 789}[release]
        for f in findings:
            steps = [x["step"] for x in f["explain"]]
            assert steps[:2] == ["base-severity", "component"], steps
            assert f["explain"][1]["text"].startswith(f["path"] or "(no file)")


def test_a_small_memory_of_texts_stores_the_same(db_url: str, tmp_path, monkeypatch) -> None:
    """Texts forgotten mid-ingest are found again by their digest, never stored twice."""
    import triage.store.sql as sql_module

    ingest(db_url, "3.3.0")
    monkeypatch.setattr(sql_module, "_KNOWN_TEXTS", 1)
    small = f"sqlite:///{tmp_path / 'small.db'}"
    ingest(small, "3.3.0")
    assert row_counts(small) == row_counts(db_url)
    assert report_json(small, "3.3.0")["findings"] == report_json(db_url, "3.3.0")["findings"]
