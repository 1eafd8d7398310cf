"""Regions given by offsets: the lines, column and snippet of ``charOffset``/``byteOffset``.

SARIF 3.30.2 lets a text region be given by ``charOffset`` and ``charLength`` (3.30.9,
3.30.10) instead of lines and columns, and 3.30.3 a binary region by ``byteOffset`` and
``byteLength`` (3.30.11, 3.30.12). Findings are stored by line, so such a region is counted
out in the artifact's text: its own contents in the log (``run.artifacts[].contents``,
SARIF 3.24.8, 3.3), else the file under ``--source-root``. Where neither is at hand the
finding keeps no line, as a result without a region does; it is never dropped.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from array import array
from bisect import bisect_right
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from triage.errors import BadInputError
from triage.ingest.reader import MAX_TEXT, Reader

if TYPE_CHECKING:
    from collections.abc import Callable

SNIPPET_LINES = 51
"""At most this many lines of a region make its snippet, as ``PathNormaliser.read_lines``."""

DEFAULT_NEWLINES = ("\r\n", "\n")
"""SARIF 3.14.26: the line breaks of a run that names none (``newlineSequences``)."""

TEXTS_KEPT = 8
"""How many artifacts' texts a run keeps at hand: a log gives a file's results together."""


class Located:
    """A region found in a text: its first and last line, first column and whole lines."""

    __slots__ = ("column", "end", "snippet", "start")

    def __init__(self, start: int, end: int, column: int, snippet: str) -> None:
        self.start, self.end, self.column, self.snippet = start, end, column, snippet


class Text:
    """An artifact's contents with where each of its lines begins.

    Lines end at the run's ``newlineSequences`` (SARIF 3.14.26; CR LF and LF by default).
    As characters or as bytes: ``charOffset`` counts in the one, ``byteOffset`` in the
    other; characters are code points, or UTF-16 code units where the run's
    ``columnKind`` says so (SARIF 3.14.27), and so are the columns found.
    """

    def __init__(self, contents: str | bytes, newlines: tuple[str, ...] = DEFAULT_NEWLINES,
                 utf16: bool = False, encoding: str = "utf-8") -> None:
        self.contents, self.utf16, self.encoding = contents, utf16, encoding
        # Tried in the run's order at each place (SARIF 3.14.26): so does an alternation.
        self._break = re.compile("|".join(map(re.escape, newlines)))
        self._break_bytes = re.compile(b"|".join(
            re.escape(n.encode(encoding, "replace")) for n in newlines))
        self._chars: tuple[str, array[int]] | None = None
        self._bytes: tuple[bytes, array[int]] | None = None
        self._wide: array[int] | None = None

    def as_chars(self) -> tuple[str, array[int]]:
        """The text as characters (decoded when it came as bytes) and its line starts."""
        if self._chars is None:
            text = self.contents if isinstance(self.contents, str) else self.contents.decode(
                self.encoding, "replace")
            self._chars = text, array("q", [0, *(m.end() for m in self._break.finditer(text))])
        return self._chars

    def as_bytes(self) -> tuple[bytes, array[int]]:
        """The text as bytes (encoded when it came as characters) and its line starts."""
        if self._bytes is None:
            data = self.contents if isinstance(self.contents, bytes) else self.contents.encode(
                self.encoding, "replace")
            self._bytes = data, array("q", [0, *(m.end() for m in
                                                self._break_bytes.finditer(data))])
        return self._bytes

    def _code_point(self, unit: int) -> int:
        """The code point at UTF-16 code unit ``unit`` (characters beyond U+FFFF take two)."""
        if self._wide is None:
            text = self.as_chars()[0]
            wide = [i for i, c in enumerate(text) if c > "\uffff"] if text and max(
                text) > "\uffff" else []
            # Where each of them begins, in code units.
            self._wide = array("q", (i + n for n, i in enumerate(wide)))
        return unit - bisect_right(self._wide, unit - 1)

    def _units(self, text: str, start: int, stop: int) -> int:
        """How many columns ``text[start:stop]`` spans, in the run's unit."""
        if not self.utf16:
            return stop - start
        return stop - start + sum(c > "\uffff" for c in text[start:stop])

    def locate(self, offset: int, length: int, *, in_bytes: bool) -> Located | None:
        """The region of ``length`` from ``offset`` (0-based), or None past the text's end."""
        if in_bytes:
            data, starts = self.as_bytes()
            if offset > len(data):
                return None
            start, end = self._lines(starts, offset, length, len(data))
            first = starts[start - 1]
            before = data[first:offset].decode(self.encoding, "replace")
            column = self._units(before, 0, len(before)) + 1
            return Located(start, end, column, self._snippet(
                data[first:self._stop(starts, start, end, len(data))].decode(self.encoding,
                                                                             "replace")))
        text, starts = self.as_chars()
        if self.utf16:
            offset, length = (self._code_point(offset),
                              self._code_point(offset + length) - self._code_point(offset))
        if offset > len(text):
            return None  # the file changed since the scan, or the log is wrong: no line
        start, end = self._lines(starts, offset, length, len(text))
        first = starts[start - 1]
        return Located(start, end, self._units(text, first, offset) + 1,
                       self._snippet(text[first:self._stop(starts, start, end, len(text))]))

    @staticmethod
    def _lines(starts: array[int], offset: int, length: int, size: int) -> tuple[int, int]:
        """The first and last line (from 1) of ``length`` from ``offset``."""
        start = bisect_right(starts, offset)
        last = max(offset, min(offset + length, size) - 1)
        return start, max(start, bisect_right(starts, last))

    @staticmethod
    def _stop(starts: array[int], start: int, end: int, size: int) -> int:
        """Where the snippet's last line ends: at most ``SNIPPET_LINES`` lines."""
        shown = min(end, start + SNIPPET_LINES - 1)
        return starts[shown] if shown < len(starts) else size

    def _snippet(self, lines: str) -> str:
        """Whole lines, joined by LF, at most ``MAX_TEXT`` characters."""
        return "\n".join(self._break.split(lines))[:MAX_TEXT].rstrip("\r\n")


def offsets_of(rd: Reader, region: dict[str, Any], where: str) -> tuple[int, int, bool] | None:
    """A region's offset, length and whether they count bytes; None when it gives neither.

    SARIF 3.30.9-3.30.12: an offset of -1 (the default) gives none, a length is 0 or more.
    A text region's ``charOffset`` comes before a binary region's ``byteOffset``.
    """
    found = None
    for offset_key, length_key, in_bytes in (("charOffset", "charLength", False),
                                             ("byteOffset", "byteLength", True)):
        offset = rd.opt_int_from(region, offset_key, where, -1, "an offset is -1 (none) or more")
        length = rd.opt_int_from(region, length_key, where, 0, "a length is 0 or more")
        if found is None and offset is not None and offset != -1:
            found = offset, length or 0, in_bytes
    return found


class ArtifactTexts:
    """The texts of a run's artifacts that regions given by offsets count in.

    The artifact a location names by ``index`` (SARIF 3.4.5) or by its resolved path; its
    ``contents`` (``text``, or ``binary`` in base64) when the log carries them, else the
    file under the source root through ``source_bytes``. Nothing is read until a region
    given by offsets alone asks, and only the last ``TEXTS_KEPT`` texts are kept.
    """

    def __init__(self, rd: Reader, run: dict[str, Any], artifacts: list[Any], where: str,
                 path_of: Callable[[dict[str, Any], str], str],
                 source_bytes: Callable[[str], bytes | None]) -> None:
        self.rd, self.run, self.artifacts, self.where = rd, run, artifacts, where
        self.path_of, self.source_bytes = path_of, source_bytes
        self._by_path: dict[str, int] | None = None
        self._texts: OrderedDict[int | str, Text | None] = OrderedDict()
        self._kind: tuple[tuple[str, ...], bool] | None = None

    def text(self, path: str, index: Any) -> Text | None:
        """The text of the artifact at ``path`` (``index`` into ``run.artifacts``)."""
        if type(index) is not int or not 0 <= index < len(self.artifacts):
            index = self._indexes().get(path)
        found = self._kept(index, self._embedded) if index is not None else None
        if found is None and path:
            found = self._kept(path, lambda known: self._source(known, index))
        return found

    def _kept(self, key: Any, read: Callable[[Any], Text | None]) -> Text | None:
        if key in self._texts:
            self._texts.move_to_end(key)
            return self._texts[key]
        found = self._texts[key] = read(key)
        if len(self._texts) > TEXTS_KEPT:
            self._texts.popitem(last=False)
        return found

    def _made(self, contents: str | bytes, index: int | None) -> Text:
        """A text with the run's line breaks and column unit, and the artifact's encoding.

        SARIF 3.24.9 and 3.14.24: the artifact's ``encoding``, else the run's
        ``defaultEncoding``, else UTF-8 (``_codec``).
        """
        if self._kind is None:
            newlines = self.rd.opt_arr(self.run, "newlineSequences", self.where)
            for i, n in enumerate(newlines):
                if type(n) is not str or not n:
                    raise self.rd.fail(f"{self.where}.newlineSequences[{i}]",
                                       "expected a line break, a string of one or more "
                                       "characters")
            kind = self.rd.opt_word(self.run, "columnKind", self.where,
                                    frozenset({"utf16CodeUnits", "unicodeCodePoints"}))
            self._kind = tuple(newlines) or DEFAULT_NEWLINES, kind == "utf16CodeUnits"
        named = ""
        if index is not None and type(self.artifacts[index]) is dict:
            named = self.rd.opt_str(self.artifacts[index], "encoding",
                                    f"{self.where}.artifacts[{index}]")
        named = named or self.rd.opt_str(self.run, "defaultEncoding", self.where)
        return Text(contents, *self._kind, encoding=_codec(named))

    def _source(self, path: str, index: int | None) -> Text | None:
        data = self.source_bytes(path)
        return None if data is None else self._made(data, index)

    def _indexes(self) -> dict[str, int]:
        """Each artifact's resolved path to its index, the first where several name one.

        An artifact whose location cannot be resolved names no path here: the log's
        results that name it say what is wrong with it.
        """
        if self._by_path is None:
            self._by_path = {}
            for i, entry in enumerate(self.artifacts):
                awhere = f"{self.where}.artifacts[{i}]"
                try:
                    loc = self.rd.opt_obj(self.rd.obj(entry, awhere), "location", awhere)
                    if loc:
                        self._by_path.setdefault(self.path_of(loc, f"{awhere}.location"), i)
                except BadInputError:
                    continue
        return self._by_path

    def _embedded(self, index: int) -> Text | None:
        """SARIF 3.24.8: the artifact's ``contents``, as ``text`` or base64 ``binary``."""
        awhere = f"{self.where}.artifacts[{index}]"
        entry = self.rd.obj(self.artifacts[index], awhere)
        contents = self.rd.opt_obj(entry, "contents", awhere)
        if not contents:
            return None
        cwhere = f"{awhere}.contents"
        if "text" in contents:
            return self._made(self.rd.opt_str(contents, "text", cwhere), index)
        binary = self.rd.opt_str(contents, "binary", cwhere)
        if not binary:
            return None
        try:
            # MIME base64 (RFC 2045) may break its lines: the breaks are no part of it.
            data = base64.b64decode("".join(binary.split()), validate=True)
        except (binascii.Error, ValueError):
            raise self.rd.fail(f"{cwhere}.binary", "not base64 (SARIF 3.3.3)") from None
        return self._made(data, index)


def _codec(name: str) -> str:
    """The Python codec of an IANA character set name.

    UTF-8 for none, for a name Python does not know (IANA names more character sets than
    Python has codecs), and for a codec that is no character set (``rot13``, ``base64``).
    """
    if not name:
        return "utf-8"
    try:
        codec = codecs.lookup(name).name
        "a\n".encode(codec).decode(codec)
    except (LookupError, ValueError):  # UnicodeError is a ValueError
        return "utf-8"
    return codec
