"""Identity accuracy with the source trees at hand (``--source-root``), against the oracle.

Not part of the test suite (it needs the network once): downloads the eight pymodbus sdists
from PyPI into a cache, checks their sha256 against the corpus README, extracts them, ingests
each release with ``--source-root`` pointing at its tree (so every finding carries the text
of its flagged line, ruff's included), diffs consecutive releases and scores the links
against ``tests/data/oracle`` with the rules of ``score_identity.py``.

usage: python tests/identity_sources.py [CACHE_DIR]
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_sarif" / "pymodbus"
ORACLE = ROOT / "tests" / "data" / "oracle"
TRIAGE = str(Path(sys.executable).with_name("triage"))
SDISTS = {
    "2.1.0": "601d19ab4db110643ea966706e6bb073eb1157380159136ff098172887ffa9ff",
    "2.3.0": "8e59d49cdc3f9df8e90fa004baa4aae94814b9ecf1fc03620b1d67234896c444",
    "2.5.3": "5ef68c1a109bdb467c830ef003ef2db6494349a5248e4af946fe21c9eefe7e74",
    "3.0.0": "37c9b6f3e5c82f39ee42047ca48cbc9fd0c49a6731126789500191e9deea6cbc",
    "3.3.0": "0816a644d0ecc74b488ba9f46f8d6662c4a7272a493f184d2c81c6717fb62355",
    "3.6.9": "f4223b72c20cd00a2cf25f6ddb31ecb2c0587309111a55283b2f4a1ac115e4cc",
    "3.9.2": "2d08ab7bf6d1abc55a87f4faa3a7b04f74d7310b8c9771c3d66ee5fccf2e25ac",
    "3.16.1": "19e571826dff37860afc31c845c1fd2fb72acffca02a233506b32d94fa022c33",
}


def fetch(version: str, cache: Path) -> Path:
    """The extracted sdist of one release (downloaded and checked once)."""
    archive = cache / f"pymodbus-{version}.tar.gz"
    if not archive.exists():
        index = urllib.request.urlopen("https://pypi.org/simple/pymodbus/").read().decode()
        found = re.search(rf'href="([^"#]*/pymodbus-{re.escape(version)}\.tar\.gz)[#"]', index)
        if not found:
            raise SystemExit(f"pymodbus {version}: no sdist on the package index")
        archive.write_bytes(urllib.request.urlopen(found[1]).read())
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    if digest != SDISTS[version]:
        raise SystemExit(f"{archive}: sha256 {digest} is not the corpus's {SDISTS[version]}")
    tree = cache / f"pymodbus-{version}"
    if not tree.exists():
        with tarfile.open(archive) as tar:
            tar.extractall(cache, filter="data")
    return tree


def score(oracle: dict, diff: dict) -> Counter[str]:
    """tp/fp/fn of one diff against one oracle file (unambiguous cases only)."""
    want_from, want_to = Path(oracle["from_sarif"]).name, Path(oracle["to_sarif"]).name
    links, fixed, new = set(), set(), set()
    for e in diff["issues"]:
        a, b = e.get("from"), e.get("to")
        a = a if a and a["file"] == want_from and e["tool"] == oracle["scanner"] else None
        b = b if b and b["file"] == want_to and e["tool"] == oracle["scanner"] else None
        if e["status"] == "persisting" and a and b:
            links.add((a["result"], b["result"]))
        elif e["status"] == "fixed" and a:
            fixed.add(a["result"])
        elif e["status"] in ("new", "reintroduced") and b:
            new.add(b["result"])
    o_links = {tuple(p) for p in oracle["persisting"]}
    o_fixed, o_new = set(oracle["fixed"]), set(oracle["new"])
    o_from = {a for a, _ in o_links} | o_fixed
    o_to = {b for _, b in o_links} | o_new
    p_links = {x for x in links if x[0] in o_from or x[1] in o_to}
    c: Counter[str] = Counter()
    c["tp"] += len(p_links & o_links) + len(fixed & o_fixed) + len(new & o_to & o_new)
    c["fp"] += len(p_links - o_links) + len((fixed & o_from) - o_fixed) + len(
        (new & o_to) - o_new)
    c["fn"] += len(o_links - links) + len(o_fixed - fixed) + len(o_new - new)
    return c


def main() -> None:
    cache = Path(sys.argv[1] if len(sys.argv) > 1 else tempfile.gettempdir()) / "pymodbus-sdists"
    cache.mkdir(parents=True, exist_ok=True)
    releases = list(SDISTS)
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{tmp}/sources.db"
        for r in releases:
            logs = sorted(str(p) for p in (SAMPLE / r).glob("*.sarif"))
            subprocess.run([TRIAGE, "-q", "--db", db, "ingest", *logs, "--product", "pymodbus",
                            "--release", r, "--source-root", str(fetch(r, cache))], check=True)
        totals: dict[str, Counter[str]] = {}
        for a, b in zip(releases, releases[1:], strict=False):
            out = subprocess.run([TRIAGE, "-q", "--db", db, "diff", "--product", "pymodbus",
                                  "--from", a, "--to", b, "--format", "json"],
                                 check=True, capture_output=True, text=True).stdout
            diff = json.loads(out)
            for tool in ("bandit", "ruff", "semgrep"):
                oracle = json.loads((ORACLE / f"{tool}__{a}__{b}.json").read_text())
                totals.setdefault(tool, Counter()).update(score(oracle, diff))
    print("| scanner | precision | recall | tp | fp | fn |\n|---|---|---|---|---|---|")
    every: Counter[str] = Counter()
    for tool, c in totals.items():
        every.update(c)
        print(f"| {tool} | {c['tp'] / (c['tp'] + c['fp']):.4f} | "
              f"{c['tp'] / (c['tp'] + c['fn']):.4f} | {c['tp']} | {c['fp']} | {c['fn']} |")
    print(f"| all | {every['tp'] / (every['tp'] + every['fp']):.4f} | "
          f"{every['tp'] / (every['tp'] + every['fn']):.4f} | {every['tp']} | {every['fp']} | "
          f"{every['fn']} |")


if __name__ == "__main__":
    main()
