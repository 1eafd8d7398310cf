"""The installed ``triage`` console script, run from a directory that is not the repository.

Proves the entry point and the packaged ``rules/`` data work from anywhere (DESIGN.md §2).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from triage_testkit import PRODUCT, REPO, THREAT_MODEL, release_logs

import triage
from triage.model import SecurityLevel
from triage.scoring import load_rules

SCRIPT = Path(sys.executable).parent / "triage"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TRIAGE_DB", "PYTHONPATH")}
    env["NO_COLOR"] = "1"
    return env


def _run(cwd: Path, *args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *map(str, args)], cwd=cwd, env=_env(),
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A working directory outside the repository."""
    cwd = tmp_path / "work"
    cwd.mkdir()
    assert REPO not in cwd.parents
    return cwd


def test_the_script_is_installed() -> None:
    assert SCRIPT.is_file() and os.access(SCRIPT, os.X_OK), SCRIPT


def test_version(elsewhere: Path) -> None:
    proc = _run(elsewhere, "--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"triage, version {triage.__version__}"


def test_ingest_into_the_default_database_in_cwd(elsewhere: Path) -> None:
    proc = _run(elsewhere, "ingest", *release_logs("3.16.1"), "--product", PRODUCT,
                "--release", "3.16.1", "--threat-model", THREAT_MODEL)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert "must-fix at SL-2" in proc.stderr
    assert (elsewhere / "triage.db").is_file()
    trend = _run(elsewhere, "trend", "--product", PRODUCT, "--format", "json")
    assert trend.returncode == 0, trend.stderr
    doc = json.loads(trend.stdout)
    assert [p["release"] for p in doc["releases"]] == ["3.16.1"]
    # Scoring used the packaged rules: the SL policy wording comes from rules/policy.yaml.
    report = _run(elsewhere, "report", "--product", PRODUCT, "--format", "json")
    assert report.returncode == 0, report.stderr
    wording = load_rules().threshold(SecurityLevel.SL2)[1]
    assert wording and json.loads(report.stdout)["policy"] == wording


def test_bad_input_exits_3(elsewhere: Path) -> None:
    (elsewhere / "empty.sarif").write_text("", encoding="utf-8")
    proc = _run(elsewhere, "ingest", "empty.sarif", "--product", PRODUCT, "--release", "1")
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.splitlines()[0].startswith("error: empty.sarif: ")
    assert "Traceback" not in proc.stderr


def test_a_closed_stdout_is_not_an_internal_error(corpus_db: str, elsewhere: Path) -> None:
    """``triage gate | head -1``: the reader goes away; no traceback, no exit 70 or 1."""
    proc = subprocess.Popen(
        [str(SCRIPT), "--db", corpus_db, "gate", "--product", PRODUCT, "--release", "3.3.0",
         "--sl", "4"],
        cwd=elsewhere, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.close()  # more than a pipe buffer of must-fix lines will follow
    _, err = proc.communicate(timeout=120)
    stderr = err.decode()
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    assert proc.returncode == 141, stderr
