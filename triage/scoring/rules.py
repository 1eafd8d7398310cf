"""Load the rules data (severity maps, SL policy) shipped in ``rules/`` or a user directory.

The shipped files live in the installed package (``triage.rules``), so the tool works from
any working directory. A user directory given with ``--rules DIR`` may hold its own
``severity.yaml`` (its overrides are tried first) and ``policy.yaml`` (replaces the shipped
one). Any problem is a ``ConfigError`` (exit 4) naming the file and key.
"""

from __future__ import annotations

import fnmatch
import functools
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from triage.errors import ConfigError
from triage.model import Capability, SecurityLevel, Severity
from triage.scoring.capability import CapabilityTable, parse_capability, parse_table

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class Override:
    """A base-severity override for (tool, rule id) patterns."""

    tool: str
    """fnmatch pattern on the tool name."""
    rule: str
    """fnmatch pattern on the rule id."""
    severity: Severity
    """Severity to use."""
    reason: str
    """Why, shown in explanations."""
    source: str
    """File it came from."""

    def matches(self, tool: str, rule_id: str) -> bool:
        """True when both patterns match."""
        return fnmatch.fnmatchcase(tool, self.tool) and fnmatch.fnmatchcase(rule_id, self.rule)


@dataclass(frozen=True, slots=True)
class ContextRules:
    """How the threat model moves a severity (DESIGN.md §7 contextual severity)."""

    raise_in_critical_tier: int = 1
    """Bands up in a critical-tier component."""
    raise_in_high_tier: int = 1
    """Bands up in a high-tier component."""
    high_tier_needs_unauthenticated_reach: bool = True
    """Only raise in a high tier reachable unauthenticated from an untrusted zone."""
    lower_when_unreachable: int = 1
    """Bands down when no entry point reaches the component."""
    test_code: Severity = Severity.INFO
    """Rating of test code."""
    out_of_scope: Severity = Severity.INFO
    """Rating of out-of-scope components."""


_OVERRIDES: dict[int, tuple[tuple[Override, ...], dict[tuple[str, str], Override | None]]] = {}
"""Per overrides tuple (kept alive here, so its id is not reused): matches found so far."""


@dataclass(frozen=True, slots=True)
class Rules:
    """All rules data in effect."""

    levels: tuple[tuple[str, Severity], ...]
    """SARIF level → severity."""
    bands: tuple[tuple[float, Severity], ...]
    """security-severity lower bounds, highest first."""
    native: tuple[tuple[str, str, Severity], ...]
    """(tool, native severity word, severity)."""
    overrides: tuple[Override, ...]
    """Rule overrides, user's first."""
    thresholds: tuple[tuple[SecurityLevel, Severity, str], ...]
    """Per SL: lowest contextual severity that must be fixed, and the policy wording."""
    sl_definitions: tuple[tuple[SecurityLevel, str], ...]
    """Quoted SL definitions."""
    below_threshold: str
    """Disposition text for below-threshold findings; ``{sl}`` is replaced."""
    context: ContextRules
    """Contextual-severity rules."""
    sources: tuple[str, ...]
    """Files the rules came from."""
    capability: CapabilityTable | None = None
    """CWE → attacker capability table (``cwe_capability.yaml``)."""
    capability_wording: tuple[tuple[SecurityLevel, str], ...] = ()
    """Per SL: the capability-mode policy wording."""

    def capability_policy(self, sl: SecurityLevel) -> tuple[CapabilityTable, str]:
        """(the CWE table, the capability-mode wording at ``sl``)."""
        if self.capability is None:
            raise ConfigError("cwe_capability.yaml: no CWE capability table loaded")
        return self.capability, dict(self.capability_wording).get(sl, "")

    def override_for(self, tool: str, rule_id: str) -> Override | None:
        """First override matching (tool, rule id)."""
        # Patterns are tried once per (tool, rule id): a scan repeats its rules many times.
        held, known = _OVERRIDES.get(id(self.overrides), (None, {}))
        if held is not self.overrides:
            known = {}
            _OVERRIDES[id(self.overrides)] = (self.overrides, known)
        key = (tool, rule_id)
        if key not in known:
            known[key] = next((o for o in self.overrides if o.matches(tool, rule_id)), None)
        return known[key]

    def threshold(self, sl: SecurityLevel) -> tuple[Severity, str]:
        """(lowest must-fix severity, wording) at ``sl``."""
        for level, sev, wording in self.thresholds:
            if level == sl:
                return sev, wording
        raise ConfigError(f"policy.yaml: severity_mode: no entry for {sl.label}")


def _read_yaml(path: Path | Any, label: str) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        raise ConfigError(f"{label}: {where}YAML error: {getattr(e, 'problem', e)}") from e
    except OSError as e:
        raise ConfigError(f"{label}: cannot read: {e.strerror}") from e
    if not isinstance(data, dict):
        raise ConfigError(f"{label}: expected a mapping at the top level")
    return data


def _stamp(path: Path | Any) -> tuple[int, int]:
    """(mtime, size) of a file, so a cached parse is redone when the file changes."""
    try:
        st = Path(str(path)).stat()
    except OSError:
        return (0, 0)
    return (st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=8)
def _cwe_table(path: str, stamp: tuple[int, int], label: str) -> CapabilityTable:
    """The parsed CWE table of a file, cached per (file, mtime, size): it is the big one."""
    return parse_table(_read_yaml(Path(path), label), label, Capability.SIMPLE)


def _severity(value: Any, label: str, where: str) -> Severity:
    try:
        return Severity.parse(str(value))
    except KeyError as e:
        raise ConfigError(f"{label}: {where}: unknown severity {value!r}") from e


def _overrides(data: dict[str, Any], label: str) -> list[Override]:
    out = []
    for i, item in enumerate(data.get("overrides") or ()):
        where = f"overrides[{i}]"
        if not isinstance(item, dict) or not {"rule", "severity"} <= item.keys():
            raise ConfigError(f"{label}: {where}: needs at least rule and severity")
        out.append(
            Override(
                tool=str(item.get("tool") or "*"),
                rule=str(item["rule"]),
                severity=_severity(item["severity"], label, where),
                reason=str(item.get("reason") or f"override in {label}"),
                source=label,
            )
        )
    return out


def load_rules(user_dir: Path | None = None) -> Rules:
    """Read the shipped rules, with a user directory's files taking precedence."""
    shipped = resources.files("triage.rules")
    sev_label, pol_label = "rules/severity.yaml", "rules/policy.yaml"
    severity = _read_yaml(shipped / "severity.yaml", sev_label)
    policy = _read_yaml(shipped / "policy.yaml", pol_label)
    overrides = _overrides(severity, sev_label)
    sources = [sev_label, pol_label]
    if user_dir is not None:
        if not user_dir.is_dir():
            raise ConfigError(f"{user_dir}: --rules must name a directory")
        user_sev = user_dir / "severity.yaml"
        if user_sev.is_file():
            data = _read_yaml(user_sev, str(user_sev))
            overrides = _overrides(data, str(user_sev)) + overrides
            sources.insert(0, str(user_sev))
        user_pol = user_dir / "policy.yaml"
        if user_pol.is_file():
            policy = _read_yaml(user_pol, str(user_pol))
            pol_label = str(user_pol)
            sources.insert(0, pol_label)
    try:
        levels = tuple(
            (k, _severity(v, sev_label, f"levels.{k}")) for k, v in severity["levels"].items()
        )
        bands = tuple(
            sorted(
                ((float(lo), _severity(s, sev_label, "security_severity_bands"))
                 for lo, s in severity["security_severity_bands"]),
                reverse=True,
            )
        )
        native = tuple(
            (tool, word.upper(), _severity(s, sev_label, f"native.{tool}.{word}"))
            for tool, table in (severity.get("native") or {}).items()
            for word, s in table.items()
        )
        thresholds = tuple(
            (SecurityLevel(int(sl)),
             _severity(e["must_fix_at_least"], pol_label, f"severity_mode.{sl}"),
             str(e.get("wording") or ""))
            for sl, e in policy["severity_mode"].items()
        )
        defs = tuple(
            (SecurityLevel(int(sl)), str(text))
            for sl, text in (policy.get("sl_definitions") or {}).items()
        )
        ctx = policy.get("context") or {}
        context = ContextRules(
            raise_in_critical_tier=int(ctx.get("raise_in_critical_tier", 1)),
            raise_in_high_tier=int(ctx.get("raise_in_high_tier", 1)),
            high_tier_needs_unauthenticated_reach=bool(
                ctx.get("high_tier_needs_unauthenticated_reach", True)
            ),
            lower_when_unreachable=int(ctx.get("lower_when_unreachable", 1)),
            test_code=_severity(ctx.get("test_code", "info"), pol_label, "context.test_code"),
            out_of_scope=_severity(
                ctx.get("out_of_scope", "info"), pol_label, "context.out_of_scope"
            ),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise ConfigError(f"{sev_label} / {pol_label}: missing or malformed entry: {e}") from e
    cap_mode = policy.get("capability_mode") or {}
    if not isinstance(cap_mode, dict):
        raise ConfigError(f"{pol_label}: capability_mode: expected a mapping")
    unknown = parse_capability(cap_mode.get("unknown_cwe", "simple"), pol_label,
                               "capability_mode.unknown_cwe")
    try:
        cap_wording = tuple(
            (SecurityLevel(int(sl)), str(text))
            for sl, text in (cap_mode.get("levels") or {}).items()
        )
    except (TypeError, ValueError, AttributeError) as e:
        raise ConfigError(f"{pol_label}: capability_mode.levels: keys must be 1..4") from e
    cwe_file = shipped / "cwe_capability.yaml"
    cwe_label = "rules/cwe_capability.yaml"
    if user_dir is not None and (user_dir / "cwe_capability.yaml").is_file():
        cwe_file = user_dir / "cwe_capability.yaml"
        cwe_label = str(cwe_file)
        sources.insert(0, cwe_label)
    else:
        sources.append(cwe_label)
    table = replace(_cwe_table(str(cwe_file), _stamp(cwe_file), cwe_label), unknown=unknown)
    if sorted(sl for sl, _, _ in thresholds) != list(SecurityLevel):
        raise ConfigError(f"{pol_label}: severity_mode: needs exactly the levels 1, 2, 3, 4")
    ordered = sorted(thresholds)
    if any(a[1] < b[1] for a, b in zip(ordered, ordered[1:], strict=False)):
        # Must-fix sets have to grow with the SL (SL-1 ⊆ SL-2 ⊆ SL-3 ⊆ SL-4).
        raise ConfigError(f"{pol_label}: severity_mode: thresholds must not rise with the SL")
    return Rules(
        levels=levels,
        bands=bands,
        native=native,
        overrides=tuple(overrides),
        thresholds=thresholds,
        sl_definitions=defs,
        below_threshold=str(policy.get("below_threshold_disposition") or "below threshold"),
        context=context,
        sources=tuple(sources),
        capability=table,
        capability_wording=cap_wording,
    )
