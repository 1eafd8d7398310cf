"""The ingest progress bar: the library reports numbers, the CLI draws them on a terminal only."""

from __future__ import annotations

import io

import pytest
from triage_testkit import ingest, invoke, release_logs

from triage import cli as cli_module
from triage.ingest import sarif as sarif_module


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_no_bar_when_stderr_is_not_a_terminal(db_url: str, monkeypatch) -> None:
    monkeypatch.setattr(sarif_module, "PROGRESS_EVERY", 10)
    res = ingest(db_url, "3.3.0", ("bandit",))
    assert "reading SARIF" not in res.stderr
    assert res.stderr.startswith("pymodbus 3.3.0: ")


def test_bar_on_a_terminal_and_silent_with_quiet(monkeypatch) -> None:
    term = _Terminal()
    monkeypatch.setattr(cli_module.sys, "stderr", term)
    assert cli_module._reading_bar({"quiet": True}) is None
    bar = cli_module._reading_bar({"quiet": False})
    assert bar is not None
    for done in (0, 400, 1000):
        bar(done, 1000)
    bar.close()
    out = term.getvalue()
    assert "reading SARIF" in out and "100%" in out
    assert bar.shown == 1000


@pytest.mark.parametrize("quiet", [True, False])
def test_cli_ingest_passes_the_bar_only_when_it_may_draw(
    db_url: str, monkeypatch, quiet: bool
) -> None:
    """On a terminal, ``ingest`` hands the pipeline a bar unless -q; the bar sees the bytes."""
    seen: list[object] = []
    real = cli_module.pipeline.ingest

    def spy(*args, **kw):
        seen.append(kw.get("progress"))
        return real(*args, **kw)

    monkeypatch.setattr(cli_module.pipeline, "ingest", spy)
    monkeypatch.setattr(cli_module, "_reading_bar",
                        lambda obj: None if obj.get("quiet") else cli_module._ReadingBar())
    extra = ("-q",) if quiet else ()
    res = invoke(*extra, "ingest", *release_logs("3.16.1", ("bandit",)), "--product", "p",
                 "--release", "1", db=db_url)
    assert res.exit_code == 0, res.stderr
    (progress,) = seen
    if quiet:
        assert progress is None and res.stderr == ""
    else:
        assert isinstance(progress, cli_module._ReadingBar)
        assert progress.shown > 0
