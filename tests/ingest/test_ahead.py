"""A large log read in a reader process: the same errors, no process left behind.

What the reader process stores is compared with the whole-file path in
``tests/store/test_streaming.py``; here, what happens when something goes wrong on either
side of the pipe. The logs are real pymodbus logs; ``TRIAGE_STREAM_BYTES=0`` sends each
through the direct path.
"""

from __future__ import annotations

import errno
import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from triage_testkit import PRODUCT, REPO, SAMPLE, diff_json, invoke, row_counts

from triage.errors import ConfigError
from triage.ingest import ahead, stream
from triage.store.sql import SqlStore

STREAM = {"TRIAGE_STREAM_BYTES": "0"}
LOG = SAMPLE / "3.3.0" / "bandit.sarif"  # 824 results


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Many chunks cross the pipe (the reader is forked: it sees the change)."""
    monkeypatch.setattr(stream, "CHUNK_FINDINGS", 50)


@pytest.fixture
def stored(tmp_path: Path) -> str:
    """A database holding one release, ingested whole."""
    db = f"sqlite:///{tmp_path / 't.db'}"
    res = invoke("ingest", str(SAMPLE / "3.0.0" / "bandit.sarif"), "--product", PRODUCT,
                 "--release", "3.0.0", db=db)
    assert res.exit_code == 0, res.stderr
    return db


def _ingest(db: str, log: Path, reader: str, *extra: str) -> tuple[int, str]:
    res = invoke(*extra, "ingest", str(log), "--product", PRODUCT, "--release", "3.3.0", db=db,
                 env={**STREAM, "TRIAGE_READER_PROCESS": reader})
    assert not multiprocessing.active_children()  # the reader never outlives the command
    return res.exit_code, res.stderr


def test_enabled_with_two_cores_unless_told_otherwise(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    monkeypatch.delenv("TRIAGE_READER_PROCESS", raising=False)
    monkeypatch.setattr(ahead, "CPU_MAX", str(tmp_path / "no cgroup"))
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    assert ahead.enabled()
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    assert not ahead.enabled()
    monkeypatch.setenv("TRIAGE_READER_PROCESS", "1")
    assert ahead.enabled()
    monkeypatch.setenv("TRIAGE_READER_PROCESS", "0")
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    assert not ahead.enabled()


def test_a_cgroup_quota_of_one_cpu_keeps_one_process(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    """A container given one CPU on a larger machine (``docker --cpus=1``)."""
    monkeypatch.delenv("TRIAGE_READER_PROCESS", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    quota = tmp_path / "cpu.max"
    monkeypatch.setattr(ahead, "CPU_MAX", str(quota))
    for text, cpus, used in (("max 100000\n", 4, True), ("100000 100000\n", 1, False),
                             ("250000 100000\n", 2.5, True)):
        quota.write_text(text)
        assert (ahead.cpus(), ahead.enabled()) == (cpus, used)


def test_not_with_another_thread_running(monkeypatch: pytest.MonkeyPatch) -> None:
    """A forked process may inherit a lock another thread holds: no fork then."""
    monkeypatch.delenv("TRIAGE_READER_PROCESS", raising=False)
    monkeypatch.setattr(ahead, "cpus", lambda: 2)
    assert ahead.enabled()
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not ahead.enabled()
    finally:
        stop.set()
        other.join()


def test_no_process_to_be_had_reads_in_this_one(
        stored: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """fork fails (memory, process limits): the log is read here and stored the same."""
    alone = f"sqlite:///{tmp_path / 'alone.db'}"
    shutil.copy(stored.removeprefix("sqlite:///"), alone.removeprefix("sqlite:///"))
    assert _ingest(alone, LOG, "0")[0] == 0

    def no_fork(self: object) -> None:
        raise OSError(errno.EAGAIN, "Resource temporarily unavailable")

    monkeypatch.setattr(multiprocessing.get_context("fork").Process, "start", no_fork)
    code, stderr = _ingest(stored, LOG, "1")
    assert code == 0, stderr
    assert row_counts(stored) == row_counts(alone)
    assert diff_json(stored, "3.0.0", "3.3.0") == diff_json(alone, "3.0.0", "3.3.0")


def _broken(tmp_path: Path, how: str) -> Path:
    """The real log with one fault: a result that is no object, or the file cut short."""
    text = LOG.read_text(encoding="utf-8")
    log = tmp_path / how / LOG.name
    log.parent.mkdir()
    if how == "not an object":
        doc = json.loads(text)
        doc["runs"][0]["results"][700] = "oops"  # after chunks went to the store
        text = json.dumps(doc)
    else:
        text = text[: len(text) * 2 // 3]
    log.write_text(text, encoding="utf-8")
    return log


@pytest.mark.parametrize("how", ["not an object", "truncated"])
def test_bad_input_read_in_the_reader_process_is_reported_as_in_one_process(
        stored: str, tmp_path: Path, how: str) -> None:
    """One line naming the file and the place, exit 3, and nothing stored."""
    log = _broken(tmp_path, how)
    before = row_counts(stored)
    outcomes = {reader: _ingest(stored, log, reader) for reader in ("1", "0")}
    assert outcomes["1"] == outcomes["0"]
    code, stderr = outcomes["1"]
    assert code == 3
    first = stderr.splitlines()[0]
    assert first.startswith("error: bandit.sarif: ")
    assert ("results[700]: expected an object, got a string" in first if how == "not an object"
            else "not valid JSON" in first)
    assert "Traceback" not in stderr
    assert row_counts(stored) == before


def test_a_reader_that_fails_is_an_internal_error_with_its_traceback(
        stored: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug in the reader process: exit 70, the reader's traceback with --debug, no rows."""

    def fails(chunk: object) -> object:
        raise ValueError("a bug in the reader")

    monkeypatch.setattr(SqlStore, "rows", staticmethod(fails))
    before = row_counts(stored)
    code, stderr = _ingest(stored, LOG, "1")
    assert code == 70
    assert stderr.splitlines()[0] == ("internal error: RuntimeError: bandit.sarif: the reader "
                                      "process failed: ValueError: a bug in the reader")
    assert "Traceback" not in stderr
    code, stderr = _ingest(stored, LOG, "1", "--debug")
    assert code == 70
    assert "the reader process's traceback:" in stderr and "in fails" in stderr
    assert row_counts(stored) == before


def test_a_reader_killed_mid_way_is_an_internal_error(
        stored: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reader process dies without a word (the OOM killer, say): exit 70, no rows."""
    rows = SqlStore.rows
    taken = []

    def dies(chunk: object) -> object:
        taken.append(chunk)
        if len(taken) == 2:
            os.kill(os.getpid(), signal.SIGKILL)
        return rows(chunk)  # type: ignore[arg-type]

    monkeypatch.setattr(SqlStore, "rows", staticmethod(dies))
    before = row_counts(stored)
    code, stderr = _ingest(stored, LOG, "1")
    assert code == 70
    assert "the reader process ended without a word (exit code -9)" in stderr
    assert row_counts(stored) == before


@pytest.mark.parametrize("reader", ["1", "0"])
def test_other_errors_keep_their_exit_code(stored: str, monkeypatch: pytest.MonkeyPatch,
                                           reader: str) -> None:
    """A triage error other than bad input, met while reading: its own exit code (4 here)."""

    def fails(chunk: object) -> object:
        raise ConfigError("rules.yaml: levels: no such level", hint="fix the rules")

    monkeypatch.setattr(SqlStore, "rows", staticmethod(fails))
    code, stderr = _ingest(stored, LOG, reader)
    assert (code, stderr.splitlines()) == (
        4, ["error: rules.yaml: levels: no such level", "hint: fix the rules"])


def test_the_same_log_again_stops_the_reader(stored: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The store finds the log already stored and takes no chunk: the reader, still at
    work, is stopped rather than left to finish."""
    assert _ingest(stored, LOG, "1")[0] == 0
    rows = SqlStore.rows

    def slow(chunk: object) -> object:
        time.sleep(0.5)  # every chunk: 17 of them would take 8 seconds
        return rows(chunk)  # type: ignore[arg-type]

    monkeypatch.setattr(SqlStore, "rows", staticmethod(slow))
    ends: list[int | None] = []
    close = ahead._Link.close

    def closing(link: ahead._Link) -> None:
        close(link)
        ends.append(link.proc.exitcode)

    monkeypatch.setattr(ahead._Link, "close", closing)
    code, stderr = _ingest(stored, LOG, "1")
    assert code == 0 and "already stored" in stderr
    assert ends == [-signal.SIGTERM]


_SLOW_READER = """
import sys, time
from triage.errors import ConfigError
from triage.ingest import ahead, stream
from triage.store.sql import SqlStore
from triage.cli import cli
rows = SqlStore.rows
def slow(chunk):
    time.sleep(0.5)
    return rows(chunk)
SqlStore.rows = staticmethod(slow)
ahead.CHUNK_FINDINGS = 2
cli.main(sys.argv[1:], prog_name="triage")
"""


def _children(pid: int) -> list[int]:
    return [int(p) for p in
            Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux's /proc")
def test_killing_the_storing_process_ends_the_reader(stored: str) -> None:
    """SIGKILL on ingest: its reader process stops too, and the database is as it was."""
    before = row_counts(stored)
    proc = subprocess.Popen(
        [sys.executable, "-c", _SLOW_READER, "--db", stored, "-q", "ingest", str(LOG),
         "--product", PRODUCT, "--release", "3.3.0"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, **STREAM, "TRIAGE_READER_PROCESS": "1"})
    readers: list[int] = []
    deadline = time.monotonic() + 30
    while not readers and time.monotonic() < deadline and proc.poll() is None:
        readers = _children(proc.pid)
        time.sleep(0.02)
    assert readers, "the reader process never started"
    time.sleep(0.3)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    # Its next message finds no one to read it (it sends one every half second; all of
    # them would take fifteen).
    deadline = time.monotonic() + 5
    while any(Path(f"/proc/{pid}").exists() and _state(pid) != "Z" for pid in readers):
        assert time.monotonic() < deadline, "the reader outlived the killed ingest"
        time.sleep(0.05)
    assert row_counts(stored) == before


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "Z"
