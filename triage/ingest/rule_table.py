"""How a SARIF result's rule, level, message, rank and security severity are found.

The rule through ``ruleIndex``, ``rule.index``, ``ruleId``, ``rule.id`` and
``rule.toolComponent`` (SARIF 3.52); the level chain; ``message.id`` with the rule's
``messageStrings``.
"""

from __future__ import annotations

import re
from typing import Any

from triage.ingest import taxonomy
from triage.ingest.reader import INT_LIMIT, Reader, type_name

LEVELS = ("error", "warning", "note", "none")
LEVEL_WORDS = frozenset(LEVELS)


class RuleTable:
    """Rules of the driver and the extensions, by index and by id (SARIF 3.52)."""

    def __init__(self, rd: Reader, components: list[dict[str, Any]], where: str) -> None:
        self.rd = rd
        self.by_component: list[list[dict[str, Any]]] = []
        self.by_id: dict[str, dict[str, Any]] = {}
        self._where: dict[int, str] = {}
        self._found: dict[tuple[str, int | None, int], tuple[dict[str, Any] | None, str]] = {}
        for c_index, comp in enumerate(components):
            cwhere = f"{where}.tool.driver" if c_index == 0 else (
                f"{where}.tool.extensions[{c_index - 1}]"
            )
            rules = []
            for r_index, rule in enumerate(rd.opt_arr(comp, "rules", cwhere)):
                rule = rd.obj(rule, f"{cwhere}.rules[{r_index}]")
                self._where[id(rule)] = f"{cwhere}.rules[{r_index}]"
                rules.append(rule)
                rid = rule.get("id")
                if isinstance(rid, str):
                    self.by_id.setdefault(rid, rule)
            self.by_component.append(rules)

    def where(self, rule: dict[str, Any]) -> str:
        """JSON path of a rule of this table, for error messages."""
        return self._where.get(id(rule), "rule")

    def resolve(self, result: dict[str, Any], where: str) -> tuple[dict[str, Any] | None, str]:
        """Return (rule object or None, rule id) for a result (SARIF 3.27.5-3.27.7)."""
        rd = self.rd
        rule_id, index = result.get("ruleId"), result.get("ruleIndex")
        if type(rule_id) is not str:
            rule_id = rd.opt_str(result, "ruleId", where)
        if index is not None and not (type(index) is int and -1 <= index < INT_LIMIT):
            index = _index(rd, result, "ruleIndex", where)
        component = 0
        ref = result.get("rule")
        if ref is not None:
            ref = rd.obj(ref, f"{where}.rule")
            rule_id = rule_id or rd.opt_str(ref, "id", f"{where}.rule")
            if index is None:
                index = _index(rd, ref, "index", f"{where}.rule")
            tc = ref.get("toolComponent")
            if tc is not None:
                tc = rd.obj(tc, f"{where}.rule.toolComponent")
                tc_index = rd.opt_int(tc, "index", f"{where}.rule.toolComponent")
                # SARIF 3.54.6: toolComponent.index points into tool.extensions; -1 (the
                # default) or no index means the driver.
                component = 1 + tc_index if tc_index is not None and tc_index >= 0 else 0
        # Results name few distinct rules: each (id, index, component) is looked up once.
        key = (rule_id, index, component)
        found = self._found.get(key)
        if found is None:
            found = self._found[key] = self._lookup(rule_id, index, component)
        return found

    def _lookup(
        self, rule_id: str, index: int | None, component: int
    ) -> tuple[dict[str, Any] | None, str]:
        rule = None
        if index is not None and index >= 0 and component < len(self.by_component):
            rules = self.by_component[component]
            if index < len(rules):
                rule = rules[index]
        if rule is None and rule_id:
            rule = self.by_id.get(rule_id)
            if rule is None and "/" in rule_id:
                # SARIF 3.27.5: hierarchical ids such as "CA5350/md5" fall back to the parent.
                rule = self.by_id.get(rule_id.split("/", 1)[0])
        if not rule_id and rule is not None:
            rule_id = str(rule.get("id") or "")
        return rule, rule_id or "(no rule)"


def level_overrides(rd: Reader, run: dict[str, Any], where: str) -> dict[str, str]:
    """Rule id → level from invocations' ruleConfigurationOverrides (SARIF 3.20.5)."""
    out: dict[str, str] = {}
    for i, inv in enumerate(rd.opt_arr(run, "invocations", where)):
        inv = rd.obj(inv, f"{where}.invocations[{i}]")
        for ov in rd.opt_arr(inv, "ruleConfigurationOverrides", f"{where}.invocations[{i}]"):
            if not isinstance(ov, dict):
                continue
            desc = ov.get("descriptor") or {}
            conf = ov.get("configuration") or {}
            if isinstance(desc, dict) and isinstance(conf, dict) and conf.get("level") in LEVELS:
                rid = desc.get("id")
                if isinstance(rid, str):
                    out[rid] = conf["level"]
    return out


def effective_level(
    rd: Reader,
    result: dict[str, Any],
    rule: dict[str, Any] | None,
    rule_id: str,
    overrides: dict[str, str],
    where: str,
    kind: str = "fail",
) -> str:
    """The result's level (SARIF 3.27.10).

    Its own ``level``; else ``none`` for a ``kind`` other than ``fail``; else the
    invocation's override, the rule's ``defaultConfiguration.level``, ``warning``.
    """
    level = result.get("level")
    if level is not None:
        if type(level) is not str or level not in LEVEL_WORDS:
            level = rd.opt_word(result, "level", where, LEVEL_WORDS)
        if level:
            return level
    if kind != "fail":
        # SARIF 3.27.10: when kind is not "fail", an absent level defaults to "none".
        return "none"
    if rule_id in overrides:
        return overrides[rule_id]
    if rule:
        conf = rule.get("defaultConfiguration")
        if isinstance(conf, dict) and conf.get("level") in LEVELS:
            return str(conf["level"])
    return "warning"


def message_text(rd: Reader, result: dict[str, Any], rule: dict[str, Any] | None,
                 where: str) -> str:
    """The result's message: its text, else ``message.id`` through the rule's strings."""
    # The common case first: the result's own text.
    msg = result.get("message")
    if type(msg) is dict:
        text = msg.get("text")
        if type(text) is str and text:
            return text
    msg = rd.opt_obj(result, "message", where)
    text = rd.opt_str(msg, "text", f"{where}.message")
    if text:
        return text
    # SARIF 3.11.7: message.id + arguments through the rule's messageStrings.
    mid = rd.opt_str(msg, "id", f"{where}.message")
    strings = (rule or {}).get("messageStrings")
    entry = strings.get(mid) if isinstance(strings, dict) else None
    template = entry.get("text") if isinstance(entry, dict) else None
    if not isinstance(template, str):
        return ""
    args = [str(a) for a in rd.opt_arr(msg, "arguments", f"{where}.message")]
    return re.sub(
        r"\{(\d+)\}", lambda m: args[int(m[1])] if int(m[1]) < len(args) else m[0], template
    )


def rank_of(
    rd: Reader, result: dict[str, Any], rule: dict[str, Any] | None, where: str,
    rules: taxonomy.RuleWhere,
) -> float | None:
    """``rank`` of the result, else of the rule's defaultConfiguration (SARIF 3.27.28, 3.50.6).

    0.0-100.0, with -1 (the default) meaning "no rank". ``rules`` names the rule's JSON path.
    """
    value, from_rule = result.get("rank"), False
    if value is None and rule:
        conf = rule.get("defaultConfiguration")
        if isinstance(conf, dict):
            value, from_rule = conf.get("rank"), True
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        what = f"expected a number, got {type_name(value)}"
    elif -1.0 <= value <= 100.0:
        return None if value == -1 else float(value)
    else:
        what = f"rank {value!r} outside -1.0 .. 100.0"
    owner = f"{rules.where(rule)}.defaultConfiguration" if from_rule and rule else where
    raise rd.fail(f"{owner}.rank", what)


def security_severity_of(props: dict[str, Any], rule_props: dict[str, Any]) -> float | None:
    """The result's, else the rule's ``security-severity``: a CVSS score, 0.0-10.0.

    A value that is no number in that range (``"high"``, ``true``, ``NaN``, ``1e400``) is
    not a score; the next source, or the native severity, decides.
    """
    for source in (props, rule_props):
        value = source.get("security-severity")
        if value is None or isinstance(value, bool):
            continue
        try:
            score = float(value)
        except (TypeError, ValueError, OverflowError):
            continue
        if 0.0 <= score <= 10.0:
            return score
    return None


def _index(rd: Reader, parent: dict[str, Any], key: str, where: str) -> int | None:
    """An array index: an integer from -1, which means none (SARIF 3.27.6, 3.52.5)."""
    return rd.opt_int_from(parent, key, where, -1, "an index is -1 (none) or more")
