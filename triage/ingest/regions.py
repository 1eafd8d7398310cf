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
import re
from bisect import bisect_right
from typing import TYPE_CHECKING, Any

from triage.ingest.reader import Reader

if TYPE_CHECKING:
    from collections.abc import Callable

SNIPPET_LINES = 51
"""At most this many lines of a region make its snippet, as ``PathNormaliser.read_lines``."""

_BREAK = re.compile(r"\r\n|\r|\n")
_BREAK_BYTES = re.compile(rb"\r\n|\r|\n")


class Located:
    """A region found in a text: its first and last line, first column and whole lines."""

    __slots__ = ("column", "end", "snippet", "start")

    def __init__(self, start: int, end: int, column: int, snippet: str) -> None:
        self.start, self.end, self.column, self.snippet = start, end, column, snippet


class Text:
    """An artifact's contents with where each of its lines begins.

    CR, LF and CR LF end a line. As characters or as bytes: ``charOffset`` counts in the
    one, ``byteOffset`` in the other.
    """

    def __init__(self, contents: str | bytes) -> None:
        self.contents = contents
        self._chars: tuple[str, list[int]] | None = None
        self._bytes: tuple[bytes, list[int]] | None = None

    def chars(self) -> tuple[str, list[int]]:
        """The text as characters (UTF-8 when it came as bytes) and its line starts."""
        if self._chars is None:
            text = self.contents if isinstance(self.contents, str) else self.contents.decode(
                "utf-8", "replace")
            self._chars = text, [0] + [m.end() for m in _BREAK.finditer(text)]
        return self._chars

    def bytes(self) -> tuple[bytes, list[int]]:
        """The text as bytes (UTF-8 when it came as characters) and its line starts."""
        if self._bytes is None:
            data = self.contents if isinstance(self.contents, bytes) else self.contents.encode(
                "utf-8", "surrogatepass")
            self._bytes = data, [0] + [m.end() for m in _BREAK_BYTES.finditer(data)]
        return self._bytes

    def locate(self, offset: int, length: int, *, in_bytes: bool) -> Located | None:
        """The region of ``length`` from ``offset`` (0-based), or None past the text's end."""
        text, starts = self.bytes() if in_bytes else self.chars()
        if offset > len(text):
            return None  # the file changed since the scan, or the log is wrong: no line
        start = bisect_right(starts, offset)
        last = max(offset, min(offset + length, len(text)) - 1)
        end = max(start, bisect_right(starts, last))
        line_start = starts[start - 1]
        shown = min(end, start + SNIPPET_LINES - 1)
        stop = starts[shown] if shown < len(starts) else len(text)
        lines = text[line_start:stop]
        if isinstance(lines, bytes):
            before = text[line_start:offset]
            column = len(before.decode("utf-8", "replace") if isinstance(before, bytes)
                         else before) + 1
            snippet = lines.decode("utf-8", "replace")
        else:
            column, snippet = offset - line_start + 1, lines
        return Located(start, end, column, "\n".join(_BREAK.split(snippet.rstrip("\r\n"))))


def offsets_of(rd: Reader, region: dict[str, Any], where: str) -> tuple[int, int, bool] | None:
    """A region's offset, length and whether they count bytes; None when it gives neither.

    SARIF 3.30.9-3.30.12: an offset of -1 (the default) gives none, a length is 0 or more.
    A text region's ``charOffset`` comes before a binary region's ``byteOffset``.
    """
    for offset_key, length_key, in_bytes in (("charOffset", "charLength", False),
                                             ("byteOffset", "byteLength", True)):
        if offset_key not in region:
            continue
        offset = rd.opt_int(region, offset_key, where)
        if offset is None or offset == -1:
            continue
        if offset < -1:
            raise rd.fail(f"{where}.{offset_key}",
                          f"{offset}, below -1: an offset is -1 (none) or more")
        length = rd.opt_int(region, length_key, where) or 0
        if length < 0:
            raise rd.fail(f"{where}.{length_key}", f"{length}, below 0: a length is 0 or more")
        return offset, length, in_bytes
    return None


class ArtifactTexts:
    """The texts of a run's artifacts that regions given by offsets count in.

    The artifact a location names by ``index`` (SARIF 3.4.5) or by its resolved path; its
    ``contents`` (``text``, or ``binary`` in base64) when the log carries them, else the
    file under the source root through ``source_bytes``. Nothing is read until a region
    given by offsets alone asks.
    """

    def __init__(self, rd: Reader, artifacts: list[Any], where: str,
                 path_of: Callable[[dict[str, Any], str], str],
                 source_bytes: Callable[[str], bytes | None]) -> None:
        self.rd, self.artifacts, self.where = rd, artifacts, where
        self.path_of, self.source_bytes = path_of, source_bytes
        self._by_path: dict[str, int] | None = None
        self._texts: dict[int | str, Text | None] = {}

    def text(self, path: str, index: Any) -> Text | None:
        """The text of the artifact at ``path`` (``index`` into ``run.artifacts``)."""
        if type(index) is not int or not 0 <= index < len(self.artifacts):
            index = self._indexes().get(path)
        if index is not None:
            if index not in self._texts:
                self._texts[index] = self._embedded(index)
            if self._texts[index] is not None:
                return self._texts[index]
        if not path:
            return None
        if path not in self._texts:
            data = self.source_bytes(path)
            self._texts[path] = None if data is None else Text(data)
        return self._texts[path]

    def _indexes(self) -> dict[str, int]:
        """Each artifact's resolved path to its index, the first where several name one."""
        if self._by_path is None:
            self._by_path = {}
            for i, entry in enumerate(self.artifacts):
                awhere = f"{self.where}.artifacts[{i}]"
                loc = self.rd.opt_obj(self.rd.obj(entry, awhere), "location", awhere)
                if loc:
                    self._by_path.setdefault(self.path_of(loc, f"{awhere}.location"), i)
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
            return Text(self.rd.opt_str(contents, "text", cwhere))
        binary = self.rd.opt_str(contents, "binary", cwhere)
        if not binary:
            return None
        try:
            return Text(base64.b64decode(binary, validate=True))
        except (binascii.Error, ValueError):
            raise self.rd.fail(f"{cwhere}.binary", "not base64 (SARIF 3.3.3)") from None
