"""clang static analyzer: checker names as rule ids, one level for all, no CWE.

``clang --analyze -Xclang -analyzer-output=sarif`` (and ``scan-build -sarif``) writes driver
``name`` ``clang``, ``fullName`` ``clang static analyzer``; rule ids are checker names
(``core.DivideZero``, ``unix.Malloc``), every result is ``level`` ``warning``, its path comes
as ``codeFlows``, its file as an absolute ``file://`` URI, and there are no snippets, no
CWE and no severity. What a result means is in its checker's family, and for the memory
checkers in its message (``unix.Malloc`` reports leaks, double frees and uses after free
alike). This adapter rates the families and names the obvious CWEs; checkers it does not
list, and clang's compiler diagnostics (the same driver name, numeric rule ids), pass
through as the generic adapter reads them.
"""

from __future__ import annotations

import re

from triage.ingest.adapters.base import RawResult, changed
from triage.ingest.adapters.generic import GenericAdapter
from triage.model import Finding

# Checker family -> clang's rating in words; first match wins (a key ending in "." is a
# prefix, any other key one checker). Families not listed keep no native severity.
_SEVERITY: tuple[tuple[str, str], ...] = (
    # The analyzer's own self-test checkers (debug.TaintTest...): no defect in the code.
    ("debug.", "INFO"),
    # Dead stores and unreachable code: code quality, no weakness.
    ("deadcode.", "LOW"),
    ("alpha.deadcode.", "LOW"),
    # A call to an API with a history of misuse, not a fault shown on a path.
    ("security.insecureAPI.", "MEDIUM"),
    # Undefined behaviour shown on a feasible path: null or garbage dereference, division by
    # zero, use of uninitialised memory, stack addresses escaping, bad shifts.
    ("core.", "HIGH"),
    # Heap misuse (double free, use after free); leaks are rated apart, by message.
    ("unix.Malloc", "HIGH"),
    ("cplusplus.NewDelete", "HIGH"),
    ("cplusplus.NewDeleteLeaks", "MEDIUM"),
    # Buffer bounds, taint and the CERT rules: the security families.
    ("security.", "HIGH"),
    ("alpha.security.", "HIGH"),
    ("optin.taint.", "HIGH"),
    # The rest of the POSIX API checkers (unix.API, unix.cstring.*, unix.Stream...): misuse
    # that crashes or leaks, seldom exploitable on its own.
    ("unix.", "MEDIUM"),
    ("cplusplus.", "MEDIUM"),
)

# The memory checkers report several weaknesses under one id; the message tells which.
_LEAK = re.compile(r"\bpotential (?:leak|memory leak)\b", re.IGNORECASE)
_HEAP = ("unix.Malloc", "cplusplus.NewDelete", "cplusplus.NewDeleteLeaks")
_BOUNDS = ("security.ArrayBound", "alpha.security.ArrayBoundV2", "alpha.security.ArrayBound")

# (checkers, message pattern or "" for any, CWE ids); first match wins. Only checkers whose
# weakness is plain from the id, or from the message where one id reports several.
_CWE: tuple[tuple[tuple[str, ...], str, tuple[int, ...]], ...] = (
    (("core.NullDereference", "core.NonNullParamChecker"), "", (476,)),
    (("core.DivideZero",), "", (369,)),
    (("core.uninitialized.",), "", (457,)),
    # "Called function pointer is an uninitialized pointer value", "... is null"...
    (("core.CallAndMessage",), r"uninitiali[sz]ed|undefined|garbage", (457,)),
    (("core.CallAndMessage",), r"\bnull\b", (476,)),
    (("core.StackAddressEscape",), "", (562,)),
    (("core.BitwiseShift",), "", (1335,)),
    # "Attempt to free released memory" (also "potentially released", "delete ...").
    (_HEAP, r"\breleased memory\b", (415,)),
    # "Use of memory after it is freed" (clang 18 and later; "released" before).
    (_HEAP, r"\bafter it is (?:freed|released)\b", (416,)),
    (_HEAP, _LEAK.pattern, (401,)),
    (("unix.MismatchedDeallocator",), "", (762,)),
    # The message says where the access falls, not whether it reads or writes, so the CWE is
    # the "before start" / "after end" pair rather than out-of-bounds read (125) or write
    # (787); with neither word, their parent.
    (_BOUNDS, r"\bpreceding\b", (786,)),
    (_BOUNDS, r"\bafter the end\b", (788,)),
    (_BOUNDS, "", (119,)),
    (("security.insecureAPI.strcpy",), "", (120, 676)),
    (("security.insecureAPI.gets",), "", (242,)),
    (("security.insecureAPI.rand",), "", (338,)),
    (("security.insecureAPI.mktemp",), "", (377,)),
    (("security.insecureAPI.UncheckedReturn",), "", (252,)),
)


def _is(checker: str, key: str) -> bool:
    """True when ``checker`` is ``key``, or lies in the family ``key`` ends with a dot."""
    return checker.startswith(key) if key.endswith(".") else checker == key


def native_severity(checker: str, message: str) -> str:
    """The rating of one result in words (``HIGH`` .. ``INFO``), or ``""`` if unlisted."""
    if checker in _HEAP and _LEAK.search(message):
        # A leak wastes memory; it does not corrupt the heap.
        return "MEDIUM"
    for key, word in _SEVERITY:
        if _is(checker, key):
            return word
    return ""


def checker_cwes(checker: str, message: str) -> tuple[int, ...]:
    """CWE ids the checker (and, for the memory checkers, the message) stands for."""
    for keys, pattern, cwes in _CWE:
        if any(_is(checker, k) for k in keys) and (
            not pattern or re.search(pattern, message, re.IGNORECASE)
        ):
            return cwes
    return ()


class ClangAdapter(GenericAdapter):
    """The checker family as native severity, its CWE where plain; ``alpha.*`` low confidence."""

    name = "clang"
    names = ("clang", "clang static analyzer")

    def tool_name(self, driver_name: str) -> str:
        """One name for the analyzer however the driver spells it."""
        return "clang"

    def adapt(self, finding: Finding, raw: RawResult) -> Finding:
        """Rate the result by checker family; add the checker's CWE to any the log gave."""
        checker = finding.rule_id
        cwes = finding.cwe_ids + tuple(
            c for c in checker_cwes(checker, finding.message) if c not in finding.cwe_ids
        )
        return changed(
            finding,
            native_severity=native_severity(checker, finding.message),
            # clang's documentation calls alpha checkers experimental, with known false
            # positives; the others are not rated.
            native_confidence="LOW" if checker.startswith("alpha.") else "",
            cwe_ids=cwes,
        )
