"""Producer adapters: the registry, each adapter's meaning, and golden summaries per adapter.

The golden files (tests/ingest/golden/<adapter>.json) summarise what each adapter makes of
every real log it claims; ``pytest --update-golden`` rewrites them, and reviewers read the diff.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from triage.ingest.adapters import ADAPTERS, GENERIC, RawResult, adapter_for
from triage.ingest.adapters.clang import checker_cwes, native_severity
from triage.ingest.paths import PathNormaliser
from triage.ingest.sarif import read_sarif
from triage.model import Finding, Location, Provenance, ScanInput, Tool

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "sample_sarif" / "pymodbus"
DATA = REPO / "tests" / "data" / "sarif"
GOLDEN = Path(__file__).parent / "golden"

LOGS = sorted(SAMPLES.glob("*/*.sarif")) + sorted(DATA.glob("*.sarif"))


def _rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def _summary(scan: ScanInput) -> dict[str, Any]:
    def count(values: Any) -> dict[str, int]:
        return dict(sorted(Counter(str(v) for v in values).items()))

    fs = scan.findings
    return {
        "tool": scan.tool.name,
        "version": scan.tool.version,
        "findings": len(fs),
        "levels": count(f.level for f in fs),
        "kinds": count(f.kind for f in fs),
        "native_severity": count(f.native_severity for f in fs if f.native_severity),
        "native_confidence": count(f.native_confidence for f in fs if f.native_confidence),
        "rank": count(f.rank for f in fs if f.rank is not None),
        "cwe": count(c for f in fs for c in f.cwe_ids),
        "suppression": count(f.suppression.value for f in fs),
        "identity_fingerprints": sum(1 for f in fs if f.identity_fingerprints),
        "partial_fingerprints": sum(
            1 for f in fs if len(f.tool_fingerprints) > len(f.identity_fingerprints)
        ),
        "not_analysed": list(scan.not_analysed),
        "notes": len(scan.notes),
        "successful": scan.successful,
        "first": [
            {
                "rule": f.rule_id,
                "path": f.location.path,
                "line": f.location.start_line,
                "level": f.level,
                "native_severity": f.native_severity,
                "native_confidence": f.native_confidence,
                "rank": f.rank,
                "cwe": list(f.cwe_ids),
            }
            for f in fs[:3]
        ],
    }


@pytest.fixture(scope="module")
def by_adapter() -> dict[str, dict[str, Any]]:
    """Every real log, each scan summarised under the adapter that read it."""
    out: dict[str, dict[str, Any]] = {name: {} for name in ADAPTERS}
    for path in LOGS:
        for scan in read_sarif([path]):
            name = adapter_for(scan.tool.name).name
            out[name][f"{_rel(path)}#{scan.tool.name}"] = _summary(scan)
    return out


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_golden_summary_per_adapter(by_adapter, name: str, update_golden: bool) -> None:
    got = by_adapter[name]
    assert got, f"no real log in the corpus is read by the {name} adapter"
    golden = GOLDEN / f"{name}.json"
    text = json.dumps({"adapter": name, "logs": got}, indent=1, sort_keys=True) + "\n"
    if update_golden:
        golden.write_text(text, encoding="utf-8")
    assert golden.read_text(encoding="utf-8") == text


def test_registry_picks_adapters_by_driver_name() -> None:
    assert list(ADAPTERS)[-1] == "generic"
    cases = {
        "Bandit": "bandit", "bandit": "bandit", "ruff": "ruff", "Semgrep OSS": "semgrep",
        "Semgrep PRO": "semgrep", "CodeQL": "codeql", "CodeQL command-line toolchain": "codeql",
        "Flawfinder": "flawfinder", "lgtm.com": "generic", "CodeQLish": "generic",
        "PREfast": "generic",
    }
    assert {d: adapter_for(d).name for d in cases} == cases
    assert adapter_for("Semgrep OSS").tool_name("Semgrep OSS") == "semgrep"
    assert adapter_for("CodeQL").tool_name("CodeQL") == "codeql"
    assert GENERIC.tool_name(" PREfast ") == "prefast"
    for name, adapter in ADAPTERS.items():
        assert adapter.name == name
        assert adapter.__doc__ and adapter.adapt.__doc__ and adapter.parse_failure.__doc__


def _rules(doc: dict[str, Any], run: int = 0) -> dict[str, dict[str, Any]]:
    tool = doc["runs"][run]["tool"]
    rules = list(tool["driver"].get("rules", []))
    for ext in tool.get("extensions", []):
        rules += ext.get("rules", [])
    return {r["id"]: r for r in rules}


def test_semgrep_confidence_comes_from_the_rule_tags() -> None:
    seen: Counter[str] = Counter()
    for path in sorted(SAMPLES.glob("*/semgrep.sarif")):
        doc = json.loads(path.read_bytes())
        rules = _rules(doc)
        (scan,) = read_sarif([path])
        for f in scan.findings:
            tags = [t for t in rules[f.rule_id]["properties"]["tags"] if t.endswith(" CONFIDENCE")]
            assert len(tags) <= 1
            assert f.native_confidence == (tags[0].split()[0] if tags else "")
            assert f.identity_fingerprints == ()  # "requires login" is no identity
            seen[f.native_confidence] += 1
    assert set(seen) >= {"LOW", "MEDIUM"}


def test_codeql_precision_and_problem_severity() -> None:
    path = DATA / "vulnerable-node__codeql-results.sarif"
    doc = json.loads(path.read_bytes())
    (scan,) = read_sarif([path])
    assert (scan.tool.name, len(scan.findings)) == ("codeql", 28)
    rules = _rules(doc)
    precision = {"very-high": "HIGH", "high": "HIGH", "medium": "MEDIUM", "low": "LOW"}
    for f in scan.findings:
        props = rules[f.rule_id]["properties"]
        assert f.native_severity == props["problem.severity"].upper()
        assert f.native_confidence == precision[props["precision"]]
        assert f.security_severity == float(props["security-severity"])
        assert f.identity_fingerprints == ()
        assert any(k.startswith("partialFingerprints:") for k, _ in f.tool_fingerprints)


def test_flawfinder_rank_is_rescaled_and_cwe_comes_through_relationships() -> None:
    path = DATA / "flawfinder__test.c.sarif"
    doc = json.loads(path.read_bytes())
    results = doc["runs"][0]["results"]
    rules = _rules(doc)
    (scan,) = read_sarif([path])
    assert (scan.tool.name, scan.tool.version, len(scan.findings)) == ("flawfinder", "2.0.20", 55)
    for f, r in zip(scan.findings, results, strict=True):
        assert 0.0 <= r["rank"] <= 1.0
        assert f.rank == pytest.approx(r["rank"] * 100)
        assert f.native_severity == f"LEVEL {round(r['rank'] * 5)}"
        rels = rules[r["ruleId"]]["relationships"]
        assert f.cwe_ids and set(f.cwe_ids) == {int(x["target"]["id"][4:]) for x in rels}
        assert f.location.path == "test/test.c"
        region = r["locations"][0]["physicalLocation"]["region"]
        assert f.location.snippet == region["snippet"]["text"]
    # contextHash/v1 repeats on identical lines (gets(f); twice): those are dropped, the
    # unique ones kept as identities.
    hashes = Counter(r["fingerprints"]["contextHash/v1"] for r in results)
    for f, r in zip(scan.findings, results, strict=True):
        unique = hashes[r["fingerprints"]["contextHash/v1"]] == 1
        assert bool(f.identity_fingerprints) is unique


# --- clang static analyzer --------------------------------------------------------------

LLVM_ROOT = "/home/builder/src/llvm-project"
CLANG_TESTS = "clang/test/Analysis/diagnostics"


def _clang(name: str) -> tuple[dict[str, Any], ScanInput]:
    path = DATA / f"llvm-project__{name}.sarif"
    (scan,) = read_sarif([path], PathNormaliser(strip_prefixes=(LLVM_ROOT,)))
    return json.loads(path.read_bytes()), scan


def test_clang_registry_variants() -> None:
    # clang writes name "clang" and fullName "clang static analyzer"; its compiler
    # diagnostics (-fdiagnostics-format=sarif) share the name. The SARIF SDK's plist
    # converter ("Clang Analyzer") uses message texts as rule ids: another producer.
    cases = {"clang": "clang", " Clang ": "clang", "clang static analyzer": "clang",
             "Clang Analyzer": "generic", "clang-tidy": "generic"}
    assert {d: adapter_for(d).name for d in cases} == cases
    assert adapter_for("Clang Static Analyzer").tool_name("Clang Static Analyzer") == "clang"


def test_clang_multi_diagnostic_log() -> None:
    doc, scan = _clang("sarif-multi-diagnostic-test.c")
    run = doc["runs"][0]
    assert (run["tool"]["driver"]["name"], run["tool"]["driver"]["fullName"]) == (
        "clang", "clang static analyzer"
    )
    assert (scan.tool.name, scan.tool.version, scan.successful) == (
        "clang", "clang version unknown", True
    )
    path = f"{CLANG_TESTS}/sarif-multi-diagnostic-test.c"
    got = [
        (f.rule_id, f.rule_name, f.level, f.location.path, f.location.start_line,
         f.location.start_column, f.native_severity, f.cwe_ids)
        for f in scan.findings
    ]
    assert got == [
        ("debug.TaintTest", "debug.TaintTest", "warning", path, 11, 11, "INFO", ()),
        ("core.CallAndMessage", "core.CallAndMessage", "warning", path, 16, 3, "HIGH", (457,)),
        ("core.DivideZero", "core.DivideZero", "warning", path, 21, 14, "HIGH", (369,)),
        ("unix.Malloc", "unix.Malloc", "warning", path, 28, 12, "MEDIUM", (401,)),
        ("core.DivideZero", "core.DivideZero", "warning", path, 35, 20, "HIGH", (369,)),
    ]
    for f, r in zip(scan.findings, run["results"], strict=True):
        # The primary location is locations[0], never a step of the code flow, and clang
        # writes no snippet (no source tree given: none read).
        assert r["codeFlows"][0]["threadFlows"][0]["locations"]
        region = r["locations"][0]["physicalLocation"]["region"]
        assert f.location.start_line == region["startLine"]
        assert f.location.end_line == region.get("endLine", region["startLine"])
        assert f.location.snippet == ""
        assert f.message == r["message"]["text"]
        assert (f.kind, f.native_confidence, f.tags, f.tool_fingerprints) == ("fail", "", (), ())
        assert f.rank is None  # defaultConfiguration.rank -1 means no rank (SARIF 3.50.6)
    # The same checker on two lines: two findings, two fingerprints.
    divide = [f.fingerprint for f in scan.findings if f.rule_id == "core.DivideZero"]
    assert len(set(divide)) == 2


def test_clang_absolute_uris_without_strip_prefix_stay_absolute() -> None:
    path = DATA / "llvm-project__sarif-multi-diagnostic-test.c.sarif"
    (scan,) = read_sarif([path])
    assert {f.location.path for f in scan.findings} == {
        f"{LLVM_ROOT}/{CLANG_TESTS}/sarif-multi-diagnostic-test.c"
    }


def test_clang_null_dereference_with_issue_hash() -> None:
    doc, scan = _clang("sarif-multi-file-diagnostics.c")
    (r,) = doc["runs"][0]["results"]
    (f,) = scan.findings
    assert (f.rule_id, f.level, f.native_severity, f.cwe_ids) == (
        "core.NullDereference", "warning", "HIGH", (476,)
    )
    assert (f.location.path, f.location.start_line, f.location.end_line) == (
        f"{CLANG_TESTS}/sarif-multi-file-diagnostics.c", 11, 11
    )
    assert f.message == "Dereference of null pointer (loaded from variable 'p')"
    # clang/issueHash/v1 is a partial fingerprint (SARIF 3.27.17): kept, not an identity.
    assert f.tool_fingerprints == (
        ("partialFingerprints:clang/issueHash/v1", r["partialFingerprints"]["clang/issueHash/v1"]),
    )
    assert f.identity_fingerprints == ()


@pytest.mark.parametrize(
    ("checker", "message", "severity", "cwes"),
    [
        ("unix.Malloc", "Attempt to free released memory", "HIGH", (415,)),
        ("unix.Malloc", "Use of memory after it is freed", "HIGH", (416,)),
        ("unix.Malloc", "Use of memory after it is released", "HIGH", (416,)),
        ("unix.Malloc", "Potential memory leak", "MEDIUM", (401,)),
        ("unix.Malloc", "Argument to free() is the address of the local variable 'x'", "HIGH",
         ()),
        ("cplusplus.NewDelete", "Attempt to delete released memory", "HIGH", (415,)),
        ("cplusplus.NewDeleteLeaks", "Potential leak of memory pointed to by 'p'", "MEDIUM",
         (401,)),
        ("core.uninitialized.Assign", "The left expression of the compound assignment is an "
         "uninitialized value", "HIGH", (457,)),
        ("core.CallAndMessage", "Called function pointer is null (null dereference)", "HIGH",
         (476,)),
        ("security.ArrayBound", "Out of bound access to memory after the end of 'buf'", "HIGH",
         (788,)),
        ("alpha.security.ArrayBoundV2", "Out of bound access to memory preceding 'buf'", "HIGH",
         (786,)),
        ("security.insecureAPI.strcpy", "Call to function 'strcpy' is insecure", "MEDIUM",
         (120, 676)),
        ("security.insecureAPI.gets", "Call to function 'gets' is extremely insecure", "MEDIUM",
         (242,)),
        ("deadcode.DeadStores", "Value stored to 'x' is never read", "LOW", ()),
        ("unix.API", "Call to 'open' requires a 3rd argument", "MEDIUM", ()),
        # Families without a rating pass through like the generic adapter.
        ("osx.API", "Call to 'dispatch_once' uses a local variable", "", ()),
        ("nullability.NullPassedToNonnull", "Null passed to a callee", "", ()),
        # clang's compiler diagnostics share the driver name and use numeric rule ids.
        ("4265", "unused variable 'x'", "", ()),
    ],
)
def test_clang_checker_table(checker: str, message: str, severity: str, cwes: tuple[int, ...]):
    assert native_severity(checker, message) == severity
    assert checker_cwes(checker, message) == cwes


def test_clang_alpha_checkers_rate_low_confidence_and_keep_cwes_from_the_log() -> None:
    doc, _ = _clang("sarif-multi-file-diagnostics.c")
    rule = doc["runs"][0]["tool"]["driver"]["rules"][0]
    result = doc["runs"][0]["results"][0]
    finding = Finding(
        tool=Tool("clang"), rule_id="alpha.security.ArrayBoundV2", rule_name="x",
        message="Out of bound access to memory after the end of 'buf'",
        location=Location(path="a.c"), level="warning", kind="fail",
        provenance=Provenance(file="x.sarif", run=0, result=0), cwe_ids=(787,),
    )
    adapted = ADAPTERS["clang"].adapt(finding, RawResult(result, rule, True, {}, {}))
    assert (adapted.native_severity, adapted.native_confidence) == ("HIGH", "LOW")
    assert adapted.cwe_ids == (787, 788)  # the log's own CWE first, ours added
