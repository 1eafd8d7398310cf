"""Streamed ingest (large logs) stores exactly what the whole-file ingest stores.

Above ``TRIAGE_STREAM_BYTES`` a log is read by streaming into a spool and stored in chunks
of whole files; here the threshold is 0 and the chunks are tiny, so the real pymodbus logs
take that path through many chunks, renamed and new files included.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from triage_testkit import (
    PRODUCT,
    RELEASES,
    REPO,
    diff_json,
    diff_statuses,
    invoke,
    moved_between_files,
    report_json,
    row_counts,
)

import triage.ingest.stream as stream_module
from triage.ingest.ahead import stream_direct_ahead, stream_direct_here
from triage.ingest.paths import PathNormaliser
from triage.ingest.reader import Reader
from triage.ingest.sarif import RUN_MEMBERS, RunReader, read_sarif
from triage.ingest.stream import NotContiguous, Spool, stream_direct, stream_sarif
from triage.model import ReadAgain
from triage.pipeline import storing
from triage.store import open_store
from triage.store.schema import occurrences, scans

STREAM = {"TRIAGE_STREAM_BYTES": "0"}
SOME = RELEASES[2:6]  # 2.5.3 .. 3.6.9: files renamed, added and removed, 1,700-finding scans


def _real_logs() -> list[Path]:
    logs = sorted((REPO / "sample_sarif" / "pymodbus").glob("*/*.sarif"))
    return logs + sorted((REPO / "tests" / "data" / "sarif").glob("*.sarif"))


def _key(f: Any) -> tuple[Any, ...]:
    return (f.location.path, f.provenance.file, f.provenance.run, f.provenance.result)


@pytest.mark.parametrize("log", _real_logs(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_streamed_reading_equals_whole_reading(log: Path, monkeypatch: pytest.MonkeyPatch
                                               ) -> None:
    monkeypatch.setattr(stream_module, "CHUNK_FINDINGS", 7)
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    whole = read_sarif([log], PathNormaliser(), now=now)
    spool = Spool()
    try:
        streamed = stream_sarif([log], PathNormaliser(), now, spool)
        assert [s.scan for s in streamed] == [
            type(w)(**{**{k: getattr(w, k) for k in w.__slots__}, "findings": ()})
            for w in whole]
        for w, s in zip(whole, streamed, strict=True):
            chunks = list(s.chunks())
            got = [f for chunk in chunks for f in chunk]
            assert s.count == len(got) == len(w.findings)
            assert sorted(got, key=_key) == sorted(w.findings, key=_key)
            # Every file's findings come in one chunk, files in path order.
            firsts = [chunk[0].location.path for chunk in chunks if chunk]
            assert firsts == sorted(firsts)
            owner = {f.location.path: i for i, chunk in enumerate(chunks) for f in chunk}
            assert all(owner[f.location.path] == i for i, c in enumerate(chunks) for f in c)
    finally:
        spool.close()


def _ingest_all(db: str, releases: tuple[str, ...], env: dict[str, str] | None) -> list[str]:
    outs = []
    for release in releases:
        args = ["ingest", *[str(p) for p in sorted(
            (REPO / "sample_sarif" / "pymodbus" / release).glob("*.sarif"))],
                "--product", "pymodbus", "--release", release,
                "--threat-model", str(REPO / "sample_sarif" / "pymodbus" / "threatmodel.yaml")]
        res = invoke(*args, db=db, env=env)
        assert res.exit_code == 0, res.stderr
        outs.append(res.stderr)  # the summary lines go to stderr; stdout is for results
    return outs


def _streamed_equals_whole(whole_db: str, streamed_db: str,
                           monkeypatch: pytest.MonkeyPatch, releases: tuple[str, ...]) -> None:
    monkeypatch.setattr(stream_module, "CHUNK_FINDINGS", 40)
    calls: list[int] = []

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return stream_sarif(*args, **kwargs)

    monkeypatch.setattr(storing, "stream_sarif", spy)
    whole_out = _ingest_all(whole_db, releases, None)
    assert not calls
    streamed_out = _ingest_all(streamed_db, releases, STREAM)
    assert len(calls) == len(releases)
    assert streamed_out == whole_out  # the same counts, must-fix and health, release by release
    for old, new in zip(releases, releases[1:], strict=False):
        assert diff_statuses(streamed_db, old, new) == diff_statuses(whole_db, old, new), (old, new)


def test_streamed_ingest_stores_what_whole_ingest_stores(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _streamed_equals_whole(f"sqlite:///{tmp_path / 'whole.db'}",
                           f"sqlite:///{tmp_path / 'streamed.db'}", monkeypatch, SOME)


@pytest.mark.postgres
def test_streamed_ingest_on_postgres(
        tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _streamed_equals_whole(f"sqlite:///{tmp_path / 'whole.db'}", pg_url, monkeypatch,
                           SOME[:3])


def test_streamed_reingest_is_a_no_op(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 't.db'}"
    _ingest_all(db, ("3.9.2",), STREAM)
    before = row_counts(db)
    again = _ingest_all(db, ("3.9.2",), STREAM)[0]
    assert again.count("(already stored: no change)") == 3, again
    assert row_counts(db) == before


def test_ingest_counts_come_from_sql_and_match_the_comparison(corpus_db: str) -> None:
    """The counts an ingest prints (SQL) equal the statuses ``status`` lists (per finding):
    from what changed at each scan, and looked up finding by finding as for a scan stored
    before ingest kept its changes (revision 0008)."""
    store = open_store(corpus_db)
    try:
        for rel in store.releases("pymodbus"):
            listed = Counter(r.status.value for r in store.status(rel))
            with store._tx() as conn:  # noqa: SLF001 - the aggregate behind IngestResult
                pid = store._product_id(conn, "pymodbus")  # noqa: SLF001
                counts = store._status_counts(conn, pid, rel)  # noqa: SLF001
                # Without the changes: a scan compared with no predecessor (as before 0008).
                conn.execute(scans.update().where(scans.c.release_id == rel.key)
                             .values(compared_with=None))
                looked_up = store._status_counts(conn, pid, rel)  # noqa: SLF001
                conn.rollback()
            assert counts == +listed, rel.name
            assert looked_up == +listed, rel.name
    finally:
        store.close()



def test_streamed_release_placed_between_relinks_as_whole_does(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--after`` puts a release between two stored ones; the later one is linked again."""
    monkeypatch.setattr(stream_module, "CHUNK_FINDINGS", 40)
    dbs = {}
    for mode, env in (("whole", None), ("streamed", STREAM)):
        db = dbs[mode] = f"sqlite:///{tmp_path / mode}.db"
        _ingest_all(db, ("2.5.3", "3.3.0"), env)
        res = invoke("ingest", *[str(p) for p in sorted(
            (REPO / "sample_sarif" / "pymodbus" / "3.0.0").glob("*.sarif"))],
            "--product", "pymodbus", "--release", "3.0.0", "--after", "2.5.3",
            "--threat-model", str(REPO / "sample_sarif" / "pymodbus" / "threatmodel.yaml"),
            db=db, env=env)
        assert res.exit_code == 0, res.stderr
    for old, new in (("2.5.3", "3.0.0"), ("3.0.0", "3.3.0")):
        assert diff_statuses(dbs["streamed"], old, new) == diff_statuses(dbs["whole"], old, new)


def _one_log_at_a_time(db: str, logs: list[Path], env: dict[str, str] | None) -> list[str]:
    outs = []
    for log in logs:
        res = invoke("ingest", str(log), "--product", PRODUCT, "--release", log.parent.name,
                     db=db, env=env)
        assert res.exit_code == 0, res.stderr
        outs.append(res.stderr)
    return outs


def _taken(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts how ingest read each log: directly, directly then spooled, or spooled; and
    how many direct reads were in a reader process."""
    taken: Counter[str] = Counter()

    def counted(read: Any) -> Any:
        def direct(*args: Any, **kwargs: Any) -> Any:
            if read is stream_direct_ahead:
                taken["in a reader process"] += 1
            return counting(read(*args, **kwargs))
        return direct

    def counting(found: Any) -> Any:
        if found is None:
            return None
        make = found.chunks

        def chunks() -> Any:
            try:
                yield from make()
            except NotContiguous:
                taken["fell back"] += 1
                raise
            except ReadAgain:
                taken["read again"] += 1
                raise
            taken["direct"] += 1

        found.chunks = chunks
        return found

    def spooled(*args: Any, **kwargs: Any) -> Any:
        taken["spooled"] += 1
        return stream_sarif(*args, **kwargs)

    monkeypatch.setattr(storing, "stream_direct_here", counted(stream_direct_here))
    monkeypatch.setattr(storing, "stream_direct_ahead", counted(stream_direct_ahead))
    monkeypatch.setattr(storing, "stream_sarif", spooled)
    return taken


def _direct_equals_whole(whole: str, streamed: str, monkeypatch: pytest.MonkeyPatch,
                         releases: tuple[str, ...], reader: str) -> None:
    monkeypatch.setattr(stream_module, "CHUNK_FINDINGS", 40)
    taken = _taken(monkeypatch)
    logs = [p for release in releases for p in sorted(
        (REPO / "sample_sarif" / "pymodbus" / release).glob("*.sarif"))]
    assert _one_log_at_a_time(streamed, logs, STREAM) == _one_log_at_a_time(whole, logs, None)
    assert taken == {"direct": len(logs), **_readers(reader, len(logs))}
    for old, new in zip(releases, releases[1:], strict=False):
        assert diff_statuses(streamed, old, new) == diff_statuses(whole, old, new), (old, new)
    assert row_counts(streamed) == row_counts(whole)
    # The content fingerprints, given by the store to a log read directly, are ingest's.
    assert _fingerprints(streamed) == _fingerprints(whole)


def _fingerprints(db: str) -> list[tuple[Any, ...]]:
    """Each stored result's content fingerprint and identity keys, by its place in its log."""
    engine = create_engine(db)
    with engine.connect() as conn:
        rows = conn.execute(select(
            occurrences.c.sarif_sha256, occurrences.c.run_index, occurrences.c.result_index,
            occurrences.c.fingerprint, occurrences.c.text_key, occurrences.c.message_key)).all()
    engine.dispose()
    assert rows and all(len(r.fingerprint) == 32 for r in rows)
    return sorted(tuple(r) for r in rows)


@pytest.fixture(params=["reader process", "one process"])
def reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """A log read directly is read in a reader process (the default on two cores), or not."""
    monkeypatch.setenv("TRIAGE_READER_PROCESS", "1" if request.param == "reader process"
                       else "0")
    return str(request.param)


def _readers(reader: str, logs: int) -> dict[str, int]:
    """What ``_taken`` counts of reader processes when ``logs`` logs were read directly."""
    return {"in a reader process": logs} if reader == "reader process" else {}


def test_one_log_read_directly_stores_what_whole_ingest_stores(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reader: str) -> None:
    """A log whose files' results come together goes to the store as it streams by."""
    _direct_equals_whole(f"sqlite:///{tmp_path / 'whole.db'}",
                         f"sqlite:///{tmp_path / 's.db'}", monkeypatch, SOME, reader)


@pytest.mark.postgres
def test_one_log_read_directly_on_postgres(
        tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch, reader: str) -> None:
    _direct_equals_whole(f"sqlite:///{tmp_path / 'whole.db'}", pg_url, monkeypatch, SOME[:3],
                         reader)


def test_a_log_with_a_file_s_results_apart_is_spooled(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reader: str) -> None:
    """CodeQL may list a file's results apart: the direct read stops, nothing of it stays,
    and the spool stores what the whole-file ingest stores."""
    taken = _taken(monkeypatch)
    log = REPO / "tests" / "data" / "sarif" / "vulnerable-node__codeql-results.sarif"
    whole, streamed = f"sqlite:///{tmp_path / 'whole.db'}", f"sqlite:///{tmp_path / 's.db'}"
    assert _one_log_at_a_time(streamed, [log], STREAM) == _one_log_at_a_time(whole, [log], None)
    assert taken == {"fell back": 1, "spooled": 1, **_readers(reader, 1)}
    assert row_counts(streamed) == row_counts(whole)
    rows = diff_json(streamed, "sarif", "sarif")["issues"]
    assert rows == diff_json(whole, "sarif", "sarif")["issues"]


def test_a_repeated_fingerprint_sends_the_log_to_the_spool(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reader: str) -> None:
    """A ``fingerprints`` value on two results is a placeholder; only the whole run shows it,
    so the direct read hands the log to the spool, which drops it from both."""
    taken = _taken(monkeypatch)
    doc = json.loads((REPO / "sample_sarif" / "pymodbus" / "3.9.2" / "bandit.sarif").read_text())
    results = doc["runs"][0]["results"]
    for r in (results[0], results[-1]):
        r["fingerprints"] = {"stable/v1": "same"}
    log = tmp_path / "bandit.sarif"
    log.write_text(json.dumps(doc))
    whole, streamed = f"sqlite:///{tmp_path / 'whole.db'}", f"sqlite:///{tmp_path / 's.db'}"
    assert _one_log_at_a_time(streamed, [log], STREAM) == _one_log_at_a_time(whole, [log], None)
    assert taken == {"fell back": 1, "spooled": 1, **_readers(reader, 1)}
    assert row_counts(streamed) == row_counts(whole)


def test_the_same_log_again_reports_its_stored_health(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reader: str) -> None:
    """Files a scanner could not analyse show in the summary of a repeated ingest too, also
    for a log read as it streams (which learns of them only from its results)."""
    taken = _taken(monkeypatch)
    log = REPO / "sample_sarif" / "pymodbus" / "2.1.0" / "ruff.sarif"
    outs = {}
    for mode, env in (("whole", None), ("streamed", STREAM)):
        outs[mode] = _one_log_at_a_time(f"sqlite:///{tmp_path / mode}.db", [log, log], env)
    # The same log again: a reader starts, and is stopped when the store finds it stored.
    assert taken == {"direct": 1, **_readers(reader, 2)}
    assert outs["streamed"] == outs["whole"]
    assert "not analysed" in outs["whole"][1] and "already stored" in outs["whole"][1]


@pytest.mark.parametrize("env", [None, STREAM], ids=["whole", "streamed"])
@pytest.mark.parametrize("where", ["fingerprint", "message"])
def test_a_lone_surrogate_is_stored_and_the_finding_persists(
        tmp_path: Path, env: dict[str, str] | None, where: str) -> None:
    """JSON allows ``\\ud800`` alone in a string. A ``fingerprints`` value keeps it (the
    store writes it as JSON) and links through it; a text column is UTF-8, which has no
    surrogates: the message keeps U+FFFD in its place, the same in every release."""
    doc = json.loads((REPO / "sample_sarif" / "pymodbus" / "3.9.2" / "bandit.sarif").read_text())
    if where == "fingerprint":
        doc["runs"][0]["results"][0]["fingerprints"] = {"stable/v1": "SURROGATE"}
    else:
        doc["runs"][0]["results"][0]["message"]["text"] = "odd SURROGATE text"
    text = json.dumps(doc).replace("SURROGATE", "\\ud800")
    db = f"sqlite:///{tmp_path / 't.db'}"
    for release in ("1", "2"):  # the second links through what the first stored
        log = tmp_path / release / "bandit.sarif"
        log.parent.mkdir()
        log.write_text(text)
        _one_log_at_a_time(db, [log], env)
    rows = diff_json(db, "1", "2")["issues"]
    assert {r["status"] for r in rows} == {"persisting"}
    if where == "fingerprint":
        assert "tool-fingerprint" in {r["link"] for r in rows}
    else:
        assert "odd \ufffd text" in {f["message"] for f in report_json(db, "2")["findings"]}


@pytest.mark.parametrize(("source", "target", "expected"), [
    ("test/test_payload.py", "test/test_device.py", {"direct": 2}),
    # The store stops the direct read (the reader saw nothing wrong), and spools the log.
    ("test/test_device.py", "test/test_payload.py", {"direct": 1, "spooled": 1}),
], ids=["to a file read earlier", "to a file read later"])
def test_a_fingerprint_that_moved_to_another_file_links_as_whole_ingest_links(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reader: str, source: str,
        target: str, expected: dict[str, int]) -> None:
    """A tool's ``fingerprints`` value identifies a result wherever it is. Read in chunks of
    files, a finding that moved to a file of another chunk still links to its issue; where
    its old file was stored before the link was known, the log goes to the spool, which
    knows every fingerprint before it stores."""
    monkeypatch.setattr(stream_module, "CHUNK_FINDINGS", 40)
    folder = tmp_path / "logs"
    was = moved_between_files(folder, source, target)
    logs = [folder / "3.3.0" / "bandit.sarif", folder / "3.6.9" / "bandit.sarif"]
    whole, streamed = f"sqlite:///{tmp_path / 'whole.db'}", f"sqlite:///{tmp_path / 's.db'}"
    taken = _taken(monkeypatch)
    assert _one_log_at_a_time(streamed, logs, STREAM) == _one_log_at_a_time(whole, logs, None)
    assert taken == {**expected, **_readers(reader, 2)}
    assert diff_statuses(streamed, "3.3.0", "3.6.9") == diff_statuses(whole, "3.3.0", "3.6.9")
    moved = [(r["status"], r["path"], r["link"])
             for r in diff_json(streamed, "3.3.0", "3.6.9")["issues"]
             if r["from"] and r["from"]["file"] == "bandit.sarif" and r["from"]["result"] == was]
    assert moved == [("persisting", target, "tool-fingerprint")]


def test_the_spool_links_a_fingerprint_that_moved_to_another_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the ruff log beside it the bandit log goes through the spool, files in path
    order; the moved finding links as in the whole-file ingest, either way round."""
    monkeypatch.setattr(stream_module, "CHUNK_FINDINGS", 40)
    for way, (source, target) in enumerate((("test/test_device.py", "test/test_payload.py"),
                                            ("test/test_payload.py", "test/test_device.py"))):
        folder = tmp_path / f"logs{way}"
        was = moved_between_files(folder, source, target)
        dbs = {mode: f"sqlite:///{tmp_path / f'{mode}{way}.db'}" for mode in ("w", "s")}
        for mode, env in (("w", None), ("s", STREAM)):
            for release in ("3.3.0", "3.6.9"):
                res = invoke("ingest", str(folder / release / "bandit.sarif"),
                             str(REPO / "sample_sarif" / "pymodbus" / release / "ruff.sarif"),
                             "--product", PRODUCT, "--release", release, db=dbs[mode],
                             env=env)
                assert res.exit_code == 0, res.stderr
        assert (diff_statuses(dbs["s"], "3.3.0", "3.6.9")
                == diff_statuses(dbs["w"], "3.3.0", "3.6.9"))
        moved = [(r["status"], r["path"], r["link"])
                 for r in diff_json(dbs["s"], "3.3.0", "3.6.9")["issues"]
                 if r["from"] and r["from"]["file"] == "bandit.sarif"
                 and r["from"]["result"] == was]
        assert moved == [("persisting", target, "tool-fingerprint")]


def test_a_fingerprint_on_results_of_two_runs_links_one_of_them_as_whole_ingest(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One tool's log split in two (two runs of one scan), a ``fingerprints`` value on a
    result of each: not a placeholder (each run has it once), and the issue that carried it
    goes to one finding only, the first, on the spool as in the whole-file ingest."""
    monkeypatch.setattr(stream_module, "CHUNK_FINDINGS", 40)
    real = json.loads((REPO / "sample_sarif" / "pymodbus" / "3.6.9" / "bandit.sarif")
                      .read_text())
    results = real["runs"][0]["results"]
    old = tmp_path / "3.3.0"
    old.mkdir()
    first = json.loads(json.dumps(real))
    first["runs"][0]["results"][0]["fingerprints"] = {"stable/v1": "X"}
    (old / "bandit.sarif").write_text(json.dumps(first))
    new = tmp_path / "3.6.9"
    new.mkdir()
    half = len(results) // 2
    for name, part in (("a.sarif", results[:half]), ("b.sarif", results[half:])):
        doc = json.loads(json.dumps(real))
        doc["runs"][0]["results"] = json.loads(json.dumps(part))
        # The marked result of the second log lies in a file whose chunk comes first.
        doc["runs"][0]["results"][0 if name == "a.sarif" else -1]["fingerprints"] = {
            "stable/v1": "X"}
        (new / name).write_text(json.dumps(doc))
    dbs = {mode: f"sqlite:///{tmp_path / f'{mode}.db'}" for mode in ("w", "s")}
    for mode, env in (("w", None), ("s", STREAM)):
        for folder in (old, new):
            res = invoke("ingest", *[str(p) for p in sorted(folder.glob("*.sarif"))],
                         "--product", PRODUCT, "--release", folder.name, db=dbs[mode], env=env)
            assert res.exit_code == 0, res.stderr
    assert diff_statuses(dbs["s"], "3.3.0", "3.6.9") == diff_statuses(dbs["w"], "3.3.0", "3.6.9")
    by_fingerprint = [r for r in diff_json(dbs["s"], "3.3.0", "3.6.9")["issues"]
                      if r["link"] == "tool-fingerprint"]
    assert [(r["to"]["file"], r["to"]["result"]) for r in by_fingerprint] == [("a.sarif", 0)]


# ---- one pass: a log whose run names its tool before its results --------------------------


def _direct_read(log: Path, one_pass: bool, monkeypatch: pytest.MonkeyPatch
                 ) -> tuple[Any, list[Any], Any, int]:
    """(header, findings, final header, outline reads) of ``stream_direct`` on ``log``."""
    outlines = []
    real = stream_module._open

    def spy(path: Path) -> Any:
        outlines.append(path)
        return real(path)

    monkeypatch.setattr(stream_module, "_open", spy)
    found = stream_direct(log, PathNormaliser(None, ()), NOW, one_pass=one_pass)
    assert found is not None and found.header is not None
    findings = [f for chunk in found.chunks() for f in chunk]
    return found.scan, findings, found.header(), len(outlines)


NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
_ONE_RUN = [p for p in [*sorted((REPO / "sample_sarif" / "pymodbus").glob("*/*.sarif")),
                        *sorted((REPO / "tests" / "data" / "sarif").glob("*.sarif"))]
            if len(json.loads(p.read_text())["runs"]) == 1]


@pytest.mark.parametrize("log", _ONE_RUN, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_one_pass_reads_what_two_passes_read(log: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every real log of one run: read in one pass where its run names the tool (and all
    that its results need) first, else in two; either way what the outline and the results
    pass read."""
    doc = json.loads(log.read_text())
    members = list(doc["runs"][0])
    tool_first = ("results" in members and members.index("tool") < members.index("results")
                  and not any(m in RUN_MEMBERS for m in members[members.index("results"):]))
    try:
        once = _direct_read(log, True, monkeypatch)
    except NotContiguous:
        return  # a log whose files' results lie apart goes to the spool either way
    twice = _direct_read(log, False, monkeypatch)
    assert once[:3] == twice[:3]
    assert twice[3] == 1
    assert once[3] == (0 if tool_first else 1), members


def test_one_pass_waits_for_every_run_member_the_reader_reads() -> None:
    """``RUN_MEMBERS`` are all the members of a run that ``RunReader`` looks at: a log that
    gives any other one after its results is still read in one pass."""
    looked: set[str] = set()

    class Watched(dict):  # type: ignore[type-arg]
        def get(self, key: Any, default: Any = None) -> Any:
            looked.add(key)
            return super().get(key, default)

        def __getitem__(self, key: Any) -> Any:
            looked.add(key)
            return super().__getitem__(key)

        def __contains__(self, key: Any) -> bool:
            looked.add(key)
            return super().__contains__(key)

        def __iter__(self) -> Any:
            looked.add("*every member*")
            return super().__iter__()

    for log in _ONE_RUN:
        run = {k: v for k, v in json.loads(log.read_text())["runs"][0].items()
               if k != "results"}
        # As the streaming paths make it: they say whether the run has results.
        RunReader(Reader(log.name), Watched(run), 0, PathNormaliser(None, ()), NOW,
                  results_given=True).finish()
    assert looked <= RUN_MEMBERS, looked - RUN_MEMBERS
    assert {"tool", "invocations", "artifacts", "originalUriBaseIds"} <= looked


def _bandit(tmp_path: Path, change: Any) -> Path:
    doc = json.loads((REPO / "sample_sarif" / "pymodbus" / "3.9.2" / "bandit.sarif").read_text())
    doc = change(doc) or doc
    log = tmp_path / "logs" / "bandit.sarif"
    log.parent.mkdir(exist_ok=True)
    log.write_text(json.dumps(doc))
    return log


def _invocations_after_results(doc: dict[str, Any]) -> None:
    run = doc["runs"][0]
    invocations = run.pop("invocations")
    # An error the scanner met: the run's health, which the results' file counts depend on.
    invocations[0].setdefault("toolExecutionNotifications", []).append({
        "level": "error", "message": {"text": "syntax error while parsing AST from file"},
        "locations": [{"physicalLocation": {"artifactLocation": {
            "uri": run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
            ["uri"]}}}]})
    run["invocations"] = invocations  # now after the results


def test_a_member_the_results_need_after_them_reads_the_log_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reader: str) -> None:
    """The tool first, but the invocations (the run's health) after the results: the one
    pass learns it at the end, the store drops what it stored, and the two passes store
    what the whole-file ingest stores."""
    taken = _taken(monkeypatch)
    log = _bandit(tmp_path, _invocations_after_results)
    whole, streamed = f"sqlite:///{tmp_path / 'whole.db'}", f"sqlite:///{tmp_path / 's.db'}"
    assert _one_log_at_a_time(streamed, [log], STREAM) == _one_log_at_a_time(whole, [log], None)
    assert taken == {"read again": 1, "direct": 1, **_readers(reader, 2)}
    assert row_counts(streamed) == row_counts(whole)
    assert diff_statuses(streamed, "logs", "logs") == diff_statuses(whole, "logs", "logs")


def test_a_second_run_after_the_first_one_s_results_goes_to_the_spool(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reader: str) -> None:
    taken = _taken(monkeypatch)
    log = _bandit(tmp_path, lambda doc: doc["runs"].append(json.loads(json.dumps(
        doc["runs"][0]))))
    whole, streamed = f"sqlite:///{tmp_path / 'whole.db'}", f"sqlite:///{tmp_path / 's.db'}"
    assert _one_log_at_a_time(streamed, [log], STREAM) == _one_log_at_a_time(whole, [log], None)
    assert taken == {"read again": 1, "spooled": 1, **_readers(reader, 2)}
    assert row_counts(streamed) == row_counts(whole)


def _bad_result(doc: dict[str, Any]) -> None:
    results = doc["runs"][0]["results"]
    results[len(results) // 2]["locations"][0] = "here"


def _bad_result_and_version_after_runs(doc: dict[str, Any]) -> dict[str, Any]:
    _bad_result(doc)
    return {"runs": doc["runs"], "version": "2.0.0"}


@pytest.mark.parametrize("change", [_bad_result, _bad_result_and_version_after_runs],
                         ids=["a bad result", "a bad result and a wrong version after it"])
def test_bad_input_read_in_one_pass_is_reported_as_two_passes_report_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reader: str, change: Any) -> None:
    """Bad input met in the one pass sends the log to the two passes, which report the
    problem they always report first (the version before a result), as the whole-file
    reading does; nothing stays stored."""
    log = _bandit(tmp_path, change)
    db = f"sqlite:///{tmp_path / 's.db'}"
    _one_log_at_a_time(db, [REPO / "sample_sarif" / "pymodbus" / "3.6.9" / "bandit.sarif"],
                       STREAM)
    before = row_counts(db)
    errors = []
    for env in (STREAM, None):
        res = invoke("ingest", str(log), "--product", PRODUCT, "--release", "3.9.2", db=db,
                     env=env)
        assert res.exit_code == 3, res.stderr
        errors.append(res.stderr.splitlines()[0])
    assert errors[0] == errors[1]
    assert errors[0].startswith("error: bandit.sarif: ")
    assert ("version" in errors[0]) == (change is _bad_result_and_version_after_runs)
    assert row_counts(db) == before


def test_a_log_read_in_one_pass_is_let_go_when_its_chunks_are_not_taken(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same log again (nothing to store) or an unknown ``--after`` stops ingest before
    it reads a chunk: the log the one pass opened is closed all the same."""
    monkeypatch.setenv("TRIAGE_READER_PROCESS", "0")
    log = REPO / "sample_sarif" / "pymodbus" / "3.3.0" / "bandit.sarif"
    db = f"sqlite:///{tmp_path / 't.db'}"

    def open_logs() -> list[str]:
        fds = Path("/proc/self/fd")
        return [str(p) for p in fds.iterdir() if p.is_symlink()
                and Path(os.readlink(p)).name == "bandit.sarif"] if fds.is_dir() else []

    for release, extra, code in (("r", (), 0), ("r", (), 0), ("r2", ("--after", "nope"), 3)):
        res = invoke("ingest", str(log), "--product", PRODUCT, "--release", release, *extra,
                     db=db, env=STREAM)
        assert res.exit_code == code, res.stderr
        assert open_logs() == []
