"""The interface every producer adapter implements, and what it is given to read.

SARIF leaves room for each scanner to put its own facts in property bags and to bend the
defaults (bandit omits ``level`` for MEDIUM, semgrep writes a placeholder fingerprint,
flawfinder writes ``rank`` on a 0-1 scale). The reader does everything the spec defines;
an adapter adds what one producer means, one small module per producer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from operator import attrgetter
from typing import Any, NamedTuple, Protocol

from triage.model import Finding


class RawResult(NamedTuple):
    """One SARIF result as the reader saw it, for an adapter to read (never to change).

    A named tuple: the reader builds one per result, and a tuple costs less than half as
    much to build as a frozen dataclass.
    """

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


_FINDING_FIELDS = tuple(f.name for f in fields(Finding) if f.init)
_finding_values = attrgetter(*_FINDING_FIELDS)
_FIELD_POSITION = {name: i for i, name in enumerate(_FINDING_FIELDS)}


def changed(finding: Finding, **values: Any) -> Finding:
    """The finding with ``values`` in place of its fields, as ``dataclasses.replace`` makes it.

    ``replace`` looks the fields up on every call; ingest copies every finding at least once
    (its fingerprint), so the field list and a getter for all of them are made once here.
    """
    args = list(_finding_values(finding))
    for name, value in values.items():
        args[_FIELD_POSITION[name]] = value
    return Finding(*args)
