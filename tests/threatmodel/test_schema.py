"""The published JSON Schema of schema v1, and the bad input the loader refuses.

Every refusal is a ModelError of one line, ``NAME: line L column C: key.path: what``.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
import yaml
from test_loader import BASE, CASES, ERROR, _error, _replace

import threatmodel
from threatmodel import ModelError, json_schema, load_model, parse_model, starter_model
from threatmodel.loader import _SECTIONS, _TOP, MAX_BYTES

REPO = Path(__file__).resolve().parents[2]
MODELS = [REPO / "sample_sarif" / "pymodbus" / "threatmodel.yaml",
          REPO / "sample_sarif" / "firmware" / "threatmodel.yaml"]


def _schema_accepts(text: str) -> bool:
    data = yaml.safe_load(text)
    validator = jsonschema.Draft202012Validator(
        json_schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    return validator.is_valid(json.loads(json.dumps(data, default=str)))


def test_schema_ships_in_the_package_and_is_a_valid_schema() -> None:
    text = resources.files("threatmodel").joinpath("schema-v1.json").read_text("utf-8")
    schema = json.loads(text)
    assert schema == json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["properties"]["schema_version"] == {
        "const": 1, "description": "Version of this schema; always 1."}


def test_schema_and_loader_know_the_same_keys() -> None:
    schema = json_schema()
    assert set(schema["properties"]) == set(_TOP)
    defs = schema["$defs"]
    for section in ("zone", "conduit", "entry_point", "component", "data_flow", "asset"):
        assert set(defs[section]["properties"]) == set(_SECTIONS[section]), section
    for section in ("product", "review", "scan_scope"):
        assert set(schema["properties"][section]["properties"]) == set(_SECTIONS[section])
    # Every field is documented.
    for section in (*defs.values(), *(schema["properties"][s] for s in ("product", "review"))):
        for key, prop in section.get("properties", {}).items():
            assert prop.get("description"), key


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.parent.name)
def test_example_models_validate_against_the_schema(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert _schema_accepts(text)
    assert load_model(path).product


def test_starter_model_validates_against_the_schema() -> None:
    assert _schema_accepts(starter_model("2026-01-01"))


STRUCTURAL = {"unknown top-level key", "unknown component key", "unknown asset key",
              "wrong type: integer", "wrong type: boolean", "wrong type: list",
              "wrong type: section", "enum: reach", "enum: component kind",
              "enum: asset integrity", "missing required component key",
              "missing required entry-point key", "missing required product key",
              "component without globs", "schema_version 2", "schema_version missing",
              "target_sl out of range"}


@pytest.mark.parametrize(
    "text", [pytest.param(c[1], id=c[0]) for c in CASES if c[0] in STRUCTURAL])
def test_schema_alone_rejects_what_the_loader_rejects_structurally(text: str) -> None:
    assert _schema_accepts(BASE)
    assert not _schema_accepts(text)


SCHEMA_ONLY = [
    # Checks the JSON Schema adds to the hand-written ones; each still names its line.
    ("port out of range",
     _replace("    authentication: none\n", "    authentication: none\n    port: 70000\n"),
     17, "entry_points.ep-web.port: 70000 is greater than the maximum of 65535"),
    ("negative trust", _replace("internet: {trust: 0}", "internet: {trust: -1}"),
     6, "zones.internet.trust: -1 is less than the minimum of 0"),
    ("zone sl_target", _replace("plant: {trust: 2}", "plant: {trust: 2, sl_target: 5}"),
     7, "zones.plant.sl_target: 5 is greater than the maximum of 4"),
    ("id with a space", _replace("  parser:\n", "  my parser:\n").replace(
        "target: parser", "target: my parser"),
     18, "components.my parser: id 'my parser' is not allowed (an id starts with"),
    ("reserved id", _replace("  parser:\n", "  unmodelled:\n").replace(
        "target: parser", "target: unmodelled"),
     18, "components.unmodelled: id 'unmodelled' is not allowed (reserved"),
    ("scan scope tier", BASE + "scan_scope:\n  include_tiers: [high, huge]\n",
     30, "scan_scope.include_tiers[1]: 'huge' is not one of"),
    ("risk tracking status", BASE + "risk_tracking:\n  'sast@*':\n    status: done\n",
     31, "risk_tracking.sast@*.status: 'done' is not one of"),
]


@pytest.mark.parametrize(("text", "line", "starts"),
                         [pytest.param(t, ln, s, id=c) for c, t, ln, s in SCHEMA_ONLY])
def test_schema_checks_name_the_line(text: str, line: int, starts: str) -> None:
    got, _, rest = _error(text)
    assert (got, rest[: len(starts)]) == (line, starts)


# --- bad input -------------------------------------------------------------------------------

def test_zone_parent_cycle() -> None:
    text = _replace("  plant: {trust: 2}", "  plant: {trust: 2, parent: dmz}\n"
                                           "  dmz: {trust: 1, parent: plant}")
    assert _error(text) == (7, 21, "zones.plant.parent: zone parents form a cycle: "
                                   "plant -> dmz -> plant")


def test_zone_that_is_its_own_parent() -> None:
    text = _replace("  plant: {trust: 2}", "  plant: {trust: 2, parent: plant}")
    assert _error(text)[2] == "zones.plant.parent: zone parents form a cycle: plant -> plant"


def test_nested_zones_without_a_cycle_are_fine() -> None:
    text = _replace("  plant: {trust: 2}", "  plant: {trust: 2, parent: internet}\n"
                                           "  cell: {trust: 3, parent: plant}")
    assert [z.parent for z in parse_model(text).zones] == ["", "internet", "plant"]


def test_component_in_two_zones() -> None:
    text = _replace("    zone: plant\n    paths", "    zone: plant\n    zone: internet\n    paths")
    assert _error(text) == (21, 5, "components.parser.zone: duplicate key 'zone'")


def test_entry_point_with_an_unknown_reach() -> None:
    line, _, rest = _error(_replace("reach: internet", "reach: satellite"))
    assert line == 15
    assert rest.startswith("entry_points.ep-web.reach: expected one of internet, enterprise, "
                           "adjacent, local, physical, got 'satellite'")


def test_file_over_the_size_limit_is_refused_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as f:
        f.truncate(50 * 1024 * 1024)  # sparse: 50 MB that cost nothing to write
    with pytest.raises(ModelError) as info:
        load_model(big)
    assert str(info.value) == (
        "big.yaml: line 1 column 1: (top level): file is 52.4 MB, more than the 5 MB limit")
    with pytest.raises(ModelError, match="more than the 5 MB limit"):
        parse_model("#" * (MAX_BYTES + 1), "m.yaml")


def test_alias_bomb_is_refused() -> None:
    rows = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for prev, name in zip("abcdef", "bcdefg", strict=True):
        rows.append(f"{name}: &{name} [{', '.join([f'*{prev}'] * 10)}]")
    _, _, rest = _error("\n".join(rows) + "\n")
    assert "more than 200000 values (YAML aliases expanding?)" in rest


def test_deep_nesting_is_refused() -> None:
    assert _error("[" * 2_000) == (1, 1, "(top level): nested too deeply")


@pytest.mark.parametrize("tag", ["!!python/object/apply:os.system ['true']",
                                 "!!python/name:os.system", "!custom 1"])
def test_tags_that_build_objects_are_refused(tag: str) -> None:
    _, _, rest = _error(_replace("  name: demo", f"  name: {tag}"))
    assert rest.startswith("product.name: could not determine a constructor")


def test_every_refusal_is_one_line() -> None:
    for _, text, *_ in CASES + [(c, t, 0, "", "") for c, t, *_ in SCHEMA_ONLY]:
        with pytest.raises(ModelError) as info:
            parse_model(text, "m.yaml")
        assert "\n" not in str(info.value)
        assert ERROR.match(str(info.value))


def test_public_api_has_the_schema() -> None:
    assert "json_schema" in threatmodel.__all__
