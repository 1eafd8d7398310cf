"""Typed access to a parsed SARIF document that names the JSON path of every problem."""

from __future__ import annotations

from collections.abc import Container
from typing import Any

from triage.errors import BadInputError, place

INT_LIMIT = 2**31
"""Integers the reader accepts lie in -INT_LIMIT .. INT_LIMIT - 1."""
MAX_TEXT = 1 << 20
"""The longest text a finding may carry, in characters (its message, snippet, path...): a
string of megabytes in a log is no finding's text, and each would be stored once per
release. A snippet read from the source tree is cut to it."""


_TYPE_NAMES = {
    dict: "an object",
    list: "an array",
    str: "a string",
    bool: "a boolean",
    int: "a number",
    float: "a number",
    type(None): "null",
}


def type_name(value: Any) -> str:
    """How an error message names a JSON value's type (``an object``, ``a string``)."""
    return _TYPE_NAMES.get(type(value), type(value).__name__)


class Reader:
    """Typed access to a parsed JSON document that reports the JSON path on error."""

    def __init__(self, name: str, sha256: str = "") -> None:
        self.name = name
        self.sha256 = sha256

    def fail(self, where: str, what: str) -> BadInputError:
        """The error for ``what`` is wrong at JSON path ``where``."""
        return BadInputError(
            place(self.name, where, what), hint="check that the file is SARIF 2.1.0 as written"
        )

    def obj(self, value: Any, where: str) -> dict[str, Any]:
        """The value as an object, or a ``BadInputError`` naming ``where``."""
        if not isinstance(value, dict):
            raise self.fail(where, f"expected an object, got {type_name(value)}")
        return value

    def arr(self, value: Any, where: str) -> list[Any]:
        """The value as an array, or a ``BadInputError`` naming ``where``."""
        if not isinstance(value, list):
            raise self.fail(where, f"expected an array, got {type_name(value)}")
        return value

    def opt_obj(self, parent: dict[str, Any], key: str, where: str) -> dict[str, Any]:
        """Member ``key`` as an object, ``{}`` when absent; else ``BadInputError``."""
        value = parent.get(key)
        if type(value) is dict:
            return value
        return {} if value is None else self.obj(value, f"{where}.{key}")

    def opt_arr(self, parent: dict[str, Any], key: str, where: str) -> list[Any]:
        """Member ``key`` as an array, ``[]`` when absent; else ``BadInputError``."""
        value = parent.get(key)
        if type(value) is list:
            return value
        return [] if value is None else self.arr(value, f"{where}.{key}")

    def opt_str(self, parent: dict[str, Any], key: str, where: str) -> str:
        """Member ``key`` as a string, ``""`` when absent; else ``BadInputError``."""
        value = parent.get(key)
        if type(value) is str:
            return value
        if value is None:
            return ""
        if not isinstance(value, str):
            raise self.fail(f"{where}.{key}", f"expected a string, got {type_name(value)}")
        return value

    def opt_int(self, parent: dict[str, Any], key: str, where: str) -> int | None:
        """Member ``key`` as an integer, None when absent; else ``BadInputError``."""
        value = parent.get(key)
        if type(value) is int and -INT_LIMIT <= value < INT_LIMIT:
            return value
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.fail(f"{where}.{key}", f"expected an integer, got {type_name(value)}")
        if not -INT_LIMIT <= value < INT_LIMIT:
            # Lines, columns and indexes: SARIF's integers; a database column holds 32 bits.
            raise self.fail(f"{where}.{key}", f"integer {value} out of range")
        return value

    def opt_int_from(self, parent: dict[str, Any], key: str, where: str, least: int,
                     why: str) -> int | None:
        """``opt_int``, and ``BadInputError`` below ``least`` (``why`` says what counts)."""
        value = self.opt_int(parent, key, where)
        if value is not None and value < least:
            raise self.fail(f"{where}.{key}", f"{value}, below {least}: {why}")
        return value

    def opt_word(
        self, parent: dict[str, Any], key: str, where: str, words: Container[str]
    ) -> str:
        """Member ``key`` as one of ``words``, ``""`` when absent or empty.

        Any other value is a ``BadInputError``: a string names the unknown word
        (``unknown kind 'bogus'``), anything else its type.
        """
        value = parent.get(key)
        if value is None:
            return ""
        if type(value) is str and value in words:
            return value
        value = self.opt_str(parent, key, where)
        if value:
            raise self.fail(f"{where}.{key}", f"unknown {key} {value!r}")
        return value
