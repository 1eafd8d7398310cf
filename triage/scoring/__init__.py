"""Scoring: base and contextual severity, capability class, risk score, and the SL policy."""

from triage.scoring.capability import CapabilityTable, capability
from triage.scoring.policy import (
    MODES,
    CapabilityPolicy,
    CombinedPolicy,
    Policy,
    SeverityPolicy,
    make_policy,
)
from triage.scoring.rules import Rules, load_rules
from triage.scoring.severity import score

__all__ = [
    "MODES",
    "CapabilityPolicy",
    "CapabilityTable",
    "CombinedPolicy",
    "Policy",
    "Rules",
    "SeverityPolicy",
    "capability",
    "load_rules",
    "make_policy",
    "score",
]
