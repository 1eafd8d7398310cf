"""Release dates: the ingest day by default, ``--released`` replaces it, migration 0004."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import create_engine, select, text
from triage_testkit import PRODUCT, THREAT_MODEL, release_logs, row_counts

from triage import pipeline
from triage.scoring import load_rules
from triage.store import open_store
from triage.store.migrate import head_revision, upgrade
from triage.store.schema import explanations, metadata, releases

NOW = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)


def _ctx(url: str) -> pipeline.Context:
    return pipeline.Context(open_store(url), load_rules(), clock=lambda: NOW)


def _ingest(ctx: pipeline.Context, release: str, released: dt.date | None = None) -> None:
    pipeline.ingest(ctx, [Path(p) for p in release_logs(release)], PRODUCT, release,
                    threat_model=THREAT_MODEL, released=released)


def test_a_release_is_dated_the_ingest_day_unless_a_date_is_given(db_url: str) -> None:
    ctx = _ctx(db_url)
    _ingest(ctx, "3.6.9")
    assert ctx.store.release(PRODUCT, "3.6.9").released == NOW.date()  # the injected clock
    _ingest(ctx, "3.6.9", dt.date(2024, 6, 27))  # same logs again: only the date changes
    assert ctx.store.release(PRODUCT, "3.6.9").released == dt.date(2024, 6, 27)
    _ingest(ctx, "3.6.9")  # no date: the stored one stays
    assert ctx.store.release(PRODUCT, "3.6.9").released == dt.date(2024, 6, 27)
    _ingest(ctx, "3.9.2", dt.date(2025, 4, 18))
    fixes = pipeline.trend(ctx, PRODUCT).fixes
    assert fixes and {(f.releases, f.days) for f in fixes} == {(1, 295)}
    ctx.store.close()


def test_a_database_at_revision_0003_upgrades_without_loss(db_url: str, tmp_path: Path) -> None:
    """Rows written by today's code on real releases, copied into a 0003 database (no
    release dates), open with today's code: nothing lost, releases dated their created_at."""
    ctx = _ctx(db_url)
    _ingest(ctx, "3.6.9")
    _ingest(ctx, "3.9.2")
    ctx.store.close()
    old_url = f"sqlite:///{tmp_path / 'old.db'}"
    old = create_engine(old_url)
    upgrade(old, "0003")
    created = {"3.6.9": dt.datetime(2024, 6, 27, 15, 0), "3.9.2": dt.datetime(2025, 4, 18, 23, 59)}
    new = create_engine(db_url)
    with new.connect() as src, old.begin() as dst:
        bodies = dict(src.execute(select(explanations.c.id, explanations.c.body)).all())
        for table in metadata.sorted_tables:
            if table.name in ("scan_change", "explanation"):
                continue  # revisions 0008 and 0010
            rows = [dict(r._mapping) for r in src.execute(select(table))]
            for r in rows:
                r.pop("compared_with", None)  # revision 0008
                if "explain_id" in r:  # revision 0010: the texts inline, as stored before
                    r["explain"] = bodies[r.pop("explain_id")]
                    r["exposure_json"] = bodies[r.pop("exposure_id")]
            if table is releases:
                for r in rows:
                    del r["released_on"]
                    r["created_at"] = created[r["name"]]
            if rows:
                dst.execute(table.insert(), rows)
    new.dispose()
    with old.connect() as conn:
        assert conn.scalar(text("SELECT version_num FROM alembic_version")) == "0003"
    old.dispose()
    before = {**row_counts(db_url), "scan_change": 0, "explanation": 0}

    ctx = _ctx(old_url)  # opening migrates to the newest schema
    with ctx.store.engine.connect() as conn:
        assert conn.scalar(text("SELECT version_num FROM alembic_version")) == head_revision()
        assert conn.execute(text("SELECT released_on FROM release")).scalars().all() == [
            None, None]
    assert row_counts(old_url) == before
    assert [(r.name, r.released) for r in ctx.store.releases(PRODUCT)] == [
        ("3.6.9", dt.date(2024, 6, 27)), ("3.9.2", dt.date(2025, 4, 18))]
    trend = pipeline.trend(ctx, PRODUCT)
    assert sum(p.total for p in trend.points) == before["occurrence"]
    assert trend.fixes and {f.days for f in trend.fixes} == {295}
    ctx.store.close()


def test_the_head_revision_constant_is_the_newest_migration() -> None:
    """An open skips Alembic when the database is at ``HEAD``: it must be the newest."""
    from triage.store.migrate import HEAD

    assert head_revision() == HEAD


def test_many_releases_placed_at_one_spot_keep_their_order(db_url: str) -> None:
    """Each ``--after`` halves a gap; when halving runs out, the releases are renumbered."""
    ctx = _ctx(db_url)
    for name in ("first", "last"):
        ctx.store.ingest(PRODUCT, name, [])
    placed = [f"between-{k}" for k in range(70)]
    for name in placed:  # each goes right after "first", before the one placed before it
        ctx.store.ingest(PRODUCT, name, [], after="first")
    names = [r.name for r in ctx.store.releases(PRODUCT)]
    assert names == ["first", *reversed(placed), "last"]
    seqs = [r.seq for r in ctx.store.releases(PRODUCT)]
    assert len(set(seqs)) == len(seqs) == 72
    ctx.store.close()
