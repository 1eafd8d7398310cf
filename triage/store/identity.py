"""Layered identity: link a new scan's findings to the issues tracked so far.

Each link records the layer that made it (DESIGN.md §8):

1. ``tool-fingerprint``: the tool's own stable fingerprint of the same key and version;
   ``line-map``: with both source trees, the line a line diff maps the finding's line to;
2. ``content``: our content fingerprint (tool, rule, path, whitespace-normalised flagged
   text, occurrence index), never the line number;
3. inside each file, by where findings sit (line and column geometry):
   ``anchor``: a finding of the same rule and text exactly where the nearest linked
   finding above or below it moved (linked by this scanner or, for the same two releases,
   by another scanner: the lines of a file move alike for every scanner);
   ``alignment``: the longest runs of findings that kept their order and their distances
   (an edit above them moves them together);
   ``nearness``: findings known only by their message pair in order where a (rule, file,
   message) has as many on both sides; else the same flagged text, else the nearest line,
   after the local shift of the anchored neighbours, within a few lines;
   ``order``: findings known only by their message, left over in unequal numbers, pair in
   order where the distances between consecutive findings change least;
4. ``rename``: a vanished file and an appeared file whose findings are mostly the same
   (rule, flagged text) keys are one renamed file, linked by the layers above; then single
   findings whose flagged text moved to an appeared file.

Inserting or deleting lines above findings never changes their identities (a property test
checks it on real logs).

The functions here are pure: they take candidate records and return links, so the store
decides only where the records come from.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from difflib import SequenceMatcher

from triage.model import Fingerprint, Identity, NotContiguous, quick_init

NEAR_LINES = 3
"""Largest distance, after the local shift, at which layer 3 still links two findings."""
UNIQUE_LINES = 1000
"""Largest move at which layers 3c and 3e pair the findings left over in order."""
ORDER_MIN = 2
"""Fewest findings on the fewer side for which layer 3e pairs unequal numbers in order."""
RENAME_FANOUT = 8
"""Most appeared files a flagged text or a path ending may propose as one file's new name."""
ORDER_WORK = 250_000
"""Most steps layer 3e spends on one group (fewer × more², its dynamic program)."""


@quick_init
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
    """Start line (0 when unknown); used only by the layers that place findings (3)."""
    fingerprint: str
    """Our content fingerprint."""
    text_key: str
    """Normalised flagged text, or the masked message when the log has no text."""
    message_key: str
    """Masked message."""
    tool_fingerprints: tuple[tuple[str, str], ...] = ()
    """The tool's own fingerprints."""
    column: int = 0
    """Start column (0 when unknown): where on its line the finding sits."""


@quick_init
@dataclass(frozen=True, slots=True)
class Link:
    """A new finding linked to an existing issue, and the layer that did it."""

    new: int
    """Key of the new finding."""
    issue: int
    """Issue id it belongs to."""
    layer: str
    """``tool-fingerprint``, ``line-map``, ``content``, ``anchor``, ``alignment``,
    ``nearness``, ``order`` or ``rename``."""


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
    anchors: dict[str, list[tuple[int, int]]] | None = None,
    given: dict[int, Link] | None = None,
    taken_before: set[int] | None = None,
) -> dict[int, Link]:
    """Link new findings to previous ones (the last release) and to older issues.

    ``previous`` holds the findings of the previous release (``key`` = issue id);
    ``history`` maps content fingerprints of older releases to their issue ids, so a
    finding that comes back is linked to its old issue (reintroduced). ``line_maps`` holds,
    per file, the unchanged lines of a line diff of the two source trees, when both
    releases were ingested with ``--source-root``. ``anchors`` holds, per file, how other
    scanners' findings moved between the same two releases (old line, new line): the
    lines moved alike for every scanner, so they place this scanner's findings too.

    ``given`` holds links the tool's fingerprints made before (``FingerprintLinks``: a scan
    stored in chunks of files, whose issues may lie in files ``previous`` does not hold);
    ``taken_before`` every issue such links claimed. The other layers work around them as
    when every file is here.
    """
    links: dict[int, Link] = dict(given or {})
    taken = set(taken_before or ()) | {hit.issue for hit in links.values()}

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
            if c.key in links:
                continue
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

    # Layer 3a: anchors. A finding moves with the code around it: where the nearest linked
    # neighbour above or below moved by s lines, a finding of the same rule and text exactly
    # s lines from the old one is the same finding. Each link made anchors the next ones.
    by_key = {p.key: p for p in previous}
    shifts: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for c in new:
        hit = links.get(c.key)
        if hit is not None:
            was = by_key.get(hit.issue)
            if was is not None and was.path == c.path:
                shifts[c.path].append((was.line, c.line - was.line))
    for path, moves in (anchors or {}).items():
        shifts[path].extend((a, b - a) for a, b in moves)
    _extend_anchors(new, previous, shifts, links, taken, claim)

    # Layer 3b: alignment inside each file. The remaining findings of a file, in line
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
    for path, olds in old_by_path.items():
        news = new_by_path.get(path)
        if not news:
            continue
        olds.sort(key=lambda x: x.line)
        news.sort(key=lambda x: x.line)
        matcher = SequenceMatcher(None, _tokens(olds), _tokens(news), autojunk=False)
        for block in matcher.get_matching_blocks():
            # A run of one is a coincidence unless it starts both sequences on the same
            # column.
            if not block.size or (block.size < 2 and not (
                    block.a == 0 and block.b == 0
                    and olds[0].column == news[0].column)):
                continue
            for k in range(block.size):
                p, c = olds[block.a + k], news[block.b + k]
                if p.key not in taken and c.key not in links:
                    claim(c, p.key, "alignment")
                    shifts[path].append((p.line, c.line - p.line))

    # Layer 3c: findings known only by their message (no flagged text in the logs): where as
    # many of a (rule, file, masked message) are left on both sides, they are the same ones
    # moved by edits between anchors, so they pair in order.
    left_old, left_new = _left_by_message(previous, new, taken, links)
    for gkey, cs in left_new.items():
        ps = left_old.get(gkey, [])
        if len(cs) == len(ps):
            for c, p in zip(sorted(cs, key=lambda x: x.line), sorted(ps, key=lambda x: x.line),
                            strict=True):
                if abs(c.line - p.line) <= UNIQUE_LINES:
                    claim(c, p.key, "nearness")

    # Layer 3d: nearness inside (rule, file, masked message): the old line moved by the
    # shift of its nearest anchored neighbour, within a few lines. The same flagged text
    # comes first, however far (a changed line nearby is weaker evidence than an equal one).
    for moves in shifts.values():
        moves.sort()
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
                pairs.append((not same_text, distance, c.line, p.line, c, p))
    pairs.sort(key=lambda t: t[:4])
    for _other_text, _dist, _, _, c, p in pairs:
        if c.key in links or p.key in taken:
            continue
        claim(c, p.key, "nearness")

    # Layer 3e: findings known only by their message, left over in unequal numbers: the
    # fewer side pairs in order with a subsequence of the other, the one that keeps the
    # distances between consecutive findings best (the added or removed ones sit in the
    # gaps; unchanged code between two findings keeps its length).
    left_old, left_new = _left_by_message(previous, new, taken, links)
    for gkey, cs in left_new.items():
        ps = left_old.get(gkey, [])
        for p, c in _ordered_pairs(sorted(ps, key=lambda x: x.line),
                                   sorted(cs, key=lambda x: x.line)):
            if abs(c.line - p.line) <= UNIQUE_LINES:
                claim(c, p.key, "order")

    # Layer 4: renames. A vanished file and an appeared file whose findings are mostly the
    # same (rule, text) keys are one file renamed: its findings link as within one file.
    old_paths = {p.path for p in previous}
    new_paths = {c.path for c in new}
    vanished = old_paths - new_paths
    appeared = new_paths - old_paths
    renamed = _renamed_files(
        [p for p in previous if p.path in vanished], [c for c in new if c.path in appeared])
    if renamed:
        as_renamed = [replace(p, path=renamed[p.path]) for p in previous
                      if p.key not in taken and p.path in renamed]
        landed = set(renamed.values())
        inner = link([c for c in new if c.key not in links and c.path in landed],
                     as_renamed, {})
        for key, hit in sorted(inner.items()):
            if hit.issue not in taken:
                links[key] = Link(key, hit.issue, "rename")
                taken.add(hit.issue)
    # A finding whose text moved to another file, one by one.
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


class FingerprintLinks:
    """Layer 1 (the tool's own fingerprints) for a scan stored in chunks of files.

    A ``fingerprints`` value identifies a result wherever it is, also in a file of another
    chunk; the other layers work within a file. ``load`` gives the previous scan's values,
    each with its issue and file (read once, and only if some new finding has a value).
    With ``identities`` (every new finding's values in log order, known before the first
    chunk, as a spool knows them) the links are made at once, as the whole-file ingest
    makes them. Without, they are made chunk by chunk in log order; a link to an issue
    whose file an earlier chunk already stored would have changed how that chunk linked,
    so it raises ``NotContiguous`` and the log goes to the spool.
    """

    def __init__(self, load: Callable[[], dict[Fingerprint, tuple[int, str]]],
                 identities: Iterable[Identity] | None = None) -> None:
        self._load = load
        self._previous: dict[Fingerprint, tuple[int, str]] | None = None
        self._ahead: dict[tuple[str, int, int], int] | None = None
        self._stored: set[str] = set()
        self.taken: set[int] = set()
        """Every issue these links claimed (all of them at once, given ``identities``)."""
        if identities is not None:
            self._ahead = {}
            for place, ids in identities:
                issue = self._claim(ids)
                if issue is not None:
                    self._ahead[place] = issue

    def _claim(self, ids: tuple[Fingerprint, ...]) -> int | None:
        """As ``link`` layer 1: the unclaimed issue of a finding's first value that has one."""
        if not ids:
            return None
        if self._previous is None:
            self._previous = self._load()
        for fp in ids:
            hit = self._previous.get(fp)
            if hit is not None and hit[0] not in self.taken:
                if hit[1] in self._stored:
                    raise NotContiguous(f"fingerprint {fp[1]!r} moved from {hit[1]!r}, "
                                        "stored before")
                self.taken.add(hit[0])
                return hit[0]
        return None

    def chunk(self, identity: list[tuple[Fingerprint, ...]],
              places: list[tuple[str, int, int]], paths: set[str]) -> dict[int, Link]:
        """The links of a chunk's findings, by position.

        ``identity`` holds each finding's values, ``places`` its log's sha256, run and
        result index (needed only when some finding has values).
        """
        out: dict[int, Link] = {}
        if not any(identity):  # most scanners write no fingerprints values
            self._stored |= paths
            return out
        for i, ids in enumerate(identity):
            if self._ahead is not None:
                issue = self._ahead.get(places[i]) if ids else None
            else:
                issue = self._claim(ids)
            if issue is not None:
                out[i] = Link(i, issue, "tool-fingerprint")
        self._stored |= paths
        return out


def _left_by_message(
    previous: list[Candidate], new: list[Candidate], taken: set[int], links: dict[int, Link]
) -> tuple[dict[tuple[str, str, str], list[Candidate]],
           dict[tuple[str, str, str], list[Candidate]]]:
    """Findings known only by their message, not yet linked, by (rule, file, message)."""
    left_old: dict[tuple[str, str, str], list[Candidate]] = defaultdict(list)
    left_new: dict[tuple[str, str, str], list[Candidate]] = defaultdict(list)
    for p in previous:
        if p.key not in taken and p.text_key.startswith("msg:"):
            left_old[(p.rule_id, p.path, p.message_key)].append(p)
    for c in new:
        if c.key not in links and c.text_key.startswith("msg:"):
            left_new[(c.rule_id, c.path, c.message_key)].append(c)
    return left_old, left_new


def _extend_anchors(
    new: list[Candidate],
    previous: list[Candidate],
    shifts: dict[str, list[tuple[int, int]]],
    links: dict[int, Link],
    taken: set[int],
    claim: Callable[[Candidate, int, str], None],
) -> None:
    """Layer 3a: link findings found exactly where their nearest anchors moved them."""
    while True:
        spots: dict[tuple[str, str, str, int], list[Candidate]] = defaultdict(list)
        for c in new:
            if c.key not in links:
                spots[(c.rule_id, c.path, c.text_key, c.line)].append(c)
        if not spots:
            return
        found = []
        ordered = {path: sorted(moves) for path, moves in shifts.items() if moves}
        for p in previous:
            anchors = ordered.get(p.path)
            if p.key in taken or not anchors:
                continue
            i = bisect_right(anchors, (p.line, 1 << 30))
            hits = []
            for j in (i - 1, i):
                if not 0 <= j < len(anchors):
                    continue
                at, shift = anchors[j]
                here = spots.get((p.rule_id, p.path, p.text_key, p.line + shift), ())
                same = [c for c in here if c.column == p.column]
                if len(same) == 1 or len(here) == 1:
                    hits.append((abs(p.line - at), (same or list(here))[0]))
            if i == 0 and hits:
                # No anchor above: the top of the file is one that never moved. A finding
                # where it was as well as where the anchor below would move it: the edit
                # may lie between it and that anchor, so it cannot tell (as below).
                stayed = [c for c in spots.get((p.rule_id, p.path, p.text_key, p.line), ())
                          if c.column == p.column]
                if stayed and stayed[0] is not hits[0][1]:
                    hits.append((p.line, stayed[0]))
            # The anchors above and below disagree on a finding that both places show: an
            # edit between them moved one side, and this finding alone cannot tell which.
            if hits and all(c is hits[0][1] for _, c in hits):
                found.append((min(d for d, _ in hits), p.line, hits[0][1], p))
        if not found:
            return
        found.sort(key=lambda t: t[:2])
        fresh = False
        for _, _, c, p in found:
            if c.key in links or p.key in taken:
                continue
            claim(c, p.key, "anchor")
            shifts[p.path].append((p.line, c.line - p.line))
            fresh = True
        if not fresh:
            return


def _renamed_files(gone: list[Candidate], came: list[Candidate]) -> dict[str, str]:
    """Old path → new path for vanished files renamed to appeared ones.

    Two files are one renamed file when the multisets of their findings' (rule, text) keys
    overlap in at least half of each (as a renamed file keeps most of its content), and
    they share a flagged text or the file name (masked messages alone are too common to
    tell files apart, but a file moved to another folder keeps its name); the biggest
    overlaps pair first, then the most similar paths. The files compared with a vanished
    one are those sharing a flagged text with it, and those ending in the longest run of
    the same path parts; a text or an ending that many files share tells none of them
    apart, so it proposes none.
    """
    if not gone or not came:
        return {}
    old_keys: dict[str, Counter[tuple[str, str]]] = defaultdict(Counter)
    new_keys: dict[str, Counter[tuple[str, str]]] = defaultdict(Counter)
    for p in gone:
        old_keys[p.path][(p.rule_id, p.text_key)] += 1
    for c in came:
        new_keys[c.path][(c.rule_id, c.text_key)] += 1
    by_text: dict[tuple[str, str], set[str]] = defaultdict(set)
    by_ending: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for path, keys in new_keys.items():
        for k in keys:
            if not k[1].startswith("msg:"):
                by_text[k].add(path)
        parts = tuple(path.split("/"))
        for i in range(len(parts)):
            by_ending[parts[i:]].add(path)
    options = []
    for old_path, keys in old_keys.items():
        near: set[str] = set()
        for k in keys:
            owners = by_text.get(k, ())
            if len(owners) <= RENAME_FANOUT:
                near.update(owners)
        parts = tuple(old_path.split("/"))
        for i in range(len(parts)):
            owners = by_ending.get(parts[i:], ())
            if owners:
                if len(owners) <= RENAME_FANOUT:
                    near.update(owners)
                break
        for new_path in sorted(near):
            common = keys & new_keys[new_path]
            shared = sum(common.values())
            larger = max(sum(keys.values()), sum(new_keys[new_path].values()))
            texts = sum(n for k, n in common.items() if not k[1].startswith("msg:"))
            if 2 * shared >= larger and (texts or _name(old_path) == _name(new_path)):
                similar = SequenceMatcher(None, old_path, new_path, autojunk=False).ratio()
                options.append((-shared, -similar, old_path, new_path))
    out: dict[str, str] = {}
    used: set[str] = set()
    for _, _, old_path, new_path in sorted(options):
        if old_path not in out and new_path not in used:
            out[old_path] = new_path
            used.add(new_path)
    return out


def _name(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _ordered_pairs(olds: list[Candidate], news: list[Candidate]
                   ) -> list[tuple[Candidate, Candidate]]:
    """Layer 3e: pair all of the fewer side in order, changing the line offset least.

    The pairing is order-preserving and minimises the sum of the changes of the line offset
    between consecutive pairs (a line-offset model: edits sit between findings). It needs
    at least two on the fewer side (one pair says nothing about distances) and a bounded
    amount of work.
    """
    swap = len(olds) > len(news)
    few, many = (news, olds) if swap else (olds, news)
    n, m = len(few), len(many)
    if n < ORDER_MIN or n == m or n * m * m > ORDER_WORK:
        return []
    inf = float("inf")
    # cost[i][j]: best total offset change with few[i] paired to many[j].
    cost = [[inf] * m for _ in range(n)]
    back = [[-1] * m for _ in range(n)]
    for j in range(m - n + 1):
        cost[0][j] = 0.0
    for i in range(1, n):
        for j in range(i, m - n + i + 1):
            here = many[j].line - few[i].line
            for k in range(i - 1, j):
                if cost[i - 1][k] == inf:
                    continue
                total = cost[i - 1][k] + abs(here - (many[k].line - few[i - 1].line))
                if total < cost[i][j]:
                    cost[i][j], back[i][j] = total, k
    j = min(range(m), key=lambda k: (cost[n - 1][k], k))
    chosen = []
    for i in range(n - 1, -1, -1):
        chosen.append(j)
        j = back[i][j]
    chosen.reverse()
    pairs = [(few[i], many[j]) for i, j in enumerate(chosen)]
    return [(b, a) for a, b in pairs] if swap else pairs


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
