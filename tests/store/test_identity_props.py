"""Property: inserting or deleting lines above findings never changes their identities."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from triage_testkit import SAMPLE

from triage.ingest.sarif import read_sarif
from triage.model import Finding
from triage.store.identity import Candidate, link
from triage.textkeys import message_key, text_key

LOGS = {tool: json.loads((SAMPLE / "2.5.3" / f"{tool}.sarif").read_text()) for tool in
        ("bandit", "ruff", "semgrep")}


def _candidates(findings: tuple[Finding, ...]) -> list[Candidate]:
    return [Candidate(key=i, rule_id=f.rule_id, path=f.location.path,
                      line=f.location.start_line or 0, fingerprint=f.fingerprint,
                      text_key=text_key(f), message_key=message_key(f),
                      tool_fingerprints=f.tool_fingerprints, column=f.location.start_column or 0)
            for i, f in enumerate(findings)]


def _shift(doc: dict[str, Any], path: str, at: int, delta: int) -> dict[str, Any]:
    """Lines from ``at`` on move by ``delta`` in ``path`` (an edit above them)."""
    out = copy.deepcopy(doc)
    for result in out["runs"][0]["results"]:
        phys = result["locations"][0]["physicalLocation"]
        if phys["artifactLocation"]["uri"] != path:
            continue
        for key in ("region", "contextRegion"):
            region = phys.get(key)
            if region and region.get("startLine", 0) >= at:
                region["startLine"] += delta
                if "endLine" in region:
                    region["endLine"] += delta
    return out


def _read(tmp: Path, docs: dict[str, dict[str, Any]]) -> dict[str, tuple[Finding, ...]]:
    paths = []
    for tool, doc in docs.items():
        p = tmp / f"{tool}.sarif"
        p.write_text(json.dumps(doc))
        paths.append(p)
    return {s.tool.name: s.findings for s in read_sarif(paths)}


def _spans() -> dict[str, list[tuple[int, int]]]:
    """Per file, the line spans (start, end) of every finding of every tool."""
    out: dict[str, list[tuple[int, int]]] = {}
    for doc in LOGS.values():
        for r in doc["runs"][0]["results"]:
            phys = r["locations"][0]["physicalLocation"]
            for key in ("region", "contextRegion"):
                reg = phys.get(key)
                if reg and "startLine" in reg:
                    out.setdefault(phys["artifactLocation"]["uri"], []).append(
                        (reg["startLine"], reg.get("endLine", reg["startLine"])))
    return {p: sorted(v) for p, v in out.items()}


SPANS = _spans()


@st.composite
def edits(draw: st.DrawFn) -> list[tuple[str, int, int]]:
    """A few edits: (file, first line moved, lines inserted (>0) or deleted (<0)).

    Deleted lines are never flagged lines: only the code above a finding changes.
    """
    out = []
    now = dict(SPANS)  # where the flagged lines are after the edits drawn so far
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(sorted(now)))
        spans = now[path]
        i = draw(st.integers(0, len(spans) - 1))
        start = spans[i][0]
        covered = max((end for s, end in spans if s < start), default=0)
        gap = max(0, start - covered - 1)  # finding-free lines right above it
        delta = draw(st.integers(-gap, 40).filter(lambda d: d != 0)) if gap else draw(
            st.integers(1, 40))
        out.append((path, start, delta))
        # The next edit of this file sees its lines where this one left them.
        now[path] = [(s + delta, e + delta) if s >= start else (s, e) for s, e in spans]
    return out


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(changes=edits())
# Lines inserted between two ruff B007 findings of one message (no flagged text) and the
# S101 below them: the S101's move must not carry the upper B007 onto the lower one's line.
@example(changes=[("test/test_datastore.py", 194, 4)])
def test_line_edits_above_findings_keep_every_identity(tmp_path: Path, changes) -> None:
    before = _read(tmp_path, LOGS)
    docs = LOGS
    for path, at, delta in changes:
        docs = {tool: _shift(doc, path, at, delta) for tool, doc in docs.items()}
    after = _read(tmp_path, docs)
    for tool in LOGS:
        links = link(_candidates(after[tool]), _candidates(before[tool]), {})
        # Each finding keeps its place in the log, so result i must link to result i.
        wrong = {i: links[i].issue if i in links else None
                 for i in range(len(after[tool])) if i not in links or links[i].issue != i}
        assert not wrong, f"{tool}: {len(wrong)} findings changed identity after {changes}"


# ---- one principle per layer, on small hand-made cases -------------------------------------


def _c(key: int, line: int, text: str = "", rule: str = "B101", path: str = "t.py",
       column: int = 9, message: str = "Use of assert detected.") -> Candidate:
    """A finding; without ``text`` it is known by its message only (as ruff's)."""
    return Candidate(key=key, rule_id=rule, path=path, line=line, fingerprint=f"fp{key}",
                     text_key=text or "msg:" + message, message_key=message, column=column)


def _pairs(links: dict[int, Any]) -> dict[int, tuple[int, str]]:
    return {k: (v.issue, v.layer) for k, v in links.items()}


def test_a_finding_moves_with_its_anchored_neighbour() -> None:
    """A copy of two lines above them: each finding stays with the neighbour it moved with."""
    old = [_c(1, 23, "assert d.validate(k)"), _c(2, 24, "assert d.get(k) == [v]")]
    new = [_c(11, 25, "assert d.validate(k)"), _c(12, 26, "assert await d.get(k) == [v]"),
           _c(13, 46, "assert d.validate(k)"), _c(14, 47, "assert d.get(k) == [v]")]
    links = _pairs(link(new, old, {}))
    assert links[14] == (2, "content")
    assert links[13] == (1, "anchor")
    assert 11 not in links


def test_anchors_that_disagree_on_a_run_of_equal_lines_decide_nothing() -> None:
    """Ten equal lines between two anchors; a line inserted right above them and one more
    equal line far below. The nearer anchor above did not move with them: where the anchors
    disagree, the link grows from the side that moved."""
    same = "assert result"
    old = [_c(0, 10, "assert first"), *[_c(1 + i, 20 + i, same) for i in range(10)],
           _c(11, 40, "assert last")]
    new = [_c(100, 10, "assert first"), *[_c(101 + i, 21 + i, same) for i in range(10)],
           _c(111, 41, "assert last"), _c(112, 60, same)]
    links = _pairs(link(new, old, {}))
    assert links == {100: (0, "content"), 111: (11, "content"),
                     **{101 + i: (1 + i, "anchor") for i in range(10)}}


def test_the_same_text_beats_a_nearer_changed_line() -> None:
    """``assert not result`` moved 6 lines down; a changed assert sat 1 line from its new
    place (one more ``assert not result`` elsewhere keeps the content layer out)."""
    old = [_c(1, 686, "assert not result"), _c(2, 691, "assert self.check()"),
           _c(3, 900, "assert not result")]
    new = [_c(10, 600, "assert ready"), _c(11, 692, "assert not result")]
    assert _pairs(link(new, old, {})) == {11: (1, "nearness")}


def test_the_same_column_breaks_a_tie_of_equal_lines() -> None:
    """Two equal lines where one was: the one on the same column is the old one."""
    rule, msg = "is-function-without-parentheses", 'Is "_" a function or an attribute?'
    old = [_c(1, 197, "if self.is_sync:", rule, column=12, message=msg),
           _c(2, 221, "if not self.is_server:", rule, column=20, message=msg)]
    new = [_c(11, 243, "if not self.is_server:", rule, column=16, message=msg),
           _c(12, 247, "if self.is_sync:", rule, column=12, message=msg),
           _c(13, 275, "if not self.is_server:", rule, column=20, message=msg)]
    links = _pairs(link(new, old, {}))
    assert links[12] == (1, "content")
    assert links[13][0] == 2
    assert 11 not in links


def test_findings_known_by_their_message_pair_in_order_where_distances_hold() -> None:
    """ruff B006 (no snippet): five mutable defaults became four, 500 lines higher."""
    msg = "Do not use mutable data structures for argument defaults"
    old = [_c(k, line, rule="B006", column=22, message=msg)
           for k, line in enumerate((1099, 1121, 1149, 1188, 1209))]
    old.insert(0, _c(9, 215, rule="B023", column=57, message="Function does not bind `_`"))
    new = [_c(10 + k, line, rule="B006", column=22, message=msg)
           for k, line in enumerate((605, 632, 667, 689))]
    links = _pairs(link(new, old, {}))
    assert links == {10: (1, "order"), 11: (2, "order"), 12: (3, "order"), 13: (4, "order")}


def test_a_file_moved_to_another_folder_keeps_its_findings() -> None:
    msg = "No explicit `stacklevel` keyword argument found"
    old = [_c(1, 47, rule="B028", path="pkg/async/deprecated/__init__.py", message=msg)]
    new = [_c(11, 47, rule="B028", path="pkg/asynchronous/deprecated/__init__.py", message=msg)]
    assert _pairs(link(new, old, {})) == {11: (1, "rename")}
    # A message alone does not make two differently named files one.
    other = [_c(12, 47, rule="B028", path="pkg/asynchronous/deprecated/shim.py", message=msg)]
    assert link(other, old, {}) == {}


def test_other_scanners_anchors_place_a_finding_known_by_its_message() -> None:
    """A ruff finding without text: bandit's findings show its file moved 60 lines down."""
    msg = "Do not use mutable data structures for argument defaults"
    old = [_c(0, 20, "password = 'x'", rule="S105", message="Possible hardcoded password"),
           _c(1, 100, rule="B006", message=msg)]
    new = [_c(11, 140, rule="B006", message=msg), _c(12, 160, rule="B006", message=msg)]
    assert link(new, old, {}) == {}
    links = link(new, old, {}, anchors={"t.py": [(95, 155), (120, 180)]})
    assert _pairs(links) == {12: (1, "anchor")}
