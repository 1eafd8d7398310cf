"""Benchmarks (``make bench``): speed reported as ratios against a floor measured in the same run.

Not part of ``make test``; nothing here asserts a wall-clock time.

1. SARIF ingest parse: ``read_sarif`` on a synthetic bandit-shaped log of N results, against
   the floor ``json.loads`` of the same bytes.
2. Path join: 100k findings over 10k distinct paths and 200 components, against the floor of
   one dict lookup per finding.
3. Full ingest into SQLite of one real pymodbus release (3 logs), against reading them.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import threatmodel  # noqa: E402
from triage import pipeline  # noqa: E402
from triage.ingest.sarif import read_sarif  # noqa: E402
from triage.scoring import load_rules  # noqa: E402
from triage.store import open_store  # noqa: E402


def _timed(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def synthetic_log(n: int, files: int = 500) -> dict:
    results = []
    for i in range(n):
        results.append({
            "ruleId": f"B{100 + i % 40}", "ruleIndex": i % 40, "level": "note",
            "message": {"text": f"synthetic finding {i}"},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": f"src/mod{i % files}/file{i % 97}.py"},
                "region": {"startLine": 1 + i % 900, "snippet": {"text": f"x = {i % 50}\n"}},
            }}],
            "properties": {"issue_severity": "LOW", "issue_confidence": "HIGH"},
        })
    rules = [{"id": f"B{100 + k}", "name": "rule", "properties": {
        "tags": ["security", f"external/cwe/cwe-{k + 20}"]}} for k in range(40)]
    return {"version": "2.1.0", "runs": [{"tool": {"driver": {
        "name": "Bandit", "version": "1.9.4", "rules": rules}}, "results": results}]}


def bench_parse(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.sarif"
        raw = json.dumps(synthetic_log(n)).encode()
        path.write_bytes(raw)
        floor = _timed(lambda: json.loads(raw))
        ours = _timed(lambda: read_sarif([path]))
        tracemalloc.start()
        read_sarif([path])
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"parse   {n:>7} results  {len(raw) / 1e6:6.1f} MB  floor json.loads {floor:.3f}s"
              f"  read_sarif x{ours / floor:5.1f}  peak memory {peak / len(raw):4.1f}x file size")


def bench_join() -> None:
    comps = {f"c{i}": {"kind": "library", "zone": "z", "paths": [f"src/mod{i}/**"]}
             for i in range(200)}
    model = threatmodel.parse_model(json.dumps({
        "schema_version": 1, "product": {"name": "p", "target_sl": 2},
        "zones": {"z": {"trust": 1}}, "components": comps}), "bench.yaml")
    paths = [f"src/mod{i % 250}/sub/file{i}.py" for i in range(10_000)]
    findings = [paths[i % len(paths)] for i in range(100_000)]
    table = {p: p for p in paths}
    floor = _timed(lambda: [table[p] for p in findings])

    def join() -> None:
        matcher = threatmodel.PathMatcher(model)
        for p in findings:
            matcher.match(p)

    ours = _timed(join, repeat=1)
    print(f"join    100000 findings, 10000 paths, 200 components: {ours:.3f}s"
          f"  (x{ours / floor:.0f} the dict-lookup floor {floor:.4f}s)")


def bench_ingest() -> None:
    logs = sorted((ROOT / "sample_sarif" / "pymodbus" / "3.3.0").glob("*.sarif"))
    floor = _timed(lambda: [json.loads(p.read_bytes()) for p in logs])
    with tempfile.TemporaryDirectory() as tmp:
        ctx = pipeline.Context(open_store(f"{tmp}/b.db"), load_rules())
        tm = ROOT / "sample_sarif" / "pymodbus" / "threatmodel.yaml"
        t0 = time.perf_counter()
        result, _ = pipeline.ingest(ctx, logs, "bench", "3.3.0", threat_model=tm)
        ours = time.perf_counter() - t0
        ctx.store.close()
    n = sum(s.findings for s in result.scans)
    print(f"ingest  pymodbus 3.3.0 ({n} findings, 3 logs) into SQLite: {ours:.3f}s"
          f"  (x{ours / floor:.1f} the json.loads floor {floor:.3f}s)")


if __name__ == "__main__":
    for size in (10_000, 100_000):
        bench_parse(size)
    bench_join()
    bench_ingest()
