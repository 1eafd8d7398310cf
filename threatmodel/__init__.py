"""threatmodel: threat models of industrial products, tied to source paths.

A standalone package (it never imports ``triage``): load and validate a YAML model, build its
networkx graph, compute each component's exposure, asset value and tier with reasons, and
join source paths to components.
"""

from threatmodel.graph import build_graph, component_risks
from threatmodel.join import UNMODELLED, Match, PathMatcher
from threatmodel.loader import ModelError, load_model, parse_model
from threatmodel.records import ComponentRisk, ThreatModel, Tier

__all__ = [
    "UNMODELLED",
    "ComponentRisk",
    "Match",
    "ModelError",
    "PathMatcher",
    "ThreatModel",
    "Tier",
    "build_graph",
    "component_risks",
    "load_model",
    "parse_model",
]
