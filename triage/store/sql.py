"""``SqlStore``: products, releases, scans, occurrences and tracked issues in SQL.

SQLite by default (one file, WAL, foreign keys on), any SQLAlchemy URL otherwise (PostgreSQL
for teams). This module opens the store and writes ingests. With its parts beside it
(identity, ``linking``; a release placed before others, ``relinking``; the release reads,
``release_sql``; decisions, ``decision_sql``; the trend's queries, ``trend_sql``; the SQL
they share, ``expressions``; rows written and read back, ``rowcodec``) it is the only code
that talks to the database; everything it returns is a ``triage.model`` record. An ingest
is one transaction: all of it or nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import operator
import signal
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from sqlalchemy import (
    create_engine,
    delete,
    event,
    insert,
    literal,
    select,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from triage.errors import BadInputError, DatabaseError
from triage.model import (
    IngestResult,
    Release,
    RowChunk,
    ScanInput,
    ScanSummary,
    ScoredChunks,
    ScoredFinding,
    SecurityLevel,
)
from triage.store import expressions as sqlx
from triage.store import rowcodec
from triage.store.decision_sql import DecisionRecords
from triage.store.identity import Link
from triage.store.linking import ChunkLinks, drop_orphans, new_candidate, new_issues
from triage.store.migrate import READ, READ_OPTION, upgrade
from triage.store.release_sql import ReleaseQueries
from triage.store.relinking import Relinking
from triage.store.schema import (
    explanations,
    occurrences,
    products,
    releases,
    scan_changes,
    scans,
    source_files,
)
from triage.store.trend_sql import TrendQueries

_ROW_PLACE = operator.itemgetter("sarif_sha256", "run_index", "result_index")
"""A new row's place for the fingerprint links: its log, run and result."""
_KNOWN_TEXTS = 20_000
"""Most explanation texts an ingest keeps in memory with their ids."""


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN IMMEDIATE, so concurrent writers queue.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    # Writers take the write lock at once, so concurrent ingests queue instead of failing
    # half-way; readers start a plain transaction, which WAL never blocks.
    read = conn.get_execution_options().get(READ_OPTION)
    conn.exec_driver_sql("BEGIN" if read else "BEGIN IMMEDIATE")


class SqlStore(Relinking, ReleaseQueries, DecisionRecords, TrendQueries):
    """The tracking database."""

    def __init__(self, url: str, clock: Any = None) -> None:
        self.url = url
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._known: dict[str, int] = {}
        self.committed = 0
        """Write transactions committed so far: what an interrupted command already stored."""
        try:
            self.engine: Engine = create_engine(url, future=True)
        except (ArgumentError, ImportError, SQLAlchemyError) as e:
            raise DatabaseError(f"{url}: cannot use this database URL: {e}") from e
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
        try:
            upgrade(self.engine)
        except SQLAlchemyError as e:
            raise DatabaseError(f"{_safe(url)}: cannot open the database: {_first_line(e)}") from e

    def close(self) -> None:
        """Release connections."""
        self.engine.dispose()

    @contextmanager
    def _tx(self, write: bool = False) -> Iterator[Connection]:
        """A transaction; ``write`` for one that changes the store (ingest, decide, scope)."""
        try:
            with self.engine.connect() as conn:
                if not write:
                    conn.execution_options(**READ)
                with conn.begin() as transaction:
                    yield conn
                    if write:
                        # A Ctrl-C during the commit waits until it is counted: an
                        # interrupted command then knows what it stored (``committed``).
                        with _interrupts_held():
                            transaction.commit()
                            self.committed += 1
        except SQLAlchemyError as e:
            raise DatabaseError(f"{_safe(self.url)}: {_first_line(e)}") from e

    # ---- writes -------------------------------------------------------------------------

    def ingest(
        self,
        product: str,
        release: str,
        batches: Sequence[tuple[ScanInput, Sequence[ScoredFinding] | ScoredChunks]],
        after: str | None = None,
        target_sl: SecurityLevel | None = None,
        threat_model: tuple[str, str] | None = None,
        sources: dict[str, str] | None = None,
        released: dt.date | None = None,
        ingest_day: dt.date | None = None,
    ) -> IngestResult:
        """Store scored scans for a release in one transaction and link their identities.

        ``sources`` maps paths to the line hashes of the release's source files (given with
        ``--source-root``); they let later releases link findings through a line diff.
        ``released`` is the release date (``--released``): it is recorded, replacing the date
        of a release already stored; without it a new release is dated ``ingest_day`` (else
        the store's clock) and a stored one keeps its date.
        """
        for what, name in (("--product", product), ("--release", release)):
            if not name or name != name.strip() or len(name) > 200:
                raise BadInputError(f"{what} {name!r}: a name must be 1-200 characters without "
                                    "leading or trailing spaces")
        # Explanations stored by this ingest, by text (its transaction may roll back).
        self._known = {}
        with self._tx(write=True) as conn:
            if conn.dialect.name == "postgresql":
                # Two CI jobs ingesting at once: one waits for the other (DESIGN.md §8).
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(62443)")
            pid = self._product_id(conn, product, create=True)
            rel = self._ensure_release(conn, pid, product, release, after, target_sl, threat_model,
                                       released or ingest_day or self.clock().date(),
                                       released is not None)
            self._store_sources(conn, rel, sources or {})
            summaries, skipped = [], []
            for scan_input, scored in batches:
                done, count = self._store_scan(conn, pid, rel, scan_input, scored)
                if isinstance(scored, ScoredChunks) and scored.header and done is not None:
                    scan_input = scored.header()
                if done is None:
                    skipped.append(scan_input.tool.name)
                    # The same log again: its health as stored (a log read as it streams
                    # learns of files not analysed only from its results).
                    kept = conn.execute(select(scans.c.successful, scans.c.not_analysed).where(
                        scans.c.release_id == rel.key,
                        scans.c.tool == scan_input.tool.name)).one()
                    scan_input = replace(scan_input, successful=kept.successful,
                                         not_analysed=tuple(json.loads(kept.not_analysed)))
                summaries.append(
                    ScanSummary(
                        tool=scan_input.tool,
                        sarif_sha256=scan_input.sarif_sha256,
                        findings=count,
                        successful=scan_input.successful,
                        not_analysed=scan_input.not_analysed,
                    )
                )
            counts = self._status_counts(conn, pid, rel)
        return IngestResult(
            release=rel,
            scans=tuple(summaries),
            skipped=tuple(skipped),
            counts=tuple(sorted(counts.items())),
        )

    def _product_id(self, conn: Connection, name: str, create: bool = False) -> int:
        pid = conn.scalar(select(products.c.id).where(products.c.name == name))
        if pid is None:
            if not create:
                raise BadInputError(f"unknown product {name!r}",
                                    hint="ingest a release first (triage ingest ...)")
            pid = conn.execute(insert(products).values(name=name)).inserted_primary_key[0]  # type: ignore[index]
        return int(pid)

    def _ensure_release(
        self,
        conn: Connection,
        pid: int,
        product: str,
        name: str,
        after: str | None,
        target_sl: SecurityLevel | None,
        threat_model: tuple[str, str] | None,
        released: dt.date,
        date_given: bool,
    ) -> Release:
        row = conn.execute(
            select(releases).where(releases.c.product_id == pid, releases.c.name == name)
        ).first()
        if row is not None:
            values: dict[str, Any] = {}
            if target_sl is not None:
                values["target_sl"] = int(target_sl)
            if threat_model is not None:
                values["threat_model"], values["threat_model_sha256"] = threat_model
            if date_given:
                values["released_on"] = released
            if values:
                conn.execute(releases.update().where(releases.c.id == row.id).values(**values))
            sl = target_sl or (SecurityLevel(row.target_sl) if row.target_sl else None)
            return Release(product, name, row.seq, sl, row.id,
                           released if date_given else sqlx.released_on(row))
        ordered = conn.execute(
            select(releases.c.id, releases.c.name, releases.c.seq)
            .where(releases.c.product_id == pid)
            .order_by(releases.c.seq)
        ).all()
        if after is None:
            seq = (ordered[-1].seq + 1.0) if ordered else 1.0
        else:
            names = [r.name for r in ordered]
            if after not in names:
                raise BadInputError(
                    f"--after {after}: unknown release of {product}",
                    hint=f"known releases: {', '.join(names) or 'none'}",
                )
            i = names.index(after)
            nxt = ordered[i + 1].seq if i + 1 < len(ordered) else ordered[i].seq + 2.0
            seq = (ordered[i].seq + nxt) / 2.0
            if not ordered[i].seq < seq < nxt:
                # Halving one gap again and again runs out of precision (after some fifty
                # releases placed at one spot): number the releases afresh, in their order.
                for k, r in enumerate(ordered):
                    conn.execute(releases.update().where(releases.c.id == r.id)
                                 .values(seq=float(k + 1)))
                seq = i + 1.5
        tm_name, tm_sha = threat_model or (None, None)
        rid = conn.execute(
            insert(releases).values(
                product_id=pid, name=name, seq=seq, created_at=self.clock(),
                target_sl=int(target_sl) if target_sl else None,
                threat_model=tm_name, threat_model_sha256=tm_sha, released_on=released,
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        return Release(product, name, seq, target_sl, int(rid), released)

    def _store_sources(self, conn: Connection, rel: Release, sources: dict[str, str]) -> None:
        if not sources:
            return
        known = dict(conn.execute(select(source_files.c.path, source_files.c.line_hashes)
                                  .where(source_files.c.release_id == rel.key)).all())
        fresh = [dict(release_id=rel.key, path=p, line_hashes=h)
                 for p, h in sources.items() if h and p not in known]
        if fresh:
            conn.execute(insert(source_files), fresh)
        for p, h in sources.items():
            if h and p in known and known[p] != h:
                conn.execute(source_files.update().where(source_files.c.release_id == rel.key,
                                                         source_files.c.path == p)
                             .values(line_hashes=h))

    def _store_scan(
        self,
        conn: Connection,
        pid: int,
        rel: Release,
        scan_input: ScanInput,
        scored: Sequence[ScoredFinding] | ScoredChunks,
    ) -> tuple[int | None, int]:
        """Store one scan and link it; (scan id or None for the same log again, findings)."""
        tool = scan_input.tool.name
        old = conn.execute(
            select(scans.c.id, scans.c.sarif_sha256, scans.c.finding_count).where(
                scans.c.release_id == rel.key, scans.c.tool == tool
            )
        ).first()
        if old is not None:
            if old.sarif_sha256 == scan_input.sarif_sha256:
                return None, old.finding_count  # the same log again: a no-op
        # A log replacing this release's log of the tool: its findings take back the issues
        # they had (so their decisions stay with them); issues no finding took back are
        # dropped, unless a decision was recorded on them.
        retained: dict[str, int] = {} if old is None else {
            fingerprint: issue_id for fingerprint, issue_id in conn.execute(
                select(occurrences.c.fingerprint, occurrences.c.issue_id)
                .where(occurrences.c.scan_id == old.id))}
        if old is not None:
            self._drop_scan(conn, old.id)
        seq = rel.seq
        sid = conn.execute(
            insert(scans).values(
                release_id=rel.key, tool=tool, tool_version=scan_input.tool.version,
                sarif_files=json.dumps(scan_input.sarif_files),
                sarif_sha256=scan_input.sarif_sha256, successful=scan_input.successful,
                not_analysed=json.dumps(scan_input.not_analysed),
                notes=json.dumps(scan_input.notes),
                finding_count=0 if isinstance(scored, ScoredChunks) else len(scored),
                ingested_at=self.clock(),
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        if isinstance(scored, ScoredChunks):
            count = self._store_chunks(conn, pid, rel, sid, tool, seq, scored, retained)
            done = scored.header() if scored.header else scan_input
            conn.execute(scans.update().where(scans.c.id == sid).values(
                finding_count=count, successful=done.successful,
                not_analysed=json.dumps(done.not_analysed), notes=json.dumps(done.notes)))
        else:
            rows = rowcodec.with_keys([rowcodec.occurrence_values(s) for s in scored])
            links = self._links(conn, pid, tool, seq,
                                [new_candidate(v, i, s.finding.identity_fingerprints)
                                 for i, (v, s) in enumerate(zip(rows, scored, strict=True))],
                                retained=retained)
            self._insert_rows(conn, pid, rel, sid, tool, rows, links)
            count = len(rows)
        drop_orphans(conn, sorted(set(retained.values())))
        self._store_changes(conn, sid, self._previous_scan(conn, pid, tool, seq))
        self._relink_after(conn, pid, tool, seq)
        return int(sid), count

    def _store_changes(self, conn: Connection, sid: int, prev: int | None) -> None:
        """Record what changed at scan ``sid`` against ``prev`` (the trend reads it).

        The issue versions (an issue with the columns the trend counts) of the scan that the
        previous one lacks (+1), and the other way round (-1). A tool's first scan records
        nothing: it appears whole, and the trend reads it so.
        """
        conn.execute(delete(scan_changes).where(scan_changes.c.scan_id == sid))
        if prev is not None:
            names = ["scan_id", "sgn", *(c.name for c in sqlx.VERSION_COLUMNS)]
            for sgn, a, b in ((1, sid, prev), (-1, prev, sid)):
                diff = sqlx.version(a).except_(sqlx.version(b)).subquery()
                conn.execute(insert(scan_changes).from_select(
                    names, select(literal(sid), literal(sgn), *diff.c)))
        conn.execute(scans.update().where(scans.c.id == sid).values(compared_with=prev))

    def _insert_rows(self, conn: Connection, pid: int, rel: Release, sid: int, tool: str,
                     rows: list[dict[str, Any]], links: dict[int, Link]) -> None:
        """Insert occurrences, with one new issue for each row no link claimed."""
        fresh = [i for i in range(len(rows)) if i not in links]
        new_ids = new_issues(conn, [dict(product_id=pid, tool=tool, rule_id=rows[i]["rule_id"],
                                          path=rows[i]["path"],
                                          fingerprint=rows[i]["fingerprint"],
                                          first_release_id=rel.key) for i in fresh])
        for i, issue_id in zip(fresh, new_ids, strict=True):
            rows[i]["issue_id"], rows[i]["link"] = issue_id, "new"
        release_id = rel.key
        for i, row in enumerate(rows):
            hit = links.get(i)
            if hit is not None:
                row["issue_id"], row["link"] = hit.issue, hit.layer
            row["scan_id"], row["release_id"] = sid, release_id
        self._explanations(conn, rows)
        if rows:
            sqlx.bulk_insert(conn, occurrences, rows)

    def _explanations(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        """Store each row's reasons and exposure once, in ``explanation``, and refer to them.

        Occurrences of one rule and file share their reasons, of one component their
        exposure: a scan has few distinct ones, known here (``self._known``) or found by
        their sha256 among those stored before.
        """
        known = self._known
        if len(known) > _KNOWN_TEXTS:
            known.clear()  # memory stays bounded; what is stored is found again by digest
        new = {t for r in rows for t in (r["explain"], r["exposure_json"]) if t not in known}
        if new:
            by_digest = {hashlib.sha256(t.encode("utf-8", "surrogatepass")).hexdigest(): t
                         for t in new}
            digests = sorted(by_digest)
            for pass_ in range(2):
                for i in range(0, len(digests), sqlx.IN_LIST):
                    for eid, digest in conn.execute(
                            select(explanations.c.id, explanations.c.digest)
                            .where(explanations.c.digest.in_(digests[i:i + sqlx.IN_LIST]))):
                        known[by_digest[digest]] = eid
                missing = [dict(digest=d, body=t) for d, t in by_digest.items()
                           if t not in known]
                if not missing or pass_:
                    break
                sqlx.bulk_insert(conn, explanations, missing)
        for r in rows:
            r["explain_id"], r["exposure_id"] = known[r["explain"]], known[r["exposure_json"]]
            r["explain"] = r["exposure_json"] = ""

    @staticmethod
    def rows(chunk: Sequence[ScoredFinding]) -> RowChunk:
        """The occurrence rows of a chunk of scored findings, as the store writes them.

        Needs no database: a reader process makes them while this process stores the
        chunk before.
        """
        return RowChunk([rowcodec.occurrence_values(s) for s in chunk],
                        [s.finding.identity_fingerprints for s in chunk])

    def _store_chunks(self, conn: Connection, pid: int, rel: Release, sid: int, tool: str,
                      seq: float, chunks: ScoredChunks, retained: dict[str, int]) -> int:
        """Store a scan that arrives in chunks of whole files, linking chunk by chunk.

        Findings in files the previous scan did not have are stored as new first, then
        linked together at the end (``ChunkLinks``).
        """
        links_of = ChunkLinks(self, conn, pid, tool, seq, chunks.identities)
        count = 0
        for chunk in chunks:
            prepared = chunk if isinstance(chunk, RowChunk) else self.rows(chunk)
            rows = rowcodec.with_keys(prepared.rows)
            if any(not r["fingerprint"] for r in rows):  # read as it streams (stream_direct)
                rowcodec.with_fingerprints(tool, rows)
            links = links_of.chunk(
                [new_candidate(v, i, ids)
                 for i, (v, ids) in enumerate(zip(rows, prepared.identity, strict=True))],
                rows, _ROW_PLACE, retained)
            self._insert_rows(conn, pid, rel, sid, tool, rows, links)
            count += len(rows)
        links_of.finish(sid, retained)
        return count

    def _drop_scan(self, conn: Connection, scan_id: int) -> None:
        """Remove a scan and its occurrences; its issues stay until the caller drops them."""
        conn.execute(delete(occurrences).where(occurrences.c.scan_id == scan_id))
        conn.execute(delete(scans).where(scans.c.id == scan_id))


@contextmanager
def _interrupts_held() -> Iterator[None]:
    """Hold SIGINT back for the block (where the platform can); it arrives right after."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def _first_line(e: Exception) -> str:
    text = str(getattr(e, "orig", None) or e)
    return text.strip().splitlines()[0] if text.strip() else type(e).__name__


def _safe(url: str) -> str:
    """The URL without a password."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return url
