"""Join source paths to threat-model components: first component whose globs match wins.

Globs are gitignore-style (pathspec), compiled once per model; the answer for each distinct
path is cached, so a scan with many findings in few files costs one match per file.
"""

from __future__ import annotations

from dataclasses import dataclass

import pathspec

from threatmodel.records import ThreatModel

UNMODELLED = "unmodelled"


@dataclass(frozen=True, slots=True)
class Match:
    """Which component claims a path, and the glob that did it."""

    component_id: str
    glob: str = ""


class PathMatcher:
    """Map repository-relative POSIX paths to component ids (DESIGN.md §6)."""

    def __init__(self, model: ThreatModel) -> None:
        self._specs = []
        for c in model.components:
            includes = [(g, pathspec.PathSpec.from_lines("gitignore", [g])) for g in c.paths]
            exclude = pathspec.PathSpec.from_lines("gitignore", c.exclude_paths)
            self._specs.append((c.id, includes, exclude))
        self._cache: dict[str, Match] = {}

    def match(self, path: str) -> Match:
        """Return the first component whose ``paths`` match and ``exclude_paths`` do not."""
        hit = self._cache.get(path)
        if hit is None:
            hit = self._match(path)
            self._cache[path] = hit
        return hit

    def _match(self, path: str) -> Match:
        if path:
            for cid, includes, exclude in self._specs:
                for glob, spec in includes:
                    if spec.match_file(path):
                        if exclude.match_file(path):
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
