"""Records of the IEC 62443-4-1 legacy plan: requirements, answers, plan items, flags."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from triage.model import SecurityLevel


class Method(StrEnum):
    """How a 4-1 requirement is applied to a legacy product (the article's approaches)."""

    RA = "RA"
    DEP = "DEP"
    MAS = "MAS"
    ALL = "ALL"
    RA_ALL = "RA-ALL"

    @property
    def retroactive(self) -> bool:
        """True when the method applies the process to the product as it exists."""
        return self in (Method.RA, Method.RA_ALL)

    @property
    def forward(self) -> bool:
        """True when the method applies the process going forward."""
        return self is not Method.RA


class Reply(StrEnum):
    """An answer to questions 1 to 3."""

    YES = "yes"
    NO = "no"
    PARTIAL = "partial"


class Approach(StrEnum):
    """The approach the plan chose for a requirement from the answers."""

    NONE = "none"
    """Followed during initial development: no action."""
    RA = "RA"
    DEP = "DEP"
    MAS = "MAS"
    ALL = "ALL"
    RA_ALL = "RA-ALL"
    GAP = "gap"
    """Applied neither to the product as it exists nor going forward."""
    OPEN = "open"
    """Questions left blank: nothing can be decided yet."""


@dataclass(frozen=True, slots=True)
class Requirement:
    """One of the 47 requirements of IEC 62443-4-1:2018."""

    id: str
    """Requirement id as the standard writes it (``SI-1``)."""
    title: str
    """Requirement title."""
    practice: str
    """Practice code: SM, SR, SD, SI, SVV, DM, SUM or SG."""
    practice_title: str
    """Practice title (``Secure implementation``)."""
    practice_clause: str
    """Clause of the practice (``8``)."""
    clause: str | None
    """Clause of the requirement where a public source gave it (``8.3``), else None."""
    method: Method
    """Most likely method for a legacy product."""
    risk_based: bool = False
    """Named as risk-based by the article (SM-3, SM-9, SM-11, SD-2, DM-3, DM-4)."""
    evidence: str = ""
    """What this tool produces as evidence for it; empty when nothing."""

    @property
    def forward_method(self) -> Method:
        """The method used when the requirement is applied going forward only."""
        return self.method if self.method in (Method.DEP, Method.MAS, Method.ALL) else Method.ALL


@dataclass(frozen=True, slots=True)
class MethodInfo:
    """What a method means and the action it implies."""

    method: Method
    """The method."""
    meaning: str
    """Its meaning in words."""
    action: str
    """Action template; ``{title}`` is the requirement title."""


@dataclass(frozen=True, slots=True)
class RequirementTable:
    """The shipped requirement table."""

    requirements: tuple[Requirement, ...]
    """The 47 requirements in the standard's order."""
    methods: tuple[MethodInfo, ...]
    """The five methods."""
    source: str
    """File the table came from."""

    def get(self, rid: str) -> Requirement | None:
        """The requirement with id ``rid``, or None."""
        for r in self.requirements:
            if r.id == rid:
                return r
        return None

    def method(self, m: Method) -> MethodInfo:
        """Meaning and action of method ``m``."""
        for info in self.methods:
            if info.method is m:
                return info
        raise KeyError(m)


@dataclass(frozen=True, slots=True)
class Answer:
    """A product team's answers for one requirement."""

    requirement: str
    """Requirement id."""
    followed: Reply | None
    """Q1: was the process followed during the initial development? None = blank."""
    now: Reply | None
    """Q2: can it effectively be applied to the product as it currently exists?"""
    future: Reply | None
    """Q3: can it effectively be applied to future development (new releases)?"""
    address: str = ""
    """Q4: when applied and issues are found, which must be addressed? Empty = blank."""
    note: str = ""
    """The team's free-text note."""
    line: int = 0
    """Line of the requirement's entry in the answers file."""


@dataclass(frozen=True, slots=True)
class AnswerSet:
    """A parsed answers file."""

    source: str
    """File name."""
    product: str
    """Product named in the file (may be empty)."""
    target_sl: SecurityLevel | None
    """Target SL named in the file, if any."""
    threat_model: str
    """Threat-model path named in the file, relative to it; empty when none."""
    answers: tuple[Answer, ...]
    """Answers in file order."""

    def get(self, rid: str) -> Answer | None:
        """The answer for requirement ``rid``, or None."""
        for a in self.answers:
            if a.requirement == rid:
                return a
        return None


@dataclass(frozen=True, slots=True)
class HighRiskComponent:
    """A high- or critical-tier component of the threat model (SM-5 scope, SI-1 review)."""

    id: str
    """Component id."""
    tier: str
    """Tier label (``high``, ``critical``)."""
    paths: tuple[str, ...]
    """Its source path globs."""


@dataclass(frozen=True, slots=True)
class ReleaseEvidence:
    """What the store holds for one release of the product."""

    name: str
    """Release name."""
    tools: tuple[str, ...]
    """Scanners whose logs were ingested."""
    findings: int
    """Occurrences stored."""
    must_fix: int
    """Must-fix findings at the target SL."""


@dataclass(frozen=True, slots=True)
class PlanContext:
    """What the pipeline gathered around the answers: SL policy, threat model, releases."""

    product: str
    """Product name."""
    target_sl: SecurityLevel | None
    """Target SL that answers question 4, if any."""
    sl_source: str
    """Where the target SL came from (``the answers file``, ``the store``) or empty."""
    policy: str
    """Wording of the SL policy at the target SL (DM-4), or empty."""
    threat_model: str = ""
    """Threat-model file, or empty."""
    last_reviewed: str = ""
    """ISO date of the model's last review, or empty (SR-2)."""
    scope_justification: str = ""
    """The model's scope justification, or empty (SM-5)."""
    high_risk: tuple[HighRiskComponent, ...] = ()
    """High-risk components from the threat model."""
    releases: tuple[ReleaseEvidence, ...] = ()
    """Releases in the store, in release order (with ``--product``)."""


@dataclass(frozen=True, slots=True)
class Evidence:
    """Evidence this tool provides for a requirement."""

    what: str
    """What the evidence is."""
    links: tuple[str, ...]
    """Concrete pointers: commands over real releases, files, dates."""


@dataclass(frozen=True, slots=True)
class Flag:
    """An answer that contradicts the most likely method, or a question left blank."""

    requirement: str
    """Requirement id."""
    kind: str
    """``contradiction`` or ``blank``."""
    text: str
    """What is wrong, in words."""


@dataclass(frozen=True, slots=True)
class PlanItem:
    """The plan for one requirement."""

    requirement: Requirement
    """The requirement."""
    answer: Answer | None
    """The team's answers, or None when the file has none for it."""
    approach: Approach
    """Approach chosen from the answers."""
    actions: tuple[str, ...]
    """What to do."""
    address: str
    """Question 4 as the plan applies it: which issues must be addressed."""
    address_source: str
    """Where that came from (``answer``, ``SL policy``) or empty when unanswered."""
    evidence: Evidence | None
    """Evidence this tool provides, or None."""
    flags: tuple[Flag, ...]
    """Contradictions and blanks."""

    @property
    def agrees(self) -> bool:
        """True when the approach is the most likely method (or no action is needed)."""
        return self.approach in (Approach.NONE, Approach(self.requirement.method.value))


@dataclass(frozen=True, slots=True)
class Plan:
    """The legacy plan: one item per requirement, in the standard's order."""

    source: str
    """Answers file."""
    context: PlanContext
    """SL policy, threat model and releases around it."""
    items: tuple[PlanItem, ...]
    """One per requirement."""
    generated_at: str
    """ISO timestamp (injected clock)."""
    tool_version: str
    """triage version."""

    @property
    def flags(self) -> tuple[Flag, ...]:
        """Every flag, in requirement order."""
        return tuple(f for item in self.items for f in item.flags)

    def approach_counts(self) -> dict[str, int]:
        """Requirements per approach, every approach listed."""
        counts = {a.value: 0 for a in Approach}
        for item in self.items:
            counts[item.approach.value] += 1
        return counts
