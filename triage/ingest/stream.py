"""Stream large SARIF logs: results one at a time, spooled to a temporary file by path.

A log of a million results parsed whole holds gigabytes of Python objects. Above a size
threshold (``STREAM_BYTES``) a log is read in two passes instead, with the standard
library's C scanner over a sliding window (``triage.ingest.jsonscan``), or with ijson's C
backend where the log is not plain JSON (the errors then name their place):

1. the outline: every member of every run except its results (tool, rules, artifacts,
   invocations, base URIs, taxonomies), how many results each run has, and where they
   begin;
2. the results, one object at a time, each turned into a ``Finding`` by the same
   ``RunReader`` as the whole-file path and written to a spool (a temporary SQLite file,
   one row per finding, indexed by tool and path).

The passes that need more than one result (snippets borrowed across logs, the occurrence
index of the content fingerprint, enclosing functions, fingerprints shared by several
results) all work within one file's findings, so the spool hands them out in chunks of
whole files, in path order. Memory stays bounded by a chunk, not by the log.

Every problem still stops with a ``BadInputError`` naming the file and the JSON path, before
anything is stored.
"""

from __future__ import annotations

import copyreg
import dataclasses
import datetime as dt
import functools
import hashlib
import itertools
import operator
import os
import pickle
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import ijson  # type: ignore[import-untyped]

from triage.errors import BadInputError, place
from triage.ingest import jsonscan, sarif
from triage.ingest.functions import FunctionLocator
from triage.ingest.jsonscan import NotPlain
from triage.ingest.locations import borrow_snippets, with_functions
from triage.ingest.outline import OnePass, Outline, json_error, plain_results
from triage.ingest.outline import outline as read_outline
from triage.ingest.paths import PathNormaliser
from triage.ingest.reader import Reader
from triage.ingest.sarif import (
    Progress,
    RunReader,
    ScanParts,
    check_log_file,
    file_size,
    with_fingerprints,
)
from triage.model import (
    Finding,
    Identity,
    Location,
    NotContiguous,
    Provenance,
    ReadAgain,
    ScanInput,
    Tool,
)


def _by_fields(cls: type) -> None:
    """Pickle a slotted dataclass as its constructor and field values.

    The default for a frozen slotted dataclass looks its fields up on every object; the
    spool pickles every finding of a log once and unpickles it once, so one getter of all
    the fields (``attrgetter``, in C) is made here.
    """
    names = [f.name for f in dataclasses.fields(cls)]
    values = operator.attrgetter(*names) if len(names) > 1 else (
        lambda obj: (getattr(obj, names[0]),))

    def reduce(obj: Any) -> tuple[Any, tuple[Any, ...]]:
        return cls, values(obj)

    copyreg.pickle(cls, reduce)


for _cls in (Finding, Location, Provenance, Tool):
    _by_fields(_cls)

STREAM_BYTES = 32 * 1024**2
"""Logs together larger than this are streamed (``TRIAGE_STREAM_BYTES`` overrides)."""
CHUNK_FINDINGS = 5000
"""About how many findings a chunk holds (whole files; one big file makes a bigger chunk)."""
_BATCH = 2000


def stream_threshold() -> int:
    """Total SARIF bytes above which ingest streams (environment ``TRIAGE_STREAM_BYTES``)."""
    value = os.environ.get("TRIAGE_STREAM_BYTES", "")
    return int(value) if value.isdigit() else STREAM_BYTES


Shared = set[tuple[int, tuple[str, str]]]
"""(run, fingerprint) pairs that several results of one run carry: placeholders."""


@dataclass
class StreamedScan:
    """One tool's scan read by streaming: its header, and its findings in chunks of files."""

    scan: ScanInput
    """Tool, logs, health and notes; ``findings`` is empty (they are in the spool)."""
    count: int
    """How many findings the scan has (0 for a log read directly: known once it is read)."""
    paths: list[str] = field(default_factory=list)
    """Its distinct paths, sorted."""
    chunks: Callable[[], Iterator[list[Finding]]] = lambda: iter(())
    """The findings, every file's together, each file in log order (files in path order when
    spooled, in log order when read directly)."""
    header: Callable[[], ScanInput] | None = None
    """The scan's header once every chunk was taken, when reading the results may still
    change it (files not analysed, notes); None when ``scan`` is final."""
    identities: Callable[[], Iterator[Identity]] | None = None
    """Every finding's ``identity_fingerprints`` in log order, before the first chunk (a
    spool knows them; a log read directly does not)."""
    close: Callable[[], None] = lambda: None
    """Lets go of the log, whether or not its chunks were all taken."""


def stream_direct(
    path: Path,
    normaliser: PathNormaliser,
    now: dt.datetime,
    progress: Progress | None = None,
    *,
    one_pass: bool = True,
) -> StreamedScan | None:
    """Read one log of one run as its results stream by, without a spool.

    Scanners write a file's results together (bandit, ruff, semgrep, flawfinder, clang and
    most CodeQL logs do), so each file's findings are complete when the next file begins
    and go to the store straight away: reading and storing overlap, and no finding is
    written to a temporary file and read back. None when the log has several runs (the
    spool groups those); the chunks raise ``NotContiguous`` when a file's results come
    back after another file's, or a ``fingerprints`` value repeats.

    Its findings come without our content fingerprint: the store gives each row its
    fingerprint as it makes the rows' identity keys (``rowcodec.with_fingerprints``), off
    the reader process (``ahead``): each flagged text is normalised once, and the two
    processes' shares come out about even.

    With ``one_pass``, a plain log whose run names its tool before its results is read in
    one pass, without the outline (``OnePass``). Should anything about it turn out
    otherwise once chunks were given (a member the results need after them, a second run,
    bad input), the chunks raise ``ReadAgain``: the caller drops what it stored and reads
    the log again without ``one_pass``, which reports any problem as it always does.
    """
    check_log_file(path)
    if one_pass:
        found = _one_pass(path, normaliser, now, progress)
        if found is not None:
            return found
    rd, outline = _open(path)
    if len(outline.runs) != 1:
        return None
    reader = RunReader(rd, rd.obj(outline.runs[0], "runs[0]"), 0, normaliser, now,
                       results_given=not outline.given or outline.given[0])
    size, total = file_size(path), outline.total

    def results() -> Iterator[tuple[int, Any]]:
        for seen, (_, index, result) in enumerate(_results(path, path.name, outline), 1):
            yield index, result
            if progress and seen % sarif.PROGRESS_EVERY == 0 and total:
                progress(size * seen // total, size)

    return _direct(path, rd, reader, normaliser, results, progress, size)


def _one_pass(path: Path, normaliser: PathNormaliser, now: dt.datetime,
              progress: Progress | None) -> StreamedScan | None:
    """``stream_direct`` in one pass (``OnePass``), or None where the log is not of its case."""
    if not jsonscan.WORKS:
        return None
    try:
        with path.open("rb") as f:  # every finding names the log's digest: taken first
            rd = Reader(path.name, hashlib.file_digest(f, "sha256").hexdigest())
        log = OnePass(path, sarif.RUN_MEMBERS)
    except OSError:
        return None  # the two passes say what is wrong
    try:
        reader = RunReader(rd, log.start(), 0, normaliser, now, results_given=True)
    except BaseException as e:
        log.close()
        if isinstance(e, NotPlain | ValueError | OSError | BadInputError):
            return None
        raise
    size = file_size(path)

    def results() -> Iterator[tuple[int, Any]]:
        try:
            for index, result in enumerate(log.results()):
                yield index, result
                if progress and (index + 1) % sarif.PROGRESS_EVERY == 0:
                    progress(log.offset(), size)
        except (NotPlain, ValueError, OSError) as e:
            raise ReadAgain(f"{path.name}: read in one pass: {e}") from e

    return _direct(path, rd, reader, normaliser, results, progress, size, log)


def _direct(path: Path, rd: Reader, reader: RunReader, normaliser: PathNormaliser,
            results: Callable[[], Iterator[tuple[int, Any]]], progress: Progress | None,
            size: int, one_pass: OnePass | None = None) -> StreamedScan:
    """The scan of ``stream_direct``: its header, and its chunks as ``results`` come.

    Read in ``one_pass``, bad input met in the chunks raises ``ReadAgain``, and closing
    the scan closes the log.
    """
    first = ScanParts(reader.out.tool)
    first.add(0, rd, reader.out)

    final: list[ScanInput] = []

    def header() -> ScanInput:
        if not final:
            parts = ScanParts(reader.out.tool)
            parts.add(0, rd, reader.finish())
            final.append(parts.scan(()))
        return final[0]

    def chunks() -> Iterator[list[Finding]]:
        try:
            yield from _chunks()
        except BadInputError as e:
            if one_pass is None:
                raise
            raise ReadAgain(f"{path.name}: read in one pass: {e}") from e
        if progress:
            progress(size, size)

    def _chunks() -> Iterator[list[Finding]]:
        locator = FunctionLocator(normaliser)
        done: set[str] = set()
        # Hashes, not the values, so that memory stays small on a log where every result
        # carries one; two values that share a hash only send the log to the spool.
        fingerprints: set[int] = set()
        chunk: list[Finding] = []
        group: list[Finding] = []
        current: str | None = None
        lines = reader.out.lines

        def close() -> list[Finding]:
            # The file's findings are all here, and so are the lines its results showed.
            # Their content fingerprints are the store's to give (``rowcodec``).
            mine = {k: v for k, v in lines.items() if k[0] == current}
            for k in mine:
                del lines[k]
            return with_functions(borrow_snippets(group, mine), locator)

        for index, result in results():
            finding = reader.result(index, result)
            reader.out.findings.clear()
            if finding is None:
                continue
            for fp in finding.tool_fingerprints:
                if fp[0].startswith("fingerprints:"):
                    key = hash(fp)
                    if key in fingerprints:
                        raise NotContiguous(f"{path.name}: fingerprint {fp[1]!r} repeats")
                    fingerprints.add(key)
            where = finding.location.path
            if where != current:
                if where in done:
                    raise NotContiguous(f"{path.name}: results of {where!r} are apart")
                if group:
                    chunk.extend(close())
                    if len(chunk) >= CHUNK_FINDINGS:
                        yield chunk
                        chunk = []
                if current is not None:
                    done.add(current)
                current, group = where, []
            group.append(finding)
        if group:
            chunk.extend(close())
        if chunk:
            yield chunk

    return StreamedScan(scan=first.scan(()), count=0, chunks=chunks, header=header,
                        close=one_pass.close if one_pass else lambda: None)


class Spool:
    """A temporary SQLite database of findings by tool and path, and of the lines logs show.

    SQLite's own temporary database: pages beyond its cache go to a file that is removed
    as soon as it is opened, so nothing is left behind even when ingest is killed.
    """

    def __init__(self) -> None:
        self.db = sqlite3.connect("")
        self.db.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA temp_store=FILE;"
            "CREATE TABLE finding (tool TEXT, path TEXT, seq INTEGER, run INTEGER, data BLOB);"
            "CREATE TABLE line (path TEXT, line INTEGER, text TEXT, PRIMARY KEY (path, line));"
            "CREATE TABLE fp (tool TEXT, seq INTEGER, run INTEGER, k TEXT, v TEXT,"
            " sha TEXT, log_run INTEGER, result INTEGER);"
        )
        self.seq = 0
        self._rows: list[tuple[str, str, int, int, bytes]] = []
        self._fps: list[tuple[str, int, int, str, str, str, int, int]] = []
        self._indexed = False

    def add(self, tool: str, run: int, finding: Finding) -> None:
        """Keep one finding of a run (``run`` numbers the runs of the whole call)."""
        self._rows.append((tool, finding.location.path, self.seq, run,
                           pickle.dumps(finding, pickle.HIGHEST_PROTOCOL)))
        prov = finding.provenance
        self._fps.extend((tool, self.seq, run, k, v, prov.sha256, prov.run, prov.result)
                         for k, v in finding.tool_fingerprints if k.startswith("fingerprints:"))
        self.seq += 1
        if len(self._rows) >= _BATCH:
            self.flush()

    def add_lines(self, lines: dict[tuple[str, int], str]) -> None:
        """Keep the source lines snippets showed; the first log to show a line wins."""
        self.db.executemany("INSERT OR IGNORE INTO line VALUES (?, ?, ?)",
                            ((p, n, t) for (p, n), t in lines.items()))
        lines.clear()

    def flush(self) -> None:
        """Write what is buffered."""
        self.db.executemany("INSERT INTO finding VALUES (?, ?, ?, ?, ?)", self._rows)
        self.db.executemany("INSERT INTO fp VALUES (?, ?, ?, ?, ?, ?, ?, ?)", self._fps)
        self._rows, self._fps = [], []

    def _index(self) -> None:
        if not self._indexed:
            self.flush()
            self.db.execute("CREATE INDEX ix_finding ON finding (tool, path, seq)")
            self.db.execute("CREATE INDEX ix_fp ON fp (tool, seq)")
            self._indexed = True

    def counts(self, tool: str) -> list[tuple[str, int]]:
        """(path, findings) of a tool, in path order."""
        self._index()
        return self.db.execute("SELECT path, count(*) FROM finding WHERE tool = ? "
                               "GROUP BY path ORDER BY path", (tool,)).fetchall()

    def shared(self) -> Shared:
        """(run, fingerprint) pairs that several results of one run carry: placeholders."""
        self._index()
        rows = self.db.execute("SELECT run, k, v FROM fp GROUP BY run, k, v "
                               "HAVING count(*) > 1").fetchall()
        return {(r, (k, v)) for r, k, v in rows}

    def identities(self, tool: str, shared: Shared) -> Iterator[Identity]:
        """The place and ``identity_fingerprints`` of a tool's findings, in log order.

        Only findings with such values come; placeholders (``shared``) are left out, as
        the chunks leave them out.
        """
        self._index()
        seq = -1
        place: tuple[str, int, int] = ("", 0, 0)
        ids: list[tuple[str, str]] = []
        for n, run, k, v, sha, log_run, result in self.db.execute(
                "SELECT seq, run, k, v, sha, log_run, result FROM fp WHERE tool = ? "
                "ORDER BY seq, rowid", (tool,)):
            if n != seq:
                if ids:
                    yield place, tuple(ids)
                seq, place, ids = n, (sha, log_run, result), []
            if (run, (k, v)) not in shared:
                ids.append((k, v))
        if ids:
            yield place, tuple(ids)

    def load(self, tool: str, paths: list[str]) -> tuple[list[tuple[int, Finding]],
                                                         dict[tuple[str, int], str]]:
        """The (run, finding) pairs of ``paths`` in log order, and the lines shown there."""
        marks = ",".join("?" * len(paths))
        rows = self.db.execute(f"SELECT run, data FROM finding WHERE tool = ? AND path IN "
                               f"({marks}) ORDER BY seq", (tool, *paths)).fetchall()
        lines = self.db.execute(f"SELECT path, line, text FROM line WHERE path IN ({marks})",
                                paths).fetchall()
        return ([(run, pickle.loads(data)) for run, data in rows],
                {(p, n): t for p, n, t in lines})

    def close(self) -> None:
        """Drop the spool file."""
        self.db.close()


def stream_sarif(
    paths: list[Path],
    normaliser: PathNormaliser,
    now: dt.datetime,
    spool: Spool,
    progress: Progress | None = None,
) -> list[StreamedScan]:
    """Read SARIF logs by streaming into ``spool``; one ``StreamedScan`` per tool name.

    The same grouping as ``read_sarif``: several runs of one tool, in one or several logs,
    form one scan.
    """
    total = sum(file_size(p) for p in paths)
    done = 0
    run_key = 0
    parts: dict[str, ScanParts] = {}
    for log_index, path in enumerate(paths):
        rd, outline = _open(path)
        readers = [RunReader(rd, rd.obj(run, f"runs[{i}]"), i, normaliser, now,
                             results_given=not outline.given or outline.given[i])
                   for i, run in enumerate(outline.runs)]
        seen = 0
        size = file_size(path)
        for run_index, index, result in _results(path, path.name, outline):
            reader = readers[run_index]
            finding = reader.result(index, result)
            if finding is not None:
                spool.add(reader.out.tool.name, run_key + run_index, finding)
                reader.out.findings.clear()
            if len(reader.out.lines) >= _BATCH:
                spool.add_lines(reader.out.lines)
            seen += 1
            if progress and seen % sarif.PROGRESS_EVERY == 0 and outline.total:
                progress(min(done + size * seen // outline.total, total), total)
        for reader in readers:
            spool.add_lines(reader.out.lines)
            out = reader.finish()
            parts.setdefault(out.tool.name, ScanParts(out.tool)).add(log_index, rd, out)
        run_key += len(readers)
        done += size
        if progress:
            progress(min(done, total), total)
    spool.flush()
    shared = spool.shared()
    locator = FunctionLocator(normaliser)
    scans = []
    for tool_name, part in parts.items():
        counts = spool.counts(tool_name)
        scans.append(StreamedScan(
            scan=part.scan(()),
            count=sum(n for _, n in counts),
            paths=[p for p, _ in counts],
            chunks=_chunker(spool, tool_name, counts, shared, locator),
            identities=functools.partial(spool.identities, tool_name, shared),
        ))
    return scans


def _chunker(
    spool: Spool, tool: str, counts: list[tuple[str, int]], shared: Shared,
    locator: FunctionLocator,
) -> Callable[[], Iterator[list[Finding]]]:
    def chunks() -> Iterator[list[Finding]]:
        group: list[str] = []
        size = 0
        for path, n in counts:
            if group and size + n > CHUNK_FINDINGS:
                yield _finish(spool, tool, group, shared, locator)
                group, size = [], 0
            group.append(path)
            size += n
        if group:
            yield _finish(spool, tool, group, shared, locator)

    return chunks


def _finish(spool: Spool, tool: str, paths: list[str], shared: Shared,
            locator: FunctionLocator) -> list[Finding]:
    """A chunk's findings after the passes the whole-file path runs on a scan."""
    loaded, lines = spool.load(tool, paths)
    findings = []
    for run, f in loaded:
        if shared and any((run, fp) in shared for fp in f.tool_fingerprints):
            # SARIF 3.27.16: a fingerprint several results of a run carry is a placeholder.
            f = replace(f, tool_fingerprints=tuple(
                fp for fp in f.tool_fingerprints if (run, fp) not in shared))
        findings.append(f)
    return with_fingerprints(with_functions(borrow_snippets(findings, lines), locator))


def _open(path: Path) -> tuple[Reader, Outline]:
    """A log's reader (its name and sha256) and its outline, in one read of the file."""
    check_log_file(path)
    outline = read_outline(path, path.name, hash_file=True)
    return Reader(path.name, outline.sha256), outline


def _results(path: Path, name: str, outline: Outline) -> Iterator[tuple[int, int, Any]]:
    """Pass 2: (run index, result index, result) for every result, in log order.

    By the standard library's scanner where the outline found the log plain; should the
    scanner stop all the same, ijson reads on from the result after the last one given.
    """
    done = 0
    if outline.offsets is not None:
        try:
            for item in plain_results(path, name, outline):
                yield item
                done += 1
            return
        except NotPlain:
            pass
    backend = outline.backend
    while True:
        owners = ((run, i) for run, n in enumerate(outline.counts) for i in range(n))
        try:
            with path.open("rb") as f:
                items = zip(owners, backend.items(f, "runs.item.results.item", use_float=True),
                            strict=False)
                for (run, index), result in itertools.islice(items, done, None):
                    yield run, index, result
                    done += 1
            return
        except (ijson.JSONError, ValueError) as e:  # ValueError: the Python backend's errors
            if backend is ijson and "integer overflow" in str(e):
                backend = ijson.get_backend("python")  # beyond 64 bits: read on in Python
                continue
            raise json_error(name, e) from e
        except OSError as e:
            raise BadInputError(place(str(path), "", f"cannot read: {e.strerror}")) from e
