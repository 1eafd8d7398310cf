"""The outline of a large SARIF log: every run without its results, and how many each has.

The first of the two passes that stream a large log (see ``triage.ingest.stream``). A plain
log (valid UTF-8 JSON, nothing twice, no deeper than the limit) is read with the standard
library's C scanner, which also finds where each run's results begin (``_plain_outline``,
``plain_results``). Any other log is read with ijson, whose errors name the value where the
log broke; that reading takes parser events without JSON paths (a path per event costs
time, and memory that grows with the square of the nesting) and keeps its own place in the
first four levels: the log (1), its runs array (2), a run (3), a run's member (4 and below).

Most of a log is its results, and this pass needs of them only how many there are. The
events inside a results array (and inside any value the outline ignores) are therefore not
looked at one by one in Python: a chain of C iterators over the same parser turns them
into nesting depths, stops at the end of the array, counts the depths at which an item
ends, and raises ``KeyError`` when the nesting goes deeper than ``MAX_DEPTH``. The parser
reports syntax errors in the same order as when every event is looked at, so a log is
refused with the same message either way.

The log's SHA-256 can be taken on the way (``outline(..., hash_file=True)``): the parser's
reads feed the digest, and the file is not read once more to hash it.
"""

from __future__ import annotations

import collections
import hashlib
import io
import itertools
import operator
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import ijson  # type: ignore[import-untyped]

from triage.errors import BadInputError, place
from triage.ingest import jsonscan
from triage.ingest.reader import Reader

MAX_DEPTH = 512
"""Deepest nesting a streamed log may have (SARIF needs about 20 levels)."""

_PY_BACKEND = ijson.get_backend("python")
GIVEN_TWICE = "given twice, so which one holds is ambiguous (RFC 8259 section 4)"
"""A log's ``runs`` or a run's ``results`` named twice in one object: refused on every path
(a parser keeps the last, a stream could read both)."""
_SCALARS = frozenset({"string", "number", "integer", "double", "boolean", "null"})
_DELTA = {"start_map": 1, "start_array": 1, "end_map": -1, "end_array": -1, "map_key": 0,
          "string": 0, "number": 0, "integer": 0, "double": 0, "boolean": 0, "null": 0}
"""How each parser event changes the nesting depth."""
_FIRST = operator.itemgetter(0)
_GUARDS: dict[int, dict[int, bool]] = {}


@dataclass
class Outline:
    """A log without its results: its runs, and how many results each run has."""

    runs: list[dict[str, Any]]
    """Every run's members except ``results``."""
    counts: list[int]
    """How many results each run has (the items of its ``results`` arrays)."""
    total: int
    """All the results of the log."""
    backend: Any = ijson
    """ijson's C backend, or its Python one for a log with integers beyond 64 bits."""
    sha256: str = ""
    """The file's SHA-256 in hex, when asked for (``hash_file``)."""
    offsets: list[int] | None = None
    """Where each run's results array begins (its ``[``, a byte offset; -1 for a run
    without one), when the standard library's scanner read the log (``jsonscan``); None
    when ijson did."""
    given: list[bool] | None = None
    """Whether each run has a results array (absent or null: the tool did not determine
    its results, SARIF 3.14.23); None when every run has one."""


class HashingReader:
    """A binary file whose reads also feed a SHA-256 digest."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        """Read like the file, and hash what was read."""
        block = self.raw.read(size)
        self.digest.update(block)
        return block

    def hexdigest(self) -> str:
        """The digest of the whole file: what was not read yet is read and hashed now."""
        for block in iter(lambda: self.raw.read(1 << 20), b""):
            self.digest.update(block)
        return self.digest.hexdigest()


def outline(path: Path, name: str, backend: Any = ijson, *, hash_file: bool = False
            ) -> Outline:
    """Pass 1: the log without its results, and the number of results of each run.

    Every problem is a ``BadInputError`` naming ``name`` and the JSON path, in the order the
    problems appear in the log; the version is checked before what is wrong with ``runs``.
    A log with an integer beyond 64 bits is read with ijson's Python backend, which the
    outline names for the results pass.
    """
    rd = Reader(name)
    if _blank(path):
        raise rd.fail("$", "file is empty, expected a SARIF 2.1.0 log")
    if backend is ijson and jsonscan.WORKS:
        found = _plain_outline(path, hash_file)
        if found is not None:
            return found
    try:
        with path.open("rb") as raw:
            f: Any = HashingReader(raw) if hash_file else raw
            found = _read(rd, backend.basic_parse(f, use_float=True))
            sha256 = f.hexdigest() if hash_file else ""
    except (ijson.JSONError, ValueError) as e:  # ValueError: the Python backend's errors
        if backend is ijson and "integer overflow" in str(e):
            # The C parser holds integers in 64 bits; JSON has no such limit.
            return outline(path, name, _PY_BACKEND, hash_file=hash_file)
        raise json_error(name, e, broken_at(path, backend)) from e
    except TooDeep:
        raise _too_deep(rd, broken_at(path, backend)) from None
    except OSError as e:
        raise BadInputError(place(str(path), "", f"cannot read: {e.strerror}")) from e
    found.backend = backend
    found.sha256 = sha256
    return found


def _plain_outline(path: Path, hash_file: bool) -> Outline | None:
    """The outline by the standard library's scanner (``jsonscan``), or None.

    About twice as fast as ijson's events; None for a log outside its plain case, which
    ijson then reads. It keeps the same members, counts and digest as the ijson reading,
    and it also finds where each run's results begin, so the results pass starts there.
    Any doubt (a member given twice, a wrong type where the outline checks one, a version
    other than 2.1.0, text after the log) leaves the log to ijson, which says what is
    wrong and where.
    """
    try:
        with path.open("rb") as raw:
            f: Any = HashingReader(raw) if hash_file else raw
            scanner = jsonscan.Scanner(f)
            found = _plain_log(scanner)
            if scanner.peek():
                return None  # text after the log
            found.sha256 = f.hexdigest() if hash_file else ""
    except (jsonscan.NotPlain, ValueError, OSError):
        return None
    return found


def _plain_log(scanner: jsonscan.Scanner) -> Outline:
    runs: list[dict[str, Any]] = []
    counts: list[int] = []
    offsets: list[int] = []
    top: dict[str, Any] = {}
    for _ in _runs(scanner, top):
        run: dict[str, Any] = {}
        count, offset = 0, -1
        for member in scanner.members():
            if member in run or (member == "results" and offset != -1):
                raise jsonscan.NotPlain("a member given twice")
            if member != "results":
                value = scanner.value(3)
                if member:  # as the ijson reading, which keeps no member named ""
                    run[member] = value
            elif scanner.peek() == "[":
                offset = scanner.offset()
                count = sum(1 for _ in scanner.items(3))
            elif scanner.value(3) is not None:
                raise jsonscan.NotPlain("results is not an array")
        runs.append(run)
        counts.append(count)
        offsets.append(offset)
    if top.get("version") != "2.1.0" or "runs" not in top:
        raise jsonscan.NotPlain("not a SARIF 2.1.0 log")
    return Outline(runs, counts, sum(counts), offsets=offsets,
                   given=[offset != -1 for offset in offsets])


def _runs(scanner: jsonscan.Scanner, top: dict[str, Any]) -> Iterator[None]:
    """Stop at each run of a plain log, its members next for the scanner.

    ``top`` gets the log's members by name (the version's value; None for the others); a
    member given twice, runs that are not an array, a run that is not an object: refused.
    """
    for key in scanner.members():
        if key in top:
            raise jsonscan.NotPlain("a member given twice")
        if key != "runs":
            value = scanner.value(1)
            top[key] = value if key == "version" else None
            continue
        top[key] = None
        if scanner.peek() != "[":
            raise jsonscan.NotPlain("runs is not an array")
        for _ in scanner.elements():
            if scanner.peek() != "{":
                raise jsonscan.NotPlain("a run is not an object")
            yield


class OnePass:
    """A plain log of one run that names its tool before its results, read in one pass.

    The results pass needs the run's members before it reads a result; the outline reads
    the whole log first to have them wherever they are. Many scanners write the run's tool
    (and whatever else a result needs) before its results (bandit, flawfinder, most CodeQL
    logs), and then the outline is not needed: ``start`` reads up to the results and
    gives the run's members so far, ``results`` gives each result and then reads the rest of
    the log. Where the log is not of that case, ``jsonscan.NotPlain`` says so: from
    ``start`` (results before the tool, several runs, anything the plain outline would
    doubt), or from ``results`` (one of ``needed`` after the results, a second run, a
    version other than 2.1.0 given after the runs, text after the log).
    """

    def __init__(self, path: Path, needed: frozenset[str]) -> None:
        self._file = path.open("rb")
        self._scanner = jsonscan.Scanner(self._file)
        self._needed = needed
        self._steps = self._walk()

    def start(self) -> dict[str, Any]:
        """The run's members before its results (its tool among them)."""
        try:
            run: dict[str, Any] = next(self._steps)
        except BaseException:
            self.close()
            raise
        return run

    def results(self) -> Iterator[Any]:
        """Each result, in order; the rest of the log is read once they are all given."""
        try:
            yield from self._steps
        finally:
            self.close()

    def offset(self) -> int:
        """How many bytes of the log were read."""
        return self._scanner.offset()

    def close(self) -> None:
        """Close the file (and the walk, when it stopped early)."""
        self._steps.close()
        self._file.close()

    def _walk(self) -> Generator[Any, None, None]:
        scanner = self._scanner
        top: dict[str, Any] = {}
        runs = 0
        for _ in _runs(scanner, top):
            runs += 1
            if runs > 1:
                raise jsonscan.NotPlain("several runs")
            run: dict[str, Any] = {}
            after = False
            for member in scanner.members():
                if member in run or (member == "results" and after):
                    raise jsonscan.NotPlain("a member given twice")
                if member == "results":
                    if scanner.peek() != "[" or "tool" not in run:
                        raise jsonscan.NotPlain("the results come before the tool")
                    yield run
                    yield from scanner.items(3)
                    after = True
                    continue
                value = scanner.value(3)
                if after and member in self._needed:
                    raise jsonscan.NotPlain(f"the run's {member} follows its results")
                if member and not after:  # as the outline, which keeps no member ""
                    run[member] = value
            if not after:
                raise jsonscan.NotPlain("a run without results")
        if top.get("version") != "2.1.0" or runs != 1 or scanner.peek():
            raise jsonscan.NotPlain("not a SARIF 2.1.0 log of one run")


def plain_results(path: Path, name: str, outline: Outline) -> Iterator[tuple[int, int, Any]]:
    """(run index, result index, result) in log order, by the standard library's scanner.

    Each run's results are read from where the outline found them begin
    (``Outline.offsets``). Raises ``jsonscan.NotPlain`` where the scanner cannot go on (the
    caller reads on with ijson).
    """
    try:
        with path.open("rb") as f:
            for run, (offset, count) in enumerate(zip(outline.offsets or (), outline.counts,
                                                      strict=True)):
                if offset < 0:
                    continue
                f.seek(offset)
                index = -1
                for index, result in enumerate(jsonscan.Scanner(f, offset).items(3)):
                    yield run, index, result
                if index + 1 != count:
                    raise jsonscan.NotPlain("the results changed")
    except OSError as e:
        raise BadInputError(place(str(path), "", f"cannot read: {e.strerror}")) from e


def check_given_once(raw: bytes, name: str) -> None:
    """Refuse, as the outline does, ``runs`` or a run's ``results`` given twice.

    The whole-file path's check (``GIVEN_TWICE``), where the parser kept the last: only for
    a log whose bytes name ``runs`` more than once, or ``results`` more often than it has
    runs.
    """
    for backend in (ijson, _PY_BACKEND):
        try:
            _read(Reader(name), backend.basic_parse(io.BytesIO(raw), use_float=True))
        except (ijson.JSONError, ValueError) as e:
            if backend is ijson and "integer overflow" in str(e):
                continue  # read again with the Python backend, as the outline does
        except TooDeep:
            pass
        return


def broken_at(path: Path, backend: Any = ijson) -> str:
    """The JSON path of the value in which a log stops being valid JSON (or nests too deep).

    Only for an error: the log is read once more with the outline's events, keeping the
    place at run and member level and, inside a results array, the index of the result
    (counted in C, as the outline counts them). ``$`` when the place is not found.
    """
    where = ["$"]
    try:
        with path.open("rb") as raw:
            _read(Reader(path.name), backend.basic_parse(raw, use_float=True), where)
    except (ijson.JSONError, ValueError, TooDeep, BadInputError, OSError):
        return where[0]
    return "$"  # the log reads without error this time (changed on disk)


def _read(rd: Reader, events: Iterator[tuple[str, Any]], where: list[str] | None = None
          ) -> Outline:
    """The outline from the parser's events (``_skip`` takes over inside ignored values).

    With ``where``, its one item follows the JSON path of the value being read, down to a
    run's member and a result (``broken_at``).
    """
    runs: list[dict[str, Any]] = []
    counts: list[int] = []
    given: list[bool] = []
    version: Any = None
    top = has_runs = False
    results_given: list[bool] = []  # whether each run has named its results yet
    runs_bad = ""
    top_key: Any = None
    member: Any = ""
    builder: Any = None
    depth = 0
    for event, value in events:
        if event == "map_key":
            if depth == 1:
                if value == "runs" and has_runs:
                    raise rd.fail("runs", GIVEN_TWICE)
                top_key = value
                if where is not None:
                    where[0] = _member("$", value)
            elif depth == 3 and runs and not runs_bad and top_key == "runs":
                _close_member(runs, member, builder)
                if value == "results":
                    if results_given[-1]:
                        raise rd.fail(f"runs[{len(runs) - 1}].results", GIVEN_TWICE)
                    results_given[-1] = True
                member = value
                builder = None if value == "results" else ijson.ObjectBuilder()
                if where is not None:
                    where[0] = _member(f"runs[{len(runs) - 1}]", value)
            elif builder is not None and depth >= 4:
                builder.event(event, value)
            continue
        if event in ("end_map", "end_array"):
            if builder is not None and depth >= 4:
                builder.event(event, value)
            elif depth == 3 and runs and not runs_bad and top_key == "runs":
                _close_member(runs, member, builder)
                member, builder = "", None
            if where is not None and depth <= 3:
                where[0] = "runs" if depth == 3 else "$"  # back in the runs array, or the log
            depth -= 1
            continue
        # A value (scalar or an opening container) at nesting ``level``.
        level = depth
        opens = event in ("start_map", "start_array")
        if opens:
            depth += 1
            if depth > MAX_DEPTH:
                raise TooDeep
        if level == 0:
            if event != "start_map":
                raise rd.fail("$", "expected an object, got " + _event_type(event))
            top = True
            continue
        if level == 1:
            if top_key == "version":
                version = value if event in _SCALARS else _event_type(event)
            elif top_key == "runs":
                has_runs = True
                if event != "start_array":
                    # Reported after the version, as the whole-file reader does.
                    runs_bad = "expected an array, got " + _event_type(event)
        if top_key != "runs" or runs_bad:
            if opens:  # nothing inside is part of the outline
                _skip(events, depth)
                depth -= 1
        elif level == 1:
            continue
        elif level == 2:
            if event != "start_map":
                raise rd.fail(f"runs[{len(runs)}]", "expected an object, got "
                              + _event_type(event))
            runs.append({})
            counts.append(0)
            given.append(False)
            results_given.append(False)
            member, builder = "", None
            if where is not None:
                where[0] = f"runs[{len(runs) - 1}]"
        elif member == "results":
            # Only a run's own results reach here: an array's items are skipped.
            if event == "start_array":
                given[-1] = True
                counts[-1] += _skip(events, depth, where)
                depth -= 1
                if where is not None:  # past the results: the run is the place
                    where[0] = f"runs[{len(runs) - 1}]"
            elif event != "null":
                raise rd.fail(f"runs[{len(runs) - 1}].results",
                              "expected an array, got " + _event_type(event))
        elif builder is not None:
            builder.event(event, value)
    if not top:
        raise rd.fail("$", "file is empty, expected a SARIF 2.1.0 log")
    if version != "2.1.0":
        got = "no version" if version is None else f"version {version!r}"
        raise rd.fail("version", f"expected SARIF version '2.1.0', got {got}")
    if not has_runs:
        raise rd.fail("runs", "missing; a SARIF log needs a runs array")
    if runs_bad:
        raise rd.fail("runs", runs_bad)
    return Outline(runs, counts, sum(counts), given=given)


def _skip(events: Iterator[tuple[str, Any]], depth: int, where: list[str] | None = None
          ) -> int:
    """Read past the inside of a container just opened at ``depth``, through its end.

    Returns how many values the container holds directly (its items, for an array). The
    events go through C iterators only: each becomes the depth relative to the container
    (-1 at its end, where ``takewhile`` stops after taking that event), and the depth
    table raises ``KeyError`` on the event that opens a level beyond ``MAX_DEPTH``. With
    ``where`` (an array of results, read again for the place of an error), the items
    ended so far are kept in C as they are counted, so the index of the item an error
    breaks is known; that costs a third more, so only then.
    """
    guard = _GUARDS.get(depth)
    if guard is None:
        guard = _GUARDS[depth] = {-1: False} | dict.fromkeys(range(MAX_DEPTH - depth + 1), True)
    depths = itertools.accumulate(map(_DELTA.__getitem__, map(_FIRST, events)))
    inside: Iterator[int] = itertools.takewhile(guard.__getitem__, depths)
    ended = collections.deque([0], maxlen=1)
    try:
        if where is None:
            # An item ends at relative depth 0: a scalar item, or the end of a container item.
            return operator.countOf(inside, 0)
        ended.extend(itertools.accumulate(map((0).__eq__, inside), initial=0))
        return ended[0]
    except KeyError as e:
        if where is not None:
            where[0] += f"[{ended[0]}]"  # the item the error broke
        if e.args == (MAX_DEPTH - depth + 1,):
            raise TooDeep from None
        raise
    except Exception:
        if where is not None:
            where[0] += f"[{ended[0]}]"
        raise


class TooDeep(Exception):
    """A streamed log nests deeper than ``MAX_DEPTH`` (reported with its place)."""


def _too_deep(rd: Reader, where: str = "$") -> BadInputError:
    return rd.fail(where, f"not valid JSON: nested deeper than {MAX_DEPTH} levels")


def _member(parent: str, key: Any) -> str:
    """The JSON path of member ``key`` of ``parent``, as the reader writes paths.

    A key that is not a name leaves the place at ``parent``.
    """
    if not (isinstance(key, str) and key.isidentifier()):
        return parent
    return f"{parent}.{key}".removeprefix("$.")


def _blank(path: Path) -> bool:
    """True when the file holds nothing but white space (read up to its first character)."""
    try:
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 16), b""):
                if block.strip():
                    return False
    except OSError:
        return False  # the parse reports it
    return True


def _close_member(runs: list[dict[str, Any]], member: str, builder: Any) -> None:
    if member and member != "results" and builder is not None:
        runs[-1][member] = builder.value


def _event_type(event: str) -> str:
    return {"start_map": "an object", "start_array": "an array", "string": "a string",
            "number": "a number", "integer": "a number", "double": "a number",
            "boolean": "a boolean", "null": "null"}.get(event, event)


def json_error(name: str, e: Exception, where: str = "$") -> BadInputError:
    """The error for a parser's complaint: not UTF-8, or not valid JSON, in ``where``."""
    text = str(e).strip().splitlines()
    first = text[0][:200] if text else type(e).__name__
    what = "not UTF-8 text" if "UTF8" in first or "UTF-8" in first else f"not valid JSON: {first}"
    return BadInputError(place(name, where, what),
                         hint="check that the file is SARIF 2.1.0 as written")
