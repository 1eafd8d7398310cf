"""The line-map identity layer: with both source trees, links follow a line diff."""

from __future__ import annotations

import json
from pathlib import Path

from triage_testkit import SAMPLE, diff_json, invoke

from triage.store.identity import Candidate, line_map, link


def _hashes(lines: list[str]) -> str:
    import hashlib

    return "".join(hashlib.blake2b(" ".join(x.split()).encode(), digest_size=4).hexdigest()
                   for x in lines)


def test_line_map_maps_unchanged_lines_only() -> None:
    old = ["a", "b", "c", "d"]
    new = ["x", "a", "b", "C!", "d"]
    assert line_map(_hashes(old), _hashes(new)) == {1: 2, 2: 3, 4: 5}


def test_line_map_layer_beats_a_misleading_message_match() -> None:
    """Two equal findings swap nothing: each follows its own line through the diff."""
    def cand(key: int, line: int) -> Candidate:
        return Candidate(key, "S101", "t.py", line, f"fp{key}", "msg:assert", "assert")

    old = [cand(10, 5), cand(11, 9)]
    new = [cand(0, 9), cand(1, 30)]  # 20 lines inserted between the two
    maps = {"t.py": {5: 9, 9: 30}}
    links = link(new, old, {}, maps)
    assert {k: (v.issue, v.layer) for k, v in links.items()} == {
        0: (10, "line-map"), 1: (11, "line-map")}


def test_ingest_with_source_roots_links_through_the_diff(tmp_path: Path, db_url: str) -> None:
    """Real ruff output (no snippets); the second tree inserts lines above every finding."""
    log = json.loads((SAMPLE / "3.9.2" / "ruff.sarif").read_text())
    files: dict[str, int] = {}
    for r in log["runs"][0]["results"]:
        phys = r["locations"][0]["physicalLocation"]
        path = phys["artifactLocation"]["uri"]
        files[path] = max(files.get(path, 0), phys["region"].get("endLine", 0))
    insert = 7
    for tree, extra in (("a", 0), ("b", insert)):
        for path, last in files.items():
            target = tmp_path / tree / path
            target.parent.mkdir(parents=True, exist_ok=True)
            lines = [f"# added {i}" for i in range(extra)]
            lines += [f"line {n} of {path}" for n in range(1, last + 20)]
            target.write_text("\n".join(lines) + "\n")
    shifted = json.loads(json.dumps(log))
    for r in shifted["runs"][0]["results"]:
        region = r["locations"][0]["physicalLocation"]["region"]
        region["startLine"] += insert
        region["endLine"] = region.get("endLine", region["startLine"] - insert) + insert
    (tmp_path / "b.sarif").write_text(json.dumps(shifted))
    (tmp_path / "a.sarif").write_text(json.dumps(log))
    for name in ("a", "b"):
        res = invoke("ingest", tmp_path / f"{name}.sarif", "--product", "p", "--release", name,
                     "--source-root", tmp_path / name, db=db_url)
        assert res.exit_code == 0, res.stderr
    issues = diff_json(db_url, "a", "b", product="p")["issues"]
    assert issues and {(e["status"], e["link"]) for e in issues} == {("persisting", "line-map")}
    assert all(e["from"]["result"] == e["to"]["result"] for e in issues)
