"""The trend charts as PNG files: ``triage.report.png`` and ``triage trend --charts DIR``."""

from __future__ import annotations

import html as html_text
import os
import re
import stat
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image
from triage_testkit import PRODUCT, REPO, THREAT_MODEL, invoke

from triage import files
from triage.report import html, png, series
from triage.report.charts import PALETTE

SIGNATURE = b"\x89PNG\r\n\x1a\n"
NAMES = ["must-fix-per-sl.png", "burn-down.png", "new-vs-fixed.png", "clean-share.png"]


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _colours(path: Path) -> set[tuple[int, int, int]]:
    with Image.open(path) as img:
        assert img.format == "PNG"
        assert img.size == (900, 450)
        colours = img.convert("RGB").getcolors(maxcolors=900 * 450)
    assert colours is not None
    return {c for _, c in colours}


@pytest.fixture(scope="module")
def written(demo, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The demo trend's charts, written once into a directory that did not exist."""
    return png.write_trend_charts(demo.trend, tmp_path_factory.mktemp("png") / "a" / "charts")


def test_four_charts_are_written_as_pngs_of_the_expected_size(written: list[Path]) -> None:
    assert [p.name for p in written] == NAMES
    assert sorted(p.name for p in written[0].parent.iterdir()) == sorted(NAMES)  # no temporary
    umask = os.umask(0)
    os.umask(umask)
    for path in written:
        data = path.read_bytes()
        assert data.startswith(SIGNATURE), path.name
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
        colours = _colours(path)
        assert len(colours) > 20, path.name  # lines, text and anti-aliasing: not blank
        assert _rgb(PALETTE[0]) in colours, path.name  # the first series in the SVG's colour
    assert _rgb(PALETTE[1]) in _colours(written[2])  # new versus fixed: both bars


def test_the_files_carry_no_timestamp_and_repeat_byte_for_byte(
    demo, written: list[Path], tmp_path: Path
) -> None:
    again = png.write_trend_charts(demo.trend, tmp_path)
    for first, second in zip(written, again, strict=True):
        data = first.read_bytes()
        assert data == second.read_bytes(), first.name
        assert b"tIME" not in data and b"matplotlib" not in data


def test_charts_match_the_html_reports_svg_charts(demo) -> None:
    s = series.shape(demo.trend)
    charts = png.trend_chart_list(demo.trend, s)
    svgs = html.trend_charts(demo.trend, s)
    assert len(charts) == len(svgs) == 4
    for chart, svg in zip(charts, svgs, strict=True):
        assert f'data-chart="{chart.name}"' in svg
        titles = [html_text.unescape(t) for t in re.findall(r"<title>(.*?)</title>", svg)]
        assert titles[0] == chart.title
        # Every point or bar of the SVG names its series, release and value: the same data.
        expected = [f"{label} {rel}: {v:g}" for label, values in chart.series
                    for rel, v in zip(chart.labels, values, strict=True)]
        assert sorted(titles[1:]) == sorted(expected), chart.name
        assert chart.labels == tuple(p.release for p in demo.trend.points)


@pytest.mark.parametrize("releases", [0, 1], ids=["no-release", "one-release"])
def test_short_trends_still_draw_every_chart(demo, releases: int) -> None:
    trend = replace(demo.trend, points=demo.trend.points[:releases])
    drawn = png.render_trend_charts(trend)
    assert [name for name, _ in drawn] == NAMES
    assert all(data.startswith(SIGNATURE) for _, data in drawn)


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(
    demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "burn-down.png").write_bytes(b"old")

    def fail(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "replace", fail)
    with pytest.raises(OSError, match="No space left"):
        png.write_trend_charts(demo.trend, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["burn-down.png"]
    assert (tmp_path / "burn-down.png").read_bytes() == b"old"


def test_trend_charts_option_writes_the_pngs_beside_the_report(
    corpus_db: str, tmp_path: Path
) -> None:
    charts = tmp_path / "out" / "charts"
    res = invoke("trend", "--product", PRODUCT, "--format", "html", "--threat-model",
                 THREAT_MODEL, "-o", tmp_path / "trend.html", "--charts", charts, db=corpus_db)
    assert res.exit_code == 0, res.stderr
    assert res.stdout == ""
    assert 'data-chart="burn-down"' in (tmp_path / "trend.html").read_text(encoding="utf-8")
    assert sorted(p.name for p in charts.iterdir()) == sorted(NAMES)
    assert all((charts / n).read_bytes().startswith(SIGNATURE) for n in NAMES)
    assert f"wrote 4 trend charts (PNG) to {charts}" in res.stderr
    quiet = invoke("-q", "trend", "--product", PRODUCT, "--format", "json", "--charts", charts,
                   db=corpus_db)
    assert quiet.exit_code == 0, quiet.stderr
    assert quiet.stderr == "" and quiet.stdout.startswith("{")


def test_trend_charts_into_a_bad_directory_is_one_line_and_writes_nothing(
    corpus_db: str, tmp_path: Path
) -> None:
    (tmp_path / "file").write_text("not a directory\n", encoding="utf-8")
    target = tmp_path / "file" / "charts"
    res = invoke("trend", "--product", PRODUCT, "--format", "md", "-o", tmp_path / "trend.md",
                 "--charts", target, db=corpus_db)
    # As for -o: a place the output cannot go is a usage error.
    assert res.exit_code == 2, (res.stdout, res.stderr)
    assert res.stdout == "" and "Traceback" not in res.stderr
    errors = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {target}: cannot write the charts: Not a directory"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]  # not even the report


def test_the_cli_loads_matplotlib_only_for_charts() -> None:
    code = ("import sys, triage.cli, triage.report.png; "
            "sys.exit('matplotlib' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO).returncode == 0
