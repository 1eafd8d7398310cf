"""The deeper trend: burn-down, time to fix, high-risk components kept clean, and pandas' series."""

from __future__ import annotations

import json
import statistics
from collections import Counter, defaultdict
from dataclasses import replace
from typing import Any

from triage_testkit import PRODUCT, THREAT_MODEL

import threatmodel
from triage import pipeline
from triage.model import SecurityLevel, Tier
from triage.report import render, series


def test_backlog_moves_by_what_enters_and_leaves(demo) -> None:
    points = demo.trend.points
    previous = 0
    for p in points:
        assert p.must_fix_open == previous + p.must_fix_new - p.must_fix_fixed, p.release
        previous = p.must_fix_open
    # Without decisions the backlog is the SQL count at the trend's SL.
    assert [p.must_fix_open for p in points] == [
        dict(p.must_fix_by_sl)[demo.trend.sl] for p in points]
    assert max(p.must_fix_open for p in points) > 0


def test_every_fix_is_a_fixed_issue_of_its_release(
    demo, corpus_diffs: dict[tuple[str, str], Any]
) -> None:
    fixes = demo.trend.fixes
    assert fixes
    names = [p.release for p in demo.trend.points]
    per_release = Counter(f.fixed for f in fixes)
    for p in demo.trend.points:
        assert per_release[p.release] == p.fixed, p.release
    fixed_in = {b: {row["issue"] for row in rows["issues"] if row["status"] == "fixed"}
                for (_, b), rows in corpus_diffs.items()}
    for f in fixes:
        assert f.issue_id in fixed_in[f.fixed]
        assert f.releases == names.index(f.fixed) - names.index(f.opened) >= 1


def test_time_to_fix_by_severity_matches_plain_python(demo) -> None:
    shaped = series.shape(demo.trend)
    by_severity: dict[int, list[int]] = defaultdict(list)
    for f in demo.trend.fixes:
        by_severity[int(f.severity)].append(f.releases)
    assert [int(s.severity) for s in shaped.time_to_fix] == sorted(by_severity, reverse=True)
    for s in shaped.time_to_fix:
        values = by_severity[int(s.severity)]
        assert s.fixes == len(values)
        assert s.mean == round(statistics.mean(values), 2)
        assert s.median == round(statistics.median(values), 2)


def test_series_are_the_points_reshaped(demo) -> None:
    shaped = series.shape(demo.trend)
    points = demo.trend.points
    assert shaped.releases == tuple(p.release for p in points)
    assert shaped.backlog == tuple(p.must_fix_open for p in points)
    assert dict(shaped.must_fix)[SecurityLevel.SL3] == tuple(
        dict(p.must_fix_by_sl)[SecurityLevel.SL3] for p in points)
    running_in = running_out = 0
    for i, p in enumerate(points):
        running_in += p.must_fix_new
        running_out += p.must_fix_fixed
        assert (shaped.cumulative_opened[i], shaped.cumulative_closed[i]) == (
            running_in, running_out)
        window = points[max(0, i - series.ROLLING_WINDOW + 1): i + 1]
        assert shaped.new_rolling[i] == round(sum(q.new for q in window) / len(window), 2)
        assert shaped.clean_share[i] == round(
            100 * len(p.high_risk_clean) / len(p.high_risk_components), 1)


def test_high_risk_components_come_from_the_threat_model(demo) -> None:
    model = threatmodel.load_model(THREAT_MODEL)
    high = {r.component_id for r in threatmodel.component_risks(model).values()
            if int(r.tier) >= Tier.HIGH and not r.out_of_scope}
    assert high
    for p in demo.trend.points:
        assert set(p.high_risk_components) == high
        assert set(p.high_risk_clean) <= high
    # A component with must-fix findings in the latest release is not clean.
    dirty = {t.scored.exposure.component_id for t in demo.release.must_fix}
    assert dirty & high
    assert not dirty & set(demo.trend.points[-1].high_risk_clean)


def test_without_a_model_the_components_seen_so_far_count(demo_context) -> None:
    shown = pipeline.trend(demo_context, PRODUCT)
    seen: set[str] = set()
    for p in shown.points:
        assert set(p.high_risk_components) >= seen
        seen = set(p.high_risk_components)
    assert seen


def test_a_trend_with_no_fix_has_no_time_to_fix(demo) -> None:
    first = replace(demo.trend, points=demo.trend.points[:1], fixes=())
    shaped = series.shape(first)
    assert shaped.time_to_fix == () and shaped.fixed == (0,)


def test_trend_json_carries_the_shaped_series(demo) -> None:
    doc = json.loads(render("json", demo.trend))
    shaped = series.shape(demo.trend)
    assert doc["rolling_window"] == series.ROLLING_WINDOW
    assert [r["rolling_mean"]["fixed"] for r in doc["releases"]] == list(shaped.fixed_rolling)
    assert [r["backlog"]["open"] for r in doc["releases"]] == list(shaped.backlog)
    assert [(x["severity"], x["fixed"]) for x in doc["time_to_fix"]] == [
        (x.severity.label, x.fixes) for x in shaped.time_to_fix]
