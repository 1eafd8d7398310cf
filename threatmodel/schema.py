"""The published JSON Schema of threat-model schema v1, and validation against it.

``schema-v1.json`` ships in the package so editors and other tools can check a model; the
loader validates every document against it in addition to its own line-precise checks
(references between sections and zone-parent cycles are beyond what the schema says).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Iterator
from importlib import resources
from typing import Any

import jsonschema

SCHEMA_FILE = "schema-v1.json"
"""Name of the JSON Schema file inside the ``threatmodel`` package."""


@functools.cache
def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of threat-model schema v1, as a dict."""
    text = resources.files("threatmodel").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@functools.cache
def _validator() -> jsonschema.protocols.Validator:
    schema = json_schema()
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _as_json(value: Any) -> Any:
    """YAML values as JSON would hold them: dates become ISO strings."""
    if isinstance(value, dict):
        return {k: _as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_json(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def key_path(parts: Any) -> str:
    """``("components", "web", "paths", 0)`` -> ``components.web.paths[0]``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def schema_errors(data: Any) -> Iterator[tuple[str, str]]:
    """Yield ``(key path, what is wrong)`` for every violation of the schema, in key order.

    For a bad key *name* (``propertyNames``) the path names that key, not its mapping.
    """
    errors = sorted(_validator().iter_errors(_as_json(data)),
                    key=lambda e: [str(p) for p in e.absolute_path])
    for e in errors:
        parts = list(e.absolute_path)
        what = e.message
        if e.validator == "propertyNames" or "propertyNames" in e.absolute_schema_path:
            parts.append(str(e.instance))
            what = f"id {e.instance!r} is not allowed ({_id_rule(e)})"
        yield key_path(parts), what


def _id_rule(e: jsonschema.ValidationError) -> str:
    if e.validator == "not":
        return "reserved for the synthetic component of unmatched paths"
    if e.validator == "pattern":
        return "an id starts with a letter or digit and holds letters, digits, _ . : -"
    return e.message
