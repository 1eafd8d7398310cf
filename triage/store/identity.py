"""Layered identity: link a new scan's findings to the issues tracked so far.

Each link records the layer that made it (DESIGN.md §8):

1. ``tool-fingerprint``: the tool's own stable fingerprint of the same key and version;
2. ``content``: our content fingerprint (tool, rule, path, whitespace-normalised flagged
   text, occurrence index), never the line number;
3. ``nearness``: inside (rule, file), the nearest line with the same masked message;
4. ``rename``: a file that vanished and one that appeared, whose findings carry the same
   (rule, flagged text) keys.

The functions here are pure: they take candidate records and return links, so the store
decides only where the records come from.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass


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


def link(
    new: list[Candidate], previous: list[Candidate], history: dict[str, int]
) -> dict[int, Link]:
    """Link new findings to previous ones (the last release) and to older issues.

    ``previous`` holds the findings of the previous release (``key`` = issue id);
    ``history`` maps content fingerprints of older releases to their issue ids, so a
    finding that comes back is linked to its old issue (reintroduced).
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

    # Layer 2: our content fingerprint, against the previous release first.
    by_fp = {p.fingerprint: p.key for p in previous}
    for c in new:
        if c.key in links:
            continue
        issue = by_fp.get(c.fingerprint)
        if issue is not None and issue not in taken:
            claim(c, issue, "content")

    # Layer 3: nearness inside (rule, file), same masked message, nearest line first.
    rest_prev = [p for p in previous if p.key not in taken]
    groups: dict[tuple[str, str, str], list[Candidate]] = defaultdict(list)
    for p in rest_prev:
        groups[(p.rule_id, p.path, p.message_key)].append(p)
    pairs = []
    for c in new:
        if c.key in links:
            continue
        for p in groups.get((c.rule_id, c.path, c.message_key), ()):
            # Only findings whose flagged text changed or is unknown: equal text would have
            # matched by content unless the occurrence index shifted.
            pairs.append((abs(c.line - p.line), c.line, p.line, c, p))
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
        if c.key in links:
            continue
        issue = history.get(c.fingerprint)
        if issue is not None and issue not in taken:
            claim(c, issue, "content")
    return links
