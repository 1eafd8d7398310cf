"""The adapter for every producer without one of its own: the spec's meaning only."""

from __future__ import annotations

from triage.ingest.adapters.base import RawResult
from triage.model import Finding


class GenericAdapter:
    """Reads nothing beyond SARIF; other adapters inherit its defaults."""

    name = "generic"
    names: tuple[str, ...] = ()
    """Lower-case driver names this adapter claims (none: the registry's fallback)."""

    def claims(self, driver_name: str) -> bool:
        """True for the driver names listed in ``names``."""
        return driver_name.strip().lower() in self.names

    def tool_name(self, driver_name: str) -> str:
        """The driver name, stripped and lower-cased."""
        return driver_name.strip().lower()

    def adapt(self, finding: Finding, raw: RawResult) -> Finding:
        """Unchanged: the reader already applied the spec."""
        return finding

    def parse_failure(self, finding: Finding, raw: RawResult) -> bool:
        """Generic producers report parse failures as notifications, not results."""
        return False
