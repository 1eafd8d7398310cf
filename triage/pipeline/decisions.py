"""Triage decisions (DM-3, DM-4): recorded, listed, exported and imported as a file."""

from __future__ import annotations

from dataclasses import dataclass, replace

from triage.errors import BadInputError
from triage.ingest.decisions_file import DecisionEntry, dump_decisions, parse_decisions
from triage.model import Action, Decision
from triage.pipeline.context import Context


def decide(ctx: Context, decision: Decision, release: str | None = None) -> Decision:
    """Record a triage decision on an issue (appended to its history)."""
    if decision.action == Action.ACCEPTED_RISK and decision.expires is None:
        raise BadInputError("an accepted risk needs --expires DATE",
                            hint="IEC 62443-4-1 DM-4: acceptances are reviewed; give an end")
    if decision.action == Action.DEFERRED and not decision.target_release:
        raise BadInputError("a deferral needs --target-release R")
    if not decision.reason.strip():
        raise BadInputError("a decision needs a --reason")
    return ctx.store.decide(decision, release)


def decision_history(ctx: Context, issue_id: int) -> list[Decision]:
    """Every decision on an issue, oldest first."""
    return ctx.store.history(issue_id)


def export_decisions(ctx: Context, product: str) -> str:
    """The product's current decisions as a YAML file (decisions as code)."""
    keys = ctx.store.issue_keys(product)
    entries = [
        DecisionEntry(d, *keys[d.issue_id]) for d in ctx.store.current_decisions(product).values()
    ]
    return dump_decisions(product, entries)


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What ``decisions import`` did."""

    product: str
    """Product of the file."""
    added: tuple[Decision, ...]
    """Decisions appended to histories."""
    unchanged: int
    """Entries equal to the issue's current decision (importing twice changes nothing)."""
    conflicts: tuple[str, ...]
    """Entries not applied, and why (never overwritten silently)."""


def import_decisions(ctx: Context, text: str, name: str) -> ImportResult:
    """Apply a decisions file: idempotent, and conflicts are reported, not overwritten."""
    product, entries = parse_decisions(text, name)
    keys = ctx.store.issue_keys(product)
    by_fp = {(k[0], k[3]): iid for iid, k in keys.items()}
    current = ctx.store.current_decisions(product)
    added, unchanged, conflicts = [], 0, []
    for e in entries:
        d = e.decision
        iid = d.issue_id
        if keys.get(iid, ("",) * 4)[0::3] != (e.tool, e.fingerprint):
            iid = by_fp.get((e.tool, e.fingerprint), 0)
            if not iid:
                conflicts.append(f"issue {d.issue_id} ({e.tool} {e.rule} {e.path}): no such "
                                 f"issue in {product}")
                continue
        now = current.get(iid)
        same = now is not None and (now.action, now.reason, now.expires, now.target_release) == (
            d.action, d.reason, d.expires, d.target_release)
        if same:
            unchanged += 1
            continue
        if now is not None and now.at > d.at:
            conflicts.append(
                f"issue {iid}: the database has a newer decision ({now.action.value} by "
                f"{now.by}, {now.at.isoformat()}) than the file ({d.action.value}, "
                f"{d.at.isoformat()}): not overwritten")
            continue
        added.append(ctx.store.decide(replace(d, issue_id=iid)))
    return ImportResult(product, tuple(added), unchanged, tuple(conflicts))
