"""Artifact URIs to repository-relative paths, and reading flagged lines only inside the root."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from triage.ingest.paths import PathNormaliser
from triage.ingest.sarif import read_sarif

REPO = Path(__file__).resolve().parents[2]
RAW_RUFF = REPO / "tests" / "data" / "sarif" / "ruff-raw-absolute-uris__pymodbus-3.16.1.sarif"
BUILD_DIR = "/home/builder/src/pymodbus-3.16.1"


@pytest.mark.parametrize(
    ("uri", "strip", "expected"),
    [
        # file:// URIs, with and without a prefix to strip
        ("file:///home/u/proj/src/a.c", (), "/home/u/proj/src/a.c"),
        ("file:///home/u/proj/src/a.c", ("/home/u/proj",), "src/a.c"),
        ("file:///home/u/proj/src/a.c", ("/home/u/proj/",), "src/a.c"),
        ("file://localhost/home/u/proj/src/a.c", ("/home/u/proj",), "src/a.c"),
        ("FILE:///home/u/proj/src/a.c", ("/home/u/proj",), "src/a.c"),
        ("/home/u/proj/src/a.c", ("/home/u/proj",), "src/a.c"),
        # a prefix only strips whole directories
        ("file:///src/application/x.c", ("/src/app",), "/src/application/x.c"),
        # the longest prefix wins, whatever the order given
        ("/w/repo/vendor/lib/x.c", ("/w/repo", "/w/repo/vendor"), "lib/x.c"),
        ("/w/repo/vendor/lib/x.c", ("/w/repo/vendor", "/w/repo"), "lib/x.c"),
        # percent-encoding
        ("file:///home/u/my%20proj/src/%C3%A9t%C3%A9.c", ("/home/u/my proj",), "src/été.c"),
        ("src/a%2Bb%20c.py", (), "src/a+b c.py"),
        # Windows paths and drive letters, either slash, either case
        ("C:\\src\\x.c", ("C:/src",), "x.c"),
        ("C:\\src\\dir\\x.c", ("C:\\src\\",), "dir/x.c"),
        ("file:///C:/src/dir/x.c", ("C:/src",), "dir/x.c"),
        ("file:///c:/src/x.c", ("C:/src",), "x.c"),
        ("c:\\src\\x.c", ("C:/src",), "x.c"),
        ("file:///D:/other/x.c", ("C:/src",), "/d:/other/x.c"),
        # "./" and "." segments
        ("./pymodbus/client/tcp.py", (), "pymodbus/client/tcp.py"),
        ("././a/./b.py", (), "a/b.py"),
        (".", (), ""),
        ("", (), ""),
        # UNC share
        ("file://server/share/x.c", (), "//server/share/x.c"),
        # semgrep-style base id left in the URI
        ("%SRCROOT%/pkg/x.py", (), "pkg/x.py"),
    ],
)
def test_normalise(uri: str, strip: tuple[str, ...], expected: str) -> None:
    assert PathNormaliser(strip_prefixes=strip).normalise(uri) == expected


@pytest.mark.parametrize("uri", ["../etc/passwd", "src/../../etc/passwd", "a/../../../x"])
def test_dot_dot_is_never_rebased_into_the_tree(uri: str) -> None:
    # Whatever the normaliser does with "..", a path that climbs out of the tree keeps
    # showing it, so it can never pose as a file of the repository.
    assert ".." in PathNormaliser().normalise(uri).split("/")


@pytest.mark.parametrize(
    ("uri", "base", "expected"),
    [
        ("io/kb.c", "src/", "src/io/kb.c"),
        ("io/kb.c", "src", "src/io/kb.c"),
        ("kb.c", "file:///C:/logs/", "/c:/logs/kb.c"),
        ("x.c", "file:///home/u/proj/", "x.c"),
        # an absolute URI ignores its base
        ("file:///abs/x.c", "src/", "/abs/x.c"),
        ("/abs/x.c", "src/", "/abs/x.c"),
    ],
)
def test_normalise_against_a_base(uri: str, base: str, expected: str) -> None:
    assert PathNormaliser(strip_prefixes=("/home/u/proj",)).normalise(uri, base) == expected


def test_source_root_is_a_prefix(tmp_path: Path) -> None:
    n = PathNormaliser(source_root=tmp_path)
    assert n.normalise((tmp_path / "pkg" / "mod.py").as_uri()) == "pkg/mod.py"
    assert n.normalise(str(tmp_path / "pkg" / "mod.py")) == "pkg/mod.py"
    assert n.normalise("pkg/mod.py") == "pkg/mod.py"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A source root with one file inside and a secret file next to it, outside the root."""
    root = tmp_path / "src"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "mod.py").write_text("one\ntwo\nthree\nfour\n", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("TOP SECRET\n", encoding="utf-8")
    return root


def test_read_lines_inside_the_root(tree: Path) -> None:
    n = PathNormaliser(source_root=tree)
    assert n.read_lines("pkg/mod.py", 2, 2) == "two"
    assert n.read_lines("pkg/mod.py", 2, 3) == "two\nthree"
    assert n.read_lines("pkg/mod.py", 4, 10) == "four"
    assert n.read_lines("pkg/../pkg/mod.py", 1, 1) == "one"
    assert n.read_lines("pkg/mod.py", 3, 2) == ""
    assert n.read_lines("pkg/mod.py", 0, 1) == ""
    assert n.read_lines("pkg/missing.py", 1, 1) == ""
    assert n.read_lines("pkg", 1, 1) == ""  # a directory
    assert n.read_lines("", 1, 1) == ""


def test_read_lines_never_leaves_the_root(tree: Path) -> None:
    n = PathNormaliser(source_root=tree)
    secret = tree.parent / "secret.txt"
    assert n.read_lines("../secret.txt", 1, 1) == ""
    assert n.read_lines("pkg/../../secret.txt", 1, 1) == ""
    assert n.read_lines(str(secret), 1, 1) == ""
    # What a hostile log would produce: normalise keeps "..", read_lines refuses it.
    assert n.read_lines(n.normalise("../secret.txt"), 1, 1) == ""
    assert n.read_lines(n.normalise(secret.as_uri()), 1, 1) == ""


def test_read_lines_does_not_follow_a_symlink_out(tree: Path) -> None:
    link = tree / "pkg" / "leak.txt"
    try:
        os.symlink(tree.parent / "secret.txt", link)
    except OSError as e:  # pragma: no cover - platforms without symlinks
        pytest.fail(f"cannot create a symlink here: {e}")
    assert PathNormaliser(source_root=tree).read_lines("pkg/leak.txt", 1, 1) == ""


def test_read_lines_needs_a_source_root(tree: Path) -> None:
    assert PathNormaliser().read_lines("pkg/mod.py", 1, 1) == ""
    assert PathNormaliser(strip_prefixes=(str(tree),)).read_lines("pkg/mod.py", 1, 1) == ""


def test_real_ruff_log_reads_snippets_from_the_source_root(tmp_path: Path) -> None:
    """ruff's absolute URIs, stripped to the tree: flagged lines come from the checkout."""
    results = json.loads(RAW_RUFF.read_bytes())["runs"][0]["results"]
    wanted: dict[str, int] = {}
    for r in results:
        phys = r["locations"][0]["physicalLocation"]
        rel = phys["artifactLocation"]["uri"].removeprefix(f"file://{BUILD_DIR}/")
        wanted[rel] = max(wanted.get(rel, 0), phys["region"]["endLine"])
    root = tmp_path / "pymodbus-3.16.1"
    for rel, last in wanted.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("".join(f"{rel} line {n}\n" for n in range(1, last + 1)), "utf-8")
    (s,) = read_sarif([RAW_RUFF], PathNormaliser(source_root=root, strip_prefixes=(BUILD_DIR,)))
    for f in s.findings:
        assert not f.location.path.startswith("/")
        lines = range(f.location.start_line, f.location.end_line + 1)
        assert f.location.snippet == "\n".join(f"{f.location.path} line {n}" for n in lines)


def test_read_lines_counts_lines_as_scanners_do(tmp_path: Path) -> None:
    # Legacy C code keeps page breaks (form feeds) between functions; a scanner's line 4
    # is the fourth line ended by LF, CR LF or CR, whatever other control characters it
    # holds (``str.splitlines`` would break at the form feed, the U+2028 and the \x1c too).
    (tmp_path / "io.c").write_bytes(
        b"int a;\r\n\x0c\r\nint b; /* \xe2\x80\xa8 \x1c */\rint gets_input(void);\n")
    n = PathNormaliser(source_root=tmp_path)
    assert n.read_lines("io.c", 4, 4) == "int gets_input(void);"
    assert n.read_lines("io.c", 2, 3) == "\x0c\nint b; /* \u2028 \x1c */"
