"""Text views of a model and its component risks: table, JSON, DOT, Mermaid, scan scope.

Every function returns a string (or lines) and is deterministic: the model's order, no
clock. High-risk means tier high or critical (THREATMODEL.md §D step 4).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from threatmodel.records import ComponentRisk, ThreatModel, Tier

HIGH_RISK = Tier.HIGH
"""The lowest tier of the high-risk components."""
_FILL = {Tier.CRITICAL: "#e06666", Tier.HIGH: "#f4a6a6", Tier.ELEVATED: "#fce5cd",
         Tier.MEDIUM: "#fff2cc", Tier.LOW: "#ffffff"}


def is_high_risk(risk: ComponentRisk) -> bool:
    """Tier high or critical, and in scope."""
    return risk.tier >= HIGH_RISK and not risk.out_of_scope


def why(risk: ComponentRisk) -> str:
    """A one-line explanation: the exposure path, its flags and the tier arithmetic."""
    parts = [" -> ".join(risk.path) if risk.reachable else "not reachable from any entry point"]
    if risk.unauthenticated_from_untrusted:
        parts.append("unauthenticated")
    parts.append(f"{risk.likelihood} x {risk.impact}")
    if risk.kind == "test":
        parts.append("test code")
    if risk.out_of_scope:
        parts.append("out of scope")
    return "; ".join(parts)


def risk_table(model: ThreatModel, risks: Mapping[str, ComponentRisk]) -> str:
    """Components with tier, exposure, asset value and why, in model order."""
    header = ("COMPONENT", "KIND", "TIER", "EXPOSURE", "VALUE", "WHY")
    rows = [header] + [
        (r.component_id + (" *" if is_high_risk(r) else ""), r.kind, r.tier.label,
         str(r.exposure), f"{r.asset_value:.0f}", why(r))
        for r in (risks[c.id] for c in model.components)
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = ["  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)), row[-1]])
             for row in rows]
    high = sum(is_high_risk(r) for r in risks.values())
    lines.append("")
    lines.append(f"{model.product}: {len(risks)} components, {high} high-risk (*: tier high "
                 f"or critical); exposure 0..5, asset value (RAA) 1..100")
    return "\n".join(lines) + "\n"


def risk_json(model: ThreatModel, risks: Mapping[str, ComponentRisk]) -> str:
    """The model summary and every component's risk with all its reasons, as JSON."""
    comps = []
    for c in model.components:
        r = risks[c.id]
        comps.append({
            "id": c.id, "name": c.name, "kind": c.kind, "zone": c.zone, "tier": r.tier.label,
            "high_risk": is_high_risk(r), "exposure": r.exposure,
            "asset_value": round(r.asset_value, 1), "likelihood": r.likelihood,
            "impact": r.impact, "reachable": r.reachable,
            "unauthenticated_from_untrusted": r.unauthenticated_from_untrusted,
            "path": list(r.path), "out_of_scope": r.out_of_scope,
            "justification": r.justification, "paths": list(c.paths),
            "exclude_paths": list(c.exclude_paths), "reasons": list(r.reasons),
        })
    doc = {"product": model.product, "model": model.source, "target_sl": model.target_sl,
           "last_reviewed": model.last_reviewed.isoformat() if model.last_reviewed else None,
           "high_risk": [c["id"] for c in comps if c["high_risk"]], "components": comps}
    return json.dumps(doc, indent=2) + "\n"


def scope_globs(model: ThreatModel, risks: Mapping[str, ComponentRisk]) -> tuple[str, ...]:
    """The path globs of the high-risk components, in model order, each once (SM-5 phase 1)."""
    out: dict[str, None] = {}
    for c in model.components:
        if is_high_risk(risks[c.id]):
            out.update(dict.fromkeys(c.paths))
    return tuple(out)


def _zone_tree(model: ThreatModel) -> dict[str, list[str]]:
    children: dict[str, list[str]] = {"": []}
    for z in model.zones:
        children.setdefault(z.id, [])
        children.setdefault(z.parent, []).append(z.id)
    return children


def _members(model: ThreatModel) -> dict[str, list[tuple[str, bool]]]:
    """Zone id -> [(node id, is entry point)] in model order."""
    out: dict[str, list[tuple[str, bool]]] = {z.id: [] for z in model.zones}
    for e in model.entry_points:
        out[e.zone].append((e.id, True))
    for c in model.components:
        out[c.zone].append((c.id, False))
    return out


def _dq(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(model: ThreatModel, risks: Mapping[str, ComponentRisk]) -> str:
    """Graphviz DOT: zones as (nested) clusters, high-risk components filled and bold."""
    trust = {z.id: z.trust for z in model.zones}
    eps = {e.id: e for e in model.entry_points}
    members, children = _members(model), _zone_tree(model)
    out = [f"digraph {_dq(model.product)} {{", "  rankdir=LR;",
           '  graph [fontname="Helvetica", fontsize=11];',
           '  node [fontname="Helvetica", fontsize=10];',
           '  edge [fontname="Helvetica", fontsize=9];']

    def node(nid: str, is_entry: bool, indent: str) -> str:
        if is_entry:
            e = eps[nid]
            label = f"{nid}\\n{e.reach}, auth {e.authentication}"
            return f'{indent}{_dq(nid)} [shape=cds, label="{label}"];'
        r = risks[nid]
        label = f"{nid}\\n{r.kind}\\n{r.tier.label}: X {r.exposure}, RAA {r.asset_value:.0f}"
        style = "filled,bold" if is_high_risk(r) else "filled"
        pen = ", penwidth=3, color=\"#990000\"" if is_high_risk(r) else ""
        if r.out_of_scope:
            style += ",dashed"
        return (f'{indent}{_dq(nid)} [shape=box, style="{style}", '
                f'fillcolor="{_FILL[r.tier]}"{pen}, label="{label}"];')

    def cluster(zid: str, indent: str) -> None:
        out.append(f"{indent}subgraph {_dq('cluster_' + zid)} {{")
        out.append(f'{indent}  label="{zid} (trust {trust[zid]})"; style=rounded;')
        for nid, is_entry in members[zid]:
            out.append(node(nid, is_entry, indent + "  "))
        for child in children[zid]:
            cluster(child, indent + "  ")
        out.append(f"{indent}}}")

    for zid in children[""]:
        cluster(zid, "  ")
    for e in _edges(model):
        src, dst, label, authenticated = e
        dash = ", style=dashed" if authenticated else ""
        out.append(f"  {_dq(src)} -> {_dq(dst)} [label={_dq(label)}{dash}];")
    out.append('  label="boxes: components (bold red: high-risk); arrows: data flows '
               '(dashed: authenticated)"; fontname="Helvetica"; fontsize=10;')
    out.append("}")
    return "\n".join(out) + "\n"


def _edges(model: ThreatModel) -> list[tuple[str, str, str, bool]]:
    """(source, target, label, authenticated) for flows and implicit entry-point edges."""
    out = []
    for f in model.data_flows:
        label = " ".join(x for x in (f.id, f.protocol, f"via {f.conduit}" if f.conduit else "")
                         if x)
        authenticated = f.authentication not in ("", "none")
        out.append((f.source, f.target, label, authenticated))
        if f.bidirectional:
            out.append((f.target, f.source, label, authenticated))
    with_flow = {f.source for f in model.data_flows} | {
        f.target for f in model.data_flows if f.bidirectional}
    for e in model.entry_points:
        if e.component and e.id not in with_flow:
            out.append((e.id, e.component, "(implicit)", e.authentication not in ("", "none")))
    return out


def to_mermaid(model: ThreatModel, risks: Mapping[str, ComponentRisk]) -> str:
    """Mermaid flowchart: zones as (nested) subgraphs, high-risk components in class high."""
    ids: dict[str, str] = {}
    for i, nid in enumerate([e.id for e in model.entry_points] +
                            [c.id for c in model.components]):
        ids[nid] = f"n{i}"
    eps = {e.id: e for e in model.entry_points}
    trust = {z.id: z.trust for z in model.zones}
    members, children = _members(model), _zone_tree(model)

    def q(text: str) -> str:
        return '"' + text.replace('"', "#quot;") + '"'

    out = ["flowchart LR"]

    def subgraph(zid: str, indent: str, n: list[int]) -> None:
        n[0] += 1
        out.append(f"{indent}subgraph z{n[0]}[{q(f'{zid} (trust {trust[zid]})')}]")
        for nid, is_entry in members[zid]:
            if is_entry:
                out.append(f"{indent}  {ids[nid]}([{q(f'{nid}<br/>{eps[nid].reach}')}])")
            else:
                r = risks[nid]
                text = f"{nid}<br/>{r.tier.label}: X {r.exposure}, RAA {r.asset_value:.0f}"
                out.append(f"{indent}  {ids[nid]}[{q(text)}]")
        for child in children[zid]:
            subgraph(child, indent + "  ", n)
        out.append(f"{indent}end")

    counter = [0]
    for zid in children[""]:
        subgraph(zid, "  ", counter)
    for src, dst, label, authenticated in _edges(model):
        arrow = "-.->" if authenticated else "-->"
        out.append(f"  {ids[src]} {arrow}|{q(label)}| {ids[dst]}")
    out.append("  classDef high fill:#f4a6a6,stroke:#990000,stroke-width:3px")
    high = [ids[c.id] for c in model.components if is_high_risk(risks[c.id])]
    if high:
        out.append(f"  class {','.join(high)} high")
    return "\n".join(out) + "\n"
