"""Load the IEC 62443-4-1 requirement table shipped in ``rules/iec62443_4_1.yaml``.

The file ships inside the installed package (``triage.rules``), so it is found from any
working directory. A malformed table is a ``ConfigError`` (exit 4) naming the file and key.
"""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

import yaml

from triage.errors import ConfigError
from triage.iec.records import Method, MethodInfo, Requirement, RequirementTable

TABLE_FILE = "iec62443_4_1.yaml"
LABEL = f"rules/{TABLE_FILE}"
_ID = re.compile(r"^(?P<practice>[A-Z]+)-(?P<n>[1-9][0-9]*)$")


def _fail(where: str, what: str) -> ConfigError:
    return ConfigError(f"{LABEL}: {where}: {what}")


def _str(entry: dict[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _fail(f"{where}.{key}", "expected a non-empty string")
    return value


def _method(value: Any, where: str) -> Method:
    try:
        return Method(str(value))
    except ValueError as e:
        raise _fail(where, f"unknown method {value!r}; known: "
                           f"{', '.join(m.value for m in Method)}") from e


def parse_table(data: Any) -> RequirementTable:
    """Validate the table's YAML data and build the records."""
    if not isinstance(data, dict):
        raise _fail("top level", "expected a mapping")
    methods_raw, practices, reqs = (data.get(k) for k in ("methods", "practices", "requirements"))
    if not isinstance(methods_raw, dict) or not isinstance(practices, dict) or \
            not isinstance(reqs, list):
        raise _fail("top level", "needs the mappings methods and practices and the list "
                                 "requirements")
    methods = []
    for name, entry in methods_raw.items():
        where = f"methods.{name}"
        if not isinstance(entry, dict):
            raise _fail(where, "expected a mapping")
        methods.append(MethodInfo(_method(name, where), _str(entry, "meaning", where),
                                  _str(entry, "action", where)))
    if {m.method for m in methods} != set(Method):
        raise _fail("methods", f"needs exactly {', '.join(m.value for m in Method)}")
    out: list[Requirement] = []
    for i, entry in enumerate(reqs):
        where = f"requirements[{i}]"
        if not isinstance(entry, dict):
            raise _fail(where, "expected a mapping")
        rid = _str(entry, "id", where)
        m = _ID.match(rid)
        practice = practices.get(m["practice"]) if m else None
        if m is None or not isinstance(practice, dict):
            raise _fail(f"{where}.id", f"{rid!r} does not name a known practice")
        clause = entry.get("clause")
        if clause is not None and not isinstance(clause, str):
            raise _fail(f"{where}.clause", "expected a string such as \"8.3\" or null")
        evidence = entry.get("evidence") or ""
        if not isinstance(evidence, str):
            raise _fail(f"{where}.evidence", "expected a string")
        if any(r.id == rid for r in out):
            raise _fail(f"{where}.id", f"{rid} appears twice")
        out.append(Requirement(
            id=rid,
            title=_str(entry, "title", where),
            practice=m["practice"],
            practice_title=_str(practice, "title", f"practices.{m['practice']}"),
            practice_clause=str(practice.get("clause") or ""),
            clause=clause,
            method=_method(entry.get("method"), f"{where}.method"),
            risk_based=bool(entry.get("risk_based", False)),
            evidence=evidence,
        ))
    return RequirementTable(tuple(out), tuple(methods), LABEL)


def load_requirements() -> RequirementTable:
    """The shipped requirement table."""
    try:
        text = (resources.files("triage.rules") / TABLE_FILE).read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except OSError as e:
        raise ConfigError(f"{LABEL}: cannot read: {e.strerror or e}") from e
    except yaml.YAMLError as e:
        raise ConfigError(f"{LABEL}: YAML error: {e}") from e
    return parse_table(data)
