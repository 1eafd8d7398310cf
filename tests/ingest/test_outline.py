"""The outline of a streamed log: every run without its results, and how many each has.

The outline skips the inside of results arrays without looking at each parser event in
Python. It must read exactly what a plain reading of every event reads, and refuse a log
with the same message: real scanner output for what it reads, hand-made logs only for what
it refuses.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import ijson  # type: ignore[import-untyped]
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from triage.errors import BadInputError
from triage.ingest import jsonscan
from triage.ingest.outline import MAX_DEPTH, Outline, json_error, outline
from triage.ingest.reader import Reader

REPO = Path(__file__).resolve().parents[2]
_PY_BACKEND = ijson.get_backend("python")
_SCALARS = frozenset({"string", "number", "integer", "double", "boolean", "null"})
_TYPES = {"start_map": "an object", "start_array": "an array", "string": "a string",
          "number": "a number", "integer": "a number", "double": "a number",
          "boolean": "a boolean", "null": "null"}


def _real_logs() -> list[Path]:
    logs = sorted((REPO / "sample_sarif").glob("**/*.sarif"))
    return logs + sorted((REPO / "tests" / "data" / "sarif").glob("*.sarif"))


def _every_event(path: Path, name: str, backend: Any = ijson) -> Outline:
    """The outline read the plain way: every parser event looked at in Python."""
    rd = Reader(name)
    runs: list[dict[str, Any]] = []
    counts: list[int] = []
    version: Any = None
    top = has_runs = False
    runs_bad = ""
    top_key: Any = None
    member: Any = ""
    builder: Any = None
    depth = 0

    # Where the value being read is, at the outline's grain: a top-level member, a run, a
    # run's member, a result (the index of the item after those ended so far).
    where = "$"
    ended = 0

    def close() -> None:
        if member and member != "results" and builder is not None:
            runs[-1][member] = builder.value

    def named(parent: str, key: Any) -> str:
        return f"{parent}.{key}".removeprefix("$.") if (
            isinstance(key, str) and key.isidentifier()) else parent

    if not path.read_bytes().strip():
        raise rd.fail("$", "file is empty, expected a SARIF 2.1.0 log")
    try:
        with path.open("rb") as f:
            for event, value in backend.basic_parse(f, use_float=True):
                if event == "map_key":
                    if depth == 1:
                        top_key = value
                        where = named("$", value)
                    elif depth == 3 and runs and not runs_bad and top_key == "runs":
                        close()
                        member = value
                        builder = None if value == "results" else ijson.ObjectBuilder()
                        where = named(f"runs[{len(runs) - 1}]", value)
                    elif builder is not None and depth >= 4:
                        builder.event(event, value)
                    continue
                if event in ("end_map", "end_array"):
                    if builder is not None and depth >= 4:
                        builder.event(event, value)
                    elif depth == 3 and runs and not runs_bad and top_key == "runs":
                        close()
                        member, builder = "", None
                    if (depth == 5 and member == "results" and top_key == "runs"
                            and not runs_bad):
                        ended += 1  # a result that is an object or an array ended
                        where = f"runs[{len(runs) - 1}].results[{ended}]"
                    elif (depth == 4 and member == "results" and top_key == "runs"
                          and not runs_bad):
                        where = f"runs[{len(runs) - 1}]"  # past the results: the run
                    if depth == 1 or (depth <= 3 and top_key == "runs" and not runs_bad):
                        where = "runs" if depth == 3 else "$"  # back in the runs, or the log
                    depth -= 1
                    continue
                level = depth
                if event in ("start_map", "start_array"):
                    depth += 1
                    if depth > MAX_DEPTH:
                        raise rd.fail(where, f"not valid JSON: nested deeper than {MAX_DEPTH} "
                                      "levels")
                if level == 0:
                    if event != "start_map":
                        raise rd.fail("$", "expected an object, got " + _TYPES[event])
                    top = True
                elif level == 1:
                    if top_key == "version":
                        version = value if event in _SCALARS else _TYPES[event]
                    elif top_key == "runs":
                        has_runs = True
                        if event != "start_array":
                            runs_bad = "expected an array, got " + _TYPES[event]
                elif top_key != "runs" or runs_bad:
                    continue
                elif level == 2:
                    if event != "start_map":
                        raise rd.fail(f"runs[{len(runs)}]", "expected an object, got "
                                      + _TYPES[event])
                    runs.append({})
                    counts.append(0)
                    member, builder = "", None
                    where = f"runs[{len(runs) - 1}]"
                elif member == "results":
                    if level == 3 and event not in ("start_array", "null"):
                        raise rd.fail(f"runs[{len(runs) - 1}].results",
                                      "expected an array, got " + _TYPES[event])
                    if level == 3 and event == "start_array":
                        ended = 0
                        where = f"runs[{len(runs) - 1}].results[0]"
                    if level == 4:
                        counts[-1] += 1
                        if event not in ("start_map", "start_array"):
                            ended += 1  # a scalar result
                            where = f"runs[{len(runs) - 1}].results[{ended}]"
                elif builder is not None:
                    builder.event(event, value)
    except (ijson.JSONError, ValueError) as e:  # ValueError: the Python backend's errors
        if backend is ijson and "integer overflow" in str(e):
            return _every_event(path, name, _PY_BACKEND)
        raise json_error(name, e, where) from e
    if not top:
        raise rd.fail("$", "file is empty, expected a SARIF 2.1.0 log")
    if version != "2.1.0":
        got = "no version" if version is None else f"version {version!r}"
        raise rd.fail("version", f"expected SARIF version '2.1.0', got {got}")
    if not has_runs:
        raise rd.fail("runs", "missing; a SARIF log needs a runs array")
    if runs_bad:
        raise rd.fail("runs", runs_bad)
    return Outline(runs, counts, sum(counts), backend)


@pytest.fixture(autouse=True, params=["plain scanner", "ijson"])
def reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The outline reads a plain log with the standard library's scanner, and any other log
    (or every log, where that scanner cannot keep the nesting limit) with ijson; both must
    read the same, and refuse alike."""
    if request.param == "ijson":
        monkeypatch.setattr(jsonscan, "WORKS", False)
    return str(request.param)


def _read(fn: Any, path: Path) -> tuple[Any, ...]:
    """What ``fn`` makes of a log: its outline, or its error's one line."""
    try:
        got = fn(path, path.name)
    except BadInputError as e:
        assert e.exit_code == 3
        return ("error", str(e))
    return (got.runs, got.counts, got.total)


def _write(tmp_path: Path, name: str, content: Any) -> Path:
    """Bytes as they are; text as UTF-8; anything else as JSON."""
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_text(json.dumps(content), encoding="utf-8")
    return path


def _error(path: Path) -> str:
    """The outline's error, which the plain reading gives in the same words."""
    with pytest.raises(BadInputError) as info:
        outline(path, path.name)
    assert info.value.exit_code == 3
    assert _read(_every_event, path) == ("error", str(info.value))
    return str(info.value)


@pytest.mark.parametrize("log", _real_logs(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_real_logs_read_as_the_whole_document_says(log: Path, reader: str) -> None:
    data = log.read_bytes()
    doc = json.loads(data)
    got = outline(log, log.name, hash_file=True)
    assert got.runs == [{k: v for k, v in run.items() if k not in ("results", "")}
                        for run in doc["runs"]]
    assert got.counts == [len(run.get("results") or ()) for run in doc["runs"]]
    assert got.total == sum(got.counts)
    assert got.backend is ijson
    assert got.sha256 == hashlib.sha256(data).hexdigest()
    assert _read(outline, log) == _read(_every_event, log)
    # Every real log is plain: the scanner reads it, and knows where its results begin.
    assert (got.offsets is not None) == (reader == "plain scanner")
    for offset, run in zip(got.offsets or [-1] * len(doc["runs"]), doc["runs"], strict=True):
        if got.offsets is not None and run.get("results") is not None:
            assert data[offset:offset + 1] == b"["
        else:
            assert offset == -1


def test_runs_in_any_order_and_results_anywhere(tmp_path: Path) -> None:
    """Several runs; results before, between or after the other members; null; empty."""
    doc = json.loads((REPO / "sample_sarif" / "pymodbus" / "3.16.1" / "bandit.sarif")
                     .read_bytes())
    run = doc["runs"][0]
    first = {"results": run["results"][:2], **{k: v for k, v in run.items() if k != "results"}}
    second = {"tool": run["tool"], "results": None, "invocations": run.get("invocations")}
    third = {"tool": run["tool"], "results": [], "properties": {"results": [1, 2]}}
    log = _write(tmp_path, "bandit.sarif", {"runs": [run, first, second, third],
                                            "version": "2.1.0"})
    got = outline(log, log.name)
    assert got.counts == [len(run["results"]), 2, 0, 0]
    assert got.runs[3] == {"tool": run["tool"], "properties": {"results": [1, 2]}}
    assert _read(outline, log) == _read(_every_event, log)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "$: file is empty, expected a SARIF 2.1.0 log"),
        (b"  \n\t\n", "$: file is empty, expected a SARIF 2.1.0 log"),
        ([], "$: expected an object, got an array"),
        ({"version": "2.0.0", "runs": []},
         "version: expected SARIF version '2.1.0', got version '2.0.0'"),
        ({"runs": 5}, "version: expected SARIF version '2.1.0', got no version"),
        ({"version": {"major": 2}, "runs": []},
         "version: expected SARIF version '2.1.0', got version 'an object'"),
        ({"version": "2.1.0"}, "runs: missing; a SARIF log needs a runs array"),
        ({"runs": {"results": [[[]]]}, "version": "2.1.0"},
         "runs: expected an array, got an object"),
        ({"version": "2.1.0", "runs": [{}, None]}, "runs[1]: expected an object, got null"),
        ({"version": "2.1.0", "runs": [{"results": []}, {"results": {"a": 1}}]},
         "runs[1].results: expected an array, got an object"),
        ({"version": "2.1.0", "runs": [{"results": "none"}]},
         "runs[0].results: expected an array, got a string"),
        (b'{"version": "2.1.0", "runs": [{"results": [{"a": 1}, {"a": }]}]}',
         "runs[0].results[1]: not valid JSON: parse error: unallowed token at this point in "
         "JSON text"),
        (b'{"version": "2.1.0", "runs": [{"results": ["\xff"]}]}',
         "runs[0].results[0]: not UTF-8 text"),
        (b'{"version": "2.1.0", "runs": [{"results": []}]} {}',
         "$: not valid JSON: parse error: trailing garbage"),
        # A syntax error in the results comes before what is wrong after it.
        (b'{"runs": [{"results": [1, ]}, 5]}',
         "runs[0].results[1]: not valid JSON: parse error: unallowed token at this point in "
         "JSON text"),
        # A syntax error names the value it is in, down to a run's member or a result.
        (b'{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": x}}, "results": []}]}',
         "runs[0].tool: not valid JSON: lexical error: invalid char in json text."),
        (b'{"version": "2.1.0", "runs": [{"results": [{}, {}, {"message": {"text": "a',
         "runs[0].results[2]: not valid JSON: parse error: premature EOF"),
        (b'{"version": "2.1.0", "runs": [{"results": [{}, {}] "tool": {}}]}',
         "runs[0]: not valid JSON: parse error: after key and value, inside map, I expect ',' "
         "or '}'"),
        (b'{"version": "2.1.0", "runs": [{"results": []}], "properties": {"a": [}}',
         "properties: not valid JSON: parse error: unallowed token at this point in JSON "
         "text"),
    ],
)
def test_malformed_logs_are_refused_as_before(tmp_path: Path, content: Any,
                                               message: str) -> None:
    assert _error(_write(tmp_path, "scan.sarif", content)) == f"scan.sarif: {message}"


@pytest.mark.parametrize("where", ["result", "rules", "top", "runs"])
def test_nesting_100000_deep_is_refused(tmp_path: Path, where: str) -> None:
    """One line naming the value and the limit, never a RecursionError or a memory blow-up."""
    deep = "[" * 100_000 + "]" * 100_000
    text = {
        "result": '{"version": "2.1.0", "runs": [{"results": [{"properties": {"d": '
                  + deep + "}}]}]}",
        "rules": '{"version": "2.1.0", "runs": [{"tool": {"driver": {"rules": ' + deep
                 + '}}, "results": []}]}',
        "top": '{"properties": ' + deep + ', "version": "2.1.0", "runs": []}',
        "runs": '{"version": "2.1.0", "runs": {"a": ' + deep + "}}",
    }[where]
    log = _write(tmp_path, "deep.sarif", text)
    where = {"result": "runs[0].results[0]", "rules": "runs[0].tool", "top": "properties",
             "runs": "runs"}[where]
    assert _error(log) == f"deep.sarif: {where}: not valid JSON: nested deeper than 512 levels"


@pytest.mark.parametrize("extra", [0, 1])
def test_the_nesting_limit_is_512_levels(tmp_path: Path, extra: int) -> None:
    """A result's value may reach level 512 and no further (the log, runs, run, results: 4)."""
    levels = MAX_DEPTH - 4 + extra
    text = ('{"version": "2.1.0", "runs": [{"results": [' + "[" * levels + "]" * levels
            + "]}]}")
    log = _write(tmp_path, "deep.sarif", text)
    if extra:
        assert _error(log) == ("deep.sarif: runs[0].results[0]: not valid JSON: nested deeper "
                               "than 512 levels")
    else:
        assert outline(log, log.name).counts == [1]
        assert _read(outline, log) == _read(_every_event, log)


def test_a_syntax_error_before_the_nesting_limit_comes_first(tmp_path: Path) -> None:
    text = '{"version": "2.1.0", "runs": [{"results": [[x' + "[" * 1000
    log = _write(tmp_path, "deep.sarif", text)
    assert _error(log) == ("deep.sarif: runs[0].results[0]: not valid JSON: lexical error: "
                           "invalid char in json text.")


def test_integers_beyond_64_bits_are_read_with_the_python_parser(tmp_path: Path,
                                                                  reader: str) -> None:
    doc = json.loads((REPO / "sample_sarif" / "pymodbus" / "3.16.1" / "bandit.sarif")
                     .read_bytes())
    doc["runs"][0]["results"][3].setdefault("properties", {})["huge"] = 2**70
    doc["runs"][0]["properties"] = {"count": -(2**70)}
    log = _write(tmp_path, "bandit.sarif", doc)
    got = outline(log, log.name, hash_file=True)
    # The standard library's scanner reads such integers as they are; ijson's C backend
    # holds 64 bits, so its reading goes to its Python backend.
    assert got.backend is (_PY_BACKEND if reader == "ijson" else ijson)
    assert got.runs[0]["properties"] == {"count": -(2**70)}
    assert got.counts == [len(doc["runs"][0]["results"])]
    assert got.sha256 == hashlib.sha256(log.read_bytes()).hexdigest()
    assert _read(outline, log) == _read(_every_event, log)


def test_an_unreadable_file_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(BadInputError) as info:
        outline(tmp_path, "dir.sarif")
    assert str(info.value) == f"{tmp_path}: cannot read: Is a directory"


_KEYS = st.sampled_from(["results", "tool", "runs", "version", "", "a"])
_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False,
                                                                         allow_infinity=False)
    | st.sampled_from(["2.1.0", "results", 'x]"[{']),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=3),
    max_leaves=12,
)
_RUN = st.dictionaries(_KEYS, _VALUES | st.lists(_VALUES, max_size=3), max_size=4)
_LOG = st.fixed_dictionaries({}, optional={"version": st.sampled_from(["2.1.0", "2.1.0", 2]),
                                           "runs": st.lists(_RUN | _VALUES, max_size=3),
                                           "$schema": _VALUES})


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=_LOG, cut=st.integers(0, 10_000), junk=st.sampled_from(["", "]", "{", '"', ",", "x",
                                                                   "[" * 600, "\\u"]))
def test_any_log_reads_as_every_event_says(tmp_path: Path, doc: Any, cut: int,
                                           junk: str) -> None:
    text = json.dumps(doc)
    if junk:
        cut %= len(text) + 1
        text = text[:cut] + junk + text[cut + 1:]
    log = _write(tmp_path, "fuzz.sarif", text)
    assert _read(outline, log) == _read(_every_event, log)
