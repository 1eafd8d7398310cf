"""The standard library's scanner over a sliding window reads what ``json.loads`` reads.

The window here is a few dozen bytes, so values, numbers, escapes and multi-byte
characters fall across its edges; anything outside the plain case is refused with
``NotPlain`` (the outline then reads the log with ijson, whose errors name the place).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triage.errors import BadInputError
from triage.ingest import jsonscan, stream
from triage.ingest.jsonscan import MAX_DEPTH, NotPlain, Scanner
from triage.ingest.outline import outline, plain_results

REPO = Path(__file__).resolve().parents[2]
LOGS = sorted((REPO / "sample_sarif").glob("**/*.sarif")) + sorted(
    (REPO / "tests" / "data" / "sarif").glob("*.sarif"))


def _values(data: bytes, window: int) -> list[Any]:
    """The items of the array ``data`` holds, read through a window of ``window`` bytes."""
    return list(Scanner(io.BytesIO(data), window=window).items(0))


@pytest.mark.parametrize("log", LOGS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_real_logs_read_as_json_loads_reads_them(log: Path, monkeypatch: pytest.MonkeyPatch
                                                 ) -> None:
    """Outline and results, through a window of 61 bytes: what ``json.loads`` gives."""
    monkeypatch.setattr(jsonscan, "WINDOW", 61)
    doc = json.loads(log.read_bytes())
    found = outline(log, log.name)
    assert found.offsets is not None
    results = [[] for _ in doc["runs"]]  # type: list[list[Any]]
    for run, index, result in plain_results(log, log.name, found):
        assert index == len(results[run])
        results[run].append(result)
    assert results == [run.get("results") or [] for run in doc["runs"]]


_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=8) | st.sampled_from(
    ["é", "€", "😀", "\\", '"', "\u2028", "a\u0000b"])
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**80), 2**80)
    | st.floats(allow_nan=False, allow_infinity=False) | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(items=st.lists(_JSON, max_size=6), window=st.integers(1, 40),
       ascii_only=st.booleans(), indent=st.sampled_from([None, 1]))
def test_any_array_reads_as_json_loads_reads_it(items: list[Any], window: int,
                                                ascii_only: bool, indent: int | None) -> None:
    data = json.dumps(items, ensure_ascii=ascii_only, indent=indent).encode()
    assert _values(data, window) == json.loads(data)


def test_a_number_cut_by_the_window_is_read_whole() -> None:
    assert _values(b"[12345678901234567890, 1.5e10, -0.25]", 3) == [
        12345678901234567890, 1.5e10, -0.25]


def test_byte_offsets_count_multi_byte_characters() -> None:
    data = '{"tool": "Señal 😀", "results": [1, 2]}'.encode()
    scanner = Scanner(io.BytesIO(data), window=5)
    scanner.take("{")
    assert scanner.key() == "tool"
    assert scanner.value(1) == "Señal 😀"
    scanner.take(",")
    assert scanner.key() == "results"
    assert scanner.peek() == "["
    assert data[scanner.offset():].startswith(b"[1, 2]")


@pytest.mark.parametrize("data", [
    b"[NaN]", b"[Infinity]", b"[-Infinity]", b"[1e400]", b"[1, ]", b"[1 2]", b'["a',
    b'["\xff"]', b'["\xc3"]', b"[" + b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 2),
    b'["\x01"]',
], ids=["NaN", "Infinity", "-Infinity", "beyond a double", "trailing comma",
        "no comma", "cut", "not UTF-8", "cut character", "too deep", "control character"])
def test_anything_but_plain_json_is_refused(data: bytes) -> None:
    with pytest.raises(NotPlain):
        _values(data, 4)


def test_a_value_larger_than_the_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonscan, "MAX_VALUE", 100)
    assert _values(b'["' + b"a" * 90 + b'"]', 8) == ["a" * 90]
    with pytest.raises(NotPlain):
        _values(b'["' + b"a" * 300 + b'"]', 8)


def test_nesting_up_to_a_margin_below_the_limit_is_read() -> None:
    """The scanner refuses a little before ``MAX_DEPTH`` (the frames above it count), so the
    ijson outline, which keeps the limit exactly, decides near it."""
    deep = MAX_DEPTH - 20
    assert _values(b"[" + b"[" * deep + b"]" * deep + b"]", 16) == [
        json.loads("[" * deep + "]" * deep)]


@pytest.mark.parametrize("window", [1, 7, 64, 409, 4096])
def test_a_long_number_cut_by_the_window_is_read_whole(window: int) -> None:
    """A prefix of ``1000…0.0e-300`` alone overflows a double; cut there, it reads on."""
    data = b"[" + b"1" + b"0" * 400 + b".0e-300, 2]"
    assert _values(data, window) == json.loads(data)


@pytest.mark.parametrize("window", [3, 100, 10_000])
def test_an_integer_beyond_the_digit_limit_is_refused_not_raised(window: int) -> None:
    """Python refuses to turn more than 4300 digits into an int; that is not plain here
    (ijson then says what it makes of it), never a ValueError out of the scanner."""
    with pytest.raises(NotPlain):
        _values(b"[" + b"1" * 5000 + b"]", window)


@pytest.mark.parametrize("window", [8, 100, 999, 5000])
def test_the_size_limit_depends_on_the_value_not_on_the_window(
        window: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonscan, "MAX_VALUE", 1000)
    small, large = '"' + "a" * 900 + '"', '"' + "b" * 1566 + '"'
    assert _values(f"[1, {small}, 2]".encode(), window) == [1, "a" * 900, 2]
    with pytest.raises(NotPlain):
        _values(f"[1, {large}, 2]".encode(), window)


def test_a_log_with_a_huge_integer_is_refused_as_ijson_refuses_it(tmp_path: Path) -> None:
    doc = json.loads((REPO / "sample_sarif" / "pymodbus" / "3.16.1" / "bandit.sarif")
                     .read_bytes())
    text = json.dumps(doc).replace('"results": [', '"results": [' + "1" * 5000 + ", ", 1)
    log = tmp_path / "bandit.sarif"
    log.write_text(text)
    with pytest.raises(BadInputError) as plain:
        outline(log, log.name)
    jsonscan_off = pytest.MonkeyPatch()
    jsonscan_off.setattr(jsonscan, "WORKS", False)
    try:
        with pytest.raises(BadInputError) as ijson_only:
            outline(log, log.name)
    finally:
        jsonscan_off.undo()
    assert str(plain.value) == str(ijson_only.value)


@pytest.mark.parametrize("stop", [0, 3, 7])
def test_ijson_reads_on_where_the_scanner_stops(tmp_path: Path, stop: int,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Should the results pass's scanner stop (it never has on a log its outline read), ijson
    reads on from the next result: the same results, once each, in order; an integer beyond
    64 bits after the stop takes ijson's Python backend."""
    doc = json.loads((REPO / "sample_sarif" / "pymodbus" / "3.6.9" / "bandit.sarif")
                     .read_bytes())
    doc["runs"][0]["results"][5].setdefault("properties", {})["huge"] = 2**70
    log = tmp_path / "bandit.sarif"
    log.write_text(json.dumps(doc))
    found = outline(log, log.name)
    assert found.offsets is not None

    def stopping(*args: Any) -> Any:
        for i, item in enumerate(plain_results(*args)):
            if i == stop:
                raise NotPlain("stopped")
            yield item

    monkeypatch.setattr(stream, "plain_results", stopping)
    got = list(stream._results(log, log.name, found))  # noqa: SLF001 - the pass itself
    want = [(0, i, r) for i, r in enumerate(doc["runs"][0]["results"])]
    assert got == want
