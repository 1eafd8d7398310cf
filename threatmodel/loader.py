"""Load and validate a threat-model YAML file (schema v1) with errors that name the line.

Every error is a ``ModelError`` whose text reads ``FILE: line L column C: key.path: what is
wrong``. Unknown keys, wrong types, unknown enum values, duplicate ids and dangling
references are all errors; nothing is guessed.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml

from threatmodel.records import (
    COMPONENT_KINDS,
    REACH_SCORE,
    Asset,
    Component,
    Conduit,
    DataFlow,
    EntryPoint,
    ThreatModel,
    Zone,
)
from threatmodel.schema import schema_errors

CIA_CONFIDENTIALITY = ("public", "internal", "restricted", "confidential", "strictly-confidential")
CIA_CRITICALITY = ("archive", "operational", "important", "critical", "mission-critical")
QUANTITY = ("very-few", "few", "many", "very-many")

_STR, _INT, _BOOL, _LIST, _MAP, _DATE = "string", "integer", "boolean", "list", "mapping", "date"

# Allowed keys per section: key -> expected type (or a tuple of allowed values).
_SECTIONS: dict[str, dict[str, Any]] = {
    "product": {
        "name": _STR, "target_sl": _INT, "security_context": _STR,
        "acceptable_residual_risk": _STR, "description": _STR,
    },
    "review": {"last_reviewed": _DATE, "reviewed_by": _LIST},
    "zone": {
        "description": _STR, "trust": _INT, "sl_target": _INT, "parent": _STR, "name": _STR,
    },
    "conduit": {
        "zones": _LIST, "controls": _LIST, "protocols": _LIST, "sl_target": _INT,
        "description": _STR,
    },
    "entry_point": {
        "component": _STR, "zone": _STR, "kind": _STR, "protocol": _STR, "port": _INT,
        "authentication": _STR, "reach": tuple(REACH_SCORE), "description": _STR,
    },
    "component": {
        "name": _STR, "kind": COMPONENT_KINDS, "zone": _STR, "paths": _LIST,
        "exclude_paths": _LIST, "functions": _LIST, "language": _STR, "custom_developed": _BOOL,
        "legacy": _BOOL,
        "privilege": _STR, "parses_untrusted_input": _BOOL, "technologies": _LIST,
        "assets_processed": _LIST, "assets_stored": _LIST, "out_of_scope": _BOOL,
        "justification_out_of_scope": _STR, "description": _STR,
    },
    "data_flow": {
        "source": _STR, "target": _STR, "conduit": _STR, "protocol": _STR,
        "authentication": _STR, "encrypted": _BOOL, "bidirectional": _BOOL,
        "data_assets": _LIST, "description": _STR,
    },
    "asset": {
        "confidentiality": CIA_CONFIDENTIALITY, "integrity": CIA_CRITICALITY,
        "availability": CIA_CRITICALITY, "quantity": QUANTITY, "safety_relevant": _BOOL,
        "description": _STR,
    },
    "scan_scope": {
        "phase": _INT, "include_tiers": _LIST, "always_include_changed_code": _BOOL,
        "justification": _STR,
    },
}
_TOP = {
    "schema_version": _INT, "product": "product", "review": "review", "zones": "zone",
    "conduits": "conduit", "entry_points": "entry_point", "components": "component",
    "data_flows": "data_flow", "assets": "asset", "scan_scope": "scan_scope",
    "risk_tracking": _MAP,
}
_REQUIRED = {
    "zone": ("trust",),
    "entry_point": ("zone", "reach"),
    "component": ("kind", "zone", "paths"),
    "data_flow": ("source", "target"),
    "conduit": ("zones",),
}


MAX_BYTES = 5 * 1024 * 1024
"""Largest threat-model file accepted; a real model is a few kilobytes."""
MAX_NODES = 200_000
"""Most YAML nodes built, counting alias expansions: a guard against alias bombs."""


_PLAIN_TAGS = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})


_CONTROL = {c: f"\\x{c:02x}" for c in range(32)} | {10: "\\n", 13: "\\r", 9: "\\t"}


class ModelError(ValueError):
    """A threat model that cannot be used; the text names the file, line and key path.

    The text is always one line: control characters from the file (a key holding a line
    break) are shown escaped.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message.translate(_CONTROL))


class _Doc:
    """The YAML document as Python values, with the position of every key path."""

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.marks: dict[str, tuple[int, int]] = {}
        self._loader = yaml.SafeLoader("")
        self._nodes = 0
        if len(text) > MAX_BYTES:
            raise ModelError(f"{name}: line 1 column 1: (top level): {_too_big(len(text))}")
        try:
            # Safe loading only: SafeLoader builds no Python objects from tags.
            node = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            where = f"line {mark.line + 1} column {mark.column + 1}: " if mark else ""
            what = str(e.problem or e.context)
            if e.problem and e.context and e.context_mark and e.context_mark is not mark:
                # An unclosed quote or bracket is detected far below where it opened: name both.
                ctx = e.context_mark
                what += f" ({e.context} at line {ctx.line + 1} column {ctx.column + 1})"
            raise ModelError(f"{name}: {where}YAML error: {what}") from e
        except yaml.YAMLError as e:
            raise ModelError(f"{name}: YAML error: {e}") from e
        except RecursionError as e:
            raise ModelError(f"{name}: line 1 column 1: (top level): nested too deeply") from e
        try:
            self.data = self._value(node, "") if node is not None else None
        except RecursionError as e:
            raise ModelError(f"{name}: line 1 column 1: (top level): nested too deeply") from e

    def _value(self, node: yaml.Node, path: str) -> Any:
        self._nodes += 1
        if self._nodes > MAX_NODES:
            # An alias bomb ("billion laughs") expands a few lines into millions of nodes.
            line, col = node.start_mark.line + 1, node.start_mark.column + 1
            raise ModelError(f"{self.name}: line {line} column {col}: {path or '(top level)'}: "
                             f"more than {MAX_NODES} values (YAML aliases expanding?)")
        self.marks.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, yaml.CollectionNode) and node.tag not in _PLAIN_TAGS:
            # Safe loading only: a tag on a list or mapping (``!!python/object/apply``) is
            # refused, not ignored, just as on a scalar.
            line, col = node.start_mark.line + 1, node.start_mark.column + 1
            raise ModelError(f"{self.name}: line {line} column {col}: {path or '(top level)'}: "
                             f"could not determine a constructor for the tag {node.tag!r}")
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    line, col = key_node.start_mark.line + 1, key_node.start_mark.column + 1
                    raise ModelError(
                        f"{self.name}: line {line} column {col}: {path or '(top level)'}: "
                        "expected a plain key, got a list or mapping"
                    )
                key = str(key_node.value)
                sub = f"{path}.{key}" if path else key
                if key in out:
                    self.marks[sub] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                    raise self.error(sub, f"duplicate key {key!r}")
                self.marks[sub] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                out[key] = self._value(value_node, sub)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self._value(v, f"{path}[{i}]") for i, v in enumerate(node.value)]
        try:
            return self._loader.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError) as e:
            # Unknown tags (``!!python/object``) and impossible dates (2026-13-45) fail here,
            # after composing: report them like every other error, with the node's line.
            what = e.problem if isinstance(e, yaml.MarkedYAMLError) and e.problem else str(e)
            line, col = node.start_mark.line + 1, node.start_mark.column + 1
            raise ModelError(
                f"{self.name}: line {line} column {col}: {path or '(top level)'}: {what}"
            ) from e

    def error(self, path: str, what: str) -> ModelError:
        probe = path
        while probe and probe not in self.marks:
            probe = probe.rsplit(".", 1)[0] if "." in probe else ""
        line, col = self.marks.get(probe, (1, 1))
        return ModelError(f"{self.name}: line {line} column {col}: {path}: {what}")


def _type_ok(value: Any, expected: Any) -> str | None:
    """Return None if ``value`` fits ``expected``, else what is wrong."""
    if isinstance(expected, tuple):
        if value not in expected:
            return f"expected one of {', '.join(expected)}, got {value!r}"
        return None
    checks = {
        _STR: lambda v: isinstance(v, str),
        _INT: lambda v: isinstance(v, int) and not isinstance(v, bool),
        _BOOL: lambda v: isinstance(v, bool),
        _LIST: lambda v: isinstance(v, list),
        _MAP: lambda v: isinstance(v, dict),
        _DATE: lambda v: isinstance(v, dt.date),
    }
    if value is None and expected in (_STR, _LIST):
        return None
    if not checks[expected](value):
        article = "an" if expected[0] in "aeiou" else "a"
        return f"expected {article} {expected}, got {type(value).__name__} {value!r}"
    return None


def _check_map(doc: _Doc, value: Any, section: str, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise doc.error(path, f"expected a mapping, got {type(value).__name__}")
    allowed = _SECTIONS[section]
    for key, item in value.items():
        sub = f"{path}.{key}"
        if key not in allowed:
            raise doc.error(sub, f"unknown key {key!r} (allowed: {', '.join(sorted(allowed))})")
        problem = _type_ok(item, allowed[key])
        if problem:
            raise doc.error(sub, problem)
        if allowed[key] == _LIST:
            for i, elem in enumerate(item or ()):
                if not isinstance(elem, str | int) or isinstance(elem, bool):
                    raise doc.error(f"{sub}[{i}]", f"expected a string, got {elem!r}")
    for key in _REQUIRED.get(section, ()):
        if key not in value:
            raise doc.error(path, f"missing required key {key!r}")
        if value[key] is None or value[key] == "":
            # `source:` with nothing after it is null, which the type check lets through
            # for optional strings and lists; a required key needs a value.
            raise doc.error(f"{path}.{key}", f"required key {key!r} has no value")
    return value


def _too_big(size: int) -> str:
    return f"file is {size / 1e6:.1f} MB, more than the {MAX_BYTES // (1024 * 1024)} MB limit"


def read_model_text(path: str | Path) -> str:
    """The text of a model file, refusing files over ``MAX_BYTES`` before reading them."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise ModelError(f"{p.name}: line 1 column 1: (top level): {_too_big(size)}")
        return p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ModelError(f"{p}: cannot read: {e}") from e


def load_model(path: str | Path) -> ThreatModel:
    """Read, validate and return the threat model in ``path``."""
    return parse_model(read_model_text(path), Path(path).name)


def parse_model(text: str, name: str = "threatmodel.yaml") -> ThreatModel:
    """Validate a threat model given as YAML text."""
    return parse_with_positions(text, name)[0]


def parse_with_positions(
    text: str, name: str = "threatmodel.yaml"
) -> tuple[ThreatModel, dict[str, tuple[int, int]]]:
    """Validate a model; also return the (line, column) of every key path, for warnings."""
    doc = _Doc(name, text)
    data = doc.data
    if not isinstance(data, dict):
        raise ModelError(f"{name}: line 1 column 1: expected a mapping at the top level")
    for key in data:
        if key not in _TOP:
            raise doc.error(key, f"unknown key {key!r} (allowed: {', '.join(sorted(_TOP))})")
    if data.get("schema_version") != 1:
        raise doc.error("schema_version", f"expected 1, got {data.get('schema_version')!r}")
    if "product" not in data:
        raise doc.error("product", "missing required section 'product'")
    product = _check_map(doc, data["product"], "product", "product")
    for key in ("name", "target_sl"):
        if key not in product:
            raise doc.error("product", f"missing required key {key!r}")
    if product["target_sl"] not in (1, 2, 3, 4):
        raise doc.error("product.target_sl", f"expected 1..4, got {product['target_sl']!r}")
    review = _check_map(doc, data.get("review") or {}, "review", "review")
    scope = _check_map(doc, data.get("scan_scope") or {}, "scan_scope", "scan_scope")

    def section(key: str, kind: str) -> dict[str, dict[str, Any]]:
        raw = data.get(key) or {}
        if not isinstance(raw, dict):
            raise doc.error(key, f"expected a mapping of id to {kind}")
        return {str(i): _check_map(doc, v, kind, f"{key}.{i}") for i, v in raw.items()}

    zones = section("zones", "zone")
    conduits = section("conduits", "conduit")
    eps = section("entry_points", "entry_point")
    comps = section("components", "component")
    flows = section("data_flows", "data_flow")
    assets = section("assets", "asset")

    all_ids: dict[str, str] = {}
    for key, items in (("zones", zones), ("conduits", conduits), ("entry_points", eps),
                       ("components", comps), ("data_flows", flows), ("assets", assets)):
        for i in items:
            if i in all_ids and key in ("entry_points", "components") and all_ids[i] in (
                "entry_points", "components"
            ):
                raise doc.error(f"{key}.{i}", f"duplicate id {i!r} (also in {all_ids[i]})")
            all_ids.setdefault(i, key)

    def ref(path: str, value: Any, pool: dict[str, Any], what: str, optional: bool = False) -> None:
        # Only an optional reference may be left empty; a list element never is (`- ""`,
        # `- 0` and `-` are dangling too). Ids are strings, so compare as strings.
        if optional and value in (None, ""):
            return
        if value in (None, "") or str(value) not in pool:
            raise doc.error(path, f"unknown {what} {value!r}")

    for i, z in zones.items():
        ref(f"zones.{i}.parent", z.get("parent"), zones, "zone", optional=True)
    for i in zones:
        chain = [i]
        while (parent := str(zones[chain[-1]].get("parent") or "")) and parent not in chain[:1]:
            if parent in chain:
                break  # a cycle further up; reported from one of its own zones
            chain.append(parent)
        if parent and parent == i:
            raise doc.error(f"zones.{i}.parent",
                            f"zone parents form a cycle: {' -> '.join([*chain, i])}")
    for i, c in conduits.items():
        for j, z in enumerate(c["zones"]):
            ref(f"conduits.{i}.zones[{j}]", z, zones, "zone")
    for i, e in eps.items():
        ref(f"entry_points.{i}.zone", e["zone"], zones, "zone")
        ref(f"entry_points.{i}.component", e.get("component"), comps, "component", optional=True)
    for i, c in comps.items():
        ref(f"components.{i}.zone", c["zone"], zones, "zone")
        if not c["paths"]:
            raise doc.error(f"components.{i}.paths", "needs at least one glob")
        for key in ("assets_processed", "assets_stored"):
            for j, a in enumerate(c.get(key) or ()):
                ref(f"components.{i}.{key}[{j}]", a, assets, "asset")
        if c.get("out_of_scope") and not c.get("justification_out_of_scope"):
            raise doc.error(f"components.{i}", "out_of_scope needs justification_out_of_scope")
    nodes = {**eps, **comps}
    for i, f in flows.items():
        ref(f"data_flows.{i}.source", f["source"], nodes, "entry point or component")
        ref(f"data_flows.{i}.target", f["target"], nodes, "entry point or component")
        ref(f"data_flows.{i}.conduit", f.get("conduit"), conduits, "conduit", optional=True)
        for j, a in enumerate(f.get("data_assets") or ()):
            ref(f"data_flows.{i}.data_assets[{j}]", a, assets, "asset")

    # The published JSON Schema, on top of the checks above: ranges, id syntax, reserved ids,
    # scan scope and risk tracking. The first violation in key order is reported.
    for path, what in schema_errors(data):
        raise doc.error(path, what)

    def strs(v: Any) -> tuple[str, ...]:
        return tuple(str(x) for x in (v or ()))

    model = ThreatModel(
        source=name,
        product=str(product["name"]),
        target_sl=int(product["target_sl"]),
        zones=tuple(
            Zone(id=i, trust=z["trust"], description=z.get("description") or "",
                 parent=z.get("parent") or "", sl_target=z.get("sl_target"))
            for i, z in zones.items()
        ),
        conduits=tuple(
            Conduit(id=i, zones=strs(c["zones"]), controls=strs(c.get("controls")),
                    description=c.get("description") or "")
            for i, c in conduits.items()
        ),
        entry_points=tuple(
            EntryPoint(id=i, zone=e["zone"], reach=e["reach"], kind=e.get("kind") or "network",
                       component=e.get("component") or "",
                       authentication=e.get("authentication") or "none",
                       protocol=e.get("protocol") or "", port=e.get("port"),
                       description=e.get("description") or "")
            for i, e in eps.items()
        ),
        components=tuple(
            Component(id=i, kind=c["kind"], zone=c["zone"], paths=strs(c["paths"]),
                      name=c.get("name") or i, exclude_paths=strs(c.get("exclude_paths")),
                      functions=strs(c.get("functions")),
                      parses_untrusted_input=bool(c.get("parses_untrusted_input")),
                      legacy=bool(c.get("legacy")), privilege=c.get("privilege") or "",
                      assets_processed=strs(c.get("assets_processed")),
                      assets_stored=strs(c.get("assets_stored")),
                      out_of_scope=bool(c.get("out_of_scope")),
                      justification=c.get("justification_out_of_scope") or "",
                      description=c.get("description") or "")
            for i, c in comps.items()
        ),
        data_flows=tuple(
            DataFlow(id=i, source=f["source"], target=f["target"],
                     conduit=f.get("conduit") or "", protocol=f.get("protocol") or "",
                     authentication=f.get("authentication") or "none",
                     encrypted=bool(f.get("encrypted")),
                     bidirectional=bool(f.get("bidirectional")),
                     data_assets=strs(f.get("data_assets")))
            for i, f in flows.items()
        ),
        assets=tuple(
            Asset(id=i, confidentiality=a.get("confidentiality") or "internal",
                  integrity=a.get("integrity") or "operational",
                  availability=a.get("availability") or "operational",
                  quantity=a.get("quantity") or "few",
                  safety_relevant=bool(a.get("safety_relevant")),
                  description=a.get("description") or "")
            for i, a in assets.items()
        ),
        last_reviewed=review.get("last_reviewed"),
        reviewed_by=strs(review.get("reviewed_by")),
        scope_justification=scope.get("justification") or "",
    )
    return model, dict(doc.marks)
