"""The ingest progress bar: the library reports numbers, the CLI draws them on a terminal only."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from triage_testkit import REPO, ingest, invoke, release_logs

from triage import cli as cli_module
from triage import pipeline
from triage.ingest import sarif as sarif_module
from triage.ingest import stream as stream_module
from triage.ingest.stream import stream_threshold
from triage.scoring import load_rules
from triage.store import open_store


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


def _streamed_progress(db_url: str, logs: list[Path], monkeypatch, every: int) -> list[int]:
    """Ingest ``logs`` streamed; the progress reported, each a total of twice their size."""
    monkeypatch.setenv("TRIAGE_STREAM_BYTES", "0")
    assert stream_threshold() == 0
    monkeypatch.setattr(sarif_module, "PROGRESS_EVERY", every)
    monkeypatch.setattr(stream_module, "CHUNK_FINDINGS", 100)
    calls: list[tuple[int, int]] = []
    ctx = pipeline.Context(open_store(db_url), load_rules())
    try:
        pipeline.ingest(ctx, logs, "p", "1", progress=lambda d, t: calls.append((d, t)))
    finally:
        ctx.store.close()
    total = sum(p.stat().st_size for p in logs)
    assert {t for _, t in calls} == {2 * total}
    dones = [d for d, _ in calls]
    assert dones == sorted(dones)  # never backwards
    assert dones[-1] == 2 * total
    return dones


def test_streamed_ingest_reports_reading_then_storing(db_url: str, monkeypatch) -> None:
    """A streamed ingest reads in the first half of the bar and stores in the second."""
    logs = [Path(p) for p in release_logs("3.3.0", ("bandit", "ruff"))]
    dones = _streamed_progress(db_url, logs, monkeypatch, 50)
    total = sum(p.stat().st_size for p in logs)
    assert any(d < total for d in dones) and any(total < d < 2 * total for d in dones)


def test_one_streamed_log_reports_reading_and_storing_together(db_url: str,
                                                               monkeypatch) -> None:
    """One large log is read and stored in one go: one bar, by bytes, never backwards."""
    logs = [Path(p) for p in release_logs("3.3.0", ("bandit",))]
    assert len(_streamed_progress(db_url, logs, monkeypatch, 50)) > 5


def test_a_log_read_again_through_the_spool_never_takes_the_bar_back(
        db_url: str, monkeypatch) -> None:
    """A log that lists a file's results apart is read directly, then spooled."""
    log = REPO / "tests" / "data" / "sarif" / "vulnerable-node__codeql-results.sarif"
    assert _streamed_progress(db_url, [log], monkeypatch, 2)
