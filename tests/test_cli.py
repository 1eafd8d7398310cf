"""The ``triage`` command line on real scanner output: results, summaries, exit codes.

DESIGN.md §11: results on stdout, summaries on stderr; exit 0 ok, 1 the gate failed (and
only that), 2 usage, 3 bad input, 4 bad configuration or rules, 5 database, 70 internal.
Errors are one ``error: FILE: PLACE: what`` line (plus an optional ``hint:``), never a
traceback, and a failed command leaves the database as it was.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from triage_testkit import (
    PAIRS,
    PRODUCT,
    RELEASES,
    SAMPLE,
    STATUSES,
    THREAT_MODEL,
    TOOLS,
    ingest,
    invoke,
    release_logs,
    report_json,
    results_of,
    row_counts,
    snapshot,
    trend_json,
    without_generated_at,
)

SUMMARY = re.compile(r"^(?P<product>\S+) (?P<release>\S+): (?P<must>\d+) must-fix at SL-(?P<sl>\d)"
                     r" \| new (?P<new>\d+) fixed (?P<fixed>\d+) persisting (?P<persisting>\d+)"
                     r" reintroduced (?P<reintroduced>\d+)")
GATE_LINE = re.compile(r"^must-fix +\S+ +\S+ +\S+ +\S+ \(issue (?P<issue>\d+)\)$")
WHY_LINE = re.compile(r"^  why: \S.*$")


def _log_total(release: str) -> int:
    return sum(len(results_of(p)) for p in release_logs(release))


def _assert_clean_error(res: Any, code: int, *names: str) -> str:
    """Exit ``code``, one ``error:`` line naming ``names``, no traceback; return that line."""
    assert res.exit_code == code, (res.exit_code, res.stdout, res.stderr)
    assert "Traceback" not in res.stdout + res.stderr
    assert res.stdout == ""
    lines = res.stderr.splitlines()
    assert lines, "no error message on stderr"
    assert lines[0].startswith("error: "), lines
    assert all(line.startswith("hint: ") for line in lines[1:]), lines
    for name in names:
        assert name in lines[0], (name, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def small_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One release (3.16.1) ingested; bad-input tests try to change it and must not."""
    url = f"sqlite:///{tmp_path_factory.mktemp('small') / 'triage.db'}"
    ingest(url, "3.16.1")
    return url


# ---- ingest --------------------------------------------------------------------------------


def test_ingest_one_release_prints_a_summary_on_stderr(db_url: str) -> None:
    res = ingest(db_url, "3.16.1")
    assert res.stdout == ""
    lines = res.stderr.strip().splitlines()
    m = SUMMARY.match(lines[-1])
    assert m, lines
    assert "must-fix" in lines[-1] and "new" in lines[-1]
    # A first release: every finding is new, nothing else; SL-2 from the threat model.
    assert m["product"] == PRODUCT and m["release"] == "3.16.1" and m["sl"] == "2"
    assert int(m["new"]) == _log_total("3.16.1") == 69
    assert (m["fixed"], m["persisting"], m["reintroduced"]) == ("0", "0", "0")
    rep = report_json(db_url, "3.16.1")
    assert int(m["must"]) == rep["must_fix_by_sl"]["SL-2"]
    assert rep["status_counts"]["new"] == 69


def test_quiet_ingest_says_nothing(db_url: str) -> None:
    res = invoke(
        "-q", "ingest", *release_logs("3.16.1"), "--product", PRODUCT, "--release", "3.16.1",
        db=db_url)
    assert res.exit_code == 0, res.stderr
    assert (res.stdout, res.stderr) == ("", "")
    assert row_counts(db_url)["occurrence"] == 69


def test_reingesting_the_same_sarif_is_a_no_op(db_url: str) -> None:
    ingest(db_url, "3.9.2")
    ingest(db_url, "3.16.1")
    rows, trend = snapshot(db_url)
    before = without_generated_at(report_json(db_url, "3.16.1"))
    res = ingest(db_url, "3.16.1")
    for tool in TOOLS:
        assert re.search(rf"^  {tool}: \d+ findings.*already stored", res.stderr, re.M), \
            res.stderr
    assert snapshot(db_url) == (rows, trend)
    assert without_generated_at(report_json(db_url, "3.16.1")) == before
    # The summary still reports the release's statuses, unchanged.
    m = SUMMARY.match(res.stderr.strip().splitlines()[-1])
    assert m and int(m["persisting"]) == before["status_counts"]["persisting"]


def test_reingesting_a_different_log_replaces_that_tools_scan(db_url: str) -> None:
    ingest(db_url, "3.9.2")
    res = ingest(db_url, "3.9.2", logs=release_logs("3.16.1", ("bandit",)))
    assert "already stored" not in res.stderr
    rep = report_json(db_url, "3.9.2")
    assert {s["tool"]: s["findings"] for s in rep["scans"]} == {
        "bandit": 4, "ruff": 12, "semgrep": 51}
    assert len(rep["findings"]) == 67
    assert row_counts(db_url)["occurrence"] == 67


def test_ingest_with_a_db_from_the_environment(db_url: str) -> None:
    res = invoke("ingest", *release_logs("3.9.2", ("bandit",)), "--product", PRODUCT,
                 "--release", "3.9.2", env={"TRIAGE_DB": db_url})
    assert res.exit_code == 0, res.stderr
    assert row_counts(db_url)["occurrence"] == 5


# ---- read commands on the session corpus ---------------------------------------------------


def test_status_prints_the_must_fix_table(corpus_db: str) -> None:
    res = invoke("status", "--product", PRODUCT, "--release", "3.3.0", db=corpus_db)
    assert res.exit_code == 0, res.stderr
    rep = report_json(corpus_db, "3.3.0")
    must = rep["must_fix_by_sl"]["SL-2"]
    assert must > 0
    assert f"pymodbus 3.3.0: {must} must-fix at SL-2" in res.stdout
    for f in rep["findings"]:
        if f["verdict"]["must_fix"]:
            assert f["path"] in res.stdout
    assert SUMMARY.match(res.stderr.strip().splitlines()[-1]), res.stderr


def test_status_defaults_to_the_latest_release(corpus_db: str) -> None:
    res = invoke("status", "--product", PRODUCT, db=corpus_db)
    assert res.exit_code == 0, res.stderr
    assert "pymodbus 3.16.1:" in res.stdout


def test_report_markdown(corpus_db: str) -> None:
    res = invoke("report", "--product", PRODUCT, "--release", "3.3.0", "--format", "md",
                 db=corpus_db)
    assert res.exit_code == 0, res.stderr
    rep = report_json(corpus_db, "3.3.0")
    assert res.stdout.startswith("# pymodbus 3.3.0: security findings at SL-2")
    assert f"**{rep['must_fix_by_sl']['SL-2']} must-fix** at SL-2" in res.stdout
    assert "Since 3.0.0:" in res.stdout
    for heading in ("## Must fix", "## Dispositions by component", "## Scans and run health",
                    "## IEC 62443-4-1 evidence"):
        assert heading in res.stdout
    assert res.stderr == ""


def _monotonic(by_sl: dict[str, int]) -> bool:
    counts = [by_sl[f"SL-{n}"] for n in (1, 2, 3, 4)]
    return counts == sorted(counts)


@pytest.mark.parametrize("release", RELEASES)
def test_report_json_keeps_every_finding(corpus_db: str, release: str) -> None:
    """Nothing dropped: one report finding for each SARIF result, each with a verdict."""
    rep = report_json(corpus_db, release)
    assert (rep["schema"], rep["kind"], rep["release"], rep["sl"]) == (1, "release-report",
                                                                        release, 2)
    i = RELEASES.index(release)
    assert rep["previous"] == (RELEASES[i - 1] if i else None)
    assert _monotonic(rep["must_fix_by_sl"]), rep["must_fix_by_sl"]
    findings = rep["findings"]
    assert len(findings) == _log_total(release)
    # Exactly the results of the logs: every (log, result index) once.
    seen = sorted((f["to"]["file"], f["to"]["result"]) for f in findings)
    want = sorted((f"{tool}.sarif", k) for tool in TOOLS
                  for k in range(len(results_of(SAMPLE / release / f"{tool}.sarif"))))
    assert seen == want
    for f in findings:
        assert f["status"] in STATUSES - {"fixed", "not-analysed"}
        assert f["verdict"]["disposition"] and f["verdict"]["reason"], f
        assert f["explain"] and all(x["step"] and x["text"] for x in f["explain"]), f
    must = sum(f["verdict"]["must_fix"] for f in findings)
    assert must == rep["must_fix_by_sl"]["SL-2"]
    assert sum(rep["dispositions"].values()) == len(findings)
    assert sum(s["findings"] for s in rep["scans"]) == len(findings)
    counts = rep["status_counts"]
    assert counts["new"] + counts["persisting"] + counts["reintroduced"] == len(findings)
    assert counts["fixed"] + counts["not-analysed"] == len(rep["fixed"])


def test_report_defaults_to_the_latest_release_and_takes_an_sl(corpus_db: str) -> None:
    latest = json.loads(invoke("report", "--product", PRODUCT, "--format", "json",
                               db=corpus_db).stdout)
    assert latest["release"] == RELEASES[-1]
    at4 = report_json(corpus_db, "3.16.1", "--sl", "4")
    assert at4["sl"] == 4
    assert sum(f["verdict"]["must_fix"] for f in at4["findings"]) == at4["must_fix_by_sl"]["SL-4"]


def test_trend_markdown(corpus_db: str) -> None:
    res = invoke("trend", "--product", PRODUCT, "--format", "md", db=corpus_db)
    assert res.exit_code == 0, res.stderr
    assert res.stdout.startswith("# pymodbus: trend across 8 releases")
    rows = [line.split("|")[1].strip() for line in res.stdout.splitlines()
            if line.startswith("| ") and not line.startswith("| release")]
    assert rows == list(RELEASES)


def test_trend_json_agrees_with_the_logs_and_the_diffs(
        corpus_db: str, corpus_diffs: dict[tuple[str, str], Any]) -> None:
    trend = trend_json(corpus_db)
    assert (trend["schema"], trend["kind"], trend["sl"]) == (1, "trend-report", 2)
    points = trend["releases"]
    assert [p["release"] for p in points] == list(RELEASES)
    for p in points:
        assert p["total"] == _log_total(p["release"])
        assert _monotonic(p["must_fix_by_sl"]), p
    assert points[0]["new"] == points[0]["total"]
    for (_old, new), diff in corpus_diffs.items():
        point = next(p for p in points if p["release"] == new)
        counts = {s: 0 for s in STATUSES}
        for row in diff["issues"]:
            counts[row["status"]] += 1
        assert counts["new"] == point["new"]
        assert counts["fixed"] == point["fixed"]
        assert counts["persisting"] == point["persisting"]
        assert counts["reintroduced"] == point["reintroduced"]
        assert counts["not-analysed"] == point["not_analysed"]
        assert counts["new"] + counts["persisting"] + counts["reintroduced"] == point["total"]


@pytest.mark.parametrize("fmt", ["table", "md"])
def test_diff_text_formats(corpus_db: str, corpus_diffs: dict[tuple[str, str], Any],
                           fmt: str) -> None:
    res = invoke("diff", "--product", PRODUCT, "--from", "3.9.2", "--to", "3.16.1",
                 "--format", fmt, db=corpus_db)
    assert res.exit_code == 0, res.stderr
    issues = corpus_diffs[("3.9.2", "3.16.1")]["issues"]
    for row in issues:
        assert str(row["issue"]) in res.stdout
    counts: dict[str, int] = {}
    for row in issues:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    assert res.stderr.strip() == "pymodbus 3.9.2 -> 3.16.1: " + " ".join(
        f"{k} {v}" for k, v in sorted(counts.items()))


@pytest.mark.parametrize(("old", "new"), PAIRS)
def test_diff_json_shape(corpus_diffs: dict[tuple[str, str], Any], old: str, new: str) -> None:
    doc = corpus_diffs[(old, new)]
    assert (doc["schema"], doc["kind"]) == (1, "diff")
    assert doc["issues"]
    logs = {f"{tool}.sarif" for tool in TOOLS}
    for row in doc["issues"]:
        assert row["status"] in STATUSES
        assert row["tool"] in TOOLS
        assert row["rule"] and isinstance(row["issue"], int)
        has_from, has_to = row["from"] is not None, row["to"] is not None
        expect = {"persisting": (True, True), "new": (False, True),
                  "reintroduced": (False, True), "fixed": (True, False),
                  "not-analysed": (True, False)}[row["status"]]
        assert (has_from, has_to) == expect, row
        for side in (row["from"], row["to"]):
            if side is not None:
                assert side["file"] == f"{row['tool']}.sarif" and side["file"] in logs
                assert side["run"] == 0 and side["result"] >= 0
    # Each result of the new logs appears exactly once; each of the old logs at most once.
    to = [(r["to"]["file"], r["to"]["result"]) for r in doc["issues"] if r["to"]]
    assert len(to) == len(set(to)) == _log_total(new)
    frm = [(r["from"]["file"], r["from"]["result"]) for r in doc["issues"] if r["from"]]
    assert len(frm) == len(set(frm))
    # An issue id appears once per diff.
    ids = [r["issue"] for r in doc["issues"]]
    assert len(ids) == len(set(ids))


# ---- gate ----------------------------------------------------------------------------------


def _gate(db: str, release: str, *extra: str) -> tuple[Any, set[int]]:
    res = invoke("gate", "--product", PRODUCT, "--release", release, *extra, db=db)
    ids = set()
    lines = res.stdout.splitlines()
    # each blocking finding, then the one-line reason that decided
    for line, why in zip(lines[::2], lines[1::2], strict=True):
        m = GATE_LINE.match(line)
        assert m, line
        assert WHY_LINE.match(why), why
        ids.add(int(m["issue"]))
    return res, ids


def _must_fix(rep: dict[str, Any], statuses: set[str] = STATUSES) -> set[int]:
    return {f["issue"] for f in rep["findings"]
            if f["verdict"]["must_fix"] and f["status"] in statuses}


def test_gate_fails_at_sl2_on_330(corpus_db: str) -> None:
    rep = report_json(corpus_db, "3.3.0", "--sl", "2")
    assert rep["must_fix_by_sl"]["SL-2"] > 0
    res, ids = _gate(corpus_db, "3.3.0", "--sl", "2")
    assert res.exit_code == 1, res.stderr
    assert ids == _must_fix(rep) and len(ids) == rep["must_fix_by_sl"]["SL-2"]
    assert res.stderr.startswith(f"gate FAILED: {len(ids)} must-fix at SL-2 in pymodbus 3.3.0")
    # Without --sl the threat model's target (SL-2) applies.
    res2, ids2 = _gate(corpus_db, "3.3.0")
    assert (res2.exit_code, ids2) == (1, ids)


def test_gate_passes_at_sl1_on_330(corpus_db: str) -> None:
    rep = report_json(corpus_db, "3.3.0", "--sl", "1")
    assert rep["must_fix_by_sl"]["SL-1"] == 0
    res, ids = _gate(corpus_db, "3.3.0", "--sl", "1")
    assert res.exit_code == 0, res.stderr
    assert ids == set() and res.stdout == ""
    assert res.stderr.startswith("gate PASSED: 0 must-fix at SL-1 in pymodbus 3.3.0")


@pytest.mark.parametrize("release", ["3.3.0", "3.6.9", "3.16.1"])
def test_gate_new_only_counts_only_new_and_reintroduced(corpus_db: str, release: str) -> None:
    rep = report_json(corpus_db, release, "--sl", "2")
    everything = _must_fix(rep)
    fresh = _must_fix(rep, {"new", "reintroduced"})
    res, ids = _gate(corpus_db, release, "--sl", "2", "--new-only")
    assert ids == fresh
    assert res.exit_code == (1 if fresh else 0), res.stderr
    assert f"{len(fresh)} new must-fix at SL-2" in res.stderr
    res_all, ids_all = _gate(corpus_db, release, "--sl", "2")
    assert ids_all == everything and res_all.exit_code == (1 if everything else 0)


def test_gate_new_only_passes_when_only_old_must_fix_remain(corpus_db: str) -> None:
    # 3.16.1 keeps the must-fix findings of 3.9.2 (B104 binds to all interfaces ...) and
    # adds none: the gate fails, the new-only gate passes.
    res, ids = _gate(corpus_db, "3.16.1", "--sl", "2")
    assert res.exit_code == 1 and ids
    res_new, ids_new = _gate(corpus_db, "3.16.1", "--sl", "2", "--new-only")
    assert (res_new.exit_code, ids_new, res_new.stdout) == (0, set(), "")
    assert res_new.stderr.startswith("gate PASSED: 0 new must-fix at SL-2")


# ---- -o FILE -------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [
    ("report", "--product", PRODUCT, "--release", "3.3.0", "--format", "md"),
    ("report", "--product", PRODUCT, "--release", "3.3.0", "--format", "json"),
    ("trend", "--product", PRODUCT, "--format", "json"),
    ("diff", "--product", PRODUCT, "--from", "3.9.2", "--to", "3.16.1", "--format", "json"),
], ids=["report-md", "report-json", "trend-json", "diff-json"])
def test_output_file(corpus_db: str, tmp_path: Path, args: tuple[str, ...]) -> None:
    out = tmp_path / "out.txt"
    res = invoke(*args, "-o", out, db=corpus_db)
    assert res.exit_code == 0, res.stderr
    assert res.stdout == ""
    printed = invoke(*args, db=corpus_db).stdout
    written = out.read_text(encoding="utf-8")
    strip = re.compile(r'("generated_at": "[^"]*"|<sub>triage [^<]*</sub>)')
    assert strip.sub("", written) == strip.sub("", printed)
    assert written


def test_output_file_in_a_missing_directory_is_a_clean_error(corpus_db: str,
                                                             tmp_path: Path) -> None:
    out = tmp_path / "no" / "such" / "dir" / "trend.md"
    res = invoke("trend", "--product", PRODUCT, "--format", "md", "-o", out, db=corpus_db)
    _assert_clean_error(res, 2, str(out))
    assert not out.exists()


# ---- bad input: exit 3, one line, nothing stored -------------------------------------------


def _truncated(tmp: Path) -> Path:
    raw = (SAMPLE / "3.16.1" / "ruff.sarif").read_bytes()
    path = tmp / "truncated.sarif"
    path.write_bytes(raw[: len(raw) // 2])
    return path


def _string_location(tmp: Path) -> Path:
    doc = json.loads((SAMPLE / "3.16.1" / "ruff.sarif").read_text(encoding="utf-8"))
    doc["runs"][0]["results"][3]["locations"][0] = "pymodbus/client/tls.py:145"
    path = tmp / "wrong-type.sarif"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _write(name: str, text: str) -> Any:
    def make(tmp: Path) -> Path:
        path = tmp / name
        path.write_text(text, encoding="utf-8")
        return path
    return make


BAD_SARIF = [
    ("empty", _write("empty.sarif", ""), ()),
    ("not-json", _write("notjson.sarif", "this is not JSON\n"), ("line 1",)),
    ("runs-5", _write("runs5.sarif", '{"runs": 5}'), ()),
    ("sarif-2.0.0", _write("v200.sarif", '{"version": "2.0.0", "runs": []}'),
     ("version", "2.0.0")),
    ("runs-not-array", _write("runsnum.sarif", '{"version": "2.1.0", "runs": 5}'), ("runs",)),
    ("truncated", _truncated, ("not valid JSON",)),
    ("location-is-a-string", _string_location, ("runs[0].results[3].locations[0]",)),
]


@pytest.mark.parametrize(("make", "place"), [b[1:] for b in BAD_SARIF],
                         ids=[b[0] for b in BAD_SARIF])
def test_bad_sarif_exits_3_and_changes_nothing(small_db: str, tmp_path: Path, make: Any,
                                               place: tuple[str, ...]) -> None:
    bad = make(tmp_path)
    before = snapshot(small_db)
    res = invoke("ingest", bad, "--product", PRODUCT, "--release", "9.9.9",
                 "--threat-model", THREAT_MODEL, db=small_db)
    line = _assert_clean_error(res, 3, f"error: {bad.name}: ", *place)
    if bad.name == "runs5.sarif":  # names where it went wrong: the version or the runs
        assert "version" in line or "runs" in line
    assert snapshot(small_db) == before


def test_a_bad_log_after_good_ones_stores_nothing(small_db: str, tmp_path: Path) -> None:
    bad = _string_location(tmp_path)
    before = snapshot(small_db)
    res = invoke("ingest", *release_logs("3.9.2", ("bandit", "semgrep")), bad,
                 "--product", PRODUCT, "--release", "9.9.9", db=small_db)
    _assert_clean_error(res, 3, bad.name)
    assert snapshot(small_db) == before


def test_threat_model_yaml_error_names_the_line(small_db: str, tmp_path: Path) -> None:
    lines = THREAT_MODEL.read_text(encoding="utf-8").splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.strip() == "port: 502") + 1
    lines.insert(at, "   broken: [indent\n")  # 1-based line at + 1
    bad = tmp_path / "threatmodel.yaml"
    bad.write_text("".join(lines), encoding="utf-8")
    before = snapshot(small_db)
    res = invoke("ingest", *release_logs("3.9.2"), "--product", PRODUCT, "--release", "9.9.9",
                 "--threat-model", bad, db=small_db)
    _assert_clean_error(res, 3, "threatmodel.yaml", f"line {at + 1}")
    assert snapshot(small_db) == before


def test_a_missing_sarif_file_exits_3(small_db: str, tmp_path: Path) -> None:
    before = snapshot(small_db)
    res = invoke("ingest", tmp_path / "nope.sarif", "--product", PRODUCT, "--release", "9.9.9",
                 db=small_db)
    _assert_clean_error(res, 3, "nope.sarif")
    assert snapshot(small_db) == before


@pytest.mark.parametrize("args", [
    ("report", "--product", PRODUCT, "--release", "9.9.9", "--format", "md"),
    ("status", "--product", PRODUCT, "--release", "9.9.9"),
    ("gate", "--product", PRODUCT, "--release", "9.9.9"),
    ("diff", "--product", PRODUCT, "--from", "3.16.1", "--to", "9.9.9"),
], ids=["report", "status", "gate", "diff"])
def test_unknown_release_exits_3(small_db: str, args: tuple[str, ...]) -> None:
    before = snapshot(small_db)
    res = invoke(*args, db=small_db)
    _assert_clean_error(res, 3, "9.9.9")
    assert "3.16.1" in res.stderr  # the hint names the known releases
    assert snapshot(small_db) == before


@pytest.mark.parametrize("args", [
    ("report", "--product", "nosuchproduct", "--format", "json"),
    ("status", "--product", "nosuchproduct"),
    ("gate", "--product", "nosuchproduct"),
    ("trend", "--product", "nosuchproduct", "--format", "md"),
    ("diff", "--product", "nosuchproduct", "--from", "1", "--to", "2"),
], ids=["report", "status", "gate", "trend", "diff"])
def test_unknown_product_exits_3(small_db: str, args: tuple[str, ...]) -> None:
    before = snapshot(small_db)
    res = invoke(*args, db=small_db)
    _assert_clean_error(res, 3, "nosuchproduct")
    assert snapshot(small_db) == before


def test_after_an_unknown_release_exits_3_and_creates_nothing(small_db: str) -> None:
    before = snapshot(small_db)
    res = invoke("ingest", *release_logs("3.9.2"), "--product", "other", "--release", "1",
                 "--after", "0.9", db=small_db)
    _assert_clean_error(res, 3, "0.9")
    assert snapshot(small_db) == before


# ---- usage, configuration and database errors ----------------------------------------------


@pytest.mark.parametrize("args", [
    ("gate", "--release", "3.16.1"),  # --product missing
    ("gate", "--product", PRODUCT, "--sl", "5"),
    ("report", "--product", PRODUCT, "--format", "pdf"),
    ("ingest", "--product", PRODUCT, "--release", "1"),  # no SARIF
    ("frobnicate",),
], ids=["missing-option", "sl-out-of-range", "unknown-format", "no-sarif", "no-command"])
def test_usage_errors_exit_2(small_db: str, args: tuple[str, ...]) -> None:
    res = invoke(*args, db=small_db)
    assert res.exit_code == 2, (res.stdout, res.stderr)
    assert "Traceback" not in res.stdout + res.stderr


POLICIES = {
    "yaml-syntax": "severity_mode:\n  1: { must_fix_at_least: critical\n",
    "wrong-shape": "severity_mode:\n  1: 5\n  2: 6\n",
    "unknown-severity": "severity_mode:\n" + "".join(
        f"  {n}: {{ must_fix_at_least: catastrophic }}\n" for n in (1, 2, 3, 4)),
    "missing-levels": "severity_mode:\n  1: { must_fix_at_least: critical }\n",
    "not-monotonic": "severity_mode:\n  1: { must_fix_at_least: info }\n"
                     "  2: { must_fix_at_least: high }\n  3: { must_fix_at_least: medium }\n"
                     "  4: { must_fix_at_least: critical }\n",
    "not-a-mapping": "- just\n- a list\n",
}


@pytest.mark.parametrize("policy", POLICIES.values(), ids=POLICIES.keys())
@pytest.mark.parametrize("command", ["trend", "ingest"])
def test_bad_rules_dir_exits_4(small_db: str, tmp_path: Path, policy: str,
                               command: str) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "policy.yaml").write_text(policy, encoding="utf-8")
    before = snapshot(small_db)
    args: tuple[object, ...] = (
        ("trend", "--product", PRODUCT, "--format", "md") if command == "trend" else
        ("ingest", *release_logs("3.9.2"), "--product", PRODUCT, "--release", "9.9.9"))
    res = invoke("--rules", rules, *args, db=small_db)
    _assert_clean_error(res, 4, "policy.yaml")
    assert snapshot(small_db) == before


def test_rules_that_name_no_directory_exit_4(small_db: str, tmp_path: Path) -> None:
    res = invoke("--rules", tmp_path / "missing", "trend", "--product", PRODUCT, db=small_db)
    _assert_clean_error(res, 4, "missing")


@pytest.mark.parametrize("url", [
    "nosuchdialect://x",
    "sqlite:////nonexistent-dir-for-triage-tests/sub/triage.db",
    "postgresql+psycopg://nobody@127.0.0.1:1/none",
], ids=["unknown-dialect", "sqlite-missing-dir", "pg-refused"])
def test_unusable_database_exits_5(url: str) -> None:
    res = invoke("trend", "--product", PRODUCT, "--format", "md", db=url)
    _assert_clean_error(res, 5)


def test_a_directory_as_the_database_exits_5(tmp_path: Path) -> None:
    res = invoke("trend", "--product", PRODUCT, db=str(tmp_path))
    _assert_clean_error(res, 5, str(tmp_path))


def test_version() -> None:
    res = invoke("--version")
    assert res.exit_code == 0
    assert re.match(r"^triage, version \d+\.\d+", res.stdout)


def test_diff_in_reverse_order_is_bad_input(corpus_db: str) -> None:
    result = invoke("diff", "--product", PRODUCT, "--from", "3.16.1", "--to", "3.9.2",
                    db=corpus_db)
    assert result.exit_code == 3
    assert result.stderr.startswith("error: --from 3.16.1 comes after --to 3.9.2")
    assert "Traceback" not in result.stderr
