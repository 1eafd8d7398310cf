"""The trend's queries: per-release counts, fixes and the must-fix backlog, in SQL.

``TrendQueries`` is a part of ``SqlStore`` (its base): it reads what ingest kept of each
scan (``scan_change``) and the decisions, release by release, and never loads a finding.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    case,
    func,
    insert,
    literal,
    or_,
    select,
)
from sqlalchemy.engine import Connection

from triage.model import FixTime, Release, SecurityLevel, Severity, Tier
from triage.store import expressions as sqlx
from triage.store.part import StorePart
from triage.store.schema import (
    decisions,
    issues,
    occurrences,
    releases,
    scan_changes,
    scans,
)


@dataclass(frozen=True, slots=True)
class ReleaseCounts:
    """What the trend counts in one release, aggregated in SQL (``SqlStore.trend_counts``)."""

    release: Release
    """The release."""
    new: int
    """Issues new in it (per tool, against the tool's previous scan)."""
    fixed: int
    """Issues of the previous scan gone, in files analysed by a successful run."""
    persisting: int
    """Issues also in the previous scan."""
    reintroduced: int
    """Issues back after an absence."""
    not_analysed: int
    """Issues gone from files the tool could not analyse, or with a failed run."""
    total: int
    """Findings in the release's scans."""
    must_fix_by_sl: tuple[tuple[SecurityLevel, int], ...]
    """Open must-fix at each SL, as ``severity_histogram`` counts them."""
    must_fix: int
    """Issues the severity policy at the trend's SL must fix, after triage decisions."""
    must_fix_new: int
    """Of those, issues that were not must-fix in the previous release."""
    must_fix_left: int
    """Must-fix issues of the previous release that no longer are."""
    high_risk: frozenset[str]
    """In-scope components of tier high or critical with a finding in the release."""
    dirty: frozenset[str]
    """Components with a must-fix issue at the trend's SL."""


@dataclass(slots=True)
class _ScanSums:
    """The changes one scan brings to the trend's counts (and its statuses)."""

    count: int = 0
    must: int = 0
    hist: tuple[int, ...] = (0, 0, 0, 0)
    components: dict[str, tuple[int, int]] = field(default_factory=dict)
    appeared: int = 0
    reintroduced: int = 0
    fixed: int = 0
    not_analysed: int = 0
    must_in: int = 0
    must_out: int = 0


class TrendQueries(StorePart):
    """The trend's part of ``SqlStore``."""

    def trend_counts(
        self, product: str, minimum: Severity, thresholds: dict[SecurityLevel, Severity],
        today: dt.date | None = None,
    ) -> tuple[list[ReleaseCounts], list[FixTime]]:
        """Per release, in release order, what the trend counts; and every fix, in order.

        The statuses are ``status``'s (each scan against the tool's previous one), the
        must-fix counts per SL ``severity_histogram``'s (``thresholds``: the lowest must-fix
        severity at each SL), the backlog the verdicts of the severity policy at ``minimum``
        after triage decisions, as ``scoring`` judges them. All of it is aggregated in SQL:
        what changed at each scan against the tool's previous one (the issue versions that
        appeared and went) comes from ``scan_change``, which ingest keeps, or, for a scan
        whose kept changes are missing or were computed against another predecessor, from an
        ``EXCEPT`` of the two scans' index ranges both ways; counts at a scan are those of the
        previous scan plus what appeared minus what went.
        Issues with a decision, whose verdict can change without a change in the code, are
        counted release by release instead.
        """
        today = today or self.clock().date()
        with self._tx() as conn:
            if conn.dialect.name == "postgresql":
                # Many short set operations: compiling each one costs more than it saves,
                # and a scan's versions fit in memory to hash.
                if (conn.dialect.server_version_info or (0,)) >= (11,):
                    conn.exec_driver_sql("SET LOCAL jit = off")
                conn.exec_driver_sql("SET LOCAL work_mem = '64MB'")
            pid = self._product_id(conn, product)
            rels = [Release(product, r.name, r.seq,
                            SecurityLevel(r.target_sl) if r.target_sl else None, r.id,
                            sqlx.released_on(r))
                    for r in conn.execute(select(releases).where(releases.c.product_id == pid)
                                          .order_by(releases.c.seq))]
            rank = {r.key: i for i, r in enumerate(rels)}
            chains: dict[str, list[Any]] = {}
            for s in sorted(conn.execute(select(scans).where(
                    scans.c.release_id.in_(list(rank) or [-1]))).all(),
                    key=lambda s: (rank[s.release_id], s.tool)):
                chains.setdefault(s.tool, []).append(s)
            decided = (select(decisions.c.issue_id)
                       .join(issues, issues.c.id == decisions.c.issue_id)
                       .where(issues.c.product_id == pid))
            delta, moves = _trend_tables()
            delta.create(conn)
            moves.create(conn)
            self._trend_deltas(conn, chains, rank, delta, decided)
            self._trend_moves(conn, chains, delta, moves, minimum)
            per_scan = self._trend_scan_sums(conn, delta, moves, minimum, thresholds)
            fixes = self._trend_fixes(conn, chains, rank, rels, moves)
            moves.drop(conn)
            delta.drop(conn)
            held = self._trend_decided(conn, pid, rels, chains, decided, minimum, thresholds,
                                       today)
        return _release_counts(rels, rank, chains, per_scan, held), fixes

    def must_fix_issues(self, rel: Release, minimum: Severity,
                        today: dt.date | None = None) -> frozenset[int]:
        """Issues of a release that must be fixed at ``minimum`` after triage decisions.

        The severity policy's verdict (``scoring``: a defect, not suppressed, in scope, at
        least ``minimum``) as its current decision as of the release changes it.
        """
        today = today or self.clock().date()
        with self._tx() as conn:
            pid = self._product_id(conn, rel.product)
            o = occurrences
            latest = (select(decisions.c.issue_id, func.max(decisions.c.id).label("did"))
                      .outerjoin(releases, releases.c.id == decisions.c.release_id)
                      .where(sqlx.taken_by(rel)).group_by(decisions.c.issue_id).subquery())
            dec, target = decisions.alias("d"), releases.alias("target")
            here = releases.alias("here")
            must = sqlx.must_expr(o.c, dec, target, here, minimum, today)
            rows = conn.scalars(
                select(o.c.issue_id).distinct()
                .select_from(o.join(here, here.c.id == o.c.release_id)
                             .outerjoin(latest, latest.c.issue_id == o.c.issue_id)
                             .outerjoin(dec, dec.c.id == latest.c.did)
                             .outerjoin(target, and_(target.c.product_id == pid,
                                                     target.c.name == dec.c.target_release)))
                .where(o.c.release_id == rel.key, must == 1)).all()
        return frozenset(int(i) for i in rows)

    def _trend_deltas(self, conn: Connection, chains: dict[str, list[Any]],
                      rank: dict[int, int], delta: Table, decided: Any) -> None:
        """Fill ``delta``: per scan, the issue versions that appeared (+1) and went (-1).

        A version is an issue with the columns the trend counts; a changed one (a new
        severity, say) goes and appears in the same scan. A tool's first scan appears whole.
        """
        cols = sqlx.VERSION_COLUMNS
        version = sqlx.version
        sc = scan_changes
        names = ["tool", "k", "r", "c_id", "p_id", "sgn", "decided", *(c.name for c in cols)]
        ordered = conn.dialect.name == "sqlite"
        for tool, chain in chains.items():
            for k, s in enumerate(chain):
                prev = chain[k - 1] if k else None
                merge = False
                if prev is None:
                    parts = [(1, version(s.id))]
                elif s.compared_with == prev.id:
                    # Ingest kept what changed at this scan against this very predecessor.
                    parts = [(sgn, select(*(sc.c[c.name] for c in cols)).where(
                        sc.c.scan_id == s.id, sc.c.sgn == sgn)) for sgn in (1, -1)]
                else:  # stored before revision 0008: compare the two scans here
                    parts = [(1, version(s.id).except_(version(prev.id))),
                             (-1, version(prev.id).except_(version(s.id)))]
                    merge = ordered
                for sgn, query in parts:
                    if merge:
                        # Ordered like the index, SQLite merges the two ranges in one pass;
                        # PostgreSQL hashes them.
                        query = query.order_by(*query.selected_columns)
                    sub = query.subquery()
                    conn.execute(insert(delta).from_select(names, select(
                        literal(tool), literal(k), literal(rank[s.release_id]), literal(s.id),
                        literal(prev.id if prev is not None else None, Integer), literal(sgn),
                        case((sub.c.issue_id.in_(decided), 1), else_=0), *sub.c)))

    def _trend_moves(self, conn: Connection, chains: dict[str, list[Any]], delta: Table,
                     moves: Table, minimum: Severity) -> None:
        """Fill ``moves``: per scan and issue in ``delta``, how it changed.

        Whether it appeared, went or changed, its must-fix verdict before and after
        (decisions aside), and whether a disappearance is blind (a failed run, or a file the
        tool could not analyse).
        """
        d = delta.c
        plus = func.max(case((d.sgn == 1, 1), else_=0))
        minus = func.max(case((d.sgn == -1, 1), else_=0))
        must = sqlx.plain_must(d, minimum)
        gone = and_(plus == 0, minus == 1)
        blind: list[Any] = []
        for chain in chains.values():
            for s in chain:
                paths = json.loads(s.not_analysed)
                if not s.successful:
                    blind.append((d.c_id == s.id, 1))
                elif paths:
                    # The path is read only for what went from a scan that missed files.
                    where = select(occurrences.c.path).where(
                        occurrences.c.scan_id == d.p_id,
                        occurrences.c.issue_id == d.issue_id).scalar_subquery()
                    blind.append((d.c_id == s.id, case((where.in_(paths), 1), else_=0)))
        conn.execute(insert(moves).from_select(
            ["tool", "k", "r", "issue_id", "decided", "plus", "minus", "before", "after",
             "severity", "blind"],
            select(func.max(d.tool), func.max(d.k), func.max(d.r), d.issue_id,
                   func.max(d.decided), plus, minus,
                   func.max(case((and_(d.sgn == -1, must), 1), else_=0)),
                   func.max(case((and_(d.sgn == 1, must), 1), else_=0)),
                   func.max(case((d.sgn == -1, d.severity))),
                   case((gone, case(*blind, else_=0)), else_=0) if blind else literal(0))
            .where(d.k > 0)  # a tool's first scan: everything appeared, nothing went
            .group_by(d.c_id, d.p_id, d.issue_id)))

    def _trend_scan_sums(self, conn: Connection, delta: Table, moves: Table,
                         minimum: Severity, thresholds: dict[SecurityLevel, Severity]
                         ) -> dict[tuple[str, int], _ScanSums]:
        """Per scan (tool, rank): statuses, and the changes of every count it carries."""
        d, m, m2 = delta.c, moves.c, moves.alias("m2").c
        out: dict[tuple[str, int], _ScanSums] = {}
        undecided = d.decided == 0
        sums = [func.sum(d.sgn),
                func.sum(case((and_(undecided, sqlx.plain_must(d, minimum)), d.sgn), else_=0))]
        sums += [func.sum(case((and_(undecided, sqlx.defect(d), d.severity >= int(thresholds[sl])),
                                d.sgn), else_=0)) for sl in SecurityLevel]
        for tool, k, count, must, *hist in conn.execute(
                select(d.tool, d.k, *sums).group_by(d.tool, d.k)):
            out[(tool, k)] = _ScanSums(count=int(count or 0), must=int(must or 0),
                                       hist=tuple(int(h or 0) for h in hist))
        high = and_(d.tier >= int(Tier.HIGH), d.in_scope.is_(True))
        for tool, k, comp, n_high, n_must in conn.execute(
                select(d.tool, d.k, d.component, func.sum(case((high, d.sgn), else_=0)),
                       func.sum(case((and_(undecided, sqlx.plain_must(d, minimum)), d.sgn),
                                     else_=0)))
                .group_by(d.tool, d.k, d.component)):
            if n_high or n_must:
                out.setdefault((tool, k), _ScanSums()).components[comp] = (int(n_high),
                                                                            int(n_must))
        appeared = and_(m.plus == 1, m.minus == 0)
        gone = and_(m.plus == 0, m.minus == 1)
        earlier = select(m2.issue_id).where(m2.issue_id == m.issue_id, m2.minus == 1,
                                            m2.k < m.k).exists()
        open_ = and_(m.decided == 0, m.after == 1, m.before == 0)
        closed = and_(m.decided == 0, m.before == 1, m.after == 0)
        for row in conn.execute(select(
                m.tool, m.k, func.sum(case((appeared, 1), else_=0)),
                func.sum(case((and_(appeared, earlier), 1), else_=0)),
                func.sum(case((and_(gone, m.blind == 0), 1), else_=0)),
                func.sum(case((and_(gone, m.blind == 1), 1), else_=0)),
                func.sum(case((open_, 1), else_=0)), func.sum(case((closed, 1), else_=0)))
                .group_by(m.tool, m.k)):
            sums_ = out.setdefault((row[0], row[1]), _ScanSums())
            (sums_.appeared, sums_.reintroduced, sums_.fixed, sums_.not_analysed,
             sums_.must_in, sums_.must_out) = (int(v or 0) for v in row[2:])
        for (_, k), sums_ in out.items():
            if k == 0:
                sums_.appeared = sums_.count
        return out

    def _trend_fixes(self, conn: Connection, chains: dict[str, list[Any]],
                     rank: dict[int, int], rels: list[Release], moves: Table) -> list[FixTime]:
        """Every fix, in release order then issue id.

        With its severity when last seen, and the releases it was opened in (its last
        appearance) and fixed in.
        """
        m, m2 = moves.c, moves.alias("m2").c
        opened = func.coalesce(select(func.max(m2.k)).where(
            m2.issue_id == m.issue_id, m2.plus == 1, m2.minus == 0, m2.k < m.k
        ).scalar_subquery(), 0)
        out = []
        for iid, tool, r, sev, start in conn.execute(
                select(m.issue_id, m.tool, m.r, m.severity, opened)
                .where(m.plus == 0, m.minus == 1, m.blind == 0).order_by(m.r, m.issue_id)):
            a = rank[chains[tool][start].release_id]
            opened_on, fixed_on = rels[a].released, rels[r].released
            days = (fixed_on - opened_on).days if opened_on and fixed_on else None
            out.append(FixTime(int(iid), Severity(sev), rels[a].name, rels[r].name, r - a, days))
        return out

    def _trend_decided(
        self, conn: Connection, pid: int, rels: list[Release], chains: dict[str, list[Any]],
        decided: Any, minimum: Severity, thresholds: dict[SecurityLevel, Severity],
        today: dt.date,
    ) -> dict[int, _ScanSums]:
        """Per release rank, the counts of the issues with a decision.

        They are judged release by release, with the decision current at each (as
        ``severity_histogram`` and ``current_decisions`` take it).
        """
        scan_ids = [s.id for chain in chains.values() for s in chain]
        if not scan_ids:
            return {}
        o = occurrences
        here, drel = releases.alias("here"), releases.alias("drel")
        taken = (select(decisions.c.issue_id, here.c.id.label("rid"),
                        func.max(decisions.c.id).label("did"))
                 .join(issues, issues.c.id == decisions.c.issue_id)
                 .outerjoin(drel, drel.c.id == decisions.c.release_id)
                 .join(here, here.c.product_id == issues.c.product_id)
                 .where(issues.c.product_id == pid,
                        or_(decisions.c.release_id.is_(None), drel.c.seq <= here.c.seq))
                 .group_by(decisions.c.issue_id, here.c.id).subquery())
        dec, target, at = decisions.alias("dec"), releases.alias("target"), releases.alias("at")
        r_of = case({r.key: i for i, r in enumerate(rels)}, value=scans.c.release_id)
        table = _trend_held_table()
        table.create(conn)
        conn.execute(insert(table).from_select(
            ["issue_id", "r", "component", "must", *(f"h{i}" for i in range(len(SecurityLevel)))],
            select(o.c.issue_id, r_of, o.c.component,
                   sqlx.must_expr(o.c, dec, target, at, minimum, today),
                   *(sqlx.hist_expr(o.c, dec, target, at, thresholds[sl], today)
                     for sl in SecurityLevel))
            .select_from(o.join(scans, scans.c.id == o.c.scan_id)
                         .join(at, at.c.id == scans.c.release_id)
                         .outerjoin(taken, and_(taken.c.issue_id == o.c.issue_id,
                                                taken.c.rid == scans.c.release_id))
                         .outerjoin(dec, dec.c.id == taken.c.did)
                         .outerjoin(target, and_(target.c.product_id == pid,
                                                 target.c.name == dec.c.target_release)))
            .where(o.c.scan_id.in_(scan_ids), o.c.issue_id.in_(decided))))
        held = table
        out: dict[int, _ScanSums] = {}
        hs = [held.c[f"h{i}"] for i in range(len(SecurityLevel))]
        for r, must, *hist in conn.execute(select(held.c.r, func.sum(held.c.must),
                                                  *(func.sum(h) for h in hs))
                                           .group_by(held.c.r)):
            out[r] = _ScanSums(must=int(must or 0), hist=tuple(int(h or 0) for h in hist))
        for r, comp in conn.execute(select(held.c.r, held.c.component).distinct()
                                    .where(held.c.must == 1)):
            out.setdefault(r, _ScanSums()).components[comp] = (0, 1)
        a, b = held.alias("a"), held.alias("b")
        for r, n in conn.execute(
                select(a.c.r, func.count())
                .select_from(a.outerjoin(b, and_(b.c.issue_id == a.c.issue_id,
                                                 b.c.r == a.c.r - 1, b.c.must == 1)))
                .where(a.c.must == 1, b.c.issue_id.is_(None)).group_by(a.c.r)):
            out.setdefault(r, _ScanSums()).must_in = int(n)
        for r, n in conn.execute(
                select(b.c.r, func.count())
                .select_from(b.outerjoin(a, and_(a.c.issue_id == b.c.issue_id,
                                                 a.c.r == b.c.r + 1, a.c.must == 1)))
                .where(b.c.must == 1, b.c.r < len(rels) - 1, a.c.issue_id.is_(None))
                .group_by(b.c.r)):
            out.setdefault(r + 1, _ScanSums()).must_out = int(n)
        table.drop(conn)
        return out


def _trend_tables() -> tuple[Table, Table]:
    """The trend's temporary tables: the versions each scan changed, and per issue how."""
    meta = MetaData()

    def head() -> list[Column[Any]]:
        return [Column("tool", String(100)), Column("k", Integer), Column("r", Integer)]

    delta = Table(
        "trend_delta", meta, *head(), Column("c_id", Integer), Column("p_id", Integer),
        Column("sgn", Integer), Column("decided", Integer), Column("issue_id", Integer),
        Column("severity", Integer), Column("kind", String(20)),
        Column("suppression", String(12)), Column("in_scope", Boolean), Column("tier", Integer),
        Column("component", String(200)), prefixes=["TEMPORARY"],
    )
    moves = Table(
        "trend_moves", meta, *head(), Column("issue_id", Integer),
        Column("decided", Integer), Column("plus", Integer), Column("minus", Integer),
        Column("before", Integer), Column("after", Integer), Column("severity", Integer),
        Column("blind", Integer), prefixes=["TEMPORARY"],
    )
    Index("ix_trend_moves_issue", moves.c.issue_id, moves.c.k)
    return delta, moves


def _trend_held_table() -> Table:
    """The trend's temporary table of the decided issues' verdicts, release by release."""
    return Table(
        "trend_held", MetaData(), Column("issue_id", Integer), Column("r", Integer),
        Column("component", String(200)), Column("must", Integer),
        *(Column(f"h{i}", Integer) for i in range(len(SecurityLevel))),
        Index("ix_trend_held_issue", "issue_id", "r"), prefixes=["TEMPORARY"],
    )


def _release_counts(rels: list[Release], rank: dict[int, int], chains: dict[str, list[Any]],
                    per_scan: dict[tuple[str, int], _ScanSums],
                    held: dict[int, _ScanSums]) -> list[ReleaseCounts]:
    """Per release: each tool's running sums at its scan there, plus the decided issues."""
    n = len(rels)
    at = [_ScanSums() for _ in range(n)]
    status = [[0, 0, 0, 0, 0, 0] for _ in range(n)]  # new fixed persisting reint. n/a total
    high: list[set[str]] = [set() for _ in range(n)]
    dirty: list[set[str]] = [set() for _ in range(n)]
    for tool, chain in chains.items():
        run = _ScanSums()
        comps: dict[str, list[int]] = {}
        last: tuple[int, int] | None = None  # (rank, must) of the tool's previous scan
        for k, s in enumerate(chain):
            r, d = rank[s.release_id], per_scan.get((tool, k), _ScanSums())
            run.count += d.count
            run.must += d.must
            run.hist = tuple(a + b for a, b in zip(run.hist, d.hist, strict=True))
            for comp, (h, m) in d.components.items():
                acc = comps.setdefault(comp, [0, 0])
                acc[0] += h
                acc[1] += m
            st = status[r]
            st[0] += d.appeared - d.reintroduced
            st[1] += d.fixed
            st[2] += run.count - d.appeared
            st[3] += d.reintroduced
            st[4] += d.not_analysed
            st[5] += s.finding_count
            at[r].must += run.must
            at[r].hist = tuple(a + b for a, b in zip(at[r].hist, run.hist, strict=True))
            high[r].update(c for c, (h, _) in comps.items() if h > 0)
            dirty[r].update(c for c, (_, m) in comps.items() if m > 0)
            # The backlog compares releases: a tool without a scan in a release has none.
            if last is not None and last[0] == r - 1:
                at[r].must_in += d.must_in
                at[r].must_out += d.must_out
            else:
                at[r].must_in += run.must
                if last is not None:
                    at[last[0] + 1].must_out += last[1]
            last = (r, run.must)
        if last is not None and last[0] + 1 < n:
            at[last[0] + 1].must_out += last[1]
    out = []
    for i, rel in enumerate(rels):
        a, b = at[i], held.get(i, _ScanSums())
        new, fixed, persisting, reintroduced, not_analysed, total = status[i]
        dirty[i].update(b.components)
        out.append(ReleaseCounts(
            release=rel, new=new, fixed=fixed, persisting=persisting,
            reintroduced=reintroduced, not_analysed=not_analysed, total=total,
            must_fix_by_sl=tuple((sl, a.hist[j] + b.hist[j])
                                 for j, sl in enumerate(SecurityLevel)),
            must_fix=a.must + b.must, must_fix_new=a.must_in + b.must_in,
            must_fix_left=a.must_out + b.must_out, high_risk=frozenset(high[i]),
            dirty=frozenset(dirty[i]),
        ))
    return out
