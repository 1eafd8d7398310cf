"""Path -> component: the real pymodbus model against every file the 24 real scanner logs name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from threatmodel import UNMODELLED, Match, PathMatcher, load_model, parse_model

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "sample_sarif" / "pymodbus"
PYMODBUS_MODEL = SAMPLES / "threatmodel.yaml"
RAW_RUFF = REPO / "tests" / "data" / "sarif" / "ruff-raw-absolute-uris__pymodbus-3.16.1.sarif"


def _artifact_uris(log: Path) -> set[str]:
    """Every artifactLocation.uri of results and notifications, as the scanner wrote it."""
    doc = json.loads(log.read_bytes())
    uris: set[str] = set()
    for run in doc["runs"]:
        locations = [loc for r in run.get("results", []) for loc in r.get("locations", [])]
        for inv in run.get("invocations", []):
            for key in ("toolConfigurationNotifications", "toolExecutionNotifications"):
                for note in inv.get(key) or []:
                    locations.extend(note.get("locations") or [])
        for loc in locations:
            uris.add(loc["physicalLocation"]["artifactLocation"]["uri"])
    return uris


@pytest.fixture(scope="module")
def corpus_paths() -> dict[str, set[str]]:
    """Distinct paths per release, over all 24 logs (8 releases x bandit, ruff, semgrep)."""
    logs = sorted(SAMPLES.glob("*/*.sarif"))
    assert len(logs) == 24
    by_release: dict[str, set[str]] = {}
    for log in logs:
        by_release.setdefault(log.parent.name, set()).update(_artifact_uris(log))
    return by_release


@pytest.fixture(scope="module")
def matcher() -> PathMatcher:
    return PathMatcher(load_model(PYMODBUS_MODEL))


def _expected_component(path: str) -> str:
    """The component a developer would name for a pymodbus file (written without the globs)."""
    top = path.split("/")[0]
    if top == "test":
        return "tests"
    if path in ("setup.py", "ez_setup.py"):
        return "packaging"
    parts = path.split("/")
    assert parts[0] == "pymodbus", path
    sub = parts[1]
    if sub in ("framer", "pdu", "transaction") or path in (
        "pymodbus/transaction.py",
        "pymodbus/device.py",
        "pymodbus/factory.py",
        "pymodbus/utilities.py",
    ):
        return "framers-pdu"
    if path.startswith(("pymodbus/server/simulator/", "pymodbus/server/reactive/")):
        return "http-simulator"
    if sub == "transport" or (sub == "server" and len(parts) == 3):
        return "transport"
    if sub == "client":
        return "serial-client" if parts[-1].startswith("serial") else "network-client"
    return {
        "datastore": "datastore",
        "repl": "repl",
        "internal": "debug-console",
        "compat.py": "library-core",
    }[sub]


def test_corpus_covers_both_layouts(corpus_paths) -> None:
    old = corpus_paths["2.1.0"] | corpus_paths["2.3.0"] | corpus_paths["2.5.3"]
    new = corpus_paths["3.9.2"] | corpus_paths["3.16.1"]
    assert "pymodbus/transaction.py" in old
    assert "pymodbus/client/sync.py" in old
    assert any(p.startswith("pymodbus/client/async/") for p in old)
    assert "pymodbus/pdu/device.py" in new
    assert "pymodbus/transport/transport.py" in new
    assert "pymodbus/client/serial.py" in new
    every = set().union(*corpus_paths.values())
    assert "setup.py" in every
    assert any(p.startswith("test/") for p in every)
    # Relative paths, no "./", no absolute URIs: ready for the globs as written.
    for p in every:
        assert not p.startswith(("/", "./", "file:")), p


def test_every_corpus_path_goes_to_the_right_component(corpus_paths, matcher) -> None:
    every = sorted(set().union(*corpus_paths.values()))
    assert len(every) > 80
    wrong = {
        p: (matcher.match(p).component_id, _expected_component(p))
        for p in every
        if matcher.match(p).component_id != _expected_component(p)
    }
    assert wrong == {}
    assert matcher.unmatched() == ()


@pytest.mark.parametrize(
    ("path", "component", "glob"),
    [
        ("test/test_framers.py", "tests", "test/**"),
        ("pymodbus/framer/rtu_framer.py", "framers-pdu", "pymodbus/framer/**"),
        ("pymodbus/pdu/device.py", "framers-pdu", "pymodbus/pdu/**"),
        ("pymodbus/transaction.py", "framers-pdu", "pymodbus/transaction.py"),
        ("pymodbus/transaction/transaction.py", "framers-pdu", "pymodbus/transaction/**"),
        (
            "pymodbus/server/simulator/http_server.py",
            "http-simulator",
            "pymodbus/server/simulator/**",
        ),
        ("pymodbus/client/serial.py", "serial-client", "pymodbus/client/serial*.py"),
        ("pymodbus/client/async/serial.py", "serial-client", "pymodbus/client/**/serial*.py"),
        ("pymodbus/client/tls.py", "network-client", "pymodbus/client/**"),
        ("pymodbus/datastore/simulator.py", "datastore", "pymodbus/datastore/**"),
        ("pymodbus/repl/client/main.py", "repl", "pymodbus/repl/**"),
        ("pymodbus/server/async_io.py", "transport", "pymodbus/server/async_io.py"),
        ("setup.py", "packaging", "setup.py"),
        ("pymodbus/compat.py", "library-core", "pymodbus/**"),
    ],
)
def test_real_files(matcher, path: str, component: str, glob: str) -> None:
    assert matcher.match(path) == Match(component, glob)


def test_first_component_wins(matcher) -> None:
    # pymodbus/client/serial.py also matches network-client's and library-core's globs.
    assert matcher.match("pymodbus/client/serial.py").component_id == "serial-client"
    # pymodbus/transaction.py also matches library-core's "pymodbus/**".
    assert matcher.match("pymodbus/transaction.py").component_id == "framers-pdu"


def test_absolute_paths_are_model_gaps() -> None:
    """ruff's raw absolute URIs match nothing until the build directory is stripped."""
    m = PathMatcher(load_model(PYMODBUS_MODEL))
    doc = json.loads(RAW_RUFF.read_bytes())
    uris = {
        loc["physicalLocation"]["artifactLocation"]["uri"]
        for r in doc["runs"][0]["results"]
        for loc in r["locations"]
    }
    prefix = "file:///home/builder/src/pymodbus-3.16.1/"
    assert uris and all(u.startswith(prefix) for u in uris)
    absolute = sorted(u[len("file://") :] for u in uris)
    for path in absolute:
        assert m.match(path) == Match(UNMODELLED)
    assert m.unmatched() == tuple(absolute)
    relative = [p[len(prefix) - len("file://") :] for p in absolute]
    assert all(m.match(p).component_id != UNMODELLED for p in relative)
    # unmatched() lists only the gaps seen so far, sorted and once each.
    assert m.unmatched() == tuple(absolute)


EXCLUDES = """\
schema_version: 1
product: {name: x, target_sl: 1}
zones: {plant: {trust: 2}}
components:
  parser:
    kind: protocol-parser
    zone: plant
    paths: ["src/**"]
    exclude_paths: ["src/vendor/**", "*.md"]
  vendored:
    kind: library
    zone: plant
    paths: ["src/vendor/zlib/**"]
"""


def test_exclude_paths_veto_and_fall_through() -> None:
    m = PathMatcher(parse_model(EXCLUDES, "x.yaml"))
    assert m.match("src/proto/frame.c") == Match("parser", "src/**")
    # Vetoed by parser's exclude_paths, claimed by the next component.
    assert m.match("src/vendor/zlib/inflate.c") == Match("vendored", "src/vendor/zlib/**")
    # Vetoed and claimed by no one.
    assert m.match("src/vendor/other/x.c") == Match(UNMODELLED)
    assert m.match("src/README.md") == Match(UNMODELLED)
    assert m.match("docs/index.rst") == Match(UNMODELLED)
    assert m.match("") == Match(UNMODELLED)
    # A result without a file is unmodelled, but it is not a gap in the model.
    assert m.unmatched() == ("docs/index.rst", "src/README.md", "src/vendor/other/x.c")


def test_answers_are_cached_per_path() -> None:
    m = PathMatcher(parse_model(EXCLUDES, "x.yaml"))
    first = m.match("src/a.c")
    assert m.match("src/a.c") is first
