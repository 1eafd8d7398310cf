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
from pathlib import Path
from typing import Any

import pytest

from triage.ingest.paths import PathNormaliser
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


@pytest.mark.parametrize("name", SAMPLES)
def test_byte_offsets_and_base64_contents_lead_to_the_same_lines(tmp_path: Path,
                                                                 name: str) -> None:
    (given,) = read_sarif([DATA / name], PathNormaliser())
    doc = _without_lines(name)
    for run in doc["runs"]:
        texts = [a["contents"]["text"] for a in run["artifacts"]]
        for artifact in run["artifacts"]:
            text = artifact["contents"].pop("text").encode("utf-8")
            artifact["contents"]["binary"] = base64.b64encode(text).decode("ascii")
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
