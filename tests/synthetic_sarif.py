"""Deterministic synthetic SARIF for benchmarks: releases that evolve by known changes.

Benchmarks only (``make bench``); behaviour tests use real scanner output. A product of
``files`` source files carries ``n`` findings of 150 rules. Each later release fixes a known
share of the findings, adds new ones and shifts the lines of a share of the files (lines
inserted above every finding of the file), so the expected new / fixed / persisting counts
of a diff are known exactly: every finding's flagged line is unique text, as in real code,
and moves with its file.

The log is written as a stream (one result at a time), so a million results never sit in
memory as Python objects while the file is made.
"""

from __future__ import annotations

import json
import random
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO

RULES = 150
SEED = 62443
_CWES = (20, 22, 78, 79, 89, 119, 120, 125, 134, 190, 200, 252, 295, 310, 327, 362, 367, 398,
         400, 401, 415, 416, 457, 476, 561, 563, 676, 703, 787, 798)
_LEVELS = ("error", "warning", "warning", "note")


@dataclass(frozen=True)
class Truth:
    """What a diff between two generated releases must find."""

    new: int
    fixed: int
    persisting: int


@dataclass
class _Finding:
    rule: int
    file: int
    key: int
    line: int


class Product:
    """The findings of one synthetic product, release after release."""

    def __init__(self, n: int, files: int | None = None, seed: int = SEED) -> None:
        self.rng = random.Random(seed)
        self.files = files or max(50, n // 30)
        self.next_key = 0
        self.findings: list[_Finding] = []
        self.file_len = [0] * self.files
        for _ in range(n):
            self.findings.append(self._fresh())

    def _fresh(self) -> _Finding:
        f = self.rng.randrange(self.files)
        # A finding every few lines: its line is past the file's last one so far (and the
        # line above it, its context, is not another finding's).
        self.file_len[f] += self.rng.randint(2, 9)
        key, self.next_key = self.next_key, self.next_key + 1
        return _Finding(self.rng.randrange(RULES), f, key, self.file_len[f])

    def evolve(self, fixed: float = 0.03, added: float = 0.03, shifted: float = 0.2) -> Truth:
        """Make the next release: fix, add and shift lines; return the diff's truth."""
        rng = self.rng
        keep = [f for f in self.findings if rng.random() >= fixed]
        gone = len(self.findings) - len(keep)
        shift = {f: rng.randint(1, 40) for f in range(self.files) if rng.random() < shifted}
        for f in keep:
            f.line += shift.get(f.file, 0)
        for f, s in shift.items():
            self.file_len[f] += s
        fresh = [self._fresh() for _ in range(int(len(self.findings) * added))]
        self.findings = keep + fresh
        return Truth(new=len(fresh), fixed=gone, persisting=len(keep))

    def write(self, path: Path, tool: str = "SynthScan") -> int:
        """Write the current release as one SARIF 2.1.0 log; return its size in bytes."""
        with path.open("w", encoding="utf-8") as out:
            self._write(out, tool)
        return path.stat().st_size

    def _write(self, out: IO[str], tool: str) -> None:
        rules = [_rule(k) for k in range(RULES)]
        head = {"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0"}
        out.write(json.dumps(head)[:-1] + ', "runs": [{')
        out.write('"tool": ' + json.dumps({"driver": {
            "name": tool, "version": "4.2.0", "informationUri": "https://example.invalid/synth",
            "rules": rules}}))
        out.write(', "originalUriBaseIds": {"SRCROOT": {"uri": "file:///build/src/"}}')
        out.write(', "invocations": [{"executionSuccessful": true}]')
        out.write(', "results": [')
        order = sorted(self.findings, key=lambda f: (f.file, f.line))
        for i, f in enumerate(order):
            if i:
                out.write(",")
            out.write(json.dumps(_result(f), separators=(",", ":")))
        out.write("]}]}\n")


def _rule(k: int) -> dict[str, object]:
    cwe = _CWES[k % len(_CWES)]
    return {
        "id": f"SY{k:03d}",
        "name": f"synthetic-check-{k}",
        "shortDescription": {"text": f"Synthetic check {k} (CWE-{cwe})"},
        "fullDescription": {"text": f"Flags call pattern {k}, which can lead to CWE-{cwe}."},
        "helpUri": f"https://example.invalid/rules/SY{k:03d}",
        "defaultConfiguration": {"level": _LEVELS[k % len(_LEVELS)]},
        "properties": {"tags": ["security", f"external/cwe/cwe-{cwe}"],
                       "precision": ("high", "medium", "low")[k % 3]},
    }


def _path(file: int) -> str:
    return f"module{file % 97:02d}/sub{file % 13}/unit_{file}.c"


def _result(f: _Finding) -> dict[str, object]:
    text = f"    status_{f.key} = call_{f.rule}(buffer_{f.key}, length_{f.key});"
    # The line above too, as a contextRegion shows the lines around a finding.
    above = f"    length_{f.key} = size_{f.rule};"
    phys = {
        "artifactLocation": {"uri": _path(f.file), "uriBaseId": "SRCROOT"},
        "region": {"startLine": f.line, "startColumn": 5, "endLine": f.line,
                   "endColumn": len(text) + 1, "snippet": {"text": text + "\n"}},
        "contextRegion": {"startLine": f.line - 1, "endLine": f.line,
                          "snippet": {"text": f"{above}\n{text}\n"}},
    }
    result: dict[str, object] = {
        "ruleId": f"SY{f.rule:03d}",
        "ruleIndex": f.rule,
        "message": {"text": f"call_{f.rule} writes buffer_{f.key} with an unchecked length"},
        "locations": [{"physicalLocation": phys}],
        # As GitHub code scanning writes them: a hash of the flagged line's text.
        "partialFingerprints": {
            "primaryLocationLineHash": f"{zlib.crc32(text.encode()):08x}{f.key:08x}:1"},
    }
    if f.key % 10 == 0:
        # A code flow of three steps, as taint-tracking scanners write them.
        steps = [{"location": {"physicalLocation": {
            "artifactLocation": {"uri": _path(f.file), "uriBaseId": "SRCROOT"},
            "region": {"startLine": max(1, f.line - d)}},
            "message": {"text": f"step {3 - d}"}}} for d in (2, 1, 0)]
        result["codeFlows"] = [{"threadFlows": [{"locations": steps}]}]
    return result


def main() -> None:
    """``python synthetic_sarif.py N DIR``: write DIR/r1.sarif, DIR/r2.sarif, DIR/truth.json."""
    import sys

    n, folder = int(sys.argv[1]), Path(sys.argv[2])
    folder.mkdir(parents=True, exist_ok=True)
    product = Product(n)
    product.write(folder / "r1.sarif")
    truth = product.evolve()
    product.write(folder / "r2.sarif")
    (folder / "truth.json").write_text(json.dumps(truth.__dict__))


if __name__ == "__main__":
    main()
