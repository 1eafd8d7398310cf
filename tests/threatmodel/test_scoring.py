"""Scoring on small hand-built models whose tiers are worked out in the docstrings.

The arithmetic is THREATMODEL.md §A1.3 (RAA) and §D (exposure, tier): asset weights
C 5/8/13/21/34 and I, A 3/5/8/13/21; quantity very-few 1, few 2, many 3; datastore x2;
pivot: a third of the positive gap to the most valuable downstream neighbour, added to the
raw value before min-max normalisation; reach internet 5 .. physical 1; an authenticated
hop and a guarded zone crossing cost 1 each; likelihood 0 unlikely (1), 1-2 likely (2),
3 very-likely (3), 4+ frequent (4); impact <25 low (1), <50 medium (2), <75 high (3),
else very-high (4); tier from the product: <=1 low, <=3 medium, <=8 elevated, <=12 high,
else critical.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from threatmodel import Tier, component_risks, parse_model

GATEWAY = """\
schema_version: 1
product: {name: gateway, target_sl: 2}
zones:
  net: {trust: 0}
  plant: {trust: 2}
conduits:
  fw: {zones: [net, plant], controls: [firewall]}
entry_points:
  ep-net: {zone: net, reach: internet, authentication: none}
  ep-hmi: {zone: plant, reach: local, authentication: credentials}
components:
  parser: {kind: protocol-parser, zone: plant, paths: ["src/parser/**"], assets_processed: [cmd]}
  logic: {kind: process, zone: plant, paths: ["src/logic/**"], assets_processed: [cmd]}
  hmi: {kind: web-server, zone: plant, paths: ["src/hmi/**"], assets_processed: [cfg]}
data_flows:
  f-in: {source: ep-net, target: parser, conduit: fw, authentication: none}
  f-cmd: {source: parser, target: logic}
  f-hmi: {source: ep-hmi, target: hmi, authentication: credentials}
assets:
  cmd: {confidentiality: internal, integrity: critical, availability: important, quantity: few}
  cfg: {confidentiality: public, integrity: archive, availability: archive, quantity: very-few}
"""


@pytest.fixture(scope="module")
def gateway():
    return component_risks(parse_model(GATEWAY, "gateway.yaml"))


def test_gateway_parser_behind_a_firewall_is_critical(gateway) -> None:
    """parser: critical.

    Raw value: cmd is C internal 8 x few 2 = 16, I critical 13 x 2 = 26, A important 8:
    50. logic also 50, hmi (cfg: 5 + 3 + 3) 11: min 11, max 50, so parser normalises to
    (50 - 11) / 39 x 100 = 100 -> impact very-high (4). No pivot: logic is no higher.
    Exposure: ep-net (internet, 5) -> parser crosses net -> plant through the firewalled
    conduit, effort 1: X = 4 -> frequent (4). Not cost 0, so not "unauthenticated from
    untrusted". 4 x 4 = 16 -> critical.
    """
    r = gateway["parser"]
    assert "processes cmd (C internal, I critical, A important, quantity few): +50" in r.reasons
    assert r.asset_value == 100.0
    assert (r.exposure, r.likelihood, r.impact) == (4, "frequent", "very-high")
    assert r.path == ("ep-net", "parser")
    assert r.reasons[0] == (
        "exposure 4: ep-net -> parser (entry reach internet = 5, effort 1, 1 zone crossing(s))"
    )
    assert r.unauthenticated_from_untrusted is False
    assert "tier critical: likelihood frequent (4) x impact very-high (4) = 16" in r.reasons
    assert r.tier is Tier.CRITICAL


def test_gateway_logic_inherits_the_parser_exposure(gateway) -> None:
    """logic: critical.

    Same raw value as parser (50 -> RAA 100). Cheapest path ep-net -> parser -> logic: the
    in-process hop inside plant costs 0, so the effort stays 1 and X = 4. 16 -> critical.
    """
    r = gateway["logic"]
    assert r.path == ("ep-net", "parser", "logic")
    assert (r.exposure, r.asset_value, r.tier) == (4, 100.0, Tier.CRITICAL)


def test_gateway_hmi_behind_a_login_is_medium(gateway) -> None:
    """hmi: medium.

    Raw value 11 is the minimum: (11 - 11) / 39 = 0, clamped to RAA 1 -> impact low (1).
    Exposure: ep-hmi is local (2) and needs credentials (effort 1): X = 1 -> likely (2).
    2 x 1 = 2 -> medium.
    """
    r = gateway["hmi"]
    assert r.asset_value == 1.0
    assert (r.exposure, r.likelihood, r.impact) == (1, "likely", "low")
    assert "tier medium: likelihood likely (2) x impact low (1) = 2" in r.reasons
    assert r.tier is Tier.MEDIUM


PIVOT = """\
schema_version: 1
product: {name: pivot, target_sl: 3}
zones:
  plant: {trust: 2}
entry_points:
  ep: {zone: plant, reach: adjacent, authentication: none}
components:
  front: {kind: protocol-parser, zone: plant, paths: ["front/**"]}
  back: {kind: datastore, zone: plant, paths: ["back/**"], assets_stored: [rec]}
  extra: {kind: library, zone: plant, paths: ["lib/**"], assets_processed: [log]}
data_flows:
  f1: {source: ep, target: front}
  f2: {source: front, target: back}
assets:
  rec: {confidentiality: confidential, integrity: critical, availability: important,
        quantity: many}
  log: {confidentiality: public, integrity: archive, availability: archive,
        quantity: very-few}
"""


@pytest.fixture(scope="module")
def pivot():
    return component_risks(parse_model(PIVOT, "pivot.yaml"))


def test_pivot_datastore_is_high(pivot) -> None:
    """back: high.

    Raw: rec is C confidential 21 x many 3 = 63, I critical 13 x 3 = 39, A important 8:
    110; a datastore doubles it: 220, the maximum (front 0 is the minimum) -> RAA 100,
    very-high (4). Exposure: ep (adjacent, 3) -> front -> back, all unauthenticated inside
    one zone: effort 0, X = 3 -> very-likely (3), and unauthenticated from an adjacent entry.
    3 x 4 = 12 -> high (not critical: only 16 is).
    """
    r = pivot["back"]
    assert "kind datastore: x2" in r.reasons
    assert r.asset_value == 100.0
    assert (r.exposure, r.unauthenticated_from_untrusted) == (3, True)
    assert "tier high: likelihood very-likely (3) x impact very-high (4) = 12" in r.reasons
    assert r.tier is Tier.HIGH


def test_pivot_bonus_lifts_the_parser_in_front_of_the_datastore(pivot) -> None:
    """front: medium.

    Raw 0 (no assets of its own). Pivot: the gap to back is 100 - 0 = 100, a third is 33.3,
    added to the raw value before normalising (Threagile's quirk): 33.3 / 220 x 100 = 15.2
    -> impact low (1). X = 3 -> very-likely (3). 3 x 1 = 3 -> medium.
    """
    r = pivot["front"]
    assert "pivot: +33.3 (a third of the gap to back)" in r.reasons
    assert r.asset_value == pytest.approx(100 / 3 / 220 * 100)
    assert (r.likelihood, r.impact) == ("very-likely", "low")
    assert r.tier is Tier.MEDIUM


def test_pivot_unreachable_library_is_low(pivot) -> None:
    """extra: low.

    Raw: log is 5 + 3 + 3 = 11 -> RAA 11 / 220 x 100 = 5 -> low (1). No flow reaches it:
    X = 0 -> unlikely (1). 1 x 1 = 1 -> low.
    """
    r = pivot["extra"]
    assert r.asset_value == pytest.approx(5.0)
    assert (r.reachable, r.exposure) == (False, 0)
    assert r.tier is Tier.LOW


# --- property: more attacker effort never raises exposure ---------------------------------

REACHES = ["internet", "enterprise", "adjacent", "local", "physical"]


@st.composite
def models(draw: st.DrawFn) -> dict[str, Any]:
    """A random valid model: zones, two conduits (firewalled and open), entries, flows."""
    n_zones = draw(st.integers(1, 3))
    zones = {f"z{i}": {"trust": i} for i in range(n_zones)}
    zone = st.sampled_from(sorted(zones))
    eps = {
        f"e{i}": {"zone": draw(zone), "reach": draw(st.sampled_from(REACHES)),
                  "authentication": draw(st.sampled_from(["none", "token"]))}
        for i in range(draw(st.integers(1, 3)))
    }
    comps = {
        f"c{i}": {"kind": "process", "zone": draw(zone), "paths": [f"c{i}/**"],
                  "assets_processed": draw(st.sampled_from([[], ["a"]]))}
        for i in range(draw(st.integers(1, 5)))
    }
    nodes = sorted(eps) + sorted(comps)
    flows = {}
    for i in range(draw(st.integers(0, 8))):
        flow = {"source": draw(st.sampled_from(nodes)),
                "target": draw(st.sampled_from(sorted(comps))),
                "authentication": draw(st.sampled_from(["none", "token"])),
                "bidirectional": draw(st.booleans())}
        conduit = draw(st.sampled_from(["", "fw", "open"]))
        if conduit:
            flow["conduit"] = conduit
        flows[f"f{i}"] = flow
    all_zones = sorted(zones)
    return {
        "schema_version": 1, "product": {"name": "p", "target_sl": 2}, "zones": zones,
        "conduits": {"fw": {"zones": all_zones, "controls": ["firewall"]},
                     "open": {"zones": all_zones}},
        "entry_points": eps, "components": comps, "data_flows": flows,
        "assets": {"a": {"integrity": "critical", "quantity": "many"}},
    }


def _exposures(doc: dict[str, Any]) -> dict[str, int]:
    risks = component_risks(parse_model(json.dumps(doc), "p.yaml"))
    return {cid: r.exposure for cid, r in risks.items()}


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=models(), data=st.data())
def test_more_effort_never_raises_exposure(doc: dict[str, Any], data: st.DataObject) -> None:
    before = _exposures(doc)
    if not doc["data_flows"]:
        return
    fid = data.draw(st.sampled_from(sorted(doc["data_flows"])), label="flow")
    flow = doc["data_flows"][fid]
    change = data.draw(st.sampled_from(["authenticate", "firewall", "authenticated hop"]),
                       label="change")
    if change == "authenticate":
        flow["authentication"] = "token"
    elif change == "firewall":
        flow["conduit"] = "fw"
    else:
        # source -> target becomes source -> hop (authenticated, through the same conduit)
        # -> target (as before, inside the target's zone).
        hop = "hop"
        target_zone = doc["components"][flow["target"]]["zone"]
        doc["components"][hop] = {"kind": "process", "zone": target_zone, "paths": ["hop/**"]}
        first = {**flow, "target": hop, "authentication": "token"}
        second = {k: v for k, v in flow.items() if k != "conduit"} | {"source": hop}
        doc["data_flows"][fid] = first
        doc["data_flows"][f"{fid}-hop"] = second
    after = _exposures(doc)
    for cid, x in before.items():
        assert after[cid] <= x, (change, fid, cid, x, after[cid])


def test_parallel_flows_the_attacker_takes_the_cheapest() -> None:
    """b: exposure 3, whatever order the flows come in.

    f1 carries a -> b unauthenticated (cost 0); f2 is b -> a with a token and, being
    bidirectional, also a -> b with a token (cost 1). The graph keeps the cheapest of the
    parallel edges, so ep (adjacent, 3) -> a -> b costs 0: X = 3, not 2.
    """
    flows = {
        "f0": {"source": "e", "target": "a"},
        "f1": {"source": "a", "target": "b", "authentication": "none"},
        "f2": {"source": "b", "target": "a", "authentication": "token", "bidirectional": True},
    }
    for order in (["f0", "f1", "f2"], ["f0", "f2", "f1"]):
        doc = {
            "schema_version": 1, "product": {"name": "p", "target_sl": 2},
            "zones": {"z": {"trust": 1}},
            "entry_points": {"e": {"zone": "z", "reach": "adjacent"}},
            "components": {c: {"kind": "process", "zone": "z", "paths": [f"{c}/**"]}
                           for c in ("a", "b")},
            "data_flows": {f: flows[f] for f in order},
        }
        risks = component_risks(parse_model(json.dumps(doc), "p.yaml"))
        assert risks["b"].exposure == 3, order
        assert risks["b"].path == ("e", "a", "b")
        assert risks["b"].unauthenticated_from_untrusted is True
