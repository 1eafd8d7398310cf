"""``triage run`` (one-shot CI), atomic ``-o``, ``trend --threat-model``, the CI recipes."""

from __future__ import annotations

import json
import os
import re
import shlex
import stat
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from triage_testkit import PRODUCT, REPO, THREAT_MODEL, invoke, release_logs

from triage import cli as cli_module
from triage.cli import run_command


def _run(db: str, tmp: Path, *extra: object, release: str = "3.16.1"):
    return invoke("run", *release_logs(release), "--product", PRODUCT, "--release", release,
                  "--threat-model", THREAT_MODEL, *extra, db=db)


def test_run_ingests_gates_and_writes_every_report(db_url: str, tmp_path: Path) -> None:
    out = {f: tmp_path / f"r.{f}" for f in ("json", "sarif", "junit", "md", "html", "csv")}
    res = _run(db_url, tmp_path, *(a for f, p in out.items() for a in ("--report", f"{f}={p}")),
               "--trend", f"html={tmp_path / 'trend.html'}",
               "--trend", f"json={tmp_path / 'trend.json'}")
    assert res.exit_code == 1, res.stderr  # 6 must-fix at the model's SL-2
    blocking = [line for line in res.stdout.splitlines() if line.startswith("must-fix ")]
    assert len(blocking) == 6 and all(line.startswith("must-fix high") for line in blocking)
    # Exactly what `triage gate` says about the release.
    gate = invoke("gate", "--product", PRODUCT, "--release", "3.16.1", db=db_url)
    assert (res.exit_code, res.stdout) == (gate.exit_code, gate.stdout)
    assert "gate FAILED: 6 must-fix at SL-2 in pymodbus 3.16.1" in res.stderr
    assert "pymodbus 3.16.1: 6 must-fix at SL-2 | new 69" in res.stderr
    for fmt, path in out.items():
        assert f"wrote {fmt} release report to {path}" in res.stderr
    rep = json.loads(out["json"].read_text(encoding="utf-8"))
    assert (rep["release"], rep["must_fix_by_sl"]["SL-2"], len(rep["findings"])) == (
        "3.16.1", 6, 69)
    assert ET.parse(out["junit"]).getroot().get("failures") == "6"
    assert sum(len(r["results"]) for r in json.loads(out["sarif"].read_text())["runs"]) == 69
    trend = json.loads((tmp_path / "trend.json").read_text(encoding="utf-8"))
    assert [r["release"] for r in trend["releases"]] == ["3.16.1"]
    assert 'data-chart="burn-down"' in (tmp_path / "trend.html").read_text(encoding="utf-8")


def test_run_passes_when_nothing_blocks(db_url: str, tmp_path: Path) -> None:
    res = _run(db_url, tmp_path, "--sl", "1", "--report", f"md={tmp_path / 'r.md'}")
    assert res.exit_code == 0, res.stderr
    assert res.stdout == ""
    assert "gate PASSED: 0 must-fix at SL-1" in res.stderr
    assert (tmp_path / "r.md").read_text(encoding="utf-8").startswith("# pymodbus 3.16.1")


def test_run_new_only_counts_new_findings_only(db_url: str, tmp_path: Path) -> None:
    assert _run(db_url, tmp_path, release="3.9.2").exit_code == 1
    res = _run(db_url, tmp_path, "--new-only")
    assert res.exit_code == 0, res.stderr
    assert "gate PASSED: 0 new must-fix at SL-2 in pymodbus 3.16.1" in res.stderr


@pytest.mark.parametrize(("option", "value", "why"), [
    ("--report", "pdf=x.pdf", "FORMAT one of csv, html, json, junit, md, sarif, table"),
    ("--report", "html", "expected FORMAT=PATH"),
    ("--report", "html=no/such/dir/r.html", "no directory 'no/such/dir'"),
    ("--trend", "sarif=t.sarif", "FORMAT one of csv, html, json, md, table"),
])
def test_run_rejects_bad_targets_before_touching_the_store(
    db_url: str, tmp_path: Path, option: str, value: str, why: str
) -> None:
    res = _run(db_url, tmp_path, option, value)
    assert res.exit_code == 2
    assert res.stdout == ""
    assert why in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "triage.db").exists()  # nothing ran: not even the store opened


def test_o_replaces_the_file_atomically(corpus_db: str, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "trend.md"
    target.write_text("old report\n", encoding="utf-8")

    def fail(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cli_module.os, "replace", fail)
    res = invoke("trend", "--product", PRODUCT, "--format", "md", "-o", target, db=corpus_db)
    assert res.exit_code == 2
    assert "cannot write the report: No space left on device" in res.stderr
    assert target.read_text(encoding="utf-8") == "old report\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["trend.md"]  # no temporary left
    monkeypatch.undo()
    res = invoke("trend", "--product", PRODUCT, "--format", "md", "-o", target, db=corpus_db)
    assert res.exit_code == 0, res.stderr
    assert target.read_text(encoding="utf-8").startswith("# pymodbus: trend across 8 releases")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["trend.md"]
    mode = stat.S_IMODE(target.stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask


def test_trend_with_threat_model_counts_the_models_high_risk_components(
    corpus_db: str,
) -> None:
    res = invoke("trend", "--product", PRODUCT, "--format", "json", "--threat-model",
                 THREAT_MODEL, db=corpus_db)
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    last = doc["releases"][-1]
    assert last["high_risk_components"] and set(last["high_risk_clean"]) < set(
        last["high_risk_components"])
    assert last["high_risk_clean_share"] == round(
        100 * len(last["high_risk_clean"]) / len(last["high_risk_components"]), 1)
    assert {x["severity"] for x in doc["time_to_fix"]} <= {
        "critical", "high", "medium", "low", "info"}


def _triage_commands(text: str) -> list[list[str]]:
    doc = yaml.safe_load(text)
    scripts: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("run", "script") and isinstance(value, str):
                    scripts.append(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)
                if isinstance(item, str):
                    scripts.append(item)

    walk(doc)
    out = []
    for script in scripts:
        for line in re.sub(r"\\\n\s*", " ", script).splitlines():
            line = line.strip()
            if line.startswith("triage "):
                out.append(shlex.split(line.replace("$", "")))
    return out


@pytest.mark.parametrize("recipe", ["github-actions.yml", "gitlab-ci.yml", "nightly-trend.yml"])
def test_ci_recipes_use_options_the_cli_has(recipe: str) -> None:
    from triage.cli import cli

    commands = _triage_commands((REPO / "docs" / "ci" / recipe).read_text(encoding="utf-8"))
    assert commands, recipe
    for argv in commands:
        command = cli.commands[argv[1]]
        known = {o for p in command.params for o in p.opts}
        used = {a.split("=", 1)[0] for a in argv[2:] if a.startswith("-")}
        assert used <= known, (recipe, used - known)
    if recipe != "nightly-trend.yml":
        assert any(argv[1] == "run" for argv in commands)
    assert run_command.name == "run"


def test_run_takes_the_policy_mode_and_the_scope(db_url: str, tmp_path: Path) -> None:
    globs = tmp_path / "scope.txt"
    globs.write_text("pymodbus/transport/**\n", encoding="utf-8")
    res = _run(db_url, tmp_path, "--scope", globs, "--report", f"json={tmp_path / 'r.json'}")
    assert res.exit_code == 1, res.stderr
    blocking = [line for line in res.stdout.splitlines() if line.startswith("must-fix ")]
    assert len(blocking) == 2 and all("pymodbus/transport/transport.py:147" in b
                                      for b in blocking)
    res = _run(db_url, tmp_path, "--mode", "combined")
    gate = invoke("gate", "--product", PRODUCT, "--mode", "combined", db=db_url)
    assert (res.exit_code, res.stdout) == (gate.exit_code, gate.stdout)
    assert gate.stderr.splitlines()[-1] in res.stderr
    res = _run(db_url, tmp_path, "--mode", "nonsense")
    assert res.exit_code == 2 and "Invalid value for '--mode'" in res.stderr
