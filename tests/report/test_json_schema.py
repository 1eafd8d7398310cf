"""The JSON report format against its published schema, ``docs/report-schema-v1.json``.

The golden files and freshly rendered demo reports must validate, so the schema in the docs
cannot drift from what ``triage/report/json_format.py`` writes; an unknown top-level key
fails, so a new field cannot ship undocumented.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from triage_testkit import REPO, TESTS

from triage.report import render
from triage.report.json_format import SCHEMA_VERSION

SCHEMA_PATH = REPO / "docs" / "report-schema-v1.json"
GOLDEN_JSON = sorted((TESTS / "golden").glob("*.json"))
KINDS = {"release": "release-report", "trend": "trend-report", "diff": "diff"}


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    """A validator of the published schema, the schema itself checked first."""
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _errors(validator: jsonschema.protocols.Validator, doc: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(doc)]


def test_schema_version_matches_the_format(validator: jsonschema.protocols.Validator) -> None:
    assert validator.schema["$defs"]["schemaVersion"]["const"] == SCHEMA_VERSION


def test_golden_files_exist() -> None:
    assert {p.name for p in GOLDEN_JSON} >= {"release-3.16.1.json", "trend.json",
                                             "diff-3.9.2-3.16.1.json"}


@pytest.mark.parametrize("path", GOLDEN_JSON, ids=[p.name for p in GOLDEN_JSON])
def test_golden_json_validates(validator: jsonschema.protocols.Validator, path) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert _errors(validator, doc) == []


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_rendered_report_validates(validator: jsonschema.protocols.Validator, demo,
                                   kind: str) -> None:
    doc = json.loads(render("json", getattr(demo, kind)))
    assert doc["kind"] == KINDS[kind]
    assert _errors(validator, doc) == []


def test_big_release_report_validates(validator: jsonschema.protocols.Validator, demo) -> None:
    assert _errors(validator, json.loads(render("json", demo.big))) == []


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_unknown_top_level_key_fails(validator: jsonschema.protocols.Validator, demo,
                                     kind: str) -> None:
    doc = json.loads(render("json", getattr(demo, kind)))
    doc["undocumented"] = True
    assert not validator.is_valid(doc)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_missing_required_key_fails(validator: jsonschema.protocols.Validator, demo,
                                    kind: str) -> None:
    doc = json.loads(render("json", getattr(demo, kind)))
    del doc["schema"]
    assert not validator.is_valid(doc)


def test_unknown_status_fails(validator: jsonschema.protocols.Validator, demo) -> None:
    doc = json.loads(render("json", demo.diff))
    doc["issues"][0]["status"] = "vanished"
    assert not validator.is_valid(doc)


def test_every_schema_property_is_described(validator: jsonschema.protocols.Validator) -> None:
    defs = validator.schema["$defs"]
    undescribed = []

    def described(sub: dict[str, Any]) -> bool:
        ref = sub.get("$ref", "")
        return "description" in sub or "description" in defs.get(ref.rpartition("/")[2], {})

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for name, sub in node.get("properties", {}).items():
                if not described(sub):
                    undescribed.append(f"{where}/{name}")
            for key, sub in node.items():
                walk(sub, f"{where}/{key}")
        elif isinstance(node, list):
            for i, sub in enumerate(node):
                walk(sub, f"{where}/{i}")

    walk(validator.schema, "#")
    assert undescribed == []
