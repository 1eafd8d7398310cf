"""Golden files: every format of every report over the demo data, byte for byte.

Deterministic by construction: the corpus is ingested in release order, the clock is fixed
and the version string injected (see ``conftest.py``). After an intended change, run
``pytest tests/report --update-golden`` and review the diff of ``tests/golden/``.
"""

from __future__ import annotations

import difflib

import pytest
from triage_testkit import TESTS

from triage.report import FORMATS, RELEASE_ONLY, render

GOLDEN = TESTS / "golden"
EXTENSION = {"csv": "csv", "html": "html", "json": "json", "junit": "junit.xml", "md": "md",
             "sarif": "sarif", "table": "txt"}
CASES = [(kind, fmt) for kind in ("release", "trend", "diff") for fmt in sorted(FORMATS)
         if kind == "release" or fmt not in RELEASE_ONLY]


def test_every_format_has_a_golden_extension() -> None:
    assert set(EXTENSION) == set(FORMATS)


@pytest.mark.parametrize(("kind", "fmt"), CASES, ids=[f"{k}-{f}" for k, f in CASES])
def test_golden(demo, kind: str, fmt: str, update_golden: bool) -> None:
    name = {"release": "release-3.16.1", "trend": "trend", "diff": "diff-3.9.2-3.16.1"}[kind]
    path = GOLDEN / f"{name}.{EXTENSION[fmt]}"
    text = render(fmt, getattr(demo, kind))
    if update_golden:
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="")
        return
    assert path.is_file(), f"{path} missing: run pytest tests/report --update-golden"
    expected = path.read_text(encoding="utf-8")
    if text != expected:
        diff = "".join(list(difflib.unified_diff(
            expected.splitlines(keepends=True), text.splitlines(keepends=True),
            str(path), "rendered", n=1))[:40])
        pytest.fail(f"{path.name} differs (run with --update-golden if intended):\n{diff}")
