"""Report formats: a registry of pure ``render(report) -> str`` functions, keyed by name.

Each format renders a ``ReleaseReport``, a ``TrendReport`` and a diff (a list of
``IssueRow``); a format that cannot render a kind of report says so with a ``ConfigError``.

A format's module (and what it needs: jinja2, rich, sarif-om) is imported the first time the
format renders, so commands that render nothing, like ``triage ingest``, never load them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from triage.errors import BadInputError

Renderer = Callable[[Any], str]


def _deferred(module: str) -> Renderer:
    """The ``render`` function of ``triage.report.<module>``, imported on the first call."""

    def render_format(report: Any) -> str:
        renderer: Renderer = importlib.import_module(f"{__name__}.{module}").render
        return renderer(report)

    return render_format


FORMATS: dict[str, Renderer] = {
    "csv": _deferred("csv_format"),
    "html": _deferred("html"),
    "json": _deferred("json_format"),
    "junit": _deferred("junit"),
    "md": _deferred("markdown"),
    "sarif": _deferred("sarif_format"),
    "table": _deferred("table"),
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
        from triage.report import table

        return table.render(report, color=True)
    return render(fmt, report)


__all__ = ["FORMATS", "RELEASE_ONLY", "render", "render_for_terminal"]
