"""Tracking across releases (DESIGN.md §8) on real scanner output, against the oracle.

The oracle (``tests/data/oracle``, a copy of sarif-corpus/pymodbus/oracle) says, for each
consecutive pair of releases and each scanner, which results persist (a -> b), which are
fixed and which are new; results it calls neither are ambiguous and not scored.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from triage_testkit import (
    ORACLE_DIR,
    PAIRS,
    PRODUCT,
    SAMPLE,
    THREAT_MODEL,
    TOOLS,
    diff_json,
    ingest,
    invoke,
    location,
    prov_key,
    release_logs,
    report_json,
    results_of,
    trend_json,
)

# Floors for the identity scores: measured values may only go up (see the final table).
# Measured (P/R, all 21 pairs, logs only): bandit 0.9973/0.9986, ruff 0.9950/0.9975,
# semgrep 1.0/1.0; the goal is at least 0.99 for every scanner.
FLOORS = {
    "all": (0.996, 0.998),
    "bandit": (0.997, 0.998),
    "semgrep": (0.99, 0.99),
    "ruff": (0.994, 0.997),
}


def _oracle(scanner: str, old: str, new: str) -> dict[str, Any]:
    return json.loads((ORACLE_DIR / f"{scanner}__{old}__{new}.json").read_text(encoding="utf-8"))


def score(oracle: dict[str, Any], diff: dict[str, Any]) -> dict[str, dict[str, int]]:
    """True/false positives and negatives per class, as sarif-corpus' score_identity.py.

    Only the oracle's unambiguous cases are scored: a persisting pair must be linked
    from -> to; a fixed result must be called fixed; a new result new or reintroduced.
    """
    want_from = Path(oracle["from_sarif"]).name
    want_to = Path(oracle["to_sarif"]).name
    links: set[tuple[int, int]] = set()
    fixed: set[int] = set()
    new: set[int] = set()
    for row in diff["issues"]:
        a = row["from"] if row["from"] and row["from"]["file"] == want_from else None
        b = row["to"] if row["to"] and row["to"]["file"] == want_to else None
        status = row["status"]
        if status == "persisting" and a and b:
            links.add((a["result"], b["result"]))
        elif status == "fixed" and a:
            fixed.add(a["result"])
        elif status in ("new", "reintroduced") and b:
            new.add(b["result"])
    o_links = {(a, b) for a, b in oracle["persisting"]}
    o_fixed, o_new = set(oracle["fixed"]), set(oracle["new"])
    o_from = {a for a, _ in o_links} | o_fixed
    o_to = {b for _, b in o_links} | o_new
    decided_links = {pair for pair in links if pair[0] in o_from or pair[1] in o_to}
    decided_fixed, decided_new = fixed & o_from, new & o_to
    return {
        "persisting": {"tp": len(decided_links & o_links), "fp": len(decided_links - o_links),
                       "fn": len(o_links - links)},
        "fixed": {"tp": len(decided_fixed & o_fixed), "fp": len(decided_fixed - o_fixed),
                  "fn": len(o_fixed - fixed)},
        "new": {"tp": len(decided_new & o_new), "fp": len(decided_new - o_new),
                "fn": len(o_new - new)},
    }


def _pr(c: Counter[str]) -> tuple[float, float]:
    p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 1.0
    r = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 1.0
    return p, r


def _rows(diff: dict[str, Any], tool: str) -> list[dict[str, Any]]:
    return [r for r in diff["issues"] if r["tool"] == tool]


# ---- (a) a finding that moves to another line persists ------------------------------------


def test_a_finding_that_moves_down_100_lines_persists(db_url: str) -> None:
    """bandit B101 ``assert client.silent_interval == ...``: test_client_sync.py 262 -> 362."""
    old_log, new_log = SAMPLE / "2.1.0" / "bandit.sarif", SAMPLE / "2.3.0" / "bandit.sarif"
    old, new = results_of(old_log), results_of(new_log)
    a = next(i for i, r in enumerate(old)
             if location(r) == ("test/test_client_sync.py", 262) and r["ruleId"] == "B101")
    assert "silent_interval" in old[a]["locations"][0]["physicalLocation"]["region"][
        "snippet"]["text"]
    pairs = dict(_oracle("bandit", "2.1.0", "2.3.0")["persisting"])
    b = pairs[a]
    assert location(new[b]) == ("test/test_client_sync.py", 362)

    ingest(db_url, "2.1.0", ("bandit",))
    ingest(db_url, "2.3.0", ("bandit",))
    diff = diff_json(db_url, "2.1.0", "2.3.0")
    row = next(r for r in diff["issues"] if prov_key(r["from"]) == ("bandit.sarif", 0, a))
    assert row["status"] == "persisting", row
    assert prov_key(row["to"]) == ("bandit.sarif", 0, b)
    assert (row["rule"], row["path"], row["line"]) == ("B101", "test/test_client_sync.py", 362)


# ---- (b) identity scored against the 21 oracle files --------------------------------------


def test_identity_against_the_oracle(corpus_diffs: dict[tuple[str, str], Any]) -> None:
    totals: dict[str, Counter[str]] = {k: Counter() for k in ("bandit", "ruff", "semgrep", "all")}
    table = ["", f"{'scanner':8} {'from -> to':18} {'P':>6} {'R':>6}   tp   fp   fn"]
    files = sorted(ORACLE_DIR.glob("*__*__*.json"))
    assert len(files) == 21
    for path in files:
        scanner, old, new = path.stem.split("__")
        result = score(json.loads(path.read_text(encoding="utf-8")), corpus_diffs[(old, new)])
        c: Counter[str] = Counter()
        for cls in result.values():
            c.update(cls)
        totals[scanner].update(c)
        totals["all"].update(c)
        p, r = _pr(c)
        table.append(f"{scanner:8} {old + ' -> ' + new:18} {p:6.3f} {r:6.3f} "
                     f"{c['tp']:4} {c['fp']:4} {c['fn']:4}")
    table.append("")
    for name in ("bandit", "ruff", "semgrep", "all"):
        p, r = _pr(totals[name])
        c = totals[name]
        table.append(f"{name:8} {'total':18} {p:6.3f} {r:6.3f} "
                     f"{c['tp']:4} {c['fp']:4} {c['fn']:4}")
    print("\n".join(table))
    for name, (p_floor, r_floor) in FLOORS.items():
        p, r = _pr(totals[name])
        assert p >= p_floor and r >= r_floor, (name, round(p, 4), round(r, 4))


# ---- (c) reintroduced ----------------------------------------------------------------------


def test_a_finding_that_comes_back_is_reintroduced(db_url: str) -> None:
    """X = bandit 3.6.9, Y = bandit 3.9.2, Z = bandit 3.6.9 again (say, a bad revert)."""
    logs_a = release_logs("3.6.9", ("bandit",))
    ingest(db_url, "X", logs=logs_a, threat_model=False)
    ingest(db_url, "Y", logs=release_logs("3.9.2", ("bandit",)), threat_model=False)
    res = ingest(db_url, "Z", logs=logs_a, threat_model=False)

    x_to_y = diff_json(db_url, "X", "Y")
    y_to_z = diff_json(db_url, "Y", "Z")
    gone = {r["from"]["result"]: r["issue"] for r in x_to_y["issues"] if r["status"] == "fixed"}
    kept = {r["to"]["result"] for r in x_to_y["issues"] if r["status"] == "persisting"}
    assert gone and kept
    back = {r["to"]["result"]: r["issue"] for r in y_to_z["issues"]
            if r["status"] == "reintroduced"}
    # Every finding fixed in Y is back in Z under its old issue id, and nothing is new.
    assert back == gone
    counts = Counter(r["status"] for r in y_to_z["issues"])
    assert counts == {"reintroduced": len(gone), "persisting": len(kept)}
    assert f"reintroduced {len(gone)}" in res.stderr
    # X -> Z: the same log, every finding persists on itself.
    x_to_z = diff_json(db_url, "X", "Z")
    assert all(r["status"] == "persisting" and prov_key(r["from"]) == prov_key(r["to"])
               for r in x_to_z["issues"])
    assert len(x_to_z["issues"]) == len(results_of(logs_a[0]))
    point = trend_json(db_url)["releases"][2]
    assert (point["release"], point["reintroduced"], point["new"]) == ("Z", len(gone), 0)


# ---- (d) --after places a release between two others --------------------------------------


def _after_db(url: str) -> None:
    ingest(url, "2.1.0", ("bandit",))
    ingest(url, "2.5.3", ("bandit",))
    ingest(url, "2.3.0", ("bandit",), "--after", "2.1.0")


def test_after_places_a_release_between_two_others(
        db_url: str, corpus_diffs: dict[tuple[str, str], Any]) -> None:
    _after_db(db_url)
    assert [p["release"] for p in trend_json(db_url)["releases"]] == ["2.1.0", "2.3.0", "2.5.3"]
    assert report_json(db_url, "2.3.0")["previous"] == "2.1.0"
    assert report_json(db_url, "2.5.3")["previous"] == "2.3.0"
    res = invoke("gate", "--product", PRODUCT, "--sl", "1", db=db_url)
    assert "in pymodbus 2.5.3" in res.stderr  # still the latest
    # The inserted release is tracked against its predecessor as if ingested in order.
    def key(rows: list[dict[str, Any]]) -> Counter[tuple[Any, ...]]:
        return Counter((r["status"], prov_key(r["from"]), prov_key(r["to"])) for r in rows)

    inserted = diff_json(db_url, "2.1.0", "2.3.0")["issues"]
    assert key(inserted) == key(_rows(corpus_diffs[("2.1.0", "2.3.0")], "bandit"))


def test_after_the_last_release_appends(db_url: str) -> None:
    ingest(db_url, "3.9.2", ("bandit",))
    ingest(db_url, "3.16.1", ("bandit",), "--after", "3.9.2")
    assert [p["release"] for p in trend_json(db_url)["releases"]] == ["3.9.2", "3.16.1"]


def test_after_relinks_the_release_that_follows(
        db_url: str, corpus_diffs: dict[tuple[str, str], Any]) -> None:
    _after_db(db_url)

    def key(rows: list[dict[str, Any]]) -> Counter[tuple[Any, ...]]:
        return Counter((r["status"], prov_key(r["from"]), prov_key(r["to"])) for r in rows)

    following = diff_json(db_url, "2.3.0", "2.5.3")["issues"]
    assert key(following) == key(_rows(corpus_diffs[("2.3.0", "2.5.3")], "bandit"))


# ---- (e) a failed run or a file not analysed never turns into fixed -----------------------


def test_files_a_scanner_could_not_parse_are_not_analysed(corpus_db: str) -> None:
    """2.1.0 uses ``async`` as a package name: ruff reports invalid-syntax, bandit skips."""
    ruff = results_of(SAMPLE / "2.1.0" / "ruff.sarif")
    broken = {location(r)[0] for r in ruff if r["ruleId"] == "invalid-syntax"}
    assert len(broken) == 16
    scans = {s["tool"]: s for s in report_json(corpus_db, "2.1.0")["scans"]}
    assert set(scans["ruff"]["not_analysed"]) == broken
    assert set(scans["bandit"]["not_analysed"]) == broken  # toolConfigurationNotifications
    assert scans["semgrep"]["not_analysed"] == []


def test_2_1_0_to_2_3_0_invalid_syntax_is_fixed_when_the_files_parse_again(
        corpus_diffs: dict[tuple[str, str], Any]) -> None:
    """The oracle's 47 fixed ruff results are all invalid-syntax; 2.3.0 parses everything."""
    oracle = _oracle("ruff", "2.1.0", "2.3.0")
    ruff = results_of(SAMPLE / "2.1.0" / "ruff.sarif")
    assert {ruff[a]["ruleId"] for a in oracle["fixed"]} == {"invalid-syntax"}
    rows = _rows(corpus_diffs[("2.1.0", "2.3.0")], "ruff")
    fixed = {r["from"]["result"] for r in rows if r["status"] == "fixed"}
    assert set(oracle["fixed"]) <= fixed
    assert not [r for r in corpus_diffs[("2.1.0", "2.3.0")]["issues"]
                if r["status"] == "not-analysed"]


def test_findings_in_files_that_stop_parsing_are_not_analysed_not_fixed(db_url: str) -> None:
    """A = 2.3.0 (parses), B = 2.1.0's logs of the same files (``async``: cannot parse)."""
    tools = ("bandit", "ruff")
    ingest(db_url, "A", logs=release_logs("2.3.0", tools), threat_model=False)
    res = ingest(db_url, "B", logs=release_logs("2.1.0", tools), threat_model=False)
    blind = {s["tool"]: set(s["not_analysed"]) for s in report_json(db_url, "B")["scans"]}
    rows = diff_json(db_url, "A", "B")["issues"]
    for tool in tools:
        mine = [r for r in rows if r["tool"] == tool]
        in_blind = [r for r in mine if r["path"] in blind[tool] and r["to"] is None]
        assert in_blind, tool  # 2.3.0 has findings in test/test_client_async*.py
        assert {r["status"] for r in in_blind} == {"not-analysed"}
        assert not [r for r in mine if r["status"] == "fixed" and r["path"] in blind[tool]]
    n = sum(r["status"] == "not-analysed" for r in rows)
    assert f"not-analysed {n}" in res.stderr
    assert trend_json(db_url)["releases"][1]["not_analysed"] == n


def test_a_failed_run_never_fixes_anything(db_url: str, tmp_path: Path) -> None:
    """bandit 3.6.9, then bandit 3.9.2 marked ``executionSuccessful: false``."""
    doc = json.loads((SAMPLE / "3.9.2" / "bandit.sarif").read_text(encoding="utf-8"))
    doc["runs"][0]["invocations"][0]["executionSuccessful"] = False
    failed = tmp_path / "bandit.sarif"
    failed.write_text(json.dumps(doc), encoding="utf-8")

    ingest(db_url, "3.6.9", ("bandit",))
    res = ingest(db_url, "3.9.2", logs=[str(failed)])
    assert "RUN FAILED" in res.stderr
    rows = diff_json(db_url, "3.6.9", "3.9.2")["issues"]
    counts = Counter(r["status"] for r in rows)
    assert counts["fixed"] == 0
    assert counts["persisting"] == 5  # the 5 results 3.9.2 still reports
    assert counts["not-analysed"] == len(results_of(SAMPLE / "3.6.9" / "bandit.sarif")) - 5
    rep = report_json(db_url, "3.9.2")
    assert [s["successful"] for s in rep["scans"]] == [False]
    assert rep["status_counts"]["fixed"] == 0
    point = trend_json(db_url)["releases"][1]
    assert (point["fixed"], point["not_analysed"]) == (0, counts["not-analysed"])


@pytest.mark.parametrize("results", ["absent", "null"])
@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
def test_a_run_without_results_never_fixes_anything(db_url: str, tmp_path: Path, results: str,
                                                    streamed: bool) -> None:
    """SARIF 3.14.23: a run whose results are absent or null did not determine them."""
    doc = json.loads((SAMPLE / "3.9.2" / "bandit.sarif").read_text(encoding="utf-8"))
    if results == "absent":
        del doc["runs"][0]["results"]
    else:
        doc["runs"][0]["results"] = None
    blind = tmp_path / "bandit.sarif"
    blind.write_text(json.dumps(doc), encoding="utf-8")

    ingest(db_url, "3.6.9", ("bandit",))
    res = invoke("ingest", str(blind), "--product", PRODUCT, "--release", "3.9.2",
                 "--threat-model", THREAT_MODEL, db=db_url,
                 env={"TRIAGE_STREAM_BYTES": "0"} if streamed else None)
    assert res.exit_code == 0, res.stderr
    assert "bandit: 0 findings, RUN FAILED" in res.stderr
    counts = Counter(r["status"] for r in diff_json(db_url, "3.6.9", "3.9.2")["issues"])
    assert counts == {"not-analysed": len(results_of(SAMPLE / "3.6.9" / "bandit.sarif"))}


def test_a_release_without_a_tool_does_not_fix_that_tools_findings(db_url: str) -> None:
    """3.9.2 with all three scanners, 3.16.1 with semgrep only: bandit/ruff are not fixed."""
    ingest(db_url, "3.9.2")
    ingest(db_url, "3.16.1", ("semgrep",))
    rows = diff_json(db_url, "3.9.2", "3.16.1")["issues"]
    assert {r["tool"] for r in rows} == {"semgrep"}
    assert trend_json(db_url)["releases"][1]["fixed"] == sum(
        r["status"] == "fixed" for r in rows)


@pytest.mark.parametrize("tool", TOOLS)
def test_diff_of_a_release_with_itself_is_all_persisting(
        corpus_db: str, tool: str) -> None:
    rows = [r for r in diff_json(corpus_db, "3.6.9", "3.6.9")["issues"] if r["tool"] == tool]
    assert rows and all(r["status"] == "persisting" and r["from"] == r["to"] for r in rows)
    assert len(rows) == len(results_of(SAMPLE / "3.6.9" / f"{tool}.sarif"))


def test_every_oracle_file_matches_the_corpus() -> None:
    """The copied oracle refers to the logs in sample_sarif (same result counts)."""
    for old, new in PAIRS:
        for tool in TOOLS:
            o = _oracle(tool, old, new)
            assert o["counts"]["from_results"] == len(results_of(SAMPLE / o["from_sarif"]))
            assert o["counts"]["to_results"] == len(results_of(SAMPLE / o["to_sarif"]))


# ---- (f) other scanners' anchors: the same identities, whatever the order of the logs -----


def test_other_scanners_anchors_place_findings_without_text(db_url: str, tmp_path: Path) -> None:
    """ruff writes no snippets; its B905 in pymodbus/device.py (3.6.9 -> 3.9.2) is known by
    its message only. Stored after semgrep, it sits exactly where semgrep's findings of the
    same file moved (layer ``anchor``); stored first, it is placed by its own scan alone.
    Either way the identities are the same."""
    first = f"sqlite:///{tmp_path / 'ruff-first.db'}"
    for url, tools in ((db_url, ("semgrep", "ruff")), (first, ("ruff", "semgrep"))):
        for release in ("3.6.9", "3.9.2"):
            ingest(url, release, logs=release_logs(release, tools), threat_model=False)
    after, before = (diff_json(url, "3.6.9", "3.9.2")["issues"] for url in (db_url, first))

    def at(rows: list[dict[str, Any]], line: int) -> dict[str, Any]:
        return next(r for r in rows if (r["tool"], r["rule"], r["path"], r["line"])
                    == ("ruff", "B905", "pymodbus/device.py", line))

    assert at(after, 387)["status"] == "persisting"
    assert at(after, 387)["link"] == "anchor"
    assert at(before, 387)["link"] != "anchor"

    def key(rows: list[dict[str, Any]]) -> Counter[tuple[Any, ...]]:
        return Counter((r["tool"], r["status"], prov_key(r["from"]), prov_key(r["to"]))
                       for r in rows)

    assert key(after) == key(before)
