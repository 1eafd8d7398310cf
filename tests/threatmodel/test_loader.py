"""Loading and validating threat models: the real pymodbus model, and errors naming their line."""

from __future__ import annotations

import copy
import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import threatmodel
from threatmodel import ModelError, PathMatcher, component_risks, load_model, parse_model

REPO = Path(__file__).resolve().parents[2]
PYMODBUS_MODEL = REPO / "sample_sarif" / "pymodbus" / "threatmodel.yaml"

# A small valid model. The line numbers in the comments are the ones the error cases expect.
BASE = """\
schema_version: 1
product:
  name: demo
  target_sl: 2
zones:
  internet: {trust: 0}
  plant: {trust: 2}
conduits:
  fw:
    zones: [internet, plant]
    controls: [firewall]
entry_points:
  ep-web:
    zone: internet
    reach: internet
    authentication: none
components:
  parser:
    kind: protocol-parser
    zone: plant
    paths: ["src/parser/**"]
    assets_processed: [setpoints]
data_flows:
  f1: {source: ep-web, target: parser, conduit: fw}
assets:
  setpoints:
    integrity: mission-critical
    safety_relevant: true
"""
# line 1  schema_version        line 13 ep-web:            line 24 f1: {...}
# line 2  product:              line 14   zone             line 25 assets:
# line 4    target_sl           line 15   reach            line 26   setpoints:
# line 6    internet            line 18 parser:            line 27     integrity
# line 9  fw:                   line 19   kind             line 28     safety_relevant
# line 10   zones: [...]        line 20   zone
#                               line 21   paths
#                               line 22   assets_processed

ERROR = re.compile(r"^(?P<name>[^:]+): line (?P<line>\d+) column (?P<col>\d+): (?P<rest>.*)$")


def _error(text: str, name: str = "m.yaml") -> tuple[int, int, str]:
    with pytest.raises(ModelError) as info:
        parse_model(text, name)
    message = str(info.value)
    m = ERROR.match(message)
    assert m, f"not 'NAME: line L column C: ...': {message!r}"
    assert m["name"] == name
    return int(m["line"]), int(m["col"]), m["rest"]


def _replace(old: str, new: str) -> str:
    assert BASE.count(old) == 1, old
    return BASE.replace(old, new)


def test_base_model_is_valid() -> None:
    model = parse_model(BASE, "m.yaml")
    assert model.product == "demo"
    assert model.target_sl == 2
    assert [c.id for c in model.components] == ["parser"]
    assert model.component("parser").assets_processed == ("setpoints",)
    assert model.data_flows[0].conduit == "fw"
    assert model.assets[0].safety_relevant is True
    assert model.assets[0].integrity == "mission-critical"
    # Defaults for what the YAML leaves out.
    assert model.assets[0].confidentiality == "internal"
    assert model.entry_points[0].kind == "network"


CASES = [
    # (id, text, line, "key.path: what is wrong" must start with, and contain)
    ("unknown top-level key", BASE + "extras: 1\n", 29, "extras: unknown key 'extras'", ""),
    (
        "unknown component key",
        _replace("    kind: protocol-parser\n", "    kind: protocol-parser\n    colour: red\n"),
        20,
        "components.parser.colour: unknown key 'colour'",
        "allowed:",
    ),
    (
        "unknown asset key",
        BASE + "    secret: true\n",
        29,
        "assets.setpoints.secret: unknown key 'secret'",
        "",
    ),
    (
        "wrong type: integer",
        _replace("target_sl: 2", "target_sl: two"),
        4,
        "product.target_sl: expected an integer, got str 'two'",
        "",
    ),
    (
        "wrong type: boolean",
        _replace("safety_relevant: true", "safety_relevant: 'yes'"),
        28,
        "assets.setpoints.safety_relevant: expected a boolean",
        "'yes'",
    ),
    (
        "wrong type: list",
        _replace('paths: ["src/parser/**"]', 'paths: "src/**"'),
        21,
        "components.parser.paths: expected a list",
        "",
    ),
    (
        "wrong type: section",
        _replace("zones:\n  internet: {trust: 0}\n  plant: {trust: 2}", "zones: [internet, plant]"),
        5,
        "zones: expected a mapping",
        "",
    ),
    (
        "enum: reach",
        _replace("reach: internet", "reach: galaxy"),
        15,
        "entry_points.ep-web.reach: expected one of internet, enterprise",
        "'galaxy'",
    ),
    (
        "enum: component kind",
        _replace("kind: protocol-parser", "kind: blob"),
        19,
        "components.parser.kind: expected one of protocol-parser",
        "'blob'",
    ),
    (
        "enum: asset integrity",
        _replace("integrity: mission-critical", "integrity: super-critical"),
        27,
        "assets.setpoints.integrity: expected one of archive",
        "'super-critical'",
    ),
    (
        "missing required component key",
        _replace("    zone: plant\n    paths", "    paths"),
        18,
        "components.parser: missing required key 'zone'",
        "",
    ),
    (
        "missing required entry-point key",
        _replace("    reach: internet\n", ""),
        13,
        "entry_points.ep-web: missing required key 'reach'",
        "",
    ),
    (
        "missing required product key",
        _replace("  target_sl: 2\n", ""),
        2,
        "product: missing required key 'target_sl'",
        "",
    ),
    (
        "duplicate YAML key",
        _replace("  target_sl: 2\n", "  target_sl: 2\n  target_sl: 3\n"),
        5,
        "product.target_sl: duplicate key 'target_sl'",
        "",
    ),
    (
        "duplicate top-level section",
        BASE + "zones:\n  other: {trust: 1}\n",
        29,
        "zones: duplicate key 'zones'",
        "",
    ),
    (
        "duplicate id across entry points and components",
        _replace("  ep-web:\n", "  parser:\n").replace("source: ep-web", "source: parser"),
        18,
        "components.parser: duplicate id 'parser'",
        "entry_points",
    ),
    (
        "flow to unknown component",
        _replace("target: parser,", "target: nowhere,"),
        24,
        "data_flows.f1.target: unknown entry point or component 'nowhere'",
        "",
    ),
    (
        "flow from unknown source",
        _replace("source: ep-web,", "source: ep-ghost,"),
        24,
        "data_flows.f1.source: unknown entry point or component 'ep-ghost'",
        "",
    ),
    (
        "flow through unknown conduit",
        _replace("conduit: fw}", "conduit: vpn}"),
        24,
        "data_flows.f1.conduit: unknown conduit 'vpn'",
        "",
    ),
    (
        "flow carries unknown asset",
        _replace("conduit: fw}", "conduit: fw, data_assets: [recipes]}"),
        24,
        "data_flows.f1.data_assets[0]: unknown asset 'recipes'",
        "",
    ),
    (
        "component in unknown zone",
        _replace("    zone: plant\n    paths", "    zone: dmz\n    paths"),
        20,
        "components.parser.zone: unknown zone 'dmz'",
        "",
    ),
    (
        "entry point in unknown zone",
        _replace("    zone: internet\n", "    zone: cloud\n"),
        14,
        "entry_points.ep-web.zone: unknown zone 'cloud'",
        "",
    ),
    (
        "conduit between unknown zones",
        _replace("zones: [internet, plant]", "zones: [internet, office]"),
        10,
        "conduits.fw.zones[1]: unknown zone 'office'",
        "",
    ),
    (
        "entry point names unknown component",
        _replace("    authentication: none\n", "    authentication: none\n    component: ghost\n"),
        17,
        "entry_points.ep-web.component: unknown component 'ghost'",
        "",
    ),
    (
        "component processes unknown asset",
        _replace("assets_processed: [setpoints]", "assets_processed: [setpoints, recipes]"),
        22,
        "components.parser.assets_processed[1]: unknown asset 'recipes'",
        "",
    ),
    (
        "empty reference in a list",
        _replace("assets_processed: [setpoints]", 'assets_processed: [setpoints, ""]'),
        22,
        "components.parser.assets_processed[1]: unknown asset ''",
        "",
    ),
    (
        "number as a reference",
        _replace("zones: [internet, plant]", "zones: [internet, 0]"),
        10,
        "conduits.fw.zones[1]: unknown zone 0",
        "",
    ),
    (
        "required key with no value",
        _replace("target: parser,", "target: ,"),
        24,
        "data_flows.f1.target: required key 'target' has no value",
        "",
    ),
    (
        "required key with an empty string",
        _replace("    zone: plant\n    paths", '    zone: ""\n    paths'),
        20,
        "components.parser.zone: required key 'zone' has no value",
        "",
    ),
    (
        "out_of_scope without justification",
        _replace(
            '    paths: ["src/parser/**"]\n',
            '    paths: ["src/parser/**"]\n    out_of_scope: true\n',
        ),
        18,
        "components.parser: out_of_scope needs justification_out_of_scope",
        "",
    ),
    (
        "component without globs",
        _replace('paths: ["src/parser/**"]', "paths: []"),
        21,
        "components.parser.paths: needs at least one glob",
        "",
    ),
    (
        "schema_version 2",
        _replace("schema_version: 1", "schema_version: 2"),
        1,
        "schema_version: expected 1, got 2",
        "",
    ),
    (
        "schema_version missing",
        BASE.replace("schema_version: 1\n", ""),
        1,
        "schema_version: expected 1",
        "",
    ),
    (
        "target_sl out of range",
        _replace("target_sl: 2", "target_sl: 7"),
        4,
        "product.target_sl: expected 1..4, got 7",
        "",
    ),
    (
        "YAML syntax: tab indentation",
        _replace("    reach: internet", "\treach: internet"),
        15,
        "YAML error:",
        "\\t",
    ),
    (
        "YAML syntax: mapping value inside a scalar",
        _replace("  name: demo", "  name: demo: plc"),
        3,
        "YAML error:",
        "mapping values are not allowed",
    ),
    (
        # Detected at the end of the file; the message also names where the quote opened.
        "YAML syntax: unterminated quote",
        BASE + 'scan_scope:\n  justification: "never closed\n',
        31,
        "YAML error: found unexpected end of stream",
        "quoted scalar at line 30 column 18",
    ),
    (
        "YAML syntax: unclosed flow mapping",
        _replace("  plant: {trust: 2}", "  plant: {trust: 2"),
        8,
        "YAML error:",
        "flow mapping at line 7 column 10",
    ),
    (
        "YAML key that is a list",
        _replace("  plant: {trust: 2}\n", "  plant: {trust: 2}\n  ? [a, b]\n  : {trust: 1}\n"),
        8,
        "zones: expected a plain key",
        "",
    ),
    (
        "YAML unknown tag",
        _replace("  name: demo", "  name: !!python/object:os.system demo"),
        3,
        "product.name: could not determine a constructor",
        "python/object",
    ),
    (
        "YAML impossible date",
        BASE + "review:\n  last_reviewed: 2026-13-45\n",
        30,
        "review.last_reviewed: month must be in 1..12",
        "",
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "starts", "contains"),
    [
        pytest.param(text, line, starts, contains, id=case)
        for case, text, line, starts, contains in CASES
    ],
)
def test_error_names_the_line(text: str, line: int, starts: str, contains: str) -> None:
    got_line, col, rest = _error(text)
    assert got_line == line, rest
    assert col >= 1
    assert rest.startswith(starts), rest
    assert contains in rest


def test_error_column_points_at_the_key() -> None:
    # `  f1: {source: ep-web, target: nowhere, conduit: fw}`: "target" starts in column 24.
    line, col, _ = _error(_replace("target: parser,", "target: nowhere,"))
    assert (line, col) == (24, 24)


def test_top_level_must_be_a_mapping() -> None:
    for text in ("", "- a\n- b\n", "just a string\n"):
        line, col, rest = _error(text)
        assert (line, col) == (1, 1)
        assert "expected a mapping at the top level" in rest


def test_load_model_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "plant.yaml"
    bad.write_text(_replace("reach: internet", "reach: galaxy"), encoding="utf-8")
    with pytest.raises(
        ModelError, match=r"^plant\.yaml: line 15 column 5: entry_points\.ep-web\.reach"
    ):
        load_model(bad)


def test_load_model_unreadable(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="cannot read"):
        load_model(tmp_path / "missing.yaml")
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes(BASE.replace("demo", "d\xe9mo").encode("latin-1"))
    with pytest.raises(ModelError, match="cannot read"):
        load_model(latin1)


def test_model_error_is_a_value_error() -> None:
    # Callers outside triage can catch it without importing threatmodel's types.
    assert issubclass(ModelError, ValueError)


def test_real_pymodbus_model_loads() -> None:
    model = load_model(PYMODBUS_MODEL)
    assert model.source == "threatmodel.yaml"
    assert model.product == "pymodbus"
    assert model.target_sl == 2
    assert model.last_reviewed == dt.date(2026, 11, 2)
    assert model.reviewed_by == ("Product security engineer", "Modbus stack maintainer")
    # Order matters for path matching: the YAML order is kept.
    assert [c.id for c in model.components] == [
        "tests",
        "packaging",
        "http-simulator",
        "repl",
        "debug-console",
        "transport",
        "framers-pdu",
        "datastore",
        "serial-client",
        "network-client",
        "library-core",
    ]
    assert {z.id: z.trust for z in model.zones} == {"enterprise": 1, "control-net": 2, "host": 3}
    assert model.zones[2].parent == "control-net"
    assert model.conduits[0].controls == ("firewall",)
    eps = {e.id: e for e in model.entry_points}
    assert eps["ep-modbus-tcp"].reach == "adjacent"
    assert eps["ep-modbus-tcp"].port == 502
    assert eps["ep-modbus-tcp"].authentication == "none"
    assert eps["ep-debug-console"].component == "debug-console"
    packaging = model.component("packaging")
    assert packaging.out_of_scope is True
    assert packaging.justification.startswith("build and documentation scripts")
    framers = model.component("framers-pdu")
    assert framers.kind == "protocol-parser"
    assert framers.parses_untrusted_input is True
    assert "pymodbus/transaction.py" in framers.paths
    assets = {a.id: a for a in model.assets}
    assert assets["register-values"].safety_relevant is True
    assert assets["register-values"].quantity == "many"
    assert assets["tls-keys"].confidentiality == "strictly-confidential"
    flows = {f.id: f for f in model.data_flows}
    assert flows["f-tls-in"].conduit == "c-ent-ctl"
    assert flows["f-tls-in"].encrypted is True
    assert flows["f-lib"].data_assets == ()
    assert len(model.data_flows) == 14
    with pytest.raises(KeyError):
        model.component("no-such-component")


def test_real_model_round_trips_through_parse_model() -> None:
    text = PYMODBUS_MODEL.read_text(encoding="utf-8")
    assert parse_model(text, "threatmodel.yaml") == load_model(PYMODBUS_MODEL)


def test_public_api() -> None:
    for name in ("load_model", "parse_model", "ModelError", "component_risks", "PathMatcher"):
        assert name in threatmodel.__all__


# --- property: a mutated model is either rejected with a ModelError or fully usable --------

_SEED = yaml.safe_load(BASE)
_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-2, max_value=9)
    | st.text(max_size=6)
    | st.sampled_from(["internet", "plant", "parser", "ep-web", "setpoints", "fw", "test"]),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(["zone", "paths", "kind", "reach", "source", "target", "trust"])
            | st.text(max_size=4),
            children,
            max_size=3,
        )
    ),
    max_leaves=6,
)


def _key_paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    out: list[tuple] = []
    for key, child in items:
        out.append((*prefix, key))
        out.extend(_key_paths(child, (*prefix, key)))
    return out


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_models_are_rejected_or_usable(data: st.DataObject) -> None:
    doc = copy.deepcopy(_SEED)
    for _ in range(data.draw(st.integers(min_value=1, max_value=3), label="mutations")):
        path = data.draw(st.sampled_from(_key_paths(doc)), label="path")
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if data.draw(st.booleans(), label="delete") and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(_values, label="value")
    text = yaml.safe_dump(doc)
    try:
        model = parse_model(text, "m.yaml")
    except ModelError as e:
        assert ERROR.match(str(e)), str(e)
        return
    # Whatever validation let through, the graph and the path join can use.
    risks = component_risks(model)
    assert set(risks) == {c.id for c in model.components}
    matcher = PathMatcher(model)
    for c in model.components:
        for glob in c.paths:
            matcher.match(glob.replace("*", "x"))
