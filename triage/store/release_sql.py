"""The releases of ``SqlStore``: releases, scans, scopes, statuses, diffs, findings.

``ReleaseQueries`` is a part of ``SqlStore`` (its base), beside ``Relinking``,
``DecisionRecords`` and ``TrendQueries``: what a release holds and how its issues stand
against the previous release, counted in SQL where a count is all that is asked; and the
scope phase a release is triaged in, which ``record_scope`` writes and the rest read.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, func, insert, not_, or_, select
from sqlalchemy.engine import Connection

from triage.errors import BadInputError
from triage.model import (
    Action,
    IssueRow,
    RecordedScope,
    Release,
    ScanSummary,
    ScoredFinding,
    SecurityLevel,
    Severity,
    Status,
    Tool,
)
from triage.store import expressions as sqlx
from triage.store import rowcodec
from triage.store.part import StorePart
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
)


class ReleaseQueries(StorePart):
    """The releases part of ``SqlStore``: their reads, and their recorded scope phases."""

    if TYPE_CHECKING:
        def _previous_scan_row(self, conn: Connection, pid: int, tool: str,
                               seq: float) -> Any: ...

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
