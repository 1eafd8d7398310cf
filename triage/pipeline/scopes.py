"""The scope phase a release is triaged in (SM-5), from the command line's options."""

from __future__ import annotations

import subprocess
from pathlib import Path

from triage.errors import BadInputError
from triage.scoring.scope import ALL as ALL_SCOPE
from triage.scoring.scope import HIGH_RISK_JUSTIFICATION, Scope


def load_scope(scope: str = "all", changed_files: Path | None = None,
               justification: str = "", git_range: str | None = None,
               repo: Path | None = None) -> Scope:
    """The scope phase (SM-5): ``all``, ``high-risk`` or a file of path globs.

    Files changed since the previous release (``changed_files``, or ``git diff --name-only``
    over ``git_range`` in ``repo``) are always in scope (SI-1).
    """
    changed: frozenset[str] = frozenset()
    if changed_files is not None:
        changed = frozenset(line.strip().removeprefix("./")
                            for line in _read_lines(changed_files, "--changed-files"))
    if git_range:
        changed |= _git_changed(git_range, repo or Path.cwd())
    if scope == "all":
        return Scope("all", justification or ALL_SCOPE.justification, changed=changed)
    if scope == "high-risk":
        return Scope("high-risk", justification or HIGH_RISK_JUSTIFICATION, changed=changed)
    globs = tuple(_read_lines(Path(scope), "--scope"))
    if not globs:
        raise BadInputError(f"{scope}: --scope: the file holds no path globs",
                            hint="one gitignore-style glob a line, e.g. from "
                                 "`triage threatmodel scope MODEL`")
    return Scope(Path(scope).name, justification or f"path globs in {scope}", globs, changed)


def _git_changed(git_range: str, repo: Path) -> frozenset[str]:
    """Repository-relative paths ``git diff --name-only`` lists for ``A..B``."""
    if ".." not in git_range or git_range.startswith("-"):
        raise BadInputError(f"--git-range {git_range!r}: expected A..B (two revisions)")
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), "diff", "--name-only", "--no-renames", git_range, "--"],
            capture_output=True, text=True, check=False, timeout=120,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise BadInputError(f"--git-range {git_range}: cannot run git: {e}",
                            hint="pass --changed-files FILE instead") from e
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or ["git failed"])[0]
        raise BadInputError(f"--git-range {git_range}: {why}",
                            hint="run in the repository, or pass --changed-files FILE")
    return frozenset(line for line in done.stdout.splitlines() if line)


def _read_lines(path: Path, option: str) -> list[str]:
    """Non-blank lines that are not ``#`` comments; a missing file is bad input (exit 3)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise BadInputError(f"{path}: {option}: cannot read: {getattr(e, 'strerror', e) or e}",
                            hint=f"{option} takes a text file, one entry a line") from e
    lines = (ln.strip() for ln in text.splitlines())
    return [ln for ln in lines if ln and not ln.startswith("#")]
