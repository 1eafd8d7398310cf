"""Domain records passed between the pipeline stages.

Every record is a frozen, slotted dataclass whose collections are tuples, so a record can be
hashed, shared and compared, and no stage can change what another stage produced. Ordered
levels are ``IntEnum`` so a threshold is a plain ``>=``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import MISSING, dataclass, fields
from enum import IntEnum, StrEnum
from typing import Any, TypeVar

_R = TypeVar("_R")


def quick_init(cls: type[_R]) -> type[_R]:
    """Give a frozen, slotted dataclass an ``__init__`` that sets its slots directly.

    The ``__init__`` that ``dataclass`` writes for a frozen class sets each field with
    ``object.__setattr__``, looked up by name on every call; this one calls each slot's own
    descriptor, which takes half the time. Ingest makes several records per finding, so it
    is worth it there. Nothing else changes: the same parameters and defaults, and the
    record stays frozen (its ``__setattr__`` still refuses).
    """
    params, lines = [], []
    scope: dict[str, Any] = {}
    for f in fields(cls):  # type: ignore[arg-type]
        if not f.init or f.kw_only or f.default_factory is not MISSING:
            raise TypeError(f"{cls.__name__}.{f.name}: quick_init takes plain fields only")
        scope[f"_set_{f.name}"] = getattr(cls, f.name).__set__
        if f.default is MISSING:
            params.append(f.name)
        else:
            scope[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
        lines.append(f"    _set_{f.name}(self, {f.name})\n")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__}: quick_init does not call __post_init__")
    exec(f"def __init__(self, {', '.join(params)}):\n{''.join(lines) or '    pass'}",  # noqa: S102
         scope)
    init = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__annotations__ = dict(cls.__init__.__annotations__)  # type: ignore[misc]
    setattr(cls, "__init__", init)  # noqa: B010 - assigning a method to a class
    return cls


class Severity(IntEnum):
    """Normalised severity of a finding: info < low < medium < high < critical."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> Severity:
        """Read a severity name, case-insensitively (``"High"`` → ``HIGH``)."""
        return cls[text.strip().upper()]

    def shifted(self, bands: int) -> Severity:
        """Return the severity ``bands`` steps up (or down when negative), clamped."""
        return Severity(max(Severity.INFO, min(Severity.CRITICAL, self + bands)))

    @property
    def label(self) -> str:
        """Lower-case name used in reports and the database."""
        return self.name.lower()


class SecurityLevel(IntEnum):
    """Target security level SL-1 .. SL-4 (IEC 62443: the SL-C the product is built for)."""

    SL1 = 1
    SL2 = 2
    SL3 = 3
    SL4 = 4

    @classmethod
    def parse(cls, value: int | str) -> SecurityLevel:
        """Read ``2``, ``"2"``, ``"SL2"`` or ``"SL-2"``."""
        text = str(value).upper().replace("SL-", "").replace("SL", "").strip()
        return cls(int(text))

    @property
    def label(self) -> str:
        """``SL-n`` as the standard writes it."""
        return f"SL-{int(self)}"


class Capability(IntEnum):
    """Attacker capability each SL defends against: casual < simple < sophisticated < extended."""

    CASUAL = 1
    SIMPLE = 2
    SOPHISTICATED = 3
    EXTENDED = 4


class Tier(IntEnum):
    """Risk tier of a threat-model component (Threagile's severity matrix)."""

    LOW = 0
    MEDIUM = 1
    ELEVATED = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        """Lower-case name used in reports and the database."""
        return self.name.lower()


class Suppression(StrEnum):
    """State of a finding's in-source or SARIF suppression (SARIF §3.35)."""

    ACTIVE = "active"
    SUPPRESSED = "suppressed"
    PENDING = "pending"


class Status(StrEnum):
    """Status of a tracked issue in one release, relative to the previous release."""

    NEW = "new"
    PERSISTING = "persisting"
    FIXED = "fixed"
    REINTRODUCED = "reintroduced"
    NOT_ANALYSED = "not-analysed"


class Action(StrEnum):
    """A triage decision on a tracked issue (DESIGN.md §8; DM-3, DM-4)."""

    CONFIRMED = "confirmed"
    FALSE_POSITIVE = "false-positive"
    ACCEPTED_RISK = "accepted-risk"
    DEFERRED = "deferred"
    REOPENED = "reopened"


@dataclass(frozen=True, slots=True)
class Decision:
    """One entry of an issue's append-only decision history: who decided what, when, why."""

    issue_id: int
    """The tracked issue."""
    action: Action
    """What was decided."""
    reason: str
    """The justification, in words."""
    by: str
    """Who decided (the approver for an accepted risk)."""
    at: dt.datetime
    """When (UTC)."""
    expires: dt.date | None = None
    """Last day an accepted risk holds; afterwards the issue is open again."""
    target_release: str = ""
    """Release a deferral points to; from that release on the issue is open again."""
    decision_id: int = 0
    """The store's id for this entry (0 before it is stored)."""


@quick_init
@dataclass(frozen=True, slots=True)
class Reason:
    """One step of an explanation: which stage decided what, in words."""

    step: str
    """Stage that produced it, e.g. ``base-severity``, ``context``, ``policy``."""
    text: str
    """The reason in words, naming its inputs."""


@quick_init
@dataclass(frozen=True, slots=True)
class Tool:
    """The scanner that produced a finding."""

    name: str
    """Normalised driver name, lower case (``bandit``, ``ruff``, ``semgrep``)."""
    version: str = ""
    """Driver version, or semanticVersion when version is absent."""


@quick_init
@dataclass(frozen=True, slots=True)
class Location:
    """Where a finding sits in the source tree."""

    path: str
    """Repository-relative POSIX path, or ``""`` when the result has no file."""
    start_line: int | None = None
    """1-based first line."""
    end_line: int | None = None
    """1-based last line."""
    start_column: int | None = None
    """1-based first column."""
    snippet: str = ""
    """Text of the flagged line(s), as the scanner or the source tree gave it."""
    function: str = ""
    """The function or method enclosing ``start_line`` (``modbus_reply``, ``Class.method``),
    from SARIF ``logicalLocations`` or the source tree; ``""`` when unknown."""


@quick_init
@dataclass(frozen=True, slots=True)
class Provenance:
    """Where in which SARIF log a finding came from."""

    file: str
    """Base name of the SARIF file."""
    run: int
    """Index into ``runs``."""
    result: int
    """Index into ``runs[run].results``."""
    sha256: str = ""
    """sha256 of the SARIF file's bytes."""


@quick_init
@dataclass(frozen=True, slots=True)
class Finding:
    """One SARIF result, normalised."""

    tool: Tool
    """The scanner."""
    rule_id: str
    """Resolved rule id."""
    rule_name: str
    """Rule name, or the id when the log has no name."""
    message: str
    """Message text."""
    location: Location
    """Primary location."""
    level: str
    """Effective SARIF level after defaulting (SARIF §3.27.10): error, warning, note, none."""
    kind: str
    """SARIF kind (§3.27.9): only ``fail`` is a defect; ``review``/``open`` need a human."""
    provenance: Provenance
    """SARIF file, run and result index."""
    native_severity: str = ""
    """The tool's own severity (bandit ``issue_severity``), upper case, or ``""``."""
    native_confidence: str = ""
    """The tool's own confidence (bandit ``issue_confidence``), or ``""``."""
    security_severity: float | None = None
    """``security-severity`` (a CVSS-like score), from the result or else the rule."""
    cwe_ids: tuple[int, ...] = ()
    """CWE ids from the rule's tags."""
    tags: tuple[str, ...] = ()
    """Rule tags as the tool wrote them."""
    suppression: Suppression = Suppression.ACTIVE
    """Suppression state."""
    tool_fingerprints: tuple[tuple[str, str], ...] = ()
    """The tool's ``fingerprints:KEY`` (placeholders removed) and ``partialFingerprints:KEY``
    pairs; see ``identity_fingerprints`` for those that identify a result alone."""
    fingerprint: str = ""
    """Our content fingerprint: tool, rule, path, normalised flagged text, occurrence index."""
    rank: float | None = None
    """SARIF ``rank`` (§3.27.28) on the spec's 0-100 scale, or None when absent."""

    @property
    def identity_fingerprints(self) -> tuple[tuple[str, str], ...]:
        """The tool fingerprints that identify a result on their own (SARIF §3.27.16).

        ``partialFingerprints`` (§3.27.17) are hash inputs that several results may share,
        so they are left out.
        """
        return tuple(fp for fp in self.tool_fingerprints if fp[0].startswith("fingerprints:"))


@dataclass(frozen=True, slots=True)
class ScanInput:
    """One tool's findings read from SARIF, before scoring: what ingest hands the pipeline."""

    tool: Tool
    """The scanner."""
    findings: tuple[Finding, ...]
    """Every result, none dropped."""
    sarif_files: tuple[str, ...]
    """Base names of the SARIF logs it came from."""
    sarif_sha256: str
    """sha256 over the logs' bytes (in the order given)."""
    successful: bool = True
    """False when an invocation reported ``executionSuccessful: false``."""
    not_analysed: tuple[str, ...] = ()
    """Files the tool said it could not analyse (parse errors, timeouts)."""
    notes: tuple[str, ...] = ()
    """Run-health notes in words, for reports."""


Fingerprint = tuple[str, str]
"""A tool fingerprint as a (``fingerprints:KEY``, value) pair."""

Identity = tuple[tuple[str, int, int], tuple[Fingerprint, ...]]
"""A finding's place (its log's sha256, run and result index) and its
``identity_fingerprints``."""


class NotContiguous(Exception):
    """A log read in chunks as it streams turned out to need the spool.

    Its results do not hold each file's findings together, several results carry one
    ``fingerprints`` value (a placeholder, known only once the whole run is read), or a
    ``fingerprints`` value moved to a file stored before the move was known. Whatever was
    stored from it is rolled back and the log is read again through the spool.
    """


class ReadAgain(Exception):
    """A log read in one pass (its tool before its results) turned out to need two.

    A member its results depend on follows them, it has a second run, or something in it
    is bad input, which the two passes report in their own order. Whatever was stored
    from it is rolled back and the log is read again: its outline first, then its results.
    """


@dataclass(frozen=True, slots=True)
class RowChunk:
    """A chunk of scored findings already turned into the store's rows (``SqlStore.rows``).

    What a reader process sends: plain rows cross a pipe and load far faster than records,
    and turning findings into rows is work the storing process then does not do.
    """

    rows: list[dict[str, Any]]
    """One row of the store's occurrence columns per finding, in the chunk's order."""
    identity: list[tuple[tuple[str, str], ...]]
    """Each finding's ``identity_fingerprints``, in the same order."""

    def __len__(self) -> int:
        return len(self.rows)


class ScoredChunks:
    """A scan's scored findings in chunks, each holding every finding of its files.

    What a streamed ingest hands the store: the store links and writes chunk by chunk, so a
    scan of a million findings never sits in memory at once. A chunk is its scored findings,
    or the rows the store makes of them (``RowChunk``).
    """

    def __init__(self, chunks: Iterable[Sequence[ScoredFinding] | RowChunk],
                 header: Callable[[], ScanInput] | None = None,
                 identities: Callable[[], Iterator[Identity]] | None = None,
                 ) -> None:
        self._chunks = chunks
        self.header = header
        """The scan's final header, to ask once every chunk was taken (reading the results
        may add files not analysed and notes); None when the header given is final."""
        self.identities = identities
        """Every finding's ``identity_fingerprints`` in log order with the finding's place
        (``Identity``), known before the first chunk (a spool knows them); None when they
        arrive only with the chunks."""

    def __iter__(self) -> Iterator[Sequence[ScoredFinding] | RowChunk]:
        return iter(self._chunks)


@quick_init
@dataclass(frozen=True, slots=True)
class Exposure:
    """What the threat model says about the component a finding belongs to."""

    component_id: str
    """Component id, or ``unmodelled``."""
    component_kind: str
    """Component kind (protocol-parser, test, ...)."""
    tier: Tier
    """Risk tier of the component."""
    exposure: int
    """Exposure score X(c): best entry reach minus attacker effort."""
    asset_value: float
    """Relative attacker attractiveness RAA(c), 1..100."""
    unauthenticated_from_untrusted: bool
    """Reachable with no credentials from an adjacent or wider entry point."""
    reachable: bool = True
    """Some entry point reaches the component (unknown counts as reachable)."""
    out_of_scope: bool = False
    """Declared out of scope in the model."""
    justification: str = ""
    """Out-of-scope justification from the model."""
    matched_glob: str = ""
    """The ``paths`` glob that put the file in this component."""
    reasons: tuple[str, ...] = ()
    """Why the component has this tier, in order."""
    matched_function_glob: str = ""
    """The ``functions`` glob that picked this component for the finding's enclosing
    function, when a function selector did."""

    @property
    def is_test(self) -> bool:
        """True for test code."""
        return self.component_kind == "test"


UNMODELLED = Exposure(
    component_id="unmodelled",
    component_kind="unmodelled",
    tier=Tier.MEDIUM,
    exposure=0,
    asset_value=0.0,
    unauthenticated_from_untrusted=False,
    reasons=("no component's paths match this file: default tier medium (a model gap)",),
)
"""Exposure of a finding whose file no component claims."""

NO_MODEL = Exposure(
    component_id="unmodelled",
    component_kind="no-model",
    tier=Tier.MEDIUM,
    exposure=0,
    asset_value=0.0,
    unauthenticated_from_untrusted=False,
    reasons=("no threat model was given: the finding is rated on its own severity",),
)
"""Exposure of every finding ingested without a threat model."""


@quick_init
@dataclass(frozen=True, slots=True)
class ScoredFinding:
    """A finding with its severities, risk score and the reasons behind each number."""

    finding: Finding
    """The finding."""
    exposure: Exposure
    """Its component."""
    base_severity: Severity
    """Severity before the threat model."""
    severity: Severity
    """Contextual severity: the rating the SL policy reads."""
    risk_score: int
    """0..100, orders the work inside a must-fix set."""
    explain: tuple[Reason, ...] = ()
    """Ordered reasons for every number above."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a finding must be fixed at the target SL, and the rule that decided."""

    must_fix: bool
    """True when the policy requires a fix before release."""
    sl: SecurityLevel
    """The SL it was judged at."""
    disposition: str
    """``must-fix``, ``below-threshold``, ``out-of-scope``, ``suppressed``, ``needs-review``."""
    reason: str
    """The policy rule that decided, in words (DM-4)."""
    mode: str = "severity"
    """SL policy mode that judged: ``severity``, ``capability`` or ``combined``."""
    disagreement: str = ""
    """``combined`` mode: why the two modes disagree (for a human to review), else ``""``."""


@dataclass(frozen=True, slots=True)
class Release:
    """A product release, in release order."""

    product: str
    """Product name."""
    name: str
    """Release name (a version)."""
    seq: float
    """Position in the product's release order."""
    target_sl: SecurityLevel | None = None
    """Target SL recorded from the threat model at ingest."""
    key: int = 0
    """The store's handle for it."""
    released: dt.date | None = None
    """Release date (``--released``, else the ingest day; the day it was first stored for a
    release stored before release dates were kept); None when not known."""


@dataclass(frozen=True, slots=True)
class ScanSummary:
    """One tool's scan of one release, as stored."""

    tool: Tool
    """The scanner."""
    sarif_sha256: str
    """Hash of the SARIF log(s)."""
    findings: int
    """Occurrences stored."""
    successful: bool
    """False when the run reported failure."""
    not_analysed: tuple[str, ...] = ()
    """Files the tool reported it could not analyse."""


@dataclass(frozen=True, slots=True)
class RecordedScope:
    """The scope phase a release was triaged in, as the store keeps it (SM-5)."""

    name: str
    """``all``, ``high-risk`` or the name of a globs file."""
    justification: str
    """The documented reason for the phase."""
    globs: tuple[str, ...] = ()
    """Path globs of a file scope."""
    changed: tuple[str, ...] = ()
    """Files changed since the previous release (always in scope, SI-1)."""


@dataclass(frozen=True, slots=True)
class IssueRow:
    """A tracked issue's occurrence in one release, with its status and provenance."""

    issue_id: int
    """Stable id of the tracked issue."""
    status: Status
    """Status in this release relative to the previous one."""
    tool: str
    """Scanner name."""
    rule_id: str
    """Rule id."""
    path: str
    """File."""
    line: int | None
    """Line in this release (or in the previous one for fixed issues)."""
    severity: Severity
    """Contextual severity."""
    component: str
    """Component id."""
    link: str = ""
    """Identity layer that linked it to the previous release."""
    from_prov: Provenance | None = None
    """Where it was in the previous release's SARIF."""
    to_prov: Provenance | None = None
    """Where it is in this release's SARIF."""
    message: str = ""
    """Message text."""


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What one ``ingest`` call did."""

    release: Release
    """The release ingested into."""
    scans: tuple[ScanSummary, ...]
    """Scans stored (or found already stored)."""
    skipped: tuple[str, ...] = ()
    """Tools whose identical log was already stored (re-ingest is a no-op)."""
    counts: tuple[tuple[str, int], ...] = ()
    """Status counts (status, n) for the release after this ingest."""
    notes: tuple[str, ...] = ()
    """What the user should know about this ingest (a threat model taken from the store)."""


@dataclass(frozen=True, slots=True)
class TriagedFinding:
    """A stored finding with its tracked issue, status and verdict: one line of a report."""

    issue_id: int
    """Tracked issue id (stable across releases)."""
    scored: ScoredFinding
    """The finding and its scores."""
    verdict: Verdict
    """The SL policy's verdict."""
    status: Status
    """Status against the previous release."""
    decision: Decision | None = None
    """The issue's current triage decision, if any."""


@dataclass(frozen=True, slots=True)
class ReleaseReport:
    """Everything a release report shows; every format renders this one record."""

    product: str
    """Product name."""
    release: str
    """Release name."""
    previous: str
    """Previous release name, or ``""``."""
    sl: SecurityLevel
    """SL the verdicts were judged at."""
    policy: str
    """Policy wording at that SL."""
    sl_definition: str
    """Quoted definition of that SL."""
    generated_at: str
    """ISO timestamp (injected clock)."""
    tool_version: str
    """triage version."""
    findings: tuple[TriagedFinding, ...]
    """Every finding of the release, by risk score."""
    fixed: tuple[IssueRow, ...]
    """Issues fixed since the previous release."""
    scans: tuple[ScanSummary, ...]
    """Scans and their run health."""
    must_fix_by_sl: tuple[tuple[SecurityLevel, int], ...]
    """Must-fix count at each SL."""
    model_gaps: tuple[str, ...]
    """Paths no threat-model component claims."""
    mode: str = "severity"
    """SL policy mode the verdicts were judged in."""
    threat_model_given: bool = True
    """False when the release was ingested without a threat model."""
    scope: str = "all"
    """SM-5 scope phase the release was judged in (``all``, ``high-risk``, a globs file)."""
    scope_justification: str = ""
    """Why that scope (SM-5: justified by the documented security analysis)."""

    @property
    def disagreements(self) -> tuple[TriagedFinding, ...]:
        """``combined`` mode: findings the two modes judge differently and no human decided."""
        return tuple(t for t in self.findings if t.verdict.disagreement and t.decision is None)

    @property
    def must_fix(self) -> tuple[TriagedFinding, ...]:
        """The findings that must be fixed at ``sl``."""
        return tuple(t for t in self.findings if t.verdict.must_fix)

    def status_counts(self) -> dict[str, int]:
        """Count of findings per status, with fixed issues."""
        counts: dict[str, int] = {s.value: 0 for s in Status}
        for t in self.findings:
            counts[t.status.value] += 1
        for r in self.fixed:
            counts[r.status.value] += 1
        return counts

    def disposition_counts(self) -> dict[str, int]:
        """Count of findings per verdict disposition."""
        counts: dict[str, int] = {}
        for t in self.findings:
            counts[t.verdict.disposition] = counts.get(t.verdict.disposition, 0) + 1
        return dict(sorted(counts.items()))


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """One release in the trend."""

    release: str
    """Release name."""
    must_fix_by_sl: tuple[tuple[SecurityLevel, int], ...]
    """Open must-fix findings at each SL."""
    new: int
    """New issues."""
    fixed: int
    """Issues fixed since the previous release."""
    persisting: int
    """Issues carried over."""
    reintroduced: int
    """Issues that came back."""
    not_analysed: int
    """Issues in files a tool could not analyse (neither fixed nor present)."""
    total: int
    """Findings in the release."""
    must_fix_open: int = 0
    """Must-fix at the trend's SL after triage decisions: the backlog the burn-down shows."""
    must_fix_new: int = 0
    """Must-fix at the trend's SL that were not must-fix in the previous release."""
    must_fix_fixed: int = 0
    """Must-fix of the previous release that no longer are (fixed, or decided otherwise)."""
    high_risk_components: tuple[str, ...] = ()
    """High- and critical-tier components known at this release, sorted."""
    high_risk_clean: tuple[str, ...] = ()
    """Those of ``high_risk_components`` with no must-fix finding at the trend's SL."""
    released: dt.date | None = None
    """The release's date, or None when not known."""


@dataclass(frozen=True, slots=True)
class FixTime:
    """How long one fixed issue stayed open, in releases and days (SM-11 closure evidence)."""

    issue_id: int
    """Tracked issue id."""
    severity: Severity
    """Contextual severity when it was last seen."""
    opened: str
    """Release it appeared in (last appearance when it was reintroduced)."""
    fixed: str
    """Release in which it was first absent."""
    releases: int
    """Releases from ``opened`` to ``fixed`` (1: fixed in the next release)."""
    days: int | None = None
    """Days from the release date of ``opened`` to that of ``fixed``; None when either date
    is unknown."""


@dataclass(frozen=True, slots=True)
class TrendReport:
    """The product across its releases (SM-13 continuous improvement evidence)."""

    product: str
    """Product name."""
    sl: SecurityLevel
    """Target SL highlighted."""
    generated_at: str
    """ISO timestamp (injected clock)."""
    tool_version: str
    """triage version."""
    points: tuple[TrendPoint, ...]
    """One point per release, in release order."""
    fixes: tuple[FixTime, ...] = ()
    """Every fix across the releases, in release order then issue id."""


@dataclass(frozen=True, slots=True)
class Explanation:
    """The whole chain behind one tracked issue's verdicts in one release (``triage explain``)."""

    product: str
    """Product name."""
    release: str
    """Release the occurrence was read from."""
    issue_id: int
    """Tracked issue id."""
    status: Status
    """Status against the previous release."""
    scored: ScoredFinding
    """The finding, its component, severities, risk score and their reasons."""
    capability: Capability
    """Attacker capability class needed to exploit it."""
    capability_reasons: tuple[Reason, ...]
    """Why that class: the CWE table rows and the component's reach."""
    target_sl: SecurityLevel
    """The release's target SL (the threat model's, else SL-2)."""
    verdicts: tuple[Verdict, ...]
    """The verdict at every SL in every mode, mode by mode, SL-1 first."""
    decision: Decision | None = None
    """The issue's current triage decision, already applied to ``verdicts``."""
    threat_model_given: bool = True
    """False when the release was ingested without a threat model."""
