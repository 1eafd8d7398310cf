"""Atomic and concurrent ingest with real processes: SIGKILL mid-way, four jobs at once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from triage_testkit import (
    PRODUCT,
    THREAT_MODEL,
    release_logs,
    row_counts,
    trend_json,
    without_generated_at,
)

TRIAGE = str(Path(sys.executable).with_name("triage"))


def _cmd(db: str, release: str, product: str = PRODUCT) -> list[str]:
    return [TRIAGE, "-q", "--db", db, "ingest", *release_logs(release), "--product", product,
            "--release", release, "--threat-model", str(THREAT_MODEL)]


def _run(db: str, release: str, product: str = PRODUCT) -> None:
    done = subprocess.run(_cmd(db, release, product), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(("delay", "streamed"), [
    (0.3, False), (0.8, False), (1.5, False), (0.5, True), (1.5, True)])
def test_sigkill_mid_ingest_leaves_the_database_as_it_was(db_url: str, delay: float,
                                                          streamed: bool,
                                                          tmp_path: Path) -> None:
    """Kill an ingest of a large release at several moments: all of it or nothing is stored.

    Also when the logs are streamed (spooled, then stored in chunks in one transaction);
    the spool leaves no file behind.
    """
    _run(db_url, "3.0.0")
    before = row_counts(db_url), without_generated_at(trend_json(db_url))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = {**os.environ, "TRIAGE_STREAM_BYTES": "0", "TMPDIR": str(scratch),
           "SQLITE_TMPDIR": str(scratch)} if streamed else None
    proc = subprocess.Popen(_cmd(db_url, "3.3.0"), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env)
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert not list(scratch.iterdir())
    after = row_counts(db_url), without_generated_at(trend_json(db_url))
    assert proc.returncode in (0, -signal.SIGKILL)
    if [p["release"] for p in after[1]["releases"]] == ["3.0.0"]:
        assert after == before  # killed before its commit: nothing of 3.3.0 is there
    else:  # the commit happened (the kill came later): then all of 3.3.0 is there
        assert after[0]["occurrence"] == before[0]["occurrence"] + sum(
            len(json.loads(Path(p).read_text())["runs"][0]["results"])
            for p in release_logs("3.3.0"))
    _run(db_url, "3.3.0")  # the store still works, and holds the release once
    assert [p["release"] for p in trend_json(db_url)["releases"]] == ["3.0.0", "3.3.0"]


@pytest.mark.parametrize("delay", [0.6, 1.0])
def test_sigkill_mid_direct_ingest_leaves_the_database_as_it_was(db_url: str,
                                                                 delay: float) -> None:
    """One streamed log is stored while it is read; a kill then still leaves all or nothing."""
    _run(db_url, "3.0.0")
    before = row_counts(db_url), without_generated_at(trend_json(db_url))
    (log,) = release_logs("3.3.0", ("bandit",))
    cmd = [TRIAGE, "-q", "--db", db_url, "ingest", log, "--product", PRODUCT, "--release",
           "3.3.0", "--threat-model", str(THREAT_MODEL)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "TRIAGE_STREAM_BYTES": "0"})
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    after = row_counts(db_url), without_generated_at(trend_json(db_url))
    if [p["release"] for p in after[1]["releases"]] == ["3.0.0"]:
        assert after == before
    else:
        assert after[0]["occurrence"] == before[0]["occurrence"] + len(
            json.loads(Path(log).read_text())["runs"][0]["results"])


def _four_jobs_at_once(url: str) -> None:
    """Four CI jobs: three products ingesting 3.9.2 and a fourth repeating one of them."""
    jobs = [("a", "3.9.2"), ("b", "3.9.2"), ("c", "3.9.2"), ("a", "3.9.2")]
    procs = [subprocess.Popen(_cmd(url, r, p), stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True) for p, r in jobs]
    for proc in procs:
        _, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err


def _sequential(url: str) -> None:
    for product in ("a", "b", "c"):
        _run(url, "3.9.2", product)


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres",
                                                            marks=pytest.mark.postgres)])
def test_four_concurrent_ingests_store_what_sequential_ingests_store(
        backend: str, db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if backend == "postgres":
        concurrent = request.getfixturevalue("pg_url")
    else:
        concurrent = db_url
    sequential = f"sqlite:///{tmp_path / 'sequential.db'}"
    _four_jobs_at_once(concurrent)
    _sequential(sequential)
    assert row_counts(concurrent) == row_counts(sequential)
    for product in ("a", "b", "c"):
        assert trend_json(concurrent, product)["releases"] == trend_json(
            sequential, product)["releases"]


def test_reports_read_while_an_ingest_holds_the_write_lock(db_url: str) -> None:
    """SQLite in WAL mode: a report or trend reads while another job writes, never queues."""
    import sqlite3

    _run(db_url, "3.9.2")
    writer = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # what an ingest holds until it commits
        writer.execute("DELETE FROM decision")
        assert [p["release"] for p in trend_json(db_url)["releases"]] == ["3.9.2"]
        assert row_counts(db_url)["occurrence"] > 0
    finally:
        writer.execute("ROLLBACK")
        writer.close()
