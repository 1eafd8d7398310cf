"""The security-level policy: which findings must be fixed at SL-n, and why (DESIGN.md §7).

One small interface, ``Policy`` (``judge(scored) -> Verdict``), with a registry keyed by the
mode name the CLI's ``--mode`` takes:

- ``severity`` (default): must fix a contextual severity of at least critical at SL-1, high
  at SL-2, medium at SL-3, and everything at SL-4. This is the supplier's acceptable
  residual-risk policy under IEC 62443-4-1 DM-4 (modelled on ISASecure practice, not quoted
  from a certification scheme).
- ``capability``: must fix what the attacker the SL defends against can exploit: a finding
  whose capability class (its CWE and reach, ``triage.scoring.capability``) is at most the SL.
- ``combined``: must fix when either mode says so (fails closed), and every finding the two
  modes judge differently carries a ``disagreement`` for a human to review.

Must-fix sets are monotonic in every mode (SL-1 ⊆ SL-2 ⊆ SL-3 ⊆ SL-4): each test is a ``>=``
on an ordered level. Nothing is dropped: every other finding gets a recorded disposition
(DM-4) and stays tracked to closure (SM-11).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from triage.errors import ConfigError
from triage.model import (
    Capability,
    Reason,
    ScoredFinding,
    SecurityLevel,
    Severity,
    Suppression,
    Verdict,
)
from triage.scoring.capability import capability
from triage.scoring.rules import Rules


class Policy(Protocol):
    """Judges scored findings at one target SL."""

    name: str
    """Mode name (``severity``, ``capability``, ``combined``)."""
    sl: SecurityLevel
    """The target SL."""
    wording: str
    """The policy rule at this SL, in words."""

    def judge(self, scored: ScoredFinding) -> Verdict:
        """The verdict for one scored finding, with the rule that decided."""
        ...


def _not_judged(scored: ScoredFinding, sl: SecurityLevel, mode: str) -> Verdict | None:
    """Verdicts that no mode's threshold decides: suppressed, needs review, out of scope."""
    f = scored.finding
    if f.suppression == Suppression.SUPPRESSED:
        return Verdict(False, sl, "suppressed",
                       "suppressed in the SARIF log (accepted suppression, SARIF 3.35)", mode=mode)
    if f.kind in ("review", "open"):
        return Verdict(False, sl, "needs-review",
                       f"SARIF kind {f.kind!r}: a human must decide (SARIF 3.27.9)", mode=mode)
    if f.kind != "fail":
        return Verdict(False, sl, "not-a-defect", f"SARIF kind {f.kind!r}", mode=mode)
    if scored.exposure.out_of_scope:
        # SM-5: scoped out with the model's justification, still tracked.
        return Verdict(False, sl, "out-of-scope",
                       f"component {scored.exposure.component_id} is out of scope: "
                       f"{scored.exposure.justification}", mode=mode)
    return None


def _below(scored: ScoredFinding, sl: SecurityLevel, mode: str, reason: str) -> Verdict:
    """The verdict of a finding under the threshold (DM-4), naming what else needs a human.

    A suppression under review is ``pending-review``; a finding in a file no threat-model
    component claims is a ``model-gap`` (rated on its own severity until the model covers it,
    SR-2); the rest are ``below-threshold``. None of them must be fixed, all stay tracked.
    """
    if scored.finding.suppression == Suppression.PENDING:
        return Verdict(False, sl, "pending-review", "suppression under review in the SARIF "
                       f"log (SARIF 3.35 underReview); {reason}", mode=mode)
    if scored.exposure.component_kind == "unmodelled":  # a model was given, and missed it
        where = scored.finding.location.path or "(no file)"
        return Verdict(False, sl, "model-gap", f"no threat-model component claims {where}: "
                       f"rated on its own severity until the model covers it (SR-2); {reason}",
                       mode=mode)
    return Verdict(False, sl, "below-threshold", reason, mode=mode)


class SeverityPolicy:
    """Must-fix by contextual severity at a target SL."""

    name = "severity"

    def __init__(self, rules: Rules, sl: SecurityLevel) -> None:
        self.sl = sl
        self.rules = rules
        self.minimum, self.wording = rules.threshold(sl)

    def must_fix(self, severity: Severity, kind: str, suppression: str) -> bool:
        """True when a defect of this severity must be fixed at this SL."""
        return (
            kind == "fail"
            and suppression != Suppression.SUPPRESSED
            and severity >= self.minimum
        )

    def judge(self, scored: ScoredFinding) -> Verdict:
        """The verdict for one scored finding, with the rule that decided."""
        early = _not_judged(scored, self.sl, self.name)
        if early is not None:
            return early
        f = scored.finding
        if self.must_fix(scored.severity, f.kind, f.suppression):
            return Verdict(True, self.sl, "must-fix",
                           f"{scored.severity.label} >= {self.minimum.label}: {self.wording} "
                           "(supplier residual-risk policy, DM-4)", mode=self.name)
        return _below(scored, self.sl, self.name,
                      f"{scored.severity.label} < {self.minimum.label}: "
                      + self.rules.below_threshold.format(sl=self.sl.label))


class CapabilityPolicy:
    """Must-fix what the attacker of the target SL can exploit (capability class <= SL)."""

    name = "capability"

    def __init__(self, rules: Rules, sl: SecurityLevel) -> None:
        self.sl = sl
        self.rules = rules
        self.table, self.wording = rules.capability_policy(sl)
        self.definition = dict(rules.sl_definitions).get(sl, "")
        self.ceiling = Capability(int(sl))

    def classify(self, scored: ScoredFinding) -> tuple[Capability, tuple[Reason, ...]]:
        """The capability class a finding needs, with its reasons."""
        return capability(scored, self.table)

    def judge(self, scored: ScoredFinding) -> Verdict:
        """The verdict for one scored finding, with the rule that decided."""
        early = _not_judged(scored, self.sl, self.name)
        if early is not None:
            return early
        cap, _ = self.classify(scored)
        need, at = cap.name.lower(), self.ceiling.name.lower()
        quoted = f' ({self.sl.label}: "{self.definition}")' if self.definition else ""
        if cap <= self.ceiling:
            return Verdict(True, self.sl, "must-fix",
                           f"needs {need} capability <= {at}: {self.wording}{quoted}",
                           mode=self.name)
        return _below(scored, self.sl, self.name,
                      f"needs {need} capability > {at}: "
                      + self.rules.below_threshold.format(sl=self.sl.label))


class CombinedPolicy:
    """Both modes: must fix when either requires it; disagreements listed for a human."""

    name = "combined"

    def __init__(self, rules: Rules, sl: SecurityLevel) -> None:
        self.sl = sl
        self.severity = SeverityPolicy(rules, sl)
        self.capability = CapabilityPolicy(rules, sl)
        self.wording = (f"{self.severity.wording}; {self.capability.wording} (must fix when "
                        "either requires it)")

    def judge(self, scored: ScoredFinding) -> Verdict:
        """The verdict for one scored finding, with both modes' rules."""
        s, c = self.severity.judge(scored), self.capability.judge(scored)
        if s.must_fix == c.must_fix:
            return Verdict(s.must_fix, self.sl, s.disposition,
                           f"severity: {s.reason}; capability: {c.reason}", mode=self.name)
        which = "severity" if s.must_fix else "capability"
        other = "capability" if s.must_fix else "severity"
        return Verdict(True, self.sl, "must-fix",
                       f"severity: {s.reason}; capability: {c.reason}", mode=self.name,
                       disagreement=f"must fix by {which} but not by {other} at {self.sl.label}: "
                                    "review (DM-3)")


POLICIES: dict[str, Callable[[Rules, SecurityLevel], Policy]] = {
    "severity": SeverityPolicy,
    "capability": CapabilityPolicy,
    "combined": CombinedPolicy,
}
"""Mode name → policy class."""

MODES = tuple(POLICIES)
"""The mode names, default first."""


def make_policy(mode: str, rules: Rules, sl: SecurityLevel) -> Policy:
    """The policy of ``mode`` at ``sl``; an unknown mode is a ConfigError (exit 4)."""
    try:
        factory = POLICIES[mode]
    except KeyError as e:
        raise ConfigError(f"unknown policy mode {mode!r}; known: {', '.join(MODES)}") from e
    return factory(rules, sl)
