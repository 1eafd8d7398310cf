"""Self-contained HTML: one file, no network, inline SVG charts, sortable tables.

Rendered with jinja2 with autoescaping on, so every value from a SARIF log (messages, rule
ids, paths) reaches the page as text. A Content-Security-Policy in the page allows no
network at all and only the page's own script (by its hash): even a value that escaped the
template could neither load nor run anything. The script only sorts tables (click a column
head; ``#sort=TABLE:COLUMN:asc|desc`` in the URL sorts on load) and marks the page ready.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from jinja2 import DictLoader, Environment, StrictUndefined
from markupsafe import Markup

from triage.model import IssueRow, ReleaseReport, Status, TrendReport
from triage.report import charts, series
from triage.report.common import EVIDENCE, by_kind, decision_lines

SCRIPT = """(function () {
  function key(cell) {
    var v = cell.getAttribute("data-sort");
    if (v === null) { v = cell.textContent; }
    return /^-?[0-9]+(\\.[0-9]+)?$/.test(v.trim()) ? parseFloat(v) : v.toLowerCase();
  }
  function sortTable(table, col, dir) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a.cells[col]), y = key(b.cells[col]);
      if (typeof x !== typeof y) { x = String(x); y = String(y); }
      return (x < y ? -1 : x > y ? 1 : 0) * dir;
    });
    rows.forEach(function (r) { body.appendChild(r); });
    table.setAttribute("data-sorted", col + ":" + (dir > 0 ? "asc" : "desc"));
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, i) {
      th.addEventListener("click", function () {
        sortTable(table, i, table.getAttribute("data-sorted") === i + ":asc" ? -1 : 1);
      });
    });
  });
  var m = /^#sort=([A-Za-z0-9_-]+):([0-9]+):(asc|desc)$/.exec(location.hash);
  if (m) {
    var t = document.getElementById(m[1]);
    if (t) { sortTable(t, parseInt(m[2], 10), m[3] === "asc" ? 1 : -1); }
  }
  document.body.setAttribute("data-js", "ready");
})();"""
"""The page's only script: table sorting."""

_SCRIPT_HASH = base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
CSP = (f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
       f"script-src 'sha256-{_SCRIPT_HASH}'; base-uri 'none'; form-action 'none'")
"""Content-Security-Policy of every page: no network, only the sorting script runs."""

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1200px;color:#222;
padding:0 16px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0;font-size:13px}
th,td{border:1px solid #ddd;padding:3px 7px;text-align:left;vertical-align:top}
td.n,th.n{text-align:right}th{background:#f3f3f3}
table.sortable th{cursor:pointer}table.sortable th::after{content:" \\2195";color:#999}
.sev-critical{color:#fff;background:#b2182b}.sev-high{background:#ef8a62}
.sev-medium{background:#fddbc7}.msg{min-width:300px;max-width:520px;word-break:break-word}
td.loc{min-width:180px;max-width:300px;word-break:break-all}th{white-space:nowrap}
#releases th{white-space:normal}
.big{font-size:20px;font-weight:600}.muted{color:#666}
#charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(460px,1fr));gap:10px}
svg.chart{width:100%;height:auto;border:1px solid #eee}
svg .grid{stroke:#e5e5e5}svg .tick,svg .legend{font-size:11px;fill:#444}
svg .chart-title{font-size:13px;font-weight:600}
"""

_BASE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{ csp }}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title><style>{{ style }}</style></head>
<body data-report="{{ kind }}">
{% block body %}{% endblock %}
{% if version %}<p class="muted">triage {{ version }}, {{ generated_at }}</p>{% endif %}
<script>{{ script }}</script>
</body></html>
"""

_RELEASE = """{% extends "base" %}{% block body %}
<h1>{{ r.product }} {{ r.release }}: security findings at {{ r.sl.label }}</h1>
<p><span class="big" id="must-fix-count">{{ must|length }} must-fix</span> at {{ r.sl.label }}
({{ r.policy }}; supplier residual-risk policy under IEC 62443-4-1 DM-4).
{% if r.sl_definition %}<br>{{ r.sl.label }}: &ldquo;{{ r.sl_definition }}&rdquo;{% endif %}
{% if r.mode != "severity" %}<br>Policy mode: <strong>{{ r.mode }}</strong>.{% endif %}
<br>Scope (SM-5): <span id="scope">{{ r.scope }}</span>
{%- if r.scope_justification %} &mdash; {{ r.scope_justification }}{% endif %}.</p>
{% if not r.threat_model_given %}<p id="no-model"><strong>No threat model was given</strong>:
every finding sits in <code>unmodelled</code> and is rated on its own severity; reach and
component tiers are unknown.</p>{% endif %}
<table id="by-sl"><thead><tr><th>SL</th><th class="n">must-fix</th></tr></thead><tbody>
{% for sl, n in r.must_fix_by_sl %}<tr><td>{{ sl.label }}</td><td class="n">{{ n }}</td></tr>
{% endfor %}</tbody></table>
<p>Since {{ r.previous or "the start" }}:
{% for s, n in counts %}{{ n }} {{ s }}{% if not loop.last %}, {% endif %}{% endfor %}.</p>

<h2>Must fix at {{ r.sl.label }}, by risk</h2>
{% if must %}{{ finding_table("must-fix-table", must) }}
{% else %}<p>Nothing must be fixed at {{ r.sl.label }}.</p>{% endif %}

{% if r.disagreements %}<h2>Disagreements between the severity and capability modes
({{ r.disagreements|length }}, for review under DM-3)</h2>
<table id="disagreements" class="sortable"><thead><tr><th class="n">issue</th>
<th>severity</th><th>component</th><th>tool</th><th>rule</th><th>location</th><th>why</th>
</tr></thead><tbody>{% for t in r.disagreements %}{% set f = t.scored.finding %}<tr>
<td class="n">{{ t.issue_id }}</td><td>{{ t.scored.severity.label }}</td>
<td>{{ t.scored.exposure.component_id }}</td><td>{{ f.tool.name }}</td><td>{{ f.rule_id }}</td>
<td class="loc">{{ f.location.path }}:{{ f.location.start_line or "" }}</td>
<td class="msg">{{ t.verdict.disagreement }}</td></tr>{% endfor %}</tbody></table>{% endif %}

{% if decided %}<h2>Decisions (DM-4)</h2>
<table id="decisions" class="sortable"><thead><tr><th class="n">issue</th><th>decision</th>
<th>by</th><th>on</th><th>expires / target</th><th>expiry</th><th>disposition</th>
<th>reason</th></tr></thead><tbody>{% for x in decided %}{% set d = x.decision %}<tr>
<td class="n">{{ d.issue_id }}</td><td>{{ d.action.value }}</td><td>{{ d.by }}</td>
<td>{{ d.at.date().isoformat() }}</td>
<td>{{ d.expires.isoformat() if d.expires else d.target_release }}</td>
<td{% if x.expiry %} class="sev-high"{% endif %}>{{ x.expiry }}</td>
<td>{{ x.finding.verdict.disposition }}</td><td class="msg">{{ d.reason }}</td></tr>
{% endfor %}</tbody></table>{% endif %}

<h2>Must fix by component and severity</h2>
<table id="component-severity" class="sortable"><thead><tr><th>component</th><th>tier</th>
{% for sev in severities %}<th class="n">{{ sev }}</th>{% endfor %}</tr></thead><tbody>
{% for comp, tier, row in by_component %}<tr><td>{{ comp }}</td><td>{{ tier }}</td>
{% for n in row %}<td class="n">{{ n }}</td>{% endfor %}</tr>{% endfor %}
</tbody></table>

<h2>Dispositions by component (DM-4: nothing is dropped)</h2>
<table id="dispositions" class="sortable"><thead><tr><th>component</th>
{% for d in dispositions %}<th class="n">{{ d }}</th>{% endfor %}</tr></thead><tbody>
{% for comp, row in by_disposition %}<tr><td>{{ comp }}</td>
{% for n in row %}<td class="n">{{ n }}</td>{% endfor %}</tr>{% endfor %}
</tbody></table>

<h2>Fixed since {{ r.previous or "the start" }}</h2>
{% if r.fixed %}<table id="fixed" class="sortable"><thead><tr><th>status</th><th>tool</th>
<th>rule</th><th>location</th><th>severity</th><th>component</th><th class="n">issue</th>
</tr></thead><tbody>{% for x in r.fixed %}<tr><td>{{ x.status.value }}</td><td>{{ x.tool }}</td>
<td>{{ x.rule_id }}</td><td>{{ x.path }}:{{ x.line or "" }}</td><td>{{ x.severity.label }}</td>
<td>{{ x.component }}</td><td class="n">{{ x.issue_id }}</td></tr>{% endfor %}
</tbody></table>{% else %}<p>No issue was fixed.</p>{% endif %}

<h2>All findings ({{ r.findings|length }})</h2>
{{ finding_table("findings", r.findings) }}

<h2>Scans and run health (SVV-3)</h2>
<table id="scans"><thead><tr><th>tool</th><th>version</th><th class="n">findings</th>
<th>health</th></tr></thead><tbody>{% for s in r.scans %}<tr><td>{{ s.tool.name }}</td>
<td>{{ s.tool.version }}</td><td class="n">{{ s.findings }}</td><td>
{%- if s.successful and not s.not_analysed %}ok{% else %}
{%- if not s.successful %}run failed{% endif %}
{%- if s.not_analysed %} {{ s.not_analysed|length }} file(s) not analysed:
{% for p in s.not_analysed %}<code>{{ p }}</code> {% endfor %}{% endif %}{% endif %}</td></tr>
{% endfor %}</tbody></table>

{% if r.model_gaps %}<h2>Threat-model gaps</h2>
<p>{{ r.model_gaps|length }} file(s) with findings match no component:</p>
<ul>{% for p in r.model_gaps %}<li><code>{{ p }}</code></li>{% endfor %}</ul>{% endif %}

<h2>IEC 62443-4-1 evidence</h2>
<table id="evidence"><thead><tr><th>requirement</th><th>what this report shows</th></tr></thead>
<tbody>{% for a, b, c in evidence %}<tr><td>{{ a }} {{ b }}</td><td>{{ c }}</td></tr>
{% endfor %}</tbody></table>
{% endblock %}"""

_FINDINGS = """{% macro finding_table(id, items) %}
<table id="{{ id }}" class="sortable"><thead><tr><th class="n">risk</th><th>severity</th>
<th>component</th><th>tier</th><th>tool</th><th>rule</th><th>location</th><th>message</th>
<th>status</th><th>disposition</th><th class="n">issue</th></tr></thead><tbody>
{% for t in items %}{% set f = t.scored.finding %}<tr>
<td class="n">{{ t.scored.risk_score }}</td>
<td class="sev-{{ t.scored.severity.label }}" data-sort="{{ t.scored.severity.value }}">
{{- t.scored.severity.label }}</td>
<td>{{ t.scored.exposure.component_id }}</td>
<td data-sort="{{ t.scored.exposure.tier.value }}">{{ t.scored.exposure.tier.label }}</td>
<td>{{ f.tool.name }}</td><td>{{ f.rule_id }}</td>
<td class="loc">{{ f.location.path }}:{{ f.location.start_line or "" }}</td>
<td class="msg">{{ f.message }}</td><td>{{ t.status.value }}</td>
<td title="{{ t.verdict.reason }}">{{ t.verdict.disposition }}</td>
<td class="n">{{ t.issue_id }}</td></tr>
{% endfor %}</tbody></table>{% endmacro %}"""

_TREND = """{% extends "base" %}{% block body %}
<h1>{{ t.product }}: trend across {{ t.points|length }} releases</h1>
<p>Must-fix at each SL (target {{ t.sl.label }}), the burn-down of the must-fix backlog,
new versus fixed, time to fix and the high-risk components kept clean
(IEC 62443-4-1 SM-13 continuous improvement; SM-11 issues tracked to closure).</p>
<div id="charts">{% for c in chart_list %}{{ c }}{% endfor %}</div>

<h2>Per release</h2>
<table id="releases" class="sortable"><thead><tr><th>release</th><th>released</th>
{% for sl, _ in s.must_fix %}<th class="n">must-fix {{ sl.label }}</th>{% endfor %}
<th class="n">entered backlog</th><th class="n">left backlog</th>
<th class="n">new</th><th class="n">fixed</th><th class="n">persisting</th>
<th class="n">reintroduced</th><th class="n">not analysed</th><th class="n">findings</th>
<th class="n">high-risk clean</th></tr></thead><tbody>
{% for p in t.points %}{% set i = loop.index0 %}
<tr><td data-sort="{{ '%04d' % i }}">{{ p.release }}</td>
<td>{{ p.released.isoformat() if p.released else "" }}</td>
{% for _, n in p.must_fix_by_sl %}<td class="n">{{ n }}</td>{% endfor %}
<td class="n">{{ p.must_fix_new }}</td><td class="n">{{ p.must_fix_fixed }}</td>
<td class="n">{{ p.new }}</td><td class="n">{{ p.fixed }}</td><td class="n">{{ p.persisting }}</td>
<td class="n">{{ p.reintroduced }}</td><td class="n">{{ p.not_analysed }}</td>
<td class="n">{{ p.total }}</td>
<td class="n" data-sort="{{ s.clean_share[i] if s.clean_share[i] is not none else -1 }}">
{{- p.high_risk_clean|length }}/{{ p.high_risk_components|length }}</td></tr>
{% endfor %}</tbody></table>

<h2>Time to fix, in releases and days, by severity</h2>
{% if s.time_to_fix %}<table id="time-to-fix"><thead><tr><th>severity</th>
<th class="n">fixed</th><th class="n">mean</th><th class="n">median</th>
<th class="n">mean days</th><th class="n">median days</th></tr></thead><tbody>
{% for x in s.time_to_fix %}<tr><td>{{ x.severity.label }}</td><td class="n">{{ x.fixes }}</td>
<td class="n">{{ x.mean }}</td><td class="n">{{ x.median }}</td>
<td class="n">{{ x.mean_days if x.mean_days is not none else "" }}</td>
<td class="n">{{ x.median_days if x.median_days is not none else "" }}</td></tr>{% endfor %}
</tbody></table>{% else %}<p>No issue has been fixed yet.</p>{% endif %}

{% if t.points %}{% set last = t.points[-1] %}
<h2>High-risk components in {{ last.release }}</h2>
<table id="high-risk"><thead><tr><th>component</th><th>must-fix at {{ t.sl.label }}</th></tr>
</thead><tbody>{% for c in last.high_risk_components %}<tr><td>{{ c }}</td>
<td>{{ "none" if c in last.high_risk_clean else "some" }}</td></tr>{% endfor %}
</tbody></table>{% endif %}
{% endblock %}"""

_DIFF = """{% extends "base" %}{% block body %}
<h1>Diff</h1>
<table id="diff" class="sortable"><thead><tr><th>status</th><th>tool</th><th>rule</th>
<th>location</th><th>severity</th><th>component</th><th class="n">issue</th></tr></thead>
<tbody>{% for x in rows %}<tr><td>{{ x.status.value }}</td><td>{{ x.tool }}</td>
<td>{{ x.rule_id }}</td><td>{{ x.path }}:{{ x.line or "" }}</td>
<td data-sort="{{ x.severity.value }}">{{ x.severity.label }}</td><td>{{ x.component }}</td>
<td class="n">{{ x.issue_id }}</td></tr>{% endfor %}</tbody></table>
{% endblock %}"""

_ENV = Environment(
    loader=DictLoader({"base": _BASE, "release": "{% from 'findings' import finding_table %}"
                       + _RELEASE, "findings": _FINDINGS, "trend": _TREND, "diff": _DIFF}),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def _page(template: str, kind: str, title: str, generated_at: str, version: str,
          **values: Any) -> str:
    return _ENV.get_template(template).render(
        csp=CSP, style=Markup(_STYLE), script=Markup(SCRIPT), kind=kind, title=title,
        generated_at=generated_at, version=version, **values)


def _release(r: ReleaseReport) -> str:
    must = r.must_fix
    severities = sorted({t.scored.severity for t in must}, reverse=True)
    comp_rows: dict[str, tuple[str, dict[int, int]]] = {}
    for t in must:
        tier, row = comp_rows.setdefault(t.scored.exposure.component_id,
                                         (t.scored.exposure.tier.label, {}))
        row[t.scored.severity] = row.get(t.scored.severity, 0) + 1
    by_component = [(c, tier, [row.get(s, 0) for s in severities])
                    for c, (tier, row) in sorted(comp_rows.items())]
    disp: dict[str, dict[str, int]] = {}
    for t in r.findings:
        d = disp.setdefault(t.scored.exposure.component_id, {})
        d[t.verdict.disposition] = d.get(t.verdict.disposition, 0) + 1
    dispositions = sorted({k for row in disp.values() for k in row})
    counts = r.status_counts()
    return _page(
        "release", "release", f"{r.product} {r.release}: {len(must)} must-fix at {r.sl.label}",
        r.generated_at, r.tool_version, r=r, must=must,
        counts=[(s.value, counts[s.value]) for s in Status],
        severities=[s.label for s in severities], by_component=by_component,
        dispositions=dispositions,
        by_disposition=[(c, [disp[c].get(d, 0) for d in dispositions]) for c in sorted(disp)],
        evidence=EVIDENCE, decided=decision_lines(r),
    )


def trend_charts(t: TrendReport, s: series.TrendSeries) -> list[str]:
    """The trend's SVG charts: must-fix per SL, burn-down, new vs fixed, clean share."""
    labels = s.releases
    return [
        charts.line_chart("Open must-fix per SL", labels,
                          [(f"must-fix {sl.label}", values) for sl, values in s.must_fix],
                          "must-fix-per-sl"),
        charts.line_chart(f"Burn-down of the must-fix backlog at {t.sl.label}", labels,
                          [("open", s.backlog), ("entered (cumulative)", s.cumulative_opened),
                           ("left (cumulative)", s.cumulative_closed)], "burn-down",
                          dashed=("entered (cumulative)", "left (cumulative)")),
        charts.bar_chart("New versus fixed issues per release", labels,
                         [("new", s.new), ("fixed", s.fixed)], "new-vs-fixed"),
        charts.line_chart(f"High-risk components with no must-fix at {t.sl.label} (%)",
                          labels, [("clean share %", [v or 0.0 for v in s.clean_share])],
                          "clean-share"),
    ]


def _trend(t: TrendReport) -> str:
    s = series.shape(t)
    return _page("trend", "trend", f"{t.product}: trend across {len(t.points)} releases",
                 t.generated_at, t.tool_version, t=t, s=s,
                 chart_list=[Markup(c) for c in trend_charts(t, s)])


def _diff(rows: list[IssueRow]) -> str:
    return _page("diff", "diff", "triage diff", "", "", rows=rows)


def render(report: Any) -> str:
    """Render a release report, a trend report or a diff as one self-contained HTML page."""
    return by_kind(report, _release, _trend, _diff)
