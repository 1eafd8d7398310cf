"""semgrep: no result level, a placeholder fingerprint, confidence as a free-text tag.

semgrep OSS 1.185 calls itself ``Semgrep OSS`` (other editions ``Semgrep PRO``...), leaves
``level`` to the rule's ``defaultConfiguration`` (the reader's SARIF 3.27.10 chain), writes
``fingerprints`` ``{"matchBasedId/v1": "requires login"}`` for every result, and tags rules
``"LOW CONFIDENCE"``, ``"MEDIUM CONFIDENCE"`` or ``"HIGH CONFIDENCE"``.
"""

from __future__ import annotations

import re

from triage.ingest.adapters.base import RawResult, changed
from triage.ingest.adapters.generic import GenericAdapter
from triage.model import Finding

_CONFIDENCE_TAG = re.compile(r"^\s*(LOW|MEDIUM|HIGH)\s+CONFIDENCE\s*$", re.IGNORECASE)
_PLACEHOLDER = "requires login"


class SemgrepAdapter(GenericAdapter):
    """Confidence from the rule's tags; the login placeholder is no identity."""

    name = "semgrep"

    def claims(self, driver_name: str) -> bool:
        """Every semgrep edition (``Semgrep OSS``, ``Semgrep PRO``, ``semgrep``)."""
        return driver_name.strip().lower().startswith("semgrep")

    def tool_name(self, driver_name: str) -> str:
        """One name for every edition, so their scans compare."""
        return "semgrep"

    def adapt(self, finding: Finding, raw: RawResult) -> Finding:
        """Set the confidence from the tags and drop the placeholder fingerprint."""
        confidence = ""
        for tag in finding.tags:
            m = _CONFIDENCE_TAG.match(tag)
            if m:
                confidence = m[1].upper()
                break
        fingerprints = tuple(
            fp for fp in finding.tool_fingerprints if fp[1].strip().lower() != _PLACEHOLDER
        )
        return changed(finding, native_confidence=confidence, tool_fingerprints=fingerprints)
