"""Decisions in the release report: listed with who and why, acceptances near or past expiry
flagged (DM-4), decided findings suppressed in the triaged SARIF."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from triage_testkit import PRODUCT, ingest

from triage import pipeline
from triage.model import Action, Decision
from triage.report import render
from triage.report.common import decision_lines
from triage.scoring import load_rules
from triage.store import open_store

TODAY = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


def test_decisions_and_expiring_acceptances(db_url: str, tmp_path: Path) -> None:
    ingest(db_url, "3.16.1")
    ctx = pipeline.Context(store=open_store(db_url), rules=load_rules(None), clock=lambda: TODAY)
    try:
        must = pipeline.release_report(ctx, PRODUCT).must_fix
        soon, gone, wrong = must[0].issue_id, must[1].issue_id, must[2].issue_id
        for issue, action, expires in ((soon, Action.ACCEPTED_RISK, dt.date(2026, 3, 11)),
                                       (gone, Action.ACCEPTED_RISK, dt.date(2026, 2, 1)),
                                       (wrong, Action.FALSE_POSITIVE, None)):
            pipeline.decide(ctx, Decision(issue, action, f"<b>why</b> {issue}", "alice",
                                          TODAY - dt.timedelta(days=40), expires=expires))
        report = pipeline.release_report(ctx, PRODUCT)
    finally:
        ctx.store.close()
    lines = {x.decision.issue_id: x for x in decision_lines(report)}
    assert set(lines) == {soon, gone, wrong}
    assert (lines[soon].expiry, lines[gone].expiry, lines[wrong].expiry) == (
        "expires in 10 days", "expired", "")
    # The expired acceptance is must-fix again; the live one and the false positive are not.
    verdicts = {t.issue_id: t.verdict for t in report.findings}
    assert verdicts[gone].must_fix and not verdicts[soon].must_fix
    assert verdicts[wrong].disposition == "false-positive"

    doc = json.loads(render("json", report))
    assert [(d["issue"], d["expiry"]) for d in doc["decisions"]] == sorted(
        [(soon, "expires in 10 days"), (gone, "expired"), (wrong, None)])
    md = render("md", report)
    assert "## Decisions (3; 2 acceptance(s) expired or expiring within 30 days, DM-4)" in md
    assert f"| {soon} | accepted-risk | alice | 2026-03-11 | **expires in 10 days** |" in md
    page = render("html", report)
    assert 'id="decisions"' in page and "&lt;b&gt;why&lt;/b&gt;" in page
    sarif = json.loads(render("sarif", report))
    suppressed = {r["properties"]["issue"] for run in sarif["runs"] for r in run["results"]
                  if r.get("suppressions")}
    assert suppressed == {soon, wrong}
