"""Scope phases (IEC 62443-4-1 SM-5): triage the high-risk components first, widen later.

A scope decides which findings the SL policy judges at all; the rest get the disposition
``out-of-scope`` naming the phase and its justification, and stay tracked (SM-11). Findings
in code changed since the previous release are always in scope: SI-1 requires static
analysis of every change. A scope does not depend on the SL, so it keeps every mode's
must-fix sets monotonic.

- ``all``: everything (the default).
- ``high-risk``: findings in high- and critical-tier components; without a threat model, or
  in a file no component claims, the tier is unknown and the finding stays in scope
  (conservative).
- a file of gitignore-style path globs, one a line (``triage threatmodel scope`` writes
  one): findings whose file matches.
"""

from __future__ import annotations

from dataclasses import dataclass

import pathspec

from triage.model import ScoredFinding, Tier, Verdict
from triage.scoring.policy import Policy

HIGH_RISK_JUSTIFICATION = ("high- and critical-tier components of the threat model first "
                           "(SM-5 phase 1, from its exposure and asset-value analysis)")


@dataclass(frozen=True, slots=True)
class Scope:
    """Which findings a release is triaged on, and why (SM-5)."""

    name: str
    """``all``, ``high-risk`` or the globs file's name."""
    justification: str = ""
    """The documented reason for the phase."""
    globs: tuple[str, ...] = ()
    """Path globs of a file scope."""
    changed: frozenset[str] = frozenset()
    """Repository-relative paths changed since the previous release (always in scope)."""

    def covers(self, scored: ScoredFinding) -> tuple[bool, str]:
        """(in scope, why) for one finding."""
        path = scored.finding.location.path
        ex = scored.exposure
        if self.name == "all":
            return True, "scope all"
        if path and path in self.changed:
            return True, "changed since the previous release: always in scope (SI-1)"
        if self.name == "high-risk":
            if ex.component_kind in ("no-model", "unmodelled"):
                return True, "tier unknown (no component): kept in scope"
            if ex.tier >= Tier.HIGH:
                return True, f"component {ex.component_id} is {ex.tier.label} tier"
            return False, (f"component {ex.component_id} is {ex.tier.label} tier, outside the "
                           "high-risk scope")
        if _spec(self.globs).match_file(path):
            return True, f"{path} matches the scope file {self.name}"
        return False, f"{path or '(no file)'} matches no glob of the scope file {self.name}"


_SPECS: dict[tuple[str, ...], pathspec.PathSpec] = {}


def _spec(globs: tuple[str, ...]) -> pathspec.PathSpec:
    hit = _SPECS.get(globs)
    if hit is None:
        hit = _SPECS[globs] = pathspec.PathSpec.from_lines("gitignore", globs)
    return hit


ALL = Scope("all", "every component")
"""The default scope."""


class ScopedPolicy:
    """A policy judged only inside a scope; outside it the finding is out of scope (SM-5)."""

    def __init__(self, policy: Policy, scope: Scope) -> None:
        self.policy = policy
        self.scope = scope
        self.name = policy.name
        self.sl = policy.sl
        self.wording = policy.wording

    def judge(self, scored: ScoredFinding) -> Verdict:
        """The wrapped policy's verdict, or ``out-of-scope`` with the phase and its reason."""
        verdict = self.policy.judge(scored)
        if verdict.disposition in ("suppressed", "needs-review", "not-a-defect",
                                   "out-of-scope"):
            return verdict
        inside, why = self.scope.covers(scored)
        if inside:
            return verdict
        return Verdict(False, self.sl, "out-of-scope",
                       f"scope phase {self.scope.name} (SM-5: {self.scope.justification}): "
                       f"{why}; tracked, judged when the scope widens", mode=verdict.mode)
