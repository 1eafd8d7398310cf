"""Every report format over the demo data: the registry, CSV, JUnit XML and triaged SARIF."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest
from triage_testkit import TESTS, THREAT_MODEL, invoke, report_json

from triage import pipeline
from triage.errors import ConfigError
from triage.model import Action, Decision, Status, Suppression
from triage.report import FORMATS, RELEASE_ONLY, render, sarif_format
from triage.scoring import load_rules
from triage.store import open_store

SCHEMA = json.loads((TESTS / "data" / "schemas" / "sarif-schema-2.1.0.json")
                    .read_text(encoding="utf-8"))


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_renders_every_report_it_supports(demo, fmt: str) -> None:
    """The registry walk: a str for each kind, the same twice (pure), or a ConfigError."""
    for kind, report in (("release", demo.release), ("trend", demo.trend),
                         ("diff", demo.diff)):
        if fmt in RELEASE_ONLY and kind != "release":
            with pytest.raises(ConfigError, match=f"the {fmt} format renders release reports"):
                render(fmt, report)
            continue
        text = render(fmt, report)
        assert isinstance(text, str) and text.strip(), (fmt, kind)
        assert render(fmt, report) == text, (fmt, kind)
        if kind == "release":
            assert demo.release.must_fix[0].scored.finding.rule_id in text, fmt
        elif kind == "trend":
            assert all(p.release in text for p in demo.trend.points), fmt


def test_registry_knows_the_formats_of_the_design() -> None:
    assert set(FORMATS) == {"table", "json", "csv", "md", "html", "junit", "sarif"}
    assert RELEASE_ONLY < set(FORMATS)


# ---- CSV -------------------------------------------------------------------------------


def test_csv_release_has_one_row_per_finding_and_fix(demo) -> None:
    rows = list(csv.DictReader(io.StringIO(render("csv", demo.big))))
    assert len(rows) == len(demo.big.findings) + len(demo.big.fixed)
    must = [r for r in rows if r["must_fix"] == "true"]
    assert [int(r["issue"]) for r in must] == [t.issue_id for t in demo.big.must_fix]
    assert {r["status"] for r in rows} <= {s.value for s in Status}
    first = demo.big.findings[0]
    assert rows[0]["rule"] == first.scored.finding.rule_id
    assert int(rows[0]["risk_score"]) == first.scored.risk_score


def test_csv_trend_agrees_with_the_trend_report(demo) -> None:
    rows = list(csv.DictReader(io.StringIO(render("csv", demo.trend))))
    assert [r["release"] for r in rows] == [p.release for p in demo.trend.points]
    for row, p in zip(rows, demo.trend.points, strict=True):
        assert int(row["must_fix_SL-2"]) == dict(p.must_fix_by_sl)[2]
        assert (int(row["new"]), int(row["fixed"]), int(row["backlog"])) == (
            p.new, p.fixed, p.must_fix_open)


def test_csv_defuses_spreadsheet_formulas(demo) -> None:
    t = demo.release.findings[0]
    evil = replace(t, scored=replace(t.scored, finding=replace(
        t.scored.finding, message='=HYPERLINK("http://x","y")', rule_id="+cmd")))
    report = replace(demo.release, findings=(evil,), fixed=())
    row = next(csv.DictReader(io.StringIO(render("csv", report))))
    assert row["message"] == '\'=HYPERLINK("http://x","y")'
    assert row["rule"] == "'+cmd"


# ---- JUnit -----------------------------------------------------------------------------


def test_junit_has_one_failing_case_per_must_fix_finding(demo) -> None:
    root = ET.fromstring(render("junit", demo.big))
    cases = root.findall("./testsuite/testcase")
    must = demo.big.must_fix
    assert must and len(cases) == len(must)
    assert root.get("failures") == str(len(must))
    for case, t in zip(cases, must, strict=True):
        failure = case.find("failure")
        assert failure is not None
        assert f"(issue {t.issue_id})" in case.get("name", "")
        assert case.get("file") == t.scored.finding.location.path
        assert t.scored.finding.message in (failure.text or "")


def test_junit_passes_when_nothing_must_be_fixed(demo_context) -> None:
    at1 = pipeline.release_report(demo_context, "pymodbus", "3.16.1", sl=1)
    assert not at1.must_fix
    root = ET.fromstring(render("junit", at1))
    cases = root.findall("./testsuite/testcase")
    assert [c.get("name") for c in cases] == ["no must-fix findings at SL-1"]
    assert cases[0].find("failure") is None and root.get("failures") == "0"


def test_junit_stays_well_formed_with_control_characters(demo) -> None:
    t = demo.release.must_fix[0]
    odd = replace(t, scored=replace(t.scored, finding=replace(
        t.scored.finding, message="bell \x07 and <tag> & \"quote\"")))
    report = replace(demo.release, findings=(odd,))
    failure = ET.fromstring(render("junit", report)).find("./testsuite/testcase/failure")
    assert failure is not None
    assert "bell \ufffd and <tag> & \"quote\"" in (failure.text or "")


# ---- SARIF -----------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["release", "big"])
def test_triaged_sarif_is_valid_against_the_oasis_schema(demo, which: str) -> None:
    report = getattr(demo, which)
    doc = json.loads(render("sarif", report))
    errors = sorted(jsonschema.Draft4Validator(SCHEMA).iter_errors(doc), key=str)
    assert not errors, errors[0]
    results = [r for run in doc["runs"] for r in run["results"]]
    assert len(results) == len(report.findings)
    assert {run["tool"]["driver"]["name"] for run in doc["runs"]} == {
        s.tool.name for s in report.scans}


def test_triaged_sarif_carries_the_triage(demo) -> None:
    doc = json.loads(render("sarif", demo.big))
    by_issue = {t.issue_id: t for t in demo.big.findings}
    baseline = {"new": "new", "reintroduced": "new", "persisting": "unchanged"}
    seen = Counter()
    for run in doc["runs"]:
        rules = run["tool"]["driver"]["rules"]
        for r in run["results"]:
            t = by_issue[r["properties"]["issue"]]
            assert rules[r["ruleIndex"]]["id"] == r["ruleId"] == t.scored.finding.rule_id
            assert r["rank"] == float(t.scored.risk_score)
            assert r["baselineState"] == baseline[t.status.value]
            p = r["properties"]
            assert (p["component"], p["tier"], p["disposition"], p["severity"]) == (
                t.scored.exposure.component_id, t.scored.exposure.tier.label,
                t.verdict.disposition, t.scored.severity.label)
            assert p["verdict"] == ("must-fix" if t.verdict.must_fix else "not must-fix")
            seen[p["verdict"]] += 1
    assert seen["must-fix"] == len(demo.big.must_fix)


def test_triaged_sarif_suppresses_decided_and_suppressed_findings(demo) -> None:
    a, b = demo.release.findings[:2]
    decision = Decision(issue_id=a.issue_id, action=Action.FALSE_POSITIVE,
                        reason="test fixture only", by="alice", at=dt.datetime(2026, 1, 2))
    a = replace(a, decision=decision,
                verdict=replace(a.verdict, must_fix=False, disposition="false-positive",
                                reason="false positive (alice, 2026-01-02): test fixture only"))
    b = replace(b, scored=replace(b.scored, finding=replace(
        b.scored.finding, suppression=Suppression.PENDING)))
    doc = json.loads(render("sarif", replace(demo.release, findings=(a, b))))
    assert not list(jsonschema.Draft4Validator(SCHEMA).iter_errors(doc))
    results = {r["properties"]["issue"]: r for run in doc["runs"] for r in run["results"]}
    assert results[a.issue_id]["suppressions"] == [{
        "kind": "external", "status": "accepted",
        "justification": "false positive (alice, 2026-01-02): test fixture only"}]
    assert results[a.issue_id]["properties"]["decision"] == "false-positive"
    assert results[b.issue_id]["suppressions"] == [{"kind": "inSource",
                                                    "status": "underReview"}]


def test_triaged_sarif_caps_results_per_run(demo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sarif_format, "MAX_RESULTS_PER_RUN", 10)
    doc = json.loads(render("sarif", demo.big))
    for run in doc["runs"]:
        tool = run["tool"]["driver"]["name"]
        mine = [t for t in demo.big.findings if t.scored.finding.tool.name == tool]
        assert len(run["results"]) == min(10, len(mine))
        # The highest-risk results are the ones kept.
        assert [r["properties"]["issue"] for r in run["results"]] == [
            t.issue_id for t in mine[:10]]
        assert run["properties"].get("results_left_out", 0) == max(0, len(mine) - 10)


def test_triaged_sarif_round_trips_through_ingest(demo, tmp_path: Path) -> None:
    """Ingest the triaged SARIF as a new product: the same findings (tool, rule, path, line)."""
    log = tmp_path / "triaged.sarif"
    log.write_text(render("sarif", demo.big), encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'rt.db'}"
    res = invoke("ingest", log, "--product", "roundtrip", "--release", "1",
                 "--threat-model", THREAT_MODEL, db=db)
    assert res.exit_code == 0, res.stderr
    again = report_json(db, "1", product="roundtrip")

    def key(f: dict) -> tuple:
        return (f["tool"], f["rule"], f["path"], f["line"])

    original = Counter((t.scored.finding.tool.name, t.scored.finding.rule_id,
                        t.scored.finding.location.path, t.scored.finding.location.start_line)
                       for t in demo.big.findings)
    assert Counter(key(f) for f in again["findings"]) == original
    # The components and the messages come back too.
    assert Counter(f["component"] for f in again["findings"]) == Counter(
        t.scored.exposure.component_id for t in demo.big.findings)


def test_triaged_sarif_stays_inside_the_gzipped_upload_limit(
    demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    full = render("sarif", demo.big)
    limit = len(gzip.compress(full.encode())) // 3
    monkeypatch.setattr(sarif_format, "MAX_GZIP_BYTES", limit)
    text = render("sarif", demo.big)
    assert len(gzip.compress(text.encode(), compresslevel=6)) <= limit
    doc = json.loads(text)
    assert not list(jsonschema.Draft4Validator(SCHEMA).iter_errors(doc))
    kept = left = 0
    for run in doc["runs"]:
        tool = run["tool"]["driver"]["name"]
        mine = [t.issue_id for t in demo.big.findings if t.scored.finding.tool.name == tool]
        ids = [r["properties"]["issue"] for r in run["results"]]
        assert ids == mine[:len(ids)]  # the highest-risk results are kept
        kept += len(ids)
        left += run["properties"].get("results_left_out", 0)
    assert kept + left == len(demo.big.findings) and left > 0


def test_triaged_sarif_gives_back_the_tools_fingerprints(tmp_path: Path) -> None:
    """CodeQL's partialFingerprints (real output) come back as partialFingerprints."""
    db = f"sqlite:///{tmp_path / 'fp.db'}"
    log = TESTS / "data" / "sarif" / "codeql-action__valid-sarif.sarif"
    res = invoke("ingest", log, "--product", "fp", "--release", "1", db=db)
    assert res.exit_code == 0, res.stderr
    ctx = pipeline.Context(store=open_store(db), rules=load_rules(None))
    try:
        report = pipeline.release_report(ctx, "fp", "1")
    finally:
        ctx.store.close()
    doc = json.loads(render("sarif", report))
    assert not list(jsonschema.Draft4Validator(SCHEMA).iter_errors(doc))
    by_issue = {t.issue_id: t.scored.finding for t in report.findings}
    checked = 0
    for run in doc["runs"]:
        for r in run["results"]:
            f = by_issue[r["properties"]["issue"]]
            assert r["fingerprints"]["triage/v1"] == f.fingerprint
            for key, value in f.tool_fingerprints:
                kind, _, name = key.rpartition(":")
                where = "partialFingerprints" if kind == "partialFingerprints" else "fingerprints"
                assert r[where][name] == value
                checked += 1
            for where in ("fingerprints", "partialFingerprints"):
                assert not any(":" in k for k in r.get(where, {}))
    assert checked >= 2
