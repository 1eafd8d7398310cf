"""The answers-file template: every requirement with the four questions, commented."""

from __future__ import annotations

from triage.iec.answers import QUESTIONS
from triage.iec.records import RequirementTable

_HEAD = """\
# IEC 62443-4-1 for a legacy product: the four questions per requirement.
# Fill in and turn into a plan with:  triage iec plan THIS_FILE [--product P]
#
# Questions 1 to 3 take yes, no or partial (blank = not answered yet):
{questions}
# What the answers imply:
#   followed: yes                 -> no action (keep the records as evidence)
#   now: yes|partial              -> RA      apply the process retroactively to the product
#   future: yes|partial           -> DEP, MAS or ALL, by requirement (shown on each entry)
#   now and future: yes|partial   -> RA-ALL  both retroactively and going forward
#   now: no and future: no        -> a gap: justify it in the process scope (SM-5)
# An answer that contradicts the most likely method is flagged in the plan.
# Question 4 (address) takes an SL (1-4: the must-fix set of that SL policy, DM-4) or words;
# blank means the product's target SL policy (target_sl below, or the store with --product).
schema_version: 1
product: {product}
target_sl:          # 1-4: the SL-C the product is built for (SR-4 b)
threat_model:       # threat-model YAML, relative to this file: names the high-risk components
answers:
"""


def render_template(table: RequirementTable, product: str = "") -> str:
    """The YAML answers template, every question blank."""
    questions = "\n".join(f"#   Q{n} {key}: {q}" for n, (key, q) in enumerate(QUESTIONS, 1))
    lines = [_HEAD.format(questions=questions, product=product or '""').rstrip("\n")]
    for req in table.requirements:
        clause = f"clause {req.clause}" if req.clause else "clause not given"
        info = table.method(req.method)
        forward = req.forward_method.value
        likely = f"most likely method {req.method.value}: {info.meaning}"
        flags = []
        if req.method.retroactive:
            flags.append("now: no")
        if req.method.forward:
            flags.append("future: no")
        lines += [
            "",
            f"  # {req.id} {req.title} ({req.practice_title}, §{req.practice_clause}; {clause})"
            + (", risk-based" if req.risk_based else ""),
            f"  # {likely}.",
            f"  # now -> RA; future -> {forward}; both -> RA-ALL; "
            f"{' or '.join(flags)} is flagged against {req.method.value}.",
        ]
        if req.evidence:
            lines.append(f"  # triage provides evidence: {req.evidence}.")
        lines += [
            f"  {req.id}:",
            "    followed:       # Q1 yes | no | partial",
            "    now:            # Q2 yes | no | partial",
            "    future:         # Q3 yes | no | partial",
            "    address:        # Q4 SL 1-4 or words; blank = the target SL policy",
            "    note:",
        ]
    return "\n".join(lines) + "\n"
