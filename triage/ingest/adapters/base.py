"""The interface every producer adapter implements, and what it is given to read.

SARIF leaves room for each scanner to put its own facts in property bags and to bend the
defaults (bandit omits ``level`` for MEDIUM, semgrep writes a placeholder fingerprint,
flawfinder writes ``rank`` on a 0-1 scale). The reader does everything the spec defines;
an adapter adds what one producer means, one small module per producer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from triage.model import Finding


@dataclass(frozen=True, slots=True, eq=False)
class RawResult:
    """One SARIF result as the reader saw it, for an adapter to read (never to change)."""

    result: Mapping[str, Any]
    """The ``result`` object (SARIF 3.27)."""
    rule: Mapping[str, Any]
    """Its resolved ``reportingDescriptor`` (SARIF 3.49), or an empty mapping."""
    rule_known: bool
    """True when the rule was found in the driver's or an extension's ``rules``."""
    props: Mapping[str, Any]
    """The result's property bag (SARIF 3.8), or an empty mapping."""
    rule_props: Mapping[str, Any]
    """The rule's property bag, or an empty mapping."""


class ProducerAdapter(Protocol):
    """What one producer's SARIF means beyond the spec, chosen from ``tool.driver.name``."""

    name: str
    """Registry key; also the ``Tool.name`` of the producer's findings."""

    def claims(self, driver_name: str) -> bool:
        """True when this adapter reads logs whose ``tool.driver.name`` is ``driver_name``."""
        ...

    def tool_name(self, driver_name: str) -> str:
        """The normalised tool name findings carry (``Semgrep OSS`` → ``semgrep``)."""
        ...

    def adapt(self, finding: Finding, raw: RawResult) -> Finding:
        """Return the finding with this producer's own severity, confidence, rank, etc."""
        ...

    def parse_failure(self, finding: Finding, raw: RawResult) -> bool:
        """True when the result reports that the tool could not parse its file."""
        ...


def upper_word(value: Any) -> str:
    """A property value as an upper-case word, or ``""`` when it is not a string."""
    return value.strip().upper() if isinstance(value, str) else ""
