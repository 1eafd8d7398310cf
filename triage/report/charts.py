"""Hand-made inline SVG charts for the HTML reports: no network, no script, every label escaped.

Two shapes cover the trend: a line chart (several series over the releases) and a grouped bar
chart (new versus fixed). Each returns an ``<svg>`` element as text, sized by a ``viewBox`` so
it scales with the page.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 34, 46
PALETTE = ("#b2182b", "#ef8a62", "#2166ac", "#67a9cf", "#1b7837", "#762a83")
"""Series colours, in order (colour-blind-safe diverging pairs)."""


def _nice_max(value: float) -> float:
    """The smallest 1-2-5 step multiple at or above ``value`` (at least 1)."""
    if value <= 1:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return float(step * magnitude)
    return float(10 * magnitude)


def _frame(title: str, labels: Sequence[str], top: float, name: str,
           series: Sequence[str]) -> tuple[list[str], float]:
    """The chart's frame: title, grid, y ticks, x labels and legend; returns (parts, step)."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(labels), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="{escape(name)}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="{LEFT}" y="16" class="chart-title">{escape(title)}</text>',
    ]
    for i in range(5):
        value = top * i / 4
        y = TOP + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                     'class="grid"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">'
                     f"{value:g}</text>")
    for i, label in enumerate(labels):
        x = LEFT + step * (i + 0.5)
        parts.append(f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
                     f'class="tick">{escape(label)}</text>')
    x = LEFT
    for i, s in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        parts.append(f'<rect x="{x}" y="{HEIGHT - 18}" width="10" height="10" '
                     f'fill="{colour}"/>')
        parts.append(f'<text x="{x + 14}" y="{HEIGHT - 9}" class="legend">{escape(s)}</text>')
        x += 24 + 7 * len(s)
    return parts, step


def line_chart(title: str, labels: Sequence[str],
               series: Sequence[tuple[str, Sequence[float]]], name: str,
               dashed: Sequence[str] = ()) -> str:
    """A line chart of several series over ``labels``; points carry their value as a title.

    The first series is drawn last, on top; series named in ``dashed`` are drawn dashed.
    """
    top = _nice_max(max((v for _, values in series for v in values), default=0))
    parts, step = _frame(title, labels, top, name, [n for n, _ in series])
    plot_h = HEIGHT - TOP - BOTTOM
    for i, (label, values) in reversed(list(enumerate(series))):
        colour = PALETTE[i % len(PALETTE)]
        dash = ' stroke-dasharray="6 4"' if label in dashed else ""
        points = [(LEFT + step * (j + 0.5), TOP + plot_h - plot_h * v / top)
                  for j, v in enumerate(values)]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline class="series" data-series="{escape(label)}" fill="none" '
                     f'stroke="{colour}" stroke-width="2"{dash} points="{path}"/>')
        for (x, y), v, rel in zip(points, values, labels, strict=False):
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}">'
                         f"<title>{escape(label)} {escape(rel)}: {v:g}</title></circle>")
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(title: str, labels: Sequence[str],
              series: Sequence[tuple[str, Sequence[float]]], name: str) -> str:
    """A grouped bar chart: one group per label, one bar per series."""
    top = _nice_max(max((v for _, values in series for v in values), default=0))
    parts, step = _frame(title, labels, top, name, [n for n, _ in series])
    plot_h = HEIGHT - TOP - BOTTOM
    width = step * 0.8 / max(len(series), 1)
    for i, (label, values) in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        for j, (v, rel) in enumerate(zip(values, labels, strict=False)):
            h = plot_h * v / top
            x = LEFT + step * (j + 0.1) + width * i
            parts.append(f'<rect class="bar" data-series="{escape(label)}" x="{x:.1f}" '
                         f'y="{TOP + plot_h - h:.1f}" width="{width:.1f}" height="{h:.1f}" '
                         f'fill="{colour}"><title>{escape(label)} {escape(rel)}: {v:g}</title>'
                         "</rect>")
    parts.append("</svg>")
    return "".join(parts)
