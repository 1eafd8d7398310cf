"""Text normalisation shared by ingest (fingerprints) and the store (identity layers)."""

from __future__ import annotations

import re

from triage.model import Finding

_MASK = re.compile(r"\"[^\"]*\"|'[^']*'|`[^`]*`|\b\d+\b")


def normalise_text(text: str) -> str:
    r"""Collapse whitespace, so reindentation does not change identity.

    Runs of whitespace become one space and the ends are trimmed; ``str.split`` takes the
    same characters for whitespace as a regular expression's ``\s`` does.
    """
    return " ".join(text.split())


def mask_message(text: str) -> str:
    """Mask quoted strings and numbers, which often embed line-specific values."""
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
