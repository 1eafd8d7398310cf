"""Helpers shared by the CLI, tracking, PostgreSQL and pipeline tests (not a test module).

Every test reads only files inside the repository (CI runs from a fresh clone): the real
scanner output under ``sample_sarif/pymodbus`` and the identity oracle copied unchanged into
``tests/data/oracle``.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from sqlalchemy import create_engine, func, select

from triage.cli import cli
from triage.store.schema import metadata, occurrences, releases

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
SAMPLE = REPO / "sample_sarif" / "pymodbus"
THREAT_MODEL = SAMPLE / "threatmodel.yaml"
ORACLE_DIR = TESTS / "data" / "oracle"
PRODUCT = "pymodbus"
RELEASES = ("2.1.0", "2.3.0", "2.5.3", "3.0.0", "3.3.0", "3.6.9", "3.9.2", "3.16.1")
PAIRS = tuple(zip(RELEASES, RELEASES[1:], strict=False))
RELEASED = {"2.1.0": "2018-10-03", "2.3.0": "2019-10-29", "2.5.3": "2021-10-17",
            "3.0.0": "2022-10-12", "3.3.0": "2023-06-02", "3.6.9": "2024-06-27",
            "3.9.2": "2025-04-18", "3.16.1": "2026-10-11"}
"""Each release's date: the build day of its sdist (``PKG-INFO`` mtime in the sdists whose
sha256 the corpus README lists)."""
TOOLS = ("bandit", "ruff", "semgrep")
STATUSES = {"new", "persisting", "fixed", "reintroduced", "not-analysed"}


def invoke(*args: object, db: str | None = None, env: dict[str, str] | None = None) -> Result:
    """Run the click command in-process; stdout and stderr stay separate (click 8.2+)."""
    argv = (["--db", db] if db is not None else []) + [str(a) for a in args]
    return CliRunner().invoke(cli, argv, env=env, catch_exceptions=True)


def release_logs(release: str, tools: tuple[str, ...] = TOOLS) -> list[str]:
    """Paths of a release's SARIF logs."""
    return [str(SAMPLE / release / f"{tool}.sarif") for tool in tools]


def results_of(path: str | Path) -> list[dict[str, Any]]:
    """``runs[0].results`` of a one-run log."""
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    assert len(doc["runs"]) == 1
    return list(doc["runs"][0].get("results") or ())


def location(result: dict[str, Any]) -> tuple[str, int]:
    """(uri, startLine) of a result's first location."""
    phys = result["locations"][0]["physicalLocation"]
    return phys["artifactLocation"]["uri"], phys["region"]["startLine"]


def ingest(db: str, release: str, tools: tuple[str, ...] = TOOLS, *extra: object,
           name: str | None = None, product: str = PRODUCT, threat_model: bool = True,
           logs: list[str] | None = None) -> Result:
    """Ingest one real release (or the given logs) through the CLI; insist it worked."""
    args: list[object] = ["ingest", *(logs or release_logs(release, tools)),
                          "--product", product, "--release", name or release, *extra]
    if threat_model:
        args += ["--threat-model", THREAT_MODEL]
    res = invoke(*args, db=db)
    assert res.exit_code == 0, (release, res.stdout, res.stderr)
    return res


def cli_json(*args: object, db: str) -> Any:
    """Run a command that prints JSON on stdout and parse it."""
    res = invoke(*args, db=db)
    assert res.exit_code == 0, (args, res.stderr)
    return json.loads(res.stdout)


def diff_json(db: str, old: str, new: str, product: str = PRODUCT) -> Any:
    """``triage diff --format json`` between two releases."""
    return cli_json("diff", "--product", product, "--from", old, "--to", new,
                    "--format", "json", db=db)


def diff_statuses(db: str, old: str, new: str) -> list[tuple[Any, ...]]:
    """A diff without issue ids (they number differently): status, place, link, provenance."""
    return sorted(((r["status"], r["tool"], r["rule"], r["path"], r["line"], r["link"],
                    (r["from"] or {}).get("result"), (r["to"] or {}).get("result"))
                   for r in diff_json(db, old, new)["issues"]), key=repr)


def report_json(db: str, release: str, *extra: object, product: str = PRODUCT) -> Any:
    """``triage report --format json`` of a release."""
    return cli_json("report", "--product", product, "--release", release, "--format", "json",
                    *extra, db=db)


def trend_json(db: str, product: str = PRODUCT) -> Any:
    """``triage trend --format json``."""
    return cli_json("trend", "--product", product, "--format", "json", db=db)


def without_generated_at(doc: dict[str, Any]) -> dict[str, Any]:
    """A report document minus its timestamp, for comparisons."""
    return {k: v for k, v in doc.items() if k != "generated_at"}


def row_counts(url: str) -> dict[str, int]:
    """Rows per table of a store."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {t.name: int(conn.scalar(select(func.count()).select_from(t)) or 0)
                    for t in metadata.sorted_tables}
    finally:
        engine.dispose()


def snapshot(url: str, product: str = PRODUCT) -> tuple[dict[str, int], Any]:
    """What a failed command must not change: row counts and the trend JSON."""
    res = invoke("trend", "--product", product, "--format", "json", db=url)
    trend = without_generated_at(json.loads(res.stdout)) if res.exit_code == 0 else res.stderr
    return row_counts(url), trend


def prov_key(p: dict[str, Any] | None) -> tuple[str, int, int] | None:
    """A diff row's provenance as a hashable key."""
    return None if p is None else (p["file"], p["run"], p["result"])


def moved_between_files(folder: Path, source: str, target: str) -> int:
    """Two real bandit releases with a stable ``fingerprints`` value on every result, where
    one finding of ``source`` moved to ``target`` in the second (both files in both).

    The values hash the rule, file, flagged line and occurrence, as tools' fingerprints do;
    the moved result keeps the value it had, listed with ``target``'s results. Returns the
    moved result's index in the first release's log."""
    def uri(r: dict[str, Any]) -> str:
        return str(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"])

    def fingerprinted(release: str) -> dict[str, Any]:
        doc = json.loads((SAMPLE / release / "bandit.sarif")
                         .read_text())
        seen: Counter[tuple[str, str, str]] = Counter()
        for r in doc["runs"][0]["results"]:
            key = (r["ruleId"], uri(r), r["locations"][0]["physicalLocation"]["region"]
                   ["snippet"]["text"].strip())
            seen[key] += 1
            r["fingerprints"] = {"stable/v1": hashlib.sha256(
                repr((key, seen[key])).encode()).hexdigest()}
        return doc

    first = fingerprinted("3.3.0")
    for release, doc in (("3.3.0", first), ("3.6.9", fingerprinted("3.6.9"))):
        if release == "3.6.9":
            results = doc["runs"][0]["results"]
            moved = next(r for r in results if uri(r) == source)
            was = next(i for i, r in enumerate(first["runs"][0]["results"])
                       if r["fingerprints"] == moved["fingerprints"])
            results.remove(moved)
            moved["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] = target
            at = max(i for i, r in enumerate(results) if uri(r) == target)
            results.insert(at + 1, moved)
        (folder / release).mkdir(parents=True)
        (folder / release / "bandit.sarif").write_text(json.dumps(doc))
    return was


def held_twice(db: str) -> list[tuple[Any, ...]]:
    """(scan, issue) pairs where one scan gives one issue to several findings: none may be."""
    engine = create_engine(db)
    with engine.connect() as conn:
        rows = conn.execute(select(occurrences.c.scan_id, occurrences.c.issue_id)
                            .group_by(occurrences.c.scan_id, occurrences.c.issue_id)
                            .having(func.count() > 1)).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def lineage(db: str) -> list[tuple[Any, ...]]:
    """Each stored finding with its issue's first finding, by release and place in the log.

    Issue ids number differently from store to store; this names an issue by where it was
    first seen, so two stores that linked alike give the same list.
    """
    engine = create_engine(db)
    with engine.connect() as conn:
        rows = conn.execute(select(releases.c.name, releases.c.seq, occurrences.c.sarif_file,
                                   occurrences.c.run_index, occurrences.c.result_index,
                                   occurrences.c.issue_id)
                            .join(releases, releases.c.id == occurrences.c.release_id)).all()
    engine.dispose()
    first: dict[int, tuple[Any, ...]] = {}
    for r in sorted(rows, key=lambda r: (r.seq, r.sarif_file, r.run_index, r.result_index)):
        first.setdefault(r.issue_id, (r.name, r.sarif_file, r.run_index, r.result_index))
    return sorted(((r.name, r.sarif_file, r.run_index, r.result_index), first[r.issue_id])
                  for r in rows)
