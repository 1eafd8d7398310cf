"""Benchmark of the trend report (``make bench``): 20 releases x 100k occurrences in SQLite.

Not part of ``make test``; nothing here asserts a wall-clock time. The speed is reported as a
ratio against a floor measured in the same run: one ``SELECT release_id, count(*) ... GROUP BY
release_id`` over the occurrence table, the least any per-release count has to read.

The database is synthetic and built straight through the schema (SQLAlchemy Core executemany),
with a realistic evolution: three tools, each release fixes about 3% of the open issues and
adds about 3% new ones, a few fixed issues come back (reintroduced), one run failed, one run
could not analyse some files, and a few thousand triage decisions (false positives, accepted
risks with and without expiry, deferrals, confirmations). It is cached under the system
temporary directory, keyed by ``VERSION``: change the builder, bump the version. With
``--db URL`` (an empty PostgreSQL database, say) it is built there once, as the product
``bench-VERSION``.

    python tests/bench_trend.py [--releases 20] [--size 100000] [--profile] [--rebuild]
                                [--db URL]
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import pstats
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, insert, text  # noqa: E402

from triage import pipeline  # noqa: E402
from triage.model import Action, Severity, Suppression  # noqa: E402
from triage.scoring import load_rules  # noqa: E402
from triage.store import open_store  # noqa: E402
from triage.store.schema import (  # noqa: E402
    decisions,
    issues,
    occurrences,
    products,
    releases,
    scans,
)

VERSION = "trend-bench-1"
"""Bump when the synthetic data changes, so a cached database is rebuilt."""
PRODUCT = f"bench-{VERSION}"
TOOLS = (("bandit", 0.40), ("semgrep", 0.35), ("ruff", 0.25))
COMPONENTS = 50
FILES = 5000
FIX_RATE = 0.03
NEW_RATE = 0.03
REINTRODUCE_RATE = 0.003
DECISIONS = 3000
SEVERITIES = (Severity.INFO, Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL)
SEVERITY_WEIGHTS = (10, 35, 35, 15, 5)


def _component(i: int) -> dict[str, object]:
    tier = i % 5
    out = i % 17 == 16
    return dict(
        component=f"comp{i:02d}", component_kind="library", tier=tier, in_scope=not out,
        exposure=10 * tier, exposure_json=json.dumps(dict(
            asset_value=1.0, unauth=False, reachable=True, out_of_scope=out,
            justification="vendored" if out else "", glob=f"src/comp{i:02d}/**", reasons=[],
            function="", function_glob="")),
    )


def _new_issue(rng: random.Random, key: int, tool: str) -> dict[str, object]:
    """The fixed attributes of one synthetic finding (they persist while it is open)."""
    f = rng.randrange(FILES)
    sev = int(rng.choices(SEVERITIES, SEVERITY_WEIGHTS)[0])
    kind = "fail" if rng.random() > 0.03 else "review"
    sup = Suppression.SUPPRESSED.value if rng.random() < 0.02 else Suppression.ACTIVE.value
    return dict(
        key=key, tool=tool, rule_id=f"{tool[0].upper()}{100 + key % 150}",
        path=f"src/comp{f % COMPONENTS:02d}/file{f}.py", start_line=1 + key % 900,
        severity=sev, kind=kind, suppression=sup, comp=f % COMPONENTS,
        fingerprint=f"{key:064x}",
    )


def _occurrence(issue: dict, issue_id: int, scan_id: int, release_id: int, idx: int,
                comps: list[dict]) -> dict[str, object]:
    line = issue["start_line"]
    return dict(
        scan_id=scan_id, release_id=release_id, issue_id=issue_id, link="tool-fingerprint",
        rule_id=issue["rule_id"], rule_name="rule", path=issue["path"], start_line=line,
        end_line=line, start_column=1, message=f"finding {issue['key']}", snippet="x = 1",
        level="warning", kind=issue["kind"], suppression=issue["suppression"],
        native_severity="", native_confidence="", security_severity=None, cwe="78",
        base_severity=issue["severity"], severity=issue["severity"],
        **comps[issue["comp"]], risk_score=issue["severity"] * 20, explain="[]",
        sarif_file=f"{issue['tool']}.sarif", sarif_sha256="0" * 64, run_index=0,
        result_index=idx, fingerprint=issue["fingerprint"], text_key="t", message_key="m",
        tool_fingerprints="[]",
    )


def build(url: str, n_releases: int, size: int, seed: int = 62443) -> None:
    """Write the synthetic product into the (new or empty) database at ``url``."""
    open_store(url).close()  # the schema at the newest migration
    rng = random.Random(seed)
    comps = [_component(i) for i in range(COMPONENTS)]
    engine = create_engine(url)
    day0 = dt.date(2022, 1, 10)
    now = dt.datetime(2026, 1, 15, tzinfo=dt.UTC)
    with engine.begin() as conn:
        pid = conn.execute(insert(products).values(name=PRODUCT)).inserted_primary_key[0]
        rel_ids = []
        for r in range(n_releases):
            rel_ids.append(conn.execute(insert(releases).values(
                product_id=pid, name=f"r{r + 1:02d}", seq=float(r + 1), created_at=now,
                released_on=day0 + dt.timedelta(days=45 * r),
            )).inserted_primary_key[0])
        key = 0
        open_: dict[str, dict[int, dict]] = {}  # tool -> issue id -> attributes
        closed: dict[str, list[int]] = {}
        attrs: dict[int, dict] = {}
        issue_rows: list[dict] = []
        for tool, _share in TOOLS:
            open_[tool], closed[tool] = {}, []
        next_issue = 1
        for r, rid in enumerate(rel_ids):
            for tool, share in TOOLS:
                live = open_[tool]
                if r == 0:
                    fresh = int(size * share)
                else:
                    for iid in rng.sample(sorted(live), int(len(live) * FIX_RATE)):
                        del live[iid]
                        closed[tool].append(iid)
                    back = rng.sample(closed[tool], min(len(closed[tool]),
                                                        int(size * share * REINTRODUCE_RATE)))
                    for iid in back:
                        closed[tool].remove(iid)
                        live[iid] = attrs[iid]
                    fresh = int(size * share) - len(live)
                for _ in range(fresh):
                    key += 1
                    issue = _new_issue(rng, key, tool)
                    attrs[next_issue] = issue
                    live[next_issue] = issue
                    issue_rows.append(dict(id=next_issue, product_id=pid, tool=tool,
                                           rule_id=issue["rule_id"], path=issue["path"],
                                           fingerprint=issue["fingerprint"],
                                           first_release_id=rid))
                    next_issue += 1
                if issue_rows:
                    conn.execute(insert(issues), issue_rows)
                    issue_rows.clear()
                # Release 12: the ruff run failed half-way; release 8: semgrep could not
                # analyse five files. Neither turns the missing findings into fixes.
                failed = tool == "ruff" and r == 11
                blind = sorted({a["path"] for a in live.values()})[:5] \
                    if tool == "semgrep" and r == 7 else []
                shown = [(iid, a) for iid, a in live.items()
                         if a["path"] not in blind and not (failed and iid % 2)]
                sid = conn.execute(insert(scans).values(
                    release_id=rid, tool=tool, tool_version="1.0", sarif_files="[]",
                    sarif_sha256=f"{r:02d}{tool}".ljust(64, "0"), successful=not failed,
                    not_analysed=json.dumps(blind), notes="[]", finding_count=len(shown),
                    ingested_at=now,
                )).inserted_primary_key[0]
                conn.execute(insert(occurrences), [
                    _occurrence(a, iid, sid, rid, i, comps) for i, (iid, a) in enumerate(shown)])
        choices = [Action.FALSE_POSITIVE, Action.ACCEPTED_RISK, Action.ACCEPTED_RISK,
                   Action.DEFERRED, Action.CONFIRMED, Action.REOPENED]
        rows = []
        for _ in range(DECISIONS):
            action = rng.choice(choices)
            r = rng.randrange(n_releases)
            rows.append(dict(
                issue_id=rng.randrange(1, next_issue), action=action.value, reason="bench",
                decided_by="bench", decided_at=now,
                expires=(day0 + dt.timedelta(days=rng.randrange(0, 2000))
                         if action == Action.ACCEPTED_RISK and rng.random() < 0.5 else None),
                target_release=(f"r{rng.randrange(1, n_releases + 1):02d}"
                                if action == Action.DEFERRED else None),
                release_id=rel_ids[r],
            ))
        conn.execute(insert(decisions), rows)
    # Statistics (and on PostgreSQL the visibility map autovacuum keeps), as a store in use.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE" if engine.dialect.name == "sqlite" else "VACUUM ANALYZE"))
    engine.dispose()


def built(url: str, n_releases: int) -> bool:
    """True when the database already holds the synthetic product."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.scalar(text(
                "SELECT count(*) FROM release JOIN product ON product.id = release.product_id "
                "WHERE product.name = :p"), {"p": PRODUCT}) == n_releases
    except Exception:  # no schema yet
        return False
    finally:
        engine.dispose()


def keep_changes(url: str) -> tuple[int, float]:
    """Keep each scan's changes against the tool's previous scan, as ingest does.

    The database is built row by row, not through ingest; this is the part of ingest the
    trend relies on (``scan_change``). Returns (scans done, seconds): the ingest-side cost.
    """
    store = open_store(url)  # migrates a cached database to the newest schema
    t0 = time.perf_counter()
    done = 0
    with store._tx() as conn:  # noqa: SLF001 - what ingest calls once per scan
        rows = conn.execute(text(
            "SELECT scan.id, scan.tool, scan.compared_with FROM scan "
            "JOIN release ON release.id = scan.release_id "
            "JOIN product ON product.id = release.product_id "
            "WHERE product.name = :p ORDER BY scan.tool, release.seq"), {"p": PRODUCT}).all()
        previous: dict[str, int] = {}
        for sid, tool, compared in rows:
            prev = previous.get(tool)
            if prev is not None and compared != prev:
                store._store_changes(conn, sid, prev)  # noqa: SLF001
                done += 1
            previous[tool] = sid
    store.close()
    return done, time.perf_counter() - t0


def floor_query(url: str) -> float:
    """Seconds for one ``count(*) GROUP BY release_id`` over the occurrence table (best of 3)."""
    engine = create_engine(url)
    best = float("inf")
    with engine.connect() as conn:
        for _ in range(3):
            t0 = time.perf_counter()
            conn.execute(text("SELECT release_id, count(*) FROM occurrence "
                              "GROUP BY release_id")).all()
            best = min(best, time.perf_counter() - t0)
    engine.dispose()
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=int, default=20)
    parser.add_argument("--size", type=int, default=100_000, help="occurrences per release")
    parser.add_argument("--profile", action="store_true", help="print the cProfile top 25")
    parser.add_argument("--rebuild", action="store_true", help="ignore the cached database")
    parser.add_argument("--repeat", type=int, default=3, help="timed trend runs (best kept)")
    parser.add_argument("--db", help="database URL (default: a cached SQLite file)")
    args = parser.parse_args()

    url = args.db
    if url is None:
        path = Path(tempfile.gettempdir()) / (
            f"triage-{VERSION}-{args.releases}x{args.size}.db")
        if args.rebuild:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    if not built(url, args.releases):
        t0 = time.perf_counter()
        build(url, args.releases, args.size)
        print(f"built {PRODUCT} in {url} in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    done, spent = keep_changes(url)
    if done:
        print(f"kept the changes of {done} scans in {spent:.1f}s ({spent / done:.3f}s a scan, "
              "the part of each ingest the trend relies on)", file=sys.stderr)
    floor = floor_query(url)
    ctx = pipeline.Context(open_store(url), load_rules(),
                           clock=lambda: dt.datetime(2026, 1, 15, tzinfo=dt.UTC))
    best = float("inf")
    report = None
    for _ in range(max(1, args.repeat)):
        t0 = time.perf_counter()
        report = pipeline.trend(ctx, PRODUCT)
        best = min(best, time.perf_counter() - t0)
    assert report is not None
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        pipeline.trend(ctx, PRODUCT)
        prof.disable()
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(25)
        print(out.getvalue())
    ctx.store.close()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    occ = sum(p.total for p in report.points)
    print(f"trend   {len(report.points)} releases, {occ} occurrences, {len(report.fixes)} "
          f"fixes: {best:.2f}s (x{best / floor:.1f} the GROUP BY floor {floor:.3f}s), "
          f"peak RSS {rss:.0f} MiB")
    print("| benchmark | data | floor | trend | ratio | peak RSS |")
    print("|---|---|---|---|---|---|")
    backend = "SQLite" if url.startswith("sqlite") else "PostgreSQL"
    print(f"| trend ({backend}, `pipeline.trend`) | {len(report.points)} releases x "
          f"{args.size // 1000}k occurrences ({occ} in all) | {floor:.3f}s | {best:.2f}s | "
          f"x{best / floor:.1f} | {rss:.0f} MiB |")


if __name__ == "__main__":
    main()
