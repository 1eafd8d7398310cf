"""Property: a scan linked in chunks of whole files links as the whole scan at once.

A streamed log is linked chunk by chunk, every file's findings together, files in the
order the log lists them; a small log is linked all at once. Whatever files were renamed
(to names that sort before or after the old one), which findings were copied into other
files or back under a name an earlier release had, had their flagged text changed,
came back as an earlier release had them, were deleted or moved down or up within their
file, and wherever in the log the changed file's results stand, every release diff is the
same both ways, every finding has the same issue (named by where it was first seen), and
no scan puts two of its findings on one issue.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from triage_testkit import PRODUCT, SAMPLE, diff_statuses, held_twice, invoke, lineage, location

import triage.ingest.stream as stream_module

BASES = {tool: json.loads((SAMPLE / "2.1.0" / f"{tool}.sarif").read_text())
         for tool in ("bandit", "ruff")}
"""The real scans of pymodbus 2.1.0: bandit's 39 results in 4 files (snippets), ruff's
101 in 31 files (messages only)."""

Blocks = dict[str, list[dict[str, Any]]]
"""A log's results file by file, in log order (each file's results adjacent)."""
Edit = tuple[Any, ...]
PLACES = ("stay", "first", "last")


def _blocks(results: list[dict[str, Any]]) -> Blocks:
    out: Blocks = {}
    for r in results:
        out.setdefault(location(r)[0], []).append(r)
    return out


def _at(result: dict[str, Any], uri: str) -> dict[str, Any]:
    r = json.loads(json.dumps(result))
    r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] = uri
    for fix in r.get("fixes") or ():
        for change in fix.get("artifactChanges") or ():
            change["artifactLocation"]["uri"] = uri
    return r


def _shifted(node: Any, k: int) -> Any:
    """Every region of a result (its flagged lines, context and fixes) ``k`` lines on."""
    if isinstance(node, list):
        return [_shifted(n, k) for n in node]
    if not isinstance(node, dict):
        return node
    out = {key: _shifted(value, k) for key, value in node.items()}
    for key in ("startLine", "endLine"):
        if isinstance(out.get(key), int):
            out[key] += k
    return out


def _place(blocks: Blocks, path: str, where: str) -> Blocks:
    if where == "stay" or path not in blocks:
        return blocks
    moved = blocks.pop(path)
    return {path: moved, **blocks} if where == "first" else {**blocks, path: moved}


def _put(blocks: Blocks, path: str, result: dict[str, Any], where: str) -> Blocks:
    """``result`` added to ``path``'s results (first or last among them), or as a new file."""
    out = dict(blocks)
    found = out.get(path, [])
    out[path] = [result, *found] if where == "first" else [*found, result]
    return out


def apply(blocks: Blocks, edit: Edit) -> Blocks:
    """One release's change to the previous release's results."""
    kind = edit[0]
    out = {p: list(rs) for p, rs in blocks.items()}
    if kind == "rename":
        _, old, new, where = edit
        out = {(new if p == old else p): [_at(r, new) for r in rs] if p == old else rs
               for p, rs in out.items()}
        return _place(out, new, where)
    if kind in ("copy", "back"):
        _, source, i, target, where = edit
        return _place(_put(out, target, _at(out[source][i], target), where), target, where)
    if kind == "delete":
        _, path, i = edit
        del out[path][i]
        if not out[path]:
            del out[path]
        return out
    if kind == "shift":
        _, path, k, where = edit
        out[path] = [_shifted(r, k) for r in out[path]]
        return _place(out, path, where)
    if kind == "retext":
        _, path, i, suffix = edit
        out[path][i] = _retexted(out[path][i], suffix)
        return out
    if kind == "revive":
        _, path, result, where = edit
        return _place(_put(out, path, json.loads(result), where), path, where)
    raise AssertionError(edit)


def _retexted(result: dict[str, Any], suffix: str) -> dict[str, Any]:
    """The result with ``suffix`` added to its flagged text (else to its message)."""
    r = json.loads(json.dumps(result))
    snippet = r["locations"][0]["physicalLocation"].get("region", {}).get("snippet")
    if snippet and snippet.get("text"):
        snippet["text"] = snippet["text"].rstrip("\n") + suffix + "\n"
    else:
        r["message"]["text"] += suffix
    return r


def _first_line(blocks: Blocks, path: str) -> int:
    return min(location(r)[1] for r in blocks[path])


@st.composite
def histories(draw: st.DrawFn) -> tuple[str, list[list[Edit]]]:
    """A base scan and 2 to 4 further releases, each a few edits of the one before."""
    # Mostly bandit: ruff's results have no flagged text, and a masked message alone never
    # links by content.
    tool = draw(st.sampled_from(("bandit", "bandit", "ruff")))
    blocks = _blocks(BASES[tool]["runs"][0]["results"])
    seen = set(blocks)  # every path an earlier release had
    past = [(p, json.dumps(r, sort_keys=True)) for p, rs in blocks.items() for r in rs]
    releases = []
    for _ in range(draw(st.integers(2, 4))):
        edits: list[Edit] = []
        for _ in range(draw(st.integers(1, 3))):
            paths = sorted(blocks)
            kinds = ["rename", "copy", "shift", "retext", "revive"]
            if len(paths) > 1 or len(blocks[paths[0]]) > 1:
                kinds.append("delete")
            if seen - set(paths):
                kinds.append("back")
            kind = draw(st.sampled_from(kinds))
            path = draw(st.sampled_from(paths))
            where = draw(st.sampled_from(PLACES))
            if kind == "rename":
                new = draw(st.sampled_from(("a/", "zz/", "m/"))) + path
                if new in blocks:
                    continue
                edit: Edit = ("rename", path, new, where)
            elif kind in ("copy", "back"):
                i = draw(st.integers(0, len(blocks[path]) - 1))
                targets = ([p for p in paths if p != path] or paths) if kind == "copy" else (
                    sorted(seen - set(paths)))
                edit = (kind, path, i, draw(st.sampled_from(targets)), where)
            elif kind == "delete":
                edit = ("delete", path, draw(st.integers(0, len(blocks[path]) - 1)))
            elif kind == "retext":
                edit = ("retext", path, draw(st.integers(0, len(blocks[path]) - 1)),
                        draw(st.sampled_from(("  # one", "  # two"))))
            elif kind == "revive":
                now = {json.dumps(r, sort_keys=True) for rs in blocks.values() for r in rs}
                gone = sorted({p for p in past if p[1] not in now})
                if not gone:
                    continue
                path, result = draw(st.sampled_from(gone))
                edit = ("revive", path, result, where)
            else:
                low = 1 - _first_line(blocks, path)
                k = draw(st.integers(max(low, -20), 40).filter(lambda n: n != 0))
                edit = ("shift", path, k, where)
            edits.append(edit)
            blocks = apply(blocks, edit)
        seen |= set(blocks)
        past += [(p, json.dumps(r, sort_keys=True)) for p, rs in blocks.items() for r in rs]
        releases.append(edits)
    return tool, releases


def _logs(folder: Path, tool: str, releases: list[list[Edit]]) -> list[Path]:
    doc = json.loads(json.dumps(BASES[tool]))
    blocks = _blocks(doc["runs"][0]["results"])
    logs = []
    for n, edits in enumerate([[], *releases]):
        for edit in edits:
            blocks = apply(blocks, edit)
        doc["runs"][0]["results"] = [r for rs in blocks.values() for r in rs]
        logs.append(folder / f"R{n}.sarif")
        logs[-1].write_text(json.dumps(doc))
    return logs


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(history=histories())
# A file renamed to a name that sorts last; another file's finding copied under the old
# name; then the renamed file's finding copied back there, listed first: the renamed
# file keeps the issue (the previous scan has it there), the copy is new.
@example(history=("bandit", [
    [("rename", "ez_setup.py", "zz/ez_setup.py", "last")],
    [("back", "test/test_client_sync.py", 0, "ez_setup.py", "first")],
    [("copy", "zz/ez_setup.py", 0, "ez_setup.py", "first")]]))
def test_a_scan_linked_file_by_file_links_as_a_whole(
        history: tuple[str, list[list[Edit]]], monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file its own chunk: each release diff is the one of the scans linked whole."""
    monkeypatch.setattr(stream_module, "CHUNK_FINDINGS", 1)
    tool, releases = history
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        logs = _logs(folder, tool, releases)
        dbs = {mode: f"sqlite:///{folder / mode}.db" for mode in ("whole", "streamed")}
        for mode, env in (("whole", None), ("streamed", {"TRIAGE_STREAM_BYTES": "0"})):
            for log in logs:
                res = invoke("ingest", str(log), "--product", PRODUCT, "--release", log.stem,
                             db=dbs[mode], env=env)
                assert res.exit_code == 0, (mode, log.stem, res.stderr)
        for mode, db in dbs.items():
            assert held_twice(db) == [], mode
        assert lineage(dbs["streamed"]) == lineage(dbs["whole"])
        for old, new in zip(logs, logs[1:], strict=False):
            whole = diff_statuses(dbs["whole"], old.stem, new.stem)
            streamed = diff_statuses(dbs["streamed"], old.stem, new.stem)
            assert streamed == whole, (
                old.stem, new.stem,
                {"whole only": [r for r in whole if r not in streamed],
                 "streamed only": [r for r in streamed if r not in whole]})
