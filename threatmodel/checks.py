"""Checks of a valid model against time and the source tree: warnings, returned as data.

A stale review (4-1 SR-2 asks for a review of the threat model at least yearly) and globs
that match no file under the source root do not make a model unusable, so they are
``ModelWarning`` records that name the line like errors do; the caller decides what to show.
``coverage`` lists the source files that fall in no component: the model's gaps.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import pathspec

from threatmodel.join import UNMODELLED, PathMatcher
from threatmodel.loader import ModelError, parse_with_positions, read_model_text
from threatmodel.records import ThreatModel

REVIEW_INTERVAL = dt.timedelta(days=365)
"""SR-2: the threat model is reviewed at least once a year."""


@dataclass(frozen=True, slots=True)
class ModelWarning:
    """Something to fix in a usable model, placed like an error."""

    file: str
    """Name of the model file."""
    line: int
    """1-based line in the YAML."""
    column: int
    """1-based column in the YAML."""
    key_path: str
    """Dotted key path, e.g. ``components.web.paths[0]``."""
    message: str
    """What is wrong."""

    def __str__(self) -> str:
        where = f"line {self.line} column {self.column}"
        return f"{self.file}: {where}: {self.key_path}: {self.message}"


@dataclass(frozen=True, slots=True)
class ModelCheck:
    """A validated model and the warnings about it."""

    model: ThreatModel
    """The model, fully validated."""
    warnings: tuple[ModelWarning, ...]
    """Warnings in line order; empty when all is well."""
    source_files: int | None = None
    """How many files the source root holds, when one was given."""

    def summary(self) -> str:
        """One line: what the model holds and how many warnings."""
        m = self.model
        tree = f", {self.source_files} source files" if self.source_files is not None else ""
        return (f"{m.source}: valid schema v1 model of {m.product}: {len(m.zones)} zones, "
                f"{len(m.entry_points)} entry points, {len(m.components)} components, "
                f"{len(m.data_flows)} data flows{tree}; {len(self.warnings)} warning(s)")


def source_files(root: str | Path) -> tuple[str, ...]:
    """Repository-relative POSIX paths of the files under ``root``, sorted.

    Hidden directories (``.git``, ``.venv``) and ``__pycache__`` are skipped.
    """
    base = Path(root)
    if not base.is_dir():
        raise ModelError(f"{root}: source root is not a directory")
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and d != "__pycache__"]
        rel = Path(dirpath).relative_to(base).as_posix()
        prefix = "" if rel == "." else f"{rel}/"
        out.extend(prefix + f for f in filenames)
    return tuple(sorted(out))


def check_model(
    path: str | Path, today: dt.date, source_root: str | Path | None = None
) -> ModelCheck:
    """Validate the model in ``path``; warn about a stale review and globs matching nothing.

    ``today`` is a parameter so the result is reproducible.
    """
    name = Path(path).name
    model, marks = parse_with_positions(read_model_text(path), name)

    def warn(key: str, message: str) -> ModelWarning:
        probe = key
        while probe and probe not in marks:
            probe = probe.rsplit(".", 1)[0] if "." in probe else ""
        line, col = marks.get(probe, (1, 1))
        return ModelWarning(name, line, col, key, message)

    warnings: list[ModelWarning] = []
    if model.last_reviewed is None:
        warnings.append(warn("review", "no review.last_reviewed: SR-2 asks for a review of "
                                       "the threat model at least yearly"))
    elif today - model.last_reviewed > REVIEW_INTERVAL:
        age = (today - model.last_reviewed).days
        warnings.append(warn("review.last_reviewed",
                             f"last reviewed {model.last_reviewed.isoformat()}, {age} days ago: "
                             "SR-2 asks for a review at least yearly"))
    files: tuple[str, ...] | None = None
    if source_root is not None:
        files = source_files(source_root)
        for c in model.components:
            for key, globs in (("paths", c.paths), ("exclude_paths", c.exclude_paths)):
                for i, glob in enumerate(globs):
                    spec = pathspec.PathSpec.from_lines("gitignore", [glob])
                    if not any(spec.match_files(files)):
                        warnings.append(warn(f"components.{c.id}.{key}[{i}]",
                                             f"glob {glob!r} matches no file under "
                                             f"{source_root}"))
    warnings.sort(key=lambda w: (w.line, w.column))
    return ModelCheck(model, tuple(warnings), None if files is None else len(files))


@dataclass(frozen=True, slots=True)
class Coverage:
    """Which files of a source tree each component claims, and which none does."""

    root: str
    """The source root, as given."""
    files: int
    """Files under the root."""
    per_component: tuple[tuple[str, int], ...]
    """``(component id, files claimed)`` in model order."""
    unmatched: tuple[str, ...]
    """Files no component claims, sorted: the model's gaps."""

    def summary(self) -> str:
        """One line: how much of the tree the model covers."""
        covered = self.files - len(self.unmatched)
        share = f" ({covered / self.files:.0%})" if self.files else ""
        return (f"{covered} of {self.files} files under {self.root} are in a component{share};"
                f" {len(self.unmatched)} in none")


def coverage(model: ThreatModel, root: str | Path) -> Coverage:
    """Join every file under ``root`` to the model's components (first match wins)."""
    matcher = PathMatcher(model)
    counts = dict.fromkeys((c.id for c in model.components), 0)
    unmatched: list[str] = []
    files = source_files(root)
    for f in files:
        cid = matcher.match(f).component_id
        if cid == UNMODELLED:
            unmatched.append(f)
        else:
            counts[cid] += 1
    return Coverage(str(root), len(files), tuple(counts.items()), tuple(unmatched))
