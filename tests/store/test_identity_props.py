"""Property: inserting or deleting lines above findings never changes their identities."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
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
                      tool_fingerprints=f.tool_fingerprints)
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
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(sorted(SPANS)))
        spans = SPANS[path]
        i = draw(st.integers(0, len(spans) - 1))
        start = spans[i][0]
        covered = max((end for s, end in spans if s < start), default=0)
        gap = max(0, start - covered - 1)  # finding-free lines right above it
        delta = draw(st.integers(-gap, 40).filter(lambda d: d != 0)) if gap else draw(
            st.integers(1, 40))
        out.append((path, start, delta))
    return out


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(changes=edits())
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
