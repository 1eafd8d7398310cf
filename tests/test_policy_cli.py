"""The SL policy modes and ``triage explain`` through the CLI, on the real pymodbus corpus.

``gate/status/report --mode severity|capability|combined``; must-fix sets grow with the SL in
every mode and every stored finding gets a verdict; ``explain`` shows the whole chain;
bad input exits 2/3 with one line.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from triage_testkit import PRODUCT, RELEASES, ingest, invoke, report_json, row_counts

MODES = ("severity", "capability", "combined")


def _must(rep: dict[str, Any]) -> set[int]:
    return {f["issue"] for f in rep["findings"] if f["verdict"]["must_fix"]}


@pytest.mark.parametrize("mode", MODES)
def test_must_fix_sets_grow_with_the_sl_in_every_mode(corpus_db: str, mode: str) -> None:
    for release in ("3.0.0", "3.16.1"):
        sets = [_must(report_json(corpus_db, release, "--sl", sl, "--mode", mode))
                for sl in "1234"]
        for lower, higher in zip(sets, sets[1:], strict=False):
            assert lower <= higher
        rep = report_json(corpus_db, release, "--mode", mode)
        assert rep["mode"] == mode
        assert [rep["must_fix_by_sl"][f"SL-{n}"] for n in (1, 2, 3, 4)] == [len(s) for s in sets]


def test_every_stored_finding_gets_one_verdict(corpus_db: str) -> None:
    # combined judges every finding in both other modes, so it covers them too
    stored = row_counts(corpus_db)["occurrence"]
    seen = 0
    for release in RELEASES:
        rep = report_json(corpus_db, release, "--mode", "combined")
        seen += len(rep["findings"])
        assert sum(rep["dispositions"].values()) == len(rep["findings"])
        assert len({(f["to"]["file"], f["to"]["run"], f["to"]["result"])
                    for f in rep["findings"]}) == len(rep["findings"])
    assert seen == stored


def test_combined_is_the_union_and_lists_the_disagreements(corpus_db: str) -> None:
    sev = report_json(corpus_db, "3.16.1", "--mode", "severity")
    cap = report_json(corpus_db, "3.16.1", "--mode", "capability")
    both = report_json(corpus_db, "3.16.1", "--mode", "combined")
    assert _must(both) == _must(sev) | _must(cap)
    assert set(both["disagreements"]) == _must(sev) ^ _must(cap)
    assert both["disagreements"], "the corpus has findings the two modes judge differently"
    for f in both["findings"]:
        assert (f["verdict"]["disagreement"] is not None) == (f["issue"] in both["disagreements"])
    md = invoke("report", "--product", PRODUCT, "--release", "3.16.1", "--mode", "combined",
                db=corpus_db)
    assert md.exit_code == 0
    assert "Policy mode: **combined**" in md.stdout
    assert (f"## Disagreements between the severity and capability modes "
            f"({len(both['disagreements'])}, for review under DM-3)") in md.stdout


@pytest.mark.parametrize("mode", MODES)
def test_gate_mode_blocks_on_that_modes_must_fix(corpus_db: str, mode: str) -> None:
    rep = report_json(corpus_db, "3.16.1", "--sl", "2", "--mode", mode)
    res = invoke("gate", "--product", PRODUCT, "--release", "3.16.1", "--sl", "2", "--mode",
                 mode, db=corpus_db)
    must = _must(rep)
    assert res.exit_code == (1 if must else 0)
    lines = res.stdout.splitlines()
    ids = {int(line.split("(issue ")[1].split(")")[0]) for line in lines[::2]}
    whys = lines[1::2]
    assert len(whys) == len(ids) and all(w.startswith("  why: ") for w in whys)
    if mode == "combined":
        assert all(w.startswith("  why: severity: ") and "; capability: " in w for w in whys)
    assert ids == must
    assert res.stderr.startswith(f"gate FAILED: {len(must)} must-fix at SL-2 in pymodbus 3.16.1")


def test_status_mode_prints_that_modes_table(corpus_db: str) -> None:
    rep = report_json(corpus_db, "3.16.1", "--mode", "capability")
    res = invoke("status", "--product", PRODUCT, "--release", "3.16.1", "--mode", "capability",
                 db=corpus_db)
    assert res.exit_code == 0
    assert (f"pymodbus 3.16.1: {len(_must(rep))} must-fix at SL-2 (capability mode)"
            in res.stdout)
    assert res.stderr.startswith(f"pymodbus 3.16.1: {rep['must_fix_by_sl']['SL-2']} must-fix")


def _pick(corpus_db: str, must_fix: bool) -> dict[str, Any]:
    rep = report_json(corpus_db, "3.16.1")
    return next(f for f in rep["findings"] if f["verdict"]["must_fix"] is must_fix
                and (must_fix or f["verdict"]["disposition"] == "below-threshold"))


def test_explain_json_gives_the_whole_chain_of_a_must_fix_finding(corpus_db: str) -> None:
    f = _pick(corpus_db, True)
    res = invoke("explain", f["issue"], "--product", PRODUCT, "--format", "json", db=corpus_db)
    assert res.exit_code == 0 and res.stderr == ""
    doc = json.loads(res.stdout)
    assert (doc["kind"], doc["issue"], doc["release"]) == ("explanation", f["issue"], "3.16.1")
    assert doc["sarif"]["file"] == f["to"]["file"] and doc["sarif"]["result"] == f["to"]["result"]
    assert doc["component"]["id"] == f["component"] and doc["component"]["why"]
    assert (doc["severity"]["base"], doc["severity"]["contextual"]) == (
        f["base_severity"], f["severity"])
    assert doc["capability"]["class"] in ("casual", "simple", "sophisticated", "extended")
    assert doc["capability"]["why"][-1].startswith(f"class {doc['capability']['class']}")
    assert doc["risk_score"]["score"] == f["risk_score"]
    assert set(doc["verdicts"]) == set(MODES)
    assert doc["verdicts"]["severity"]["SL-2"]["reason"] == f["verdict"]["reason"]
    assert doc["verdicts"]["severity"]["SL-2"]["must_fix"] is True
    assert doc["threat_model_given"] is True


def test_explain_text_of_a_below_threshold_finding(corpus_db: str) -> None:
    f = _pick(corpus_db, False)
    res = invoke("explain", f["issue"], "--product", PRODUCT, "--release", "3.16.1",
                 db=corpus_db)
    assert res.exit_code == 0 and res.stderr == ""
    out = res.stdout
    assert out.startswith(f"issue {f['issue']} of pymodbus 3.16.1 ({f['status']})\n")
    assert f"  {f['to']['file']}: runs[{f['to']['run']}].results[{f['to']['result']}]" in out
    assert f"Severity: base {f['base_severity']} -> contextual {f['severity']}" in out
    assert "\nCapability: " in out and f"Risk score: {f['risk_score']}/100" in out
    assert f"  severity: below-threshold: {f['verdict']['reason']}" in out
    assert "below the residual-risk threshold for SL-2 (DM-4)" in out


def test_explain_without_release_finds_the_latest_occurrence(corpus_db: str) -> None:
    engine = create_engine(corpus_db)
    with engine.connect() as conn:
        # an issue whose last occurrence is in an early release (fixed since)
        issue, last = conn.execute(text(
            "SELECT o.issue_id, r.name FROM occurrence o JOIN release r ON r.id = o.release_id "
            "GROUP BY o.issue_id HAVING max(r.seq) = min(r.seq) AND r.name = '2.3.0' "
            "ORDER BY o.issue_id LIMIT 1")).one()
    engine.dispose()
    res = invoke("explain", issue, "--product", PRODUCT, "--format", "json", db=corpus_db)
    assert res.exit_code == 0
    assert json.loads(res.stdout)["release"] == last == "2.3.0"
    res = invoke("explain", issue, "--product", PRODUCT, "--release", "3.16.1", db=corpus_db)
    assert res.exit_code == 3
    assert res.stderr.splitlines()[0] == (f"error: issue {issue} has no occurrence in pymodbus "
                                          "release 3.16.1")


@pytest.mark.parametrize(("args", "code", "line"), [
    (("explain", "999999", "--product", PRODUCT), 3,
     "error: issue 999999 has no occurrence in pymodbus any release"),
    (("explain", "1", "--product", PRODUCT, "--format", "xml"), 2, None),
    (("gate", "--product", PRODUCT, "--mode", "strict"), 2, None),
    (("report", "--product", PRODUCT, "--mode", "strict"), 2, None),
    (("status", "--product", PRODUCT, "--sl", "0", "--mode", "capability"), 2, None),
])
def test_bad_explain_and_mode_input(corpus_db: str, args: tuple[str, ...], code: int,
                                    line: str | None) -> None:
    res = invoke(*args, db=corpus_db)
    assert res.exit_code == code
    assert res.stdout == ""
    assert "Traceback" not in res.stderr
    if line is not None:
        assert res.stderr.splitlines()[0] == line
    else:
        assert "Invalid value" in res.stderr


def test_without_a_threat_model_everything_works_and_says_so(db_url: str) -> None:
    ingest(db_url, "3.16.1", threat_model=False)
    for mode in MODES:
        rep = report_json(db_url, "3.16.1", "--mode", mode)
        assert rep["threat_model_given"] is False
        assert {f["component"] for f in rep["findings"]} == {"unmodelled"}
        assert rep["model_gaps"] == []          # no model is not a gap in one
        assert all(f["severity"] == f["base_severity"] for f in rep["findings"])
    md = invoke("report", "--product", PRODUCT, "--release", "3.16.1", db=db_url)
    assert "> **No threat model was given**: every finding sits in `unmodelled`" in md.stdout
    table = invoke("status", "--product", PRODUCT, db=db_url)
    assert "no threat model was given" in table.stdout
    f = report_json(db_url, "3.16.1")["findings"][0]
    res = invoke("explain", f["issue"], "--product", PRODUCT, db=db_url)
    assert res.exit_code == 0
    assert "no threat model was given: the finding is rated on its own severity" in res.stdout
    assert "reach unknown: no threat model was given; the CWE alone decides" in res.stdout
