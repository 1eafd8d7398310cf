"""Component risk from the threat-model graph: the real pymodbus model and the arithmetic."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from threatmodel import Tier, build_graph, component_risks, load_model, parse_model

REPO = Path(__file__).resolve().parents[2]
PYMODBUS_MODEL = REPO / "sample_sarif" / "pymodbus" / "threatmodel.yaml"

REACH = {"internet": 5, "enterprise": 4, "adjacent": 3, "local": 2, "physical": 1}
TIER_ARITHMETIC = re.compile(
    r"^tier (?P<tier>\w+): likelihood (?P<lname>[\w-]+) \((?P<lw>\d)\) x "
    r"impact (?P<iname>[\w-]+) \((?P<iw>\d)\) = (?P<product>\d+)$"
)
EXPOSURE_PATH = re.compile(
    r"^exposure (?P<x>\d+): (?P<path>.+) \(entry reach (?P<reach>\w+) = (?P<r>\d), "
    r"effort (?P<effort>\d+), (?P<crossings>\d+) zone crossing\(s\)\)$"
)


def _threagile_tier(product: int) -> Tier:
    # Threagile CalculateSeverity: <=1 low, <=3 medium, <=8 elevated, <=12 high, else critical.
    for limit, tier in ((1, Tier.LOW), (3, Tier.MEDIUM), (8, Tier.ELEVATED), (12, Tier.HIGH)):
        if product <= limit:
            return tier
    return Tier.CRITICAL


@pytest.fixture(scope="module")
def pymodbus_risks():
    model = load_model(PYMODBUS_MODEL)
    return model, component_risks(model)


def test_every_component_gets_a_risk(pymodbus_risks) -> None:
    model, risks = pymodbus_risks
    assert list(risks) == [c.id for c in model.components]
    for cid, risk in risks.items():
        assert risk.component_id == cid
        assert risk.kind == model.component(cid).kind
        assert 1.0 <= risk.asset_value <= 100.0
        assert risk.exposure >= 0
        assert risk.reasons, cid


@pytest.mark.parametrize("cid", ["framers-pdu", "transport", "datastore"])
def test_network_facing_components_are_high_risk(pymodbus_risks, cid: str) -> None:
    model, risks = pymodbus_risks
    risk = risks[cid]
    assert risk.tier in (Tier.HIGH, Tier.CRITICAL)
    assert risk.unauthenticated_from_untrusted is True
    assert risk.reachable is True
    # Modbus/TCP has no authentication and the stack sits on the control network.
    assert risk.exposure == REACH["adjacent"]
    assert risk.path[0] == "ep-modbus-tcp"
    assert risk.path[-1] == cid
    assert "transport" in risk.path
    # The reasons name the exposure path and show the tier arithmetic.
    assert risk.reasons[0].startswith(f"exposure {risk.exposure}: ")
    assert " -> ".join(risk.path) in risk.reasons[0]
    assert "entry reach adjacent = 3" in risk.reasons[0]
    assert "reachable unauthenticated from an adjacent or wider entry point" in risk.reasons
    assert any("register-values" in r and "safety-relevant" in r for r in risk.reasons)
    tier_lines = [m for r in risk.reasons if (m := TIER_ARITHMETIC.match(r))]
    assert len(tier_lines) == 1
    m = tier_lines[0]
    assert m["tier"] == risk.tier.label
    assert int(m["lw"]) * int(m["iw"]) == int(m["product"])
    assert m["lname"] == risk.likelihood and m["iname"] == risk.impact


def test_framers_path_goes_through_the_transport(pymodbus_risks) -> None:
    _, risks = pymodbus_risks
    assert risks["framers-pdu"].path == ("ep-modbus-tcp", "transport", "framers-pdu")
    assert risks["datastore"].path == ("ep-modbus-tcp", "transport", "framers-pdu", "datastore")
    # The datastore stores the safety-relevant registers and is a datastore (x2): the top RAA.
    assert risks["datastore"].asset_value == max(r.asset_value for r in risks.values())
    assert "kind datastore: x2" in risks["datastore"].reasons


def test_tests_are_low(pymodbus_risks) -> None:
    _, risks = pymodbus_risks
    tests = risks["tests"]
    assert tests.tier is Tier.LOW
    assert tests.reasons[-1] == "test code: tier low"
    assert tests.reachable is False
    assert tests.reasons[0] == "exposure 0: not reachable from any entry point"


def test_packaging_is_out_of_scope(pymodbus_risks) -> None:
    model, risks = pymodbus_risks
    packaging = risks["packaging"]
    assert packaging.out_of_scope is True
    assert packaging.justification == model.component("packaging").justification
    assert "out of scope: asset value 0" in packaging.reasons
    assert packaging.reasons[-1] == f"out of scope: {packaging.justification}"


def test_authenticated_local_entries_cost_effort(pymodbus_risks) -> None:
    _, risks = pymodbus_risks
    # ep-operator-cli (local = 2) needs an OS login: effort 1, exposure 1.
    repl = risks["repl"]
    assert repl.path == ("ep-operator-cli", "repl")
    assert repl.exposure == 1
    assert repl.unauthenticated_from_untrusted is False
    assert "effort 1" in repl.reasons[0]
    # The debug console has no data flow: the entry point's `component` gives the edge.
    debug = risks["debug-console"]
    assert debug.path == ("ep-debug-console", "debug-console")
    assert debug.exposure == 1


def test_reasons_are_consistent_for_every_component(pymodbus_risks) -> None:
    model, risks = pymodbus_risks
    entry_reach = {e.id: e.reach for e in model.entry_points}
    for cid, risk in risks.items():
        first = risk.reasons[0]
        if risk.reachable:
            m = EXPOSURE_PATH.match(first)
            assert m, first
            assert m["path"] == " -> ".join(risk.path)
            assert m["reach"] == entry_reach[risk.path[0]]
            assert int(m["r"]) == REACH[m["reach"]]
            assert risk.exposure == max(0, int(m["r"]) - int(m["effort"]))
        else:
            assert first == "exposure 0: not reachable from any entry point"
            assert risk.path == ()
        m = next(m for r in risk.reasons if (m := TIER_ARITHMETIC.match(r)))
        computed = _threagile_tier(int(m["product"]))
        assert m["tier"] == computed.label, cid
        expected = Tier.LOW if risk.kind == "test" else computed
        assert risk.tier is expected, cid
        assert any(r.startswith("RAA ") for r in risk.reasons)


def test_graph_edges_carry_effort() -> None:
    model = load_model(PYMODBUS_MODEL)
    g = build_graph(model)
    assert set(g.nodes) == {e.id for e in model.entry_points} | {c.id for c in model.components}
    # Modbus/TLS: authenticated (1) and crosses the firewalled enterprise/control conduit (1).
    tls = g.edges["ep-modbus-tls", "transport"]
    assert (tls["authenticated"], tls["crosses"], tls["guarded"], tls["cost"]) == (
        True,
        True,
        True,
        2,
    )
    tcp = g.edges["ep-modbus-tcp", "transport"]
    assert tcp["cost"] == 0
    assert g.edges["ep-debug-console", "debug-console"]["flow"] == "(implicit)"
    assert g.edges["ep-debug-console", "debug-console"]["cost"] == 1
    assert g.number_of_edges() == len(model.data_flows) + 1


# A tiny model to check the arithmetic. Every component processes the same safety-relevant,
# mission-critical asset, so only the path to it differs.
TINY = """\
schema_version: 1
product: {name: tiny, target_sl: 3}
zones:
  internet: {trust: 0}
  dmz: {trust: 1}
  plant: {trust: 2}
conduits:
  fw: {zones: [internet, plant], controls: [firewall]}
  open: {zones: [internet, plant]}
entry_points:
  ep-net: {zone: internet, reach: internet, authentication: none}
  ep-usb: {zone: plant, reach: physical, authentication: none}
components:
  direct: {kind: protocol-parser, zone: plant, paths: ["direct/**"], assets_processed: [setpoints]}
  authed: {kind: protocol-parser, zone: plant, paths: ["authed/**"], assets_processed: [setpoints]}
  walled: {kind: protocol-parser, zone: plant, paths: ["walled/**"], assets_processed: [setpoints]}
  both: {kind: protocol-parser, zone: plant, paths: ["both/**"], assets_processed: [setpoints]}
  probes: {kind: test, zone: plant, paths: ["tests/**"], assets_processed: [setpoints]}
  island: {kind: library, zone: plant, paths: ["island/**"]}
  deep: {kind: library, zone: dmz, paths: ["deep/**"]}
data_flows:
  f-direct: {source: ep-net, target: direct, conduit: open}
  f-authed: {source: ep-net, target: authed, conduit: open, authentication: token}
  f-walled: {source: ep-net, target: walled, conduit: fw}
  f-both: {source: ep-net, target: both, conduit: fw, authentication: token}
  f-probes: {source: ep-net, target: probes, conduit: open}
  f-deep: {source: ep-usb, target: deep, conduit: fw, authentication: password}
assets:
  setpoints: {integrity: mission-critical, availability: critical, safety_relevant: true}
"""


@pytest.fixture(scope="module")
def tiny():
    return component_risks(parse_model(TINY, "tiny.yaml"))


def test_unauthenticated_internet_to_safety_asset_is_critical(tiny) -> None:
    direct = tiny["direct"]
    assert direct.exposure == 5
    assert direct.reachable and direct.unauthenticated_from_untrusted
    assert direct.path == ("ep-net", "direct")
    assert direct.reasons[0] == (
        "exposure 5: ep-net -> direct (entry reach internet = 5, effort 0, 1 zone crossing(s))"
    )
    # C internal 8 x 2 (few) + I mission-critical 21 x 2 x 1.5 + A critical 13 x 1.5 = 98.5
    assert (
        "processes setpoints (C internal, I mission-critical, A critical, quantity few, "
        "safety-relevant: I and A x1.5): +98.5"
    ) in direct.reasons
    assert direct.asset_value == 100.0
    assert direct.likelihood == "frequent" and direct.impact == "very-high"
    assert "tier critical: likelihood frequent (4) x impact very-high (4) = 16" in direct.reasons
    assert direct.tier is Tier.CRITICAL


def test_safety_weighting_changes_the_asset_value() -> None:
    plain = TINY.replace("safety_relevant: true", "safety_relevant: false")
    direct = component_risks(parse_model(plain, "tiny.yaml"))["direct"]
    # 8 x 2 + 21 x 2 + 13 = 71, no safety multiplier.
    assert (
        "processes setpoints (C internal, I mission-critical, A critical, quantity few): +71"
    ) in direct.reasons


def test_authentication_and_firewall_each_cost_one(tiny) -> None:
    assert tiny["authed"].exposure == tiny["direct"].exposure - 1
    assert tiny["walled"].exposure == tiny["direct"].exposure - 1
    assert tiny["both"].exposure == tiny["direct"].exposure - 2
    assert "effort 1" in tiny["authed"].reasons[0]
    assert "effort 1" in tiny["walled"].reasons[0]
    assert "effort 2" in tiny["both"].reasons[0]
    for cid in ("authed", "walled", "both"):
        assert tiny[cid].reachable
        assert tiny[cid].unauthenticated_from_untrusted is False
    assert tiny["authed"].tier is Tier.CRITICAL  # exposure 4 is still "frequent"
    assert tiny["both"].tier is Tier.HIGH  # exposure 3: very-likely (3) x very-high (4) = 12
    assert (
        "tier high: likelihood very-likely (3) x impact very-high (4) = 12" in tiny["both"].reasons
    )


def test_unreachable_component_has_no_exposure(tiny) -> None:
    island = tiny["island"]
    assert island.exposure == 0
    assert island.reachable is False
    assert island.path == ()
    assert island.unauthenticated_from_untrusted is False
    assert island.reasons[0] == "exposure 0: not reachable from any entry point"
    assert island.tier is Tier.LOW


def test_reachable_with_more_effort_than_reach_is_still_reachable(tiny) -> None:
    # Physical (1) minus password (1) and firewall (1): exposure clamps to 0, but a path exists.
    deep = tiny["deep"]
    assert deep.reachable is True
    assert deep.path == ("ep-usb", "deep")
    assert deep.exposure == 0
    assert deep.reasons[0] == (
        "exposure 0: ep-usb -> deep (entry reach physical = 1, effort 2, 1 zone crossing(s))"
    )


def test_test_code_is_low_however_exposed(tiny) -> None:
    probes = tiny["probes"]
    assert probes.exposure == 5
    assert probes.tier is Tier.LOW
    assert "tier critical: likelihood frequent (4) x impact very-high (4) = 16" in probes.reasons
    assert probes.reasons[-1] == "test code: tier low"
