"""``triage threatmodel ...`` through click: exit code, stdout and stderr, each checked.

0 ok; 2 usage (an existing file for ``init``, a missing --source-root); 3 bad model, as one
``error: NAME: line L column C: key.path: what`` line and a hint, never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path

from triage_testkit import invoke

from threatmodel import load_model

REPO = Path(__file__).resolve().parents[2]
PYMODBUS = REPO / "sample_sarif" / "pymodbus" / "threatmodel.yaml"
FIRMWARE = REPO / "sample_sarif" / "firmware" / "threatmodel.yaml"
GOLDEN = Path(__file__).parent / "golden"
HINT = "hint: fix the threat model; `triage threatmodel validate FILE` names every problem\n"


def _bad_model(tmp_path: Path) -> Path:
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema_version: 1\nproduct: {name: x, target_sl: 2}\nzones:\n"
                   "  a: {trust: 1, parent: b}\n  b: {trust: 1, parent: a}\n", encoding="utf-8")
    return bad


def test_validate_ok() -> None:
    res = invoke("threatmodel", "validate", PYMODBUS)
    assert (res.exit_code, res.stdout) == (0, "")
    assert res.stderr == ("threatmodel.yaml: valid schema v1 model of pymodbus: 3 zones, "
                          "7 entry points, 11 components, 14 data flows; 0 warning(s)\n")
    quiet = invoke("-q", "threatmodel", "validate", FIRMWARE)
    assert (quiet.exit_code, quiet.stdout, quiet.stderr) == (0, "", "")


def test_validate_warnings_on_stdout_and_strict_fails(tmp_path: Path) -> None:
    root = tmp_path / "src"
    (root / "pymodbus" / "client").mkdir(parents=True)
    (root / "pymodbus" / "client" / "tcp.py").write_text("x = 1\n")
    res = invoke("threatmodel", "validate", PYMODBUS, "--source-root", root)
    assert res.exit_code == 0
    warnings = res.stdout.splitlines()
    assert all(w.startswith("warning: threatmodel.yaml: line ") for w in warnings)
    assert any("components.framers-pdu.paths[0]: glob 'pymodbus/framer/**' matches no file"
               in w for w in warnings)
    assert not any("network-client" in w for w in warnings)  # pymodbus/client/** matches
    assert res.stderr.endswith(f"1 source files; {len(warnings)} warning(s)\n")
    strict = invoke("threatmodel", "validate", PYMODBUS, "--source-root", root, "--strict")
    assert strict.exit_code == 3
    assert strict.stdout == res.stdout
    assert f"error: {PYMODBUS}: {len(warnings)} warning(s) with --strict\n" in strict.stderr


def test_validate_bad_model_is_one_line_exit_3(tmp_path: Path) -> None:
    res = invoke("threatmodel", "validate", _bad_model(tmp_path))
    assert (res.exit_code, res.stdout) == (3, "")
    assert res.stderr == ("error: bad.yaml: line 4 column 17: zones.a.parent: zone parents "
                          "form a cycle: a -> b -> a\n" + HINT)


def test_every_command_refuses_a_bad_model_the_same_way(tmp_path: Path) -> None:
    bad = _bad_model(tmp_path)
    for args in (["show", bad], ["graph", bad], ["scope", bad],
                 ["coverage", bad, "--source-root", tmp_path]):
        res = invoke("threatmodel", *args)
        assert (res.exit_code, res.stdout) == (3, ""), args
        assert res.stderr.startswith("error: bad.yaml: line 4 column 17: "), args
        assert "Traceback" not in res.stderr


def test_missing_model_file_is_bad_input(tmp_path: Path) -> None:
    res = invoke("threatmodel", "show", tmp_path / "none.yaml")
    assert (res.exit_code, res.stdout) == (3, "")
    assert res.stderr.startswith(f"error: {tmp_path / 'none.yaml'}: cannot read: ")


def test_show_table_and_json() -> None:
    res = invoke("threatmodel", "show", PYMODBUS)
    assert (res.exit_code, res.stderr) == (0, "")
    assert res.stdout == (GOLDEN / "pymodbus.table.txt").read_text(encoding="utf-8")
    res = invoke("threatmodel", "show", PYMODBUS, "--format", "json")
    assert (res.exit_code, res.stderr) == (0, "")
    doc = json.loads(res.stdout)
    tiers = {c["id"]: c["tier"] for c in doc["components"]}
    assert tiers["framers-pdu"] in ("high", "critical")
    assert tiers["transport"] in ("high", "critical")
    assert tiers["tests"] == "low"


def test_show_rejects_an_unknown_format() -> None:
    res = invoke("threatmodel", "show", PYMODBUS, "--format", "dot")
    assert (res.exit_code, res.stdout) == (2, "")
    assert "Invalid value for '--format'" in res.stderr


def test_graph_dot_and_mermaid(tmp_path: Path) -> None:
    res = invoke("threatmodel", "graph", PYMODBUS)
    assert (res.exit_code, res.stderr) == (0, "")
    assert res.stdout == (GOLDEN / "pymodbus.dot").read_text(encoding="utf-8")
    out = tmp_path / "fw.mmd"
    res = invoke("threatmodel", "graph", FIRMWARE, "--format", "mermaid", "-o", out)
    assert (res.exit_code, res.stdout, res.stderr) == (0, "", "")
    assert out.read_text(encoding="utf-8") == (GOLDEN / "firmware.mmd").read_text("utf-8")


def test_scope_one_glob_per_line() -> None:
    res = invoke("threatmodel", "scope", PYMODBUS)
    assert res.exit_code == 0
    globs = res.stdout.splitlines()
    model = load_model(PYMODBUS)
    high = ("http-simulator", "transport", "framers-pdu", "datastore", "network-client")
    assert globs == list(dict.fromkeys(g for cid in high for g in model.component(cid).paths))
    assert res.stderr == f"{len(globs)} glob(s) of the components with tier high or critical\n"


def test_init_writes_a_starter_that_validates(tmp_path: Path) -> None:
    target = tmp_path / "threatmodel.yaml"
    res = invoke("threatmodel", "init", target)
    assert (res.exit_code, res.stdout) == (0, "")
    assert res.stderr.startswith(f"wrote a starter threat model to {target}")
    text = target.read_text(encoding="utf-8")
    assert text.startswith("# Threat model of <your product>, schema v1")
    assert text.count("#") > 20  # commented
    check = invoke("threatmodel", "validate", target)
    assert check.exit_code == 0 and "0 warning(s)" in check.stderr
    shown = invoke("threatmodel", "show", target)
    assert "modbus-server *" in shown.stdout
    again = invoke("threatmodel", "init", target)
    assert (again.exit_code, again.stdout) == (2, "")
    assert again.stderr == f"error: {target}: exists\nhint: pass --force to overwrite it\n"
    target.write_text("changed", encoding="utf-8")
    forced = invoke("-q", "threatmodel", "init", target, "--force")
    assert (forced.exit_code, forced.stdout, forced.stderr) == (0, "", "")
    assert target.read_text(encoding="utf-8") == text
    to_stdout = invoke("threatmodel", "init", "-")
    assert (to_stdout.exit_code, to_stdout.stdout, to_stdout.stderr) == (0, text, "")


def test_coverage_lists_unclaimed_files(tmp_path: Path) -> None:
    root = tmp_path / "sdist"
    for rel in ("pymodbus/framer/rtu.py", "pymodbus/client/tcp.py", "setup.py",
                "tox.ini", "contrib/tool.py"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("x\n")
    res = invoke("-v", "threatmodel", "coverage", PYMODBUS, "--source-root", root)
    assert res.exit_code == 0
    assert res.stdout == "contrib/tool.py\ntox.ini\n"
    assert "  framers-pdu: 1 file(s)\n" in res.stderr
    assert res.stderr.endswith(f"3 of 5 files under {root} are in a component (60%); "
                               "2 in none\n")


def test_coverage_needs_an_existing_source_root(tmp_path: Path) -> None:
    res = invoke("threatmodel", "coverage", PYMODBUS, "--source-root", tmp_path / "nope")
    assert (res.exit_code, res.stdout) == (2, "")
    assert "does not exist" in res.stderr


def test_import_threat_dragon(tmp_path: Path) -> None:
    dragon = Path(__file__).parent / "data" / "dragon-rtu.json"
    res = invoke("threatmodel", "import", dragon)
    assert (res.exit_code, res.stderr) == (0, "")
    assert res.stdout.startswith("# Imported from the Threat Dragon model dragon-rtu.json")
    out = tmp_path / "rtu.yaml"
    res = invoke("threatmodel", "import", dragon, "-o", out)
    assert (res.exit_code, res.stdout) == (0, "")
    assert res.stderr.startswith(f"wrote {out}: replace every FILL-ME glob")
    assert out.read_text(encoding="utf-8") == invoke("threatmodel", "import", dragon).stdout
    assert invoke("threatmodel", "validate", out).exit_code == 0
    again = invoke("threatmodel", "import", dragon, "-o", out)
    assert (again.exit_code, again.stdout) == (2, "")
    assert again.stderr.startswith(f"error: {out}: exists\n")
    bad = tmp_path / "bad.json"
    bad.write_text('{"detail": {"diagrams": [', encoding="utf-8")
    res = invoke("threatmodel", "import", bad)
    assert (res.exit_code, res.stdout) == (3, "")
    assert res.stderr == ("error: bad.json: line 1 column 26: JSON error: Expecting value\n"
                          + HINT)


def test_every_view_renders_through_the_pipeline() -> None:
    from triage import pipeline

    for fmt in pipeline.THREAT_MODEL_VIEWS:
        text = pipeline.show_threat_model(PYMODBUS, fmt)
        ext = {"table": "table.txt", "mermaid": "mmd"}.get(fmt, fmt)
        assert text == (GOLDEN / f"pymodbus.{ext}").read_text(encoding="utf-8"), fmt


def test_console_script_bad_model_is_one_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    script = Path(sys.executable).with_name("triage")
    res = subprocess.run([str(script), "threatmodel", "show", str(_bad_model(tmp_path))],
                         capture_output=True, text=True, timeout=60, check=False)
    assert (res.returncode, res.stdout) == (3, "")
    assert res.stderr == ("error: bad.yaml: line 4 column 17: zones.a.parent: zone parents "
                          "form a cycle: a -> b -> a\n" + HINT)
