"""Identity in the store: link a scan's findings to the issues before it.

``Linking`` is a part of ``SqlStore`` (its base, through ``Relinking``). It reads the
previous release's findings of a chunk's files and the older releases' content
fingerprints and hands them to the pure matcher (``identity.link``); ``relinking`` links a
stored scan again with it when a release is placed before that scan.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sqlalchemy import (
    and_,
    bindparam,
    delete,
    func,
    insert,
    select,
    true,
)
from sqlalchemy.engine import Connection

from triage.model import Fingerprint, Identity
from triage.store import expressions as sqlx
from triage.store import rowcodec
from triage.store.identity import Candidate, FingerprintLinks, Link, line_map, link
from triage.store.schema import (
    decisions,
    issues,
    occurrences,
    releases,
    scans,
    source_files,
)


class ChunkLinks:
    """Links a scan that comes in chunks of whole files, chunk by chunk (``Linking.chunks``).

    Findings in files the previous scan had link within their chunk; the tool's own
    ``fingerprints`` values link across files and chunks (``FingerprintLinks``); every issue
    a link claimed is taken for the chunks after it, so one issue never goes to two findings
    of a scan. Files the previous scan lacks are linked at the end (``finish``), against the
    files that vanished (renames). The last layer, by content fingerprint (returns), comes
    after all of that, over every finding left, in log order: as when a whole scan is
    linked at once, no finding takes an issue by content before every other layer of every
    file had its chance at it.
    """

    def __init__(self, store: Linking, conn: Connection, pid: int, tool: str, seq: float,
                 identities: Callable[[], Iterator[Identity]] | None) -> None:
        self.store, self.conn, self.pid, self.tool, self.seq = store, conn, pid, tool, seq
        self.prev_scan = prev = store._previous_scan(conn, pid, tool, seq)
        self.prev_paths: set[str] = set() if prev is None else set(conn.scalars(
            select(occurrences.c.path).distinct().where(occurrences.c.scan_id == prev)))
        self.anchors = store._anchors(conn, pid, tool, seq, prev) if prev else {}
        self.by_fp = FingerprintLinks(lambda: store._identity_fingerprints(conn, prev),
                                      identities() if identities and prev is not None
                                      else None)
        self.claimed = set(self.by_fp.taken)
        self.seen: set[str] = set()
        self.unlinked: set[str] = set()  # files with findings for the last layer (``finish``)

    def chunk(self, found: list[Candidate], rows: Sequence[Any],
              place: Callable[[Any], tuple[str, int, int]],
              retained: dict[str, int] | None = None) -> dict[int, Link]:
        """The links of a chunk's findings (``found``, keyed by position).

        ``place`` gives a row's place for the fingerprint links (asked only when some
        finding of the chunk has a ``fingerprints`` value).
        """
        paths = {c.path for c in found}
        self.seen |= paths
        identity = [c.tool_fingerprints for c in found]
        given = self.by_fp.chunk(identity, [place(r) for r in rows] if any(identity) else [],
                                 paths) if self.prev_scan is not None else {}
        candidates = [c for c in found if c.path in self.prev_paths]
        links = self.store._links(self.conn, self.pid, self.tool, self.seq, candidates,
                                  sorted(paths & self.prev_paths), self.anchors, retained,
                                  given, self.claimed, returns=False) if candidates else given
        self.claimed.update(hit.issue for hit in links.values())
        # Left for the last layer; a masked message alone never links by content.
        self.unlinked.update(c.path for c in candidates
                             if c.key not in links and not c.text_key.startswith("msg:"))
        return links

    def appeared(self) -> list[str]:
        """The files of the chunks so far that the previous scan lacks, sorted."""
        return sorted(self.seen - self.prev_paths)

    def finish(self, sid: int, retained: dict[str, int] | None = None) -> dict[int, int]:
        """Link the stored findings of the files the previous scan lacks, then the last layer.

        Returns, for each finding of a file the previous scan has that the last layer
        linked, the issue it left and the one it took.
        """
        retained = retained or {}
        if self.prev_scan is None and not retained:
            return {}  # nothing before this scan to link to
        appeared = self.appeared()
        if appeared:
            self.claimed.update(self.store._link_appeared(
                self.conn, self.pid, self.tool, self.seq, sid, appeared,
                sorted(self.prev_paths - self.seen), self.anchors, retained, self.claimed))
        paths = sorted(self.unlinked.union(appeared))
        if not paths:
            return {}
        return self.store._link_by_content(self.conn, self.pid, self.tool, self.seq, sid,
                                           self.prev_scan, paths, retained, self.claimed,
                                           self.prev_paths)


class Linking:
    """The identity part of ``SqlStore``."""

    @staticmethod
    def _identity_fingerprints(conn: Connection, scan: int | None
                               ) -> dict[Fingerprint, tuple[int, str]]:
        """Each ``fingerprints`` value of a scan, with its issue and file.

        The first in (path, id) order wins, as in ``_links``.
        """
        out: dict[Fingerprint, tuple[int, str]] = {}
        if scan is None:
            return out
        for r in conn.execute(
                select(*CANDIDATE_COLUMNS)
                .where(occurrences.c.scan_id == scan,
                       occurrences.c.tool_fingerprints.like('%"fingerprints:%'))
                .order_by(occurrences.c.path, occurrences.c.id)):
            found = candidate(r, r[1])  # as identity reads a previous finding
            for fp in found.tool_fingerprints:
                out.setdefault(fp, (found.key, found.path))
        return out

    def _link_appeared(self, conn: Connection, pid: int, tool: str, seq: float, sid: int,
                       appeared: list[str], vanished: list[str],
                       anchors: dict[str, list[tuple[int, int]]],
                       retained: dict[str, int], taken: set[int]) -> set[int]:
        """Link the stored findings of files new to this scan to the files that vanished.

        Those the tool's fingerprints linked already stay as they are; no link claims an
        issue ``taken`` by the links of the scan's other files. The last layer, by content,
        is ``_link_by_content``'s. Returns the issues claimed.
        """
        rows: list[Any] = []
        for i in range(0, len(appeared), sqlx.IN_LIST):
            rows.extend(conn.execute(select(*CANDIDATE_COLUMNS, occurrences.c.link).where(
                occurrences.c.scan_id == sid,
                occurrences.c.path.in_(appeared[i:i + sqlx.IN_LIST]))).all())
        rows.sort(key=lambda r: r.id)
        given = {r.id: Link(r.id, r.issue_id, r.link) for r in rows
                 if r.link == "tool-fingerprint"}
        links = {k: hit for k, hit in self._links(
            conn, pid, tool, seq, [candidate(r, r.id) for r in rows], appeared + vanished,
            anchors, retained, given, taken, returns=False).items() if k not in given}
        if not links:
            return set()
        by_id = {r.id: r for r in rows}
        conn.execute(
            occurrences.update().where(occurrences.c.id == bindparam("occ"))
            .values(issue_id=bindparam("issue"), link=bindparam("layer")),
            [dict(occ=k, issue=hit.issue, layer=hit.layer) for k, hit in links.items()])
        drop_orphans(conn, sorted({by_id[k].issue_id for k in links}))
        return {hit.issue for hit in links.values()}

    def _link_by_content(self, conn: Connection, pid: int, tool: str, seq: float, sid: int,
                         prev_scan: int | None, paths: list[str], retained: dict[str, int],
                         taken: set[int], kept: set[str]) -> dict[int, int]:
        """The last layer of ``identity.link`` for a scan linked chunk by chunk: content.

        Once every other layer linked every file, each stored finding of ``paths`` that no
        link claimed takes the issue of its content fingerprint in the latest release that
        has it (an older one: a return; the previous one; the replaced log of this one,
        ``retained``, last), unless a link took that issue (``taken``), as ``_links`` builds
        and ``identity.link`` applies it to a whole scan. In id order: log order for a log
        read as it streams, its files in path order for one spooled. Returns, for each
        finding of a file in ``kept`` (the previous scan's) so linked, the issue it left
        and the one it took.
        """
        rows: list[Any] = []
        for part in sqlx.in_parts(paths):
            rows.extend(conn.execute(
                select(occurrences.c.id, occurrences.c.issue_id, occurrences.c.path,
                       occurrences.c.fingerprint, occurrences.c.text_key)
                .where(occurrences.c.scan_id == sid, occurrences.c.path.in_(part),
                       occurrences.c.link == "new")).all())
        rows = [r for r in rows if not r.text_key.startswith("msg:")]
        if not rows:
            return {}
        before = self._older_scans(conn, pid, tool, seq, prev_scan)
        if prev_scan is not None:
            before.append(prev_scan)
        # Scan by scan in release order: a later release's issue wins a fingerprint. Only
        # these findings' fingerprints are looked for, within their files (the fingerprint
        # holds the path): the database skips the others.
        history = dict(_fingerprints(conn, before, _wanted(rows)))
        history.update((r.fingerprint, retained[r.fingerprint]) for r in rows
                       if r.fingerprint in retained)
        hits: list[tuple[Any, int]] = []
        for r in sorted(rows, key=lambda r: r.id):
            issue = history.get(r.fingerprint)
            if issue is not None and issue not in taken:
                taken.add(issue)
                hits.append((r, issue))
        if not hits:
            return {}
        conn.execute(
            occurrences.update().where(occurrences.c.id == bindparam("occ"))
            .values(issue_id=bindparam("issue"), link="content"),
            [dict(occ=r.id, issue=issue) for r, issue in hits])
        drop_orphans(conn, sorted({r.issue_id for r, _ in hits}))
        return {r.issue_id: issue for r, issue in hits if r.path in kept}

    def _older_scans(self, conn: Connection, pid: int, tool: str, seq: float,
                     prev_scan: int | None) -> list[int]:
        """The tool's scans before ``seq`` but the previous one, in release order."""
        return list(conn.scalars(
            select(scans.c.id).join(releases, releases.c.id == scans.c.release_id)
            .where(releases.c.product_id == pid, releases.c.seq < seq, scans.c.tool == tool,
                   scans.c.id != (prev_scan if prev_scan is not None else -1))
            .order_by(releases.c.seq)))

    def _links(
        self, conn: Connection, pid: int, tool: str, seq: float, new: list[Candidate],
        paths: Sequence[str] | None = None,
        anchors: dict[str, list[tuple[int, int]]] | None = None,
        retained: dict[str, int] | None = None,
        given: dict[int, Link] | None = None,
        taken: set[int] | None = None,
        returns: bool = True,
    ) -> dict[int, Link]:
        """Link candidates of a release at ``seq`` to the tool's issues before it.

        With ``paths``, only the earlier findings in those files take part (a chunk of
        whole files: every layer but the tool's own fingerprints works within a file).
        ``anchors`` are the other scanners' line shifts when already known. ``retained``
        maps the content fingerprints of a replaced log of this release to their issues:
        a finding found again takes its issue back. ``given`` are the links the tool's
        fingerprints made across a chunked scan's files (``FingerprintLinks``), ``taken``
        every issue that links of the scan's other files claimed: no link here claims one.
        Without ``returns``, the last layer (by content fingerprint) is left out: a scan
        linked in chunks takes it once every chunk is linked (``ChunkLinks.finish``).
        """
        prev_scan = self._previous_scan(conn, pid, tool, seq)
        wanted = None if paths is None else set(paths)
        # The files' findings through the (scan, path) index, an IN list at a time.
        where = [true()] if wanted is None else [
            occurrences.c.path.in_(part) for part in sqlx.in_parts(sorted(wanted))]
        previous = []
        if prev_scan is not None:
            # In (path, id) order, which the (scan, path) index gives: ties between
            # candidates break alike on every database, and as ``_identity_fingerprints``
            # breaks them.
            previous = [candidate(r, r[1]) for condition in where for r in conn.execute(
                select(*CANDIDATE_COLUMNS).where(occurrences.c.scan_id == prev_scan, condition)
                .order_by(occurrences.c.path, occurrences.c.id))]
        history: dict[str, int] = {}
        if returns:
            # The tool's older scans in release order (a later release's issue wins a key),
            # then the previous scan's findings, already read above, then the replaced log.
            history.update(_fingerprints(
                conn, self._older_scans(conn, pid, tool, seq, prev_scan), where))
            history.update((p.fingerprint, p.key) for p in previous)
            history.update(retained or {})
        if taken:
            # Only the issues these candidates could join matter; ``taken`` may hold a
            # whole scan's.
            taken = {p.key for p in previous if p.key in taken} | {
                issue for issue in history.values() if issue in taken}
        if anchors is None:
            anchors = self._anchors(conn, pid, tool, seq, prev_scan)
        if wanted is not None:
            anchors = {p: a for p, a in anchors.items() if p in wanted}
        return link(new, previous, history, self._line_maps(conn, pid, seq, prev_scan, new),
                    anchors, given, taken)

    def _previous_scan(self, conn: Connection, pid: int, tool: str, seq: float) -> int | None:
        """The id of the tool's scan in the latest release before ``seq``."""
        row = self._previous_scan_row(conn, pid, tool, seq)
        return None if row is None else int(row.id)

    def _previous_scan_row(self, conn: Connection, pid: int, tool: str, seq: float) -> Any:
        """The tool's scan in the latest release before ``seq`` (id, release_id, seq)."""
        return conn.execute(
            select(scans.c.id, scans.c.release_id, releases.c.seq)
            .join(releases, releases.c.id == scans.c.release_id)
            .where(releases.c.product_id == pid, releases.c.seq < seq, scans.c.tool == tool)
            .order_by(releases.c.seq.desc())
            .limit(1)
        ).first()

    def _anchors(self, conn: Connection, pid: int, tool: str, seq: float,
                 prev_scan: int | None) -> dict[str, list[tuple[int, int]]]:
        """Per file, how the other scanners' findings moved: (old line, new line).

        Only findings their own flagged text linked between the previous release and this
        one count; only scanners already stored for this release take part.
        """
        if prev_scan is None:
            return {}
        rid = conn.scalar(select(releases.c.id).where(releases.c.product_id == pid,
                                                      releases.c.seq == seq))
        prev_rid = conn.scalar(select(scans.c.release_id).where(scans.c.id == prev_scan))
        if rid is None or prev_rid is None:
            return {}
        old_occ, new_occ = occurrences.alias("old_occ"), occurrences.alias("new_occ")
        old_scan, new_scan = scans.alias("old_scan"), scans.alias("new_scan")
        rows = conn.execute(
            select(new_occ.c.path, old_occ.c.start_line, new_occ.c.start_line)
            .join(new_scan, new_scan.c.id == new_occ.c.scan_id)
            .join(old_occ, and_(old_occ.c.issue_id == new_occ.c.issue_id,
                                old_occ.c.release_id == prev_rid,
                                old_occ.c.path == new_occ.c.path))
            .join(old_scan, old_scan.c.id == old_occ.c.scan_id)
            .where(new_occ.c.release_id == rid, new_scan.c.tool != tool,
                   old_scan.c.tool == new_scan.c.tool,
                   new_occ.c.link.in_(("tool-fingerprint", "line-map", "content", "anchor")),
                   old_occ.c.start_line.is_not(None), new_occ.c.start_line.is_not(None))
        ).all()
        out: dict[str, list[tuple[int, int]]] = {}
        for path, old_line, new_line in sorted(set(rows)):
            out.setdefault(path, []).append((old_line, new_line))
        return out

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


CANDIDATE_COLUMNS = (
    occurrences.c.id, occurrences.c.issue_id, occurrences.c.rule_id, occurrences.c.path,
    occurrences.c.start_line, occurrences.c.start_column, occurrences.c.fingerprint,
    occurrences.c.text_key, occurrences.c.message_key, occurrences.c.tool_fingerprints,
)
"""What identity reads of a stored occurrence (``candidate``), and its ids."""


def candidate(r: Any, key: int) -> Candidate:
    """A stored occurrence (a row of ``CANDIDATE_COLUMNS``) as identity sees it."""
    rule_id, path, line, column, fingerprint, text, message, tool_fps = r[2:10]
    return Candidate(
        key, rule_id, path, line or 0, fingerprint, text, message,
        # Only whole fingerprints identify a result; partialFingerprints are hash inputs that
        # may repeat across results (SARIF 3.27.17).
        tuple(tuple(p) for p in rowcodec.loads(tool_fps) if str(p[0]).startswith("fingerprints:"))
        if tool_fps != "[]" else (),
        column or 0,
    )


def drop_orphans(conn: Connection, ids: list[int]) -> None:
    """Delete those of ``ids`` that no occurrence uses and no decision names.

    An issue with a recorded decision is kept even without findings: a decision is never
    lost, and its issue id is never given to another finding.
    """
    decided = select(decisions.c.id).where(decisions.c.issue_id == issues.c.id).exists()
    for i in range(0, len(ids), sqlx.IN_LIST):
        conn.execute(delete(issues).where(issues.c.id.in_(ids[i:i + sqlx.IN_LIST]),
                                          ~in_use(issues.c.id), ~decided))


def _fingerprints(conn: Connection, scan_ids: Sequence[int],
                  where: Sequence[Any]) -> Iterator[tuple[str, int]]:
    """(content fingerprint, issue) of the scans' findings that meet one of ``where``.

    Scan by scan in the order given, so that files are found through the (scan, path)
    index instead of reading every earlier occurrence for every chunk.
    """
    for scan_id in scan_ids:
        for condition in where:
            yield from ((r.fingerprint, r.issue_id) for r in conn.execute(
                select(occurrences.c.fingerprint, occurrences.c.issue_id)
                .where(occurrences.c.scan_id == scan_id, condition)))


def _wanted(rows: Sequence[Any]) -> list[Any]:
    """SQL conditions: a finding in one of the rows' files with one of their fingerprints.

    Each with at most ``IN_LIST`` values in all, files and fingerprints together.
    """
    by_path: dict[str, list[str]] = {}
    for r in rows:
        by_path.setdefault(r.path, []).append(r.fingerprint)
    out: list[Any] = []
    paths: list[str] = []
    prints: list[str] = []
    for path in sorted(by_path):
        for part in sqlx.in_parts(by_path[path]):
            if paths and len(paths) + len(prints) + 1 + len(part) > sqlx.IN_LIST:
                out.append(and_(occurrences.c.path.in_(paths),
                                occurrences.c.fingerprint.in_(prints)))
                paths, prints = [], []
            if not paths or paths[-1] != path:
                paths.append(path)
            prints.extend(part)
    if paths:
        out.append(and_(occurrences.c.path.in_(paths), occurrences.c.fingerprint.in_(prints)))
    return out


def in_use(issue_id: Any) -> Any:
    """SQL condition: an occurrence refers to the issue (a look-up in ``ix_occ_issue``).

    ``NOT EXISTS`` rather than ``NOT IN (SELECT ...)``: PostgreSQL reads the whole table
    for the latter, and once its hash outgrows ``work_mem``, once per issue.
    """
    return select(occurrences.c.id).where(occurrences.c.issue_id == issue_id).exists()


def new_issues(conn: Connection, values: list[dict[str, Any]]) -> Sequence[int]:
    """Insert issues; their ids, in the order of ``values``."""
    if not values:
        return []
    if conn.dialect.name == "sqlite":
        # The ingest holds SQLite's write lock (BEGIN IMMEDIATE), so the ids SQLite would
        # pick, one past the largest, are given here and the rows go in one executemany
        # (RETURNING in parameter order would take a statement per row).
        top = conn.scalar(select(func.max(issues.c.id))) or 0
        new_ids = range(top + 1, top + 1 + len(values))
        for v, issue_id in zip(values, new_ids, strict=True):
            v["id"] = issue_id
        sqlx.bulk_insert(conn, issues, values)
        return new_ids
    # One multi-row INSERT ... RETURNING for every new issue, ids in parameter order.
    return conn.execute(insert(issues).returning(issues.c.id, sort_by_parameter_order=True),
                        values).scalars().all()


def new_candidate(v: dict[str, Any], key: int,
                   identity: tuple[tuple[str, str], ...]) -> Candidate:
    """A new row as identity sees it (``candidate`` without reading the row back).

    ``identity`` is its finding's ``identity_fingerprints``.
    """
    return Candidate(key, v["rule_id"], v["path"], v["start_line"] or 0, v["fingerprint"],
                     v["text_key"], v["message_key"], identity, v["start_column"] or 0)


def stored_place(row: Any) -> tuple[str, int, int]:
    """A stored occurrence's place for the fingerprint links: its id (``stored_identities``)."""
    return "", 0, row.id
