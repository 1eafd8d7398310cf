"""Time to fix in days: release dates given with ``--released`` on real pymodbus releases."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

from triage_testkit import (
    PRODUCT,
    RELEASED,
    THREAT_MODEL,
    TOOLS,
    diff_json,
    ingest,
    invoke,
    release_logs,
    trend_json,
)

from triage.report import render, series

THREE = ("3.6.9", "3.9.2", "3.16.1")


def _day(release: str) -> dt.date:
    return dt.date.fromisoformat(RELEASED[release])


def test_days_in_the_trend_json_match_a_hand_computation(db_url: str) -> None:
    for release in THREE:
        ingest(db_url, release, TOOLS, "--released", RELEASED[release])
    doc = trend_json(db_url)
    assert [(r["release"], r["released"]) for r in doc["releases"]] == [
        (r, RELEASED[r]) for r in THREE]
    a, b, c = THREE
    first, second = diff_json(db_url, a, b), diff_json(db_url, b, c)
    # Fixed in b: open since a. Fixed in c: open since a when it persisted into b, since b
    # when it was new (or back) in b.
    status_in_b = {row["issue"]: row["status"] for row in first["issues"]}
    days: dict[str, list[int]] = defaultdict(list)
    releases: dict[str, list[int]] = defaultdict(list)
    for row in first["issues"]:
        if row["status"] == "fixed":
            days[row["severity"]].append((_day(b) - _day(a)).days)
            releases[row["severity"]].append(1)
    for row in second["issues"]:
        if row["status"] == "fixed":
            since_a = status_in_b[row["issue"]] == "persisting"
            assert since_a or status_in_b[row["issue"]] in ("new", "reintroduced")
            days[row["severity"]].append((_day(c) - _day(a if since_a else b)).days)
            releases[row["severity"]].append(2 if since_a else 1)
    # In this corpus every issue fixed in c had been open since a (two releases, 836 days).
    assert {d for values in days.values() for d in values} == {295, 836}
    assert {x["severity"]: (x["fixed"], x["mean_releases"], x["median_releases"],
                            x["mean_days"], x["median_days"]) for x in doc["time_to_fix"]} == {
        sev: (len(values), round(statistics.mean(releases[sev]), 2),
              round(statistics.median(releases[sev]), 2), round(statistics.mean(values), 2),
              round(statistics.median(values), 2))
        for sev, values in days.items()}


def test_run_dates_the_release_it_ingests(db_url: str, tmp_path: Path) -> None:
    res = invoke("run", *release_logs("3.6.9"), "--product", PRODUCT, "--release", "3.6.9",
                 "--threat-model", THREAT_MODEL, "--released", "2024-06-27",
                 "--trend", f"json={tmp_path / 'trend.json'}", db=db_url)
    assert res.exit_code == 1, res.stderr  # 3.6.9 has must-fix findings at SL-2
    assert res.stdout.count("must-fix high") == 6
    assert "gate FAILED: 6 must-fix at SL-2 in pymodbus 3.6.9" in res.stderr
    assert trend_json(db_url)["releases"][0]["released"] == "2024-06-27"
    assert (tmp_path / "trend.json").is_file()


def test_a_bad_date_exits_2_with_one_line(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'triage.db'}"
    res = invoke("ingest", *release_logs("3.6.9"), "--product", PRODUCT, "--release", "3.6.9",
                 "--released", "2024-13-01", db=db)
    assert res.exit_code == 2
    assert res.stdout == ""
    errors = [line for line in res.stderr.splitlines() if line.startswith("Error:")]
    assert errors == ["Error: Invalid value for '--released': '2024-13-01' does not match the "
                      "format '%Y-%m-%d'."]
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "triage.db").exists()  # refused before the store opened


def test_days_by_severity_match_plain_python_over_the_corpus(demo) -> None:
    dated = {p.release: p.released for p in demo.trend.points}
    assert dated == {r: _day(r) for r in RELEASED}
    by_severity: dict[int, list[int]] = defaultdict(list)
    for f in demo.trend.fixes:
        assert f.days == (dated[f.fixed] - dated[f.opened]).days > 0
        by_severity[int(f.severity)].append(f.days)
    shaped = series.shape(demo.trend)
    assert [int(s.severity) for s in shaped.time_to_fix] == sorted(by_severity, reverse=True)
    for s in shaped.time_to_fix:
        values = by_severity[int(s.severity)]
        assert (s.mean_days, s.median_days) == (round(statistics.mean(values), 2),
                                                round(statistics.median(values), 2))


def test_a_fix_without_dates_has_no_days(demo) -> None:
    undated = replace(demo.trend, fixes=tuple(replace(f, days=None) for f in demo.trend.fixes))
    shaped = series.shape(undated)
    assert shaped.time_to_fix and all(
        s.mean_days is None and s.median_days is None for s in shaped.time_to_fix)
    assert [(s.mean, s.median) for s in shaped.time_to_fix] == [
        (s.mean, s.median) for s in series.shape(demo.trend).time_to_fix]
    assert "in days" not in render("md", undated)
