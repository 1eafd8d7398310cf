"""Path -> component: the real pymodbus model against every file the 24 real scanner logs name."""

from __future__ import annotations

import json
from pathlib import Path

import pathspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


# --- the one-regex matcher agrees with the definition: first component, exclude vetoes -----

def _reference(model, path: str) -> Match:
    """The definition, one glob at a time (DESIGN.md §6)."""
    if not path:
        return Match(UNMODELLED)
    for c in model.components:
        exclude = pathspec.PathSpec.from_lines("gitignore", c.exclude_paths)
        for glob in c.paths:
            if pathspec.PathSpec.from_lines("gitignore", [glob]).match_file(path):
                if exclude.match_file(path):
                    break
                return Match(c.id, glob)
    return Match(UNMODELLED)


_SEGMENTS = ["src", "net", "a.c", "b.py", "test", "x"]
_GLOB_PARTS = ["src", "net", "*.c", "*", "**", "te?t", "x", "[ab].py", "a.c", "s*", "src/net",
               "[!a].c", "a.[ch]", "b.py"]


@st.composite
def _globs(draw: st.DrawFn) -> str:
    glob = "/".join(draw(st.lists(st.sampled_from(_GLOB_PARTS), min_size=1, max_size=3)))
    return draw(st.sampled_from(["", "/", "!"])) + glob + draw(st.sampled_from(["", "/"]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    comps=st.lists(st.tuples(st.lists(_globs(), min_size=1, max_size=3),
                             st.lists(_globs(), max_size=2)), min_size=1, max_size=5),
    paths=st.lists(st.lists(st.sampled_from(_SEGMENTS), min_size=1, max_size=4)
                   .map("/".join), max_size=15),
)
def test_matcher_agrees_with_the_definition(comps, paths) -> None:
    doc = {"schema_version": 1, "product": {"name": "p", "target_sl": 2},
           "zones": {"z": {"trust": 1}},
           "components": {f"c{i}": {"kind": "library", "zone": "z", "paths": inc,
                                    "exclude_paths": exc}
                          for i, (inc, exc) in enumerate(comps)}}
    model = parse_model(json.dumps(doc), "p.yaml")
    matcher = PathMatcher(model)
    for path in [*paths, "", "./src/a.c"]:
        assert matcher.match(path) == _reference(model, path), path


def test_real_model_joins_through_the_combined_expression(matcher, corpus_paths) -> None:
    # The fast path is in use for the real model (no negated globs), and agrees with the
    # definition on every file the 24 real logs name.
    assert matcher._combined is not None
    model = load_model(PYMODBUS_MODEL)
    for path in sorted(set().union(*corpus_paths.values())):
        assert matcher.match(path) == _reference(model, path), path


# --- function-level selectors: one legacy C file holding several components --------------

FIRMWARE_MODEL = REPO / "sample_sarif" / "firmware" / "threatmodel.yaml"


@pytest.fixture(scope="module")
def firmware() -> PathMatcher:
    return PathMatcher(load_model(FIRMWARE_MODEL))


def test_function_selector_wins_over_the_path_only_component(firmware) -> None:
    # modbus.c holds the server's request parser and the client helpers.
    path = "src/proto/modbus/modbus.c"
    assert firmware.match(path, "modbus_client_read_registers") == Match(
        "modbus-client", "src/proto/modbus/modbus.c", "modbus_client_*")
    assert firmware.match(path, "mb_poll_inputs").function_glob == "mb_poll_*"
    # A server function, or no function known: path selectors decide (first match wins).
    assert firmware.match(path, "modbus_reply") == Match("modbus-server", "src/proto/modbus/**")
    assert firmware.match(path) == Match("modbus-server", "src/proto/modbus/**")
    # Function selectors only apply inside the component's paths.
    assert firmware.match("src/web/cgi.c", "modbus_client_x").component_id == "web-ui"
    assert firmware.match("nowhere.c", "modbus_client_x") == Match(UNMODELLED)
    assert "nowhere.c" in firmware.unmatched()


def test_function_globs_are_case_sensitive_and_whole_name() -> None:
    model = parse_model(json.dumps({
        "schema_version": 1, "product": {"name": "p", "target_sl": 2},
        "zones": {"z": {"trust": 1}},
        "components": {
            "decoders": {"kind": "protocol-parser", "zone": "z", "paths": ["src/pdu.c"],
                         "functions": ["*_decode_*"]},
            "encoders": {"kind": "library", "zone": "z", "paths": ["src/pdu.c"],
                         "functions": ["*_encode_*"]},
        }}), "p.yaml")
    assert model.component("decoders").functions == ("*_decode_*",)
    m = PathMatcher(model)
    assert m.match("src/pdu.c", "mb_decode_read").component_id == "decoders"
    assert m.match("src/pdu.c", "mb_encode_read").component_id == "encoders"
    # No selector matches and no path-only component: the first path match.
    assert m.match("src/pdu.c", "MB_DECODE_READ") == Match("decoders", "src/pdu.c")
    assert m.match("src/pdu.c", "helper") == Match("decoders", "src/pdu.c")
