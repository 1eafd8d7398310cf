"""The threat model as a networkx graph, and the explainable risk of every component.

Asset value follows Threagile's relative attacker attractiveness (RAA) with an IACS safety
weighting; exposure is the best entry reach minus the attacker effort along the cheapest
path; the tier is Threagile's likelihood x impact matrix (THREATMODEL.md §A1.2, §D).
"""

from __future__ import annotations

import networkx as nx

from threatmodel.records import REACH_SCORE, ComponentRisk, ThreatModel, Tier

_C_WEIGHT = {"public": 5, "internal": 8, "restricted": 13, "confidential": 21,
             "strictly-confidential": 34}
_IA_WEIGHT = {"archive": 3, "operational": 5, "important": 8, "critical": 13,
              "mission-critical": 21}
_FLOW_C = {"public": 2, "internal": 3, "restricted": 5, "confidential": 8,
           "strictly-confidential": 13}
_FLOW_IA = {"archive": 2, "operational": 3, "important": 5, "critical": 8,
            "mission-critical": 13}
_QUANTITY = {"very-few": 1, "few": 2, "many": 3, "very-many": 5}
# Threagile's technology multipliers, keyed by our component kinds (THREATMODEL.md §D step 2).
_KIND_FACTOR = {"authn": 2.5, "firmware-update": 2.0, "datastore": 2.0}
_SAFETY_FACTOR = 1.5
_CONTROLS = frozenset({"firewall", "ip-filter", "vpn", "data-diode"})
_LIKELIHOOD = ((0, "unlikely", 1), (2, "likely", 2), (3, "very-likely", 3))


def build_graph(model: ThreatModel) -> nx.DiGraph:
    """Nodes: entry points and components; edges: data flows with an attacker-effort cost."""
    g = nx.DiGraph()
    zone_of: dict[str, str] = {}
    for ep in model.entry_points:
        g.add_node(ep.id, role="entry", reach=ep.reach, zone=ep.zone)
        zone_of[ep.id] = ep.zone
    for c in model.components:
        g.add_node(c.id, role="component", kind=c.kind, zone=c.zone)
        zone_of[c.id] = c.zone
    controls = {c.id: frozenset(c.controls) for c in model.conduits}
    for f in model.data_flows:
        authenticated = f.authentication not in ("", "none")
        crosses = zone_of[f.source] != zone_of[f.target]
        guarded = bool(controls.get(f.conduit, frozenset()) & _CONTROLS)
        cost = int(authenticated) + int(crosses and guarded)
        attrs = dict(flow=f.id, cost=cost, authenticated=authenticated, crosses=crosses,
                     guarded=guarded, assets=f.data_assets)
        _add_flow(g, f.source, f.target, attrs)
        if f.bidirectional:
            _add_flow(g, f.target, f.source, attrs)
    for ep in model.entry_points:
        # An entry point that names its component and has no flow gets an implicit edge.
        if ep.component and not g.out_degree(ep.id):
            authenticated = ep.authentication not in ("", "none")
            g.add_edge(ep.id, ep.component, flow="(implicit)", cost=int(authenticated),
                       authenticated=authenticated, crosses=False, guarded=False, assets=())
    return g


def _add_flow(g: nx.DiGraph, source: str, target: str, attrs: dict) -> None:
    """Add a flow edge; of parallel flows the attacker takes the cheapest, assets add up."""
    if g.has_edge(source, target):
        old = g.edges[source, target]
        assets = tuple(dict.fromkeys((*old["assets"], *attrs["assets"])))
        if old["cost"] <= attrs["cost"]:
            old["assets"] = assets
            return
        attrs = {**attrs, "assets": assets}
    g.add_edge(source, target, **attrs)


def _raw_value(model: ThreatModel, g: nx.DiGraph) -> dict[str, tuple[float, list[str]]]:
    assets = {a.id: a for a in model.assets}
    out: dict[str, tuple[float, list[str]]] = {}
    for c in model.components:
        if c.out_of_scope:
            out[c.id] = (0.0, ["out of scope: asset value 0"])
            continue
        total, why = 0.0, []
        for role, ids in (("processes", c.assets_processed), ("stores", c.assets_stored)):
            for aid in ids:
                a = assets[aid]
                q = _QUANTITY[a.quantity]
                s = _SAFETY_FACTOR if a.safety_relevant else 1.0
                v = _C_WEIGHT[a.confidentiality] * q + _IA_WEIGHT[a.integrity] * q * s + (
                    _IA_WEIGHT[a.availability] * s
                )
                total += v
                safety = ", safety-relevant: I and A x1.5" if a.safety_relevant else ""
                why.append(f"{role} {aid} (C {a.confidentiality}, I {a.integrity}, "
                           f"A {a.availability}, quantity {a.quantity}{safety}): +{v:g}")
        for _, target, data in g.out_edges(c.id, data=True):
            for aid in data["assets"]:
                a = assets[aid]
                q = _QUANTITY[a.quantity]
                v = (_FLOW_C[a.confidentiality] + _FLOW_IA[a.integrity]) * q + _FLOW_IA[
                    a.availability
                ]
                total += v
                why.append(f"sends {aid} to {target}: +{v:g}")
        factor = _KIND_FACTOR.get(c.kind)
        if factor:
            total *= factor
            why.append(f"kind {c.kind}: x{factor:g}")
        out[c.id] = (total, why)
    return out


def asset_values(model: ThreatModel, g: nx.DiGraph) -> dict[str, tuple[float, list[str]]]:
    """RAA(c) in 1..100 per component, with the reasons (Threagile raa.go, with pivot)."""
    raw = _raw_value(model, g)
    values = [v for v, _ in raw.values()] or [0.0]
    lo, hi = min(values), max(values)
    spread = (hi - lo) or 1.0

    def norm(x: float) -> float:
        return (x - lo) / spread * 100.0

    out = {}
    for cid, (aa, why) in raw.items():
        why = list(why)
        pivot, via = 0.0, ""
        for _, n in g.out_edges(cid):
            if n in raw:
                delta = norm(raw[n][0]) - norm(aa)
                if delta > 0 and delta / 3 > pivot:
                    pivot, via = delta / 3, n
        if pivot:
            why.append(f"pivot: +{pivot:.1f} (a third of the gap to {via})")
        raa = norm(aa + pivot)
        raa = max(1.0, min(100.0, raa))
        why.append(f"RAA {raa:.0f} (min-max normalised over all components)")
        out[cid] = (raa, why)
    return out


def _impact(raa: float) -> tuple[str, int]:
    if raa < 25:
        return "low", 1
    if raa < 50:
        return "medium", 2
    if raa < 75:
        return "high", 3
    return "very-high", 4


def _tier(product: int) -> Tier:
    # Threagile CalculateSeverity: <=1 low, <=3 medium, <=8 elevated, <=12 high, else critical.
    for limit, tier in ((1, Tier.LOW), (3, Tier.MEDIUM), (8, Tier.ELEVATED), (12, Tier.HIGH)):
        if product <= limit:
            return tier
    return Tier.CRITICAL


def component_risks(model: ThreatModel) -> dict[str, ComponentRisk]:
    """Compute exposure, asset value and tier for every component, explained."""
    g = build_graph(model)
    values = asset_values(model, g)
    entries = model.entry_points
    out = {}
    for c in model.components:
        reasons: list[str] = []
        best: int | None = None
        best_path: tuple[str, ...] = ()
        unauth = False
        for ep in entries:
            try:
                cost, path = nx.single_source_dijkstra(g, ep.id, c.id, weight="cost")
            except nx.NetworkXNoPath:
                continue
            score = REACH_SCORE[ep.reach] - int(cost)
            # A path whose effort exceeds the entry's reach (score < 0) still makes the
            # component reachable; only its exposure is clamped to 0 below.
            if best is None or score > best:
                best, best_path = score, tuple(path)
            if cost == 0 and REACH_SCORE[ep.reach] >= REACH_SCORE["adjacent"]:
                unauth = True
        reachable = best is not None
        exposure = max(0, best) if best is not None else 0
        if best is not None:
            reach = g.nodes[best_path[0]]["reach"]
            hops = zip(best_path, best_path[1:], strict=False)
            crossings = sum(g.edges[a, b]["crosses"] for a, b in hops)
            reasons.append(
                f"exposure {exposure}: {' -> '.join(best_path)} (entry reach {reach} = "
                f"{REACH_SCORE[reach]}, effort {REACH_SCORE[reach] - best}, "
                f"{crossings} zone crossing(s))"
            )
        else:
            reasons.append("exposure 0: not reachable from any entry point")
        if unauth:
            reasons.append("reachable unauthenticated from an adjacent or wider entry point")
        likelihood, lw = next(
            ((name, w) for limit, name, w in _LIKELIHOOD if exposure <= limit), ("frequent", 4)
        )
        raa, why = values[c.id]
        impact, iw = _impact(raa)
        reasons.extend(why)
        tier = _tier(lw * iw)
        reasons.append(
            f"tier {tier.label}: likelihood {likelihood} ({lw}) x impact {impact} ({iw})"
            f" = {lw * iw}"
        )
        if c.kind == "test":
            tier = Tier.LOW
            reasons.append("test code: tier low")
        if c.out_of_scope:
            reasons.append(f"out of scope: {c.justification}")
        out[c.id] = ComponentRisk(
            component_id=c.id, kind=c.kind, tier=tier, exposure=exposure, asset_value=raa,
            likelihood=likelihood, impact=impact, unauthenticated_from_untrusted=unauth,
            reachable=reachable, path=best_path, out_of_scope=c.out_of_scope,
            justification=c.justification, reasons=tuple(reasons),
        )
    return out
