"""``triage ingest``: read, join, score and store a release's SARIF logs."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from triage.errors import BadInputError
from triage.ingest import ahead
from triage.ingest.ahead import stream_direct_ahead, stream_direct_here
from triage.ingest.paths import PathNormaliser
from triage.ingest.sarif import collector_paused, file_size, read_sarif
from triage.ingest.stream import Spool, stream_sarif, stream_threshold
from triage.model import (
    Finding,
    IngestResult,
    NotContiguous,
    ReadAgain,
    ScanInput,
    ScoredChunks,
    ScoredFinding,
    SecurityLevel,
)
from triage.pipeline.context import Context, ThreatModelJoin
from triage.pipeline.judging import must_fix_by_sl
from triage.scoring import score


def ingest(
    ctx: Context,
    sarif_paths: Sequence[Path],
    product: str,
    release: str,
    threat_model: Path | None = None,
    source_root: Path | None = None,
    strip_prefixes: tuple[str, ...] = (),
    after: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    released: dt.date | None = None,
) -> tuple[IngestResult, dict[SecurityLevel, int]]:
    """Read, join, score and store SARIF logs for a release; return what was stored.

    Everything is parsed and validated before the store is touched, so bad input changes
    nothing already stored. ``progress(done, total)`` hears how far reading the logs is.
    ``released`` dates the release (replacing a stored date); a new release without it is
    dated the day of the ingest (the context's clock).
    """
    notes: list[str] = []
    if threat_model is None:
        # A product judged with a threat model keeps it: a CI job that forgets the option
        # must not silently judge the release without one (and pass its gate).
        recorded = ctx.store.recorded_threat_model(product)
        if recorded:
            threat_model = Path(recorded)
            if not threat_model.is_file():
                raise BadInputError(
                    f"{recorded}: the threat model of {product}'s earlier releases is not there",
                    hint="pass --threat-model FILE")
            notes.append(f"threat model: {recorded} (recorded with the earlier releases)")
    if source_root is not None and not source_root.is_dir():
        raise BadInputError(f"{source_root}: --source-root is not a directory")
    join = ThreatModelJoin(threat_model)
    normaliser = PathNormaliser(source_root, strip_prefixes)
    paths = [Path(p) for p in sarif_paths]
    size = sum(file_size(p) for p in paths)

    def scored(findings: Iterable[Finding]) -> list[ScoredFinding]:
        return [score(f, join.exposure(f.location.path, f.location.function), ctx.rules)
                for f in findings]

    target = SecurityLevel(join.model.target_sl) if join.model else None
    tm = (str(threat_model), join.sha256) if threat_model is not None else None

    def store(batches: list[tuple[ScanInput, Sequence[ScoredFinding] | ScoredChunks]],
              found: list[str]) -> IngestResult:
        # With the source tree at hand, keep each file's line hashes: the next release links
        # its findings to these through a line diff (DESIGN.md §8, identity).
        sources = {path: normaliser.line_hashes(path) for path in sorted(set(found))
                   if path} if source_root is not None else {}
        # Findings, rows and links hold no reference cycles: reference counting frees each
        # chunk, and collections every few hundred allocations would only walk them.
        with collector_paused():
            return ctx.store.ingest(product, release, batches, after=after, target_sl=target,
                                    threat_model=tm, sources=sources, released=released,
                                    ingest_day=ctx.clock().date())

    result: IngestResult | None = None
    if size > stream_threshold() and len(paths) == 1 and source_root is None:
        # One large log: its files' results stream straight to the store, chunk by chunk.
        # Reading and storing overlap: the whole bar, in the spool's units (twice the size),
        # which a log read again through the spool then never takes backwards.
        forward = _Forward(progress) if progress else None
        progress = forward
        report = (lambda done, total: forward(2 * done, 2 * total)) if forward else None
        # With two cores, a reader process reads, scores and makes the rows of a chunk
        # while this one links and writes the chunks before; else this one does it all.
        # A log whose tool comes before its results is read in one pass; should that turn
        # out wrong on the way, what was stored is rolled back and it is read in two.
        for one_pass in (True, False):
            read = (stream_direct_ahead if ahead.enabled() else stream_direct_here)(
                paths[0], normaliser, ctx.clock(), report,
                prepare=lambda chunk: ctx.store.rows(scored(chunk)), one_pass=one_pass)
            if read is None:
                break
            try:
                result = store([(read.scan, ScoredChunks(read.chunks(), read.header))], [])
            except ReadAgain:
                continue
            except NotContiguous:
                result = None  # rolled back; the spool groups the log's files
            finally:
                read.close()
            break
    if result is None:
        with contextlib.ExitStack() as stack:
            batches: list[tuple[ScanInput, Sequence[ScoredFinding] | ScoredChunks]]
            if size > stream_threshold():
                # Large logs: results streamed into a spool, scored and stored file by file.
                # Reading is the first half of the bar, scoring and storing the second.
                spool = Spool()
                stack.callback(spool.close)
                with collector_paused():
                    streamed = stream_sarif(
                        paths, normaliser, ctx.clock(), spool,
                        progress=(lambda done, total: progress(done, 2 * total)) if progress
                        else None)
                scans = [st.scan for st in streamed]
                found = [p for st in streamed for p in st.paths]
                stored = _StoredCount(sum(st.count for st in streamed), size, progress)
                batches = [(st.scan, ScoredChunks((stored.counted(scored(chunk))
                                                   for chunk in st.chunks()),
                                                  identities=st.identities))
                           for st in streamed]
            else:
                scans = read_sarif(paths, normaliser, now=ctx.clock(), progress=progress)
                found = [f.location.path for s in scans for f in s.findings]
                batches = [(s, scored(s.findings)) for s in scans]
            if not scans:
                names = ", ".join(p.name for p in paths)
                raise BadInputError(f"{names}: runs: no run in the log(s), so no scan to record",
                                    hint="a scanner that ran writes one run, even with no "
                                    "results")
            result = store(batches, found)
    if notes:
        result = replace(result, notes=(*notes, *result.notes))
    return result, must_fix_by_sl(ctx, result.release)


class _Forward:
    """Passes progress on, never backwards."""

    def __init__(self, progress: Callable[[int, int], None]) -> None:
        self.progress, self.done = progress, 0

    def __call__(self, done: int, total: int) -> None:
        self.done = max(self.done, done)
        self.progress(self.done, total)


class _StoredCount:
    """Tells ``progress`` how many of ``of`` findings went to the store.

    That is the bar's second half, after the ``size`` bytes of reading.
    """

    def __init__(self, of: int, size: int, progress: Callable[[int, int], None] | None
                 ) -> None:
        self.of, self.size, self.progress, self.done = of, size, progress, 0

    def counted(self, chunk: list[ScoredFinding]) -> list[ScoredFinding]:
        self.done += len(chunk)
        if self.progress and self.of:
            self.progress(self.size + self.size * self.done // self.of, 2 * self.size)
        return chunk
