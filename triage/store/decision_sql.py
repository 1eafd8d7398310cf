"""The decisions of ``SqlStore`` (DM-3, DM-4): an append-only history per issue.

``DecisionRecords`` is a part of ``SqlStore`` (its base). A decision is appended, never
changed; the latest one taken on a release, or before it, is the one that holds there.
"""

from __future__ import annotations

from sqlalchemy import func, insert, select

from triage.errors import BadInputError
from triage.model import Decision, Release
from triage.store import expressions as sqlx
from triage.store import rowcodec
from triage.store.part import StorePart
from triage.store.schema import decisions, issues, releases


class DecisionRecords(StorePart):
    """The decisions of ``SqlStore``."""

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
