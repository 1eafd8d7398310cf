"""Decisions as code: the YAML file of triage decisions, reviewed in pull requests.

``triage decisions export`` writes each decided issue's current decision with the issue's
identity (tool, rule, path, fingerprint), so the file still points at the right issue in
another copy of the database; ``import`` reads it back. Every problem is a
``BadInputError`` naming the file and the place (``decisions[3].action``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import yaml

from triage.errors import BadInputError, place
from triage.model import Action, Decision

SCHEMA_VERSION = 1
_KEYS = {"issue", "tool", "rule", "path", "fingerprint", "action", "reason", "by", "at",
         "expires", "target_release"}


@dataclass(frozen=True, slots=True)
class DecisionEntry:
    """One entry of a decisions file: a decision and the identity of its issue."""

    decision: Decision
    """The decision (its ``issue_id`` as written in the file)."""
    tool: str
    """Scanner of the issue."""
    rule: str
    """Rule id of the issue."""
    path: str
    """File of the issue when it was first seen."""
    fingerprint: str
    """Content fingerprint of the issue."""


def dump_decisions(product: str, entries: list[DecisionEntry]) -> str:
    """Render a decisions file (sorted by issue id, so diffs stay small)."""
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "product": product,
        "decisions": [
            {
                "issue": e.decision.issue_id,
                "tool": e.tool,
                "rule": e.rule,
                "path": e.path,
                "fingerprint": e.fingerprint,
                "action": e.decision.action.value,
                "reason": e.decision.reason,
                "by": e.decision.by,
                "at": e.decision.at.isoformat(),
                "expires": e.decision.expires.isoformat() if e.decision.expires else None,
                "target_release": e.decision.target_release or None,
            }
            for e in sorted(entries, key=lambda x: x.decision.issue_id)
        ],
    }
    header = (f"# triage decisions for {product} (DM-3, DM-4): edit in a pull request, then\n"
              "# `triage decisions import` this file. One entry per decided issue.\n")
    return header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)


def parse_decisions(text: str, name: str) -> tuple[str, list[DecisionEntry]]:
    """Read a decisions file; return (product, entries)."""
    try:
        doc = yaml.safe_load(text)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark
        where = f"line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise BadInputError(place(name, where, f"YAML error: {e.problem}")) from e
    except yaml.YAMLError as e:
        raise BadInputError(place(name, "", f"YAML error: {e}")) from e
    except ValueError as e:  # an unquoted date YAML cannot build, such as 2027-01-32
        raise BadInputError(place(name, "", f"bad value: {e}"),
                            hint="write dates as YYYY-MM-DD of a real day") from e
    if not isinstance(doc, dict):
        raise BadInputError(place(name, "$", "expected a mapping with 'decisions'"))
    if doc.get("schema_version") != SCHEMA_VERSION:
        raise BadInputError(place(name, "schema_version",
                                  f"expected {SCHEMA_VERSION}, got {doc.get('schema_version')!r}"))
    product = doc.get("product")
    if not isinstance(product, str) or not product:
        raise BadInputError(place(name, "product", "expected the product name"))
    items = doc.get("decisions")
    if not isinstance(items, list):
        raise BadInputError(place(name, "decisions", "expected a list"))
    return product, [_entry(item, name, f"decisions[{i}]") for i, item in enumerate(items)]


def _entry(item: Any, name: str, where: str) -> DecisionEntry:
    if not isinstance(item, dict):
        raise BadInputError(place(name, where, "expected a mapping"))
    unknown = sorted(set(item) - _KEYS)
    if unknown:
        raise BadInputError(place(name, f"{where}.{unknown[0]}", "unknown key"))

    def text(key: str, required: bool = True) -> str:
        value = item.get(key)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or (required and not value.strip()):
            raise BadInputError(place(name, f"{where}.{key}", "expected a non-empty string"))
        return value

    issue = item.get("issue")
    if not isinstance(issue, int) or isinstance(issue, bool) or issue < 1:
        raise BadInputError(place(name, f"{where}.issue", "expected a positive issue id"))
    try:
        action = Action(str(item.get("action")))
    except ValueError as e:
        allowed = ", ".join(a.value for a in Action)
        raise BadInputError(place(name, f"{where}.action",
                                  f"unknown action {item.get('action')!r} (one of {allowed})")
                            ) from e
    at = item.get("at")
    try:
        when = at if isinstance(at, dt.datetime) else dt.datetime.fromisoformat(str(at))
    except ValueError as e:
        raise BadInputError(place(name, f"{where}.at", f"not an ISO date-time: {at!r}")) from e
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    expires_raw = item.get("expires")
    try:
        expires = (expires_raw if isinstance(expires_raw, dt.date) or expires_raw is None
                   else dt.date.fromisoformat(str(expires_raw)))
    except ValueError as e:
        raise BadInputError(place(name, f"{where}.expires",
                                  f"not an ISO date: {expires_raw!r}")) from e
    if action == Action.ACCEPTED_RISK and expires is None:
        raise BadInputError(place(name, f"{where}.expires", "an accepted risk needs an expiry"))
    target = text("target_release", required=False)
    if action == Action.DEFERRED and not target:
        raise BadInputError(place(name, f"{where}.target_release",
                                  "a deferral needs a target release"))
    return DecisionEntry(
        decision=Decision(issue_id=issue, action=action, reason=text("reason"), by=text("by"),
                          at=when, expires=expires, target_release=target),
        tool=text("tool"), rule=text("rule"), path=text("path", required=False),
        fingerprint=text("fingerprint"),
    )
