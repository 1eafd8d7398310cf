"""Import an OWASP Threat Dragon v2 JSON model as a schema-v1 YAML starting point.

Threat Dragon keeps every diagram element in ``detail.diagrams[].cells[]``: ``tm.Actor``,
``tm.Process``, ``tm.Store``, ``tm.Flow`` (``source.cell``/``target.cell``), trust boundaries
as boxes (``tm.BoundaryBox``) or curves (``tm.Boundary``), and threats in
``cells[].data.threats[]``. Boundary membership is only geometric in real files, so an element
belongs to the smallest box that holds its centre; curves hold nothing. Actors become entry
points, processes and stores components, boxes zones (nested by containment). Source paths do
not exist in Threat Dragon: each component gets a ``FILL-ME/<id>/**`` glob and a comment
saying to replace it (``validate --source-root`` warns until then). Threats are kept as
comments, since schema v1 has no threat section.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from threatmodel.loader import MAX_BYTES, ModelError, parse_model

_NODE_TYPES = {"tm.Actor": "actor", "tm.Process": "process", "tm.Store": "store"}
_BOX_TYPES = ("tm.BoundaryBox",)


@dataclass
class _Node:
    cell_id: str
    kind: str  # actor | process | store | box
    name: str
    data: dict[str, Any]
    box: tuple[float, float, float, float] | None  # x, y, width, height
    diagram: int = 0
    id: str = ""
    zone: str = ""
    threats: list[str] = field(default_factory=list)


def _where(text: str, key: str) -> str:
    """``line L column C`` of the first ``"key"`` in the JSON text (1, 1 if absent)."""
    at = text.find(f'"{key}"')
    if at < 0:
        return "line 1 column 1"
    line = text.count("\n", 0, at) + 1
    return f"line {line} column {at - (text.rfind(chr(10), 0, at) + 1) + 1}"


def _slug(name: str, taken: set[str], prefix: str = "") -> str:
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "element"
    base = prefix + base
    slug, n = base, 2
    while slug in taken or slug == "unmodelled":
        slug, n = f"{base}-{n}", n + 1
    taken.add(slug)
    return slug


def _rect(cell: dict[str, Any]) -> tuple[float, float, float, float] | None:
    pos, size = cell.get("position"), cell.get("size")
    if not isinstance(pos, dict) or not isinstance(size, dict):
        return None
    try:
        return (float(pos["x"]), float(pos["y"]), float(size["width"]), float(size["height"]))
    except (KeyError, TypeError, ValueError):
        return None


def _inside(inner: tuple[float, float, float, float], outer: tuple[float, float, float, float]
            ) -> bool:
    cx, cy = inner[0] + inner[2] / 2, inner[1] + inner[3] / 2
    return outer[0] <= cx <= outer[0] + outer[2] and outer[1] <= cy <= outer[1] + outer[3]


def _q(text: Any) -> str:
    """A YAML double-quoted scalar (JSON string syntax is valid YAML)."""
    return json.dumps(str(text), ensure_ascii=False)


def _threat_lines(data: dict[str, Any]) -> list[str]:
    out = []
    for t in data.get("threats") or []:
        if isinstance(t, dict):
            bits = [str(t.get(k)) for k in ("status", "severity", "type") if t.get(k)]
            line = f"{t.get('title') or '(untitled)'}" + (f" ({', '.join(bits)})" if bits else "")
            out.append(" ".join(line.split()))
    return out


def import_threat_dragon(path: str | Path) -> str:
    """Convert a Threat Dragon v2 JSON file into commented schema-v1 YAML that validates."""
    p = Path(path)
    try:
        if p.stat().st_size > MAX_BYTES:
            raise ModelError(f"{p.name}: line 1 column 1: (top level): file is larger than "
                             f"the {MAX_BYTES // (1024 * 1024)} MB limit")
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ModelError(f"{p}: cannot read: {e}") from e
    return convert_threat_dragon(text, p.name)


def convert_threat_dragon(text: str, name: str = "model.json") -> str:
    """Convert Threat Dragon v2 JSON text; errors name the line like the YAML loader's."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise ModelError(f"{name}: line {e.lineno} column {e.colno}: JSON error: {e.msg}") from e
    detail = doc.get("detail") if isinstance(doc, dict) else None
    diagrams = detail.get("diagrams") if isinstance(detail, dict) else None
    if not isinstance(diagrams, list) or not all(isinstance(d, dict) for d in diagrams):
        raise ModelError(f"{name}: {_where(text, 'diagrams')}: detail.diagrams: expected a list "
                         "of diagrams (a Threat Dragon v2 model)")
    summary = doc["summary"] if isinstance(doc.get("summary"), dict) else {}
    title = str(summary.get("title") or Path(name).stem)

    nodes: dict[str, _Node] = {}
    flows: list[tuple[dict[str, Any], dict[str, Any], int]] = []
    skipped: list[str] = []
    for d, diagram in enumerate(diagrams):
        cells = diagram.get("cells") or []
        if not isinstance(cells, list):
            raise ModelError(f"{name}: {_where(text, 'cells')}: detail.diagrams[{d}].cells: "
                             "expected a list")
        for cell in cells:
            if not isinstance(cell, dict):
                continue
            data: dict[str, Any] = cell["data"] if isinstance(cell.get("data"), dict) else {}
            ctype = data.get("type") or cell.get("type") or ""
            cid = str(cell.get("id") or "")
            if ctype == "tm.Flow" or cell.get("shape") == "flow":
                flows.append((cell, data, d))
            elif ctype in _NODE_TYPES or ctype in _BOX_TYPES:
                kind = _NODE_TYPES.get(ctype, "box")
                label = data.get("name") or cell.get("attrs", {}).get("text", {}).get("text")
                nodes[cid] = _Node(cid, kind, " ".join(str(label or kind).split()), data,
                                   _rect(cell), d)
            elif ctype == "tm.Boundary":
                skipped.append(f"boundary curve {data.get('name') or cid!r}: a line, it "
                               "contains nothing; draw a box to make a zone")

    taken: set[str] = set()
    boxes = [n for n in nodes.values() if n.kind == "box" and n.box]
    for b in boxes:
        b.id = _slug(b.name, taken, "z-")
    parent: dict[str, str] = {}
    for b in boxes:
        holders = [o for o in boxes if o is not b and o.diagram == b.diagram and o.box and b.box
                   and _inside(b.box, o.box) and o.box[2] * o.box[3] > b.box[2] * b.box[3]]
        if holders:
            parent[b.id] = min(holders, key=lambda o: o.box[2] * o.box[3] if o.box else 0).id
    outside = _slug("outside", taken, "z-")
    for n in nodes.values():
        if n.kind == "box":
            continue
        n.id = _slug(n.name, taken, "ep-" if n.kind == "actor" else "")
        holders = [b for b in boxes
                   if b.diagram == n.diagram and n.box and b.box and _inside(n.box, b.box)]
        n.zone = min(holders, key=lambda b: b.box[2] * b.box[3] if b.box else 0).id \
            if holders else outside
        n.threats = _threat_lines(n.data)

    def depth(zid: str) -> int:
        return 1 + depth(parent[zid]) if zid in parent else 1

    lines = [
        f"# Imported from the Threat Dragon model {name} by `triage threatmodel import`.",
        "# Review everything below: Threat Dragon knows no source paths, trust levels, reach,",
        "# authentication or asset values, so these are conservative defaults to correct.",
        "schema_version: 1",
        "",
        "product:",
        f"  name: {_q(title)}",
        "  target_sl: 2                     # fill in: the SL-C you build for (1..4)",
    ]
    if summary.get("description"):
        lines.append(f"  description: {_q(' '.join(str(summary['description']).split()))}")
    lines += ["", "zones:                             # boxes; trust = nesting depth",
              f"  {outside}: {{ trust: 0, description: \"outside every trust boundary\" }}"]
    for b in boxes:
        extra = f", parent: {parent[b.id]}" if b.id in parent else ""
        lines.append(f"  {b.id}: {{ trust: {depth(b.id)}{extra}, description: {_q(b.name)} }}")

    node_by_cell = {n.cell_id: n for n in nodes.values() if n.kind != "box"}
    public: set[str] = set()
    flow_lines = []
    flow_ids: set[str] = set()
    for cell, data, d in flows:
        ends = []
        for end in ("source", "target"):
            ref: dict[str, Any] = cell[end] if isinstance(cell.get(end), dict) else {}
            ends.append(node_by_cell.get(str(ref.get("cell") or ref.get("id") or "")))
        fname = " ".join(str(data.get("name") or "flow").split())
        src, dst = ends
        if src is None or dst is None:
            skipped.append(f"flow {fname!r} in diagram {d}: an end is not attached to an "
                           "actor, process or store")
            continue
        if data.get("isPublicNetwork"):
            public.update((src.id, dst.id))
        fid = _slug(fname, flow_ids, "f-")
        attrs = [f"source: {src.id}", f"target: {dst.id}"]
        if data.get("protocol"):
            attrs.append(f"protocol: {_q(data['protocol'])}")
        attrs.append("authentication: none")
        attrs.append(f"encrypted: {'true' if data.get('isEncrypted') else 'false'}")
        if data.get("isBidirectional"):
            attrs.append("bidirectional: true")
        flow_lines.append(f"  {fid}: {{ {', '.join(attrs)} }}")
        flow_lines += [f"  # threat: {t}" for t in _threat_lines(data)]

    lines += ["", "entry_points:                      # from actors; reach internet where a flow "
                  "is public, else adjacent"]
    for n in (n for n in node_by_cell.values() if n.kind == "actor"):
        reach = "internet" if n.id in public else "adjacent"
        lines.append(f"  {n.id}: {{ zone: {n.zone}, kind: network, reach: {reach}, "
                     f"authentication: none, description: {_q(n.name)} }}")
        lines += [f"  # threat: {t}" for t in n.threats]
    comps = [n for n in node_by_cell.values() if n.kind != "actor"]
    lines += ["", "components:                        # from processes and stores"]
    if not comps:
        raise ModelError(f"{name}: {_where(text, 'cells')}: detail.diagrams: no process or "
                         "store to make a component of")
    for n in comps:
        kind = "datastore" if n.kind == "store" else (
            "web-server" if n.data.get("isWebApplication") else "process")
        lines += [f"  {n.id}:", f"    name: {_q(n.name)}", f"    kind: {kind}",
                  f"    zone: {n.zone}",
                  f'    paths: ["FILL-ME/{n.id}/**"]   # fill in: its source globs']
        if n.data.get("outOfScope"):
            reason = n.data.get("reasonOutOfScope") or "out of scope in Threat Dragon (no reason)"
            lines += ["    out_of_scope: true",
                      f"    justification_out_of_scope: {_q(' '.join(str(reason).split()))}"]
        if n.data.get("description"):
            lines.append(f"    description: {_q(' '.join(str(n.data['description']).split()))}")
        lines += [f"    # threat: {t}" for t in n.threats]
    lines += ["", "data_flows:                        # authentication unknown: none until you say"]
    lines += flow_lines or ["  {}"]
    lines += ["", "assets: {}                         # fill in: data assets (Threagile scales)"]
    if skipped:
        lines += ["", "# Not imported:"] + [f"#   {s}" for s in skipped]
    out = "\n".join(lines) + "\n"
    if not flow_lines:
        out = out.replace("data_flows:                        # authentication unknown: none "
                          "until you say\n  {}\n", "data_flows: {}\n")
    parse_model(out, name)  # what we write must load; a failure here is our bug, not the user's
    return out
