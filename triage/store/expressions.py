"""SQL that several of the store's modules share.

How many values an ``IN`` list carries and how rows go in bulk; an issue version (what the
trend counts of an issue), which decisions count as of a release, what the severity policy
and the decisions make of an occurrence; and a release row's date.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import and_, case, insert, not_, or_, select, true
from sqlalchemy.engine import Connection

from triage.model import Action, Release, Severity, Suppression
from triage.store.schema import decisions, occurrences, releases

IN_LIST = 2000
"""Most values one SQL ``IN`` list carries (SQLite allows 32766 parameters)."""


def in_parts(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    """``values`` in parts of at most ``IN_LIST``, one ``IN`` list each."""
    for i in range(0, len(values), IN_LIST):
        yield values[i:i + IN_LIST]


def bulk_insert(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    """Insert many rows of the same columns with the driver's executemany.

    The statement is compiled once for the dialect; the rows go to the driver as they are
    (plain str, int, float, bool and None), skipping per-row parameter processing.
    """
    compiled = insert(table).compile(dialect=conn.dialect, column_keys=list(rows[0]))
    if compiled.positional:
        pick = operator.itemgetter(*(compiled.positiontup or []))
        conn.exec_driver_sql(str(compiled), [pick(r) for r in rows])
    else:
        conn.exec_driver_sql(str(compiled), rows)  # type: ignore[arg-type]


VERSION_COLUMNS = (
    occurrences.c.issue_id, occurrences.c.severity, occurrences.c.kind,
    occurrences.c.suppression, occurrences.c.in_scope, occurrences.c.tier,
    occurrences.c.component,
)
"""An issue version: the issue with the columns the trend counts."""


def version(sid: int) -> Any:
    """The issue versions of one scan."""
    return select(*VERSION_COLUMNS).where(occurrences.c.scan_id == sid)


def taken_by(rel: Release | None) -> Any:
    """SQL condition: the decision was taken on ``rel`` or before it (or on no release)."""
    if rel is None:
        return true()
    return or_(decisions.c.release_id.is_(None), releases.c.seq <= rel.seq)


def released_on(row: Any) -> dt.date:
    """A release row's date: ``released_on``, else the day it was first stored.

    Releases stored before revision 0004 have no ``released_on``.
    """
    return row.released_on or row.created_at.date()


def defect(c: Any) -> Any:
    """SQL: a defect the policy judges (kind fail, not suppressed, in scope)."""
    return and_(c.kind == "fail", c.suppression != Suppression.SUPPRESSED.value,
                c.in_scope.is_(True))


def plain_must(c: Any, minimum: Severity) -> Any:
    """SQL: the severity policy's must-fix verdict before triage decisions."""
    return and_(defect(c), c.severity >= int(minimum))


def live_off(dec: Any, target: Any, here: Any, today: dt.date) -> Any:
    """SQL: the decision takes the issue off the list in release ``here``.

    It does as a false positive, an unexpired accepted risk, or a deferral whose target
    release has not come.
    """
    return or_(
        dec.c.action == Action.FALSE_POSITIVE.value,
        and_(dec.c.action == Action.ACCEPTED_RISK.value,
             or_(dec.c.expires.is_(None), dec.c.expires >= today)),
        and_(dec.c.action == Action.DEFERRED.value,
             or_(target.c.seq.is_(None), target.c.seq > here.c.seq)),
    )


def must_expr(c: Any, dec: Any, target: Any, here: Any, minimum: Severity,
               today: dt.date) -> Any:
    """SQL, 1 or 0: must fix after the decision.

    As ``scoring.decisions.apply_decision`` rules: a confirmed issue always, one a live
    decision took off never.
    """
    return case((dec.c.action == Action.CONFIRMED.value, 1),
                (and_(dec.c.id.is_not(None), live_off(dec, target, here, today)), 0),
                (plain_must(c, minimum), 1), else_=0)


def hist_expr(c: Any, dec: Any, target: Any, here: Any, threshold: Severity,
               today: dt.date) -> Any:
    """SQL, 1 or 0: counted at ``threshold`` by ``severity_histogram``."""
    severity = case((dec.c.action == Action.CONFIRMED.value, int(Severity.CRITICAL)),
                    else_=c.severity)
    return case((and_(or_(dec.c.action == Action.CONFIRMED.value, defect(c)),
                      or_(dec.c.id.is_(None), not_(live_off(dec, target, here, today))),
                      severity >= int(threshold)), 1), else_=0)
