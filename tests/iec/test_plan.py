"""The legacy plan: approaches from the answers, flags, question 4, evidence, formats."""

from __future__ import annotations

import datetime as dt
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from triage_testkit import SAMPLE, ingest, invoke, report_json

from triage import pipeline
from triage.iec import load_requirements, read_answers, render_plan, render_template
from triage.iec.records import Approach
from triage.scoring import load_rules

ANSWERS = SAMPLE / "iec-answers.yaml"
CLOCK = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)
HOSTILE = "</td><script>alert('x')</script><img src=x onerror=alert(1)> & \"q\" | `c`"


def _plan(path: Path, **kw: object):
    return pipeline.iec_plan(path, load_rules(), clock=lambda: CLOCK, **kw)  # type: ignore[arg-type]


def _answers(tmp_path: Path, body: str, head: str = "") -> Path:
    path = tmp_path / "answers.yaml"
    path.write_text(f"schema_version: 1\n{head}answers:\n{body}", encoding="utf-8")
    return path


def _item(plan, rid: str):
    return next(i for i in plan.items if i.requirement.id == rid)


@pytest.mark.parametrize(("answer", "approach"), [
    ("{ followed: yes, now: no, future: no }", Approach.NONE),
    ("{ followed: no, now: yes, future: no }", Approach.RA),
    ("{ followed: no, now: partial, future: no }", Approach.RA),
    ("{ followed: no, now: no, future: yes }", None),          # the forward method
    ("{ followed: partial, now: yes, future: partial }", Approach.RA_ALL),
    ("{ followed: no, now: no, future: no }", Approach.GAP),
    ("{ followed: no, now: no }", Approach.OPEN),
    ("{ }", Approach.OPEN),
])
def test_the_approach_follows_the_answers(tmp_path: Path, answer: str, approach) -> None:
    forward = {"SM-7": Approach.DEP, "DM-2": Approach.MAS, "SD-1": Approach.ALL,
               "SR-2": Approach.ALL, "SD-3": Approach.ALL}
    plan = _plan(_answers(tmp_path, "".join(f"  {rid}: {answer}\n" for rid in forward)))
    for rid, fwd in forward.items():
        assert _item(plan, rid).approach is (approach or fwd), rid


def test_contradictions_and_blanks_are_flagged(tmp_path: Path) -> None:
    plan = _plan(_answers(tmp_path, (
        "  SI-1: { followed: no, now: partial, future: no }\n"
        "  SR-2: { followed: no, now: no, future: yes }\n"
        "  SD-3: { followed: no, now: yes }\n"
        "  SM-10: { followed: yes }\n"
    )))
    flags = {(f.requirement, f.kind, f.text) for f in plan.flags}
    assert ("SI-1", "contradiction", "SI-1 marked not applicable going forward, but the most "
            "likely method is ALL") in flags
    assert ("SR-2", "contradiction", "SR-2 marked not applicable to the product as it exists, "
            "but the most likely method is RA") in flags
    assert ("SD-3", "blank", "SD-3 question 3 left blank: Can it effectively be applied to "
            "future development (new releases)?") in flags
    assert ("SI-1", "contradiction",
            "SI-1 question 4 unanswered while the product has no target SL") in flags
    assert ("SM-1", "blank", "SM-1 has no answers: all four questions blank") in flags
    # A "yes" to question 1 needs no action: no blanks, no contradictions, no question 4.
    assert not _item(plan, "SM-10").flags
    assert _item(plan, "SM-10").actions[0].startswith("No action")
    assert sum(f.kind == "blank" and "has no answers" in f.text for f in plan.flags) == 43


def test_question_4_comes_from_the_target_sl_policy(tmp_path: Path) -> None:
    plan = _plan(_answers(tmp_path, (
        "  DM-4: { followed: no, now: no, future: yes }\n"
        "  DM-3: { followed: no, now: no, future: yes, address: 1 }\n"
        "  SVV-3: { followed: no, now: yes, future: yes, address: \"all fuzzing crashes\" }\n"
    ), head="target_sl: 2\n"))
    dm4, dm3, svv3 = (_item(plan, r) for r in ("DM-4", "DM-3", "SVV-3"))
    assert (dm4.address, dm4.address_source) == (
        "SL-2 fix critical and high issues (DM-4)", "SL policy from the answers file")
    assert dm3.address == "SL-1 fix critical issues (DM-4)"
    assert [f.text for f in dm3.flags] == [
        "DM-3 question 4 names SL-1 while the product's target SL is SL-2 (the answers file)"]
    assert (svv3.address, svv3.address_source) == ("all fuzzing crashes", "answer")
    assert not any("question 4 unanswered" in f.text for f in plan.flags)


def test_code_review_covers_changed_code_and_the_high_risk_components() -> None:
    plan = _plan(ANSWERS)
    si1 = _item(plan, "SI-1")
    assert si1.approach is Approach.RA_ALL
    review = si1.actions[-1]
    assert review.startswith("Review new and changed code going forward")
    high = [c.id for c in plan.context.high_risk]
    assert high == ["datastore", "framers-pdu", "http-simulator", "network-client", "transport"]
    assert all(cid in review for cid in high)
    assert "repl" not in review and "tests" not in review
    assert f"`triage threatmodel scope {SAMPLE / 'threatmodel.yaml'}`" in review
    sm5 = _item(plan, "SM-5")
    assert any("high-risk components of the threat model" in a for a in sm5.actions)


def test_the_sample_answers_plan() -> None:
    plan = _plan(ANSWERS)
    assert len(plan.items) == 47
    assert plan.approach_counts() == {"none": 1, "RA": 9, "DEP": 4, "MAS": 9, "ALL": 13,
                                      "RA-ALL": 9, "gap": 1, "open": 1}
    assert [(f.requirement, f.kind) for f in plan.flags] == [
        ("SD-4", "contradiction"), ("SVV-4", "contradiction"), ("SUM-5", "blank"),
        ("SG-6", "contradiction")]
    assert plan.context.last_reviewed == "2026-11-02"
    evidence = {i.requirement.id for i in plan.items if i.evidence}
    assert evidence == {"SI-1", "SR-2", "SM-5", "DM-3", "DM-4", "SM-11", "SM-13"}
    assert _item(plan, "SR-2").evidence.links == (
        f"{SAMPLE / 'threatmodel.yaml'}: last reviewed 2026-11-02",)


def test_a_stale_threat_model_review_is_flagged(tmp_path: Path) -> None:
    text = (SAMPLE / "threatmodel.yaml").read_text(encoding="utf-8")
    (tmp_path / "tm.yaml").write_text(text.replace("last_reviewed: 2026-11-02",
                                                   "last_reviewed: 2024-01-15"), encoding="utf-8")
    plan = _plan(_answers(tmp_path, "  SR-2: { followed: no, now: yes, future: yes }\n",
                          head="threat_model: tm.yaml\n"))
    assert [f.text for f in _item(plan, "SR-2").flags] == [
        "SR-2 threat model not reviewed in the last year (last: 2024-01-15); SR-2 asks for a "
        "yearly review"]


def test_the_template_lists_every_requirement_and_parses_blank(tmp_path: Path) -> None:
    table = load_requirements()
    text = render_template(table)
    for r in table.requirements:
        assert f"\n  {r.id}:\n" in text
        assert f"# {r.id} {r.title} (" in text
    assert "# most likely method RA-ALL: both retroactively and going forward." in text
    assert "# now -> RA; future -> DEP; both -> RA-ALL; future: no is flagged against DEP." in text
    path = tmp_path / "t.yaml"
    path.write_text(text, encoding="utf-8")
    answers = read_answers(path, table)
    assert [a.requirement for a in answers.answers] == [r.id for r in table.requirements]
    plan = _plan(path)
    assert set(plan.approach_counts().items()) >= {("open", 47)}
    assert len(plan.flags) == 47 * 3


def test_cli_template_writes_a_file_and_will_not_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "answers.yaml"
    res = invoke("iec", "template", "-o", out)
    assert res.exit_code == 0, res.stderr
    assert res.stdout == ""
    assert res.stderr == f"wrote the answers template to {out}\n"
    assert out.read_text(encoding="utf-8") == render_template(load_requirements())
    again = invoke("iec", "template", "-o", out)
    assert again.exit_code == 2
    assert again.stdout == ""
    assert again.stderr == (f"error: {out}: exists; not overwriting an answers file\n"
                            "hint: pass --force to overwrite it\n")
    forced = invoke("iec", "template", "-o", out, "--force")
    assert forced.exit_code == 0, forced.stderr
    stdout = invoke("iec", "template")
    assert stdout.exit_code == 0
    assert stdout.stdout == out.read_text(encoding="utf-8")
    assert stdout.stderr == ""


def test_cli_plan_formats_and_summary() -> None:
    summary = ("plan: 47 requirements: 1 none, 9 RA, 4 DEP, 9 MAS, 13 ALL, 9 RA-ALL, 1 gap, "
               "1 open; 4 flags (1 blank, 3 contradiction)\n")
    table = invoke("iec", "plan", ANSWERS)
    assert table.exit_code == 0, table.stderr
    assert table.stderr == summary
    assert "│ SD-4  │" in table.stdout and "* differs from the most likely method" in table.stdout
    doc = json.loads(invoke("iec", "plan", ANSWERS, "--format", "json").stdout)
    assert [i["id"] for i in doc["items"]] == [r.id for r in load_requirements().requirements]
    assert doc["target_sl"] == "SL-2" and doc["target_sl_source"] == "the answers file"
    si1 = next(i for i in doc["items"] if i["id"] == "SI-1")
    assert si1["answers"] == {"followed": "no", "now": "partial", "future": "yes",
                              "address": None, "note": None, "line": 40}
    assert (si1["approach"], si1["agrees_with_method"]) == ("RA-ALL", False)
    assert len(doc["flags"]) == 4
    md = invoke("-q", "iec", "plan", ANSWERS, "--format", "md")
    assert md.exit_code == 0 and md.stderr == ""
    assert "| SVV-4 Penetration testing | RA | no | no | yes | **ALL** |" in md.stdout
    assert "- **SUM-5** blank: SUM-5 question 3 left blank" in md.stdout


def test_the_docs_plan_is_the_current_output(monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/iec-plan-pymodbus.md is `triage iec plan ... --format md` (minus its timestamp)."""
    monkeypatch.chdir(SAMPLE.parents[1])
    docs = (SAMPLE.parents[1] / "docs" / "iec-plan-pymodbus.md").read_text(encoding="utf-8")
    res = invoke("iec", "plan", "sample_sarif/pymodbus/iec-answers.yaml", "--format", "md")
    assert res.exit_code == 0, res.stderr

    def body(text: str) -> list[str]:
        return [ln for ln in text.splitlines() if not ln.startswith("<sub>triage ")]

    generated = body(res.stdout)
    start = docs.index(generated[0])
    assert body(docs[start:]) == generated
    readme = (SAMPLE.parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## IEC 62443-4-1 for a legacy product", 1)[1].split("\n## ", 1)[0]
    quoted = [ln for ln in section.splitlines() if ln.startswith(("| SI-1", "| SD-4", "- **"))]
    assert len(quoted) >= 3
    assert all(ln in generated for ln in quoted), quoted


class _Cells(HTMLParser):
    """Collect start tags and the text of each note cell."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.notes: list[str] = []
        self._in_note = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "td" and dict(attrs).get("class") == "note":
            self._in_note = True
            self.notes.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._in_note = False

    def handle_data(self, data: str) -> None:
        if self._in_note:
            self.notes[-1] += data


def test_html_plan_is_self_contained_and_escapes_a_hostile_note(tmp_path: Path) -> None:
    path = _answers(tmp_path, (
        f"  SM-1: {{ followed: no, now: no, future: yes, note: {json.dumps(HOSTILE)} }}\n"
        f"  SVV-3: {{ followed: no, now: yes, future: yes, address: {json.dumps(HOSTILE)} }}\n"
    ), head=f"product: {json.dumps(HOSTILE)}\n")
    out = tmp_path / "plan.html"
    res = invoke("iec", "plan", path, "--format", "html", "-o", out)
    assert res.exit_code == 0, res.stderr
    assert res.stdout == ""
    html = out.read_text(encoding="utf-8")
    parser = _Cells()
    parser.feed(html)
    tags = [t for t, _ in parser.tags]
    assert "script" not in tags and "img" not in tags
    assert not any(k.startswith("on") for _, attrs in parser.tags for k in attrs)
    assert not any(v and ("http" in v or v.startswith("//")) for _, attrs in parser.tags
                   for v in attrs.values())
    assert tags.count("link") == 0
    assert parser.notes[0] == HOSTILE
    assert "&lt;script&gt;" in html
    assert tags.count("tr") == 1 + 47 + 1 + 7      # plan head + rows, evidence head + rows


def test_markdown_plan_escapes_a_hostile_note(tmp_path: Path) -> None:
    path = _answers(tmp_path, (
        f"  SM-1: {{ followed: no, now: no, future: yes, note: {json.dumps(HOSTILE)} }}\n"))
    md = render_plan("md", _plan(path))
    row = next(ln for ln in md.splitlines() if ln.startswith("| SM-1 "))
    assert "<script>" not in row and "&lt;script&gt;" in row
    assert row.count(" | ") == 8          # nine cells: the note's | is escaped


@pytest.fixture(scope="module")
def two_releases(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('iec') / 'triage.db'}"
    for release in ("3.9.2", "3.16.1"):
        ingest(url, release)
    return url


def test_plan_with_product_answers_q4_and_links_real_releases(tmp_path: Path,
                                                              two_releases: str) -> None:
    path = _answers(tmp_path, (
        "  DM-4: { followed: no, now: no, future: yes }\n"
        "  SI-1: { followed: no, now: partial, future: yes }\n"))
    res = invoke("iec", "plan", path, "--product", "pymodbus", "--format", "json",
                 db=two_releases)
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert (doc["target_sl"], doc["target_sl_source"]) == ("SL-2", "the store, release 3.16.1")
    assert [r["name"] for r in doc["releases"]] == ["3.9.2", "3.16.1"]
    assert not any("question 4 unanswered" in f["text"] for f in doc["flags"])
    dm4 = next(i for i in doc["items"] if i["id"] == "DM-4")
    assert dm4["address"] == "SL-2 fix critical and high issues (DM-4)"
    for release in ("3.9.2", "3.16.1"):
        must = report_json(two_releases, release)["must_fix_by_sl"]["SL-2"]
        assert (f"`triage gate --product pymodbus --release {release} --sl 2`: {must} "
                f"must-fix at SL-2") in dm4["evidence"]["links"]
    si1 = next(i for i in doc["items"] if i["id"] == "SI-1")
    assert si1["evidence"]["links"][1].startswith(
        "`triage report --product pymodbus --release 3.16.1`: bandit, ruff, semgrep, ")
    sm13 = next(i for i in doc["items"] if i["id"] == "SM-13")
    assert sm13["evidence"]["links"] == ["`triage trend --product pymodbus`: 2 releases, "
                                         "3.9.2 .. 3.16.1"]


def test_plan_with_an_unknown_product_exits_3(tmp_path: Path, two_releases: str) -> None:
    path = _answers(tmp_path, "  SM-1: { followed: yes }\n")
    res = invoke("iec", "plan", path, "--product", "nosuch", db=two_releases)
    assert res.exit_code == 3
    assert res.stdout == ""
    assert res.stderr.startswith("error: ") and "'nosuch'" in res.stderr.splitlines()[0]
    assert "Traceback" not in res.stderr
