"""Ctrl-C at any moment of ``triage ingest``: exit 130 and "interrupted" with nothing stored,
or, when the ingest had already committed, exit 0 with its summary or 130 saying that its
changes were stored; never a traceback, never exit 1, and the database holds either all of
the release or none of it.

The console script runs as a user runs it, in its own process, on a real bandit log whose
results are repeated (to about 20 MB) so that the ingest lasts long enough to be interrupted
while it loads, reads, stores and closes.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from triage_testkit import PRODUCT, SAMPLE, row_counts

SCRIPT = Path(sys.executable).parent / "triage"
DELAYS = (0.0, 0.04, 0.14, 0.4, 0.75, 1.15, 1.75)
"""Seconds after the CLI's modules begin to load: while they load, then while the log is
read and stored. Not sooner: until then the interpreter is starting, before any of triage's
code runs, and answers an interrupt itself."""


@pytest.fixture(scope="module")
def big_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bandit log of pymodbus 3.3.0 with its results repeated 25 times (20,600)."""
    doc = json.loads((SAMPLE / "3.3.0" / "bandit.sarif").read_text(encoding="utf-8"))
    results = doc["runs"][0]["results"]
    copies = []
    for n in range(25):
        for r in results:
            copy = json.loads(json.dumps(r))
            copy["locations"][0]["physicalLocation"]["region"]["startLine"] += 10_000 * n
            copies.append(copy)
    doc["runs"][0]["results"] = copies
    log = tmp_path_factory.mktemp("big") / "bandit.sarif"
    log.write_text(json.dumps(doc), encoding="utf-8")
    return log


def _stored_rows(db: Path) -> int:
    """Releases and occurrences in a store that may be missing or half migrated."""
    if not db.exists():
        return 0
    with contextlib.closing(sqlite3.connect(db)) as conn:
        tables = {name for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        return sum(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608
                   for t in ("release", "occurrence") if t in tables)


def _wait_for_the_cli_to_load(pid: int) -> None:
    """Until the process maps its first extension module (from lib-dynload or packages).

    Its entry point (``triage.__main__``) loads none: it answers Ctrl-C, then imports the
    CLI, whose imports load the first ones. Seen from outside, so a busy machine that starts
    the interpreter slowly moves the interrupts with it.
    """
    maps = Path(f"/proc/{pid}/maps")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            mapped = maps.read_text(encoding="utf-8", errors="replace")
            if "/lib-dynload/" in mapped or "-packages/" in mapped:
                return
        except OSError:  # the process has ended, or /proc is not there
            return
        time.sleep(0.002)


def _ingest(db: Path, log: Path, env: dict[str, str], delay: float | None
            ) -> tuple[int, str]:
    proc = subprocess.Popen(
        [str(SCRIPT), "--db", f"sqlite:///{db}", "ingest", str(log), "--product", PRODUCT,
         "--release", "big"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "NO_COLOR": "1", **env})
    if delay is not None:
        _wait_for_the_cli_to_load(proc.pid)
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


@pytest.mark.parametrize("env", [{}, {"TRIAGE_STREAM_BYTES": "0"}],
                         ids=["whole file", "streamed"])
def test_ctrl_c_at_any_moment_stores_all_or_nothing_and_says_so(
        tmp_path: Path, big_log: Path, env: dict[str, str]) -> None:
    done = tmp_path / "done.db"
    code, err = _ingest(done, big_log, env, None)
    assert code == 0, err
    stored = row_counts(f"sqlite:///{done}")
    outcomes = []
    for delay in DELAYS:
        db = tmp_path / f"at-{delay}.db"
        code, err = _ingest(db, big_log, env, delay)
        assert "Traceback" not in err and "Aborted" not in err and "Exception" not in err, (
            delay, err)
        assert code in (0, 130), (delay, code, err)
        if code == 130 and err.rstrip().endswith("after the command's changes were stored"):
            # The interrupt came after the commit, while the summary was being made.
            assert row_counts(f"sqlite:///{db}") == stored, delay
        elif code == 130:
            assert err.rstrip().endswith("interrupted"), (delay, err)
            # The schema may be there, whole or up to a migration step; no release.
            assert _stored_rows(db) == 0, delay
        else:
            assert row_counts(f"sqlite:///{db}") == stored, delay
        outcomes.append(code)
    # The first delays fall while the modules load, before anything is stored.
    assert outcomes[0] == 130


def _run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "NO_COLOR": "1"}, check=False)


def test_ctrl_c_while_the_arguments_are_parsed_is_answered_before_click_sees_it() -> None:
    # The interrupt lands in click's parsing, before the command's code begins: click would
    # say "Aborted!" and exit 1; the start-up's handler answers it instead.
    done = _run_python(
        "import os, signal, sys\n"
        "import triage.__main__ as entry\n"
        "from triage import cli\n"
        "parse = cli.cli.make_context\n"
        "def interrupted(*a, **k):\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "    return parse(*a, **k)\n"
        "cli.cli.make_context = interrupted\n"
        "sys.argv = ['triage', 'gate', '--help']\n"
        "entry.main()\n")
    assert (done.returncode, done.stderr, done.stdout) == (130, "interrupted\n", "")


def test_ctrl_c_in_a_finaliser_reaches_the_command_once_the_finaliser_is_done() -> None:
    # Python can only report an exception of a __del__ and drop it; the CLI's hook sends
    # the interrupt again, to the code that was running, which answers it.
    done = _run_python(
        "import sys, time\n"
        "from triage import cli\n"
        "cli._AS_COMMAND[0] = 'answered'\n"
        "sys.unraisablehook = cli._unraisable\n"
        "class Closing:\n"
        "    def __del__(self):\n"
        "        raise KeyboardInterrupt\n"
        "try:\n"
        "    Closing()\n"
        "    for _ in range(5000):\n"
        "        time.sleep(0.001)\n"
        "    print('ran on')\n"
        "except KeyboardInterrupt:\n"
        "    print('answered')\n")
    assert (done.returncode, done.stdout, done.stderr) == (0, "answered\n", "")
