"""How a triage decision changes the policy's verdict (DM-4: addressing security issues).

A false positive and a live accepted risk or deferral take the finding off the must-fix list
with the decision's reason; a confirmed issue must be fixed whatever its severity; an
acceptance past its expiry date, or a deferral whose target release has come, returns the
issue to the policy's verdict and says so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from triage.model import Action, Decision, Verdict


def decision_is_live(decision: Decision, today: dt.date, target_reached: bool) -> bool:
    """True while the decision still holds (not expired, target release not reached)."""
    if decision.action == Action.ACCEPTED_RISK:
        return decision.expires is None or today <= decision.expires
    if decision.action == Action.DEFERRED:
        return not target_reached
    return decision.action in (Action.FALSE_POSITIVE, Action.CONFIRMED)


def apply_decision(
    verdict: Verdict, decision: Decision | None, today: dt.date, target_reached: bool = False
) -> Verdict:
    """The verdict once the issue's current decision is taken into account."""
    if decision is None:
        return verdict
    who = f"{decision.by}, {decision.at.date().isoformat()}"
    live = decision_is_live(decision, today, target_reached)
    if decision.action == Action.CONFIRMED:
        return replace(verdict, must_fix=True, disposition="must-fix",
                       reason=f"confirmed as a real issue ({who}): {decision.reason}")
    if decision.action == Action.FALSE_POSITIVE:
        return replace(verdict, must_fix=False, disposition="false-positive",
                       reason=f"false positive ({who}): {decision.reason}")
    if decision.action == Action.ACCEPTED_RISK and live:
        return replace(verdict, must_fix=False, disposition="accepted-risk",
                       reason=f"risk accepted until {decision.expires} ({who}): "
                       f"{decision.reason}")
    if decision.action == Action.ACCEPTED_RISK:
        return replace(verdict, reason=f"{verdict.reason}; the risk acceptance expired on "
                       f"{decision.expires} ({who}): open again")
    if decision.action == Action.DEFERRED and live:
        return replace(verdict, must_fix=False, disposition="deferred",
                       reason=f"deferred to release {decision.target_release} ({who}): "
                       f"{decision.reason}")
    if decision.action == Action.DEFERRED:
        return replace(verdict, reason=f"{verdict.reason}; deferred to release "
                       f"{decision.target_release}, which has come ({who}): open again")
    return replace(verdict, reason=f"{verdict.reason}; reopened ({who}): {decision.reason}")
