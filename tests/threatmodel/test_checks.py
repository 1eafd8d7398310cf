"""Warnings as data (stale review, globs matching nothing) and source coverage."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from test_loader import BASE

from threatmodel import ModelError, check_model, coverage, parse_model
from threatmodel.checks import source_files

REVIEWED = BASE + "review:\n  last_reviewed: 2025-11-26\n  reviewed_by: [A. Architect]\n"
# line 29 review:, line 30 last_reviewed


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "model.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_review_a_year_old_is_not_stale(tmp_path: Path) -> None:
    check = check_model(_write(tmp_path, REVIEWED), today=dt.date(2026, 11, 26))
    assert check.warnings == ()
    assert check.source_files is None
    assert check.summary() == ("model.yaml: valid schema v1 model of demo: 2 zones, 1 entry "
                               "points, 1 components, 1 data flows; 0 warning(s)")


def test_review_older_than_a_year_is_a_warning(tmp_path: Path) -> None:
    check = check_model(_write(tmp_path, REVIEWED), today=dt.date(2026, 11, 27))
    assert [str(w) for w in check.warnings] == [
        "model.yaml: line 30 column 3: review.last_reviewed: last reviewed 2025-11-26, "
        "366 days ago: SR-2 asks for a review at least yearly"
    ]
    w = check.warnings[0]
    assert (w.file, w.line, w.column, w.key_path) == ("model.yaml", 30, 3,
                                                      "review.last_reviewed")


def test_missing_review_is_a_warning(tmp_path: Path) -> None:
    check = check_model(_write(tmp_path, BASE), today=dt.date(2026, 1, 1))
    assert [w.key_path for w in check.warnings] == ["review"]
    assert "SR-2" in check.warnings[0].message
    assert check.warnings[0].line == 1  # no review section: the top of the file


def test_globs_matching_nothing_are_warnings_with_their_line(tmp_path: Path) -> None:
    text = REVIEWED.replace('paths: ["src/parser/**"]',
                            'paths: ["src/parser/**", "src/old/*.c"]\n'
                            '    exclude_paths: ["src/parser/fuzz/**"]')
    root = tmp_path / "src-root"
    (root / "src" / "parser").mkdir(parents=True)
    (root / "src" / "parser" / "mbap.c").write_text("int x;\n")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref\n")
    check = check_model(_write(tmp_path, text), today=dt.date(2026, 1, 1), source_root=root)
    assert check.source_files == 1  # .git is skipped
    assert [str(w) for w in check.warnings] == [
        f"model.yaml: line 21 column 30: components.parser.paths[1]: glob 'src/old/*.c' "
        f"matches no file under {root}",
        f"model.yaml: line 22 column 21: components.parser.exclude_paths[0]: glob "
        f"'src/parser/fuzz/**' matches no file under {root}",
    ]
    assert check.summary().endswith("1 data flows, 1 source files; 2 warning(s)")


def test_source_root_must_be_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="source root is not a directory"):
        check_model(_write(tmp_path, REVIEWED), today=dt.date(2026, 1, 1),
                    source_root=tmp_path / "nope")


def test_errors_still_come_first(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"^model\.yaml: line 15 column 5: entry_points"):
        check_model(_write(tmp_path, REVIEWED.replace("reach: internet", "reach: moon")),
                    today=dt.date(2026, 1, 1))


def test_coverage_lists_the_files_no_component_claims(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    for rel in ("src/parser/a.c", "src/parser/sub/b.c", "src/other/c.c", "README",
                "src/parser/__pycache__/x.pyc"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("x\n")
    assert source_files(root) == ("README", "src/other/c.c", "src/parser/a.c",
                                  "src/parser/sub/b.c")
    cov = coverage(parse_model(BASE), root)
    assert cov.files == 4
    assert cov.per_component == (("parser", 2),)
    assert cov.unmatched == ("README", "src/other/c.c")
    assert cov.summary() == f"2 of 4 files under {root} are in a component (50%); 2 in none"
