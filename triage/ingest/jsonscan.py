"""A large JSON log read value by value with the standard library's C scanner.

``json.JSONDecoder.raw_decode`` parses one value at a given place of a string and says where
it ends. Over a sliding window of the decoded file, that reads a results array one result
at a time, about twice as fast as ijson's C backend builds the same objects, and tells the
byte offset where each run's results begin, so the second pass starts right there.

This reader takes the plain case only: valid UTF-8, valid JSON with no ``NaN`` or
``Infinity``, no value nested deeper than ``MAX_DEPTH`` levels, no value larger than
``MAX_VALUE`` bytes. Anything else raises ``NotPlain`` and the caller reads the log with
ijson instead, which names the place of any problem (``triage.ingest.outline``).
"""

from __future__ import annotations

import codecs
import io
import json
import math
import re
import sys
from collections.abc import Iterator
from types import FrameType
from typing import Any, BinaryIO

MAX_DEPTH = 512
"""Deepest nesting a streamed log may have; the same limit as the ijson outline."""
MAX_VALUE = 64 * 1024 * 1024
"""Largest single value (a result, a run's tool) this reader keeps in its window."""
WINDOW = 1024 * 1024
"""Bytes read at a time."""
TOP_UP = 64 * 1024
"""An array's items are read on from the file once fewer characters than this are left."""

_WS = re.compile(r"[ \t\n\r]*")


_ENDS = frozenset(' \t\n\r,]}"')


def _whole(text: str, end: int) -> bool:
    """True when a value scanned up to ``end`` cannot go on past the window.

    So it is when it ends with a quote or a bracket, or a delimiter follows it; a number or
    a literal at the window's end could go on.
    """
    return end < len(text) and (text[end - 1] in '"]}' or text[end] in _ENDS)


class NotPlain(Exception):
    """The log is not in the plain case this reader takes; read it with ijson instead."""


def _refuse(name: str) -> Any:
    raise NotPlain(f"{name} is not JSON")


def _finite(text: str) -> float:
    """A JSON number with a fraction or exponent; one beyond a double (1e400) is not plain."""
    value = float(text)
    if value in (math.inf, -math.inf):
        raise NotPlain(f"{text} is beyond a double")
    return value


def _frame_depth() -> int:
    """How many Python frames are on the stack (the recursion limit counts them)."""
    depth = 0
    frame: FrameType | None = sys._getframe()
    while frame is not None:
        depth, frame = depth + 1, frame.f_back
    return depth


class Scanner:
    """JSON values read in order from a binary file, through a window of decoded text."""

    def __init__(self, f: BinaryIO, offset: int = 0, window: int | None = None) -> None:
        self.f = f
        self.window = window or WINDOW
        self.text = ""
        """The decoded window; ``pos`` is the place in it."""
        self.pos = 0
        self.base = offset
        """The byte offset of ``text[0]`` in the file."""
        # Keeps the bytes of a character a read cut in two until the next read.
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self.eof = False
        self._decoder = json.JSONDecoder(parse_constant=_refuse, parse_float=_finite)
        # raw_decode without its Python frame: the C scanner it calls.
        self._scan = self._decoder.scan_once  # type: ignore[attr-defined]
        self._depth = _frame_depth()
        self._limit = sys.getrecursionlimit()

    def _more(self, size: int) -> bool:
        """Read about ``size`` more bytes into the window, dropping what lies before ``pos``."""
        if self.eof:
            return False
        data = self.f.read(size)
        try:
            fresh = self._utf8.decode(data, final=not data)
        except UnicodeDecodeError as e:
            raise NotPlain("not UTF-8") from e
        if not data:
            self.eof = True
            return False
        dropped = self.text[:self.pos]
        self.base += len(dropped) if dropped.isascii() else len(dropped.encode("utf-8"))
        self.text = self.text[self.pos:] + fresh
        self.pos = 0
        return True

    def offset(self) -> int:
        """The byte offset of ``pos`` in the file."""
        head = self.text[:self.pos]
        return self.base + (len(head) if head.isascii() else len(head.encode("utf-8")))

    def peek(self) -> str:
        """The next character that is not white space, ``""`` at the end of the file."""
        while True:
            end = _WS.match(self.text, self.pos).end()  # type: ignore[union-attr]
            self.pos = end
            if end < len(self.text):
                return self.text[end]
            if not self._more(self.window):
                return ""

    def take(self, char: str) -> None:
        """Step over ``char``, which must come next."""
        if self.peek() != char:
            raise NotPlain(f"expected {char!r}")
        self.pos += 1

    def _scan_at(self, start: int, level: int) -> tuple[Any, int]:
        """The value at ``start`` of the window and where it ends (-1: no whole value there).

        No whole value: not valid JSON, or cut by the window's end. The recursion limit
        is lowered for the scan, so that nesting deeper than ``MAX_DEPTH`` fails here
        before the ijson outline's limit would (the frames above this call count too):
        that reader decides where the limit lies.
        """
        sys.setrecursionlimit(self._depth + MAX_DEPTH - level - 8)
        try:
            value, end = self._scan(self.text, start)
        except RecursionError as e:
            raise NotPlain("nested too deeply") from e
        except (ValueError, StopIteration, NotPlain):
            # Not valid JSON, or a number or constant the window cut (a prefix of a long
            # number may overflow, or exceed the digits an int may have).
            return None, -1
        finally:
            sys.setrecursionlimit(self._limit)
        if end - start > MAX_VALUE:
            raise NotPlain("a value larger than MAX_VALUE")
        return value, end

    def value(self, level: int) -> Any:
        """The next value, found at nesting ``level`` (the log is level 0)."""
        if not self.peek():
            raise NotPlain("the file ends where a value should be")
        size = self.window
        while True:
            value, end = self._scan_at(self.pos, level)
            # A value that stops at the window's end (a number, or the JSON just cut off)
            # may go on in the bytes not read yet.
            if end != -1 and (self.eof or _whole(self.text, end)):
                self.pos = end
                return value
            if len(self.text) - self.pos > MAX_VALUE or not self._more(size):
                if end != -1 and len(self.text) - self.pos <= MAX_VALUE:
                    self.pos = end
                    return value
                raise NotPlain("not valid JSON, or a value larger than MAX_VALUE")
            size *= 2

    def key(self) -> str:
        """The next object member's name, and the colon after it."""
        if self.peek() != '"':
            raise NotPlain("expected a member name")
        name = self.value(0)
        self.take(":")
        return str(name)

    def _parts(self, opening: str, closing: str) -> Iterator[None]:
        """Steps to each part of the container that opens next.

        Before each step the caller reads the part (a member, an element); between them
        come the commas, at the end the close.
        """
        self.take(opening)
        if self.peek() == closing:
            self.pos += 1
            return
        while True:
            yield None
            char = self.peek()
            self.pos += 1
            if char == closing:
                return
            if char != ",":
                raise NotPlain(f"expected ',' or {closing!r}")

    def members(self) -> Iterator[str]:
        """The member names of the object that opens next; the caller reads each value."""
        for _ in self._parts("{", "}"):
            yield self.key()

    def elements(self) -> Iterator[None]:
        """Steps to each element of the array that opens next; the caller reads each."""
        return self._parts("[", "]")

    def items(self, level: int) -> Iterator[Any]:
        """The items of the array that opens next, one at a time (nested at ``level``).

        An item inside the window is scanned here at once; one that reaches the window's
        end goes through ``value``, which reads on or says what is wrong.
        """
        for _ in self.elements():
            start = _WS.match(self.text, self.pos).end()  # type: ignore[union-attr]
            if len(self.text) - start < TOP_UP and not self.eof:
                # Read on before the window runs dry: an item cut by the window's end
                # costs a failed scan, whose error counts the window's lines.
                self.pos = start
                self._more(self.window)
                start = self.pos
            value, end = self._scan_at(start, level + 1)
            if end != -1 and _whole(self.text, end):
                self.pos = end
            else:
                self.pos = start
                value = self.value(level + 1)
            yield value


def _depth_is_limited() -> bool:
    """True where the recursion limit bounds the C scanner's nesting.

    So it is on CPython 3.11; later versions count C recursion apart. Only then does
    ``MAX_DEPTH`` hold on this reader too.
    """
    deep = "[" * (MAX_DEPTH + 50) + "]" * (MAX_DEPTH + 50)
    scanner = Scanner(io.BytesIO(deep.encode()))
    try:
        scanner.value(0)
    except NotPlain:
        return True
    return False


WORKS = _depth_is_limited()
"""Whether this reader can be used here; where it cannot, ijson reads every log."""
