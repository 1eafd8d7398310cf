"""threatmodel: threat models of industrial products, tied to source paths.

A standalone package (it never imports ``triage``): load and validate a YAML model against
schema v1 (``schema-v1.json``), build its networkx graph, compute each component's exposure,
asset value and tier with reasons, join source paths to components, render the model, and
import OWASP Threat Dragon v2 models.

The names below load their module on first use, so importing the package costs nothing
until a model is read (networkx and jsonschema come with the graph and the loader).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from threatmodel.checks import Coverage, ModelCheck, ModelWarning, check_model, coverage
    from threatmodel.dragon import convert_threat_dragon, import_threat_dragon
    from threatmodel.graph import build_graph, component_risks
    from threatmodel.join import UNMODELLED, Match, PathMatcher
    from threatmodel.loader import ModelError, load_model, parse_model
    from threatmodel.records import ComponentRisk, ThreatModel, Tier
    from threatmodel.render import (
        is_high_risk,
        risk_json,
        risk_table,
        scope_globs,
        to_dot,
        to_mermaid,
    )
    from threatmodel.schema import json_schema
    from threatmodel.starter import starter_model

_MODULES = {
    "checks": ("Coverage", "ModelCheck", "ModelWarning", "check_model", "coverage"),
    "dragon": ("convert_threat_dragon", "import_threat_dragon"),
    "graph": ("build_graph", "component_risks"),
    "join": ("UNMODELLED", "Match", "PathMatcher"),
    "loader": ("ModelError", "load_model", "parse_model"),
    "records": ("ComponentRisk", "ThreatModel", "Tier"),
    "render": ("is_high_risk", "risk_json", "risk_table", "scope_globs", "to_dot", "to_mermaid"),
    "schema": ("json_schema",),
    "starter": ("starter_model",),
}
_HOME = {name: module for module, names in _MODULES.items() for name in names}
"""Public name → the submodule that defines it."""


def __getattr__(name: str) -> Any:
    """Import the submodule that defines ``name`` when it is first used (PEP 562)."""
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOME})


__all__ = [
    "UNMODELLED",
    "ComponentRisk",
    "Coverage",
    "Match",
    "ModelCheck",
    "ModelError",
    "ModelWarning",
    "PathMatcher",
    "ThreatModel",
    "Tier",
    "build_graph",
    "check_model",
    "component_risks",
    "convert_threat_dragon",
    "coverage",
    "import_threat_dragon",
    "is_high_risk",
    "json_schema",
    "load_model",
    "parse_model",
    "risk_json",
    "risk_table",
    "scope_globs",
    "starter_model",
    "to_dot",
    "to_mermaid",
]
