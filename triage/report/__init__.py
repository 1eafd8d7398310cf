"""Report formats: a registry of pure ``render(report) -> str`` functions, keyed by name.

Each format renders a ``ReleaseReport``, a ``TrendReport`` and a diff (a list of
``IssueRow``); a format that cannot render a kind of report says so with a ``ConfigError``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from triage.errors import BadInputError
from triage.report import csv_format, html, json_format, junit, markdown, sarif_format, table

Renderer = Callable[[Any], str]

FORMATS: dict[str, Renderer] = {
    "csv": csv_format.render,
    "html": html.render,
    "json": json_format.render,
    "junit": junit.render,
    "md": markdown.render,
    "sarif": sarif_format.render,
    "table": table.render,
}
"""Format name → renderer."""

RELEASE_ONLY = frozenset({"junit", "sarif"})
"""Formats that render release reports only (test cases and results need findings)."""


def render(fmt: str, report: Any) -> str:
    """Render ``report`` in format ``fmt``."""
    try:
        renderer = FORMATS[fmt]
    except KeyError as e:
        raise BadInputError(f"unknown format {fmt!r}; known: {', '.join(sorted(FORMATS))}") from e
    return renderer(report)


def render_for_terminal(fmt: str, report: Any, color: bool) -> str:
    """Render for stdout: the table format in colour when stdout is a colour terminal."""
    if fmt == "table" and color:
        return table.render(report, color=True)
    return render(fmt, report)


__all__ = ["FORMATS", "RELEASE_ONLY", "render", "render_for_terminal"]
