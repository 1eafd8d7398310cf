"""Turn a team's answers into the legacy plan (DESIGN.md §10).

Per requirement: followed during initial development → no action; applicable to the product
as it exists → RA; applicable going forward → the requirement's forward method (DEP, MAS or
ALL); both → RA-ALL; neither → a gap to justify. Answers that contradict the most likely
method and questions left blank are flagged; question 4 falls back to the SL policy.
"""

from __future__ import annotations

import datetime as dt

from triage.iec.answers import QUESTIONS
from triage.iec.records import (
    Answer,
    AnswerSet,
    Approach,
    Evidence,
    Flag,
    Method,
    Plan,
    PlanContext,
    PlanItem,
    Reply,
    Requirement,
    RequirementTable,
)
from triage.model import SecurityLevel

_APPLIES = (Reply.YES, Reply.PARTIAL)
RELEASE_PLACEHOLDER = "RELEASE"


def choose_approach(req: Requirement, a: Answer | None) -> Approach:
    """The approach the answers select for ``req``."""
    if a is None:
        return Approach.OPEN
    if a.followed is Reply.YES:
        return Approach.NONE
    now, future = a.now in _APPLIES, a.future in _APPLIES
    if now and future:
        return Approach.RA_ALL
    if now:
        return Approach.RA
    if future:
        return Approach(req.forward_method.value)
    if a.now is None or a.future is None:
        return Approach.OPEN
    return Approach.GAP


def _flags(req: Requirement, a: Answer | None, approach: Approach) -> list[Flag]:
    if a is None:
        return [Flag(req.id, "blank", f"{req.id} has no answers: all four questions blank")]
    out = []
    for n, (key, question) in enumerate(QUESTIONS[:3], start=1):
        if getattr(a, key) is None and not (n > 1 and approach is Approach.NONE):
            out.append(Flag(req.id, "blank", f"{req.id} question {n} left blank: {question}"))
    if approach is Approach.NONE:
        return out
    m = req.method
    if m.retroactive and a.now is Reply.NO:
        out.append(Flag(req.id, "contradiction",
                        f"{req.id} marked not applicable to the product as it exists, but the "
                        f"most likely method is {m.value}"))
    if m.forward and a.future is Reply.NO:
        out.append(Flag(req.id, "contradiction",
                        f"{req.id} marked not applicable going forward, but the most likely "
                        f"method is {m.value}"))
    return out


def _components(ctx: PlanContext) -> str:
    return ", ".join(c.id for c in ctx.high_risk)


def _scope_command(ctx: PlanContext) -> str:
    return f"`triage threatmodel scope {ctx.threat_model}`"


def _specific(req: Requirement, ctx: PlanContext) -> list[str]:
    """Actions particular to a requirement, where the tool knows more than the method."""
    high = _components(ctx)
    where = (f"the high-risk components of the threat model ({high}; their paths: "
             f"{_scope_command(ctx)})" if high else
             "the high-risk components (name them in a threat model, SR-2, and list their "
             "paths with `triage threatmodel scope FILE`)")
    if req.id == "SI-1":
        # Code review cannot be applied retroactively in full: review all new and changed
        # code, and of the existing code only the high-risk subset (SI-1 c), SM-5).
        return [f"Review new and changed code going forward (static analysis on all source "
                f"code changes, SI-1 c)), plus the existing code of {where}; track every "
                f"finding to closure (`triage ingest` after each scanner run)."]
    if req.id == "SM-5":
        return [f"Scope the retroactive work to {where} first, and widen it release by "
                f"release; record the scope and its justification per release."
                + (f" Justification in the threat model: {ctx.scope_justification}"
                   if ctx.scope_justification else "")]
    if req.id in ("DM-4", "SM-11") and ctx.target_sl is not None:
        return [f"Do not release with must-fix issues open at {ctx.target_sl.label} "
                f"(`triage gate`); every other issue carries a recorded disposition."]
    return []


def _actions(req: Requirement, a: Answer | None, approach: Approach, table: RequirementTable,
             ctx: PlanContext) -> tuple[str, ...]:
    if approach is Approach.NONE:
        return ("No action: the process was followed during initial development; keep its "
                "records as evidence.",)
    if approach is Approach.OPEN:
        return ("Answer questions 1 to 3 to choose an approach.",)
    if approach is Approach.GAP:
        out = ["Applied neither to the product as it exists nor going forward: record why in "
               "the process scope (SM-5), approved by security expertise (SM-4), with the "
               "residual risk (DM-4)."]
    else:
        info = table.method(Method(approach.value))
        out = [info.action.format(title=f"{req.id} {req.title}")]
    if a is not None and a.now is Reply.PARTIAL and approach in (Approach.RA, Approach.RA_ALL):
        out.append("Applies only in part to the product as it exists: state which part and "
                   "justify the rest (SM-5).")
    if a is not None and a.future is Reply.PARTIAL and approach is not Approach.RA:
        out.append("Applies only in part going forward: state which part and justify the "
                   "rest (SM-5).")
    out += _specific(req, ctx)
    return tuple(out)


def _address(a: Answer | None, approach: Approach, ctx: PlanContext,
             policies: dict[SecurityLevel, str]) -> tuple[str, str, list[Flag]]:
    """Question 4: (which issues must be addressed, where that came from, flags)."""
    rid = a.requirement if a is not None else ""
    given = a.address if a is not None else ""
    if given:
        try:
            named = SecurityLevel.parse(given)
        except ValueError:
            return given, "answer", []
        flags = []
        if ctx.target_sl is not None and named != ctx.target_sl:
            flags.append(Flag(rid, "contradiction",
                              f"{rid} question 4 names {named.label} while the product's "
                              f"target SL is {ctx.target_sl.label} ({ctx.sl_source})"))
        return f"{policies.get(named, named.label)} (DM-4)", "answer", flags
    if ctx.target_sl is not None:
        return f"{ctx.policy} (DM-4)", f"SL policy from {ctx.sl_source}", []
    if a is None or approach in (Approach.NONE, Approach.OPEN):
        return "", "", []
    return "", "", [Flag(rid, "contradiction",
                         f"{rid} question 4 unanswered while the product has no target SL")]


def _evidence(req: Requirement, ctx: PlanContext, today: dt.date) -> tuple[Evidence | None,
                                                                            list[Flag]]:
    if not req.evidence:
        return None, []
    p = ctx.product or "PRODUCT"
    rels = ctx.releases
    latest = rels[-1].name if rels else RELEASE_PLACEHOLDER
    sl = f" --sl {int(ctx.target_sl)}" if ctx.target_sl is not None else ""
    links: list[str] = []
    flags: list[Flag] = []
    if req.id == "SI-1":
        links = [f"`triage report --product {p} --release {r.name}`: {', '.join(r.tools)}, "
                 f"{r.findings} findings" for r in rels] or [
            f"`triage report --product {p} --release {RELEASE_PLACEHOLDER}` after "
            f"`triage ingest` of each release's scanner logs"]
    elif req.id == "SR-2":
        if ctx.threat_model:
            reviewed = ctx.last_reviewed or "never (add review.last_reviewed)"
            links = [f"{ctx.threat_model}: last reviewed {reviewed}"]
            if not ctx.last_reviewed or \
                    dt.date.fromisoformat(ctx.last_reviewed) < today - dt.timedelta(days=365):
                flags.append(Flag(req.id, "evidence",
                                  f"{req.id} threat model not reviewed in the last year "
                                  f"(last: {reviewed}); SR-2 asks for a yearly review"))
        else:
            links = ["no threat model named in the answers file (threat_model: FILE)"]
    elif req.id == "SM-5":
        links = [f"{_scope_command(ctx)}: {len(ctx.high_risk)} high-risk components "
                 f"({_components(ctx)})" if ctx.high_risk else
                 "no high-risk components named (threat_model: FILE in the answers file)"]
        if ctx.scope_justification:
            links.append(f"justification: {ctx.scope_justification}")
    elif req.id == "DM-3":
        links = [f"`triage report --product {p} --release {latest} --format json`: per "
                 f"finding the contextual severity, component tier and the reasons"]
    elif req.id in ("DM-4", "SM-11"):
        if rels and ctx.target_sl is not None:
            links = [f"`triage gate --product {p} --release {r.name}{sl}`: {r.must_fix} "
                     f"must-fix at {ctx.target_sl.label}" for r in rels]
        else:
            links = [f"`triage gate --product {p} --release {latest}{sl}`"]
    elif req.id == "SM-13":
        span = f": {len(rels)} releases, {rels[0].name} .. {rels[-1].name}" if rels else ""
        links = [f"`triage trend --product {p}`{span}"]
    return Evidence(req.evidence, tuple(links)), flags


def build_plan(table: RequirementTable, answers: AnswerSet, ctx: PlanContext,
               policies: dict[SecurityLevel, str], generated_at: dt.datetime,
               tool_version: str) -> Plan:
    """The plan: one item per requirement of ``table``, in the standard's order."""
    items = []
    for req in table.requirements:
        a = answers.get(req.id)
        approach = choose_approach(req, a)
        flags = _flags(req, a, approach)
        address, source, more = _address(a, approach, ctx, policies)
        evidence, stale = _evidence(req, ctx, generated_at.date())
        items.append(PlanItem(
            requirement=req, answer=a, approach=approach,
            actions=_actions(req, a, approach, table, ctx),
            address=address, address_source=source, evidence=evidence,
            flags=tuple(flags + more + stale),
        ))
    return Plan(answers.source, ctx, tuple(items), generated_at.isoformat(), tool_version)
