"""Ingest benchmark (``make bench``): synthetic evolving releases at 100k and 1M results.

Not a test; nothing here asserts a time. For each size it generates (once, cached) two
releases of a synthetic product whose diff is known (``synthetic_sarif.py``), then runs each
step as its own process and reports its wall time and peak RSS (``wait4``), as ratios to
the floor measured in the same run:

- read: reading the log's bytes;
- floor: ``orjson.loads`` of the log with the garbage collector disabled;
- ijson: streaming the results array with ijson's C backend (what streamed ingest parses);
- ingest 1: ``triage ingest`` of the first release into a fresh SQLite file;
- ingest 2: ``triage ingest`` of the second release on top of it; its summary line is the
  diff against the first (new / fixed / persisting), checked against the generator's truth.

``--profile`` also profiles the second ingest at the smallest size in-process and prints
where the time goes. ``--sizes 100000`` runs one size only.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The repository first: tests/threatmodel/ holds tests, not the package.
sys.path.insert(0, str(HERE.parent))
sys.path.append(str(HERE))

from synthetic_sarif import Truth  # noqa: E402

CACHE_VERSION = "v2"
PY = sys.executable
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


def _run(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, int, str]:
    """(wall seconds, peak RSS bytes, stderr) of one process.

    The peak is the child's own high-water mark from ``wait4`` (Linux counts it from the
    size this small parent had when it forked).
    """
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, **(env or {})})
    assert proc.stderr is not None
    err = proc.stderr.read().decode("utf-8", "replace")
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}:\n{err}")
    return wall, usage.ru_maxrss * 1024, err


def _counts(summary: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r"(new|fixed|persisting|reintroduced) (\d+)",
                                              summary)}


def bench(n: int, root: Path) -> list[str]:
    first, second, truth = _logs(n, root)
    size = first.stat().st_size
    rows = []

    def step(name: str, cmd: list[str], env: dict[str, str] | None = None,
             repeat: int = 1) -> tuple[float, str]:
        # The short steps run three times and keep their fastest run: the floor divides
        # every ratio, and a slow floor would flatter them.
        wall, rss, err = min(_run(cmd, env) for _ in range(repeat))
        rows.append((name, wall, rss))
        return wall, err

    step("read bytes", [PY, "-c", "import sys; open(sys.argv[1], 'rb').read()", str(first)],
         repeat=3)
    floor, _ = step("floor: orjson.loads, GC off", [PY, "-c", (
        "import gc, sys, orjson; gc.disable(); orjson.loads(open(sys.argv[1], 'rb').read())"),
        str(first)], repeat=3)
    step("ijson C backend, results streamed", [PY, "-c", (
        "import sys, ijson\nfor _ in ijson.items(open(sys.argv[1], 'rb'), "
        "'runs.item.results.item', use_float=True): pass"), str(first)], repeat=3)
    with tempfile.TemporaryDirectory(prefix="triage-bench-") as tmp:
        db = f"sqlite:///{tmp}/bench.db"
        base = [TRIAGE, "--db", db, "ingest", "--product", "synthetic"]
        step("triage ingest, release 1", [*base, str(first), "--release", "r1"])
        _, summary = step("triage ingest, release 2 (diff included)",
                          [*base, str(second), "--release", "r2"])
    got = _counts(summary)
    want = {"new": truth.new, "fixed": truth.fixed, "persisting": truth.persisting,
            "reintroduced": 0}
    verdict = "equal to the truth" if got == want else f"DIFFERENT from the truth {want}"
    out = [f"\n### {n:,} results per release ({size / 1e6:.0f} MB log)\n",
           "| step | wall s | x floor | peak RSS MiB |", "|---|---:|---:|---:|"]
    for name, wall, rss in rows:
        out.append(f"| {name} | {wall:.2f} | {wall / floor:.1f} | {rss / 2**20:.0f} |")
    out.append(f"\nDiff of release 2 against release 1: {got} — {verdict}.")
    return out


def profile(n: int, root: Path) -> list[str]:
    """Where the time of a second-release ingest goes, by cumulative time."""
    from triage import cli

    first, second, _ = _logs(n, root)
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
