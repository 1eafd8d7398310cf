"""Scoring: base and contextual severity, risk score, and the SL policy, all explained."""

from triage.scoring.policy import SeverityPolicy
from triage.scoring.rules import Rules, load_rules
from triage.scoring.severity import score

__all__ = ["Rules", "SeverityPolicy", "load_rules", "score"]
