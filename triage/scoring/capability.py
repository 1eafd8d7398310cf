"""Attacker capability needed to exploit a finding: its CWE combined with its reach.

``cap(f) = max(reach(component), exploit(CWE))`` (THREATMODEL.md §D step 5), on the scale
casual < simple < sophisticated < extended, the attacker each SL defends against (IEC 62443
SL-1 "casual or coincidental violation", SL-2 simple means, SL-3 sophisticated means, SL-4
extended resources):

- exploit(CWE) comes from ``rules/cwe_capability.yaml``, built offline from MITRE's CWE XML
  by ``python -m triage.scoring.cwe_build``. Several CWEs: the lowest class (the easiest way
  in). A CWE the table does not know, or a finding with no CWE, gets the conservative class
  from ``policy.yaml`` (``capability_mode.unknown_cwe``), so it stays in scope.
- reach: unauthenticated from an untrusted zone (adjacent or wider) → simple means suffice;
  reachable only through credentials, a controlled conduit or local access → sophisticated;
  not reachable from any entry point → extended; test code → extended (not shipped). No
  threat model or a file no component claims → reach unknown, the CWE alone decides.
- a casual (robustness) weakness is triggered by a legitimate user's malformed but
  legitimate input, so credentials and conduits do not raise it; only unreachable or test
  code does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from triage.errors import ConfigError
from triage.model import Capability, Exposure, Reason, ScoredFinding


@dataclass(frozen=True, slots=True)
class CweEntry:
    """One row of the CWE capability table."""

    capability: Capability
    """Class needed to exploit the weakness."""
    basis: str
    """Why (which signal of the CWE data decided)."""
    name: str = ""
    """CWE name."""


@dataclass(frozen=True, slots=True)
class CapabilityTable:
    """The CWE → capability table in effect, with its provenance."""

    entries: Mapping[int, CweEntry]
    """CWE id → entry (a read-only mapping)."""
    cwe_version: str
    """CWE catalogue version the table was built from."""
    source: str
    """File it was read from."""
    unknown: Capability = Capability.SIMPLE
    """Conservative class for a CWE the table lacks or a finding without CWE."""

    def lookup(self, cwe_id: int) -> CweEntry | None:
        """The entry of a CWE, or None."""
        return self.entries.get(cwe_id)


def parse_capability(value: Any, label: str, where: str) -> Capability:
    """Read a class name (``simple``); a bad one is a ConfigError naming file and key."""
    try:
        return Capability[str(value).strip().upper()]
    except KeyError as e:
        known = ", ".join(c.name.lower() for c in Capability)
        raise ConfigError(f"{label}: {where}: unknown capability class {value!r} "
                          f"(known: {known})") from e


def parse_table(data: dict[str, Any], label: str, unknown: Capability) -> CapabilityTable:
    """Validate a loaded ``cwe_capability.yaml``; a bad row stops with one line (exit 4)."""
    rows = data.get("weaknesses")
    if not isinstance(rows, dict):
        raise ConfigError(f"{label}: weaknesses: expected a mapping of CWE id to entry")
    entries = []
    for key, row in rows.items():
        where = f"weaknesses.{key}"
        try:
            cwe_id = int(key)
        except (TypeError, ValueError) as e:
            raise ConfigError(f"{label}: {where}: CWE id must be a number") from e
        if not isinstance(row, dict) or "class" not in row:
            raise ConfigError(f"{label}: {where}: expected a mapping with a class")
        entries.append((cwe_id, CweEntry(parse_capability(row["class"], label, f"{where}.class"),
                                         str(row.get("basis") or ""), str(row.get("name") or ""))))
    cwe = data.get("cwe")
    if not isinstance(cwe, dict):
        cwe = {}
    return CapabilityTable(MappingProxyType(dict(sorted(entries, key=lambda e: e[0]))),
                           str(cwe.get("version") or "unknown"), label, unknown)


def exploit_class(cwe_ids: tuple[int, ...], table: CapabilityTable
                  ) -> tuple[Capability, tuple[Reason, ...]]:
    """The class the weakness itself needs: the lowest over its CWEs, unknown = conservative."""
    conservative = table.unknown.name.lower()
    if not cwe_ids:
        return table.unknown, (Reason("capability", f"{conservative}: the scanner gave no CWE; "
                                      "conservative class (policy.yaml "
                                      "capability_mode.unknown_cwe)"),)
    found: list[tuple[Capability, Reason]] = []
    for c in cwe_ids:
        e = table.lookup(c)
        if e is None:
            found.append((table.unknown, Reason(
                "capability", f"CWE-{c}: {conservative}: the capability table (CWE "
                f"{table.cwe_version}) derives no class for it; conservative class")))
        else:
            found.append((e.capability, Reason(
                "capability", f"CWE-{c}: {e.capability.name.lower()}: {e.basis} "
                f"(CWE {table.cwe_version})")))
    return min(cap for cap, _ in found), tuple(r for _, r in found)


def reach_class(exposure: Exposure) -> tuple[Capability | None, str]:
    """The class needed to reach the component, or None when the reach is unknown."""
    comp = exposure.component_id
    if exposure.component_kind in ("no-model", "unmodelled"):
        why = ("no threat model was given" if exposure.component_kind == "no-model"
               else "no component claims the file (a model gap)")
        return None, f"reach unknown: {why}; the CWE alone decides"
    if exposure.is_test:
        return Capability.EXTENDED, f"test code (component {comp}) is not shipped"
    if not exposure.reachable:
        return Capability.EXTENDED, (f"component {comp} is not reachable from any entry point: "
                                     "only an attacker with extended resources gets there")
    if exposure.unauthenticated_from_untrusted:
        return Capability.SIMPLE, (f"component {comp} is reachable unauthenticated from an "
                                   "untrusted zone: simple means suffice to reach it")
    return Capability.SOPHISTICATED, (
        f"component {comp} is reachable only through credentials, a controlled conduit or "
        "local access: sophisticated means needed to reach it")


def capability(scored: ScoredFinding, table: CapabilityTable
               ) -> tuple[Capability, tuple[Reason, ...]]:
    """The capability class needed to exploit a finding, with every reason."""
    weakness, why = exploit_class(scored.finding.cwe_ids, table)
    reach, reach_why = reach_class(scored.exposure)
    if reach is None:
        cap = weakness
    elif weakness == Capability.CASUAL and reach < Capability.EXTENDED:
        # SL-1: a coincidental violation by a legitimate user needs no attacker reach.
        cap = weakness
        reach_why += ("; a casual weakness is triggered by legitimate use, so reach does not "
                      "raise it")
    else:
        cap = max(weakness, reach)
    label = cap.name.lower()
    return cap, (*why, Reason("capability", reach_why),
                 Reason("capability", f"class {label}: needs at least {label} capability "
                        f"(SL-{int(cap)} attacker)"))

