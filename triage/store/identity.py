"""Layered identity: link a new scan's findings to the issues tracked so far.

Each link records the layer that made it (DESIGN.md §8):

1. ``tool-fingerprint``: the tool's own stable fingerprint of the same key and version;
2. ``content``: our content fingerprint (tool, rule, path, whitespace-normalised flagged
   text, occurrence index), never the line number;
3. ``alignment``: inside each file, the longest runs of findings that kept their order and
   their distances (an edit above them moves them together);
   ``nearness``: findings known only by their message pair in order where a (rule, file,
   message) has as many on both sides; else the nearest line, after the local shift of the
   anchored neighbours, within a few lines;
4. ``rename``: a file that vanished and one that appeared, whose findings carry the same
   (rule, flagged text) keys.

Inserting or deleting lines above findings never changes their identities (a property test
checks it on real logs).

The functions here are pure: they take candidate records and return links, so the store
decides only where the records come from.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass
from difflib import SequenceMatcher

NEAR_LINES = 3
"""Largest distance, after the local shift, at which layer 3 still links two findings."""
UNIQUE_LINES = 1000
"""Largest move at which layer 3c pairs the findings left over in order."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """A finding as identity sees it (either side of a link)."""

    key: int
    """Caller's handle: an index into the new scan, or an issue id for previous findings."""
    rule_id: str
    """Rule id."""
    path: str
    """Normalised path."""
    line: int
    """Start line (0 when unknown); used only by the nearness pass."""
    fingerprint: str
    """Our content fingerprint."""
    text_key: str
    """Normalised flagged text, or the masked message when the log has no text."""
    message_key: str
    """Masked message."""
    tool_fingerprints: tuple[tuple[str, str], ...] = ()
    """The tool's own fingerprints."""


@dataclass(frozen=True, slots=True)
class Link:
    """A new finding linked to an existing issue, and the layer that did it."""

    new: int
    """Key of the new finding."""
    issue: int
    """Issue id it belongs to."""
    layer: str
    """``tool-fingerprint``, ``content``, ``nearness`` or ``rename``."""


def line_map(old_hashes: str, new_hashes: str) -> dict[int, int]:
    """Old line → new line for the lines a line diff leaves unchanged (1-based).

    Each argument is a file's line hashes, eight hex digits per line, as ingest records
    them from ``--source-root``.
    """
    a = [old_hashes[i:i + 8] for i in range(0, len(old_hashes), 8)]
    b = [new_hashes[i:i + 8] for i in range(0, len(new_hashes), 8)]
    out: dict[int, int] = {}
    for block in SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks():
        for k in range(block.size):
            out[block.a + k + 1] = block.b + k + 1
    return out


def link(
    new: list[Candidate],
    previous: list[Candidate],
    history: dict[str, int],
    line_maps: dict[str, dict[int, int]] | None = None,
) -> dict[int, Link]:
    """Link new findings to previous ones (the last release) and to older issues.

    ``previous`` holds the findings of the previous release (``key`` = issue id);
    ``history`` maps content fingerprints of older releases to their issue ids, so a
    finding that comes back is linked to its old issue (reintroduced). ``line_maps`` holds,
    per file, the unchanged lines of a line diff of the two source trees, when both
    releases were ingested with ``--source-root``.
    """
    links: dict[int, Link] = {}
    taken: set[int] = set()

    def claim(cand: Candidate, issue: int, layer: str) -> None:
        links[cand.key] = Link(cand.key, issue, layer)
        taken.add(issue)

    # Layer 1: the tool's stable fingerprints, same key (which carries the version).
    by_tool_fp: dict[tuple[str, str], int] = {}
    for p in previous:
        for fp in p.tool_fingerprints:
            by_tool_fp.setdefault(fp, p.key)
    if by_tool_fp:
        for c in new:
            for fp in c.tool_fingerprints:
                issue = by_tool_fp.get(fp)
                if issue is not None and issue not in taken:
                    claim(c, issue, "tool-fingerprint")
                    break

    # Layer 1b: with both source trees, a finding on an unchanged line is the one on the
    # line that the diff maps it to (same rule; several on one line pair in log order).
    if line_maps:
        at_new: dict[tuple[str, str, int], list[Candidate]] = defaultdict(list)
        for c in new:
            if c.key not in links and c.path in line_maps:
                at_new[(c.rule_id, c.path, c.line)].append(c)
        at_old: dict[tuple[str, str, int], list[Candidate]] = defaultdict(list)
        for p in previous:
            moved = line_maps.get(p.path, {}).get(p.line)
            if moved is not None and p.key not in taken:
                at_old[(p.rule_id, p.path, moved)].append(p)
        for where, ps in at_old.items():
            cs = at_new.get(where, [])
            if len(cs) == len(ps):
                for p, c in zip(ps, cs, strict=True):
                    claim(c, p.key, "line-map")

    # Layer 2: our content fingerprint (rule, path, flagged text). Where a text occurs
    # equally often on both sides, the occurrence index pairs them in order; where the
    # count changed, an equal line was added or removed and layer 3 decides which. A key
    # built from the message alone (no flagged text in the log) is left to layer 3 too.
    old_groups: dict[tuple[str, str, str], list[Candidate]] = defaultdict(list)
    new_groups: dict[tuple[str, str, str], list[Candidate]] = defaultdict(list)
    for p in previous:
        if p.key not in taken and not p.text_key.startswith("msg:"):
            old_groups[(p.rule_id, p.path, p.text_key)].append(p)
    for c in new:
        if c.key not in links and not c.text_key.startswith("msg:"):
            new_groups[(c.rule_id, c.path, c.text_key)].append(c)
    for gkey, cs in new_groups.items():
        ps = old_groups.get(gkey, [])
        if len(ps) == len(cs):
            for p, c in zip(sorted(ps, key=lambda x: x.line), sorted(cs, key=lambda x: x.line),
                            strict=True):
                if p.key not in taken:
                    claim(c, p.key, "content")

    # Layer 3a: alignment inside each file. The remaining findings of a file, in line
    # order, form a sequence of (rule, message, gap to the previous finding); unchanged
    # code keeps its gaps, so the longest common runs are the findings that moved together.
    new_by_path: dict[str, list[Candidate]] = defaultdict(list)
    old_by_path: dict[str, list[Candidate]] = defaultdict(list)
    for c in new:
        if c.key not in links:
            new_by_path[c.path].append(c)
    for p in previous:
        if p.key not in taken:
            old_by_path[p.path].append(p)
    shifts: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for c in new:
        hit = links.get(c.key)
        if hit is not None:
            for p in previous:
                if p.key == hit.issue and p.path == c.path:
                    shifts[c.path].append((p.line, c.line - p.line))
                    break
    for path, olds in old_by_path.items():
        news = new_by_path.get(path)
        if not news:
            continue
        olds.sort(key=lambda x: x.line)
        news.sort(key=lambda x: x.line)
        matcher = SequenceMatcher(None, _tokens(olds), _tokens(news), autojunk=False)
        for block in matcher.get_matching_blocks():
            # A run of one is a coincidence unless it starts both sequences.
            if not block.size or (block.size < 2 and not (block.a == 0 and block.b == 0)):
                continue
            for k in range(block.size):
                p, c = olds[block.a + k], news[block.b + k]
                if p.key not in taken and c.key not in links:
                    claim(c, p.key, "alignment")
                    shifts[path].append((p.line, c.line - p.line))

    # Layer 3b: findings known only by their message (no flagged text in the logs): where as
    # many of a (rule, file, masked message) are left on both sides, they are the same ones
    # moved by edits between anchors, so they pair in order.
    left_old: dict[tuple[str, str, str], list[Candidate]] = defaultdict(list)
    left_new: dict[tuple[str, str, str], list[Candidate]] = defaultdict(list)
    for p in previous:
        if p.key not in taken and p.text_key.startswith("msg:"):
            left_old[(p.rule_id, p.path, p.message_key)].append(p)
    for c in new:
        if c.key not in links and c.text_key.startswith("msg:"):
            left_new[(c.rule_id, c.path, c.message_key)].append(c)
    for gkey, cs in left_new.items():
        ps = left_old.get(gkey, [])
        if len(cs) == len(ps):
            for c, p in zip(sorted(cs, key=lambda x: x.line), sorted(ps, key=lambda x: x.line),
                            strict=True):
                if abs(c.line - p.line) <= UNIQUE_LINES:
                    claim(c, p.key, "nearness")

    # Layer 3c: nearness inside (rule, file, masked message): the old line moved by the
    # shift of its nearest anchored neighbour, within a few lines.
    for anchors in shifts.values():
        anchors.sort()
    groups: dict[tuple[str, str, str], list[Candidate]] = defaultdict(list)
    for p in previous:
        if p.key not in taken:
            groups[(p.rule_id, p.path, p.message_key)].append(p)
    pairs = []
    for c in new:
        if c.key in links:
            continue
        for p in groups.get((c.rule_id, c.path, c.message_key), ()):
            distance = min(abs(c.line - (p.line + shift))
                           for shift in _shifts_near(shifts.get(p.path, ()), p.line))
            same_text = c.text_key == p.text_key and not c.text_key.startswith("msg:")
            if distance <= NEAR_LINES or same_text:
                pairs.append((distance, c.line, p.line, c, p))
    pairs.sort(key=lambda t: t[:3])
    for _dist, _, _, c, p in pairs:
        if c.key in links or p.key in taken:
            continue
        claim(c, p.key, "nearness")

    # Layer 4: renames, a vanished file and an appeared file with the same finding texts.
    old_paths = {p.path for p in previous}
    new_paths = {c.path for c in new}
    vanished = old_paths - new_paths
    appeared = new_paths - old_paths
    if vanished and appeared:
        left = defaultdict(list)
        for p in previous:
            if p.path in vanished and p.key not in taken:
                left[(p.rule_id, p.text_key)].append(p)
        for c in new:
            if c.key in links or c.path not in appeared or c.text_key.startswith("msg:"):
                # A masked message alone ("Use of assert detected") cannot tell files apart.
                continue
            bucket = left.get((c.rule_id, c.text_key))
            while bucket:
                p = bucket.pop(0)
                if p.key not in taken:
                    claim(c, p.key, "rename")
                    break

    # Older releases: a finding that returns takes its old issue back.
    for c in new:
        if c.key in links or c.text_key.startswith("msg:"):
            continue
        issue = history.get(c.fingerprint)
        if issue is not None and issue not in taken:
            claim(c, issue, "content")
    return links


def _tokens(items: list[Candidate]) -> list[tuple[str, str, int]]:
    out, last = [], 0
    for i, x in enumerate(items):
        out.append((x.rule_id, x.text_key, x.line - last if i else -1))
        last = x.line
    return out


def _shifts_near(anchors: list[tuple[int, int]] | tuple[()], line: int) -> tuple[int, ...]:
    """Line shifts of the nearest anchors above and below ``line`` (0 with no anchor).

    An edit between two anchors moved ``line`` by one of their shifts, whichever side of
    the edit it sits on.
    """
    if not anchors:
        return (0,)
    i = bisect_right(anchors, (line, 1 << 30))
    near = [anchors[j][1] for j in (i - 1, i) if 0 <= j < len(anchors)]
    return tuple(near) or (0,)
