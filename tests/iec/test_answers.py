"""Bad answers files: exit 3, one line ``FILE: line L column C: key: what``, no traceback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from triage_testkit import invoke

from triage.errors import BadInputError
from triage.iec import load_requirements, read_answers
from triage.iec.records import Reply
from triage.model import SecurityLevel

GOOD = """\
schema_version: 1
product: demo
target_sl: SL-3
answers:
  SM-1:
    followed: no
    now: partial
    future: YES
    address: 2
    note: "first"
  SI-1: { followed: yes }
  SR-2:
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "answers.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_file_parses_with_lines(tmp_path: Path) -> None:
    answers = read_answers(_write(tmp_path, GOOD), load_requirements())
    assert (answers.product, answers.target_sl) == ("demo", SecurityLevel.SL3)
    sm1, si1, sr2 = answers.answers
    assert (sm1.followed, sm1.now, sm1.future) == (Reply.NO, Reply.PARTIAL, Reply.YES)
    assert (sm1.address, sm1.note, sm1.line) == ("2", "first", 5)
    assert (si1.followed, si1.now, si1.future, si1.line) == (Reply.YES, None, None, 11)
    assert (sr2.followed, sr2.now, sr2.future, sr2.address) == (None, None, None, "")


BAD = [
    # (text, line, column, key, what)
    (GOOD.replace("  SR-2:", "  SM-99:"), 12, 3, "answers.SM-99", "unknown requirement"),
    (GOOD.replace("now: partial", "now: maybe"), 7, 10, "answers.SM-1.now",
     "expected yes, no or partial, got 'maybe'"),
    (GOOD.replace("future: YES", "future: true"), 8, 13, "answers.SM-1.future",
     "expected yes, no or partial, got 'true'"),
    (GOOD.replace("    note:", "    notes:"), 10, 5, "answers.SM-1.notes", "unknown key"),
    (GOOD.replace("  SI-1: { followed: yes }", "  SM-1: { followed: yes }"), 11, 3,
     "answers.SM-1", "appears twice"),
    (GOOD.replace("target_sl: SL-3", "target_sl: 7"), 3, 12, "target_sl",
     "expected 1, 2, 3 or 4, got '7'"),
    (GOOD.replace("product: demo", "owner: demo"), 2, 1, "owner", "unknown key"),
    (GOOD.replace("schema_version: 1", "schema_version: 2"), 1, 17, "schema_version",
     "only schema_version 1 is known"),
    (GOOD.replace("  SI-1: { followed: yes }", "  SI-1: [yes, no]"), 11, 9, "answers.SI-1",
     "expected a mapping"),
    (GOOD.replace("    followed: no", "    followed: [no]"), 6, 15, "answers.SM-1.followed",
     "expected a single value"),
    ("- just\n- a list\n", 1, 1, "top level", "expected a mapping"),
]


@pytest.mark.parametrize(("text", "line", "column", "key", "what"), BAD)
def test_bad_answers_exit_3_with_file_line_column_and_key(tmp_path: Path, text: str, line: int,
                                                          column: int, key: str,
                                                          what: str) -> None:
    path = _write(tmp_path, text)
    res = invoke("iec", "plan", path)
    assert res.exit_code == 3, (res.stdout, res.stderr)
    assert res.stdout == ""
    assert "Traceback" not in res.stderr
    lines = res.stderr.splitlines()
    assert lines[0].startswith(f"error: {path}: line {line} column {column}: {key}: {what}"), \
        lines[0]
    assert lines[1:] == ["hint: `triage iec template` writes a valid answers file"]


def test_unknown_requirement_names_the_known_range(tmp_path: Path) -> None:
    with pytest.raises(BadInputError) as e:
        read_answers(_write(tmp_path, GOOD.replace("  SR-2:", "  SM-99:")), load_requirements())
    assert str(e.value).endswith("answers.SM-99: unknown requirement; known: SM-1 .. SG-7")


@pytest.mark.parametrize("text", [
    "answers:\n  SM-1: { followed: no\n",       # unterminated flow mapping
    "answers:\n\tSM-1: {}\n",                  # a tab
    "answers: [\n",
])
def test_yaml_errors_exit_3_with_file_and_line(tmp_path: Path, text: str) -> None:
    path = _write(tmp_path, text)
    res = invoke("iec", "plan", path)
    assert res.exit_code == 3, (res.stdout, res.stderr)
    assert res.stdout == ""
    assert "Traceback" not in res.stderr
    assert len(res.stderr.splitlines()) == 1
    assert re.match(rf"^error: {re.escape(str(path))}: line \d+ column \d+: YAML: \S",
                    res.stderr), res.stderr


@pytest.mark.parametrize(("content", "what"), [
    (b"", "line 1 column 1: answers: the file is empty"),
    (b"\xff\xfe answers", "not UTF-8 text"),
])
def test_empty_and_binary_files_exit_3(tmp_path: Path, content: bytes, what: str) -> None:
    path = tmp_path / "answers.yaml"
    path.write_bytes(content)
    res = invoke("iec", "plan", path)
    assert res.exit_code == 3
    assert res.stdout == ""
    assert res.stderr.splitlines()[0].startswith(f"error: {path}: {what}"), res.stderr


def test_a_missing_file_exits_3(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    res = invoke("iec", "plan", path)
    assert res.exit_code == 3
    assert res.stdout == ""
    assert res.stderr == f"error: {path}: cannot read: No such file or directory\n"


def test_a_broken_threat_model_named_by_the_answers_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "tm.yaml").write_text("schema_version: 1\nproduct: [\n", encoding="utf-8")
    path = _write(tmp_path, "threat_model: tm.yaml\nanswers:\n  SM-1: { followed: yes }\n")
    res = invoke("iec", "plan", path)
    assert res.exit_code == 3, res.stderr
    assert res.stdout == ""
    assert res.stderr.startswith("error: tm.yaml: line 3 column 1: YAML error: ")
    assert "Traceback" not in res.stderr
