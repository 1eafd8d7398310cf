"""``SqlStore``: products, releases, scans, occurrences and tracked issues in SQL.

SQLite by default (one file, WAL, foreign keys on), any SQLAlchemy URL otherwise (PostgreSQL
for teams). This is the only module that talks to the database; everything it returns is a
``triage.model`` record. An ingest is one transaction: all of it or nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    and_,
    case,
    create_engine,
    delete,
    event,
    func,
    insert,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from triage.errors import BadInputError, DatabaseError
from triage.model import (
    Action,
    Decision,
    Exposure,
    Finding,
    IngestResult,
    IssueRow,
    Location,
    Provenance,
    Reason,
    RecordedScope,
    Release,
    ScanInput,
    ScanSummary,
    ScoredFinding,
    SecurityLevel,
    Severity,
    Status,
    Suppression,
    Tier,
    Tool,
)
from triage.store.identity import Candidate, Link, line_map, link
from triage.store.migrate import upgrade
from triage.store.schema import (
    decisions,
    issues,
    occurrences,
    products,
    release_scopes,
    releases,
    scans,
    source_files,
)
from triage.textkeys import message_key, text_key


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN IMMEDIATE, so concurrent writers queue.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


class SqlStore:
    """The tracking database."""

    def __init__(self, url: str, clock: Any = None) -> None:
        self.url = url
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
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
    def _tx(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except SQLAlchemyError as e:
            raise DatabaseError(f"{_safe(self.url)}: {_first_line(e)}") from e

    # ---- writes -------------------------------------------------------------------------

    def ingest(
        self,
        product: str,
        release: str,
        batches: Sequence[tuple[ScanInput, Sequence[ScoredFinding]]],
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
        with self._tx() as conn:
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
                done = self._store_scan(conn, pid, rel, scan_input, scored)
                if done is None:
                    skipped.append(scan_input.tool.name)
                summaries.append(
                    ScanSummary(
                        tool=scan_input.tool,
                        sarif_sha256=scan_input.sarif_sha256,
                        findings=len(scored),
                        successful=scan_input.successful,
                        not_analysed=scan_input.not_analysed,
                    )
                )
            rows = self._status_rows(conn, pid, rel)
        counts = Counter(r.status.value for r in rows)
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
                           released if date_given else _released_on(row))
        ordered = conn.execute(
            select(releases.c.name, releases.c.seq)
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

    def _release_row(self, conn: Connection, pid: int, rid: int) -> Any:
        return conn.execute(select(releases).where(releases.c.id == rid)).one()

    def _store_scan(
        self,
        conn: Connection,
        pid: int,
        rel: Release,
        scan_input: ScanInput,
        scored: Sequence[ScoredFinding],
    ) -> int | None:
        tool = scan_input.tool.name
        old = conn.execute(
            select(scans.c.id, scans.c.sarif_sha256).where(
                scans.c.release_id == rel.key, scans.c.tool == tool
            )
        ).first()
        if old is not None:
            if old.sarif_sha256 == scan_input.sarif_sha256:
                return None  # the same log again: a no-op
            self._drop_scan(conn, old.id)
        seq = self._release_row(conn, pid, rel.key).seq
        sid = conn.execute(
            insert(scans).values(
                release_id=rel.key, tool=tool, tool_version=scan_input.tool.version,
                sarif_files=json.dumps(scan_input.sarif_files),
                sarif_sha256=scan_input.sarif_sha256, successful=scan_input.successful,
                not_analysed=json.dumps(scan_input.not_analysed),
                notes=json.dumps(scan_input.notes), finding_count=len(scored),
                ingested_at=self.clock(),
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        rows = [_occurrence_values(s) for s in scored]
        links = self._links(conn, pid, tool, seq,
                            [_candidate(_Row(v), i) for i, v in enumerate(rows)])
        for i, values in enumerate(rows):
            hit = links.get(i)
            if hit is None:
                issue_id = conn.execute(
                    insert(issues).values(
                        product_id=pid, tool=tool, rule_id=values["rule_id"],
                        path=values["path"], fingerprint=values["fingerprint"],
                        first_release_id=rel.key,
                    )
                ).inserted_primary_key[0]  # type: ignore[index]
                values.update(issue_id=issue_id, link="new")
            else:
                values.update(issue_id=hit.issue, link=hit.layer)
            values.update(scan_id=sid, release_id=rel.key)
        if rows:
            conn.execute(insert(occurrences), rows)
        self._relink_after(conn, pid, tool, seq)
        return int(sid)

    def _links(
        self, conn: Connection, pid: int, tool: str, seq: float, new: list[Candidate]
    ) -> dict[int, Link]:
        """Link candidates of a release at ``seq`` to the tool's issues before it."""
        prev_scan = conn.execute(
            select(scans.c.id)
            .join(releases, releases.c.id == scans.c.release_id)
            .where(releases.c.product_id == pid, releases.c.seq < seq, scans.c.tool == tool)
            .order_by(releases.c.seq.desc())
            .limit(1)
        ).scalar()
        previous = []
        if prev_scan is not None:
            for r in conn.execute(select(occurrences).where(occurrences.c.scan_id == prev_scan)):
                previous.append(_candidate(r, r.issue_id))
        history = {
            r.fingerprint: r.issue_id
            for r in conn.execute(
                select(occurrences.c.fingerprint, occurrences.c.issue_id)
                .join(scans, scans.c.id == occurrences.c.scan_id)
                .join(releases, releases.c.id == occurrences.c.release_id)
                .where(releases.c.product_id == pid, releases.c.seq < seq, scans.c.tool == tool)
                .order_by(releases.c.seq)
            )
        }
        return link(new, previous, history, self._line_maps(conn, pid, seq, prev_scan, new))

    def _line_maps(self, conn: Connection, pid: int, seq: float, prev_scan: int | None,
                   new: list[Candidate]) -> dict[str, dict[int, int]]:
        """Per file, unchanged lines between the previous and this release's source trees."""
        if prev_scan is None:
            return {}
        rid = conn.scalar(select(releases.c.id).where(releases.c.product_id == pid,
                                                      releases.c.seq == seq))
        prev_rid = conn.scalar(select(scans.c.release_id).where(scans.c.id == prev_scan))
        paths = sorted({c.path for c in new if c.path})
        if rid is None or prev_rid is None or not paths:
            return {}
        rows = conn.execute(select(source_files.c.release_id, source_files.c.path,
                                   source_files.c.line_hashes)
                            .where(source_files.c.release_id.in_([rid, prev_rid]),
                                   source_files.c.path.in_(paths))).all()
        trees: dict[int, dict[str, str]] = {rid: {}, prev_rid: {}}
        for r in rows:
            trees[r.release_id][r.path] = r.line_hashes
        return {path: line_map(trees[prev_rid][path], hashes)
                for path, hashes in trees[rid].items() if path in trees[prev_rid]}

    def _relink_after(self, conn: Connection, pid: int, tool: str, seq: float) -> None:
        """Re-link the tool's later releases, in order, after a release before them changed.

        A release placed with ``--after`` (or a replaced log) sits between releases that
        were linked to each other; each later scan is linked again to its new predecessor.
        """
        later = conn.execute(
            select(scans.c.id, scans.c.release_id, releases.c.seq)
            .join(releases, releases.c.id == scans.c.release_id)
            .where(releases.c.product_id == pid, releases.c.seq > seq, scans.c.tool == tool)
            .order_by(releases.c.seq)
        ).all()
        for later_scan in later:
            rows = conn.execute(
                select(occurrences).where(occurrences.c.scan_id == later_scan.id)
                .order_by(occurrences.c.id)
            ).all()
            links = self._links(conn, pid, tool, later_scan.seq,
                                [_candidate(r, r.id) for r in rows])
            earlier = set(conn.scalars(
                select(occurrences.c.issue_id).distinct()
                .join(releases, releases.c.id == occurrences.c.release_id)
                .join(scans, scans.c.id == occurrences.c.scan_id)
                .where(releases.c.product_id == pid, releases.c.seq < later_scan.seq,
                       scans.c.tool == tool)
            ))
            for r in rows:
                hit = links.get(r.id)
                if hit is not None:
                    issue_id, layer = hit.issue, hit.layer
                elif r.issue_id not in earlier:
                    issue_id, layer = r.issue_id, "new"
                else:
                    issue_id = conn.execute(
                        insert(issues).values(
                            product_id=pid, tool=tool, rule_id=r.rule_id, path=r.path,
                            fingerprint=r.fingerprint, first_release_id=later_scan.release_id,
                        )
                    ).inserted_primary_key[0]  # type: ignore[index]
                    layer = "new"
                if issue_id != r.issue_id or layer != r.link:
                    conn.execute(occurrences.update().where(occurrences.c.id == r.id)
                                 .values(issue_id=issue_id, link=layer))
        if later:
            used = select(occurrences.c.issue_id)
            conn.execute(delete(issues).where(issues.c.product_id == pid, issues.c.tool == tool,
                                              issues.c.id.not_in(used)))

    def _drop_scan(self, conn: Connection, scan_id: int) -> None:
        ids = [r[0] for r in conn.execute(
            select(occurrences.c.issue_id).where(occurrences.c.scan_id == scan_id)
        )]
        conn.execute(delete(occurrences).where(occurrences.c.scan_id == scan_id))
        conn.execute(delete(scans).where(scans.c.id == scan_id))
        if ids:
            still = select(occurrences.c.issue_id).where(occurrences.c.issue_id.in_(ids))
            conn.execute(delete(issues).where(issues.c.id.in_(ids), issues.c.id.not_in(still)))

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
                    SecurityLevel(r.target_sl) if r.target_sl else None, r.id, _released_on(r))
            for r in rows
        ]

    def record_scope(self, rel: Release, scope: RecordedScope) -> None:
        """Record the scope phase a release is triaged in (replacing an earlier one)."""
        values = dict(name=scope.name, justification=scope.justification,
                      globs=json.dumps(list(scope.globs)),
                      changed=json.dumps(sorted(scope.changed)), recorded_at=self.clock())
        with self._tx() as conn:
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
        release has not come). A confirmed issue counts as critical: it must be fixed at
        every SL, as ``scoring.decisions.apply_decision`` rules.
        """
        today = today or self.clock().date()
        latest = (select(decisions.c.issue_id, func.max(decisions.c.id).label("did"))
                  .outerjoin(releases, releases.c.id == decisions.c.release_id)
                  .where(_taken_by(rel))
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
                    occurrences.c.kind == "fail",
                    occurrences.c.suppression != Suppression.SUPPRESSED.value,
                    occurrences.c.in_scope.is_(True),
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
        with self._tx() as conn:
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
        return Decision(**{**_decision_fields(decision), "decision_id": int(did)})

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
                      .where(issues.c.product_id == pid, _taken_by(as_of))
                      .group_by(decisions.c.issue_id))
            rows = conn.execute(select(decisions).where(decisions.c.id.in_(latest))).all()
        return {r.issue_id: _decision(r) for r in rows}

    def history(self, issue_id: int) -> list[Decision]:
        """Every decision on an issue, oldest first."""
        with self._tx() as conn:
            if conn.scalar(select(issues.c.id).where(issues.c.id == issue_id)) is None:
                raise BadInputError(f"unknown issue {issue_id}",
                                    hint="issue ids are in status, report and diff output")
            rows = conn.execute(select(decisions).where(decisions.c.issue_id == issue_id)
                                .order_by(decisions.c.id)).all()
        return [_decision(r) for r in rows]

    def issue_keys(self, product: str) -> dict[int, tuple[str, str, str, str]]:
        """Issue id → (tool, rule id, path, fingerprint) for a product's issues."""
        with self._tx() as conn:
            pid = self._product_id(conn, product)
            rows = conn.execute(select(issues).where(issues.c.product_id == pid)).all()
        return {r.id: (r.tool, r.rule_id, r.path, r.fingerprint) for r in rows}

    def _status_rows(self, conn: Connection, pid: int, rel: Release) -> list[IssueRow]:
        seq = self._release_row(conn, pid, rel.key).seq
        out: list[IssueRow] = []
        for s in conn.execute(select(scans).where(scans.c.release_id == rel.key)).all():
            prev = conn.execute(
                select(scans)
                .join(releases, releases.c.id == scans.c.release_id)
                .where(releases.c.product_id == pid, releases.c.seq < seq, scans.c.tool == s.tool)
                .order_by(releases.c.seq.desc())
                .limit(1)
            ).first()
            out.extend(self._compare(conn, pid, s, prev))
        return out

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
            rows.append(_issue_row(cur.tool, iid, status, r, p, r))
        for iid, p in prev_occ.items():
            if iid in cur_occ:
                continue
            # A failed run, or a file the tool could not analyse, never turns into a fix.
            blind = not cur.successful or p.path in not_analysed
            status = Status.NOT_ANALYSED if blind else Status.FIXED
            rows.append(_issue_row(cur.tool, iid, status, p, p, None))
        rows.sort(key=lambda x: (x.tool, x.path, x.line or 0, x.rule_id, x.issue_id))
        return rows

    def findings(self, rel: Release) -> list[tuple[int, ScoredFinding]]:
        """(issue id, scored finding) for every occurrence in a release."""
        with self._tx() as conn:
            tools = {r.id: Tool(r.tool, r.tool_version) for r in conn.execute(
                select(scans).where(scans.c.release_id == rel.key))}
            rows = conn.execute(
                select(occurrences).where(occurrences.c.release_id == rel.key)
                .order_by(occurrences.c.risk_score.desc(), occurrences.c.path,
                          occurrences.c.start_line, occurrences.c.id)
            ).all()
        return [(r.issue_id, _scored(r, tools[r.scan_id])) for r in rows]


class _Row:
    """Attribute access over a dict, so new rows and stored rows share ``_candidate``."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


def _candidate(r: Any, key: int) -> Candidate:
    return Candidate(
        key=key,
        rule_id=r.rule_id,
        path=r.path,
        line=r.start_line or 0,
        fingerprint=r.fingerprint,
        text_key=r.text_key,
        message_key=r.message_key,
        # Only whole fingerprints identify a result; partialFingerprints are hash inputs that
        # may repeat across results (SARIF 3.27.17).
        tool_fingerprints=tuple(tuple(p) for p in json.loads(r.tool_fingerprints)
                                if str(p[0]).startswith("fingerprints:")),
    )


def _occurrence_values(s: ScoredFinding) -> dict[str, Any]:
    f, e, loc = s.finding, s.exposure, s.finding.location
    return dict(
        rule_id=f.rule_id, rule_name=f.rule_name, path=loc.path, start_line=loc.start_line,
        end_line=loc.end_line, start_column=loc.start_column, message=f.message,
        snippet=loc.snippet, level=f.level, kind=f.kind, suppression=f.suppression.value,
        native_severity=f.native_severity, native_confidence=f.native_confidence,
        security_severity=f.security_severity, cwe=",".join(str(c) for c in f.cwe_ids),
        base_severity=int(s.base_severity), severity=int(s.severity),
        component=e.component_id, component_kind=e.component_kind, tier=int(e.tier),
        in_scope=not e.out_of_scope,
        exposure=e.exposure, risk_score=s.risk_score,
        explain=json.dumps([[r.step, r.text] for r in s.explain]),
        exposure_json=json.dumps(dict(
            asset_value=e.asset_value, unauth=e.unauthenticated_from_untrusted,
            reachable=e.reachable,
            out_of_scope=e.out_of_scope, justification=e.justification,
            glob=e.matched_glob, reasons=list(e.reasons),
            # The enclosing function rides here rather than in a column of its own.
            function=loc.function, function_glob=e.matched_function_glob,
        )),
        sarif_file=f.provenance.file, sarif_sha256=f.provenance.sha256,
        run_index=f.provenance.run,
        result_index=f.provenance.result, fingerprint=f.fingerprint,
        text_key=text_key(f), message_key=message_key(f),
        tool_fingerprints=json.dumps([list(p) for p in f.tool_fingerprints]),
    )


def _issue_row(tool: str, iid: int, status: Status, r: Any, p: Any, c: Any) -> IssueRow:
    return IssueRow(
        issue_id=iid, status=status, tool=tool, rule_id=r.rule_id, path=r.path,
        line=r.start_line, severity=Severity(r.severity), component=r.component,
        link=(c.link if c is not None else ""), message=r.message,
        from_prov=_prov(p) if p is not None else None,
        to_prov=_prov(c) if c is not None else None,
    )


def _scored(r: Any, tool: Tool) -> ScoredFinding:
    ex = json.loads(r.exposure_json)
    finding = Finding(
        tool=tool, rule_id=r.rule_id, rule_name=r.rule_name, message=r.message,
        location=Location(r.path, r.start_line, r.end_line, r.start_column, r.snippet,
                          ex.get("function", "")),
        level=r.level, kind=r.kind,
        provenance=_prov(r),
        native_severity=r.native_severity, native_confidence=r.native_confidence,
        security_severity=r.security_severity,
        cwe_ids=tuple(int(c) for c in r.cwe.split(",") if c),
        suppression=Suppression(r.suppression),
        tool_fingerprints=tuple(tuple(p) for p in json.loads(r.tool_fingerprints)),
        fingerprint=r.fingerprint,
    )
    exposure = Exposure(
        component_id=r.component, component_kind=r.component_kind, tier=Tier(r.tier),
        exposure=r.exposure, asset_value=ex["asset_value"],
        unauthenticated_from_untrusted=ex["unauth"], reachable=ex.get("reachable", True),
        out_of_scope=ex["out_of_scope"],
        justification=ex["justification"], matched_glob=ex["glob"],
        reasons=tuple(ex["reasons"]), matched_function_glob=ex.get("function_glob", ""),
    )
    return ScoredFinding(
        finding=finding, exposure=exposure, base_severity=Severity(r.base_severity),
        severity=Severity(r.severity), risk_score=r.risk_score,
        explain=tuple(Reason(a, b) for a, b in json.loads(r.explain)),
    )


def _released_on(row: Any) -> dt.date:
    """A release row's date: ``released_on``, else the day it was first stored.

    Releases stored before revision 0004 have no ``released_on``.
    """
    return row.released_on or row.created_at.date()


def _taken_by(rel: Release | None) -> Any:
    """SQL condition: the decision was taken on ``rel`` or before it (or on no release)."""
    if rel is None:
        return true()
    return or_(decisions.c.release_id.is_(None), releases.c.seq <= rel.seq)


def _decision_fields(d: Decision) -> dict[str, Any]:
    return {f: getattr(d, f) for f in Decision.__dataclass_fields__}


def _decision(r: Any) -> Decision:
    at = r.decided_at if r.decided_at.tzinfo else r.decided_at.replace(tzinfo=dt.UTC)
    return Decision(issue_id=r.issue_id, action=Action(r.action), reason=r.reason,
                    by=r.decided_by, at=at, expires=r.expires,
                    target_release=r.target_release or "", decision_id=r.id)


def _prov(r: Any) -> Provenance:
    return Provenance(r.sarif_file, r.run_index, r.result_index, r.sarif_sha256)


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
