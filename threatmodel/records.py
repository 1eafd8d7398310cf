"""Records of a threat model (schema v1) and of the risk computed for its components.

This package never imports ``triage``: it is a standalone library for threat models of
industrial products whose components are tied to source paths.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import IntEnum


class Tier(IntEnum):
    """Component risk tier: Threagile's severity matrix, low .. critical."""

    LOW = 0
    MEDIUM = 1
    ELEVATED = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        """Lower-case name."""
        return self.name.lower()


REACH_SCORE = {"internet": 5, "enterprise": 4, "adjacent": 3, "local": 2, "physical": 1}
"""Entry reach score R(e) (THREATMODEL.md §D step 3)."""

COMPONENT_KINDS = (
    "protocol-parser",
    "web-server",
    "firmware-update",
    "authn",
    "crypto",
    "config-import",
    "process",
    "datastore",
    "library",
    "external",
    "tool",
    "test",
)
"""Allowed values of ``components.*.kind``."""


@dataclass(frozen=True, slots=True)
class Zone:
    """A zone (IEC 62443-3-2 ZCR 3) with an ordinal trust, 0 = untrusted."""

    id: str
    trust: int
    description: str = ""
    parent: str = ""
    sl_target: int | None = None


@dataclass(frozen=True, slots=True)
class Conduit:
    """A channel between zones, with the controls that make crossing it cost effort."""

    id: str
    zones: tuple[str, ...]
    controls: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True, slots=True)
class EntryPoint:
    """An access point where an attacker can reach the product."""

    id: str
    zone: str
    reach: str
    kind: str = "network"
    component: str = ""
    authentication: str = "none"
    protocol: str = ""
    port: int | None = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class Component:
    """A part of the product, tied to source files by gitignore-style globs."""

    id: str
    kind: str
    zone: str
    paths: tuple[str, ...]
    name: str = ""
    exclude_paths: tuple[str, ...] = ()
    functions: tuple[str, ...] = ()
    """Globs over function or method names (``modbus_reply``, ``*_decode_*``): with them the
    component claims only those functions of its files, so one file can hold several."""
    parses_untrusted_input: bool = False
    legacy: bool = False
    privilege: str = ""
    assets_processed: tuple[str, ...] = ()
    assets_stored: tuple[str, ...] = ()
    out_of_scope: bool = False
    justification: str = ""
    description: str = ""


@dataclass(frozen=True, slots=True)
class DataFlow:
    """A directed flow between entry points and components."""

    id: str
    source: str
    target: str
    conduit: str = ""
    protocol: str = ""
    authentication: str = "none"
    encrypted: bool = False
    bidirectional: bool = False
    data_assets: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Asset:
    """A data asset on Threagile's scales, plus the IACS safety flag."""

    id: str
    confidentiality: str = "internal"
    integrity: str = "operational"
    availability: str = "operational"
    quantity: str = "few"
    safety_relevant: bool = False
    description: str = ""


@dataclass(frozen=True, slots=True)
class ThreatModel:
    """A validated threat model."""

    source: str
    product: str
    target_sl: int
    zones: tuple[Zone, ...]
    conduits: tuple[Conduit, ...]
    entry_points: tuple[EntryPoint, ...]
    components: tuple[Component, ...]
    data_flows: tuple[DataFlow, ...]
    assets: tuple[Asset, ...]
    last_reviewed: dt.date | None = None
    reviewed_by: tuple[str, ...] = ()
    scope_justification: str = ""

    def component(self, cid: str) -> Component:
        """Return the component with id ``cid``."""
        for c in self.components:
            if c.id == cid:
                return c
        raise KeyError(cid)


@dataclass(frozen=True, slots=True)
class ComponentRisk:
    """Computed risk of one component, with the reasons for every number."""

    component_id: str
    kind: str
    tier: Tier
    exposure: int
    asset_value: float
    likelihood: str
    impact: str
    unauthenticated_from_untrusted: bool
    reachable: bool
    path: tuple[str, ...]
    out_of_scope: bool
    justification: str
    reasons: tuple[str, ...]
