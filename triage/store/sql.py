"""``SqlStore``: products, releases, scans, occurrences and tracked issues in SQL.

SQLite by default (one file, WAL, foreign keys on), any SQLAlchemy URL otherwise (PostgreSQL
for teams). With its parts beside it (identity and relinking, ``linking``; the trend's
queries, ``trend_sql``; the SQL they share, ``expressions``; rows written and read back,
``rowcodec``) it is the only code that talks to the database; everything it returns is a
``triage.model`` record. An ingest is one transaction: all of it or nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import operator
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from sqlalchemy import (
    and_,
    case,
    create_engine,
    delete,
    event,
    func,
    insert,
    literal,
    not_,
    or_,
    select,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from triage.errors import BadInputError, DatabaseError
from triage.model import (
    Action,
    Decision,
    IngestResult,
    IssueRow,
    RecordedScope,
    Release,
    RowChunk,
    ScanInput,
    ScanSummary,
    ScoredChunks,
    ScoredFinding,
    SecurityLevel,
    Severity,
    Status,
    Tool,
)
from triage.store import expressions as sqlx
from triage.store import rowcodec
from triage.store.identity import Link
from triage.store.linking import ChunkLinks, Linking, drop_orphans, new_candidate, new_issues
from triage.store.migrate import READ, READ_OPTION, upgrade
from triage.store.schema import (
    decisions,
    explanations,
    issues,
    occurrences,
    products,
    release_scopes,
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


class SqlStore(Linking, TrendQueries):
    """The tracking database."""

    def __init__(self, url: str, clock: Any = None) -> None:
        self.url = url
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._known: dict[str, int] = {}
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
                with conn.begin():
                    yield conn
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

    # ---- reads --------------------------------------------------------------------------

    def releases(self, product: str) -> list[Release]:
        """The product's releases in release order."""
        with self._tx() as conn:
            pid = self._product_id(conn, product)
            rows = conn.execute(
                select(releases).where(releases.c.product_id == pid).order_by(releases.c.seq)
            ).all()
        return [
            Release(product, r.name, r.seq,
                    SecurityLevel(r.target_sl) if r.target_sl else None, r.id, sqlx.released_on(r))
            for r in rows
        ]

    def record_scope(self, rel: Release, scope: RecordedScope) -> None:
        """Record the scope phase a release is triaged in (replacing an earlier one)."""
        values = dict(name=scope.name, justification=scope.justification,
                      globs=json.dumps(list(scope.globs)),
                      changed=json.dumps(sorted(scope.changed)), recorded_at=self.clock())
        with self._tx(write=True) as conn:
            done = conn.execute(release_scopes.update()
                                .where(release_scopes.c.release_id == rel.key).values(**values))
            if not done.rowcount:
                conn.execute(insert(release_scopes).values(release_id=rel.key, **values))

    def recorded_scope(self, rel: Release) -> RecordedScope | None:
        """The scope phase recorded for a release, if one was chosen."""
        with self._tx() as conn:
            r = conn.execute(select(release_scopes)
                             .where(release_scopes.c.release_id == rel.key)).first()
        if r is None:
            return None
        return RecordedScope(r.name, r.justification, tuple(json.loads(r.globs)),
                             tuple(json.loads(r.changed)))

    def recorded_threat_model(self, product: str) -> str | None:
        """The threat-model file recorded with the product's newest modelled release."""
        with self._tx() as conn:
            return conn.scalar(
                select(releases.c.threat_model)
                .join(products, products.c.id == releases.c.product_id)
                .where(products.c.name == product, releases.c.threat_model.is_not(None))
                .order_by(releases.c.seq.desc()).limit(1))

    def release(self, product: str, name: str) -> Release:
        """One release, or a ``BadInputError`` naming the known ones."""
        known = self.releases(product)
        for r in known:
            if r.name == name:
                return r
        raise BadInputError(
            f"unknown release {name!r} of product {product!r}",
            hint=f"known releases: {', '.join(r.name for r in known) or 'none'}",
        )

    def scans(self, rel: Release) -> list[ScanSummary]:
        """Scans stored for a release."""
        with self._tx() as conn:
            rows = conn.execute(
                select(scans).where(scans.c.release_id == rel.key).order_by(scans.c.tool)
            ).all()
        return [
            ScanSummary(
                tool=Tool(r.tool, r.tool_version), sarif_sha256=r.sarif_sha256,
                findings=r.finding_count, successful=r.successful,
                not_analysed=tuple(json.loads(r.not_analysed)),
            )
            for r in rows
        ]

    def severity_histogram(self, rel: Release, today: dt.date | None = None
                           ) -> dict[Severity, int]:
        """Open in-scope defects by contextual severity, counted in SQL.

        Open: kind ``fail``, not suppressed, in scope, and not taken off the list by a live
        decision (a false positive, an unexpired accepted risk, a deferral whose target
        release has not come). A confirmed issue counts as critical whatever the policy says
        of it (suppressed, out of scope, not a defect): it must be fixed at every SL, as
        ``scoring.decisions.apply_decision`` rules.
        """
        today = today or self.clock().date()
        latest = (select(decisions.c.issue_id, func.max(decisions.c.id).label("did"))
                  .outerjoin(releases, releases.c.id == decisions.c.release_id)
                  .where(sqlx.taken_by(rel))
                  .group_by(decisions.c.issue_id).subquery())
        dec = decisions.alias("d")
        target = releases.alias("target")
        with self._tx() as conn:
            pid = self._product_id(conn, rel.product)
            live_off = or_(
                dec.c.action == Action.FALSE_POSITIVE.value,
                and_(dec.c.action == Action.ACCEPTED_RISK.value,
                     or_(dec.c.expires.is_(None), dec.c.expires >= today)),
                and_(dec.c.action == Action.DEFERRED.value,
                     or_(target.c.seq.is_(None), target.c.seq > rel.seq)),
            )
            severity = case((dec.c.action == Action.CONFIRMED.value, int(Severity.CRITICAL)),
                            else_=occurrences.c.severity)
            rows = conn.execute(
                select(severity, func.count())
                .select_from(
                    occurrences
                    .outerjoin(latest, latest.c.issue_id == occurrences.c.issue_id)
                    .outerjoin(dec, dec.c.id == latest.c.did)
                    .outerjoin(target, and_(target.c.product_id == pid,
                                            target.c.name == dec.c.target_release))
                )
                .where(
                    occurrences.c.release_id == rel.key,
                    # A confirmed issue counts whatever the policy would say of it.
                    or_(dec.c.action == Action.CONFIRMED.value, sqlx.defect(occurrences.c)),
                    or_(dec.c.id.is_(None), not_(live_off)),
                )
                .group_by(severity)
            ).all()
        return {Severity(s): int(n) for s, n in rows}

    def status(self, rel: Release) -> list[IssueRow]:
        """Every issue of a release with its status against the previous release, per tool."""
        with self._tx() as conn:
            pid = self._product_id(conn, rel.product)
            return self._status_rows(conn, pid, rel)

    def diff(self, old: Release, new: Release) -> list[IssueRow]:
        """Compare two releases of one product, tool by tool."""
        with self._tx() as conn:
            pid = self._product_id(conn, new.product)
            out: list[IssueRow] = []
            old_scans = {r.tool: r for r in conn.execute(
                select(scans).where(scans.c.release_id == old.key))}
            for s in conn.execute(select(scans).where(scans.c.release_id == new.key)).all():
                prev = old_scans.get(s.tool)
                out.extend(self._compare(conn, pid, s, prev))
            return out

    # ---- decisions (DM-3, DM-4: append-only history) -------------------------------------

    def decide(self, decision: Decision, release: str | None = None) -> Decision:
        """Append a decision to an issue's history; return it with its id."""
        with self._tx(write=True) as conn:
            row = conn.execute(select(issues.c.id, issues.c.product_id)
                               .where(issues.c.id == decision.issue_id)).first()
            if row is None:
                raise BadInputError(f"unknown issue {decision.issue_id}",
                                    hint="issue ids are in status, report and diff output")
            if release:
                rid = conn.scalar(select(releases.c.id).where(
                    releases.c.product_id == row.product_id, releases.c.name == release))
                if rid is None:
                    raise BadInputError(f"--release {release}: unknown release")
            else:
                # A decision holds from the newest release on: earlier releases keep the
                # verdicts they had, so the trend does not rewrite history (SM-13).
                rid = conn.scalar(select(releases.c.id)
                                  .where(releases.c.product_id == row.product_id)
                                  .order_by(releases.c.seq.desc()).limit(1))
            did = conn.execute(insert(decisions).values(
                issue_id=decision.issue_id, action=decision.action.value,
                reason=decision.reason, decided_by=decision.by, decided_at=decision.at,
                expires=decision.expires, target_release=decision.target_release or None,
                release_id=rid,
            )).inserted_primary_key[0]  # type: ignore[index]
        return Decision(**{**rowcodec.decision_fields(decision), "decision_id": int(did)})

    def current_decisions(self, product: str, as_of: Release | None = None
                          ) -> dict[int, Decision]:
        """The latest decision of every decided issue of a product.

        With ``as_of``, only decisions taken on that release or an earlier one count.
        """
        with self._tx() as conn:
            pid = self._product_id(conn, product)
            latest = (select(func.max(decisions.c.id))
                      .join(issues, issues.c.id == decisions.c.issue_id)
                      .outerjoin(releases, releases.c.id == decisions.c.release_id)
                      .where(issues.c.product_id == pid, sqlx.taken_by(as_of))
                      .group_by(decisions.c.issue_id))
            rows = conn.execute(select(decisions).where(decisions.c.id.in_(latest))).all()
        return {r.issue_id: rowcodec.decision(r) for r in rows}

    def history(self, issue_id: int) -> list[Decision]:
        """Every decision on an issue, oldest first."""
        with self._tx() as conn:
            if conn.scalar(select(issues.c.id).where(issues.c.id == issue_id)) is None:
                raise BadInputError(f"unknown issue {issue_id}",
                                    hint="issue ids are in status, report and diff output")
            rows = conn.execute(select(decisions).where(decisions.c.issue_id == issue_id)
                                .order_by(decisions.c.id)).all()
        return [rowcodec.decision(r) for r in rows]

    def issue_keys(self, product: str) -> dict[int, tuple[str, str, str, str]]:
        """Issue id → (tool, rule id, path, fingerprint) for a product's issues."""
        with self._tx() as conn:
            pid = self._product_id(conn, product)
            rows = conn.execute(select(issues).where(issues.c.product_id == pid)).all()
        return {r.id: (r.tool, r.rule_id, r.path, r.fingerprint) for r in rows}

    def _status_rows(self, conn: Connection, pid: int, rel: Release) -> list[IssueRow]:
        seq = rel.seq
        out: list[IssueRow] = []
        for s in conn.execute(select(scans).where(scans.c.release_id == rel.key)).all():
            prev = self._previous_scan_row(conn, pid, s.tool, seq)
            out.extend(self._compare(conn, pid, s, prev))
        return out

    def _status_counts(self, conn: Connection, pid: int, rel: Release) -> Counter[str]:
        """How many issues of a release are new, persisting, ... counted in SQL.

        The same statuses as ``_compare``, without loading a single finding.
        """
        counts: Counter[str] = Counter()
        seq = rel.seq
        for s in conn.execute(select(scans).where(scans.c.release_id == rel.key)).all():
            prev = self._previous_scan_row(conn, pid, s.tool, seq)
            cur = occurrences.alias("cur")
            if prev is None:
                counts[Status.NEW.value] += s.finding_count
                continue
            if s.compared_with == prev.id:
                counts.update(self._counts_of_changes(conn, pid, s, prev))
                continue
            # Stored before revision 0008 (no changes kept): every finding looked up.
            other = occurrences.alias("other")
            in_prev = select(other.c.id).where(other.c.release_id == prev.release_id,
                                               other.c.issue_id == cur.c.issue_id).exists()
            earlier = select(other.c.id).join(releases, releases.c.id == other.c.release_id).where(
                releases.c.product_id == pid, releases.c.seq < prev.seq,
                other.c.issue_id == cur.c.issue_id).exists()
            status = case((in_prev, Status.PERSISTING.value),
                          (earlier, Status.REINTRODUCED.value), else_=Status.NEW.value)
            for value, n in conn.execute(select(status, func.count()).where(
                    cur.c.scan_id == s.id).group_by(status)):
                counts[value] += n
            gone = select(other.c.id).where(other.c.release_id == rel.key,
                                            other.c.issue_id == cur.c.issue_id).exists()
            not_analysed = set(json.loads(s.not_analysed))
            for path, n in conn.execute(select(cur.c.path, func.count()).where(
                    cur.c.scan_id == prev.id, not_(gone)).group_by(cur.c.path)):
                # A failed run, or a file the tool could not analyse, never turns into a fix.
                blind = not s.successful or path in not_analysed
                counts[(Status.NOT_ANALYSED if blind else Status.FIXED).value] += n
        return counts

    @staticmethod
    def _counts_of_changes(conn: Connection, pid: int, s: Any, prev: Any) -> Counter[str]:
        """``_status_counts`` of scan ``s`` from what changed at it against ``prev``.

        The issues that appeared (kept in ``scan_change`` by ingest: an issue whose version
        changed both went and appeared) are new or, seen in a release before ``prev``,
        reintroduced; the rest of the scan persists; the issues that went are fixed, or not
        analysed where the run failed or missed their file. A few rows, not the whole scan.
        """
        sc = scan_changes
        signed = {sgn: set(conn.scalars(select(sc.c.issue_id).where(
            sc.c.scan_id == s.id, sc.c.sgn == sgn))) for sgn in (1, -1)}
        came, went = sorted(signed[1] - signed[-1]), sorted(signed[-1] - signed[1])
        back = sum(len(set(conn.scalars(
            select(occurrences.c.issue_id)
            .join(releases, releases.c.id == occurrences.c.release_id)
            .where(occurrences.c.issue_id.in_(part), releases.c.product_id == pid,
                   releases.c.seq < prev.seq)))) for part in sqlx.in_parts(came))
        paths = [path for part in sqlx.in_parts(went) for path in conn.scalars(
            select(occurrences.c.path).where(occurrences.c.scan_id == prev.id,
                                             occurrences.c.issue_id.in_(part)))]
        blind = set(json.loads(s.not_analysed))
        missed = sum(1 for p in paths if not s.successful or p in blind)
        return +Counter({Status.NEW.value: len(came) - back, Status.REINTRODUCED.value: back,
                        Status.PERSISTING.value: s.finding_count - len(came),
                        Status.NOT_ANALYSED.value: missed,
                        Status.FIXED.value: len(paths) - missed})

    def _compare(self, conn: Connection, pid: int, cur: Any, prev: Any) -> list[IssueRow]:
        cur_occ = {r.issue_id: r for r in conn.execute(
            select(occurrences).where(occurrences.c.scan_id == cur.id))}
        prev_occ = {} if prev is None else {r.issue_id: r for r in conn.execute(
            select(occurrences).where(occurrences.c.scan_id == prev.id))}
        cur_seq = conn.scalar(select(releases.c.seq).where(releases.c.id == cur.release_id))
        bound = cur_seq if prev is None else conn.scalar(
            select(releases.c.seq).where(releases.c.id == prev.release_id))
        # Issues of this scan seen in a release before the compared one: reintroduced.
        seen_before = set(conn.scalars(
            select(occurrences.c.issue_id).distinct()
            .join(releases, releases.c.id == occurrences.c.release_id)
            .where(releases.c.product_id == pid, releases.c.seq < bound,
                   occurrences.c.issue_id.in_(list(cur_occ) or [-1]))
        ))
        not_analysed = set(json.loads(cur.not_analysed))
        rows = []
        for iid, r in cur_occ.items():
            p = prev_occ.get(iid)
            if p is not None:
                status = Status.PERSISTING
            elif iid in seen_before:
                status = Status.REINTRODUCED
            else:
                status = Status.NEW
            rows.append(rowcodec.issue_row(cur.tool, iid, status, r, p, r))
        for iid, p in prev_occ.items():
            if iid in cur_occ:
                continue
            # A failed run, or a file the tool could not analyse, never turns into a fix.
            blind = not cur.successful or p.path in not_analysed
            status = Status.NOT_ANALYSED if blind else Status.FIXED
            rows.append(rowcodec.issue_row(cur.tool, iid, status, p, p, None))
        rows.sort(key=lambda x: (x.tool, x.path, x.line or 0, x.rule_id, x.issue_id))
        return rows

    def findings(self, rel: Release) -> list[tuple[int, ScoredFinding]]:
        """(issue id, scored finding) for every occurrence in a release."""
        with self._tx() as conn:
            tools = {r.id: Tool(r.tool, r.tool_version) for r in conn.execute(
                select(scans).where(scans.c.release_id == rel.key))}
            why, where = explanations.alias("why"), explanations.alias("where_")
            rows = conn.execute(
                select(occurrences, why.c.body.label("explain_body"),
                       where.c.body.label("exposure_body"))
                .select_from(occurrences
                             .outerjoin(why, why.c.id == occurrences.c.explain_id)
                             .outerjoin(where, where.c.id == occurrences.c.exposure_id))
                .where(occurrences.c.release_id == rel.key)
                .order_by(occurrences.c.risk_score.desc(), occurrences.c.path,
                          occurrences.c.start_line, occurrences.c.id)
            ).all()
        return [(r.issue_id, rowcodec.scored(r, tools[r.scan_id])) for r in rows]





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
