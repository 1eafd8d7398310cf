"""SM-5: the scope phase a release is triaged in is recorded with it, and sticks."""

from __future__ import annotations

from triage_testkit import PRODUCT, cli_json, ingest, invoke, trend_json


def _report(db: str, release: str, *extra: object) -> dict:
    return cli_json("report", "--product", PRODUCT, "--release", release, "--sl", "4",
                    "--format", "json", *extra, db=db)


def test_a_chosen_scope_is_recorded_per_release_and_can_be_widened(db_url: str) -> None:
    ingest(db_url, "3.9.2")
    ingest(db_url, "3.16.1")
    everything = _report(db_url, "3.16.1")["must_fix_by_sl"]["SL-4"]

    gate = invoke("gate", "--product", PRODUCT, "--release", "3.16.1", "--sl", "4",
                  "--scope", "high-risk", db=db_url)
    assert gate.exit_code == 1, gate.stderr

    # Later commands, without --scope, judge 3.16.1 in the recorded phase...
    kept = _report(db_url, "3.16.1")
    assert kept["scope"]["phase"] == "high-risk"
    assert "high- and critical-tier" in kept["scope"]["justification"]
    narrowed = kept["must_fix_by_sl"]["SL-4"]
    assert 0 < narrowed < everything
    out = [f for f in kept["findings"] if f["verdict"]["disposition"] == "out-of-scope"]
    assert len(out) == everything - narrowed and all(f["tier"] not in ("high", "critical")
                                                     for f in out)
    # ... the trend shows the release as it was triaged, and the other release is untouched.
    points = {p["release"]: p for p in trend_json(db_url)["releases"]}
    assert points["3.16.1"]["must_fix_by_sl"]["SL-4"] == narrowed
    assert _report(db_url, "3.9.2")["scope"]["phase"] == "all"

    # A report may look at another phase without changing the record...
    assert _report(db_url, "3.16.1", "--scope", "all")["must_fix_by_sl"]["SL-4"] == everything
    assert _report(db_url, "3.16.1")["scope"]["phase"] == "high-risk"
    # ... and the next gate in a wider phase records that one.
    invoke("gate", "--product", PRODUCT, "--release", "3.16.1", "--scope", "all", db=db_url)
    assert _report(db_url, "3.16.1")["scope"]["phase"] == "all"
