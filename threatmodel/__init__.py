"""threatmodel: threat models of industrial products, tied to source paths.

A standalone package (it never imports ``triage``): load and validate a YAML model against
schema v1 (``schema-v1.json``), build its networkx graph, compute each component's exposure,
asset value and tier with reasons, join source paths to components, render the model, and
import OWASP Threat Dragon v2 models.
"""

from threatmodel.checks import Coverage, ModelCheck, ModelWarning, check_model, coverage
from threatmodel.dragon import convert_threat_dragon, import_threat_dragon
from threatmodel.graph import build_graph, component_risks
from threatmodel.join import UNMODELLED, Match, PathMatcher
from threatmodel.loader import ModelError, load_model, parse_model
from threatmodel.records import ComponentRisk, ThreatModel, Tier
from threatmodel.render import is_high_risk, risk_json, risk_table, scope_globs, to_dot, to_mermaid
from threatmodel.schema import json_schema
from threatmodel.starter import starter_model

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
