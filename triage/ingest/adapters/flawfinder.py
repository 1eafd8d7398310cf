"""flawfinder: ``rank`` on a 0-1 scale, CWE through rule relationships.

flawfinder 2.0 writes ``rank`` = risk level x 0.2 (level 0..5 → 0.0..1.0), where SARIF
3.27.28 defines 0..100; its risk level is the tool's own severity. CWE ids come through the
rules' ``relationships`` to the CWE taxonomy, which the reader resolves (SARIF 3.49.15).
"""

from __future__ import annotations

from triage.ingest.adapters.base import RawResult, changed
from triage.ingest.adapters.generic import GenericAdapter
from triage.model import Finding


class FlawfinderAdapter(GenericAdapter):
    """Rescale ``rank`` to SARIF's 0-100 and name the risk level (``LEVEL 0`` .. ``LEVEL 5``)."""

    name = "flawfinder"
    names = ("flawfinder",)

    def adapt(self, finding: Finding, raw: RawResult) -> Finding:
        """Rank x 100; the risk level (rank x 5) as native severity."""
        if finding.rank is None or not 0.0 <= finding.rank <= 1.0:
            return finding
        return changed(
            finding,
            rank=round(finding.rank * 100.0, 6),
            native_severity=f"LEVEL {round(finding.rank * 5)}",
        )
