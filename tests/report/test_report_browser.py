"""The HTML reports in a real headless Chromium: charts and tables render, sorting works, and a
hostile finding shows as text and runs nothing.

Needs Debian's ``chromium`` (``.ci/run`` installs it and sets ``TRIAGE_REQUIRE_BROWSER=1``, so
CI never skips). ``--update-golden`` also refreshes the README's screenshots under ``docs/``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from triage_testkit import REPO

from triage.report import render

pytestmark = pytest.mark.browser

XSS = "<img src=x onerror=alert(1)><script>alert(2)</script>"
PWN = "<script>document.body.setAttribute('data-pwned', '1')</script>"


@pytest.fixture(scope="module")
def chromium() -> str:
    """Path of the Chromium binary, or a skip (a failure where CI requires the browser)."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    why = "Chromium is not installed (apt-get install chromium): HTML reports not browser-checked"
    if os.environ.get("TRIAGE_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{why}, and TRIAGE_REQUIRE_BROWSER=1")
    pytest.skip(why)


def _chromium(binary: str, tmp: Path, *args: str) -> str:
    profile = tmp / "profile"
    profile.mkdir(exist_ok=True)
    done = subprocess.run(
        [binary, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", "--hide-scrollbars", f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _rows(dom: str, table: str) -> list[list[str]]:
    body = dom.split(f'id="{table}"', 1)[1].split("</tbody>", 1)[0].split("<tbody>", 1)[1]
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)]
            for r in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def _hostile(report):
    t, u = report.must_fix[0], report.findings[-1]
    return replace(report, findings=(
        replace(t, scored=replace(t.scored, finding=replace(t.scored.finding, message=XSS))),
        *report.findings[1:-1],
        replace(u, scored=replace(u.scored, finding=replace(u.scored.finding, message=PWN))),
    ))


def test_release_report_renders_escapes_and_sorts(demo, chromium: str, tmp_path: Path,
                                                  update_golden: bool) -> None:
    page = tmp_path / "release.html"
    page.write_text(render("html", _hostile(demo.release)), encoding="utf-8")
    dom = _chromium(chromium, tmp_path, "--dump-dom", page.as_uri())
    # The page's own script ran (under its CSP); the hostile messages did not.
    assert 'data-js="ready"' in dom
    assert "data-pwned" not in dom.split("<body", 1)[1].split(">", 1)[0]
    assert "&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in dom
    assert "<img" not in dom and "<script>alert(2)" not in dom
    assert dom.count("<script") == 1
    findings = _rows(dom, "findings")
    assert len(findings) == len(demo.release.findings)
    assert [int(r[0]) for r in findings] == [t.scored.risk_score for t in demo.release.findings]
    assert len(_rows(dom, "must-fix-table")) == len(demo.release.must_fix)

    # Sorting in the browser: by risk ascending, then by tool, as a click would.
    dom = _chromium(chromium, tmp_path, "--dump-dom", page.as_uri() + "#sort=findings:0:asc")
    risks = [int(r[0]) for r in _rows(dom, "findings")]
    assert risks == sorted(t.scored.risk_score for t in demo.release.findings)
    assert 'data-sorted="0:asc"' in dom
    dom = _chromium(chromium, tmp_path, "--dump-dom", page.as_uri() + "#sort=findings:4:desc")
    tools = [r[4] for r in _rows(dom, "findings")]
    assert tools == sorted(tools, reverse=True) and len(set(tools)) > 1

    shot = tmp_path / "release.png"
    _chromium(chromium, tmp_path, f"--screenshot={shot}", "--window-size=1280,1700",
              page.as_uri())
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    if update_golden:
        clean = tmp_path / "clean.html"
        clean.write_text(render("html", demo.release), encoding="utf-8")
        _chromium(chromium, tmp_path, f"--screenshot={REPO / 'docs' / 'release-report.png'}",
                  "--window-size=1280,1700", clean.as_uri())


def test_trend_report_renders_its_charts(demo, chromium: str, tmp_path: Path,
                                         update_golden: bool) -> None:
    page = tmp_path / "trend.html"
    page.write_text(render("html", demo.trend), encoding="utf-8")
    dom = _chromium(chromium, tmp_path, "--dump-dom", page.as_uri())
    assert 'data-js="ready"' in dom
    charts = re.findall(r'<svg [^>]*data-chart="([^"]+)"', dom)
    assert charts == ["must-fix-per-sl", "burn-down", "new-vs-fixed", "clean-share"]
    assert dom.count('<polyline class="series"') == 4 + 3 + 1  # SLs, burn-down, clean share
    assert dom.count('<rect class="bar"') == 2 * len(demo.trend.points)
    assert [r[0] for r in _rows(dom, "releases")] == [p.release for p in demo.trend.points]
    shot = REPO / "docs" / "trend-report.png" if update_golden else tmp_path / "trend.png"
    _chromium(chromium, tmp_path, f"--screenshot={shot}", "--window-size=1280,1500",
              page.as_uri())
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
