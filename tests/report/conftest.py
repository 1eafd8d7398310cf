"""Fixtures of the report tests: the demo reports, built once with a fixed clock and version."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, replace

import pytest
from triage_testkit import PRODUCT, THREAT_MODEL

from triage import pipeline
from triage.model import IssueRow, ReleaseReport, TrendReport
from triage.scoring import load_rules
from triage.store import open_store

CLOCK = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC)
"""The injected clock of every golden report."""
VERSION = "0.0.0+golden"
"""The triage version written into golden reports."""
LATEST = "3.16.1"


@dataclass(frozen=True)
class DemoReports:
    """The demo data's reports, deterministic by construction."""

    release: ReleaseReport
    """Release report of the latest release at the model's SL."""
    big: ReleaseReport
    """Release report of 3.3.0, the release with the most findings."""
    trend: TrendReport
    """Trend across the eight releases, with the threat model's high-risk components."""
    diff: list[IssueRow]
    """Diff of the last two releases."""


@pytest.fixture(scope="session")
def demo_context(corpus_db: str) -> Iterator[pipeline.Context]:
    """A pipeline context on the session corpus with the fixed clock."""
    ctx = pipeline.Context(store=open_store(corpus_db), rules=load_rules(None),
                           clock=lambda: CLOCK)
    yield ctx
    ctx.store.close()


@pytest.fixture(scope="session")
def demo(demo_context: pipeline.Context) -> DemoReports:
    """The demo reports, with the golden version string."""
    ctx = demo_context
    return DemoReports(
        release=replace(pipeline.release_report(ctx, PRODUCT, LATEST), tool_version=VERSION),
        big=replace(pipeline.release_report(ctx, PRODUCT, "3.3.0"), tool_version=VERSION),
        trend=replace(pipeline.trend(ctx, PRODUCT, threat_model=THREAT_MODEL),
                      tool_version=VERSION),
        diff=pipeline.diff(ctx, PRODUCT, "3.9.2", LATEST),
    )
