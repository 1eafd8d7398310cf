"""Occurrence rows as the store writes them, and stored rows read back as records.

A finding becomes one row (``occurrence_values``; its identity keys are added where it is
stored, ``with_keys``); reasons, exposure, CWE ids and tool fingerprints are encoded once
per distinct value. Read back, a row becomes a ``ScoredFinding``, an ``IssueRow`` or a
``Decision`` again. No database here: a reader process makes rows too.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from typing import Any

import orjson

from triage.model import (
    Action,
    Decision,
    Exposure,
    Finding,
    IssueRow,
    Location,
    Provenance,
    Reason,
    ScoredFinding,
    Severity,
    Status,
    Suppression,
    Tier,
    Tool,
)
from triage.textkeys import content_fingerprints, mask_message, text_key_of


@functools.lru_cache(maxsize=4096)
def exposure_json(e: Exposure, function: str) -> str:
    """The exposure as stored; a scan has few distinct ones, so each is written once."""
    return json.dumps(dict(
        asset_value=e.asset_value, unauth=e.unauthenticated_from_untrusted,
        reachable=e.reachable,
        out_of_scope=e.out_of_scope, justification=e.justification,
        glob=e.matched_glob, reasons=list(e.reasons),
        # The enclosing function rides here rather than in a column of its own.
        function=function, function_glob=e.matched_function_glob,
    ))


def dumps(value: Any) -> str:
    """JSON text of lists of strings, by orjson.

    A lone surrogate (a SARIF string may hold one as an escape) orjson refuses; the standard
    encoder escapes it.
    """
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)


@functools.lru_cache(maxsize=4096)
def explain_json(explain: tuple[Reason, ...]) -> str:
    """The reasons as stored: ``[[step, text], ...]``.

    Findings of one rule and component share their reasons: one text for them all, which
    a reader process's pipe then carries once per chunk.
    """
    return dumps([[r.step, r.text] for r in explain])


@functools.lru_cache(maxsize=1024)
def cwe_text(cwe_ids: tuple[int, ...]) -> str:
    """CWE ids as stored: ``787,125``."""
    return ",".join(str(c) for c in cwe_ids)


def with_keys(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add each row's identity keys (``textkeys``), made of its snippet and message.

    Made here, where the rows are stored, rather than with the rows: a reader process
    makes those, and has the larger share of the work.
    """
    for r in rows:
        r["text_key"] = text_key_of(r["snippet"], r["message"])
        r["message_key"] = mask_message(r["message"])
    return rows


def with_fingerprints(tool: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give rows made without one (whole files, after ``with_keys``) our content fingerprint.

    A log read as it streams leaves the fingerprint to the store, which has the rows'
    ``text_key`` at hand, as it leaves the keys: each flagged text is normalised once, and
    a reader process's share of the work comes out about even with the store's.
    """
    prints = content_fingerprints([
        (tool, r["rule_id"], r["path"], r["text_key"], r["start_line"] or 0,
         r["start_column"] or 0, r["run_index"], r["result_index"]) for r in rows])
    for r, digest in zip(rows, prints, strict=True):
        r["fingerprint"] = digest
    return rows


def occurrence_values(s: ScoredFinding) -> dict[str, Any]:
    """The occurrence row of a scored finding, but its identity keys (``with_keys``)."""
    f, e, loc, prov = s.finding, s.exposure, s.finding.location, s.finding.provenance
    # A dict display, not dict(**kwargs): a row per finding, and the keyword form builds
    # every row twice.
    return {
        "rule_id": f.rule_id, "rule_name": f.rule_name, "path": loc.path,
        "start_line": loc.start_line, "end_line": loc.end_line,
        "start_column": loc.start_column, "message": f.message, "snippet": loc.snippet,
        "level": f.level, "kind": f.kind, "suppression": f.suppression.value,
        "native_severity": f.native_severity, "native_confidence": f.native_confidence,
        "security_severity": f.security_severity, "cwe": cwe_text(f.cwe_ids),
        "base_severity": int(s.base_severity), "severity": int(s.severity),
        "component": e.component_id, "component_kind": e.component_kind,
        "tier": int(e.tier), "in_scope": not e.out_of_scope,
        "exposure": e.exposure, "risk_score": s.risk_score,
        "explain": explain_json(s.explain),
        "exposure_json": exposure_json(e, loc.function),
        "sarif_file": prov.file, "sarif_sha256": prov.sha256, "run_index": prov.run,
        "result_index": prov.result, "fingerprint": f.fingerprint,
        "tool_fingerprints": dumps(f.tool_fingerprints) if f.tool_fingerprints else "[]",
    }


def issue_row(tool: str, iid: int, status: Status, r: Any, p: Any, c: Any) -> IssueRow:
    """A compared issue: ``r`` its row to show, ``p`` and ``c`` its rows in the two scans."""
    return IssueRow(
        issue_id=iid, status=status, tool=tool, rule_id=r.rule_id, path=r.path,
        line=r.start_line, severity=Severity(r.severity), component=r.component,
        link=(c.link if c is not None else ""), message=r.message,
        from_prov=prov(p) if p is not None else None,
        to_prov=prov(c) if c is not None else None,
    )


def scored(r: Any, tool: Tool) -> ScoredFinding:
    """A stored occurrence, with ``explain_body`` and ``exposure_body`` from ``explanation``."""
    ex = json.loads(r.exposure_json or r.exposure_body)
    finding = Finding(
        tool=tool, rule_id=r.rule_id, rule_name=r.rule_name, message=r.message,
        location=Location(r.path, r.start_line, r.end_line, r.start_column, r.snippet,
                          ex.get("function", "")),
        level=r.level, kind=r.kind,
        provenance=prov(r),
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
        explain=tuple(Reason(a, b) for a, b in json.loads(r.explain or r.explain_body)),
    )


def decision_fields(d: Decision) -> dict[str, Any]:
    """A decision's fields by name, as its row stores them."""
    return {f: getattr(d, f) for f in Decision.__dataclass_fields__}


def decision(r: Any) -> Decision:
    """A stored decision row as a record (its time in UTC)."""
    at = r.decided_at if r.decided_at.tzinfo else r.decided_at.replace(tzinfo=dt.UTC)
    return Decision(issue_id=r.issue_id, action=Action(r.action), reason=r.reason,
                    by=r.decided_by, at=at, expires=r.expires,
                    target_release=r.target_release or "", decision_id=r.id)


def prov(r: Any) -> Provenance:
    """Where in which SARIF log a stored occurrence came from."""
    return Provenance(r.sarif_file, r.run_index, r.result_index, r.sarif_sha256)


def loads(text: str) -> Any:
    """Parse JSON text the store wrote (``dumps``, or ``json.dumps`` in earlier versions)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
