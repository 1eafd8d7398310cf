"""The security-level policy: which findings must be fixed at SL-n, and why.

``severity`` mode (DESIGN.md §7): must fix a contextual severity of at least critical at SL-1,
high at SL-2, medium at SL-3, and everything at SL-4. This is the supplier's acceptable
residual-risk policy under IEC 62443-4-1 DM-4. Nothing is dropped: every other finding gets a
recorded disposition (DM-4) and stays tracked to closure (SM-11).
"""

from __future__ import annotations

from triage.model import ScoredFinding, SecurityLevel, Severity, Suppression, Verdict
from triage.scoring.rules import Rules


class SeverityPolicy:
    """Must-fix by contextual severity at a target SL."""

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
        f = scored.finding
        label = self.sl.label
        if f.suppression == Suppression.SUPPRESSED:
            return Verdict(False, self.sl, "suppressed",
                           "suppressed in the SARIF log (accepted suppression, SARIF 3.35)")
        if f.kind in ("review", "open"):
            return Verdict(False, self.sl, "needs-review",
                           f"SARIF kind {f.kind!r}: a human must decide (SARIF 3.27.9)")
        if f.kind != "fail":
            return Verdict(False, self.sl, "not-a-defect", f"SARIF kind {f.kind!r}")
        if scored.exposure.out_of_scope:
            return Verdict(False, self.sl, "out-of-scope",
                           f"component {scored.exposure.component_id} is out of scope: "
                           f"{scored.exposure.justification}")
        if self.must_fix(scored.severity, f.kind, f.suppression):
            return Verdict(True, self.sl, "must-fix",
                           f"{scored.severity.label} >= {self.minimum.label}: {self.wording} "
                           "(supplier residual-risk policy, DM-4)")
        return Verdict(False, self.sl, "below-threshold",
                       f"{scored.severity.label} < {self.minimum.label}: "
                       + self.rules.below_threshold.format(sl=label))
