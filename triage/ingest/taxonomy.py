"""CWE ids of a result: rule tags, ``properties.cwe``, ``result.taxa`` and rule relationships."""

from __future__ import annotations

import re
from typing import Any, Protocol

from triage.ingest.reader import Reader

_CWE_TAG = re.compile(r"(?:^|/)cwe[-_:/ ]?(\d+)\b", re.IGNORECASE)


class RuleWhere(Protocol):
    """Anything that tells a rule's JSON path (the reader's rule table)."""

    def where(self, rule: dict[str, Any]) -> str:
        """JSON path of ``rule``."""
        ...


def cwes(
    tags: tuple[str, ...], rule_props: dict[str, Any], taxa: tuple[int, ...] = ()
) -> tuple[int, ...]:
    """CWE ids of a result, in order, without repeats.

    From rule tags (``external/cwe/cwe-787``, ``CWE-78: ...``), ``properties.cwe``, then the
    ids already found in taxa and relationships.
    """
    found: list[int] = []
    extra = rule_props.get("cwe")
    candidates = list(tags) + ([str(x) for x in extra] if isinstance(extra, list) else (
        [str(extra)] if extra else []
    ))
    for tag in candidates:
        m = _CWE_TAG.search(tag)
        if m and int(m[1]) not in found:
            found.append(int(m[1]))
    found.extend(c for c in taxa if c not in found)
    return tuple(found)


_CWE_TAXON = re.compile(r"^\s*(?:cwe[-_: ]?)?(\d+)\s*$", re.IGNORECASE)


def cwe_taxonomies(rd: Reader, run: dict[str, Any], where: str) -> tuple[set[int], set[str]]:
    """Indexes and guids of the run's taxonomies named CWE (SARIF 3.14.8, 3.19.3)."""
    indexes: set[int] = set()
    guids: set[str] = set()
    for i, tax in enumerate(rd.opt_arr(run, "taxonomies", where)):
        tax = rd.obj(tax, f"{where}.taxonomies[{i}]")
        name = tax.get("name")
        if isinstance(name, str) and name.strip().upper() == "CWE":
            indexes.add(i)
            if isinstance(tax.get("guid"), str):
                guids.add(tax["guid"].lower())
    return indexes, guids


def taxa_cwes(
    rd: Reader,
    result: dict[str, Any],
    rule: dict[str, Any] | None,
    rules: RuleWhere,
    where: str,
    taxonomies: tuple[set[int], set[str]],
) -> tuple[int, ...]:
    """CWE ids from result.taxa (SARIF 3.27.8) and the rule's relationships (SARIF 3.49.15).

    A reference counts when its toolComponent names, indexes or has the guid of a CWE
    taxonomy; its id is ``"787"`` or ``"CWE-787"``.
    """
    refs = [
        (ref, f"{where}.taxa[{i}]")
        for i, ref in enumerate(rd.opt_arr(result, "taxa", where))
    ]
    if rule:
        rwhere = rules.where(rule)
        for i, rel in enumerate(rd.opt_arr(rule, "relationships", rwhere)):
            rel = rd.obj(rel, f"{rwhere}.relationships[{i}]")
            refs.append((rel.get("target"), f"{rwhere}.relationships[{i}].target"))
    indexes, guids = taxonomies
    found: list[int] = []
    for ref, rwhere in refs:
        ref = rd.obj(ref, rwhere)
        tc = ref.get("toolComponent")
        if not isinstance(tc, dict):
            continue
        name, index, guid = tc.get("name"), tc.get("index"), tc.get("guid")
        is_cwe = (
            (isinstance(name, str) and name.strip().upper() == "CWE")
            or (isinstance(index, int) and index in indexes)
            or (isinstance(guid, str) and guid.lower() in guids)
        )
        rid = ref.get("id")
        # SARIF 3.52.3 makes id a string; flawfinder before 2.0.16 wrote a number.
        rid = str(rid) if isinstance(rid, int) and not isinstance(rid, bool) else rid
        m = _CWE_TAXON.match(rid) if is_cwe and isinstance(rid, str) else None
        if m and int(m[1]) not in found:
            found.append(int(m[1]))
    return tuple(found)
