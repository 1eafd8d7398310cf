"""Regions given by offsets alone (SARIF 3.30.2): lines, column and snippet counted out in
the artifact's contents in the log, or in the file under the source root, on both paths.

The SDK's samples give each region twice, by lines and by ``charOffset``/``charLength``, and
carry the file's text in ``run.artifacts[].contents``: with the lines taken out, the offsets
must lead back to the very lines the producer wrote.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from triage.errors import BadInputError
from triage.ingest.paths import PathNormaliser
from triage.ingest.reader import MAX_TEXT
from triage.ingest.regions import TEXTS_KEPT
from triage.ingest.sarif import read_sarif
from triage.ingest.stream import Spool, stream_sarif
from triage.model import Finding

DATA = Path(__file__).resolve().parents[1] / "data" / "sarif"
SAMPLES = ("sarif-sdk__GroupingSample.sarif", "sarif-sdk__CweGhasSample.sarif")
LINE_MEMBERS = ("startLine", "endLine", "startColumn", "endColumn", "snippet")


def _both_ways(log: Path, root: Path | None = None) -> tuple[list[Finding], list[Finding]]:
    """The log's findings read whole, and streamed."""
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    (whole,) = read_sarif([log], PathNormaliser(root), now=now)
    spool = Spool()
    try:
        (streamed,) = stream_sarif([log], PathNormaliser(root), now, spool)
        return whole.findings, [f for chunk in streamed.chunks() for f in chunk]
    finally:
        spool.close()


def _regions(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [r["locations"][0]["physicalLocation"]["region"]
            for run in doc["runs"] for r in run["results"]]


def _without_lines(name: str) -> dict[str, Any]:
    doc = json.loads((DATA / name).read_text(encoding="utf-8"))
    for region in _regions(doc):
        for member in LINE_MEMBERS:
            region.pop(member)
    return doc


def _write(tmp_path: Path, name: str, doc: dict[str, Any]) -> Path:
    log = tmp_path / name
    log.write_text(json.dumps(doc), encoding="utf-8")
    return log


def _where(findings: list[Finding]) -> list[tuple[str, int | None, int | None, int | None]]:
    return [(f.location.path, f.location.start_line, f.location.end_line,
             f.location.start_column) for f in findings]


@pytest.mark.parametrize("name", SAMPLES)
def test_char_offsets_lead_to_the_lines_the_producer_wrote(tmp_path: Path, name: str) -> None:
    (given,) = read_sarif([DATA / name], PathNormaliser())
    whole, streamed = _both_ways(_write(tmp_path, name, _without_lines(name)))
    assert _where(whole) == _where(streamed) == _where(given.findings)
    assert all(line is not None for _, line, _, _ in _where(whole))
    for found, producer in zip(whole, given.findings, strict=True):
        # The producer's snippet is the region itself; ours is its whole lines.
        assert producer.location.snippet.strip() in found.location.snippet
        assert "\n" not in found.location.snippet  # every region here is on one line
    assert [f.location.snippet for f in streamed] == [f.location.snippet for f in whole]


@pytest.mark.parametrize("encode", [base64.b64encode, base64.encodebytes],
                         ids=["base64", "MIME base64 in lines of 76"])
@pytest.mark.parametrize("name", SAMPLES)
def test_byte_offsets_and_base64_contents_lead_to_the_same_lines(
        tmp_path: Path, name: str, encode: Any) -> None:
    (given,) = read_sarif([DATA / name], PathNormaliser())
    doc = _without_lines(name)
    for run in doc["runs"]:
        texts = [a["contents"]["text"] for a in run["artifacts"]]
        for artifact in run["artifacts"]:
            text = artifact["contents"].pop("text").encode("utf-8")
            artifact["contents"]["binary"] = encode(text).decode("ascii")
        for result in run["results"]:
            location = result["locations"][0]["physicalLocation"]
            region, text = location["region"], texts[location["artifactLocation"]["index"]]
            start = region.pop("charOffset")
            end = start + region.pop("charLength")
            region["byteOffset"] = len(text[:start].encode("utf-8"))
            region["byteLength"] = len(text[start:end].encode("utf-8"))
    whole, streamed = _both_ways(_write(tmp_path, name, doc))
    assert _where(whole) == _where(streamed) == _where(given.findings)


def test_offsets_count_in_the_file_under_the_source_root(tmp_path: Path) -> None:
    # Without contents in the log, and without an artifact index: the file on disk.
    name = "sarif-sdk__GroupingSample.sarif"
    (given,) = read_sarif([DATA / name], PathNormaliser())
    doc = _without_lines(name)
    root = tmp_path / "checkout"
    for run in doc["runs"]:
        texts = []
        for artifact in run["artifacts"]:
            source = root / artifact["location"]["uri"]
            source.parent.mkdir(parents=True, exist_ok=True)
            texts.append(artifact.pop("contents")["text"])
            # Written with CR LF line ends, which end one line each, as LF does.
            source.write_bytes(texts[-1].replace("\n", "\r\n").encode())
        for result in run["results"]:
            location = result["locations"][0]["physicalLocation"]
            text = texts[location["artifactLocation"].pop("index")]
            region = location["region"]
            start, end = region["charOffset"], region["charOffset"] + region["charLength"]
            region["charOffset"] += text[:start].count("\n")
            region["charLength"] += text[start:end].count("\n")
        run["originalUriBaseIds"] = {"SRCROOT": {"uri": root.as_uri() + "/"}}
    log = _write(tmp_path, name, doc)
    whole, streamed = _both_ways(log, root)
    assert _where(whole) == _where(streamed) == _where(given.findings)
    # No source root, no contents: the findings are kept, without a line.
    whole, streamed = _both_ways(log)
    assert [w[1:] for w in _where(whole)] == [(None, None, None)] * len(given.findings)
    assert len(streamed) == len(given.findings)


def test_an_offset_past_the_end_of_the_text_keeps_the_finding_without_a_line(
        tmp_path: Path) -> None:
    name = "sarif-sdk__CweGhasSample.sarif"
    doc = _without_lines(name)
    _regions(doc)[0]["charOffset"] = 10**6
    whole, streamed = _both_ways(_write(tmp_path, name, doc))
    assert _where(whole) == _where(streamed)
    assert whole[0].location.start_line is None
    assert [f.location.start_line for f in whole[1:]] == [22, 26, 30, 34, 39, 44]


def test_lines_end_at_the_runs_newline_sequences(tmp_path: Path) -> None:
    # SARIF 3.14.16: CR LF and LF unless the run names its own; a bare CR is none of them.
    name = "sarif-sdk__CweGhasSample.sarif"
    (given,) = read_sarif([DATA / name], PathNormaliser())
    doc = _without_lines(name)
    contents = doc["runs"][0]["artifacts"][0]["contents"]
    contents["text"] = contents["text"].replace("\n", "\r")  # the offsets stay as they are
    whole, streamed = _both_ways(_write(tmp_path, name, doc))
    assert [w[1:3] for w in _where(whole)] == [(1, 1)] * len(given.findings)
    assert _where(streamed) == _where(whole)
    doc["runs"][0]["newlineSequences"] = ["\r"]
    whole, streamed = _both_ways(_write(tmp_path, name, doc))
    assert _where(whole) == _where(streamed) == _where(given.findings)


@pytest.mark.parametrize(("kind", "offset", "column"),
                         [("utf16CodeUnits", 10, 6), ("unicodeCodePoints", 8, 5)])
def test_offsets_and_columns_count_in_the_runs_column_kind(
        tmp_path: Path, kind: str, offset: int, column: int) -> None:
    # SARIF 3.14.17: a character beyond U+FFFF is two UTF-16 code units, one code point.
    name = "sarif-sdk__CweGhasSample.sarif"
    doc = _without_lines(name)
    run = doc["runs"][0]
    run["columnKind"] = kind
    run["artifacts"][0]["contents"]["text"] = "a\U0001f600b\nc\U0001f600d = 1\n"
    # Line 2 starts at code point 4 (unit 5); its "= 1" at code point 8 (unit 10).
    _regions(doc)[0].update(charOffset=offset, charLength=3)
    whole, streamed = _both_ways(_write(tmp_path, name, doc))
    assert _where(whole)[0][1:] == _where(streamed)[0][1:] == (2, 2, column)
    assert whole[0].location.snippet == "c\U0001f600d = 1"


def test_a_long_source_line_is_cut_to_the_longest_text_not_refused(tmp_path: Path) -> None:
    # A minified file: one line of 1.6 million characters, read because the log shows none.
    root = tmp_path / "checkout"
    (root / "web").mkdir(parents=True)
    (root / "web" / "app.min.js").write_text("var a=1;" * 200_000 + "\n", encoding="utf-8")
    doc = json.loads((DATA.parent.parent.parent / "sample_sarif" / "pymodbus" / "3.16.1" /
                      "bandit.sarif").read_text(encoding="utf-8"))
    location = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    location["artifactLocation"]["uri"] = "web/app.min.js"
    location["region"] = {"startLine": 1}
    whole, streamed = _both_ways(_write(tmp_path, "bandit.sarif", doc), root)
    assert len(whole[0].location.snippet) == len(streamed[0].location.snippet) == MAX_TEXT
    assert whole[0].location.snippet == streamed[0].location.snippet


def test_a_run_keeps_few_source_texts_at_hand(tmp_path: Path) -> None:
    # Thirty files of 1 MB under the source root, each named by offsets alone: at most
    # ``TEXTS_KEPT`` of their texts are held at once, not all thirty.
    name = "sarif-sdk__CweGhasSample.sarif"
    doc = _without_lines(name)
    run = doc["runs"][0]
    template = run["results"][0]
    run["artifacts"], run["results"] = [], []
    root = tmp_path / "checkout"
    root.mkdir()
    line = "x = 1  # " + "y" * 40 + "\n"
    for i in range(30):
        (root / f"m{i}.txt").write_text(line * 20_000, encoding="utf-8")
        result = json.loads(json.dumps(template))
        location = result["locations"][0]["physicalLocation"]
        location["artifactLocation"] = {"uri": f"m{i}.txt"}
        location["region"] = {"charOffset": len(line) * (i + 5), "charLength": 5}
        run["results"].append(result)
    del run["originalUriBaseIds"]
    log = _write(tmp_path, name, doc)
    tracemalloc.start()
    try:
        (scan,) = read_sarif([log], PathNormaliser(root))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [f.location.start_line for f in scan.findings] == [i + 6 for i in range(30)]
    one = len(line) * 20_000
    # Each text held is its bytes and its characters: all thirty would be 60 MB and more.
    assert TEXTS_KEPT <= 8
    assert peak < 15 * 2 * one, peak


def test_an_artifact_no_result_names_never_fails_the_log(tmp_path: Path) -> None:
    name = "sarif-sdk__GroupingSample.sarif"
    (given,) = read_sarif([DATA / name], PathNormaliser())
    doc = _without_lines(name)
    for run in doc["runs"]:
        run["artifacts"].insert(0, {"location": {"uri": "../../outside.ts"}})
        for result in run["results"]:
            del result["locations"][0]["physicalLocation"]["artifactLocation"]["index"]
    whole, streamed = _both_ways(_write(tmp_path, name, doc))
    assert _where(whole) == _where(streamed) == _where(given.findings)


@pytest.mark.parametrize(("encoding", "where"), [
    ({"encoding": "windows-1252"}, "artifact"),
    ({"defaultEncoding": "windows-1252"}, "run"),
    ({}, "none: UTF-8"),
    ({"encoding": "x-klingon-8"}, "none: a name Python does not know, UTF-8"),
    ({"defaultEncoding": "rot13"}, "none: a codec that is no character set, UTF-8"),
])
def test_offsets_count_in_the_artifacts_encoding(tmp_path: Path, encoding: dict[str, str],
                                                 where: str) -> None:
    # SARIF 3.24.9, 3.14.24: legacy sources are often Windows-1252, where "Ã©" is two
    # characters; read as UTF-8, its two bytes are one ("é") and every later offset is off.
    name = "sarif-sdk__CweGhasSample.sarif"
    doc = _without_lines(name)
    run = doc["runs"][0]
    root = tmp_path / "checkout"
    root.mkdir()
    (root / "io.c").write_bytes("/* Ã© */\nint gets_input(void);\n".encode("windows-1252"))
    del run["originalUriBaseIds"]
    run["artifacts"] = [{"location": {"uri": "io.c"}}]
    if "encoding" in encoding:
        run["artifacts"][0].update(encoding)
    else:
        run.update(encoding)
    location = run["results"][0]["locations"][0]["physicalLocation"]
    location["artifactLocation"] = {"uri": "io.c", "index": 0}
    location["region"] = {"charOffset": 13, "charLength": 10}  # "gets_input"
    whole, streamed = _both_ways(_write(tmp_path, name, doc), root)
    assert _where(whole)[0] == _where(streamed)[0]
    assert whole[0].location.snippet == "int gets_input(void);"
    assert whole[0].location.start_column == (6 if where.startswith("none") else 5)


def test_an_encoding_that_is_no_string_is_bad_input(tmp_path: Path) -> None:
    name = "sarif-sdk__CweGhasSample.sarif"
    doc = _without_lines(name)
    doc["runs"][0]["artifacts"][0]["encoding"] = 7
    with pytest.raises(BadInputError) as info:
        read_sarif([_write(tmp_path, name, doc)], PathNormaliser())
    assert str(info.value) == (f"{name}: runs[0].artifacts[0].encoding: expected a string, "
                               "got a number")
