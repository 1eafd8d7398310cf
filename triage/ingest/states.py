"""A result's suppression state (SARIF 3.35) and its tool fingerprints (SARIF 3.27.16-17)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from triage.ingest.reader import Reader
from triage.model import Suppression

# Fingerprint values that say "no fingerprint" (semgrep's own is in its adapter).
_PLACEHOLDERS = frozenset({"", "0"})  # SARIF 3.27.16


def suppression(rd: Reader, result: dict[str, Any], where: str, now: dt.datetime) -> Suppression:
    """The result's suppression state at ``now`` (SARIF 3.27.23, 3.35).

    SARIF 3.35.3: a suppression's ``status`` is ``accepted`` (the default), ``underReview``
    or ``rejected``. A result is suppressed only when every suppression is accepted and at
    least one of them has not expired: any ``rejected`` makes it active, any ``underReview``
    (and no rejection) makes it pending. SARIF 2.1.0 has no expiry member; the SDK writes
    ``properties.expiryUtc`` (a top-level ``expiryUtc`` is read too), and an accepted
    suppression past it no longer holds.
    """
    if result.get("suppressions") is None:
        return Suppression.ACTIVE
    states = []
    for i, sup in enumerate(rd.opt_arr(result, "suppressions", where)):
        swhere = f"{where}.suppressions[{i}]"
        sup = rd.obj(sup, swhere)
        status = rd.opt_str(sup, "status", swhere) or "accepted"
        if status not in ("accepted", "underReview", "rejected"):
            raise rd.fail(f"{swhere}.status", f"unknown suppression status {status!r}")
        if status == "accepted":
            expiry = expiry_of(rd, sup, swhere)
            if expiry is not None and expiry <= now:
                status = "expired"
        states.append(status)
    if not states or "rejected" in states:
        return Suppression.ACTIVE
    if "underReview" in states:
        return Suppression.PENDING
    return Suppression.SUPPRESSED if "accepted" in states else Suppression.ACTIVE


def expiry_of(rd: Reader, sup: dict[str, Any], where: str) -> dt.datetime | None:
    """A suppression's ``expiryUtc`` (top level, else in its property bag), as UTC."""
    owner, owner_where = sup, where
    if "expiryUtc" not in sup:
        owner, owner_where = rd.opt_obj(sup, "properties", where), f"{where}.properties"
    text = rd.opt_str(owner, "expiryUtc", owner_where)
    if not text:
        return None
    try:
        # SARIF 3.9: date/time values are ISO 8601 in UTC ("2022-09-08T19:22:23.438465Z").
        when = dt.datetime.fromisoformat(text)
    except ValueError as e:
        what = f"not an ISO 8601 date/time: {text[:40]!r}"
        raise rd.fail(f"{owner_where}.expiryUtc", what) from e
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when


def tool_fingerprints(
    rd: Reader, result: dict[str, Any], where: str
) -> tuple[tuple[str, str], ...]:
    """``fingerprints`` (SARIF 3.27.16) and ``partialFingerprints`` (3.27.17), key-prefixed.

    A ``fingerprints:`` pair is an identity; a ``partialFingerprints:`` pair is only an input
    to one (results may share it, e.g. a secret's hash), so it is kept as data whatever its
    value and ``Finding.identity_fingerprints`` leaves it out.
    """
    whole, partial = result.get("fingerprints"), result.get("partialFingerprints")
    if whole is None and partial is None:
        return ()
    pairs = []
    for key, values in (("fingerprints", whole), ("partialFingerprints", partial)):
        if values is None:
            continue
        if type(values) is not dict:
            values = rd.opt_obj(result, key, where)  # names the place of the wrong type
        for k, v in sorted(values.items()):
            if not isinstance(v, str):
                continue
            if key == "fingerprints" and v.strip().lower() in _PLACEHOLDERS:
                continue
            pairs.append((f"{key}:{k}", v))
    return tuple(pairs)
