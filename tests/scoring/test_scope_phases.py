"""Scope phases (SM-5): high-risk components first, changed files always in scope (SI-1);
through the CLI on the real corpus and as a property of every mode."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_policy_modes import SETTINGS, rules, scored_findings
from triage_testkit import PRODUCT, THREAT_MODEL, invoke, report_json

from triage.model import ScoredFinding, SecurityLevel
from triage.scoring import MODES, make_policy
from triage.scoring.scope import Scope, ScopedPolicy

SCOPES = (Scope("high-risk", "phase 1"), Scope("globs.txt", "phase 2", ("pymodbus/pdu/**",)),
          Scope("high-risk", "phase 1", changed=frozenset({"test/test_client.py"})))


@SETTINGS
@given(scored_findings(), st.sampled_from(SCOPES))
def test_a_scope_keeps_must_fix_sets_monotonic_and_only_removes(sf: ScoredFinding,
                                                                scope: Scope) -> None:
    for mode in MODES:
        plain = [make_policy(mode, rules(), sl).judge(sf) for sl in SecurityLevel]
        scoped = [ScopedPolicy(make_policy(mode, rules(), sl), scope).judge(sf)
                  for sl in SecurityLevel]
        flags = [v.must_fix for v in scoped]
        assert flags == sorted(flags)
        for p, s in zip(plain, scoped, strict=True):
            assert s == p or (s.disposition == "out-of-scope" and not s.must_fix)


@settings(max_examples=50, deadline=None)
@given(scored_findings())
def test_changed_files_are_always_in_scope(sf: ScoredFinding) -> None:
    path = sf.finding.location.path
    scope = Scope("globs.txt", "none", ("nothing/**",), frozenset({path}))
    inside, why = scope.covers(sf)
    assert inside == bool(path)
    if path:
        assert why == "changed since the previous release: always in scope (SI-1)"


def test_high_risk_scope_through_the_cli(corpus_db: str, tmp_path: Path) -> None:
    everything = report_json(corpus_db, "3.3.0")
    phase1 = report_json(corpus_db, "3.3.0", "--scope", "high-risk")
    assert phase1["scope"]["phase"] == "high-risk"
    assert len(phase1["findings"]) == len(everything["findings"])      # nothing dropped
    tiers = {f["issue"]: f["tier"] for f in everything["findings"]}
    for f in phase1["findings"]:
        if tiers[f["issue"]] not in ("high", "critical"):
            assert f["verdict"]["disposition"] in ("out-of-scope", "suppressed",
                                                   "needs-review", "not-a-defect")
            if f["verdict"]["disposition"] == "out-of-scope" and f["component"] != "packaging":
                assert f["verdict"]["reason"].startswith("scope phase high-risk (SM-5: ")
    assert phase1["must_fix_by_sl"]["SL-4"] < everything["must_fix_by_sl"]["SL-4"]
    # a changed test file comes back into scope (SI-1)
    test_file = next(f["path"] for f in everything["findings"] if f["component"] == "tests")
    changed = tmp_path / "changed.txt"
    changed.write_text(f"# git diff --name-only\n./{test_file}\n", encoding="utf-8")
    back = report_json(corpus_db, "3.3.0", "--scope", "high-risk", "--changed-files", changed)
    again = [f for f in back["findings"] if f["path"] == test_file]
    assert again and all(f["verdict"]["disposition"] != "out-of-scope" for f in again)
    md = invoke("report", "--product", PRODUCT, "--release", "3.3.0", "--scope", "high-risk",
                db=corpus_db)
    assert "Scope phase: **high-risk** (SM-5: high- and critical-tier components" in md.stdout


def test_scope_file_of_globs_and_bad_scope_files(corpus_db: str, tmp_path: Path) -> None:
    globs = invoke("threatmodel", "scope", THREAT_MODEL)
    assert globs.exit_code == 0
    scope = tmp_path / "phase1.txt"
    scope.write_text(globs.stdout, encoding="utf-8")
    gate = invoke("gate", "--product", PRODUCT, "--release", "3.16.1", "--scope", scope,
                  db=corpus_db)
    assert gate.exit_code == 1 and "must-fix at SL-2" in gate.stderr
    missing = invoke("gate", "--product", PRODUCT, "--scope", tmp_path / "nope.txt",
                     db=corpus_db)
    assert missing.exit_code == 3 and missing.stdout == ""
    assert missing.stderr.startswith(f"error: {tmp_path / 'nope.txt'}: --scope: cannot read")
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n", encoding="utf-8")
    res = invoke("status", "--product", PRODUCT, "--scope", empty, db=corpus_db)
    assert res.exit_code == 3
    assert res.stderr.splitlines()[0] == f"error: {empty}: --scope: the file holds no path globs"


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"})


def test_git_range_brings_changed_files_into_scope(corpus_db: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    everything = report_json(corpus_db, "3.3.0")
    test_file = next(f["path"] for f in everything["findings"] if f["component"] == "tests")
    repo = tmp_path / "repo"
    (repo / test_file).parent.mkdir(parents=True)
    _git(repo.parent, "init", "-q", str(repo))
    (repo / test_file).write_text("a = 1\n", encoding="utf-8")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "one")
    (repo / test_file).write_text("a = 2\n", encoding="utf-8")
    _git(repo, "commit", "-q", "-am", "two")
    monkeypatch.chdir(repo)
    back = report_json(corpus_db, "3.3.0", "--scope", "high-risk", "--git-range", "HEAD~1..HEAD")
    again = [f for f in back["findings"] if f["path"] == test_file]
    assert again and all(f["verdict"]["disposition"] != "out-of-scope" for f in again)
    others = [f for f in back["findings"] if f["component"] == "tests" and f["path"] != test_file]
    assert others and all(f["verdict"]["disposition"] == "out-of-scope" for f in others)
    bad = invoke("gate", "--product", PRODUCT, "--scope", "high-risk", "--git-range",
                 "nosuch..HEAD", db=corpus_db)
    assert bad.exit_code == 3 and bad.stdout == ""
    assert bad.stderr.startswith("error: --git-range nosuch..HEAD: fatal: ")
    bad = invoke("gate", "--product", PRODUCT, "--git-range", "HEAD", db=corpus_db)
    assert bad.exit_code == 3
    assert bad.stderr.splitlines()[0] == ("error: --git-range 'HEAD': expected A..B "
                                          "(two revisions)")
