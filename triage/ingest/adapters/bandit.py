"""bandit: severity and confidence as two axes in the result's property bag.

bandit 1.9 writes ``level`` ``note`` for LOW and ``error`` for HIGH, and **no level** for
MEDIUM; its own ratings are ``properties.issue_severity`` and ``issue_confidence``.
"""

from __future__ import annotations

from triage.ingest.adapters.base import RawResult, changed, upper_word
from triage.ingest.adapters.generic import GenericAdapter
from triage.model import Finding

_LEVEL = {"LOW": "note", "MEDIUM": "warning", "HIGH": "error"}


class BanditAdapter(GenericAdapter):
    """bandit's ``issue_severity`` / ``issue_confidence``; the level they imply when absent."""

    name = "bandit"
    names = ("bandit",)

    def adapt(self, finding: Finding, raw: RawResult) -> Finding:
        """Copy bandit's ratings; a result without ``level`` takes its severity's level."""
        severity = upper_word(raw.props.get("issue_severity"))
        level = finding.level
        if "level" not in raw.result and finding.kind == "fail" and severity in _LEVEL:
            # SARIF 3.27.10 would say "warning"; bandit leaves level out only for MEDIUM,
            # which is the same, but its own severity is the authority.
            level = _LEVEL[severity]
        return changed(
            finding,
            level=level,
            native_severity=severity,
            native_confidence=upper_word(raw.props.get("issue_confidence")),
        )
