"""Function selectors reach ingest: real bandit results land in the component of their function.

The pymodbus source is not in the repository, so the test builds a tree that holds the lines
bandit flagged (its ``contextRegion`` snippets) at their real line numbers, inside a method
written around them, and adds a component that claims only that method by a ``functions``
glob to the real pymodbus threat model.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from triage_testkit import SAMPLE, THREAT_MODEL

from triage import pipeline
from triage.report.explain import render_json, render_text
from triage.scoring import load_rules
from triage.store import open_store

BANDIT = SAMPLE / "3.16.1" / "bandit.sarif"
SIMULATOR = "pymodbus/datastore/simulator.py"
METHOD = "ModbusSimulatorContext.action_random"


@pytest.fixture
def ctx(db_url: str) -> Iterator[pipeline.Context]:
    clock = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)
    ctx = pipeline.Context(store=open_store(db_url), rules=load_rules(), clock=lambda: clock)
    yield ctx
    ctx.store.close()


def context_regions(path: str) -> list[dict[str, Any]]:
    """The ``contextRegion`` of every bandit result in ``path``, as bandit wrote it."""
    doc = json.loads(BANDIT.read_bytes())
    out = []
    for r in doc["runs"][0]["results"]:
        phys = r["locations"][0]["physicalLocation"]
        if phys["artifactLocation"]["uri"] == path:
            out.append(phys["contextRegion"])
    return out


def source_tree(root: Path) -> Path:
    """``simulator.py`` with bandit's flagged lines at their numbers inside one method."""
    regions = context_regions(SIMULATOR)
    assert [(c["startLine"], c["endLine"]) for c in regions] == [(717, 719), (721, 723)]
    lines = [""] * 730
    lines[0] = '"""The lines bandit flagged in pymodbus 3.16.1, at their line numbers."""'
    lines[1] = "import random"
    lines[711:716] = [
        "class ModbusSimulatorContext:",
        "    @classmethod",
        "    def action_random(cls, minval, maxval, celltype):",
        '        """Update with a random value."""',
        '        if celltype == "uint32":',
    ]
    lines[719] = "        else:"
    lines[723] = "        return new_values"
    for c in regions:
        text = c["snippet"]["text"].rstrip("\n").split("\n")
        lines[c["startLine"] - 1 : c["endLine"]] = text
    target = root / SIMULATOR
    target.parent.mkdir(parents=True)
    target.write_text("\n".join(lines) + "\n")
    return root


def model_with_function_component(tmp_path: Path) -> Path:
    """The pymodbus model, plus a component after ``datastore`` claiming one method."""
    doc = yaml.safe_load(THREAT_MODEL.read_text())
    doc["components"]["simulator-actions"] = {
        "name": "Simulator random actions",
        "kind": "process",
        "zone": "host",
        "paths": [SIMULATOR],
        "functions": ["*.action_random"],
    }
    out = tmp_path / "threatmodel.yaml"
    out.write_text(yaml.safe_dump(doc, sort_keys=False))
    return out


def stored(ctx: pipeline.Context, release: str) -> list[Any]:
    rel = ctx.store.release("pymodbus", release)
    return sorted((sf for _, sf in ctx.store.findings(rel)),
                  key=lambda sf: (sf.finding.location.path, sf.finding.location.start_line))


def test_bandit_findings_land_in_the_component_of_their_function(
    ctx: pipeline.Context, tmp_path: Path
) -> None:
    model = model_with_function_component(tmp_path)
    root = source_tree(tmp_path / "src")
    pipeline.ingest(ctx, [BANDIT], "pymodbus", "3.16.1", model, root)
    # The same log without the source tree: path selectors alone decide.
    pipeline.ingest(ctx, [BANDIT], "pymodbus", "3.16.1-no-source", model)
    with_source, without = stored(ctx, "3.16.1"), stored(ctx, "3.16.1-no-source")
    got = [(sf.finding.location.path, sf.finding.location.start_line,
            sf.finding.location.function, sf.exposure.component_id) for sf in with_source]
    assert got == [
        ("pymodbus/datastore/simulator.py", 718, METHOD, "simulator-actions"),
        ("pymodbus/datastore/simulator.py", 722, METHOD, "simulator-actions"),
        # Files not in the tree: no function, so the path selectors decide.
        ("pymodbus/server/simulator/http_server.py", 114, "", "http-simulator"),
        ("pymodbus/transport/transport.py", 147, "", "transport"),
    ]
    assert [sf.exposure.component_id for sf in without] == [
        "datastore", "datastore", "http-simulator", "transport"]
    assert all(sf.finding.location.function == "" for sf in without)
    first = with_source[0]
    # The function and the glob that picked the component survive the store.
    assert first.exposure.matched_function_glob == "*.action_random"
    assert first.exposure.matched_glob == SIMULATOR
    reason = next(r.text for r in first.explain if r.step == "component")
    assert reason == (f"{SIMULATOR} -> simulator-actions (glob {SIMULATOR}) (function {METHOD} "
                      "matches *.action_random), tier " + first.exposure.tier.label)
    assert next(r.text for r in without[0].explain if r.step == "component") == (
        f"{SIMULATOR} -> datastore (glob pymodbus/datastore/**), tier "
        + without[0].exposure.tier.label)


def test_explain_shows_the_function(ctx: pipeline.Context, tmp_path: Path) -> None:
    model = model_with_function_component(tmp_path)
    pipeline.ingest(ctx, [BANDIT], "pymodbus", "3.16.1", model, source_tree(tmp_path / "src"))
    issue = next(r.issue_id for r in ctx.store.status(ctx.store.release("pymodbus", "3.16.1"))
                 if r.line == 718)
    e = pipeline.explain(ctx, "pymodbus", issue)
    text = render_text(e)
    assert f"at {SIMULATOR}:718 in {METHOD}:" in text
    assert f"(function {METHOD} matches *.action_random)" in text
    doc = json.loads(render_json(e))
    assert doc["sarif"]["function"] == METHOD
    assert doc["component"]["function_glob"] == "*.action_random"
