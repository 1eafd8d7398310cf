"""Text normalisation shared by ingest (fingerprints) and the store (identity layers)."""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Sequence

from triage.model import Finding

_MASK = re.compile(r"\"[^\"]*\"|'[^']*'|`[^`]*`|\b\d+\b")


def normalise_text(text: str) -> str:
    r"""Collapse whitespace, so reindentation does not change identity.

    Runs of whitespace become one space and the ends are trimmed; ``str.split`` takes the
    same characters for whitespace as a regular expression's ``\s`` does.
    """
    return " ".join(text.split())


@functools.lru_cache(maxsize=8192)
def mask_message(text: str) -> str:
    """Mask quoted strings and numbers, which often embed line-specific values.

    Remembered: a scanner repeats its messages (pymodbus 3.3.0: bandit's 824 results carry
    4 distinct ones, ruff's 840 carry 10).
    """
    return normalise_text(_MASK.sub("_", text))


def text_key(finding: Finding) -> str:
    """The flagged text, normalised; the masked message (``msg:...``) when there is none."""
    return text_key_of(finding.location.snippet, finding.message)


def text_key_of(snippet: str, message: str) -> str:
    """``text_key`` of a finding with this snippet and message."""
    return normalise_text(snippet) or "msg:" + mask_message(message)


def message_key(finding: Finding) -> str:
    """The masked message."""
    return mask_message(finding.message)


Place = tuple[str, str, str, str, int, int, int, int]
"""A finding as its content fingerprint sees it: tool, rule, path, ``text_key``; then
line, column, run and result index, which order the findings of a file."""


def content_fingerprints(found: Sequence[Place]) -> list[str]:
    """Our content fingerprint of each finding: tool, rule, path, flagged text, occurrence.

    The line number is never part of it; the occurrence index counts earlier findings with
    the same (tool, rule, path, text) in file order, so two identical lines stay distinct.
    ``found`` holds whole files.
    """
    # File order: path, line, column, then the log's own order; the finding's index last, so
    # equal positions keep the order they came in.
    order = sorted((p[2], p[4], p[5], p[6], p[7], i) for i, p in enumerate(found))
    seen: dict[tuple[str, ...], int] = {}
    out = [""] * len(found)
    for *_, i in order:
        key = found[i][:4]
        occurrence = seen.get(key, 0)
        seen[key] = occurrence + 1
        out[i] = hashlib.sha256("\x1f".join((*key, str(occurrence))).encode()).hexdigest()[:32]
    return out
