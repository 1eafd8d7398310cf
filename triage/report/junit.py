"""JUnit XML format: one failing test case per must-fix finding, so CI test tabs show them.

The other findings of the release are not listed: a test tab is the
must-fix list, not the inventory. When nothing must be fixed, one passing case says so, so
the CI shows a green gate rather than an empty suite. Built with ``xml.etree`` so every value
is escaped by the serialiser.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from triage.errors import ConfigError
from triage.model import ReleaseReport, TriagedFinding

# Characters XML 1.0 forbids even escaped (§2.2): C0 controls other than tab, LF and CR.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml(text: str) -> str:
    """Text an XML 1.0 parser accepts: forbidden characters become U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)


def _case_name(t: TriagedFinding) -> str:
    f = t.scored.finding
    where = f"{f.location.path}:{f.location.start_line}" if f.location.start_line else (
        f.location.path or "(no file)")
    return _xml(f"{f.tool.name} {f.rule_id} {where} (issue {t.issue_id})")


def _failure_text(t: TriagedFinding) -> str:
    s, f = t.scored, t.scored.finding
    lines = [
        f.message,
        "",
        f"severity {s.severity.label} (base {s.base_severity.label}), risk {s.risk_score}, "
        f"status {t.status.value}",
        f"component {s.exposure.component_id} (tier {s.exposure.tier.label})",
        f"verdict: {t.verdict.reason}",
    ]
    if f.cwe_ids:
        lines.append("CWE: " + ", ".join(f"CWE-{c}" for c in f.cwe_ids))
    lines += [f"- {x.step}: {x.text}" for x in s.explain]
    return _xml("\n".join(lines))


def _release(r: ReleaseReport) -> str:
    must = r.must_fix
    name = _xml(f"triage {r.product} {r.release} {r.sl.label}")
    suites = ET.Element("testsuites", name=name, tests=str(max(len(must), 1)),
                        failures=str(len(must)), errors="0", time="0")
    suite = ET.SubElement(suites, "testsuite", name=name, tests=str(max(len(must), 1)),
                          failures=str(len(must)), errors="0", skipped="0", time="0",
                          timestamp=r.generated_at)
    props = ET.SubElement(suite, "properties")
    for key, value in (("product", r.product), ("release", r.release), ("sl", r.sl.label),
                       ("policy", r.policy), ("triage-version", r.tool_version)):
        ET.SubElement(props, "property", name=key, value=_xml(value))
    for t in must:
        case = ET.SubElement(suite, "testcase", name=_case_name(t),
                             classname=_xml(f"{r.product}.{t.scored.exposure.component_id}"),
                             file=_xml(t.scored.finding.location.path), time="0")
        if t.scored.finding.location.start_line:
            case.set("line", str(t.scored.finding.location.start_line))
        failure = ET.SubElement(
            case, "failure", type=f"must-fix {t.scored.severity.label}",
            message=_xml(f"{t.scored.severity.label} must-fix at {r.sl.label}: "
                         f"{t.scored.finding.message}"))
        failure.text = _failure_text(t)
    if not must:
        ET.SubElement(suite, "testcase", name=f"no must-fix findings at {r.sl.label}",
                      classname=f"{r.product}.gate", time="0")
    ET.indent(suites)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            + ET.tostring(suites, encoding="unicode") + "\n")


def render(report: Any) -> str:
    """Render a release report as JUnit XML; other reports have no test cases to show."""
    if isinstance(report, ReleaseReport):
        return _release(report)
    raise ConfigError("the junit format renders release reports only",
                      hint="use --format json, csv, md or html for this report")
