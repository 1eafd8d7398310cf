"""Join source paths to threat-model components: first component whose globs match wins.

Globs are gitignore-style (pathspec), compiled once per model; the answer for each distinct
path is cached, so a scan with many findings in few files costs one match per file.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

import pathspec
from pathspec.util import normalize_file

from threatmodel.records import ThreatModel

UNMODELLED = "unmodelled"


@dataclass(frozen=True, slots=True)
class Match:
    """Which component claims a path, and the glob that did it."""

    component_id: str
    glob: str = ""
    function_glob: str = ""
    """The ``functions`` glob that picked the component, when a function selector did."""


class PathMatcher:
    """Map repository-relative POSIX paths to component ids (DESIGN.md §6).

    The include globs of all components are indexed by literal prefix; a path is matched
    by one regular expression over the patterns it could match, alternatives in model
    order, so the first that matches names the first component that claims the path; the
    glob that matched is looked up on a hit only.
    An exclude veto, or a component with a negated (``!``) include glob, falls back to
    checking the components one by one, which is the definition this must agree with.
    """

    def __init__(self, model: ThreatModel) -> None:
        self._specs: list[tuple[str, list[tuple[str, pathspec.PathSpec]], pathspec.PathSpec]] = []
        for c in model.components:
            includes = [(g, pathspec.PathSpec.from_lines("gitignore", [g])) for g in c.paths]
            exclude = pathspec.PathSpec.from_lines("gitignore", c.exclude_paths)
            self._specs.append((c.id, includes, exclude))
        self._combined = _combine(self._specs)
        self._cache: dict[str, Match] = {}
        self._functions = {c.id: c.functions for c in model.components if c.functions}
        self._by_function: dict[tuple[str, str], Match] = {}

    def match(self, path: str, function: str = "") -> Match:
        """Return the first component whose ``paths`` match and ``exclude_paths`` do not.

        With the finding's enclosing ``function`` known, a component among those whose paths
        match and whose ``functions`` globs match it wins; else the first whose paths match
        and that names no functions; else the first whose paths match. Without a function,
        path selectors alone decide.
        """
        hit = self._cache.get(path)
        if hit is None:
            hit = self._match(path)
            self._cache[path] = hit
        if not function or not self._functions or hit.component_id == UNMODELLED:
            return hit
        key = (path, function)
        picked = self._by_function.get(key)
        if picked is None:
            picked = self._by_function[key] = self._match_function(path, function, hit)
        return picked

    def _match_function(self, path: str, function: str, by_path: Match) -> Match:
        file = normalize_file(path)
        path_only: Match | None = None
        for cid, includes, exclude in self._specs:
            glob = next((g for g, spec in includes if spec.match_file(file)), None)
            if glob is None or (exclude.patterns and exclude.match_file(file)):
                continue
            selectors = self._functions.get(cid)
            if selectors is None:
                path_only = path_only or Match(cid, glob)
                continue
            for fglob in selectors:
                if fnmatch.fnmatchcase(function, fglob):
                    return Match(cid, glob, fglob)
        return path_only or by_path

    def _match(self, path: str) -> Match:
        if not path:
            return Match(UNMODELLED)
        file = normalize_file(path)
        start = 0
        if self._combined is not None:
            first = self._combined.first(file)
            if first is None:
                return Match(UNMODELLED)
            start = first
            cid, includes, exclude = self._specs[start]
            if not (exclude.patterns and exclude.match_file(file)):
                return Match(cid, next(g for g, spec in includes if spec.match_file(file)))
            start += 1
        return self._scan(file, start)

    def _scan(self, file: str, start: int) -> Match:
        for cid, includes, exclude in self._specs[start:]:
            for glob, spec in includes:
                if spec.match_file(file):
                    if exclude.match_file(file):
                        break
                    return Match(cid, glob)
        return Match(UNMODELLED)

    def unmatched(self) -> tuple[str, ...]:
        """Paths seen so far that no component claims: the model's gaps.

        A result with no file (``""``) is not a gap in the model, so it is not listed.
        """
        return tuple(
            sorted(p for p, m in self._cache.items() if p and m.component_id == UNMODELLED)
        )


def _combine(specs: list[tuple[str, list[tuple[str, pathspec.PathSpec]], pathspec.PathSpec]]
             ) -> _Index | None:
    """An index over every component's include patterns, or None when one cannot join it.

    A negation, a pattern not anchored at the start (``match`` and pathspec's ``search``
    would then differ), or one with flags or named groups leaves the one-by-one definition.
    """
    regexes: list[tuple[int, str]] = []
    for index, (_, includes, _) in enumerate(specs):
        for _, spec in includes:
            for pattern in spec.patterns:
                rx = getattr(pattern, "regex", None)
                if pattern.include is None:
                    continue  # a blank or comment line
                if (not pattern.include or rx is None or not rx.pattern.startswith("^")
                        or rx.flags & ~re.UNICODE or "(?P" in rx.pattern):
                    # A named group would clash when patterns are joined, as would flags.
                    return None
                regexes.append((index, rx.pattern))
    return _Index(regexes) if regexes else None


class _Index:
    """Include patterns bucketed by their literal prefix (``src/proto/`` of ``src/proto/**``).

    A path can only match a pattern whose literal prefix it starts with, so a lookup gathers
    those patterns plus the floating ones (``*.c``, ``**/x``) and matches one regular
    expression over them, its alternatives in model order: the first that matches names
    the first component. That expression is compiled once per distinct candidate set.
    """

    def __init__(self, regexes: list[tuple[int, str]]) -> None:
        self._regexes = regexes
        self._by_prefix: dict[str, list[int]] = {}
        floating: list[int] = []
        for pos, (_, rx) in enumerate(regexes):
            prefix = _literal_prefix(rx)
            if prefix:
                self._by_prefix.setdefault(prefix, []).append(pos)
            else:
                floating.append(pos)
        self._floating = tuple(floating)
        self._lengths = sorted({len(p) for p in self._by_prefix})
        self._compiled: dict[tuple[int, ...], re.Pattern[str]] = {}

    def first(self, file: str) -> int | None:
        """Index of the first component with an include pattern matching ``file``."""
        found: list[int] = list(self._floating)
        for length in self._lengths:
            if length > len(file):
                break
            hit = self._by_prefix.get(file[:length])
            if hit:
                found.extend(hit)
        if not found:
            return None
        key = tuple(sorted(found))
        rx = self._compiled.get(key)
        if rx is None:
            rx = self._compile(key)
        m = rx.match(file)
        return None if m is None else int(m.lastgroup[1:])  # type: ignore[index]

    def _compile(self, positions: tuple[int, ...]) -> re.Pattern[str]:
        groups: dict[int, list[str]] = {}
        for pos in positions:
            index, rx = self._regexes[pos]
            groups.setdefault(index, []).append(f"(?:{rx})")
        joined = re.compile("|".join(f"(?P<c{i}>{'|'.join(alts)})" for i, alts in groups.items()))
        self._compiled[positions] = joined
        return joined


_META = frozenset("()[]{}?*+|^$.")


def _literal_prefix(rx: str) -> str:
    """The literal text every match of the anchored ``rx`` starts with ("" if unsure)."""
    if _top_level_alternation(rx):
        return ""
    out: list[str] = []
    i = 1  # after the "^"
    while i < len(rx):
        ch = rx[i]
        if ch == "\\":
            if i + 1 < len(rx) and not rx[i + 1].isalnum():
                out.append(rx[i + 1])
                i += 2
                continue
            break
        if ch in _META:
            break
        out.append(ch)
        i += 1
    if i < len(rx) and rx[i] in "?*+{" and out:
        out.pop()  # a quantifier makes the last literal optional
    return "".join(out)


def _top_level_alternation(rx: str) -> bool:
    depth, i, in_class = 0, 0, False
    while i < len(rx):
        ch = rx[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
            if rx[i + 1: i + 2] == "^":
                i += 1
            if rx[i + 1: i + 2] == "]":
                i += 1  # a "]" first in a class is literal
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            return True
        i += 1
    return False
