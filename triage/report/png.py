"""The trend's four charts as PNG files, drawn with matplotlib's Agg renderer.

The same charts as the HTML trend report's inline SVG (``html.trend_charts``): the same
names, titles, series, colours and y scale, with the values taken from ``series.shape``.
One file per chart, named after the chart (``must-fix-per-sl.png``, ``burn-down.png``,
``new-vs-fixed.png``, ``clean-share.png``), 900×450 pixels. The bytes depend only on the
data and the matplotlib build: no timestamp and no software tag in the file, a fixed size
and resolution, matplotlib's default style whatever the user's ``matplotlibrc`` says.

matplotlib is imported inside the functions: it takes a while to load, and only the PNG
export needs it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from triage.files import write_atomic
from triage.model import TrendReport
from triage.report import series
from triage.report.charts import PALETTE
from triage.report.charts import _nice_max as nice_max

WIDTH_IN, HEIGHT_IN, DPI = 9.0, 4.5, 100
"""Figure size in inches and resolution: 900×450 pixels."""

_INK, _GRID = "#444444", "#e5e5e5"
"""Tick and legend text, and grid lines, as in the SVG charts' style."""


@dataclass(frozen=True, slots=True)
class Chart:
    """One trend chart, independent of how it is drawn."""

    name: str
    """File stem; the SVG chart's ``data-chart``."""
    kind: str
    """``line`` or ``bar``."""
    title: str
    """Title above the plot."""
    labels: tuple[str, ...]
    """Releases along the x axis."""
    series: tuple[tuple[str, tuple[float, ...]], ...]
    """(legend label, one value per release), in palette order."""
    dashed: tuple[str, ...] = ()
    """Series drawn dashed (line charts)."""


def trend_chart_list(t: TrendReport, s: series.TrendSeries) -> tuple[Chart, ...]:
    """The trend's charts: must-fix per SL, burn-down, new vs fixed, clean share."""
    labels = s.releases
    return (
        Chart("must-fix-per-sl", "line", "Open must-fix per SL", labels,
              tuple((f"must-fix {sl.label}", tuple(map(float, v))) for sl, v in s.must_fix)),
        Chart("burn-down", "line", f"Burn-down of the must-fix backlog at {t.sl.label}", labels,
              (("open", tuple(map(float, s.backlog))),
               ("entered (cumulative)", tuple(map(float, s.cumulative_opened))),
               ("left (cumulative)", tuple(map(float, s.cumulative_closed)))),
              dashed=("entered (cumulative)", "left (cumulative)")),
        Chart("new-vs-fixed", "bar", "New versus fixed issues per release", labels,
              (("new", tuple(map(float, s.new))), ("fixed", tuple(map(float, s.fixed))))),
        Chart("clean-share", "line",
              f"High-risk components with no must-fix at {t.sl.label} (%)", labels,
              (("clean share %", tuple(v or 0.0 for v in s.clean_share)),)),
    )


def _draw(chart: Chart) -> bytes:
    """One chart as PNG bytes."""
    import matplotlib.style
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FixedLocator, FuncFormatter

    # matplotlib's defaults, whatever a matplotlibrc or the caller's rcParams say.
    with matplotlib.style.context("default"):
        fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
        FigureCanvasAgg(fig)
        fig.subplots_adjust(left=0.07, right=0.985, top=0.89, bottom=0.2)
        ax = fig.add_subplot()
        n = len(chart.labels)
        top = nice_max(max((v for _, values in chart.series for v in values), default=0))
        if chart.kind == "bar":
            width = 0.8 / max(len(chart.series), 1)
            for i, (label, values) in enumerate(chart.series):
                ax.bar([j - 0.4 + width * i for j in range(len(values))], values, width=width,
                       align="edge", color=PALETTE[i % len(PALETTE)], label=label, zorder=2)
        else:
            for i, (label, values) in enumerate(chart.series):
                # The first series on top, as in the SVG chart.
                ax.plot(range(len(values)), values, color=PALETTE[i % len(PALETTE)],
                        linewidth=2, marker="o", markersize=5, label=label,
                        linestyle=(0, (6, 4)) if label in chart.dashed else "-",
                        zorder=3 + len(chart.series) - i, clip_on=False)
        ax.set_title(chart.title, loc="left", fontsize=14, fontweight="bold", pad=10)
        ax.set_xlim(-0.5, max(n, 1) - 0.5)
        ax.set_ylim(0, top)
        ax.xaxis.set_major_locator(FixedLocator(list(range(n))))
        ax.set_xticklabels(chart.labels, rotation=30 if n > 10 else 0,
                           ha="right" if n > 10 else "center")
        ax.yaxis.set_major_locator(FixedLocator([top * i / 4 for i in range(5)]))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.tick_params(labelsize=11, colors=_INK, length=0)
        ax.grid(axis="y", color=_GRID, linewidth=1, zorder=0)
        ax.set_axisbelow(True)
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
        ax.spines["bottom"].set_color(_GRID)
        ax.legend(loc="upper left", bbox_to_anchor=(0, -0.09 if n <= 10 else -0.17),
                  ncol=max(len(chart.series), 1), frameon=False, fontsize=11,
                  labelcolor=_INK, handlelength=2.6)
        out = io.BytesIO()
        fig.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()


def render_trend_charts(report: TrendReport) -> list[tuple[str, bytes]]:
    """The trend's charts as (file name, PNG bytes), in the HTML report's order."""
    s = series.shape(report)
    return [(f"{c.name}.png", _draw(c)) for c in trend_chart_list(report, s)]


def write_trend_charts(report: TrendReport, directory: Path) -> list[Path]:
    """Write the trend's charts as PNG files into ``directory`` (created if missing).

    Every chart is drawn before any file is written, and each file is replaced atomically.
    Raises ``OSError`` when the directory cannot be created or written.
    """
    drawn = render_trend_charts(report)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in drawn:
        path = directory / name
        write_atomic(path, data)
        paths.append(path)
    return paths


__all__ = ["Chart", "render_trend_charts", "trend_chart_list", "write_trend_charts"]
