"""Relinking in the store: a release placed before stored ones (``--after``), or a log replaced.

``Relinking`` is a part of ``SqlStore`` (its base), on top of ``Linking``: each later scan
of the tool is linked again to its new predecessor, chunk by chunk of whole files read back
from the store, as a streamed ingest links them; decisions follow the findings whose issues
moved (DM-3), and issues left without findings are dropped unless a decision names them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.engine import Connection

from triage.model import Identity
from triage.store import expressions as sqlx
from triage.store.identity import Link
from triage.store.linking import (
    CANDIDATE_COLUMNS,
    ChunkLinks,
    Linking,
    candidate,
    drop_orphans,
    in_use,
    new_issues,
    stored_place,
)
from triage.store.schema import decisions, issues, occurrences, releases, scans

CHUNK_ROWS = 5000
"""About how many stored occurrences a relinked chunk holds (whole files)."""


class Relinking(Linking):
    """The relinking part of ``SqlStore``."""

    if TYPE_CHECKING:
        def _store_changes(self, conn: Connection, sid: int, prev: int | None) -> None: ...

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
        moved: dict[int, int] = {}  # issue a later finding left -> the issue it joined
        for later_scan in later:
            self._relink_scan(conn, pid, tool, later_scan, moved)
            # Its predecessor, or its issues, changed: so did what changed at it.
            self._store_changes(conn, later_scan.id,
                                self._previous_scan(conn, pid, tool, later_scan.seq))
        if later:
            left = conn.scalars(select(issues.c.id).where(
                issues.c.product_id == pid, issues.c.tool == tool,
                ~in_use(issues.c.id))).all()
            for issue_id in left:
                if issue_id in moved:
                    # The finding is the same one: its decisions follow it (DM-3).
                    conn.execute(decisions.update().where(decisions.c.issue_id == issue_id)
                                 .values(issue_id=moved[issue_id]))
            drop_orphans(conn, sorted(left))

    def _relink_scan(self, conn: Connection, pid: int, tool: str, later: Any,
                     moved: dict[int, int]) -> None:
        """Link a stored scan again to the issues before it, as ``_store_chunks`` links one.

        Chunk by chunk of whole files read back through the (scan, path) index, so memory
        stays bounded by a chunk whatever the scan's size; files the previous scan lacks
        are linked at the end (renames, returns), the tool's ``fingerprints`` values across
        every file at once. A finding no link claims keeps its issue, unless an earlier
        release has that issue: then it starts a new one. ``moved`` hears each issue a
        finding left, and the issue it joined.
        """
        sid = later.id
        links_of = ChunkLinks(self, conn, pid, tool, later.seq,
                              lambda: self._stored_identities(conn, sid))
        appeared: dict[int, int] = {}  # occurrence in a file new to the scan -> its issue
        for rows in self._stored_files(conn, sid):
            found = [candidate(r, i) for i, r in enumerate(rows)]
            links = links_of.chunk(found, rows, stored_place)
            for i, issue_id in self._relinked(conn, pid, tool, later, rows, links).items():
                if found[i].path in links_of.prev_paths:
                    if issue_id != rows[i].issue_id:
                        moved.setdefault(rows[i].issue_id, issue_id)
                else:
                    appeared[rows[i].id] = rows[i].issue_id
        took = links_of.finish(sid)
        if took:  # an issue a finding had left earlier above may have been left again
            for left, issue_id in moved.items():
                if issue_id in took:
                    moved[left] = took[issue_id]
            for left, issue_id in took.items():
                moved.setdefault(left, issue_id)
        if not appeared:
            return
        names = links_of.appeared()
        for i in range(0, len(names), sqlx.IN_LIST):
            for occ, issue_id in conn.execute(select(occurrences.c.id, occurrences.c.issue_id)
                                              .where(occurrences.c.scan_id == sid,
                                                     occurrences.c.path.in_(
                                                         names[i:i + sqlx.IN_LIST]))):
                if issue_id != appeared[occ]:
                    moved.setdefault(appeared[occ], issue_id)

    def _relinked(self, conn: Connection, pid: int, tool: str, later: Any, rows: Sequence[Any],
                  links: dict[int, Link]) -> dict[int, int]:
        """Give a chunk of a stored scan's occurrences their links; each row's issue now.

        A row no link claims keeps its issue, or starts a new one when a release before the
        scan has that issue (the finding there is another one now).
        """
        unlinked = sorted({r.issue_id for i, r in enumerate(rows) if i not in links})
        earlier: set[int] = set()
        for i in range(0, len(unlinked), sqlx.IN_LIST):
            earlier.update(conn.scalars(
                select(occurrences.c.issue_id).distinct()
                .join(releases, releases.c.id == occurrences.c.release_id)
                .join(scans, scans.c.id == occurrences.c.scan_id)
                .where(occurrences.c.issue_id.in_(unlinked[i:i + sqlx.IN_LIST]),
                       releases.c.product_id == pid, releases.c.seq < later.seq,
                       scans.c.tool == tool)))
        now: dict[int, int] = {}
        changes = []
        fresh = []
        for i, r in enumerate(rows):
            hit = links.get(i)
            if hit is not None:
                issue_id, layer = hit.issue, hit.layer
            elif r.issue_id in earlier:
                fresh.append(i)
                continue
            else:
                issue_id, layer = r.issue_id, "new"
            now[i] = issue_id
            if issue_id != r.issue_id or layer != r.link:
                changes.append(dict(occ=r.id, issue=issue_id, layer=layer))
        new_ids = new_issues(conn, [dict(product_id=pid, tool=tool, rule_id=rows[i].rule_id,
                                          path=rows[i].path, fingerprint=rows[i].fingerprint,
                                          first_release_id=later.release_id) for i in fresh])
        for i, issue_id in zip(fresh, new_ids, strict=True):
            now[i] = issue_id
            changes.append(dict(occ=rows[i].id, issue=issue_id, layer="new"))
        if changes:
            conn.execute(
                occurrences.update().where(occurrences.c.id == bindparam("occ"))
                .values(issue_id=bindparam("issue"), link=bindparam("layer")), changes)
        return now

    @staticmethod
    def _stored_files(conn: Connection, sid: int) -> Iterator[Sequence[Any]]:
        """A stored scan's occurrences in chunks of whole files, in path order.

        Each row holds ``CANDIDATE_COLUMNS`` and ``link``; a file's rows come in id (log)
        order.
        """
        group: list[str] = []
        size = 0
        by_path = conn.execute(select(occurrences.c.path, func.count())
                               .where(occurrences.c.scan_id == sid)
                               .group_by(occurrences.c.path).order_by(occurrences.c.path)).all()
        for n, (path, count) in enumerate(by_path, 1):
            group.append(path)
            size += count
            if size < CHUNK_ROWS and n < len(by_path):
                continue
            # The files between the first and the last, in the database's own order.
            rows = conn.execute(select(*CANDIDATE_COLUMNS, occurrences.c.link).where(
                occurrences.c.scan_id == sid,
                occurrences.c.path.between(group[0], group[-1]))
                .order_by(occurrences.c.path, occurrences.c.id)).all()
            yield rows
            group, size = [], 0

    @staticmethod
    def _stored_identities(conn: Connection, sid: int) -> Iterator[Identity]:
        """Each stored occurrence's ``fingerprints`` values, in id (log) order.

        Placed by occurrence id, as ``_relink_scan`` places its rows.
        """
        for r in conn.execute(select(*CANDIDATE_COLUMNS).where(
                occurrences.c.scan_id == sid,
                occurrences.c.tool_fingerprints.like('%"fingerprints:%'))
                .order_by(occurrences.c.id)):
            yield stored_place(r), candidate(r, r.id).tool_fingerprints
