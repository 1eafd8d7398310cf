"""The IEC 62443-4-1 legacy plan (DESIGN.md §10)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

# The `threatmodel` package loads each part on first use (networkx only with a model).
import threatmodel
from triage import package_version
from triage.errors import BadInputError
from triage.model import SecurityLevel
from triage.pipeline.context import Clock, Context, utc_now
from triage.pipeline.judging import must_fix_by_sl
from triage.scoring import Rules

if TYPE_CHECKING:
    from triage import iec
    from triage.store import SqlStore


def iec_plan(answers_path: Path, rules: Rules, store: SqlStore | None = None,
             product: str | None = None, clock: Clock = utc_now) -> iec.Plan:
    """Turn an answers file into the IEC 62443-4-1 legacy plan (DESIGN.md §10).

    With ``store`` and ``product``, question 4 is answered from the product's SL policy (the
    target SL recorded at ingest) and the evidence points at the product's real releases.
    The answers file may name a threat model (relative to it) for SR-2, SM-5 and SI-1.
    """
    from triage import iec

    table = iec.load_requirements()
    answers = iec.read_answers(answers_path, table)
    target, source = answers.target_sl, "the answers file" if answers.target_sl else ""
    releases: list[iec.ReleaseEvidence] = []
    if store is not None and product:
        rels = store.releases(product)
        if not rels:
            raise BadInputError(f"product {product!r} has no releases",
                                hint="ingest a release first, or drop --product")
        recorded = [r for r in rels if r.target_sl is not None]
        if recorded:
            target = recorded[-1].target_sl
            source = f"the store, release {recorded[-1].name}"
        ctx = Context(store=store, rules=rules, clock=clock)
        for rel in rels:
            scans = store.scans(rel)
            must = must_fix_by_sl(ctx, rel).get(target, 0) if target else 0
            releases.append(iec.ReleaseEvidence(
                rel.name, tuple(s.tool.name for s in scans), sum(s.findings for s in scans),
                must))
    tm_file, reviewed, justification, high = "", "", "", []
    if answers.threat_model:
        tm_path = answers_path.parent / answers.threat_model
        try:
            model = threatmodel.load_model(tm_path)
        except threatmodel.ModelError as e:
            raise BadInputError(str(e), hint=f"threat_model in {answers_path} names it") from e
        tm_file = str(tm_path)
        if target is None and model.target_sl:
            target, source = SecurityLevel(model.target_sl), f"the threat model {tm_path.name}"
        reviewed = model.last_reviewed.isoformat() if model.last_reviewed else ""
        justification = model.scope_justification
        for cid, risk in sorted(threatmodel.component_risks(model).items(),
                                key=lambda kv: (-int(kv[1].tier), kv[0])):
            if risk.tier >= threatmodel.Tier.HIGH and not risk.out_of_scope:
                high.append(iec.HighRiskComponent(cid, risk.tier.label,
                                                  model.component(cid).paths))
    policies = {sl: rules.threshold(sl)[1] for sl in SecurityLevel}
    context = iec.PlanContext(
        product=product or answers.product, target_sl=target, sl_source=source,
        policy=policies[target] if target else "", threat_model=tm_file,
        last_reviewed=reviewed, scope_justification=justification, high_risk=tuple(high),
        releases=tuple(releases),
    )
    return iec.build_plan(table, answers, context, policies, clock(), package_version())
