"""CodeQL: rules in ``tool.extensions``, ``precision`` and ``problem.severity`` per rule.

The reader resolves rules through ``rule.toolComponent`` (SARIF 3.52.7) and reads
``security-severity``; this adapter adds the query's own ratings from the rule's property bag:
``problem.severity`` (``error``, ``warning``, ``recommendation``) and ``precision``
(``very-high``, ``high``, ``medium``, ``low``).
"""

from __future__ import annotations

from triage.ingest.adapters.base import RawResult, changed, upper_word
from triage.ingest.adapters.generic import GenericAdapter
from triage.model import Finding

# The confidence scale the other producers use (HIGH / MEDIUM / LOW).
_PRECISION = {"VERY-HIGH": "HIGH", "HIGH": "HIGH", "MEDIUM": "MEDIUM", "LOW": "LOW"}


class CodeQLAdapter(GenericAdapter):
    """``problem.severity`` → native severity; ``precision`` → native confidence."""

    name = "codeql"

    def claims(self, driver_name: str) -> bool:
        """``CodeQL`` and ``CodeQL command-line toolchain``."""
        low = driver_name.strip().lower()
        return low == "codeql" or low.startswith("codeql ")

    def adapt(self, finding: Finding, raw: RawResult) -> Finding:
        """Copy the query's severity and precision (very-high counts as HIGH)."""
        return changed(
            finding,
            native_severity=upper_word(raw.rule_props.get("problem.severity")),
            native_confidence=_PRECISION.get(upper_word(raw.rule_props.get("precision")), ""),
        )
