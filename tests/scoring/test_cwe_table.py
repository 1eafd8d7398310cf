"""The CWE capability table: rebuilt from the real CWE 4.14 XML in the cwe2 wheel, and read
back by the rules loader; a bad row stops with one line (exit 4)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from triage_testkit import REPO, ingest, invoke

from triage.errors import ConfigError
from triage.model import Capability
from triage.scoring import cwe_build, load_rules
from triage.scoring.capability import parse_table

SHIPPED = REPO / "rules" / "cwe_capability.yaml"


@pytest.fixture(scope="module")
def cwe() -> tuple[dict[str, str], list[cwe_build.Weakness]]:
    return cwe_build.read_cwe(cwe_build.default_xml())


def test_the_wheel_carries_cwe_4_14(cwe: tuple[dict[str, str], list[cwe_build.Weakness]]) -> None:
    catalog, weaknesses = cwe
    assert catalog == {"Name": "CWE", "Version": "4.14", "Date": "2024-02-29"}
    # THREATMODEL.md §B4: 963 weaknesses, 185 with Likelihood_Of_Exploit (90/65/30),
    # 336 with related attack patterns.
    assert len(weaknesses) == 963
    likes = [w.likelihood for w in weaknesses if w.likelihood]
    assert (len(likes), likes.count("High"), likes.count("Medium"), likes.count("Low")) == (
        185, 90, 65, 30)
    assert sum(1 for w in weaknesses if w.capec_ids) == 336
    by_id = {w.cwe_id: w for w in weaknesses}
    assert by_id[78].likelihood == "High" and by_id[78].capec_ids == (6, 15, 43, 88, 108)
    assert by_id[306].capec_ids == (12, 36, 62, 166, 216)
    assert by_id[502].likelihood == "Medium" and by_id[502].capec_ids == (586,)
    assert by_id[787].likelihood == "High" and by_id[787].capec_ids == ()


def test_shipped_table_is_what_the_script_builds(tmp_path: Path) -> None:
    out = tmp_path / "cwe_capability.yaml"
    assert cwe_build.main(["-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == SHIPPED.read_text(encoding="utf-8"), (
        "rules/cwe_capability.yaml is stale: run python -m triage.scoring.cwe_build")


def test_table_records_version_licence_and_basis() -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    assert "Copyright © The MITRE Corporation" in text
    assert "non-exclusive, royalty-free license to use CWE" in text
    data = yaml.safe_load(text)
    assert data["cwe"]["version"] == "4.14"
    rows = data["weaknesses"]
    assert rows[78]["class"] == "simple" and rows[78]["basis"] == "Likelihood_Of_Exploit High"
    assert rows[502]["class"] == "sophisticated"
    assert rows[703]["class"] == "casual"           # bandit's try/except/pass and assert
    assert rows[835]["class"] == "casual"           # infinite loop: via ancestor CWE-834
    assert "via ancestor CWE-834" in rows[835]["basis"]
    assert rows[939]["basis"].endswith("inherited from ancestor CWE-862")
    # Hardware fault injection is not a casual software weakness.
    assert rows.get(1247, {}).get("class") != "casual"
    assert set(r["class"] for r in rows.values()) == {"casual", "simple", "sophisticated",
                                                      "extended"}


def test_capec_skills_decide_before_the_likelihood(
    tmp_path: Path, cwe: tuple[dict[str, str], list[cwe_build.Weakness]]
) -> None:
    # The cwe2 wheel carries no CAPEC catalogue; this is the shape of CAPEC 3.9's XML for two
    # patterns linked from CWE-78 (CAPEC-88 OS command injection: Low; CAPEC-6: Medium).
    capec = tmp_path / "capec.xml"
    capec.write_text(
        '<Attack_Pattern_Catalog xmlns="http://capec.mitre.org/capec-3" Name="CAPEC" '
        'Version="3.9"><Attack_Patterns>'
        '<Attack_Pattern ID="88"><Skills_Required><Skill Level="Low">shell</Skill>'
        '<Skill Level="High">evade filters</Skill></Skills_Required></Attack_Pattern>'
        '<Attack_Pattern ID="586"><Skills_Required><Skill Level="Medium">x</Skill>'
        '</Skills_Required></Attack_Pattern>'
        '</Attack_Patterns></Attack_Pattern_Catalog>', encoding="utf-8")
    version, skills = cwe_build.read_capec_skills(capec)
    assert (version, skills) == ("3.9", {88: "low", 586: "medium"})
    rows = {r.cwe_id: r for r in cwe_build.build_rows(cwe[1], skills)}
    assert (rows[78].capability, rows[78].capec_min_skill) == ("simple", "Low")
    assert rows[78].basis == "CAPEC min skill Low"
    assert (rows[502].capability, rows[502].basis) == ("sophisticated", "CAPEC min skill Medium")


def test_rules_load_the_shipped_table() -> None:
    table = load_rules().capability
    assert table is not None and table.cwe_version == "4.14"
    assert table.lookup(78) is not None and table.lookup(78).capability == Capability.SIMPLE
    assert table.lookup(605) is None                 # not in the table: conservative at run time
    assert table.unknown == Capability.SIMPLE


@pytest.mark.parametrize(("row", "message"), [
    ("  78: {class: trivial}", "weaknesses.78.class: unknown capability class 'trivial'"),
    ("  CWE-78: {class: simple}", "weaknesses.CWE-78: CWE id must be a number"),
    ("  78: simple", "weaknesses.78: expected a mapping with a class"),
])
def test_bad_row_is_a_config_error(row: str, message: str) -> None:
    data = yaml.safe_load(f"weaknesses:\n{row}\n")
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        parse_table(data, "x/cwe_capability.yaml", Capability.SIMPLE)


def test_bad_user_table_exits_4_with_one_line(tmp_path: Path, db_url: str) -> None:
    ingest(db_url, "3.16.1")
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "cwe_capability.yaml").write_text(
        "cwe: {version: '4.14'}\nweaknesses:\n  78: {class: trivial}\n", encoding="utf-8")
    res = invoke("--rules", rules, "gate", "--product", "pymodbus", "--mode", "capability",
                 db=db_url)
    assert res.exit_code == 4
    assert res.stdout == ""
    first = res.stderr.splitlines()[0]
    assert first == (f"error: {rules / 'cwe_capability.yaml'}: weaknesses.78.class: unknown "
                     "capability class 'trivial' (known: casual, simple, sophisticated, extended)")
    assert "Traceback" not in res.stderr


def test_bad_unknown_cwe_class_in_policy_exits_4(tmp_path: Path, db_url: str) -> None:
    ingest(db_url, "3.16.1")
    rules = tmp_path / "rules"
    rules.mkdir()
    policy = (REPO / "rules" / "policy.yaml").read_text(encoding="utf-8")
    (rules / "policy.yaml").write_text(policy.replace("unknown_cwe: simple", "unknown_cwe: easy"),
                                       encoding="utf-8")
    res = invoke("--rules", rules, "status", "--product", "pymodbus", db=db_url)
    assert res.exit_code == 4
    assert res.stderr.splitlines()[0] == (
        f"error: {rules / 'policy.yaml'}: capability_mode.unknown_cwe: unknown capability "
        "class 'easy' (known: casual, simple, sophisticated, extended)")
