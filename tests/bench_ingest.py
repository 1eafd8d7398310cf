"""Ingest benchmark (``make bench``): synthetic evolving releases at 100k and 1M results.

Not a test; nothing here asserts a time. For each size it generates (once, cached) two
releases of a synthetic product whose diff is known (``synthetic_sarif.py``), then runs each
step as its own process and reports its wall time, CPU time and peak RSS (its process
tree's), as ratios to the floor measured in the same run:

- read: reading the log's bytes;
- floor: ``orjson.loads`` of the log with the garbage collector disabled;
- ijson: streaming the results array with ijson's C backend (what streamed ingest parses);
- ingest 1: ``triage ingest`` of the first release into a fresh SQLite file;
- ingest 2, one process: the second release on a copy of the first's database, read and
  stored in one process (``TRIAGE_READER_PROCESS=0``);
- ingest 2: ``triage ingest`` of the second release on top of the first, as a user runs it
  (a reader process reads ahead on two cores); its summary line is the diff against the
  first (new / fixed / persisting), checked against the generator's truth;
- start-up: the interpreter with triage's CLI and store imported, which every ingest
  pays before it reads a byte;
- store floor: the second release's own occurrence rows, written again by plain sqlite3
  into a copy of the first release's database in chunks of 5,000 and one transaction,
  timed in-process (reading them is not timed): what any ingest that stores these rows
  pays in its storing process. With start-up, the least the storing process takes in
  this design before it reads or links a finding;
- ingest --after: the first release's log again, placed between the two with ``--after``,
  so that the second release is linked again to it; what changed at the second release
  (the trend's counts) is checked against the same truth.

``--profile`` also profiles the second ingest at the smallest size in-process, in one
process so that the profile sees all of its work, and prints where the time goes.
``--sizes 100000`` runs one size only.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The repository first: tests/threatmodel/ holds tests, not the package.
sys.path.insert(0, str(HERE.parent))
sys.path.append(str(HERE))

from synthetic_sarif import Truth  # noqa: E402

CACHE_VERSION = "v2"
PY = sys.executable
PAGE = os.sysconf("SC_PAGE_SIZE")
TRIAGE = str(Path(sys.executable).with_name("triage"))


def _logs(n: int, root: Path) -> tuple[Path, Path, Truth]:
    """The two releases of size ``n`` and the diff's truth (generated once, then cached)."""
    folder = root / f"synthetic-{CACHE_VERSION}-{n}"
    first, second, truth_file = (folder / "r1.sarif", folder / "r2.sarif",
                                 folder / "truth.json")
    if not truth_file.is_file():
        t0 = time.perf_counter()
        # In a process of its own: this one stays small, and a child's peak RSS (which
        # starts from the parent's size at fork) measures the child alone.
        subprocess.run([PY, str(HERE / "synthetic_sarif.py"), str(n), str(folder)], check=True)
        print(f"  generated {n:,} results x 2 releases in {time.perf_counter() - t0:.1f} s "
              f"({folder})", flush=True)
    return first, second, Truth(**json.loads(truth_file.read_text()))


def _tree_rss(pid: int) -> int:
    """Resident bytes of a process and its descendants now (0 once it is gone)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            total += int(Path(f"/proc/{p}/statm").read_text().split()[1]) * PAGE
            todo += [int(c) for c in Path(f"/proc/{p}/task/{p}/children").read_text().split()]
        except (OSError, ValueError, IndexError):
            continue
    return total


def _run(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, int, float, str]:
    """(wall seconds, peak RSS bytes, CPU seconds, stderr) of one process and its children.

    The peak is the larger of the process's own high-water mark from ``wait4`` (Linux
    counts it from the size this small parent had when it forked) and the most its process
    tree held at once, sampled every 20 ms: ingest may read in a second process. The CPU
    time is the process's and its children's, user and system.
    """
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, **(env or {})})
    assert proc.stderr is not None
    tree = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            tree[0] = max(tree[0], _tree_rss(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    err = proc.stderr.read().decode("utf-8", "replace")
    done.set()
    sampler.join()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}:\n{err}")
    return (wall, max(usage.ru_maxrss * 1024, tree[0]), usage.ru_utime + usage.ru_stime, err)


_STATUSES = ("new", "fixed", "persisting", "reintroduced")

_STORE_FLOOR = """
import shutil, sqlite3, sys, time
done, before, out = sys.argv[1:]
shutil.copy(before, out)
src = sqlite3.connect(done)
cols = [r[1] for r in src.execute("PRAGMA table_info(occurrence)")][1:]
last = src.execute("SELECT max(scan_id) FROM occurrence").fetchone()[0]
rows = src.execute(f"SELECT {','.join(cols)} FROM occurrence WHERE scan_id = ? ORDER BY id",
                   (last,))
db = sqlite3.connect(out, isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
put = f"INSERT INTO occurrence ({','.join(cols)}) VALUES ({','.join('?' * len(cols))})"
wall = cpu = 0.0
count = 0
db.execute("BEGIN IMMEDIATE")
while batch := rows.fetchmany(5000):  # read untimed, as ingest's rows come ready-made
    t0, c0 = time.perf_counter(), time.process_time()
    db.executemany(put, batch)
    wall, cpu = wall + time.perf_counter() - t0, cpu + time.process_time() - c0
    count += len(batch)
t0, c0 = time.perf_counter(), time.process_time()
db.execute("COMMIT")
wall, cpu = wall + time.perf_counter() - t0, cpu + time.process_time() - c0
print(f"store floor: {wall:.4f} {cpu:.4f} {count}", file=sys.stderr)
"""
"""Release 2's occurrence rows written again by plain sqlite3, timed in-process.

It prints ``store floor: WALL CPU ROWS`` on stderr. Foreign keys stay off (the store turns
them on): the rows refer to release 2's scan and new issues, which the copy of release 1's
database lacks; their checks cost the store a few per cent more, so this stays a floor.
"""


def _counts(summary: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r"(new|fixed|persisting|reintroduced) (\d+)",
                                              summary)}


def bench(n: int, root: Path) -> list[str]:
    first, second, truth = _logs(n, root)
    size = first.stat().st_size
    rows = []

    def step(name: str, cmd: list[str], env: dict[str, str] | None = None,
             repeat: int = 1, setup: Callable[[], object] = lambda: None) -> tuple[float, str]:
        # The short steps run three times and keep their fastest run: the floor divides
        # every ratio, and a slow floor would flatter them. ``setup`` runs before each run.
        runs = []
        for _ in range(repeat):
            setup()
            runs.append(_run(cmd, env))
        wall, rss, cpu, err = min(runs)
        rows.append((name, wall, rss, cpu))
        return wall, err

    step("read bytes", [PY, "-c", "import sys; open(sys.argv[1], 'rb').read()", str(first)],
         repeat=3)
    floor, _ = step("floor: orjson.loads, GC off", [PY, "-c", (
        "import gc, sys, orjson; gc.disable(); orjson.loads(open(sys.argv[1], 'rb').read())"),
        str(first)], repeat=3)
    step("ijson C backend, results streamed", [PY, "-c", (
        "import sys, ijson\nfor _ in ijson.items(open(sys.argv[1], 'rb'), "
        "'runs.item.results.item', use_float=True): pass"), str(first)], repeat=3)
    # A shared machine's speed drifts from run to run; at the smaller size every ingest
    # runs three times too (each on a fresh copy of its database) and keeps its fastest.
    again = 3 if n <= 100_000 else 1
    with tempfile.TemporaryDirectory(prefix="triage-bench-") as tmp:
        db = f"sqlite:///{tmp}/bench.db"
        base = [TRIAGE, "--db", db, "ingest", "--product", "synthetic"]

        def fresh(*names: str) -> None:
            for name in names:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{tmp}/{name}{suffix}").unlink(missing_ok=True)

        step("triage ingest, release 1", [*base, str(first), "--release", "r1"], repeat=again,
             setup=lambda: fresh("bench.db"))
        shutil.copy(f"{tmp}/bench.db", f"{tmp}/r1.db")
        # The same second release in one process (no reader process), on a copy of the
        # database that holds release 1; then the default, two processes on two cores.
        _, alone = step("triage ingest, release 2, one process",
                        [TRIAGE, "--db", f"sqlite:///{tmp}/alone.db", *base[3:], str(second),
                         "--release", "r2"], env={"TRIAGE_READER_PROCESS": "0"}, repeat=again,
                        setup=lambda: (fresh("alone.db"),
                                       shutil.copy(f"{tmp}/r1.db", f"{tmp}/alone.db")))
        _, summary = step("triage ingest, release 2 (diff included)",
                          [*base, str(second), "--release", "r2"], repeat=again,
                          setup=lambda: (fresh("bench.db"),
                                         shutil.copy(f"{tmp}/r1.db", f"{tmp}/bench.db")))
        shutil.copy(f"{tmp}/bench.db", f"{tmp}/r2.db")
        # What any storing process pays before and besides linking (the lower bound of
        # this design): start-up with the store's modules, and release 2's own rows
        # written by plain sqlite3 into a copy of release 1's database, one transaction.
        step("start-up: interpreter, CLI and store imported",
             [PY, "-c", "import triage.cli, triage.store.sql"], repeat=3)
        _, floor_out = step(
            "store floor: release 2's rows inserted by sqlite3, committed",
            [PY, "-c", _STORE_FLOOR, f"{tmp}/r2.db", f"{tmp}/r1.db", f"{tmp}/floor.db"],
            repeat=again, setup=lambda: fresh("floor.db"))
        # Its times as the script measured them, without the rows read beforehand.
        wall, cpu = (float(x) for x in re.findall(r"store floor: (\S+) (\S+)", floor_out)[-1])
        rows[-1] = (rows[-1][0], wall, rows[-1][2], cpu)
        # Release 1's log again, placed between the two (--after): release 2 is linked
        # again to it, and what changed at release 2 must still be the truth.
        after = f"sqlite:///{tmp}/after.db"
        step("triage ingest --after r1 (release 2 relinked)",
             [TRIAGE, "--db", after, *base[3:], str(first), "--release", "r1b", "--after", "r1"],
             repeat=again, setup=lambda: (fresh("after.db"),
                                          shutil.copy(f"{tmp}/r2.db", f"{tmp}/after.db")))
        trend = json.loads(subprocess.run(
            [TRIAGE, "--db", after, "trend", "--product", "synthetic", "--format", "json"],
            check=True, capture_output=True).stdout)
        relinked = {k: v for k, v in trend["releases"][-1].items() if k in _STATUSES}
    got = _counts(summary)
    if _counts(alone) != got:
        raise SystemExit(f"one process and two disagree: {alone!r} vs {summary!r}")
    want = {"new": truth.new, "fixed": truth.fixed, "persisting": truth.persisting,
            "reintroduced": 0}
    verdict = "equal to the truth" if got == want else f"DIFFERENT from the truth {want}"
    relinked_verdict = ("equal to the truth" if relinked == want
                        else f"DIFFERENT from the truth {want}")
    out = [f"\n### {n:,} results per release ({size / 1e6:.0f} MB log)\n",
           "| step | wall s | x floor | CPU s | peak RSS MiB |", "|---|---:|---:|---:|---:|"]
    for name, wall, rss, cpu in rows:
        out.append(f"| {name} | {wall:.2f} | {wall / floor:.1f} | {cpu:.2f} | "
                   f"{rss / 2**20:.0f} |")
    walls = {name: wall for name, wall, _, _ in rows}
    least = (walls["start-up: interpreter, CLI and store imported"]
             + walls["store floor: release 2's rows inserted by sqlite3, committed"])
    out.append(f"\nThe storing process's own least, start-up and the store floor, before "
               f"reading or linking a finding: {least:.2f} s, {least / floor:.1f}x the floor.")
    out.append(f"\nDiff of release 2 against release 1: {got} — {verdict}.")
    out.append(f"\nRelease 2 relinked to release 1's log placed before it: {relinked} — "
               f"{relinked_verdict}.")
    return out


def profile(n: int, root: Path) -> list[str]:
    """Where the time of a second-release ingest goes, by cumulative time."""
    from triage import cli

    first, second, _ = _logs(n, root)
    # One process: a reader process's work would not show in this process's profile.
    os.environ["TRIAGE_READER_PROCESS"] = "0"
    with tempfile.TemporaryDirectory(prefix="triage-bench-") as tmp:
        db = f"sqlite:///{tmp}/bench.db"
        base = ["--db", db, "-q", "ingest", "--product", "synthetic"]
        _invoke(cli, [*base, str(first), "--release", "r1"])
        prof = cProfile.Profile()
        prof.enable()
        _invoke(cli, [*base, str(second), "--release", "r2"])
        prof.disable()
    text = io.StringIO()
    stats = pstats.Stats(prof, stream=text)
    stats.sort_stats("cumulative").print_stats(r"triage/", 30)
    lines = [line for line in text.getvalue().splitlines() if "triage/" in line]
    return [f"\n### Profile of the second ingest at {n:,} (cumulative, triage's own functions)\n",
            "```", *lines[:30], "```"]


def _invoke(cli: object, args: list[str]) -> None:
    try:
        cli.cli.main(args, prog_name="triage", standalone_mode=False)  # type: ignore[attr-defined]
    except SystemExit as e:
        if e.code:
            raise


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "triage-bench"))
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    root = Path(args.cache)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    print(f"## Ingest benchmark ({os.cpu_count()} cores, Python {sys.version.split()[0]})",
          flush=True)
    for n in sizes:
        print("\n".join(bench(n, root)), flush=True)
    if args.profile and sizes:
        print("\n".join(profile(min(sizes), root)), flush=True)


if __name__ == "__main__":
    main()
