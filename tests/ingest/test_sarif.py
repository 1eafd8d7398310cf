"""Reading real SARIF: bandit, ruff and semgrep on eight pymodbus releases, and public logs.

Every expectation is checked against what the scanners really wrote (see
../shared/sarif-corpus/README.md), mostly by comparing each Finding with its raw JSON result.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from triage.ingest.paths import PathNormaliser
from triage.ingest.sarif import load_log, read_sarif
from triage.model import Finding, Location, ScanInput, Suppression

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "sample_sarif" / "pymodbus"
DATA = REPO / "tests" / "data" / "sarif"
RAW_RUFF = DATA / "ruff-raw-absolute-uris__pymodbus-3.16.1.sarif"
BUILD_DIR = "/home/builder/src/pymodbus-3.16.1"

RELEASES = ("2.1.0", "2.3.0", "2.5.3", "3.0.0", "3.3.0", "3.6.9", "3.9.2", "3.16.1")
# runs[0].results per release, from the corpus README's table.
COUNTS = {
    "2.1.0": {"bandit": 39, "ruff": 101, "semgrep": 50},
    "2.3.0": {"bandit": 142, "ruff": 169, "semgrep": 53},
    "2.5.3": {"bandit": 154, "ruff": 182, "semgrep": 58},
    "3.0.0": {"bandit": 53, "ruff": 120, "semgrep": 38},
    "3.3.0": {"bandit": 824, "ruff": 840, "semgrep": 68},
    "3.6.9": {"bandit": 363, "ruff": 374, "semgrep": 52},
    "3.9.2": {"bandit": 5, "ruff": 12, "semgrep": 51},
    "3.16.1": {"bandit": 4, "ruff": 12, "semgrep": 53},
}
VERSIONS = {"bandit": "1.9.4", "ruff": "0.17.6", "semgrep": "1.185.0"}

_cache: dict[Path, Any] = {}


def raw(path: Path) -> dict[str, Any]:
    """The log as JSON (cached; callers must not modify it)."""
    if path not in _cache:
        _cache[path] = json.loads(path.read_bytes())
    return _cache[path]


def scan(path: Path, normaliser: PathNormaliser | None = None) -> ScanInput:
    scans = read_sarif([path], normaliser)
    assert len(scans) == 1
    return scans[0]


def log(release: str, tool: str) -> Path:
    return SAMPLES / release / f"{tool}.sarif"


def rules_by_id(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in doc["runs"][0]["tool"]["driver"].get("rules", [])}


def primary(result: dict[str, Any]) -> dict[str, Any]:
    return result["locations"][0]["physicalLocation"]


@pytest.fixture(scope="module")
def releases() -> dict[str, dict[str, ScanInput]]:
    """All 24 logs, read one release at a time as the pipeline does."""
    out = {}
    for release in RELEASES:
        scans = read_sarif(sorted((SAMPLES / release).glob("*.sarif")))
        out[release] = {s.tool.name: s for s in scans}
    return out


# --- counts, provenance, nothing dropped ------------------------------------------------


@pytest.mark.parametrize("release", RELEASES)
def test_result_counts_match_the_corpus_table(releases, release: str) -> None:
    scans = releases[release]
    assert {t: len(s.findings) for t, s in scans.items()} == COUNTS[release]
    for tool, s in scans.items():
        doc = raw(log(release, tool))
        assert len(doc["runs"]) == 1
        assert len(s.findings) == len(doc["runs"][0]["results"])
        # Nothing dropped, nothing reordered: one finding per result, in log order.
        assert [(f.provenance.file, f.provenance.run, f.provenance.result) for f in s.findings] == [
            (f"{tool}.sarif", 0, i) for i in range(len(s.findings))
        ]
        assert s.tool.version == VERSIONS[tool]
        assert s.sarif_files == (f"{tool}.sarif",)
        assert len(s.sarif_sha256) == 64
        assert s.successful is True
        assert all(f.tool == s.tool for f in s.findings)
        assert all(f.kind == "fail" for f in s.findings)
        assert all(f.suppression is Suppression.ACTIVE for f in s.findings)
        # Our fingerprint tells every finding of a scan apart.
        assert len({f.fingerprint for f in s.findings}) == len(s.findings)


def test_locations_and_messages_match_the_raw_results(releases) -> None:
    for release in RELEASES:
        for tool, s in releases[release].items():
            results = raw(log(release, tool))["runs"][0]["results"]
            for f, r in zip(s.findings, results, strict=True):
                phys = primary(r)
                region = phys["region"]
                assert f.rule_id == r["ruleId"]
                assert f.message == r["message"]["text"]
                assert f.location.path == phys["artifactLocation"]["uri"]
                assert f.location.start_line == region["startLine"]
                assert f.location.end_line == region.get("endLine", region["startLine"])
                assert f.location.start_column == region.get("startColumn")


def test_sha256_differs_per_log_and_is_stable(releases) -> None:
    hashes = [s.sarif_sha256 for r in RELEASES for s in releases[r].values()]
    assert len(set(hashes)) == 24
    again = scan(log("3.16.1", "bandit"))
    assert again.sarif_sha256 == releases["3.16.1"]["bandit"].sarif_sha256


def test_load_log_returns_document_and_bytes() -> None:
    path = log("3.16.1", "bandit")
    doc, data = load_log(path)
    assert data == path.read_bytes()
    assert doc == raw(path)


# --- bandit -----------------------------------------------------------------------------


def test_bandit_severity_confidence_and_level(releases) -> None:
    seen_medium = 0
    for release in RELEASES:
        s = releases[release]["bandit"]
        results = raw(log(release, "bandit"))["runs"][0]["results"]
        for f, r in zip(s.findings, results, strict=True):
            props = r["properties"]
            assert f.native_severity == props["issue_severity"]
            assert f.native_confidence == props["issue_confidence"]
            if props["issue_severity"] == "MEDIUM":
                # bandit writes no level for MEDIUM: the SARIF default, warning.
                assert "level" not in r
                assert f.level == "warning"
                seen_medium += 1
            elif props["issue_severity"] == "LOW":
                assert (r["level"], f.level) == ("note", "note")
            else:
                assert f.level == r["level"] == "error"
    assert seen_medium == 9  # 2.1.0: 1, 2.3.0: 1, 3.3.0: 1, 3.6.9: 2, 3.9.2: 2, 3.16.1: 2


def test_bandit_cwe_tags_and_snippets(releases) -> None:
    for release in RELEASES:
        s = releases[release]["bandit"]
        doc = raw(log(release, "bandit"))
        rules = rules_by_id(doc)
        for f, r in zip(s.findings, doc["runs"][0]["results"], strict=True):
            tags = rules[r["ruleId"]]["properties"]["tags"]
            cwe = [t for t in tags if t.startswith("external/cwe/cwe-")]
            assert len(cwe) == 1
            assert f.cwe_ids == (int(cwe[0].rsplit("-", 1)[1]),)
            assert f.tags == tuple(tags)
            assert f.rule_name == rules[r["ruleId"]]["name"]
            assert f.location.snippet == primary(r)["region"]["snippet"]["text"]
            assert f.location.snippet.strip()
            assert f.tool_fingerprints == ()


def test_bandit_known_finding(releases) -> None:
    f = releases["3.16.1"]["bandit"].findings[0]
    assert (f.rule_id, f.rule_name) == ("B311", "blacklist")
    assert (f.location.path, f.location.start_line, f.location.start_column) == (
        "pymodbus/datastore/simulator.py",
        718,
        17,
    )
    assert f.cwe_ids == (330,)
    assert (f.level, f.native_severity, f.native_confidence) == ("note", "LOW", "HIGH")
    assert "random.randint(int(minval), int(maxval))" in f.location.snippet
    assert f.security_severity is None


def test_bandit_parse_failures_are_not_analysed(releases) -> None:
    s = releases["2.1.0"]["bandit"]
    inv = raw(log("2.1.0", "bandit"))["runs"][0]["invocations"][0]
    notes = inv["toolConfigurationNotifications"]
    assert inv["executionSuccessful"] is True
    assert {n["message"]["text"] for n in notes} == {"syntax error while parsing AST from file"}
    expected = {primary(n)["artifactLocation"]["uri"] for n in notes}
    assert len(expected) == 16
    assert set(s.not_analysed) == expected
    assert list(s.not_analysed) == sorted(expected)
    assert "pymodbus/client/async/serial.py" in s.not_analysed
    # Files bandit could not read do not make the run a failure: its other results stand.
    assert s.successful is True
    assert len(s.notes) == 16
    assert all("syntax error while parsing AST from file" in n for n in s.notes)
    for release in RELEASES[1:]:
        assert releases[release]["bandit"].not_analysed == ()
        assert releases[release]["bandit"].notes == ()


# --- ruff -------------------------------------------------------------------------------


def test_ruff_every_level_is_error(releases) -> None:
    for release in RELEASES:
        s = releases[release]["ruff"]
        assert {f.level for f in s.findings} == {"error"}
        assert all(f.cwe_ids == () and f.tool_fingerprints == () for f in s.findings)


def test_ruff_alone_has_no_snippets() -> None:
    # ruff writes no snippet, and no source tree was given.
    for release in RELEASES:
        assert {f.location.snippet for f in scan(log(release, "ruff")).findings} == {""}


def test_ruff_borrows_lines_other_logs_quoted(releases) -> None:
    """Read with bandit and semgrep, ruff's findings get the lines those tools quoted."""
    ruff = {
        (f.location.path, f.location.start_line): f for f in releases["3.16.1"]["ruff"].findings
    }
    bandit = releases["3.16.1"]["bandit"].findings[0]
    key = (bandit.location.path, bandit.location.start_line)
    assert key == ("pymodbus/datastore/simulator.py", 718)
    assert ruff[key].rule_id == "S311"
    assert ruff[key].location.snippet == bandit.location.snippet.rstrip("\n")
    # A line no other log quoted stays without a snippet.
    assert ruff[("pymodbus/utilities.py", 23)].location.snippet == ""


def test_ruff_invalid_syntax_is_not_analysed(releases) -> None:
    s = releases["2.1.0"]["ruff"]
    syntax = [f for f in s.findings if f.rule_id == "invalid-syntax"]
    assert len(syntax) == 47  # all "fixed" in 2.3.0 per the oracle
    # invalid-syntax is not in driver.rules: the id doubles as the name.
    assert "invalid-syntax" not in rules_by_id(raw(log("2.1.0", "ruff")))
    assert {f.rule_name for f in syntax} == {"invalid-syntax"}
    assert set(s.not_analysed) == {f.location.path for f in syntax}
    async_files = [p for p in s.not_analysed if p.startswith("pymodbus/client/async/")]
    assert len(async_files) == 11
    assert "pymodbus/client/async/tcp.py" in async_files
    # ruff and bandit agree on which files of 2.1.0 cannot be parsed.
    assert s.not_analysed == releases["2.1.0"]["bandit"].not_analysed
    assert s.successful is True
    for release in RELEASES[1:]:
        assert releases[release]["ruff"].not_analysed == ()


def test_ruff_absolute_uris_without_strip_prefix() -> None:
    s = scan(RAW_RUFF)
    assert len(s.findings) == 12
    for f in s.findings:
        assert f.location.path.startswith(BUILD_DIR + "/pymodbus/")
        assert "file:" not in f.location.path


def test_ruff_absolute_uris_with_strip_prefix_equal_the_relative_log() -> None:
    stripped = scan(RAW_RUFF, PathNormaliser(strip_prefixes=(BUILD_DIR,)))
    relative = scan(log("3.16.1", "ruff"))
    assert [f.location for f in stripped.findings] == [f.location for f in relative.findings]
    assert [f.location.path for f in stripped.findings] == [
        primary(r)["artifactLocation"]["uri"]
        for r in raw(log("3.16.1", "ruff"))["runs"][0]["results"]
    ]
    # Identity survives a change of build directory.
    assert [f.fingerprint for f in stripped.findings] == [f.fingerprint for f in relative.findings]
    assert [f.rule_id for f in stripped.findings] == [f.rule_id for f in relative.findings]


# --- semgrep ----------------------------------------------------------------------------


def test_semgrep_level_comes_from_the_rule(releases) -> None:
    levels_seen = set()
    for release in RELEASES:
        s = releases[release]["semgrep"]
        doc = raw(log(release, "semgrep"))
        rules = rules_by_id(doc)
        for f, r in zip(s.findings, doc["runs"][0]["results"], strict=True):
            assert "level" not in r
            assert f.level == rules[r["ruleId"]]["defaultConfiguration"]["level"]
            levels_seen.add(f.level)
    assert levels_seen == {"error", "warning", "note"}
    s = releases["3.16.1"]["semgrep"]
    assert sum(f.level == "error" for f in s.findings) == 1
    assert sum(f.level == "warning" for f in s.findings) == 52


def test_semgrep_placeholder_fingerprint_is_dropped(releases) -> None:
    for release in RELEASES:
        s = releases[release]["semgrep"]
        results = raw(log(release, "semgrep"))["runs"][0]["results"]
        assert {r["fingerprints"]["matchBasedId/v1"] for r in results} == {"requires login"}
        for f in s.findings:
            assert f.tool_fingerprints == ()
            assert "requires login" not in f.fingerprint


def test_semgrep_cwe_from_free_text_tags(releases) -> None:
    s = releases["3.16.1"]["semgrep"]
    by_rule = {f.rule_id: f for f in s.findings}
    xss = by_rule["python.django.security.injection.raw-html-format"]
    assert xss.cwe_ids == (79,)
    assert any(t.startswith("CWE-79: Improper Neutralization") for t in xss.tags)
    assert "MEDIUM CONFIDENCE" in xss.tags
    imp = by_rule["python.lang.security.audit.non-literal-import"]
    assert imp.cwe_ids == (706,)
    assert "OWASP-A01:2021 - Broken Access Control" in imp.tags
    # 2.1.0 fires dynamic-urllib-use-detected, tagged "CWE-939: Improper Authorization ...".
    old = {f.rule_id: f for f in releases["2.1.0"]["semgrep"].findings}
    assert old["python.lang.security.audit.dynamic-urllib-use-detected"].cwe_ids == (939,)
    # Rules without a CWE tag give none; OWASP ids are not mistaken for CWEs.
    for release in RELEASES:
        doc = raw(log(release, "semgrep"))
        rules = rules_by_id(doc)
        for f in releases[release]["semgrep"].findings:
            tags = rules[f.rule_id]["properties"].get("tags", [])
            expected = tuple(int(t[4:].split(":")[0]) for t in tags if t.startswith("CWE-"))
            assert f.cwe_ids == expected


def test_semgrep_srcroot_without_original_uri_base_ids(releases) -> None:
    for release in RELEASES:
        doc = raw(log(release, "semgrep"))
        assert "originalUriBaseIds" not in doc["runs"][0]
        results = doc["runs"][0]["results"]
        assert {primary(r)["artifactLocation"]["uriBaseId"] for r in results} == {"%SRCROOT%"}
        s = releases[release]["semgrep"]
        for f, r in zip(s.findings, results, strict=True):
            assert f.location.path == primary(r)["artifactLocation"]["uri"]
            assert not f.location.path.startswith(("/", "%"))
            assert f.location.snippet == primary(r)["region"]["snippet"]["text"]
    s = releases["3.16.1"]["semgrep"]
    assert s.tool.name == "semgrep"  # the driver calls itself "Semgrep OSS"
    assert s.tool.version == "1.185.0"  # from semanticVersion: semgrep writes no version
    assert s.not_analysed == ()


# --- public logs ------------------------------------------------------------------------


def test_codeql_rules_in_extensions_are_resolved() -> None:
    path = DATA / "demo-python__python.codeql.sarif"
    doc = raw(path)
    tool = doc["runs"][0]["tool"]
    assert tool["driver"]["rules"] == []
    s = scan(path)
    assert (s.tool.name, s.tool.version) == ("codeql", "2.19.3")
    assert len(s.findings) == 2
    for f, r in zip(s.findings, doc["runs"][0]["results"], strict=True):
        assert "level" not in r and "ruleIndex" not in r
        ref = r["rule"]
        rule = tool["extensions"][ref["toolComponent"]["index"]]["rules"][ref["index"]]
        assert rule["id"] == f.rule_id == "py/sql-injection"
        assert f.rule_name == rule["name"] != "(no rule)"
        # The level can only come from the extension's rule: defaultConfiguration error.
        assert f.level == rule["defaultConfiguration"]["level"] == "error"
        assert "external/cwe/cwe-089" in rule["properties"]["tags"]
        assert f.cwe_ids == (89,)
        assert f.security_severity == 8.8
        assert f.tags == tuple(rule["properties"]["tags"])
        assert f.location.path == "server/routes.py"  # %SRCROOT%, no originalUriBaseIds
        assert f.message == "This SQL query depends on a [user-provided value](1)."
        assert (
            "partialFingerprints:primaryLocationLineHash",
            r["partialFingerprints"]["primaryLocationLineHash"],
        ) in f.tool_fingerprints
    assert [f.location.start_line for f in s.findings] == [16, 22]


def test_codeql_every_result_finds_its_rule_and_cwe() -> None:
    """Each CodeQL rule with external/cwe tags yields exactly those CWEs."""
    path = DATA / "demo-python__python.codeql.sarif"
    doc = raw(path)
    extensions = doc["runs"][0]["tool"]["extensions"]
    for f, r in zip(scan(path).findings, doc["runs"][0]["results"], strict=True):
        rule = extensions[r["rule"]["toolComponent"]["index"]]["rules"][r["rule"]["index"]]
        tags = rule["properties"]["tags"]
        cwes = tuple(int(t.rsplit("-", 1)[1]) for t in tags if t.startswith("external/cwe/"))
        assert cwes and f.cwe_ids == cwes


def test_original_uri_base_ids_are_resolved() -> None:
    s = scan(DATA / "sarif-tutorials__OriginalUriBaseIds.sarif")
    # REPOROOT has no uri (left to the consumer), SRCROOT is "src/" under REPOROOT, and the
    # third result names the repository root itself: no file.
    assert [f.location.path for f in s.findings] == ["README.md", "src/io/kb.c", ""]
    assert [f.rule_id for f in s.findings] == ["TUT1001", "TUT1002", "TUT1003"]
    assert {f.level for f in s.findings} == {"warning"}  # no level, no rules: the default


def test_suppression_states() -> None:
    s = scan(DATA / "sarif-tutorials__Suppressions.sarif")
    results = raw(DATA / "sarif-tutorials__Suppressions.sarif")["runs"][0]["results"]
    assert len(s.findings) == len(results) == 9  # suppressed results are kept, never dropped
    states = [f.suppression for f in s.findings]
    A, S, P = Suppression.ACTIVE, Suppression.SUPPRESSED, Suppression.PENDING
    # DESIGN.md §5 and the SARIF tutorial "Displaying results in a viewer": accepted (or no
    # status) suppresses, underReview is pending, and any rejected or underReview suppression
    # means the result is not suppressed. (The sample's own messages call the last three
    # "hidden"; the tutorial's rule, which the SARIF SDK also follows, says otherwise.)
    assert states == [A, S, S, A, S, P, A, A, A]
    assert [f.message for f in s.findings] == [r["message"]["text"] for r in results]


def test_prefast_external_suppression_without_status_is_suppressed() -> None:
    s = scan(DATA / "sarif-sdk__PREfast-TFS378661.sarif")
    assert [f.suppression for f in s.findings] == [
        Suppression.SUPPRESSED,
        Suppression.ACTIVE,
        Suppression.ACTIVE,
        Suppression.ACTIVE,
    ]


def test_several_runs_of_one_tool_form_one_scan() -> None:
    path = DATA / "sarif-sdk__MultipleRuns.sarif"
    assert len(raw(path)["runs"]) == 2
    s = scan(path)
    assert s.tool.name == "workitemfiler testing"
    assert [(f.provenance.run, f.provenance.result) for f in s.findings] == [(0, 0), (0, 1), (1, 0)]
    assert [f.rule_id for f in s.findings] == ["TST0001", "TST0002", "TST0003"]
    assert [f.message for f in s.findings] == ["Error 1", "Error 2", "Error 3"]
    assert {f.level for f in s.findings} == {"error"}
    # These results have no locations at all.
    assert {f.location.path for f in s.findings} == {""}
    assert {f.location.start_line for f in s.findings} == {None}
    assert s.sarif_files == ("sarif-sdk__MultipleRuns.sarif",)


def test_runs_of_different_tools_form_separate_scans() -> None:
    scans = read_sarif([DATA / "codeql-action__valid-sarif.sarif"])
    assert [(s.tool.name, len(s.findings)) for s in scans] == [
        ("lgtm.com", 1),
        ("codeql command-line toolchain", 2),
    ]
    assert scans[1].findings[1].provenance.run == 1
    assert scans[1].findings[1].location.path == "src/promiseUtils.js"


def test_artifact_index_without_uri() -> None:
    path = DATA / "sarif-sdk__TEST1007.ValidateBaseline.LessResultsThanBaseline.sarif"
    s = scan(path)
    results = raw(path)["runs"][0]["results"]
    assert all(set(primary(r)["artifactLocation"]) == {"index"} for r in results)
    assert {f.location.path for f in s.findings} == {
        "FunctionalTestOutput.BaselineOption/ToBeValidated.sarif"
    }
    # message.id + arguments through the rule's messageStrings (SARIF 3.11.7). results[0]
    # is baselineState "absent" (not in this run), so the first finding is results[1].
    first = s.findings[0]
    assert (first.provenance.result, first.rule_id) == (1, "SARIF2003")
    assert first.message == (
        "runs[0]: This run does not provide 'versionControlProvenance'. As a result, it is not "
        "possible to determine which version of code was analyzed, nor to map relative paths "
        "to their locations within the repository."
    )
    assert first.rule_name == "ProvideVersionControlProvenance"
    assert all(f.message for f in s.findings)
    # SARIF2005 results have no level and the rule has no defaultConfiguration: warning.
    assert {f.level for f in s.findings if f.rule_id == "SARIF2005"} == {"warning"}


def test_cwe_from_taxa_and_rule_relationships() -> None:
    s = scan(DATA / "sarif-tutorials__standard-taxonomy.sarif")
    assert [f.cwe_ids for f in s.findings] == [(401,)]


def test_windows_file_uris_with_strip_prefix() -> None:
    path = DATA / "sarif-sdk__elfie-arriba.sarif"
    s = scan(path, PathNormaliser(strip_prefixes=("C:\\Code\\elfie-arriba",)))
    assert [f.location.path for f in s.findings] == [
        "XForm/XForm.Web/node_modules/eventsource/test/key.pem",
        "XForm/XForm.Web/node_modules/public-encrypt/test/test_key.pem",
        "XForm/XForm.Web/node_modules/public-encrypt/test/test_rsa_privkey.pem",
        "XForm/XForm.Web/node_modules/public-encrypt/test/test_rsa_privkey_encrypted.pem",
        "XForm/XForm.Web/node_modules/spdy/test/fixtures.js",
    ]
    # A hierarchical rule id is kept as written (SARIF 3.27.5).
    assert s.findings[0].rule_id == "CSCAN0060/0"
    assert s.findings[0].location.snippet == "-----BEGIN RSA PRIVATE KEY-----"
    prefast = scan(
        DATA / "sarif-sdk__PREfast-TFS378661.sarif",
        PathNormaliser(strip_prefixes=("D:/src/sarif-sdk/src",)),
    )
    assert {f.location.path for f in prefast.findings} == {
        "sarif.functionaltests/convertertestdata/prefast/src/fixedbugs/tfs378661.cpp"
    }


def test_code_flows_leave_the_primary_location_alone() -> None:
    path = DATA / "sarif-tutorials__CodeFlows.sarif"
    (result,) = raw(path)["runs"][0]["results"]
    flows = result["codeFlows"]
    assert len(flows) == 2 and all(len(f["threadFlows"][0]["locations"]) == 3 for f in flows)
    s = scan(path)
    assert (s.tool.name, s.tool.version, s.successful) == ("sarifsamples", "1.0", True)
    (f,) = s.findings  # two code flows are two paths to one result, not two findings
    assert (f.rule_id, f.rule_name) == ("TUT1001", "TUT1001")  # no rules: the id names it
    assert (f.kind, f.level) == ("fail", "warning")  # no level, no rule: SARIF 3.27.10
    assert f.message == "Use of uninitialized variable."
    assert f.cwe_ids == () and f.tags == () and f.tool_fingerprints == ()
    # The primary location is locations[0] (SARIF 3.27.12), never a thread flow step: the
    # flows start at line 15 ("int* ptr;") and pass lines 18 and 22.
    assert f.location == Location(
        path="collections/list.h",
        start_line=25,
        end_line=25,
        start_column=8,
        snippet="add_core(ptr, offset, val)",
        function="",  # logicalLocations sit on the flow steps, not on locations[0]
    )
    assert f.suppression is Suppression.ACTIVE


def test_fingerprinting2_empty_partial_fingerprints_and_no_region() -> None:
    path = DATA / "codeql-action__fingerprinting2.input.sarif"
    doc = raw(path)
    assert "$schema" not in doc
    (result,) = doc["runs"][0]["results"]
    assert result["partialFingerprints"] == {} and "fingerprints" not in result
    s = scan(path)
    assert (s.tool.name, s.tool.version) == (
        "codeql command-line toolchain",
        "2.0.0+202002031536",  # no version: semanticVersion
    )
    (f,) = s.findings
    assert (f.rule_id, f.rule_name) == ("cpp/missing-header-guard", "cpp/missing-header-guard")
    # No level, and the rule's defaultConfiguration is {}: "warning" (SARIF 3.27.10).
    assert (f.kind, f.level) == ("fail", "warning")
    assert (f.native_severity, f.native_confidence) == ("WARNING", "HIGH")
    assert f.message.startswith("This header file should contain a header guard")
    # external/jsf is no CWE tag; the rule has no CWE at all.
    assert f.cwe_ids == () and "external/jsf" in f.tags
    assert f.security_severity is None
    # An empty partialFingerprints object (SARIF 3.27.17) gives nothing to match on.
    assert f.tool_fingerprints == () and f.identity_fingerprints == ()
    assert f.fingerprint  # our own content fingerprint is still there
    # The result's artifactLocation has its own uri and an index whose artifact names another
    # file; the result's own uri is taken (SARIF 3.4.3, 3.4.5: the two should agree). No
    # originalUriBaseIds, so %SRCROOT% leaves the path relative. No region: a whole file.
    assert f.location == Location(path="no_header_guard.h")
    assert f.suppression is Suppression.ACTIVE


# --- several logs -----------------------------------------------------------------------


def test_one_scan_per_tool_from_several_logs(releases) -> None:
    scans = read_sarif([log("3.16.1", t) for t in ("semgrep", "bandit", "ruff")])
    assert [s.tool.name for s in scans] == ["semgrep", "bandit", "ruff"]
    assert [s.findings for s in scans] == [
        releases["3.16.1"][t].findings for t in ("semgrep", "bandit", "ruff")
    ]


def test_two_logs_with_the_same_name_are_both_hashed() -> None:
    """Logs of one tool in different folders often share a name (bandit.sarif)."""
    a, b = log("3.9.2", "bandit"), log("3.16.1", "bandit")
    both = read_sarif([a, b])
    assert len(both) == 1
    merged = both[0]
    assert len(merged.findings) == 5 + 4
    assert merged.sarif_files == ("bandit.sarif", "bandit.sarif")
    assert merged.sarif_sha256 != scan(a).sarif_sha256
    assert merged.sarif_sha256 != read_sarif([a, a])[0].sarif_sha256


def test_findings_are_frozen_records(releases) -> None:
    f = releases["3.16.1"]["bandit"].findings[0]
    assert isinstance(f, Finding)
    with pytest.raises(AttributeError):
        f.level = "error"  # type: ignore[misc]


# --- our fingerprint ----------------------------------------------------------------------


def _write(tmp_path: Path, name: str, doc: dict[str, Any]) -> Path:
    out = tmp_path / name
    out.write_text(json.dumps(doc), encoding="utf-8")
    return out


def test_fingerprint_survives_a_line_move(tmp_path: Path, releases) -> None:
    original = releases["3.16.1"]["bandit"]
    doc = copy.deepcopy(raw(log("3.16.1", "bandit")))
    region = primary(doc["runs"][0]["results"][0])["region"]
    region["startLine"] += 40
    region["endLine"] += 40
    moved = scan(_write(tmp_path, "bandit.sarif", doc))
    assert moved.findings[0].location.start_line == original.findings[0].location.start_line + 40
    assert [f.fingerprint for f in moved.findings] == [f.fingerprint for f in original.findings]
    assert moved.sarif_sha256 != original.sarif_sha256


def test_fingerprints_survive_lines_inserted_above_everything(tmp_path: Path, releases) -> None:
    original = releases["3.3.0"]["bandit"]
    doc = copy.deepcopy(raw(log("3.3.0", "bandit")))
    for r in doc["runs"][0]["results"]:
        for key in ("region", "contextRegion"):
            region = primary(r).get(key)
            if region:
                region["startLine"] += 3
                region["endLine"] += 3
    shifted = scan(_write(tmp_path, "bandit.sarif", doc))
    assert [f.fingerprint for f in shifted.findings] == [f.fingerprint for f in original.findings]


def test_identical_lines_get_different_fingerprints(tmp_path: Path, releases) -> None:
    s = releases["2.1.0"]["bandit"]
    twins = [
        f
        for f in s.findings
        if f.rule_id == "B101"
        and f.location.path == "test/test_framers.py"
        and f.location.snippet.strip() == "assert framer._hsize == 0x01"
    ]
    assert [f.location.start_line for f in twins] == [44, 49]
    assert twins[0].fingerprint != twins[1].fingerprint
    # Moving the first twin below the second swaps which is the first occurrence; the pair
    # of fingerprints for that line text stays the same.
    doc = copy.deepcopy(raw(log("2.1.0", "bandit")))
    i = twins[0].provenance.result
    primary(doc["runs"][0]["results"][i])["region"]["startLine"] = 60
    moved = scan(_write(tmp_path, "bandit.sarif", doc)).findings
    assert moved[i].fingerprint == twins[1].fingerprint
    assert moved[twins[1].provenance.result].fingerprint == twins[0].fingerprint


def test_fingerprint_ignores_the_log_file_name(tmp_path: Path, releases) -> None:
    copied = tmp_path / "renamed.sarif"
    copied.write_bytes(log("3.16.1", "semgrep").read_bytes())
    s = scan(copied)
    assert [f.fingerprint for f in s.findings] == [
        f.fingerprint for f in releases["3.16.1"]["semgrep"].findings
    ]
    assert {f.provenance.file for f in s.findings} == {"renamed.sarif"}
    assert s.sarif_sha256 == releases["3.16.1"]["semgrep"].sarif_sha256
