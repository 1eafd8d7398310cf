"""The table format: colour codes only when asked for (a terminal), never cut values."""

from __future__ import annotations

import re

from triage.report import render, render_for_terminal
from triage.report import table as table_format

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def test_plain_table_has_no_colour_codes_and_keeps_whole_paths(demo) -> None:
    text = render("table", demo.release)
    assert not ANSI.search(text)
    for t in demo.release.must_fix:
        loc = f"{t.scored.finding.location.path}:{t.scored.finding.location.start_line}"
        assert loc in text and "…" not in text


def test_terminal_table_colours_severities_and_says_the_same(demo) -> None:
    coloured = render_for_terminal("table", demo.release, color=True)
    assert "\x1b[31mhigh" in coloured  # high severities in red
    assert ANSI.sub("", coloured) == table_format.render(demo.release)
    assert render_for_terminal("table", demo.release, color=False) == render("table", demo.release)
    assert render_for_terminal("md", demo.release, color=True) == render("md", demo.release)
