"""The HTML format without a browser: escaping, no network, the CSP, the charts and tables."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import replace

from triage import pipeline
from triage.report import render

XSS = "<img src=x onerror=alert(1)><script>alert(2)</script>"
XSS_TEXT = "&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;alert(2)&lt;/script&gt;"


def _with_hostile_finding(report):
    t = report.must_fix[0]
    evil = replace(t, scored=replace(t.scored, finding=replace(
        t.scored.finding, message=XSS, rule_id='"><svg onload=alert(3)>',
        location=replace(t.scored.finding.location, path="a/<b>.py"))))
    return replace(report, findings=(evil, *report.findings[1:]))


def test_every_value_from_a_log_is_escaped(demo) -> None:
    page = render("html", _with_hostile_finding(demo.release))
    assert XSS_TEXT in page
    assert "<img" not in page and "alert(2)</script>" not in page
    assert "<svg onload" not in page and "&#34;&gt;&lt;svg onload=alert(3)&gt;" in page
    assert "a/&lt;b&gt;.py" in page
    # The page's own script is the only script element.
    assert page.count("<script>") == 1


def test_the_page_needs_no_network_and_runs_only_its_own_script(demo) -> None:
    for report in (demo.release, demo.trend):
        page = render("html", report)
        assert not re.search(r"""(?:src|href|action)\s*=\s*["']?(?:https?:)?//""", page)
        assert "<link" not in page and "@import" not in page
        csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
        assert csp is not None
        policy = csp.group(1).replace("&#39;", "'")
        assert "default-src 'none'" in policy
        script = re.search(r"<script>(.*?)</script>", page, re.S)
        assert script is not None
        digest = base64.b64encode(hashlib.sha256(script.group(1).encode()).digest()).decode()
        assert f"script-src 'sha256-{digest}'" in policy


def test_release_page_has_the_sections_and_sortable_tables(demo) -> None:
    page = render("html", demo.big)
    for table in ("must-fix-table", "component-severity", "dispositions", "fixed", "findings",
                  "scans", "evidence"):
        assert f'id="{table}"' in page, table
    assert f'<span class="big" id="must-fix-count">{len(demo.big.must_fix)} must-fix</span>' \
        in page
    findings = page.split('id="findings"', 1)[1].split("</table>", 1)[0]
    assert findings.count("<tr>") == len(demo.big.findings) + 1  # + the head row
    for requirement in ("SI-1", "SM-11", "DM-3", "DM-4", "SVV-3", "SM-13"):
        assert requirement in page


def test_trend_page_has_its_charts_and_every_release(demo) -> None:
    page = render("html", demo.trend)
    charts = re.findall(r'<svg [^>]*data-chart="([^"]+)"', page)
    assert charts == ["must-fix-per-sl", "burn-down", "new-vs-fixed", "clean-share"]
    for svg in re.findall(r"<svg .*?</svg>", page, re.S):
        for p in demo.trend.points:
            assert f">{p.release}</text>" in svg
    rows = page.split('id="releases"', 1)[1].split("</table>", 1)[0]
    assert rows.count("<tr>") == len(demo.trend.points) + 1
    assert 'id="time-to-fix"' in page and 'id="high-risk"' in page


def test_release_names_are_escaped_in_the_charts(demo) -> None:
    points = (replace(demo.trend.points[0], release="<b>1</b>"), *demo.trend.points[1:])
    page = render("html", replace(demo.trend, points=points))
    assert "<b>1</b>" not in page and "&lt;b&gt;1&lt;/b&gt;" in page


def test_release_page_shows_scope_mode_and_the_missing_model(demo) -> None:
    page = render("html", demo.release)
    assert f'<span id="scope">{demo.release.scope}</span>' in page
    assert 'id="no-model"' not in page and "Policy mode" not in page
    bare = replace(demo.release, threat_model_given=False, mode="combined",
                   scope="phase-1", scope_justification="high-risk <components> first")
    page = render("html", bare)
    assert 'id="no-model"' in page and "Policy mode: <strong>combined</strong>" in page
    assert "phase-1</span> &mdash; high-risk &lt;components&gt; first." in page


def test_release_page_lists_the_disagreements_of_the_combined_mode(demo, demo_context) -> None:
    combined = pipeline.release_report(demo_context, "pymodbus", "3.3.0", mode="combined")
    assert combined.disagreements
    page = render("html", combined)
    rows = page.split('id="disagreements"', 1)[1].split("</table>", 1)[0]
    assert rows.count("<tr>") == len(combined.disagreements) + 1
    assert 'id="disagreements"' not in render("html", demo.big)
