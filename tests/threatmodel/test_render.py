"""Views of the example models: table, JSON, DOT, Mermaid (golden files) and the scan scope.

Golden files live in tests/threatmodel/golden; ``pytest --update-golden`` rewrites them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from threatmodel import (
    Tier,
    component_risks,
    is_high_risk,
    load_model,
    risk_json,
    risk_table,
    scope_globs,
    to_dot,
    to_mermaid,
)

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden"
MODELS = {"pymodbus": REPO / "sample_sarif" / "pymodbus" / "threatmodel.yaml",
          "firmware": REPO / "sample_sarif" / "firmware" / "threatmodel.yaml"}
VIEWS = {"table.txt": risk_table, "json": risk_json, "dot": to_dot, "mmd": to_mermaid}


def _load(name: str):
    model = load_model(MODELS[name])
    return model, component_risks(model)


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("ext", sorted(VIEWS))
def test_golden(name: str, ext: str, update_golden: bool) -> None:
    model, risks = _load(name)
    text = VIEWS[ext](model, risks)
    assert text == VIEWS[ext](model, risks)  # deterministic
    golden = GOLDEN / f"{name}.{ext}"
    if update_golden:
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


def test_pymodbus_table_marks_parsers_and_transports_high_and_tests_low() -> None:
    model, risks = _load("pymodbus")
    rows = {line.split()[0]: line.split() for line in risk_table(model, risks).splitlines()[1:]
            if line and not line.startswith("pymodbus:")}
    for cid in ("framers-pdu", "transport"):
        assert rows[cid][1] == "*"
        assert rows[cid][3] in ("high", "critical")
    assert rows["tests"][2] == "low"
    assert "test code" in " ".join(rows["tests"])
    assert len(rows) == len(model.components)


def test_json_carries_every_reason() -> None:
    model, risks = _load("pymodbus")
    doc = json.loads(risk_json(model, risks))
    assert doc["product"] == "pymodbus" and doc["target_sl"] == 2
    assert doc["last_reviewed"] == "2026-11-02"
    by_id = {c["id"]: c for c in doc["components"]}
    assert list(by_id) == [c.id for c in model.components]
    for cid, r in risks.items():
        assert by_id[cid]["reasons"] == list(r.reasons)
        assert by_id[cid]["tier"] == r.tier.label
        assert by_id[cid]["path"] == list(r.path)
    assert doc["high_risk"] == [c for c in by_id if by_id[c]["high_risk"]]
    assert {"framers-pdu", "transport"} <= set(doc["high_risk"])


def test_dot_nests_zones_and_marks_high_risk() -> None:
    model, risks = _load("pymodbus")
    dot = to_dot(model, risks)
    lines = dot.splitlines()
    assert lines[0] == 'digraph "pymodbus" {' and lines[-1] == "}"
    assert dot.count("{") == dot.count("}")
    # host is nested in control-net: its cluster opens before control-net's closes.
    ctl = lines.index('  subgraph "cluster_control-net" {')
    host = lines.index('    subgraph "cluster_host" {')
    assert ctl < host
    for c in model.components:
        node = next(x for x in lines if x.strip().startswith(f'"{c.id}" [shape=box'))
        assert ("penwidth=3" in node) == is_high_risk(risks[c.id]), c.id
    edges = [x for x in lines if " -> " in x and "[label=" in x]
    assert len(edges) == len(model.data_flows) + 1  # + the implicit debug-console edge
    assert '"ep-modbus-tls" -> "transport" [label="f-tls-in modbus-tls via c-ent-ctl", ' \
           "style=dashed];" in dot


def test_mermaid_subgraphs_balance_and_class_the_high_risk() -> None:
    model, risks = _load("firmware")
    text = to_mermaid(model, risks)
    lines = [x.strip() for x in text.splitlines()]
    assert lines[0] == "flowchart LR"
    assert sum(x.startswith("subgraph ") for x in lines) == len(model.zones)
    assert lines.count("end") == len(model.zones)
    ids = {nid: f"n{i}" for i, nid in enumerate(
        [e.id for e in model.entry_points] + [c.id for c in model.components])}
    high = [ids[c.id] for c in model.components if is_high_risk(risks[c.id])]
    assert lines[-1] == f"class {','.join(high)} high"
    assert re.search(r'n\d+\(\["ep-modbus<br/>adjacent"\]\)', text)


def test_scope_is_the_globs_of_the_high_risk_components() -> None:
    model, risks = _load("pymodbus")
    globs = scope_globs(model, risks)
    expected = [g for c in model.components
                if risks[c.id].tier >= Tier.HIGH and not c.out_of_scope for g in c.paths]
    assert list(globs) == list(dict.fromkeys(expected))
    assert "pymodbus/framer/**" in globs and "pymodbus/transport/**" in globs
    assert not any(g.startswith("test") for g in globs)


def test_firmware_example_marks_the_network_facing_parts_high() -> None:
    model, risks = _load("firmware")
    high = {cid for cid, r in risks.items() if is_high_risk(r)}
    assert {"modbus-server", "web-ui", "auth", "control-task"} <= high
    assert risks["modbus-server"].unauthenticated_from_untrusted
    assert risks["tests"].tier is Tier.LOW
    assert risks["build-tools"].out_of_scope
    # The update needs an administrator and crosses the plant firewall: effort 2.
    assert risks["fw-update"].exposure == 2
    assert risks["fw-update"].tier is Tier.ELEVATED


@pytest.mark.parametrize("name", sorted(MODELS))
def test_readme_shows_the_current_tables(name: str) -> None:
    # The README pastes `threatmodel show` of both examples; keep it honest.
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = f"$ triage threatmodel show {MODELS[name].relative_to(REPO)}\n"
    assert block + (GOLDEN / f"{name}.table.txt").read_text(encoding="utf-8") + "```" in readme
