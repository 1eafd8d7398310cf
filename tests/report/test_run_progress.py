"""``triage run``'s reading bar: drawn like ``ingest``'s, on a terminal only and never with -q."""

from __future__ import annotations

import pytest
from triage_testkit import PRODUCT, THREAT_MODEL, invoke, release_logs

from triage import cli as cli_module
from triage.pipeline import reports

BAR_MARKS = ("reading SARIF", "#", "%", "\r", "\x1b")
"""What a drawn click progress bar leaves in a stream: its label, fill, percentage, redraws."""


def _run(db: str, *extra: str):
    return invoke(*extra, "run", *release_logs("3.16.1"), "--product", PRODUCT,
                  "--release", "3.16.1", "--threat-model", THREAT_MODEL, db=db)


@pytest.mark.parametrize("quiet", [True, False], ids=["quiet", "not-a-terminal"])
def test_run_draws_no_bar_when_quiet_or_not_on_a_terminal(db_url: str, quiet: bool) -> None:
    res = _run(db_url, *(("-q",) if quiet else ()))
    assert res.exit_code == 1, res.stderr  # still works: 6 must-fix at the model's SL-2
    assert [line for line in res.stdout.splitlines() if line.startswith("must-fix ")]
    assert not [mark for mark in BAR_MARKS if mark in res.stderr], res.stderr
    if not quiet:
        assert "pymodbus 3.16.1: 6 must-fix at SL-2" in res.stderr


@pytest.mark.parametrize("quiet", [True, False])
def test_run_passes_the_bar_only_when_it_may_draw(db_url: str, monkeypatch,
                                                  quiet: bool) -> None:
    """As if on a terminal: ``run`` hands ingest a bar unless -q, and the bar sees the bytes."""
    seen: list[object] = []
    real = reports.ingest

    def spy(*args, **kw):
        seen.append(kw.get("progress"))
        return real(*args, **kw)

    monkeypatch.setattr(reports, "ingest", spy)  # what ``run`` calls
    monkeypatch.setattr(cli_module, "_reading_bar",
                        lambda obj: None if obj.get("quiet") else cli_module._ReadingBar())
    res = _run(db_url, *(("-q",) if quiet else ()))
    assert res.exit_code == 1, res.stderr
    (progress,) = seen
    if quiet:
        assert progress is None
        assert not [mark for mark in BAR_MARKS if mark in res.stderr], res.stderr
    else:
        assert isinstance(progress, cli_module._ReadingBar)
        assert progress.shown > 0
