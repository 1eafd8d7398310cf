"""A release placed before stored ones (``--after``): each later scan is linked again.

The later scan is read back from the store in chunks of whole files (``CHUNK_ROWS``); here
the chunks are also tiny, so the real pymodbus scans relink through many of them, renamed
and new files included. On these releases, what the later ones show must be what they show
when every release was ingested in order (other scanners' line shifts, stored by then, may
place a finding otherwise elsewhere).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from triage_testkit import (
    PRODUCT,
    SAMPLE,
    THREAT_MODEL,
    diff_json,
    diff_statuses,
    held_twice,
    invoke,
    lineage,
    location,
    moved_between_files,
)

import triage.ingest.stream as stream_module
import triage.store.relinking as relinking_module
from triage.store.migrate import upgrade
from triage.store.schema import decisions


@pytest.fixture(params=[relinking_module.CHUNK_ROWS, 40], ids=["one chunk", "chunks of 40"])
def chunk_rows(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(relinking_module, "CHUNK_ROWS", request.param)
    return int(request.param)


def _ingest(db: str, release: str, *extra: str, logs: list[Path] | None = None) -> None:
    paths = logs or sorted((SAMPLE / release).glob("*.sarif"))
    res = invoke("ingest", *[str(p) for p in paths], "--product", PRODUCT, "--release", release,
                 "--threat-model", str(THREAT_MODEL), *extra, db=db)
    assert res.exit_code == 0, res.stderr


def _placed_equals_in_order(in_order: str, placed: str) -> None:
    for release in ("2.5.3", "3.0.0", "3.3.0", "3.6.9"):
        _ingest(in_order, release)
    for release in ("2.5.3", "3.3.0", "3.6.9"):
        _ingest(placed, release)
    _ingest(placed, "3.0.0", "--after", "2.5.3")
    for old, new in (("2.5.3", "3.0.0"), ("3.0.0", "3.3.0"), ("3.3.0", "3.6.9")):
        assert diff_statuses(placed, old, new) == diff_statuses(in_order, old, new), (old, new)


def test_a_release_placed_between_leaves_the_later_ones_as_in_order(
        tmp_path: Path, chunk_rows: int) -> None:
    """3.0.0 placed after 2.5.3 once 3.3.0 and 3.6.9 are stored: all three tools' scans of
    3.3.0 are linked again to it (files renamed, added and removed between them), and every
    diff is the one of the releases ingested in order."""
    _placed_equals_in_order(f"sqlite:///{tmp_path / 'in-order.db'}",
                            f"sqlite:///{tmp_path / 'placed.db'}")


@pytest.mark.postgres
def test_a_release_placed_between_on_postgres(
        tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The chunks are ranges of paths in the database's own order (its collation)."""
    monkeypatch.setattr(relinking_module, "CHUNK_ROWS", 40)
    _placed_equals_in_order(f"sqlite:///{tmp_path / 'in-order.db'}", pg_url)


@pytest.mark.parametrize(("source", "target"), [
    ("test/test_payload.py", "test/test_device.py"),
    ("test/test_device.py", "test/test_payload.py"),
], ids=["to a file read earlier", "to a file read later"])
def test_a_fingerprint_that_moved_to_another_chunk_links_when_relinked(
        tmp_path: Path, chunk_rows: int, source: str, target: str) -> None:
    """A ``fingerprints`` value moved to a file of another chunk: relinked, the later scan's
    finding still joins the issue that carried the value."""
    folder = tmp_path / "logs"
    was = moved_between_files(folder, source, target)
    db = f"sqlite:///{tmp_path / 't.db'}"
    first, second = folder / "3.3.0" / "bandit.sarif", folder / "3.6.9" / "bandit.sarif"
    _ingest(db, "3.3.0", logs=[first])
    _ingest(db, "3.6.9", logs=[second])
    # 3.3.0's log again, as a release between: 3.6.9 links to it as it linked to 3.3.0.
    _ingest(db, "3.4", "--after", "3.3.0", logs=[first])
    moved = [(r["status"], r["path"], r["link"]) for r in diff_json(db, "3.4", "3.6.9")["issues"]
             if r["from"] and r["from"]["result"] == was]
    assert moved == [("persisting", target, "tool-fingerprint")]
    assert diff_statuses(db, "3.4", "3.6.9") == _statuses_of_in_order(tmp_path, first, second)


def _statuses_of_in_order(tmp_path: Path, first: Path, second: Path) -> list[tuple[Any, ...]]:
    db = f"sqlite:///{tmp_path / 'in-order.db'}"
    _ingest(db, "3.3.0", logs=[first])
    _ingest(db, "3.6.9", logs=[second])
    return diff_statuses(db, "3.3.0", "3.6.9")


def _key(row: dict[str, Any]) -> tuple[Any, ...]:
    return row["tool"], row["rule"], row["path"], row["line"]


def test_a_decision_follows_its_finding_across_chunks(
        tmp_path: Path, chunk_rows: int) -> None:
    """A decision on a later release's issue follows its finding to the issue it joins when
    a release is placed before it, whichever chunk the finding's file falls in."""
    db = f"sqlite:///{tmp_path / 't.db'}"
    _ingest(db, "3.3.0")
    _ingest(db, "3.9.2")
    new = {_key(r): r for r in diff_json(db, "3.3.0", "3.9.2")["issues"] if r["status"] == "new"}
    # A finding new in 3.9.2 that 3.6.9 already had, in the last file that has one: with
    # chunks of 40, in the last chunk. Placed before 3.9.2, 3.6.9 gives it an issue first.
    in_order = f"sqlite:///{tmp_path / 'in-order.db'}"
    for release in ("3.3.0", "3.6.9", "3.9.2"):
        _ingest(in_order, release)
    first_in_369 = {_key(r) for r in diff_json(in_order, "3.3.0", "3.6.9")["issues"]
                    if r["status"] == "new"}
    carried = sorted(_key(r) for r in diff_json(in_order, "3.6.9", "3.9.2")["issues"]
                     if r["status"] == "persisting" and _key(r) in new
                     and r["link"] == "content"
                     and (r["tool"], r["rule"], r["path"]) in {k[:3] for k in first_in_369})
    chosen = new[carried[-1]]
    res = invoke("decide", str(chosen["issue"]), "--confirm", "--reason", "reachable",
                 "--by", "reviewer", db=db)
    assert res.exit_code == 0, res.stderr
    _ingest(db, "3.6.9", "--after", "3.3.0")
    engine = create_engine(db)
    with engine.connect() as conn:
        decided = conn.execute(select(decisions.c.issue_id)).scalars().all()
    engine.dispose()
    assert len(decided) == 1 and decided[0] != chosen["issue"]
    (now,) = [r for r in diff_json(db, "3.6.9", "3.9.2")["issues"] if r["issue"] == decided[0]]
    assert (now["status"], *_key(now)) == ("persisting", *carried[-1])


def test_an_issue_s_occurrences_are_found_through_an_index(tmp_path: Path) -> None:
    """Dropping an orphaned issue makes the database check that no occurrence refers to it:
    with ``ix_occ_issue`` a look-up, not a read of the whole table for every issue dropped
    (a relinked release drops thousands)."""
    old = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(old, "0010")
    upgrade(old)  # as opening the store does
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    _ingest(fresh, "3.3.0")
    for engine in (old, create_engine(fresh)):
        with engine.connect() as conn:
            plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT 1 FROM occurrence WHERE issue_id = 1"))
        engine.dispose()
        assert "ix_occ_issue" in plan, plan


def _renamed_and_copied_back(folder: Path) -> list[Path]:
    """Three releases of a real bandit log: the first as written; in the second, the first
    result's file renamed; in the third, that result also back in the file's old name."""
    doc = json.loads((SAMPLE / "3.16.1" / "bandit.sarif").read_text())
    results = doc["runs"][0]["results"]
    old = location(results[0])[0]
    renamed = [json.loads(json.dumps(r)) for r in results]
    for r in renamed:
        if location(r)[0] == old:
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] = "moved/" + old
    back = json.loads(json.dumps(results[0]))
    logs = []
    for release, found in (("R1", results), ("R2", renamed), ("R3", [*renamed, back])):
        doc["runs"][0]["results"] = found
        (folder / release).mkdir(parents=True)
        logs.append(folder / release / "bandit.sarif")
        logs[-1].write_text(json.dumps(doc))
    return logs


def test_a_finding_back_in_a_renamed_file_s_old_name_takes_no_issue_twice(
        tmp_path: Path, chunk_rows: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The renamed file's finding keeps its issue; its copy back at the old name is new,
    also where files are linked chunk by chunk (streamed, or relinked after ``--after``)
    and the old name, new to the scan, is linked last: one issue never goes to two."""
    monkeypatch.setattr(stream_module, "CHUNK_FINDINGS", 40)
    r1, r2, r3 = _renamed_and_copied_back(tmp_path / "logs")
    dbs = {mode: f"sqlite:///{tmp_path / mode}.db" for mode in ("whole", "streamed", "placed")}
    for mode, env in (("whole", None), ("streamed", {"TRIAGE_STREAM_BYTES": "0"})):
        for log in (r1, r2, r3):
            res = invoke("ingest", str(log), "--product", PRODUCT, "--release",
                         log.parent.name, db=dbs[mode], env=env)
            assert res.exit_code == 0, res.stderr
    _ingest(dbs["placed"], "R1", logs=[r1])
    _ingest(dbs["placed"], "R3", logs=[r3])
    _ingest(dbs["placed"], "R2", "--after", "R1", logs=[r2])
    whole = diff_statuses(dbs["whole"], "R2", "R3")
    back = json.loads(r3.read_text())["runs"][0]["results"][-1]
    assert ("new", location(back)[0], "new") in {(r[0], r[3], r[5]) for r in whole}
    for mode, db in dbs.items():
        assert held_twice(db) == [], mode
        assert diff_statuses(db, "R2", "R3") == whole, mode


def _renamed_then_back_beside_it(folder: Path) -> list[Path]:
    """Four releases of a real bandit log. R2 renames the first result's file to a name
    that sorts last; in R3 another file's finding is copied under the old name, so the
    old name is a file of the scan again; in R4 the first result is back there too."""
    doc = json.loads((SAMPLE / "3.16.1" / "bandit.sarif").read_text())
    results = doc["runs"][0]["results"]
    old = location(results[0])[0]
    other = next(r for r in results if location(r)[0] != old)

    def at(r: dict[str, Any], uri: str) -> dict[str, Any]:
        r = json.loads(json.dumps(r))
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] = uri
        return r

    renamed = [at(r, "zz/" + old) if location(r)[0] == old else r for r in results]
    beside = [at(other, old), *renamed]
    back = [at(results[0], old), *beside]
    logs = []
    for release, found in (("R1", results), ("R2", renamed), ("R3", beside), ("R4", back)):
        doc["runs"][0]["results"] = found
        (folder / release).mkdir(parents=True)
        logs.append(folder / release / "bandit.sarif")
        logs[-1].write_text(json.dumps(doc))
    return logs


@pytest.mark.parametrize("chunk", [1, 1000], ids=["a file a chunk", "one chunk"])
def test_a_return_waits_for_the_files_whose_issue_it_is(
        tmp_path: Path, chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first result's issue lives on in the renamed file; when the result comes back
    under the old name, a file the previous scan has, in a chunk before the renamed
    file's, the renamed finding keeps the issue and the returned one is new, as when the
    whole scan is linked at once: an older release's issue is taken back only after every
    file of the scan had its chance at it."""
    monkeypatch.setattr(stream_module, "CHUNK_FINDINGS", chunk)
    monkeypatch.setattr(relinking_module, "CHUNK_ROWS", chunk)
    logs = _renamed_then_back_beside_it(tmp_path / "logs")
    dbs = {mode: f"sqlite:///{tmp_path / mode}.db" for mode in ("whole", "streamed", "placed")}
    for mode, env in (("whole", None), ("streamed", {"TRIAGE_STREAM_BYTES": "0"})):
        for log in logs:
            res = invoke("ingest", str(log), "--product", PRODUCT, "--release",
                         log.parent.name, db=dbs[mode], env=env)
            assert res.exit_code == 0, res.stderr
    for log in (logs[0], logs[1], logs[3]):
        _ingest(dbs["placed"], log.parent.name, logs=[log])
    _ingest(dbs["placed"], "R3", "--after", "R2", logs=[logs[2]])
    whole = diff_statuses(dbs["whole"], "R3", "R4")
    old = location(json.loads(logs[0].read_text())["runs"][0]["results"][0])[0]
    assert {(r[0], r[3], r[5]) for r in whole} >= {("new", old, "new")}, whole
    for mode, db in dbs.items():
        assert held_twice(db) == [], mode
        assert diff_statuses(db, "R3", "R4") == whole, mode


def _at_line(result: dict[str, Any], uri: str, line: int, column: int, text: str,
             message: str) -> dict[str, Any]:
    """A real bandit result moved to ``uri``:``line``, flagging ``text`` with ``message``."""
    r = json.loads(json.dumps(result))
    r["message"]["text"] = message
    phys = r["locations"][0]["physicalLocation"]
    phys["artifactLocation"]["uri"] = uri
    phys["region"] = {"startLine": line, "endLine": line, "startColumn": column,
                      "endColumn": column + len(text), "snippet": {"text": text + "\n"}}
    phys.pop("contextRegion", None)
    return r


# One issue reachable through two content fingerprints: its flagged text changed at R2
# (linked there by nearness), and in the last release the old text is back beside the new.
_TWO_PRINTS = {
    "same file": [
        [("p.py", 10, 1, "X = 1", "alpha")],
        [("p.py", 10, 1, "T = 2", "alpha")],
        [("p.py", 5, 1, "X = 1", "gamma"), ("p.py", 20, 5, "T = 2", "beta"),
         ("p.py", 30, 5, "T = 2", "beta")]],
    "a file new to the scan": [
        [("q.py", 10, 1, "X = 1", "alpha")],
        [("p.py", 10, 1, "X = 1", "alpha")],
        [("p.py", 80, 9, "Y = 3", "delta")],
        [("p.py", 80, 9, "Y = 3", "delta"), ("p.py", 50, 1, "X = 1", "alpha"),
         ("q.py", 10, 1, "X = 1", "alpha")]],
}


@pytest.mark.parametrize("case", sorted(_TWO_PRINTS))
def test_the_last_layer_links_in_log_order_over_the_whole_scan(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    """An issue two findings could take by content goes to the first in the log, whether
    the scan is linked at once, file by file as it streams, or relinked after ``--after``:
    the last layer waits for every other layer of every file, new files included."""
    monkeypatch.setattr(stream_module, "CHUNK_FINDINGS", 1)
    monkeypatch.setattr(relinking_module, "CHUNK_ROWS", 1)
    doc = json.loads((SAMPLE / "2.1.0" / "bandit.sarif").read_text())
    template = doc["runs"][0]["results"][0]
    logs = []
    for n, found in enumerate(_TWO_PRINTS[case], 1):
        doc["runs"][0]["results"] = [_at_line(template, *f) for f in found]
        logs.append(tmp_path / f"R{n}.sarif")
        logs[-1].write_text(json.dumps(doc))
    dbs = {mode: f"sqlite:///{tmp_path / mode}.db" for mode in ("whole", "streamed", "placed")}
    for mode, env in (("whole", None), ("streamed", {"TRIAGE_STREAM_BYTES": "0"})):
        for log in logs:
            res = invoke("ingest", str(log), "--product", PRODUCT, "--release", log.stem,
                         db=dbs[mode], env=env)
            assert res.exit_code == 0, res.stderr
    for log in [*logs[:-2], logs[-1]]:
        _ingest(dbs["placed"], log.stem, logs=[log])
    _ingest(dbs["placed"], logs[-2].stem, "--after", logs[-3].stem, logs=[logs[-2]])
    last = [log.stem for log in logs[-2:]]
    whole = diff_statuses(dbs["whole"], *last)
    assert [r[5] for r in whole if r[0] == "persisting"] == ["content"], whole
    for mode, db in dbs.items():
        assert held_twice(db) == [], mode
        assert diff_statuses(db, *last) == whole, mode
        assert lineage(db) == lineage(dbs["whole"]), mode
