"""Suppression expiry, ``baselineState: absent``, web base URIs and shared partial fingerprints.

Each case is read from a public SARIF file (tests/data/sarif, see PROVENANCE.md), with the
clock injected so expiry is judged the same way on every run.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from triage.errors import BadInputError
from triage.ingest.paths import PathNormaliser
from triage.ingest.sarif import read_sarif
from triage.model import ScanInput, Suppression

DATA = Path(__file__).resolve().parents[2] / "tests" / "data" / "sarif"
ELFIE = DATA / "sarif-sdk__elfie-arriba.sarif"
SUPPRESSIONS = DATA / "sarif-tutorials__Suppressions.sarif"
TEST1007 = DATA / "sarif-sdk__TEST1007.ValidateBaseline.LessResultsThanBaseline.sarif"
BASELINE = DATA / "sarif-tutorials__Baseline.sarif"
GROUPING = DATA / "sarif-sdk__GroupingSample.sarif"
CWE_GHAS = DATA / "sarif-sdk__CweGhasSample.sarif"
DEMO_PYTHON = DATA / "demo-python__python.codeql.sarif"

# results[0].suppressions[0].properties.expiryUtc of elfie-arriba.sarif.
EXPIRY = dt.datetime(2022, 9, 8, 19, 22, 23, 438465, tzinfo=dt.UTC)
A, S, P = Suppression.ACTIVE, Suppression.SUPPRESSED, Suppression.PENDING


def raw(path: Path) -> dict[str, Any]:
    return json.loads(path.read_bytes())


def one(path: Path, **kw: Any) -> ScanInput:
    (scan,) = read_sarif([path], **kw)
    return scan


def _write(tmp_path: Path, doc: dict[str, Any], name: str = "log.sarif") -> Path:
    out = tmp_path / name
    out.write_text(json.dumps(doc), encoding="utf-8")
    return out


# --- suppressions (SARIF 3.35) -------------------------------------------------------------


def test_accepted_suppression_holds_until_its_expiry() -> None:
    sup = raw(ELFIE)["runs"][0]["results"][0]["suppressions"][0]
    assert sup["status"] == "accepted"
    assert sup["properties"]["expiryUtc"] == "2022-09-08T19:22:23.438465Z"
    before = one(ELFIE, now=EXPIRY - dt.timedelta(seconds=1))
    after = one(ELFIE, now=EXPIRY)
    assert [f.suppression for f in before.findings] == [S, A, A, A, A]
    # Expired: the suppression no longer holds, the finding is active again, and kept.
    assert [f.suppression for f in after.findings] == [A, A, A, A, A]
    assert len(after.findings) == len(raw(ELFIE)["runs"][0]["results"])


def test_default_clock_is_now_so_the_2022_expiry_has_passed() -> None:
    assert one(ELFIE).findings[0].suppression is A


def test_naive_clock_counts_as_utc() -> None:
    naive = (EXPIRY - dt.timedelta(minutes=1)).replace(tzinfo=None)
    assert one(ELFIE, now=naive).findings[0].suppression is S


def test_suppression_states_do_not_depend_on_the_clock_without_expiry() -> None:
    for now in (dt.datetime(2000, 1, 1, tzinfo=dt.UTC), dt.datetime(2100, 1, 1, tzinfo=dt.UTC)):
        states = [f.suppression for f in one(SUPPRESSIONS, now=now).findings]
        # none, inSource, external (accepted by default), rejected, accepted, underReview,
        # accepted+rejected, default+rejected, underReview+rejected.
        assert states == [A, S, S, A, S, P, A, A, A]


def test_top_level_expiry_and_mixed_states(tmp_path: Path) -> None:
    doc = copy.deepcopy(raw(SUPPRESSIONS))
    results = doc["runs"][0]["results"]
    results[4]["suppressions"][0]["expiryUtc"] = "2030-01-01T00:00:00Z"  # accepted, top level
    results[2]["suppressions"][0]["properties"] = {"expiryUtc": "2020-01-01T00:00:00+00:00"}
    # Two accepted suppressions, one expired: the other still holds.
    expired = {"kind": "external", "properties": {"expiryUtc": "2001-01-01"}}
    results[1]["suppressions"].append(expired)
    path = _write(tmp_path, doc)
    now = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)
    states = [f.suppression for f in one(path, now=now).findings]
    assert states == [A, S, A, A, S, P, A, A, A]
    later = [f.suppression for f in one(path, now=dt.datetime(2031, 1, 1, tzinfo=dt.UTC)).findings]
    assert later == [A, S, A, A, A, P, A, A, A]


@pytest.mark.parametrize(
    ("patch", "where", "what"),
    [
        ({"status": "maybe"}, "runs[0].results[1].suppressions[0].status", "unknown suppression"),
        ({"expiryUtc": "next week"}, "runs[0].results[1].suppressions[0].expiryUtc", "ISO 8601"),
        ({"expiryUtc": 7}, "runs[0].results[1].suppressions[0].expiryUtc", "expected a string"),
        (
            {"properties": {"expiryUtc": "2022-13-01"}},
            "runs[0].results[1].suppressions[0].properties.expiryUtc",
            "ISO 8601",
        ),
    ],
)
def test_bad_suppression_members_name_their_path(
    tmp_path: Path, patch: dict[str, Any], where: str, what: str
) -> None:
    doc = copy.deepcopy(raw(SUPPRESSIONS))
    doc["runs"][0]["results"][1]["suppressions"][0].update(patch)
    with pytest.raises(BadInputError) as e:
        read_sarif([_write(tmp_path, doc)])
    assert str(e.value).startswith(f"log.sarif: {where}: ")
    assert what in str(e.value)


# --- baselineState absent (SARIF 3.27.24) ------------------------------------------------


def test_absent_results_are_not_findings_of_the_scan() -> None:
    results = raw(BASELINE)["runs"][0]["results"]
    assert [r["baselineState"] for r in results] == ["absent", "unchanged", "updated", "new"]
    s = one(BASELINE)
    assert [f.message for f in s.findings] == [
        "Unchanged result.", "Updated result.", "New result.",
    ]
    assert [f.provenance.result for f in s.findings] == [1, 2, 3]  # indexes stay the log's
    assert s.notes == (
        "sarifsamples: run 0: 1 result(s) with baselineState 'absent' (in the baseline "
        "only, not in this run) not counted as findings",
    )
    assert s.not_analysed == () and s.successful


def test_test1007_drops_its_one_absent_result() -> None:
    results = raw(TEST1007)["runs"][0]["results"]
    states = [r.get("baselineState") for r in results]
    assert states.count("absent") == 1 and states[0] == "absent"
    s = one(TEST1007)
    assert len(s.findings) == len(results) - 1 == 30
    assert 0 not in {f.provenance.result for f in s.findings}
    assert [n for n in s.notes if "absent" in n] == [
        f"{s.tool.name}: run 0: 1 result(s) with baselineState 'absent' (in the baseline only, "
        "not in this run) not counted as findings"
    ]


def test_unknown_baseline_state_is_bad_input(tmp_path: Path) -> None:
    doc = copy.deepcopy(raw(BASELINE))
    doc["runs"][0]["results"][2]["baselineState"] = "gone"
    with pytest.raises(BadInputError, match=r"runs\[0\]\.results\[2\]\.baselineState: unknown"):
        read_sarif([_write(tmp_path, doc)])


# --- web base URIs (SARIF 3.14.14) ----------------------------------------------------------


def test_repository_web_base_gives_repository_relative_paths() -> None:
    doc = raw(GROUPING)
    assert doc["runs"][0]["originalUriBaseIds"]["SRCROOT"]["uri"].startswith(
        "https://github.com/example/grouping-sample/blob/"
    )
    (s,) = read_sarif([GROUPING])  # two runs of one tool: one scan
    assert [f.location.path for f in s.findings] == ["src/api/proxy.ts"] * 3
    ghas = one(CWE_GHAS)
    assert {f.location.path for f in ghas.findings} == {"src/Sarif/Taxonomies/SampleCode.cs"}
    assert len(ghas.findings) == 7


@pytest.mark.parametrize(
    ("uri", "base", "expected"),
    [
        ("src/a.c", "https://github.com/o/r/blob/0123abc/", "src/a.c"),
        ("src/a%20b.c", "https://github.com/o/r/tree/main/", "src/a b.c"),
        ("lib/x.py", "https://gitlab.com/group/sub/proj/-/blob/v1.2/", "lib/x.py"),
        ("a/b.c", "https://bitbucket.org/team/repo/src/abc123/", "a/b.c"),
        # Not a repository view: kept whole, never "https:/example.com/...".
        ("x/y.c", "https://example.com/artifacts/", "https://example.com/artifacts/x/y.c"),
        ("https://example.com/a//b.c", "", "https://example.com/a//b.c"),
    ],
)
def test_web_uris_are_not_mangled(uri: str, base: str, expected: str) -> None:
    assert PathNormaliser().normalise(uri, base) == expected


# --- partial fingerprints (SARIF 3.27.17) ----------------------------------------------------


def test_shared_partial_fingerprints_are_kept_but_no_identity() -> None:
    results = raw(ELFIE)["runs"][0]["results"]
    shared = results[0]["partialFingerprints"]["SecretHash/v1"]
    assert [r["partialFingerprints"]["SecretHash/v1"] == shared for r in results] == [
        True, True, True, True, False,
    ]
    s = one(ELFIE)
    for f, r in zip(s.findings, results, strict=True):
        assert f.tool_fingerprints == (
            ("partialFingerprints:SecretHash/v1", r["partialFingerprints"]["SecretHash/v1"]),
        )
        assert f.identity_fingerprints == ()


def test_codeql_column_fingerprint_zero_is_kept() -> None:
    results = raw(DEMO_PYTHON)["runs"][0]["results"]
    s = one(DEMO_PYTHON)
    for f, r in zip(s.findings, results, strict=True):
        assert r["partialFingerprints"]["primaryLocationStartColumnFingerprint"] == "0"
        assert dict(f.tool_fingerprints) == {
            f"partialFingerprints:{k}": v for k, v in r["partialFingerprints"].items()
        }
        assert f.identity_fingerprints == ()


def test_shared_full_fingerprints_are_still_dropped(tmp_path: Path) -> None:
    doc = copy.deepcopy(raw(ELFIE))
    for i, r in enumerate(doc["runs"][0]["results"]):
        r["fingerprints"] = {"same/v1": "x" * 8, "own/v1": f"id-{i}"}
    s = one(_write(tmp_path, doc))
    for i, f in enumerate(s.findings):
        assert f.identity_fingerprints == (("fingerprints:own/v1", f"id-{i}"),)
        assert len([k for k, _ in f.tool_fingerprints if k.startswith("partial")]) == 1


# --- progress ---------------------------------------------------------------------------------


def test_progress_reports_bytes_in_order_and_changes_nothing(monkeypatch) -> None:
    from triage.ingest import sarif as sarif_module

    samples = Path(__file__).resolve().parents[2] / "sample_sarif" / "pymodbus" / "3.3.0"
    paths = [samples / "bandit.sarif", samples / "ruff.sarif", samples / "semgrep.sarif"]
    total = sum(p.stat().st_size for p in paths)
    monkeypatch.setattr(sarif_module, "PROGRESS_EVERY", 100)
    calls: list[tuple[int, int]] = []
    with_bar = read_sarif(paths, progress=lambda done, of: calls.append((done, of)))
    assert {of for _, of in calls} == {total}
    done = [d for d, _ in calls]
    assert done == sorted(done) and done[-1] == total
    # bandit 824 results, ruff 840, semgrep 68: 8 + 8 + 0 ticks, and one at each log's end.
    assert len(calls) == 8 + 8 + 3
    assert done[8] == paths[0].stat().st_size
    assert with_bar == read_sarif(paths)



def test_a_notification_names_its_file_through_the_artifacts_table(tmp_path) -> None:
    """A notification that points into run.artifacts (SARIF 3.4.5) marks that file not
    analysed: a real bandit log whose parse-error notification names its file by index."""
    import json

    from triage.ingest.sarif import read_sarif

    real = Path(__file__).resolve().parents[2] / "sample_sarif/pymodbus/2.1.0/bandit.sarif"
    doc = json.loads(real.read_text())
    run = doc["runs"][0]
    notes = [n for inv in run["invocations"] for n in inv.get("toolConfigurationNotifications", [])
             if n.get("locations")]
    note = notes[0]
    art = note["locations"][0]["physicalLocation"]["artifactLocation"]
    uri = art.pop("uri")
    run["artifacts"] = [{"location": {"uri": uri}}]
    art["index"] = 0
    path = tmp_path / "bandit.sarif"
    path.write_text(json.dumps(doc))
    (scan,) = read_sarif([path])
    (whole,) = read_sarif([real])
    assert scan.not_analysed == whole.not_analysed
    assert len(whole.not_analysed) == len(notes)
