"""Bad SARIF stops with BadInputError (exit 3) naming the file and where: never anything else."""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import io
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import ijson  # type: ignore[import-untyped]
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import triage.ingest.sarif as sarif_module
from triage.errors import BadInputError
from triage.ingest.paths import PathNormaliser
from triage.ingest.sarif import load_log, read_sarif
from triage.ingest.stream import Spool, stream_sarif

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "sample_sarif" / "pymodbus"


def _error(path: Path) -> BadInputError:
    """The whole-file reader's error; the streaming reader must fail the same way.

    Both name the file; where the problem is in the SARIF structure, both name the same
    JSON path in the same words. A parser error has a line and column in the whole file;
    in streamed bytes it has none, so it names the value it broke: the log (``$``), a
    top-level member, a run, a run's member or a result.
    """
    with pytest.raises(BadInputError) as info:
        read_sarif([path])
    err = info.value
    assert err.exit_code == 3
    assert str(err).startswith(f"{path.name}: "), str(err)
    assert "\n" not in str(err)
    streamed = _stream_error(path)
    if ": not valid JSON: " in str(err):
        # The same place; each parser says what is wrong in its own words.
        assert _STREAMED_PLACE.match(str(streamed)), str(streamed)
        assert str(streamed).split(": not valid JSON: ")[0] == str(err).split(
            ": not valid JSON: ")[0], (str(err), str(streamed))
    elif ": not UTF-8 text" in str(err):
        assert _STREAMED_PLACE.match(str(streamed)), str(streamed)
        assert str(streamed).split(": not UTF-8 text")[0] == str(err).split(
            ": not UTF-8 text")[0], (str(err), str(streamed))
    else:
        assert str(streamed) == str(err)
    return err


_STREAMED_PLACE = re.compile(
    r"^[^:]+: (\$|[A-Za-z_]\w*|runs|runs\[\d+\](\.[A-Za-z_]\w*)?|runs\[\d+\]\.results\[\d+\]): "
    r"not (valid JSON|UTF-8 text)")
"""What a streamed log's parser error names: the value it broke, at a run member's grain."""


def _stream_error(path: Path) -> BadInputError:
    spool = Spool()
    try:
        with pytest.raises(BadInputError) as info:
            stream_sarif([path], PathNormaliser(), dt.datetime.now(dt.UTC), spool)
    finally:
        spool.close()
    err = info.value
    assert err.exit_code == 3
    assert "\n" not in str(err)
    return err


def _write(tmp_path: Path, name: str, content: Any) -> Path:
    """Bytes as they are; anything else as JSON."""
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(json.dumps(content), encoding="utf-8")
    return path


def _real(release: str, tool: str) -> dict[str, Any]:
    return json.loads((SAMPLES / release / f"{tool}.sarif").read_bytes())


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty.sarif: $: file is empty, expected a SARIF 2.1.0 log"),
        (b"  \n\t\n", "empty.sarif: $: file is empty, expected a SARIF 2.1.0 log"),
    ],
)
def test_empty_file(tmp_path: Path, content: bytes, message: str) -> None:
    assert str(_error(_write(tmp_path, "empty.sarif", content))) == message


@pytest.mark.parametrize(
    ("content", "where", "line"),
    [
        (b"<?xml version='1.0'?><sarif/>", "$", "line 1 column 1"),
        (b"scan finished, 3 issues\n", "$", "line 1 column 1"),
        (b'{"version": "2.1.0",\n "runs": [}\n', "runs", "line 2 column 11"),
        (b'{"version": "2.1.0", "runs": []} trailing', "$", "line 1 column 34"),
        (b'{"version": "2.1.0", "runs": [], "version": NaN', "version", ""),
    ],
)
def test_not_json(tmp_path: Path, content: bytes, where: str, line: str) -> None:
    err = _error(_write(tmp_path, "scan.sarif", content))
    assert str(err).startswith(f"scan.sarif: {where}: not valid JSON: ")
    if line:  # NaN is refused before the parser reaches the end, which has no place
        assert str(err).endswith(f" ({line})")


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"runs": 5}, "version: expected SARIF version '2.1.0', got no version"),
        (
            {"version": "2.0.0", "runs": []},
            "version: expected SARIF version '2.1.0', got version '2.0.0'",
        ),
        ({"version": 2.1, "runs": []}, "version: expected SARIF version '2.1.0', got version 2.1"),
        ({"version": "2.1.0"}, "runs: missing; a SARIF log needs a runs array"),
        ({"version": "2.1.0", "runs": 5}, "runs: expected an array, got a number"),
        ({"version": "2.1.0", "runs": {}}, "runs: expected an array, got an object"),
        ([], "$: expected an object, got an array"),
        ("2.1.0", "$: expected an object, got a string"),
        ({"version": "2.1.0", "runs": [None]}, "runs[0]: expected an object, got null"),
        ({"version": "2.1.0", "runs": [{}]}, "runs[0].tool: expected an object, got null"),
        (
            {"version": "2.1.0", "runs": [{"tool": {"driver": {}}}]},
            "runs[0].tool.driver.name: missing; every run names its tool",
        ),
        (
            {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": 7}}}]},
            "runs[0].tool.driver.name: expected a string, got a number",
        ),
        (
            {
                "version": "2.1.0",
                "runs": [{"tool": {"driver": {"name": "t"}}, "results": ["oops"]}],
            },
            "runs[0].results[0]: expected an object, got a string",
        ),
    ],
)
def test_not_sarif(tmp_path: Path, doc: Any, message: str) -> None:
    assert str(_error(_write(tmp_path, "scan.sarif", doc))) == f"scan.sarif: {message}"


def test_the_design_example(tmp_path: Path) -> None:
    """DESIGN.md §5's example, made from a real log with 53 results."""
    doc = _real("3.16.1", "semgrep")
    doc["runs"][0]["results"][17]["locations"][0] = "pymodbus/client/serial.py:323"
    err = _error(_write(tmp_path, "scan.sarif", doc))
    assert str(err) == (
        "scan.sarif: runs[0].results[17].locations[0]: expected an object, got a string"
    )


def test_a_result_that_is_a_string(tmp_path: Path) -> None:
    doc = _real("3.3.0", "bandit")
    doc["runs"][0]["results"][600] = "B101 assert_used test/test_pdu.py:12"
    err = _error(_write(tmp_path, "bandit.sarif", doc))
    assert str(err) == "bandit.sarif: runs[0].results[600]: expected an object, got a string"


@pytest.mark.parametrize(
    ("mutate", "where", "what"),
    [
        (lambda r: r.update(level="fatal"), "runs[0].results[2].level", "unknown level 'fatal'"),
        (lambda r: r.update(kind="bogus"), "runs[0].results[2].kind", "unknown kind 'bogus'"),
        (
            lambda r: r.update(ruleIndex="0"),
            "runs[0].results[2].ruleIndex",
            "expected an integer, got a string",
        ),
        (
            lambda r: r.update(ruleIndex=True),
            "runs[0].results[2].ruleIndex",
            "expected an integer, got a boolean",
        ),
        (
            lambda r: r.update(message=["text"]),
            "runs[0].results[2].message",
            "expected an object, got an array",
        ),
        (
            lambda r: r.update(locations={}),
            "runs[0].results[2].locations",
            "expected an array, got an object",
        ),
        (
            lambda r: r["locations"][0]["physicalLocation"]["region"].update(startLine="323"),
            "runs[0].results[2].locations[0].physicalLocation.region.startLine",
            "expected an integer, got a string",
        ),
        (
            lambda r: r["locations"][0]["physicalLocation"]["artifactLocation"].update(uri=5),
            "runs[0].results[2].locations[0].physicalLocation.artifactLocation.uri",
            "expected a string, got a number",
        ),
        (
            lambda r: r.update(suppressions=[5]),
            "runs[0].results[2].suppressions[0]",
            "expected an object, got a number",
        ),
        (
            lambda r: r.update(fingerprints="x"),
            "runs[0].results[2].fingerprints",
            "expected an object, got a string",
        ),
    ],
)
def test_wrong_types_name_the_json_path(tmp_path: Path, mutate, where: str, what: str) -> None:
    doc = _real("3.16.1", "semgrep")
    mutate(doc["runs"][0]["results"][2])
    assert str(_error(_write(tmp_path, "semgrep.sarif", doc))) == f"semgrep.sarif: {where}: {what}"


def test_truncated_real_log(tmp_path: Path) -> None:
    data = (SAMPLES / "3.3.0" / "bandit.sarif").read_bytes()
    half = data[: len(data) // 2]
    err = _error(_write(tmp_path, "bandit.sarif", half))
    m = re.match(r"^bandit\.sarif: runs\[0\]\.results\[(\d+)\]: not valid JSON: .* "
                 r"\(line (\d+) column (\d+)\)$", str(err))
    assert m, str(err)
    # The text just stops: the parser notices on the last line it was given.
    assert int(m[2]) == half.count(b"\n") + 1
    # Both paths name the result it stopped in: the one after those read whole.
    whole = 0
    with contextlib.suppress(ijson.JSONError):
        for _ in ijson.items(io.BytesIO(half), "runs.item.results.item"):
            whole += 1
    assert 0 < whole < len(json.loads(data)["runs"][0]["results"])
    assert int(m[1]) == whole
    assert str(_stream_error(tmp_path / "bandit.sarif")) == (
        f"bandit.sarif: runs[0].results[{whole}]: not valid JSON: parse error: premature EOF")


def test_non_utf8_bytes(tmp_path: Path) -> None:
    data = (SAMPLES / "3.16.1" / "bandit.sarif").read_bytes()
    at = data.index(b"random.randint")
    latin1 = data[:at] + "é".encode("latin-1") + data[at:]
    err = _error(_write(tmp_path, "bandit.sarif", latin1))
    # Named by the result it is in, as the streaming path names it; the byte for an editor.
    assert str(err).startswith("bandit.sarif: runs[0].results["), str(err)
    assert str(err).endswith(f": not UTF-8 text (byte {at})")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match=r"missing\.sarif: cannot read") as info:
        read_sarif([tmp_path / "missing.sarif"])
    assert info.value.exit_code == 3


def test_absurd_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.sarif"
    path.write_bytes((SAMPLES / "3.16.1" / "bandit.sarif").read_bytes())
    monkeypatch.setattr(sarif_module, "MAX_SARIF_BYTES", 1000)
    with pytest.raises(BadInputError, match=r"^big\.sarif: file is \d+ bytes, above"):
        load_log(path)


def test_a_bad_log_among_good_ones_stops_the_whole_read(tmp_path: Path) -> None:
    bad = _write(tmp_path, "ruff.sarif", {"version": "2.1.0", "runs": [{"tool": {}}]})
    with pytest.raises(BadInputError, match=r"^ruff\.sarif: runs\[0\]\.tool\.driver: "):
        read_sarif([SAMPLES / "3.16.1" / "bandit.sarif", bad])


# --- property: mutated logs raise BadInputError or read fine ---------------------------------

# A small log that uses every part of the format the reader looks at.
SEED: dict[str, Any] = {
    "version": "2.1.0",
    "runs": [
        {
            "tool": {
                "driver": {
                    "name": "bandit",
                    "version": "1.9.4",
                    "rules": [
                        {
                            "id": "B311",
                            "name": "blacklist",
                            "defaultConfiguration": {"level": "note"},
                            "properties": {
                                "tags": ["security", "external/cwe/cwe-330"],
                                "security-severity": "5.3",
                                "cwe": ["CWE-338"],
                            },
                            "relationships": [
                                {
                                    "target": {"id": "330", "toolComponent": {"name": "CWE"}},
                                    "kinds": ["superset"],
                                },
                            ],
                        }
                    ],
                },
                "extensions": [
                    {
                        "name": "pack",
                        "rules": [
                            {
                                "id": "X1",
                                "defaultConfiguration": {"level": "error"},
                                "messageStrings": {"default": {"text": "{0} used at {1}"}},
                            }
                        ],
                    }
                ],
            },
            "taxonomies": [{"name": "CWE", "taxa": [{"id": "330"}]}],
            "originalUriBaseIds": {
                "REPO": {"uri": "file:///work/repo/"},
                "SRC": {"uri": "src/", "uriBaseId": "REPO"},
            },
            "artifacts": [{"location": {"uri": "a.py", "uriBaseId": "SRC"}}],
            "invocations": [
                {
                    "executionSuccessful": True,
                    "ruleConfigurationOverrides": [
                        {"descriptor": {"id": "B311"}, "configuration": {"level": "warning"}}
                    ],
                    "toolConfigurationNotifications": [
                        {
                            "level": "error",
                            "message": {"text": "syntax error while parsing AST from file"},
                            "descriptor": {"id": "Syntax error"},
                            "locations": [
                                {"physicalLocation": {"artifactLocation": {"uri": "bad.py"}}}
                            ],
                        }
                    ],
                    "toolExecutionNotifications": [],
                }
            ],
            "results": [
                {
                    "ruleId": "B311",
                    "ruleIndex": 0,
                    "level": "note",
                    "message": {"text": "Standard pseudo-random generators are not suitable."},
                    "locations": [
                        {
                            "physicalLocation": {
                                "artifactLocation": {"uri": "a.py", "uriBaseId": "SRC"},
                                "region": {
                                    "startLine": 3,
                                    "endLine": 3,
                                    "startColumn": 5,
                                    "snippet": {"text": "x = random.random()\n"},
                                },
                                "contextRegion": {
                                    "startLine": 2,
                                    "endLine": 4,
                                    "snippet": {"text": "import random\nx = random.random()\n\n"},
                                },
                            }
                        }
                    ],
                    "properties": {"issue_severity": "LOW", "issue_confidence": "HIGH"},
                    "fingerprints": {"matchBasedId/v1": "requires login"},
                    "partialFingerprints": {"primaryLocationLineHash": "abc:1"},
                    "suppressions": [{"kind": "external", "status": "underReview"}],
                    "taxa": [{"id": "330", "toolComponent": {"name": "CWE"}}],
                },
                {
                    "rule": {"id": "X1", "index": 0, "toolComponent": {"index": 0}},
                    "kind": "fail",
                    "message": {"id": "default", "arguments": ["random", "a.py"]},
                    "locations": [
                        {
                            "physicalLocation": {
                                "artifactLocation": {"index": 0},
                                "region": {"startLine": 8},
                            }
                        }
                    ],
                },
                {
                    "ruleId": "invalid-syntax",
                    "kind": "review",
                    "message": {"text": "Expected an identifier"},
                },
            ],
        }
    ],
}


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every JSON path in the document (the root excluded)."""
    out: list[tuple] = []
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, child in items:
        out.append((*prefix, key))
        out.extend(_paths(child, (*prefix, key)))
    return out


SEED_PATHS = _paths(SEED)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(
        [
            "",
            "2.1.0",
            "error",
            "none",
            "fail",
            "pass",
            "accepted",
            "rejected",
            "file:///x",
            "file://[bad/x",
            "../../etc/passwd",
            "C:\\x",
            "%SRCROOT%",
            "SRC",
            "REPO",
            "{0}",
        ]
    ),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(["uri", "text", "id", "index", "level", "name", "rules", "tags", "x"])
            | st.text(max_size=5),
            children,
            max_size=3,
        )
    ),
    max_leaves=8,
)


def test_seed_log_reads(tmp_path: Path) -> None:
    """The seed is valid and exercises what the property test mutates."""
    log = _write(tmp_path, "seed.sarif", SEED)
    (scan,) = read_sarif([log], PathNormaliser(strip_prefixes=("/work/repo",)))
    first, second, third = scan.findings
    assert [f.rule_id for f in scan.findings] == ["B311", "X1", "invalid-syntax"]
    assert [f.location.path for f in scan.findings] == ["src/a.py", "src/a.py", ""]
    assert first.cwe_ids == (330, 338)
    assert first.security_severity == 5.3
    assert first.suppression.value == "pending"
    # The partial fingerprint is kept as data but is no identity; semgrep's "requires login"
    # placeholder is semgrep's adapter's business, and this log says it is bandit.
    assert ("partialFingerprints:primaryLocationLineHash", "abc:1") in first.tool_fingerprints
    assert first.identity_fingerprints == (("fingerprints:matchBasedId/v1", "requires login"),)
    assert second.message == "random used at a.py"
    assert second.level == "error"  # the extension rule's defaultConfiguration
    assert (third.kind, third.level) == ("review", "none")  # SARIF 3.27.10
    assert scan.not_analysed == ("bad.py",)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_mutated_logs_raise_only_bad_input(data: st.DataObject) -> None:
    doc = copy.deepcopy(SEED)
    for _ in range(data.draw(st.integers(min_value=1, max_value=3), label="mutations")):
        paths = _paths(doc)
        if not paths:
            break
        path = data.draw(st.sampled_from(paths), label="path")
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if data.draw(st.booleans(), label="delete") and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(json_values, label="value")
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "fuzz.sarif"
        log.write_text(json.dumps(doc), encoding="utf-8")
        now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        try:
            scans = read_sarif([log], PathNormaliser(source_root=Path(tmp)), now=now)
        except BadInputError as e:
            assert str(e).startswith("fuzz.sarif: ")
            assert e.exit_code == 3
            streamed = _stream_error(log)
            assert str(streamed).startswith("fuzz.sarif: ")
            return
        # The streaming reader reads the same log into the same findings.
        spool = Spool()
        try:
            streamed_scans = stream_sarif([log], PathNormaliser(source_root=Path(tmp)), now,
                                          spool)
            assert [s.scan.tool for s in streamed_scans] == [s.tool for s in scans]
            for whole, part in zip(scans, streamed_scans, strict=True):
                got = [f for chunk in part.chunks() for f in chunk]
                assert sorted(got, key=repr) == sorted(whole.findings, key=repr)
                assert part.scan.not_analysed == whole.not_analysed
        finally:
            spool.close()
    for scan in scans:
        for f in scan.findings:
            assert isinstance(f.rule_id, str) and isinstance(f.rule_name, str)
            assert isinstance(f.message, str) and isinstance(f.location.path, str)
            assert f.level in ("error", "warning", "note", "none")
            assert all(isinstance(c, int) for c in f.cwe_ids)
            assert len(f.fingerprint) == 32


@pytest.mark.parametrize("where", ["result", "rules"])
def test_nesting_100000_deep_is_bad_input_on_both_paths(tmp_path: Path, where: str) -> None:
    """Deep nesting ends in one line and exit 3, never a RecursionError or a memory blow-up."""
    deep = "[" * 100_000 + "]" * 100_000
    if where == "result":
        text = ('{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": '
                '[{"message": {"text": "a"}, "properties": {"d": ' + deep + "}}]}]}")
    else:
        text = ('{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x", "rules": '
                + deep + "}}, \"results\": []}]}")
    log = _write(tmp_path, "deep.sarif", text.encode())
    place = "runs[0].results[0]" if where == "result" else "runs[0].tool"
    assert str(_error(log)) == f"deep.sarif: {place}: not valid JSON: nested too deeply to read"
    assert str(_stream_error(log)) == (
        f"deep.sarif: {place}: not valid JSON: nested deeper than 512 levels")


def test_integers_beyond_64_bits_read_on_both_paths(tmp_path: Path) -> None:
    """2**70 where SARIF allows any value is read by both readers alike."""
    doc = _real("3.16.1", "bandit")
    doc["runs"][0]["results"][3]["properties"]["huge"] = 2**70
    doc["runs"][0]["properties"] = {"count": -(2**70)}
    whole, got = _read_both_ways(_write(tmp_path, "bandit.sarif", doc))
    assert len(got) == len(whole) == len(doc["runs"][0]["results"])
    assert sorted(got, key=repr) == sorted(whole, key=repr)


def _read_both_ways(log: Path) -> tuple[list[Any], list[Any]]:
    """The log's findings read whole, and streamed through the spool."""
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    (whole,) = read_sarif([log], PathNormaliser(), now=now)
    spool = Spool()
    try:
        (streamed,) = stream_sarif([log], PathNormaliser(), now, spool)
        return whole.findings, [f for chunk in streamed.chunks() for f in chunk]
    finally:
        spool.close()


def test_a_bad_escape_in_a_log_with_huge_integers_is_bad_input(tmp_path: Path) -> None:
    """The fallback parser for integers beyond 64 bits reports a bad escape in its own way;
    it is still one line and exit 3."""
    doc = _real("3.16.1", "bandit")
    doc["runs"][0]["properties"] = {"count": 2**70, "later": 1}
    text = json.dumps(doc).replace('"later"', '"la\\uZZZZter"')
    log = _write(tmp_path, "bandit.sarif", text.encode())
    err = _stream_error(log)
    assert str(err).startswith("bandit.sarif: runs[0].properties: not valid JSON: "), str(err)


def test_a_line_number_beyond_32_bits_is_bad_input(tmp_path: Path) -> None:
    doc = _real("3.16.1", "semgrep")
    doc["runs"][0]["results"][2]["locations"][0]["physicalLocation"]["region"]["startLine"] = (
        2**63)
    assert str(_error(_write(tmp_path, "semgrep.sarif", doc))) == (
        "semgrep.sarif: runs[0].results[2].locations[0].physicalLocation.region.startLine: "
        f"integer {2**63} out of range")


@pytest.mark.parametrize("value", ["1e400", "NaN", "-3", "11", True, "high"])
def test_a_security_severity_that_is_no_cvss_score_is_ignored(tmp_path: Path, value) -> None:
    """Not a score from 0 to 10: the finding is kept and rated by what else it carries."""
    doc = _real("3.16.1", "bandit")
    doc["runs"][0]["results"][0].setdefault("properties", {})["security-severity"] = value
    (scan,) = read_sarif([_write(tmp_path, "bandit.sarif", doc)])
    assert scan.findings[0].security_severity is None


def test_a_nul_byte_in_a_uri_reads_no_source_file(tmp_path: Path) -> None:
    """``%00`` in a URI with --source-root: no file is read, nothing crashes."""
    doc = _real("3.16.1", "bandit")
    location = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    location["artifactLocation"]["uri"] = "pymodbus/a%00b.py"
    del location["region"]["snippet"]
    location.pop("contextRegion", None)
    log = _write(tmp_path, "bandit.sarif", doc)
    (scan,) = read_sarif([log], PathNormaliser(source_root=tmp_path))
    assert scan.findings[0].location.path == "pymodbus/a\x00b.py"
    assert scan.findings[0].location.snippet == ""


@pytest.mark.parametrize(("shape", "where"), [
    ('{{"version": "2.1.0", "runs": [{run}], "runs": []}}', "runs"),
    ('{{"runs": [], "version": "2.1.0", "runs": [{run}]}}', "runs"),
    ('{{"version": "2.1.0", "runs": [{run_and_results}]}}', "runs[0].results"),
    ('{{"version": "2.1.0", "runs": [{run}, {run_and_results}]}}', "runs[1].results"),
    ('{{"version": "2.1.0", "runs": [{no_results}, {run_and_results}]}}', "runs[1].results"),
])
def test_runs_or_results_given_twice_are_bad_input_on_every_path(
        tmp_path: Path, shape: str, where: str) -> None:
    """A parser keeps the last of two members of one name, a stream could read both: the
    log cannot say which it means, so it is refused, by the console script as well."""
    run = _real("3.16.1", "bandit")["runs"][0]
    text = json.dumps(run)
    more = json.dumps(run["results"][:3])
    no_results = json.dumps({k: v for k, v in run.items() if k != "results"})
    log = _write(tmp_path, "bandit.sarif", shape.format(
        run=text, run_and_results=f'{text[:-1]}, "results": {more}}}',
        no_results=no_results).encode())
    message = (f"bandit.sarif: {where}: given twice, so which one holds is ambiguous "
               "(RFC 8259 section 4)")
    assert str(_error(log)) == message
    for stream_bytes in ("", "0"):  # whole file, and streamed in a reader process
        done = subprocess.run(
            [str(Path(sys.executable).parent / "triage"), "--db",
             f"sqlite:///{tmp_path / 'triage.db'}", "ingest", str(log), "--product", "p",
             "--release", "r"], capture_output=True, text=True, check=False,
            env={**os.environ, "TRIAGE_STREAM_BYTES": stream_bytes})
        assert (done.returncode, done.stderr.splitlines()[0]) == (3, f"error: {message}")


@pytest.mark.parametrize("uri", ["../../etc/passwd", "pymodbus/..%2F..%2Fsecret.py", ".."])
def test_a_uri_climbing_out_of_the_source_root_is_bad_input(tmp_path: Path, uri: str) -> None:
    """A relative path above the tree names no file of the repository: exit 3, nothing read."""
    (tmp_path / "secret.py").write_text("password = 'x'\n", encoding="utf-8")
    root = tmp_path / "checkout"
    root.mkdir()
    doc = _real("3.16.1", "bandit")
    location = doc["runs"][0]["results"][2]["locations"][0]["physicalLocation"]
    location["artifactLocation"]["uri"] = uri
    del location["region"]["snippet"]
    log = _write(tmp_path, "bandit.sarif", doc)
    message = (f"bandit.sarif: runs[0].results[2].locations[0].physicalLocation."
               f"artifactLocation.uri: {uri!r} climbs out of the source root")
    assert str(_error(log)) == message
    with pytest.raises(BadInputError) as info:
        read_sarif([log], PathNormaliser(source_root=root))
    assert str(info.value) == message


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_numbers_json_does_not_have_are_bad_input_on_both_paths(tmp_path: Path,
                                                                value: str) -> None:
    """Python's parser takes NaN and Infinity, and 1e400 as infinity; JSON has neither."""
    text = json.dumps(_real("3.16.1", "bandit"))
    text = text.replace('"results": [', '"properties": {"x": ' + value + '}, "results": [', 1)
    err = _error(_write(tmp_path, "bandit.sarif", text.encode()))  # the same place both ways
    assert str(err).startswith("bandit.sarif: runs[0].properties: not valid JSON: "), str(err)


def test_a_uri_of_megabytes_is_refused_before_any_work_on_it(tmp_path: Path) -> None:
    # Normalised and resolved under a source root, two million components took minutes.
    doc = _real("3.16.1", "bandit")
    location = doc["runs"][0]["results"][1]["locations"][0]["physicalLocation"]
    location["artifactLocation"]["uri"] = "a/" * 600_000
    log = _write(tmp_path, "bandit.sarif", doc)
    message = ("bandit.sarif: runs[0].results[1].locations[0].physicalLocation."
               "artifactLocation.uri: 1,200,000 characters long, above the limit of 1,048,576")
    assert str(_error(log)) == message
    with pytest.raises(BadInputError) as info:
        read_sarif([log], PathNormaliser(source_root=tmp_path))
    assert str(info.value) == message


def test_a_bad_rule_rank_names_the_rules_json_path(tmp_path: Path) -> None:
    doc = _real("3.16.1", "bandit")
    rule = doc["runs"][0]["tool"]["driver"]["rules"][0]
    rule["defaultConfiguration"] = {"rank": "high"}
    rid = rule["id"]
    for result in doc["runs"][0]["results"]:
        if result["ruleId"] == rid:
            result.pop("rank", None)
    assert str(_error(_write(tmp_path, "bandit.sarif", doc))) == (
        "bandit.sarif: runs[0].tool.driver.rules[0].defaultConfiguration.rank: "
        "expected a number, got a string")


def test_a_lone_surrogate_in_a_text_reads_as_a_replacement_character(tmp_path: Path) -> None:
    r"""JSON can escape half of a UTF-16 pair (``\ud800``), which is no Unicode text and
    which the store could not write: each path reads it as U+FFFD; a pair stays a pair."""
    doc = _real("3.16.1", "bandit")
    doc["runs"][0]["results"][3]["message"]["text"] = "weak hash LONE"
    doc["runs"][0]["results"][2]["message"]["text"] = "a pair: PAIR"
    text = json.dumps(doc).replace("LONE", "\\ud800").replace("PAIR", "\\ud83d\\ude00")
    for findings in _read_both_ways(_write(tmp_path, "bandit.sarif", text.encode())):
        messages = {f.provenance.result: f.message for f in findings}
        assert messages[3] == "weak hash \ufffd"
        assert messages[2] == "a pair: \U0001f600"


def test_an_integer_too_long_to_convert_is_bad_input(tmp_path: Path) -> None:
    """Python converts integers of at most 4,300 digits; a longer one is a bad log."""
    doc = _real("3.16.1", "bandit")
    doc["runs"][0]["results"][3]["locations"][0]["physicalLocation"]["region"]["startLine"] = 7
    text = json.dumps(doc).replace('"startLine": 7', '"startLine": 1' + "0" * 5000, 1)
    err = _error(_write(tmp_path, "bandit.sarif", text.encode()))
    # Named as the streaming path names it (``_error``): in the results.
    assert re.match(r"bandit\.sarif: runs\[0\]\.results\[\d+\]: not valid JSON: Exceeds the "
                    r"limit", str(err)), str(err)


@pytest.mark.parametrize(
    ("encode", "what"),
    [
        (lambda t: b"\xef\xbb\xbf" + t.encode(), "starts with a byte order mark; a SARIF log "
                                                 "is UTF-8 JSON without one"),
        (lambda t: t.encode("utf-16"), "UTF-16 or UTF-32 text; a SARIF log is UTF-8 JSON"),
        (lambda t: t.encode("utf-16-le"), "UTF-16 or UTF-32 text; a SARIF log is UTF-8 JSON"),
        (lambda t: t.encode("utf-32"), "UTF-16 or UTF-32 text; a SARIF log is UTF-8 JSON"),
    ],
    ids=["utf-8 bom", "utf-16", "utf-16le without bom", "utf-32"],
)
def test_a_log_that_is_not_plain_utf8_is_refused_by_name_on_both_paths(
        tmp_path: Path, encode: Any, what: str) -> None:
    """SARIF 3.1: UTF-8. Both paths refuse alike, before any parser reads the log."""
    log = _write(tmp_path, "bandit.sarif", encode(json.dumps(_real("3.16.1", "bandit"))))
    assert str(_error(log)) == f"bandit.sarif: byte 0: {what}"


def _region(doc: dict[str, Any], i: int) -> dict[str, Any]:
    return doc["runs"][0]["results"][i]["locations"][0]["physicalLocation"]["region"]


_REGION = "runs[0].results[2].locations[0].physicalLocation.region"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: _region(d, 2).update(startLine=-5),
         f"{_REGION}.startLine: -5, below 1: lines and columns count from 1"),
        (lambda d: _region(d, 2).update(startLine=0),
         f"{_REGION}.startLine: 0, below 1: lines and columns count from 1"),
        (lambda d: _region(d, 2).update(endLine=-1),
         f"{_REGION}.endLine: -1, below 1: lines and columns count from 1"),
        (lambda d: _region(d, 2).update(startColumn=0),
         f"{_REGION}.startColumn: 0, below 1: lines and columns count from 1"),
        (lambda d: d["runs"][0]["results"][2].update(ruleIndex=-3),
         "runs[0].results[2].ruleIndex: -3, below -1: an index is -1 (none) or more"),
        (lambda d: d["runs"][0]["results"][2]["message"].update(text="x" * (2 << 20)),
         "runs[0].results[2]: its message is 2,097,152 characters long, above the limit of "
         "1,048,576"),
        (lambda d: _region(d, 2).update(charOffset=-2, charLength=4),
         f"{_REGION}.charOffset: -2, below -1: an offset is -1 (none) or more"),
        (lambda d: _region(d, 2).update(byteOffset=10, byteLength=-1),
         f"{_REGION}.byteLength: -1, below 0: a length is 0 or more"),
        (lambda d: _region(d, 2).update(charOffset="918"),
         f"{_REGION}.charOffset: expected an integer, got a string"),
        (lambda d: (d["runs"][0].update(artifacts=[{"location": {"uri": "x.py"},
                                                    "contents": {"binary": "not base64!"}}]),
                    [_region(d, 2).pop(k) for k in ("startLine", "endLine")],
                    _region(d, 2).update(charOffset=0),
                    d["runs"][0]["results"][2]["locations"][0]["physicalLocation"][
                        "artifactLocation"].update(index=0)),
         "runs[0].artifacts[0].contents.binary: not base64 (SARIF 3.3.3)"),
    ],
    ids=["line -5", "line 0", "end line -1", "column 0", "rule index -3", "a message of 2M",
         "char offset -2", "byte length -1", "offset as a string", "contents not base64"],
)
def test_values_outside_what_sarif_allows_are_bad_input_on_both_paths(
        tmp_path: Path, mutate: Any, message: str) -> None:
    """SARIF counts lines and columns from 1, indexes and offsets from -1 (none), lengths
    from 0, and gives binary contents in base64; a finding's text of megabytes is no
    finding's. Both paths name the same place."""
    doc = _real("3.16.1", "bandit")
    mutate(doc)
    assert str(_error(_write(tmp_path, "bandit.sarif", doc))) == f"bandit.sarif: {message}"
