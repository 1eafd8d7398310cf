"""ruff: every result is ``error``; a file it cannot parse comes out as a result.

ruff 0.17 reports syntax errors as results with ``ruleId`` ``invalid-syntax``, a rule that is
not in ``driver.rules``: a parse failure, not a security finding. The file was not analysed,
so its absent findings must never count as fixes (the scoring rules rate the result info).
"""

from __future__ import annotations

from triage.ingest.adapters.base import RawResult
from triage.ingest.adapters.generic import GenericAdapter
from triage.model import Finding

PARSE_FAILURE_RULE = "invalid-syntax"


class RuffAdapter(GenericAdapter):
    """ruff's ``invalid-syntax`` results mark their file as not analysed."""

    name = "ruff"
    names = ("ruff",)

    def parse_failure(self, finding: Finding, raw: RawResult) -> bool:
        """True for ``invalid-syntax`` when the log defines no such rule of its own."""
        return finding.rule_id == PARSE_FAILURE_RULE and not raw.rule_known
