"""IEC 62443-4-1 for a legacy product: the 47 requirements, the four questions, the plan.

For each requirement a product team answers four questions (followed during initial
development? applicable to the product as it exists? applicable going forward? which issues
must be addressed?); :func:`build_plan` turns the answers into an approach per requirement
(RA, DEP, MAS, ALL, RA-ALL), actions, the evidence this tool provides, and flags for answers
that contradict the most likely method or were left blank (DESIGN.md §10).
"""

from triage.iec.answers import QUESTIONS, read_answers
from triage.iec.formats import PLAN_FORMATS, REQUIREMENT_FORMATS, render_plan, render_requirements
from triage.iec.plan import build_plan
from triage.iec.records import (
    Answer,
    AnswerSet,
    Evidence,
    Flag,
    HighRiskComponent,
    Method,
    Plan,
    PlanContext,
    PlanItem,
    ReleaseEvidence,
    Requirement,
    RequirementTable,
)
from triage.iec.requirements import load_requirements
from triage.iec.template import render_template

__all__ = [
    "PLAN_FORMATS",
    "QUESTIONS",
    "REQUIREMENT_FORMATS",
    "Answer",
    "AnswerSet",
    "Evidence",
    "Flag",
    "HighRiskComponent",
    "Method",
    "Plan",
    "PlanContext",
    "PlanItem",
    "ReleaseEvidence",
    "Requirement",
    "RequirementTable",
    "build_plan",
    "load_requirements",
    "read_answers",
    "render_plan",
    "render_requirements",
    "render_template",
]
