"""Producer adapters: one small module per scanner behind ``ProducerAdapter``.

``adapter_for`` picks the adapter from ``tool.driver.name``; a producer nobody claims gets
the generic adapter, which applies the SARIF spec alone.
"""

from __future__ import annotations

from triage.ingest.adapters.bandit import BanditAdapter
from triage.ingest.adapters.base import ProducerAdapter, RawResult
from triage.ingest.adapters.clang import ClangAdapter
from triage.ingest.adapters.codeql import CodeQLAdapter
from triage.ingest.adapters.flawfinder import FlawfinderAdapter
from triage.ingest.adapters.generic import GenericAdapter
from triage.ingest.adapters.ruff import RuffAdapter
from triage.ingest.adapters.semgrep import SemgrepAdapter

GENERIC: ProducerAdapter = GenericAdapter()
"""The fallback for every producer without an adapter of its own."""

ADAPTERS: dict[str, ProducerAdapter] = {
    a.name: a
    for a in (
        BanditAdapter(), RuffAdapter(), SemgrepAdapter(), CodeQLAdapter(), FlawfinderAdapter(),
        ClangAdapter(), GENERIC,
    )
}
"""Every adapter by name, the generic one last."""


def adapter_for(driver_name: str) -> ProducerAdapter:
    """The adapter that claims ``driver_name``, else the generic one."""
    for adapter in ADAPTERS.values():
        if adapter.claims(driver_name):
            return adapter
    return GENERIC


__all__ = ["ADAPTERS", "GENERIC", "ProducerAdapter", "RawResult", "adapter_for"]
