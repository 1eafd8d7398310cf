"""Triage decisions on real pymodbus findings: verdicts, SQL counts, expiry, export/import."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from triage_testkit import PRODUCT, THREAT_MODEL, invoke, release_logs, row_counts

from triage import pipeline
from triage.model import Action, Decision, SecurityLevel
from triage.scoring import load_rules
from triage.store import open_store

NOW = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)


def _ctx(url: str, now: dt.datetime = NOW) -> pipeline.Context:
    return pipeline.Context(open_store(url), load_rules(), clock=lambda: now)


def _ingest(ctx: pipeline.Context, *releases: str) -> None:
    for r in releases:
        pipeline.ingest(ctx, [Path(p) for p in release_logs(r)], PRODUCT, r,
                        threat_model=THREAT_MODEL)


@pytest.fixture()
def two_releases(db_url: str) -> pipeline.Context:
    ctx = _ctx(db_url)
    _ingest(ctx, "3.6.9", "3.9.2")
    return ctx


def _must_fix(ctx: pipeline.Context, release: str, sl: int = 2) -> dict[int, Any]:
    rep = pipeline.release_report(ctx, PRODUCT, release, sl)
    counted = dict(rep.must_fix_by_sl)[SecurityLevel(sl)]
    assert counted == len(rep.must_fix), "SQL counts and per-finding verdicts disagree"
    return {t.issue_id: t for t in rep.must_fix}


def _by_rule(ctx: pipeline.Context, release: str, rule: str, path: str) -> int:
    rep = pipeline.release_report(ctx, PRODUCT, release, 2)
    for t in rep.findings:
        f = t.scored.finding
        if f.rule_id == rule and f.location.path == path:
            return t.issue_id
    raise AssertionError(f"{rule} in {path} not in {release}")


def _decision(issue: int, action: Action, **kw: Any) -> Decision:
    return Decision(issue_id=issue, action=action, reason=kw.pop("reason", "reviewed"),
                    by="S. Advisor", at=kw.pop("at", NOW), **kw)


SIM = "pymodbus/server/simulator/http_server.py"


def test_false_positive_leaves_the_must_fix_list_and_follows_the_issue(two_releases):
    ctx = two_releases
    issue = _by_rule(ctx, "3.6.9", "B104", SIM)
    assert issue in _must_fix(ctx, "3.6.9")
    pipeline.decide(ctx, _decision(issue, Action.FALSE_POSITIVE, reason="lab-only default"),
                    release="3.6.9")
    for release in ("3.6.9", "3.9.2"):  # the decision follows the identity
        assert issue not in _must_fix(ctx, release)
        rep = pipeline.release_report(ctx, PRODUCT, release, 2)
        t = next(t for t in rep.findings if t.issue_id == issue)
        assert t.verdict.disposition == "false-positive"
        assert "lab-only default" in t.verdict.reason and "S. Advisor" in t.verdict.reason
        assert t.decision is not None and t.decision.action == Action.FALSE_POSITIVE


def test_a_decision_does_not_rewrite_earlier_releases(two_releases):
    """Taken without --release, a decision holds from the newest release on (SM-13 trend)."""
    ctx = two_releases
    issue = _by_rule(ctx, "3.6.9", "B104", SIM)
    before = pipeline.trend(ctx, PRODUCT).points
    pipeline.decide(ctx, _decision(issue, Action.FALSE_POSITIVE))
    after = pipeline.trend(ctx, PRODUCT).points
    assert after[0].must_fix_by_sl == before[0].must_fix_by_sl  # 3.6.9 as it was
    assert dict(after[1].must_fix_by_sl)[SecurityLevel.SL2] == dict(
        before[1].must_fix_by_sl)[SecurityLevel.SL2] - 1
    assert issue in _must_fix(ctx, "3.6.9") and issue not in _must_fix(ctx, "3.9.2")


def test_accepted_risk_expires_and_returns_to_open(two_releases, db_url):
    ctx = two_releases
    issue = _by_rule(ctx, "3.9.2", "B104", SIM)
    pipeline.decide(ctx, _decision(issue, Action.ACCEPTED_RISK, expires=dt.date(2026, 12, 31)))
    assert issue not in _must_fix(ctx, "3.9.2")
    later = _ctx(db_url, dt.datetime(2027, 1, 1, tzinfo=dt.UTC))
    back = _must_fix(later, "3.9.2")
    assert issue in back
    assert "expired on 2026-12-31" in back[issue].verdict.reason


def test_deferral_holds_until_its_target_release(two_releases):
    ctx = two_releases
    issue = _by_rule(ctx, "3.6.9", "B104", "pymodbus/transport/transport.py")
    pipeline.decide(ctx, _decision(issue, Action.DEFERRED, target_release="3.9.2"),
                    release="3.6.9")
    assert issue not in _must_fix(ctx, "3.6.9")
    again = _must_fix(ctx, "3.9.2")
    assert issue in again and "which has come" in again[issue].verdict.reason


def test_confirmed_below_threshold_finding_must_be_fixed_at_every_sl(two_releases):
    ctx = two_releases
    rep = pipeline.release_report(ctx, PRODUCT, "3.9.2", 1)
    low = next(t for t in rep.findings if t.verdict.disposition == "below-threshold")
    pipeline.decide(ctx, _decision(low.issue_id, Action.CONFIRMED))
    for sl in (1, 2, 3, 4):
        assert low.issue_id in _must_fix(ctx, "3.9.2", sl)
    pipeline.decide(ctx, _decision(low.issue_id, Action.REOPENED, at=NOW + dt.timedelta(1)))
    assert low.issue_id not in _must_fix(ctx, "3.9.2", 1)
    history = pipeline.decision_history(ctx, low.issue_id)
    assert [d.action for d in history] == [Action.CONFIRMED, Action.REOPENED]


def test_decisions_need_their_terms(two_releases):
    from triage.errors import BadInputError

    with pytest.raises(BadInputError, match="needs --expires"):
        pipeline.decide(two_releases, _decision(1, Action.ACCEPTED_RISK))
    with pytest.raises(BadInputError, match="needs --target-release"):
        pipeline.decide(two_releases, _decision(1, Action.DEFERRED))
    with pytest.raises(BadInputError, match="unknown issue 999999"):
        pipeline.decide(two_releases, _decision(999999, Action.CONFIRMED))


def test_export_import_round_trip_into_another_database(two_releases, tmp_path):
    ctx = two_releases
    fp = _by_rule(ctx, "3.9.2", "B104", SIM)
    pipeline.decide(ctx, _decision(fp, Action.FALSE_POSITIVE, reason="lab-only"))
    text = pipeline.export_decisions(ctx, PRODUCT)
    assert "false-positive" in text and "lab-only" in text

    # Another database, built in another order, so issue ids differ: matched by fingerprint.
    other = _ctx(f"sqlite:///{tmp_path / 'other.db'}")
    _ingest(other, "3.9.2")
    result = pipeline.import_decisions(other, text, "decisions.yaml")
    assert len(result.added) == 1 and not result.conflicts
    assert _by_rule(other, "3.9.2", "B104", SIM) not in _must_fix(other, "3.9.2")
    # Importing again changes nothing.
    again = pipeline.import_decisions(other, text, "decisions.yaml")
    assert (len(again.added), again.unchanged, again.conflicts) == (0, 1, ())


def test_import_reports_a_newer_database_decision_as_conflict(two_releases):
    ctx = two_releases
    issue = _by_rule(ctx, "3.9.2", "B104", SIM)
    pipeline.decide(ctx, _decision(issue, Action.FALSE_POSITIVE, at=NOW - dt.timedelta(days=2)))
    text = pipeline.export_decisions(ctx, PRODUCT)
    pipeline.decide(ctx, _decision(issue, Action.CONFIRMED, reason="exploit shown"))
    result = pipeline.import_decisions(ctx, text, "decisions.yaml")
    assert not result.added and len(result.conflicts) == 1
    assert "newer decision (confirmed" in result.conflicts[0]
    assert pipeline.decision_history(ctx, issue)[-1].action == Action.CONFIRMED


def test_cli_decide_export_import_and_bad_files(db_url, tmp_path):
    for r in ("3.6.9",):
        res = invoke("ingest", *release_logs(r), "--product", PRODUCT, "--release", r,
                     "--threat-model", THREAT_MODEL, db=db_url)
        assert res.exit_code == 0, res.stderr
    gate = invoke("gate", "--product", PRODUCT, "--sl", "2", db=db_url)
    assert gate.exit_code == 1
    first = int(gate.stdout.splitlines()[0].rsplit("issue ", 1)[1].rstrip(")"))
    res = invoke("decide", first, "--false-positive", "--reason", "test", "--by", "QA",
                 db=db_url)
    assert res.exit_code == 0 and f"issue {first}: false-positive by QA" in res.stderr
    res = invoke("decide", first, "--reason", "no action", db=db_url)
    assert res.exit_code == 2 and "choose exactly one of" in res.stderr
    both = invoke("decide", first, "--confirm", "--false-positive", "--reason", "x", db=db_url)
    assert both.exit_code == 2 and "choose exactly one of" in both.stderr
    res = invoke("decide", first, "--accept-risk", "--reason", "x", "--expires", "2020-01-01",
                 "--by", "PSA", db=db_url)
    assert res.exit_code == 2 and "already past" in res.stderr
    res = invoke("decide", first, "--accept-risk", "--reason", "x", "--expires", "2099-01-01",
                 db=db_url)
    assert res.exit_code == 2 and "--by APPROVER" in res.stderr
    out = tmp_path / "decisions.yaml"
    res = invoke("decisions", "export", out, "--product", PRODUCT, db=db_url)
    assert res.exit_code == 0 and out.exists() and res.stdout == ""
    res = invoke("decisions", "import", out, db=db_url)
    assert res.exit_code == 0 and "0 decision(s) added, 1 unchanged, 0 conflict(s)" in res.stderr

    before = row_counts(db_url)
    bad = tmp_path / "bad.yaml"
    bad.write_text(out.read_text().replace("false-positive", "ignore-it"))
    res = invoke("decisions", "import", bad, db=db_url)
    assert res.exit_code == 3
    assert res.stderr.startswith("error: bad.yaml: decisions[0].action: unknown action")
    bad.write_text("schema_version: 1\nproduct: [unclosed\n")
    res = invoke("decisions", "import", bad, db=db_url)
    assert res.exit_code == 3 and res.stderr.startswith("error: bad.yaml: line ")
    assert "Traceback" not in res.stderr
    assert row_counts(db_url) == before


def test_database_of_the_first_schema_upgrades_without_loss(tmp_path):
    """A database at migration 0001, filled, opens with today's schema and keeps its rows."""
    from sqlalchemy import create_engine, text

    from triage.store.migrate import head_revision, upgrade

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    upgrade(engine, "0001")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO product (id, name) VALUES (1, 'legacy-rtu')"))
        conn.execute(text("INSERT INTO release (id, product_id, name, seq, target_sl, created_at)"
                          " VALUES (1, 1, '1.0', 1.0, 2, '2025-01-01 00:00:00')"))
        conn.execute(text(
            "INSERT INTO scan (id, release_id, tool, tool_version, sarif_files, sarif_sha256,"
            " successful, not_analysed, notes, finding_count, ingested_at) VALUES (1, 1,"
            " 'bandit', '1.7', '[\"bandit.sarif\"]', 'abc', 1, '[]', '[]', 1,"
            " '2025-01-01 00:00:00')"))
        conn.execute(text(
            "INSERT INTO issue (id, product_id, tool, rule_id, path, fingerprint,"
            " first_release_id) VALUES (1, 1, 'bandit', 'B104', 'src/a.py', 'f1', 1)"))
        conn.execute(text(
            "INSERT INTO occurrence (scan_id, release_id, issue_id, link, rule_id, rule_name,"
            " path, start_line, message, snippet, level, kind, suppression, native_severity,"
            " native_confidence, cwe, base_severity, severity, component, component_kind, tier,"
            " in_scope, exposure, risk_score, explain, exposure_json, sarif_file, run_index,"
            " result_index, fingerprint, text_key, message_key, tool_fingerprints) VALUES"
            " (1, 1, 1, 'new', 'B104', 'bind', 'src/a.py', 3, 'binds all', 's = bind()',"
            " 'warning', 'fail', 'active', 'MEDIUM', 'MEDIUM', '605', 2, 3, 'net', 'process',"
            " 3, 1, 3, 72, '[]', '{\"asset_value\": 50, \"unauth\": true,"
            " \"out_of_scope\": false, \"justification\": \"\", \"glob\": \"src/**\","
            " \"reasons\": []}', 'bandit.sarif', 0, 0, 'f1', 's = bind()', 'binds all', '[]')"))
    engine.dispose()

    ctx = _ctx(url)  # opening migrates to the newest schema
    with ctx.store.engine.connect() as conn:
        assert conn.scalar(text("SELECT version_num FROM alembic_version")) == head_revision()
    rep = pipeline.release_report(ctx, "legacy-rtu", "1.0", 2)
    assert [(t.scored.finding.rule_id, t.verdict.must_fix) for t in rep.findings] == [
        ("B104", True)]
    pipeline.decide(ctx, _decision(1, Action.FALSE_POSITIVE))
    assert not pipeline.release_report(ctx, "legacy-rtu", "1.0", 2).must_fix



def test_confirmed_out_of_scope_finding_counts_alike_in_sql_and_per_finding(db_url):
    """A confirmed issue must be fixed whatever the policy says of it, out of scope
    included: the SQL counts (ingest summary, trend) agree with the gate's verdicts."""
    ctx = _ctx(db_url)
    _ingest(ctx, "3.0.0", "3.3.0")
    rep = pipeline.release_report(ctx, PRODUCT, "3.3.0", 2)
    outside = next(t for t in rep.findings if t.verdict.disposition == "out-of-scope")
    assert outside.issue_id not in _must_fix(ctx, "3.3.0", 2)
    pipeline.decide(ctx, _decision(outside.issue_id, Action.CONFIRMED))
    for sl in (1, 2, 3, 4):
        assert outside.issue_id in _must_fix(ctx, "3.3.0", sl)
    trend = pipeline.trend(ctx, PRODUCT, sl=2)
    point = trend.points[-1]
    assert dict(point.must_fix_by_sl)[SecurityLevel.SL2] == len(_must_fix(ctx, "3.3.0", 2))
    assert point.must_fix_open == len(_must_fix(ctx, "3.3.0", 2))


def _decided(ctx: pipeline.Context) -> dict[int, Action]:
    return {i: d.action for i, d in ctx.store.current_decisions(PRODUCT).items()}


def test_a_replaced_log_keeps_decisions_with_their_findings(db_url):
    """Re-ingesting a release with another log of the tool never loses a decision: a finding
    found again keeps its issue (and decision), and a decided issue is never deleted."""
    ctx = _ctx(db_url)
    _ingest(ctx, "3.6.9", "3.9.2")
    rep = pipeline.release_report(ctx, PRODUCT, "3.9.2", 2)
    new_here = [t for t in rep.findings if t.status.value == "new"]
    kept, gone = new_here[0], new_here[-1]
    pipeline.decide(ctx, _decision(kept.issue_id, Action.FALSE_POSITIVE))
    pipeline.decide(ctx, _decision(gone.issue_id, Action.CONFIRMED))
    # The same tool's log again, without the finding of ``gone``.
    tool = gone.scored.finding.tool.name
    doc = json.loads(Path(release_logs("3.9.2", (tool,))[0]).read_text())
    doc["runs"][0]["results"].pop(gone.scored.finding.provenance.result)
    replaced = Path(db_url.removeprefix("sqlite:///")).with_name(f"{tool}.sarif")
    replaced.write_text(json.dumps(doc))
    logs = [Path(p) for p in release_logs("3.9.2") if not p.endswith(f"{tool}.sarif")]
    pipeline.ingest(ctx, [*logs, replaced], PRODUCT, "3.9.2", threat_model=THREAT_MODEL)
    assert _decided(ctx) == {kept.issue_id: Action.FALSE_POSITIVE,
                             gone.issue_id: Action.CONFIRMED}
    again = {t.issue_id: t for t in pipeline.release_report(ctx, PRODUCT, "3.9.2", 2).findings}
    assert again[kept.issue_id].verdict.disposition == "false-positive"
    assert gone.issue_id not in again


def test_a_release_placed_before_carries_decisions_to_the_issue_it_joins(db_url):
    """``--after`` links a later release's findings to the inserted one's issues; a decision
    on a later issue follows its finding to the issue it joins."""
    ctx = _ctx(db_url)
    _ingest(ctx, "3.3.0", "3.9.2")
    rep = pipeline.release_report(ctx, PRODUCT, "3.9.2", 2)
    first_here = next(t for t in rep.findings if t.status.value == "new")
    pipeline.decide(ctx, _decision(first_here.issue_id, Action.CONFIRMED))
    pipeline.ingest(ctx, [Path(p) for p in release_logs("3.6.9")], PRODUCT, "3.6.9",
                    threat_model=THREAT_MODEL, after="3.3.0")
    after = {t.issue_id: t for t in pipeline.release_report(ctx, PRODUCT, "3.9.2", 2).findings}
    decided = _decided(ctx)
    assert list(decided.values()) == [Action.CONFIRMED]
    (issue,) = decided
    assert issue in after  # the decision names an issue of 3.9.2's findings
    assert after[issue].scored.finding.fingerprint == first_here.scored.finding.fingerprint
    assert after[issue].verdict.must_fix
