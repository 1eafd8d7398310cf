"""The shipped IEC 62443-4-1 requirement table, against the issue's 47 rows."""

from __future__ import annotations

import json
from importlib import resources

import pytest
import yaml
from triage_testkit import invoke

from triage.errors import ConfigError
from triage.iec import Method, load_requirements
from triage.iec.requirements import parse_table

# Issue 8, "The requirement table (ship it in rules/, exactly this)", row for row.
EXPECTED = [
    ("SM-1", "Development process", "ALL"),
    ("SM-2", "Identification of responsibilities", "ALL"),
    ("SM-3", "Identification of applicability", "ALL"),
    ("SM-4", "Security expertise", "ALL"),
    ("SM-5", "Process scoping", "ALL"),
    ("SM-6", "File integrity", "RA-ALL"),
    ("SM-7", "Development environment security", "DEP"),
    ("SM-8", "Controls for private keys", "DEP"),
    ("SM-9", "Security requirements for externally provided components", "ALL"),
    ("SM-10", "Custom developed components from third-party", "ALL"),
    ("SM-11", "Assessing and addressing security-related issues", "ALL"),
    ("SM-12", "Process verification", "ALL"),
    ("SM-13", "Continuous improvement", "DEP"),
    ("SR-1", "Product security context", "RA"),
    ("SR-2", "Threat model", "RA"),
    ("SR-3", "Product security requirements", "RA"),
    ("SR-4", "Product security requirements content", "RA"),
    ("SR-5", "Security requirements review", "RA"),
    ("SD-1", "Secure design principles", "ALL"),
    ("SD-2", "Defense in depth design", "ALL"),
    ("SD-3", "Security design review", "RA-ALL"),
    ("SD-4", "Secure design best practices", "RA-ALL"),
    ("SI-1", "Security implementation review", "ALL"),
    ("SI-2", "Secure coding standards", "ALL"),
    ("SVV-1", "Security requirements testing", "RA"),
    ("SVV-2", "Threat mitigation testing", "RA"),
    ("SVV-3", "Vulnerability testing", "RA"),
    ("SVV-4", "Penetration testing", "RA"),
    ("SVV-5", "Independence of testers", "ALL"),
    ("DM-1", "Receiving notifications of security-related issues", "MAS"),
    ("DM-2", "Reviewing security-related issues", "MAS"),
    ("DM-3", "Assessing security-related issues", "MAS"),
    ("DM-4", "Addressing security-related issues", "MAS"),
    ("DM-5", "Disclosing security-related issues", "MAS"),
    ("DM-6", "Periodic review of security defect management practice", "DEP"),
    ("SUM-1", "Security update qualification", "MAS"),
    ("SUM-2", "Security update documentation", "MAS"),
    ("SUM-3", "Dependent component or operating system security update documentation", "MAS"),
    ("SUM-4", "Security update delivery", "MAS"),
    ("SUM-5", "Timely delivery of security patches", "MAS"),
    ("SG-1", "Product defense in depth", "RA"),
    ("SG-2", "Defense in depth measures expected in the environment", "RA"),
    ("SG-3", "Security hardening guidelines", "RA"),
    ("SG-4", "Secure disposal guidelines", "RA"),
    ("SG-5", "Secure operation guidelines", "RA"),
    ("SG-6", "Account management guidelines", "RA"),
    ("SG-7", "Documentation review", "RA"),
]

# THREATMODEL.md §B1: the clauses a public source gave.
CLAUSES = {
    "SM-1": "5.2", "SM-2": "5.4", "SM-3": "5.5", "SM-4": "5.6", "SM-5": "5.7", "SM-6": "5.8",
    "SM-7": "5.9", "SM-8": "5.10", "SM-9": "5.11", "SM-10": "5.12", "SM-11": "5.13",
    "SM-12": "5.14", "SM-13": "5.15", "SI-1": "8.3", "SI-2": "8.4", "SVV-3": "9.4",
    "DM-3": "10.4", "DM-4": "10.5",
}
PRACTICE_CLAUSE = {"SM": "5", "SR": "6", "SD": "7", "SI": "8", "SVV": "9", "DM": "10",
                   "SUM": "11", "SG": "12"}
RISK_BASED = {"SM-3", "SM-9", "SM-11", "SD-2", "DM-3", "DM-4"}
EVIDENCE = {"SI-1", "SR-2", "SM-5", "DM-3", "DM-4", "SM-11", "SM-13"}


def test_the_shipped_table_is_the_issues_47_rows_method_for_method() -> None:
    table = load_requirements()
    assert len(EXPECTED) == 47
    got = [(r.id, r.title, r.method.value) for r in table.requirements]
    assert got == EXPECTED


def test_practice_clause_risk_based_and_evidence_columns() -> None:
    table = load_requirements()
    for r in table.requirements:
        assert r.practice == r.id.split("-")[0]
        assert r.practice_clause == PRACTICE_CLAUSE[r.practice]
        assert r.clause == CLAUSES.get(r.id), r.id
        assert r.risk_based == (r.id in RISK_BASED), r.id
        assert bool(r.evidence) == (r.id in EVIDENCE), r.id
    counts = {p: sum(r.practice == p for r in table.requirements) for p in PRACTICE_CLAUSE}
    assert counts == {"SM": 13, "SR": 5, "SD": 4, "SI": 2, "SVV": 5, "DM": 6, "SUM": 5, "SG": 7}
    assert {m.method for m in table.methods} == set(Method)


def test_the_table_ships_as_package_data() -> None:
    text = (resources.files("triage.rules") / "iec62443_4_1.yaml").read_text(encoding="utf-8")
    ids = [e["id"] for e in yaml.safe_load(text)["requirements"]]
    assert ids == [row[0] for row in EXPECTED]


@pytest.mark.parametrize(("mutate", "where"), [
    (lambda d: d["requirements"][3].update(method="SOMETIMES"), "requirements[3].method"),
    (lambda d: d["requirements"][0].update(id="XX-1"), "requirements[0].id"),
    (lambda d: d["requirements"].append(dict(d["requirements"][0])), "requirements[47].id"),
    (lambda d: d["methods"].pop("MAS"), "methods"),
    (lambda d: d["requirements"][5].pop("title"), "requirements[5].title"),
])
def test_a_malformed_table_is_a_config_error_naming_the_key(mutate, where) -> None:
    data = yaml.safe_load(
        (resources.files("triage.rules") / "iec62443_4_1.yaml").read_text(encoding="utf-8"))
    mutate(data)
    with pytest.raises(ConfigError) as e:
        parse_table(data)
    assert str(e.value).startswith(f"rules/iec62443_4_1.yaml: {where}: ")
    assert e.value.exit_code == 4


def test_cli_requirements_json_is_the_table() -> None:
    res = invoke("iec", "requirements", "--format", "json")
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert [(r["id"], r["title"], r["method"]) for r in doc["requirements"]] == EXPECTED
    assert {r["id"] for r in doc["requirements"] if r["risk_based"]} == RISK_BASED
    assert {r["id"] for r in doc["requirements"] if r["evidence"]} == EVIDENCE
    assert doc["methods"]["RA-ALL"] == "both retroactively and going forward"
    assert res.stderr == "47 requirements of IEC 62443-4-1 (rules/iec62443_4_1.yaml)\n"


def test_cli_requirements_md_and_table_list_every_row() -> None:
    md = invoke("iec", "requirements", "--format", "md")
    assert md.exit_code == 0, md.stderr
    rows = [line for line in md.stdout.splitlines() if line.startswith("| ") and "-" in line
            and not line.startswith("| requirement")]
    assert [r.split(" | ")[0][2:] for r in rows] == [e[0] for e in EXPECTED]
    assert "| SI-1 | Security implementation review | SI (Secure implementation) | 8.3 | ALL |" \
        in md.stdout
    table = invoke("iec", "requirements")
    assert table.exit_code == 0, table.stderr
    for rid, _title, method in EXPECTED:
        line = next(ln for ln in table.stdout.splitlines() if f"│ {rid} " in ln)
        assert f"│ {method} " in line, line


def test_cli_requirements_rejects_an_unknown_format() -> None:
    res = invoke("iec", "requirements", "--format", "csv")
    assert res.exit_code == 2
    assert res.stdout == ""
    assert "Invalid value for '--format'" in res.stderr
