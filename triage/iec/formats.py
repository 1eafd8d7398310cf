"""Formats of the requirement table and the plan: registries of pure ``render -> str``."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import jinja2
import markupsafe
from rich.console import Console
from rich.table import Table

from triage.errors import BadInputError
from triage.iec.records import Answer, Plan, PlanItem, RequirementTable


def _cell(text: str) -> str:
    """Escape Markdown table metacharacters and HTML, and keep a cell on one line."""
    return (text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
            .replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("`", "\\`") if text else "")


def _code(text: str) -> str:
    """A Markdown cell where `backticked` commands stay code spans."""
    parts = text.split("`")
    return "".join(f"`{p.replace('|', '&#124;')}`" if i % 2 else _cell(p)
                   for i, p in enumerate(parts))


def _table_text(table: Table) -> str:
    buf = io.StringIO()
    Console(file=buf, width=200, color_system=None, highlight=False).print(table)
    return buf.getvalue()


# ---- the requirement table ------------------------------------------------------------------

def _req_json(t: RequirementTable) -> str:
    doc = {
        "source": t.source,
        "methods": {m.method.value: m.meaning for m in t.methods},
        "requirements": [
            {"id": r.id, "title": r.title, "practice": r.practice,
             "practice_title": r.practice_title, "practice_clause": r.practice_clause,
             "clause": r.clause, "method": r.method.value, "risk_based": r.risk_based,
             "evidence": r.evidence or None}
            for r in t.requirements
        ],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _req_md(t: RequirementTable) -> str:
    lines = ["# IEC 62443-4-1: most likely method per requirement for a legacy product", "",
             *[f"- **{m.method.value}**: {m.meaning}" for m in t.methods], "",
             "| requirement | title | practice | clause | method | risk-based | "
             "evidence from triage |",
             "|---|---|---|---|---|---|---|"]
    for r in t.requirements:
        lines.append(f"| {r.id} | {_cell(r.title)} | {r.practice} ({_cell(r.practice_title)}) "
                     f"| {r.clause or '§' + r.practice_clause} | {r.method.value} | "
                     f"{'yes' if r.risk_based else ''} | {_cell(r.evidence)} |")
    return "\n".join(lines) + "\n"


def _req_table(t: RequirementTable) -> str:
    table = Table(title="IEC 62443-4-1: most likely method per requirement (legacy product)")
    for col in ("id", "title", "practice", "clause", "method", "risk-based", "evidence"):
        table.add_column(col)
    for r in t.requirements:
        table.add_row(r.id, r.title, r.practice, r.clause or f"§{r.practice_clause}",
                      r.method.value, "yes" if r.risk_based else "",
                      "yes" if r.evidence else "")
    return _table_text(table)


REQUIREMENT_FORMATS: dict[str, Callable[[RequirementTable], str]] = {
    "json": _req_json,
    "md": _req_md,
    "table": _req_table,
}
"""Format name → renderer of the requirement table."""


def render_requirements(fmt: str, table: RequirementTable) -> str:
    """Render the requirement table in ``fmt``."""
    if fmt not in REQUIREMENT_FORMATS:
        raise BadInputError(f"unknown format {fmt!r}; known: "
                            f"{', '.join(sorted(REQUIREMENT_FORMATS))}")
    return REQUIREMENT_FORMATS[fmt](table)


# ---- the plan -------------------------------------------------------------------------------

def _reply(a: Answer | None, key: str) -> str:
    value = getattr(a, key) if a is not None else None
    return value.value if value is not None else ""


def _item_json(item: PlanItem) -> dict[str, Any]:
    r, a = item.requirement, item.answer
    return {
        "id": r.id, "title": r.title, "practice": r.practice, "clause": r.clause,
        "method": r.method.value, "risk_based": r.risk_based,
        "answers": None if a is None else {
            "followed": _reply(a, "followed") or None, "now": _reply(a, "now") or None,
            "future": _reply(a, "future") or None, "address": a.address or None,
            "note": a.note or None, "line": a.line,
        },
        "approach": item.approach.value, "agrees_with_method": item.agrees,
        "actions": list(item.actions),
        "address": item.address or None, "address_source": item.address_source or None,
        "evidence": None if item.evidence is None else {
            "what": item.evidence.what, "links": list(item.evidence.links)},
        "flags": [{"kind": f.kind, "text": f.text} for f in item.flags],
    }


def _plan_json(p: Plan) -> str:
    c = p.context
    doc = {
        "source": p.source, "product": c.product, "generated_at": p.generated_at,
        "tool_version": p.tool_version,
        "target_sl": c.target_sl.label if c.target_sl is not None else None,
        "target_sl_source": c.sl_source or None, "policy": c.policy or None,
        "threat_model": None if not c.threat_model else {
            "file": c.threat_model, "last_reviewed": c.last_reviewed or None,
            "scope_justification": c.scope_justification or None,
            "high_risk_components": [{"id": h.id, "tier": h.tier, "paths": list(h.paths)}
                                     for h in c.high_risk]},
        "releases": [{"name": r.name, "tools": list(r.tools), "findings": r.findings,
                      "must_fix": r.must_fix} for r in c.releases],
        "approaches": p.approach_counts(),
        "flags": [{"requirement": f.requirement, "kind": f.kind, "text": f.text}
                  for f in p.flags],
        "items": [_item_json(i) for i in p.items],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _q4(item: PlanItem, p: Plan) -> str:
    """Question 4 for a table cell: the answer, or the SL policy by name."""
    sl = p.context.target_sl
    if item.address_source != "answer" and item.address and sl is not None:
        return f"{sl.label} policy"
    return item.address


def _summary(p: Plan) -> str:
    counts = p.approach_counts()
    return ", ".join(f"{n} {a}" for a, n in counts.items() if n)


def _sl_line(p: Plan) -> str:
    c = p.context
    if c.target_sl is None:
        return "no target SL: question 4 must be answered per requirement"
    return f"{c.target_sl.label} (from {c.sl_source}): {c.policy}"


def _plan_md(p: Plan) -> str:
    c = p.context
    lines = [f"# IEC 62443-4-1 legacy plan: {_cell(c.product or 'product')}", "",
             f"Answers: `{_cell(p.source)}` · target SL: {_cell(_sl_line(p))} · "
             f"approaches: {_summary(p)} · {len(p.flags)} flags", ""]
    if c.threat_model:
        lines += [f"Threat model: `{_cell(c.threat_model)}`, last reviewed "
                  f"{c.last_reviewed or 'never'}; high-risk components: "
                  + (", ".join(f"{_cell(h.id)} ({h.tier})" for h in c.high_risk) or "none"), ""]
    lines += ["## Flags", ""]
    lines += [f"- **{f.requirement}** {f.kind}: {_cell(f.text)}" for f in p.flags] or ["None."]
    lines += ["", "## Plan", "",
              "| requirement | likely | Q1 | Q2 | Q3 | approach | actions | Q4: issues to "
              "address | note |",
              "|---|---|---|---|---|---|---|---|---|"]
    for item in p.items:
        r, a = item.requirement, item.answer
        approach = item.approach.value if item.agrees else f"**{item.approach.value}**"
        lines.append(
            f"| {r.id} {_cell(r.title)} | {r.method.value} | {_reply(a, 'followed')} | "
            f"{_reply(a, 'now')} | {_reply(a, 'future')} | {approach} | "
            + "<br>".join(_code(x) for x in item.actions)
            + f" | {_cell(_q4(item, p))} | {_cell(a.note if a else '')} |")
    lines += ["", "Approaches in **bold** differ from the most likely method.", "",
              "## Evidence this tool provides", "", "| requirement | evidence | where |",
              "|---|---|---|"]
    for item in p.items:
        if item.evidence is not None:
            lines.append(f"| {item.requirement.id} {_cell(item.requirement.title)} | "
                         f"{_cell(item.evidence.what)} | "
                         + "<br>".join(_code(x) for x in item.evidence.links) + " |")
    lines += ["", f"<sub>triage {p.tool_version}, {p.generated_at}</sub>"]
    return "\n".join(lines) + "\n"


def _plan_table(p: Plan) -> str:
    table = Table(title=f"IEC 62443-4-1 legacy plan: {p.context.product or 'product'} "
                        f"({_summary(p)})")
    for col in ("id", "title", "likely", "Q1", "Q2", "Q3", "approach", "Q4", "flags"):
        table.add_column(col)
    for item in p.items:
        a = item.answer
        table.add_row(item.requirement.id, item.requirement.title,
                      item.requirement.method.value, _reply(a, "followed"), _reply(a, "now"),
                      _reply(a, "future"),
                      item.approach.value + ("" if item.agrees else " *"),
                      _q4(item, p), str(len(item.flags)) if item.flags else "")
    text = _table_text(table)
    notes = [f"{f.requirement} {f.kind}: {f.text}" for f in p.flags]
    return text + ("* differs from the most likely method\n" if text else "") + (
        "\n".join(notes) + "\n" if notes else "")


_HTML = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>IEC 62443-4-1 legacy plan: {{ c.product or "product" }}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em; color: #1b1f24; }
table { border-collapse: collapse; width: 100%; margin: 1em 0; }
th, td { border: 1px solid #d0d7de; padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
tr.differs td.approach { font-weight: bold; color: #9a6700; }
.flag-contradiction { color: #cf222e; }
.flag-blank, .flag-evidence { color: #9a6700; }
code { background: #f6f8fa; padding: 0 3px; }
ul { margin: 0; padding-left: 1.2em; }
</style>
</head>
<body>
<h1>IEC 62443-4-1 legacy plan: {{ c.product or "product" }}</h1>
<p>Answers: <code>{{ p.source }}</code> · target SL: {{ sl_line }} ·
approaches: {{ summary }} · {{ flags|length }} flags</p>
{% if c.threat_model %}
<p>Threat model: <code>{{ c.threat_model }}</code>, last reviewed
{{ c.last_reviewed or "never" }}; high-risk components:
{% for h in c.high_risk %}{{ h.id }} ({{ h.tier }}){% if not loop.last %}, {% endif %}
{% else %}none{% endfor %}</p>
{% endif %}
<h2>Flags</h2>
{% if flags %}<ul id="flags">
{% for f in flags %}<li class="flag-{{ f.kind }}"><b>{{ f.requirement }}</b> {{ f.kind }}:
{{ f.text }}</li>
{% endfor %}</ul>{% else %}<p>None.</p>{% endif %}
<h2>Plan</h2>
<table id="plan">
<thead><tr><th>requirement</th><th>likely</th><th>Q1</th><th>Q2</th><th>Q3</th>
<th>approach</th><th>actions</th><th>Q4: issues to address</th><th>note</th></tr></thead>
<tbody>
{% for item in p.items %}{% set a = item.answer %}
<tr id="{{ item.requirement.id }}"{% if not item.agrees %} class="differs"{% endif %}>
<td>{{ item.requirement.id }} {{ item.requirement.title }}</td>
<td>{{ item.requirement.method.value }}</td>
<td>{{ reply(a, "followed") }}</td><td>{{ reply(a, "now") }}</td>
<td>{{ reply(a, "future") }}</td>
<td class="approach">{{ item.approach.value }}</td>
<td><ul>{% for x in item.actions %}<li>{{ x|code }}</li>{% endfor %}</ul></td>
<td>{{ item.address }}</td>
<td class="note">{{ a.note if a else "" }}</td>
</tr>
{% endfor %}</tbody>
</table>
<p>Approaches in bold differ from the most likely method.</p>
<h2>Evidence this tool provides</h2>
<table id="evidence">
<thead><tr><th>requirement</th><th>evidence</th><th>where</th></tr></thead>
<tbody>
{% for item in p.items if item.evidence %}
<tr><td>{{ item.requirement.id }} {{ item.requirement.title }}</td>
<td>{{ item.evidence.what }}</td>
<td><ul>{% for x in item.evidence.links %}<li>{{ x|code }}</li>{% endfor %}</ul></td></tr>
{% endfor %}</tbody>
</table>
<footer><small>triage {{ p.tool_version }}, {{ p.generated_at }}</small></footer>
</body>
</html>
"""

def _html_code(text: str) -> markupsafe.Markup:
    """Escape ``text``; its `backticked` spans become ``<code>`` elements."""
    parts = str(text).split("`")
    return markupsafe.Markup("").join(
        markupsafe.Markup("<code>%s</code>") % p if i % 2 else markupsafe.escape(p)
        for i, p in enumerate(parts))


_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                          keep_trailing_newline=True)
_ENV.filters["code"] = _html_code


def _plan_html(p: Plan) -> str:
    return _ENV.from_string(_HTML).render(
        p=p, c=p.context, flags=p.flags, summary=_summary(p), sl_line=_sl_line(p),
        reply=_reply)


PLAN_FORMATS: dict[str, Callable[[Plan], str]] = {
    "html": _plan_html,
    "json": _plan_json,
    "md": _plan_md,
    "table": _plan_table,
}
"""Format name → renderer of the plan."""


def render_plan(fmt: str, plan: Plan) -> str:
    """Render the plan in ``fmt``."""
    if fmt not in PLAN_FORMATS:
        raise BadInputError(f"unknown format {fmt!r}; known: {', '.join(sorted(PLAN_FORMATS))}")
    return PLAN_FORMATS[fmt](plan)
