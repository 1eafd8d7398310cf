"""The one exception family of triage; the CLI maps each class to its exit code.

Exit codes (DESIGN.md §11): 0 ok, 1 the gate failed on findings (and only that), 2 usage,
3 bad input, 4 bad configuration or rules, 5 database, 70 internal error.
"""

from __future__ import annotations

_CONTROL = {c: f"\\x{c:02x}" for c in range(32)} | {10: "\\n", 13: "\\r", 9: "\\t"}


class TriageError(Exception):
    """Base of every error triage raises on purpose.

    ``str(err)`` is the one line shown to the user (``FILE: PLACE: what is wrong``);
    ``hint`` says what to do about it.
    """

    exit_code = 70

    def __init__(self, message: str, hint: str = "") -> None:
        # One line, whatever the input held: control characters are shown escaped.
        super().__init__(message.translate(_CONTROL))
        self.hint = hint.translate(_CONTROL)


class BadInputError(TriageError):
    """Malformed SARIF, threat model or decisions file; an unknown product or release."""

    exit_code = 3


class ConfigError(TriageError):
    """Bad configuration or rules data."""

    exit_code = 4


class DatabaseError(TriageError):
    """The store cannot be opened, read or written."""

    exit_code = 5


def place(file: str, where: str, what: str) -> str:
    """Format the one-line message ``FILE: PLACE: what is wrong``."""
    return f"{file}: {where}: {what}" if where else f"{file}: {what}"
