"""Triaged SARIF 2.1.0: the release's findings with their verdicts, for code-scanning upload.

Built with sarif-om's classes and serialised with ``jschema_to_python.to_json`` (sarif-om has
no serialiser of its own). One run per scanner, so the driver keeps the scanner's name and
ingesting this log again yields the same findings. Per result:

- ``baselineState`` (SARIF 3.27.24) from the tracked status: new and reintroduced are
  ``new``, persisting is ``unchanged``;
- ``rank`` (SARIF 3.27.28) is the risk score, 0..100;
- ``level`` is the scanner's (after SARIF 3.27.10 defaulting), so the log stays faithful;
- ``suppressions`` (SARIF 3.27.23, 3.35): ``inSource`` for what the scanner's log suppressed
  (``accepted``) or put under review (``underReview``); ``external`` and ``accepted`` for a
  triage decision of false positive or accepted risk, with its justification;
- ``properties`` (SARIF 3.8): component, tier, contextual severity, verdict, disposition,
  decision, the SL and the tracked issue id.

GitHub code scanning accepts at most 25,000 results per run and 10 MB of gzipped log; a run
over either limit keeps its highest-risk results (the findings arrive ordered by risk) and
records how many it left out in the run's ``properties.results_left_out``.
"""

from __future__ import annotations

import gzip
from typing import Any

import attr
import sarif_om as om
from jschema_to_python.to_json import to_json

from triage.errors import ConfigError
from triage.model import ReleaseReport, Status, Suppression, TriagedFinding

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
MAX_RESULTS_PER_RUN = 25_000
"""GitHub code scanning's limit on results per run."""
MAX_GZIP_BYTES = 10 * 1024 * 1024
"""GitHub code scanning's limit on the gzipped size of an uploaded log."""

_BASELINE = {
    Status.NEW: "new",
    Status.REINTRODUCED: "new",
    Status.PERSISTING: "unchanged",
}


@attr.s
class _Suppression:
    """SARIF 3.35 ``suppression``, as the final 2.1.0 schema spells it.

    sarif-om 1.0.4 was generated from a draft that called ``status`` ``state``; a log written
    with its class fails the OASIS schema. Same shape, the right property name.
    """

    kind = attr.ib(metadata={"schema_property_name": "kind"})
    status = attr.ib(default=None, metadata={"schema_property_name": "status"})
    justification = attr.ib(default=None, metadata={"schema_property_name": "justification"})


_DECIDED = ("false-positive", "accepted-risk")
"""Verdict dispositions of a decision that suppresses the finding."""


def _split_fingerprints(
    pairs: tuple[tuple[str, str], ...],
) -> tuple[dict[str, str], dict[str, str]]:
    """The tool's ``fingerprints`` (SARIF 3.27.16) and ``partialFingerprints`` (3.27.17).

    Ingest keeps them as ``fingerprints:KEY`` and ``partialFingerprints:KEY`` pairs; a key
    with neither prefix is a fingerprint.
    """
    full: dict[str, str] = {}
    partial: dict[str, str] = {}
    for key, value in pairs:
        if key.startswith("partialFingerprints:"):
            partial[key.removeprefix("partialFingerprints:")] = value
        else:
            full[key.removeprefix("fingerprints:")] = value
    return full, partial


def _result(t: TriagedFinding, rule_index: int, report: ReleaseReport) -> om.Result:
    s, f = t.scored, t.scored.finding
    region = None
    if f.location.start_line:
        region = om.Region(start_line=f.location.start_line, end_line=f.location.end_line,
                           start_column=f.location.start_column,
                           snippet=om.ArtifactContent(text=f.location.snippet)
                           if f.location.snippet else None)
    locations = None
    if f.location.path:
        locations = [om.Location(physical_location=om.PhysicalLocation(
            artifact_location=om.ArtifactLocation(uri=f.location.path, uri_base_id="%SRCROOT%"),
            region=region))]
    suppressions = []
    if f.suppression != Suppression.ACTIVE:
        suppressions.append(_Suppression(
            kind="inSource",
            status="accepted" if f.suppression == Suppression.SUPPRESSED else "underReview"))
    if t.verdict.disposition in _DECIDED:
        # A triage decision that takes the finding off the must-fix list (DM-4).
        suppressions.append(_Suppression(kind="external", status="accepted",
                                         justification=t.verdict.reason))
    props = om.PropertyBag()
    props.issue = t.issue_id
    props.component = s.exposure.component_id
    props.tier = s.exposure.tier.label
    props.severity = s.severity.label
    props.base_severity = s.base_severity.label
    props.sl = report.sl.label
    props.verdict = "must-fix" if t.verdict.must_fix else "not must-fix"
    props.disposition = t.verdict.disposition
    props.reason = t.verdict.reason
    props.status = t.status.value
    if t.decision is not None:
        props.decision = t.decision.action.value
    fingerprints, partial = _split_fingerprints(f.tool_fingerprints)
    if f.fingerprint:
        fingerprints["triage/v1"] = f.fingerprint
    return om.Result(
        message=om.Message(text=f.message or f.rule_id),
        rule_id=f.rule_id,
        rule_index=rule_index,
        kind=f.kind,
        level=f.level,
        rank=float(s.risk_score),
        baseline_state=_BASELINE.get(t.status),
        locations=locations,
        suppressions=suppressions or None,
        fingerprints=fingerprints or None,
        partial_fingerprints=partial or None,
        properties=props,
    )


def _run(tool: str, items: list[TriagedFinding], report: ReleaseReport, cap: int) -> om.Run:
    version = items[0].scored.finding.tool.version if items else ""
    for s in report.scans:
        if s.tool.name == tool:
            version = s.tool.version
    kept = items[:cap]
    rules: dict[str, om.ReportingDescriptor] = {}
    index: dict[str, int] = {}
    results = []
    for t in kept:
        f = t.scored.finding
        if f.rule_id not in rules:
            rule_props = om.PropertyBag(tags=[f"external/cwe/cwe-{c}" for c in f.cwe_ids])
            rules[f.rule_id] = om.ReportingDescriptor(
                id=f.rule_id, name=f.rule_name if f.rule_name != f.rule_id else None,
                properties=rule_props if f.cwe_ids else None)
            index[f.rule_id] = len(index)
        results.append(_result(t, index[f.rule_id], report))
    props = om.PropertyBag()
    props.product = report.product
    props.release = report.release
    props.sl = report.sl.label
    props.triage_version = report.tool_version
    if len(items) > len(kept):
        props.results_left_out = len(items) - len(kept)
    return om.Run(
        tool=om.Tool(driver=om.ToolComponent(name=tool, version=version or None,
                                             rules=list(rules.values()))),
        results=results,
        original_uri_base_ids={"%SRCROOT%": om.ArtifactLocation(
            description=om.Message(text="The root of the scanned source tree."))},
        automation_details=om.RunAutomationDetails(
            id=f"triage/{report.product}/{tool}/{report.release}"),
        properties=props,
    )


def _release(r: ReleaseReport) -> str:
    by_tool: dict[str, list[TriagedFinding]] = {s.tool.name: [] for s in r.scans}
    for t in r.findings:
        by_tool.setdefault(t.scored.finding.tool.name, []).append(t)
    cap = MAX_RESULTS_PER_RUN
    while True:
        runs = [_run(tool, by_tool[tool], r, cap) for tool in sorted(by_tool)]
        text = to_json(om.SarifLog(version="2.1.0", schema_uri=SCHEMA_URI, runs=runs)) + "\n"
        size = len(gzip.compress(text.encode("utf-8"), compresslevel=6))
        largest = max((len(v) for v in by_tool.values()), default=0)
        if size <= MAX_GZIP_BYTES or cap == 0:
            return text
        # Over the upload limit: keep proportionally fewer (the highest-risk) results per run.
        cap = min(cap, largest) * MAX_GZIP_BYTES * 9 // (size * 10)


def render(report: Any) -> str:
    """Render a release report as triaged SARIF 2.1.0; other reports have no results."""
    if isinstance(report, ReleaseReport):
        return _release(report)
    raise ConfigError("the sarif format renders release reports only",
                      hint="use --format json, csv, md or html for this report")
