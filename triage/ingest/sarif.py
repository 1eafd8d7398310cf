"""Read SARIF 2.1.0 logs into ``Finding`` records, following the spec's defaulting rules.

Every structural problem stops with a ``BadInputError`` whose message names the file and
the JSON path (``scan.sarif: runs[0].results[17].locations[0]: expected an object, got a
string``). Nothing is dropped: results that are not defects (``kind`` other than ``fail``),
suppressed results and parse-failure results are all kept with their state.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from triage.errors import BadInputError, place
from triage.ingest.paths import PathNormaliser
from triage.model import Finding, Location, Provenance, ScanInput, Suppression, Tool
from triage.textkeys import text_key

_LEVELS = ("error", "warning", "note", "none")
_KINDS = ("fail", "pass", "review", "open", "notApplicable", "informational")
_CWE_TAG = re.compile(r"(?:^|/)cwe[-_:/ ]?(\d+)\b", re.IGNORECASE)
# Fingerprint values that scanners write when they have no real fingerprint.
_PLACEHOLDERS = frozenset({"requires login", "", "0"})
MAX_SARIF_BYTES = 2 * 1024**3


def _type_name(value: Any) -> str:
    return {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


class _Reader:
    """Typed access to a parsed JSON document that reports the JSON path on error."""

    def __init__(self, name: str, sha256: str = "") -> None:
        self.name = name
        self.sha256 = sha256

    def fail(self, where: str, what: str) -> BadInputError:
        return BadInputError(
            place(self.name, where, what), hint="check that the file is SARIF 2.1.0 as written"
        )

    def obj(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, f"expected an object, got {_type_name(value)}")
        return value

    def arr(self, value: Any, where: str) -> list[Any]:
        if not isinstance(value, list):
            raise self.fail(where, f"expected an array, got {_type_name(value)}")
        return value

    def opt_obj(self, parent: dict[str, Any], key: str, where: str) -> dict[str, Any]:
        value = parent.get(key)
        return {} if value is None else self.obj(value, f"{where}.{key}")

    def opt_arr(self, parent: dict[str, Any], key: str, where: str) -> list[Any]:
        value = parent.get(key)
        return [] if value is None else self.arr(value, f"{where}.{key}")

    def opt_str(self, parent: dict[str, Any], key: str, where: str) -> str:
        value = parent.get(key)
        if value is None:
            return ""
        if not isinstance(value, str):
            raise self.fail(f"{where}.{key}", f"expected a string, got {_type_name(value)}")
        return value

    def opt_int(self, parent: dict[str, Any], key: str, where: str) -> int | None:
        value = parent.get(key)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.fail(f"{where}.{key}", f"expected an integer, got {_type_name(value)}")
        return value


def load_log(path: Path) -> tuple[dict[str, Any], bytes]:
    """Read and parse one SARIF file; return the document and its raw bytes."""
    name = path.name
    try:
        size = path.stat().st_size
        if size > MAX_SARIF_BYTES:
            raise BadInputError(place(name, "", f"file is {size} bytes, above the 2 GiB limit"))
        raw = path.read_bytes()
    except OSError as e:
        raise BadInputError(place(str(path), "", f"cannot read: {e.strerror}")) from e
    if not raw.strip():
        raise BadInputError(place(name, "$", "file is empty, expected a SARIF 2.1.0 log"))
    try:
        doc = json.loads(raw)
    except UnicodeDecodeError as e:
        raise BadInputError(place(name, f"byte {e.start}", "not UTF-8 text")) from e
    except json.JSONDecodeError as e:
        raise BadInputError(
            place(name, f"line {e.lineno} column {e.colno}", f"not valid JSON: {e.msg}")
        ) from e
    rd = _Reader(name)
    rd.obj(doc, "$")
    version = doc.get("version")
    if version != "2.1.0":
        got = "no version" if version is None else f"version {version!r}"
        raise rd.fail("version", f"expected SARIF version '2.1.0', got {got}")
    if "runs" not in doc:
        raise rd.fail("runs", "missing; a SARIF log needs a runs array")
    rd.arr(doc["runs"], "runs")
    return doc, raw


def read_sarif(
    paths: Iterable[Path], normaliser: PathNormaliser | None = None
) -> list[ScanInput]:
    """Read SARIF logs and group their runs by tool: one ``ScanInput`` per tool name.

    Several runs of one tool, in one or several logs, form one scan (DESIGN.md §5).
    """
    normaliser = normaliser or PathNormaliser()
    by_tool: dict[str, list[tuple[int, str, bytes, _RunResult]]] = {}
    lines: dict[tuple[str, int], str] = {}
    for log_index, path in enumerate(paths):
        doc, raw = load_log(Path(path))
        rd = _Reader(Path(path).name, hashlib.sha256(raw).hexdigest())
        for run_index, run in enumerate(doc["runs"]):
            parsed = _read_run(rd, run, run_index, normaliser)
            by_tool.setdefault(parsed.tool.name, []).append((log_index, rd.name, raw, parsed))
            for key, text in parsed.lines.items():
                lines.setdefault(key, text)
    scans = []
    for _name, parts in by_tool.items():
        digest = hashlib.sha256()
        files: list[str] = []
        seen_logs: set[int] = set()
        findings: list[Finding] = []
        not_analysed: set[str] = set()
        notes: list[str] = []
        ok = True
        for log_index, file_name, raw, run in parts:
            # Each log given counts once, however many runs it has; two logs that share a
            # base name (a/bandit.sarif, b/bandit.sarif) are still two logs.
            if log_index not in seen_logs:
                seen_logs.add(log_index)
                files.append(file_name)
                digest.update(hashlib.sha256(raw).digest())
            findings.extend(run.findings)
            not_analysed |= run.not_analysed
            notes.extend(run.notes)
            ok = ok and run.successful
        scans.append(
            ScanInput(
                tool=parts[0][3].tool,
                findings=tuple(_with_fingerprints(_borrow_snippets(findings, lines))),
                sarif_files=tuple(files),
                sarif_sha256=digest.hexdigest(),
                successful=ok,
                not_analysed=tuple(sorted(not_analysed)),
                notes=tuple(notes),
            )
        )
    return scans


class _RunResult:
    __slots__ = ("tool", "findings", "not_analysed", "notes", "successful", "lines")

    def __init__(self, tool: Tool) -> None:
        self.tool = tool
        self.lines: dict[tuple[str, int], str] = {}
        self.findings: list[Finding] = []
        self.not_analysed: set[str] = set()
        self.notes: list[str] = []
        self.successful = True


def _read_run(
    rd: _Reader, run: Any, run_index: int, normaliser: PathNormaliser
) -> _RunResult:
    where = f"runs[{run_index}]"
    run = rd.obj(run, where)
    tool_obj = rd.obj(run.get("tool"), f"{where}.tool")
    driver = rd.obj(tool_obj.get("driver"), f"{where}.tool.driver")
    name = rd.opt_str(driver, "name", f"{where}.tool.driver")
    if not name:
        raise rd.fail(f"{where}.tool.driver.name", "missing; every run names its tool")
    version = rd.opt_str(driver, "version", f"{where}.tool.driver") or rd.opt_str(
        driver, "semanticVersion", f"{where}.tool.driver"
    )
    tool = Tool(name=_tool_key(name), version=version)
    out = _RunResult(tool)
    components = [driver] + [
        rd.obj(ext, f"{where}.tool.extensions[{i}]")
        for i, ext in enumerate(rd.opt_arr(tool_obj, "extensions", f"{where}.tool"))
    ]
    rules = _RuleTable(rd, components, where)
    cwe_taxonomies = _cwe_taxonomies(rd, run, where)
    base_ids = _uri_bases(rd, run, where)
    artifacts = rd.opt_arr(run, "artifacts", where)
    overrides = _level_overrides(rd, run, where)
    _read_health(rd, run, where, normaliser, base_ids, out)

    results = rd.opt_arr(run, "results", where)
    for i, result in enumerate(results):
        rwhere = f"{where}.results[{i}]"
        result = rd.obj(result, rwhere)
        rule, rule_id = rules.resolve(result, rwhere)
        # SARIF 3.27.9: kind defaults to "fail".
        kind = rd.opt_str(result, "kind", rwhere) or "fail"
        if kind not in _KINDS:
            raise rd.fail(f"{rwhere}.kind", f"unknown kind {kind!r}")
        level = _effective_level(rd, result, rule, rule_id, overrides, rwhere, kind)
        location = _primary_location(
            rd, result, rwhere, normaliser, base_ids, artifacts, out.lines
        )
        props = rd.opt_obj(result, "properties", rwhere)
        rule_props = rd.opt_obj(rule, "properties", rules.where(rule)) if rule else {}
        raw_tags = rule_props.get("tags")
        tags = tuple(t for t in raw_tags if isinstance(t, str)) if isinstance(
            raw_tags, list
        ) else ()
        rule_name = (rule or {}).get("name")
        taxa_cwes = _taxa_cwes(rd, result, rule, rules, rwhere, cwe_taxonomies)
        out.findings.append(
            Finding(
                tool=tool,
                rule_id=rule_id,
                rule_name=rule_name if isinstance(rule_name, str) and rule_name else rule_id,
                message=_message(rd, result, rule, rwhere),
                location=location,
                level=level,
                kind=kind,
                provenance=Provenance(file=rd.name, run=run_index, result=i, sha256=rd.sha256),
                native_severity=str(props.get("issue_severity") or "").upper(),
                native_confidence=str(props.get("issue_confidence") or "").upper(),
                security_severity=_security_severity(props, rule_props),
                cwe_ids=_cwes(tags, rule_props, taxa_cwes),
                tags=tags,
                suppression=_suppression(rd, result, rwhere),
                tool_fingerprints=_tool_fingerprints(rd, result, rwhere),
            )
        )
        if tool.name == "ruff" and rule_id == "invalid-syntax" and location.path:
            # ruff reports a file it cannot parse as a result, not a notification.
            out.not_analysed.add(location.path)
    _drop_shared_fingerprints(out)
    return out


def _tool_key(name: str) -> str:
    low = name.strip().lower()
    return "semgrep" if low.startswith("semgrep") else low


class _RuleTable:
    """Rules of the driver and the extensions, by index and by id (SARIF 3.52)."""

    def __init__(self, rd: _Reader, components: list[dict[str, Any]], where: str) -> None:
        self.rd = rd
        self.by_component: list[list[dict[str, Any]]] = []
        self.by_id: dict[str, dict[str, Any]] = {}
        self._where: dict[int, str] = {}
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
        rule_id = rd.opt_str(result, "ruleId", where)
        index = rd.opt_int(result, "ruleIndex", where)
        component = 0
        ref = result.get("rule")
        if ref is not None:
            ref = rd.obj(ref, f"{where}.rule")
            rule_id = rule_id or rd.opt_str(ref, "id", f"{where}.rule")
            if index is None:
                index = rd.opt_int(ref, "index", f"{where}.rule")
            tc = ref.get("toolComponent")
            if tc is not None:
                tc = rd.obj(tc, f"{where}.rule.toolComponent")
                tc_index = rd.opt_int(tc, "index", f"{where}.rule.toolComponent")
                # SARIF 3.54.6: toolComponent.index points into tool.extensions; -1 (the
                # default) or no index means the driver.
                component = 1 + tc_index if tc_index is not None and tc_index >= 0 else 0
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


def _level_overrides(rd: _Reader, run: dict[str, Any], where: str) -> dict[str, str]:
    """Rule id → level from invocations' ruleConfigurationOverrides (SARIF 3.20.5)."""
    out: dict[str, str] = {}
    for i, inv in enumerate(rd.opt_arr(run, "invocations", where)):
        inv = rd.obj(inv, f"{where}.invocations[{i}]")
        for ov in rd.opt_arr(inv, "ruleConfigurationOverrides", f"{where}.invocations[{i}]"):
            if not isinstance(ov, dict):
                continue
            desc = ov.get("descriptor") or {}
            conf = ov.get("configuration") or {}
            if isinstance(desc, dict) and isinstance(conf, dict) and conf.get("level") in _LEVELS:
                rid = desc.get("id")
                if isinstance(rid, str):
                    out[rid] = conf["level"]
    return out


def _effective_level(
    rd: _Reader,
    result: dict[str, Any],
    rule: dict[str, Any] | None,
    rule_id: str,
    overrides: dict[str, str],
    where: str,
    kind: str = "fail",
) -> str:
    # SARIF 3.27.10: level, else the invocation's override, else the rule's
    # defaultConfiguration.level, else "warning".
    level = rd.opt_str(result, "level", where)
    if level:
        if level not in _LEVELS:
            raise rd.fail(f"{where}.level", f"unknown level {level!r}")
        return level
    if kind != "fail":
        # SARIF 3.27.10: when kind is not "fail", an absent level defaults to "none".
        return "none"
    if rule_id in overrides:
        return overrides[rule_id]
    if rule:
        conf = rule.get("defaultConfiguration")
        if isinstance(conf, dict) and conf.get("level") in _LEVELS:
            return str(conf["level"])
    return "warning"


def _uri_bases(rd: _Reader, run: dict[str, Any], where: str) -> dict[str, str]:
    """Resolve ``originalUriBaseIds`` to absolute or root-relative prefixes (SARIF 3.14.14)."""
    raw = rd.opt_obj(run, "originalUriBaseIds", where)
    resolved: dict[str, str] = {}

    def resolve(key: str, depth: int = 0) -> str:
        if key in resolved:
            return resolved[key]
        entry = raw.get(key)
        if not isinstance(entry, dict) or depth > 16:
            return ""
        uri = str(entry["uri"]) if isinstance(entry.get("uri"), str) else ""
        parent = entry.get("uriBaseId")
        prefix = resolve(parent, depth + 1) if isinstance(parent, str) else ""
        value = prefix + uri if prefix and not uri.startswith(("file:", "/")) else uri
        resolved[key] = value
        return value

    for key in raw:
        resolve(key)
    return resolved


def _primary_location(
    rd: _Reader,
    result: dict[str, Any],
    where: str,
    normaliser: PathNormaliser,
    base_ids: dict[str, str],
    artifacts: list[Any],
    lines: dict[tuple[str, int], str],
) -> Location:
    locations = rd.opt_arr(result, "locations", where)
    if not locations:
        return Location(path="")
    lwhere = f"{where}.locations[0]"
    loc = rd.obj(locations[0], lwhere)
    phys = rd.opt_obj(loc, "physicalLocation", lwhere)
    pwhere = f"{lwhere}.physicalLocation"
    art = rd.opt_obj(phys, "artifactLocation", pwhere)
    path = _artifact_path(rd, art, f"{pwhere}.artifactLocation", normaliser, base_ids, artifacts)
    region = rd.opt_obj(phys, "region", pwhere)
    rwhere = f"{pwhere}.region"
    start = rd.opt_int(region, "startLine", rwhere)
    end = rd.opt_int(region, "endLine", rwhere) or start
    snippet = rd.opt_obj(region, "snippet", rwhere)
    text = rd.opt_str(snippet, "text", f"{rwhere}.snippet")
    _remember(lines, path, start, end, text)
    context = rd.opt_obj(phys, "contextRegion", pwhere)
    if context:
        cwhere = f"{pwhere}.contextRegion"
        c_start = rd.opt_int(context, "startLine", cwhere)
        _remember(lines, path, c_start, rd.opt_int(context, "endLine", cwhere) or c_start,
                  rd.opt_str(rd.opt_obj(context, "snippet", cwhere), "text", f"{cwhere}.snippet"))
    if not text and start is not None:
        text = normaliser.read_lines(path, start, end or start)
    return Location(
        path=path,
        start_line=start,
        end_line=end,
        start_column=rd.opt_int(region, "startColumn", rwhere),
        snippet=text,
    )


def _remember(
    lines: dict[tuple[str, int], str], path: str, start: int | None, end: int | None, text: str
) -> None:
    """Index the source lines a snippet shows, when its line count fits its region."""
    if not text or not path or start is None or end is None:
        return
    parts = text.rstrip("\n").split("\n")
    if len(parts) == end - start + 1:
        for offset, line in enumerate(parts):
            lines.setdefault((path, start + offset), line)


def _borrow_snippets(findings: list[Finding], lines: dict[tuple[str, int], str]) -> list[Finding]:
    """Give a finding without a snippet the flagged lines another log of the call showed.

    ruff writes no snippets; bandit and semgrep, run on the same tree, often show the very
    same lines. The line's text is the same whichever tool quoted it.
    """
    out = []
    for f in findings:
        loc = f.location
        if not loc.snippet and loc.path and loc.start_line:
            # At most 51 lines, as read_lines: a hostile endLine must not cost memory.
            end = min(loc.end_line or loc.start_line, loc.start_line + 50)
            texts = [lines.get((loc.path, n)) for n in range(loc.start_line, end + 1)]
            if texts and all(t is not None for t in texts):
                f = replace(f, location=replace(loc, snippet="\n".join(t or "" for t in texts)))
        out.append(f)
    return out


def _artifact_path(
    rd: _Reader,
    art: dict[str, Any],
    where: str,
    normaliser: PathNormaliser,
    base_ids: dict[str, str],
    artifacts: list[Any],
) -> str:
    uri = rd.opt_str(art, "uri", where)
    base = rd.opt_str(art, "uriBaseId", where)
    index = rd.opt_int(art, "index", where)
    if not uri and index is not None and 0 <= index < len(artifacts):
        # SARIF 3.4.5: artifactLocation.index points into run.artifacts.
        entry = artifacts[index]
        if isinstance(entry, dict) and isinstance(entry.get("location"), dict):
            uri = str(entry["location"].get("uri") or "")
            base = base or str(entry["location"].get("uriBaseId") or "")
    if not uri:
        return ""
    return normaliser.normalise(uri, base_ids.get(base, "") if base else "")


def _message(rd: _Reader, result: dict[str, Any], rule: dict[str, Any] | None, where: str) -> str:
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


def _security_severity(props: dict[str, Any], rule_props: dict[str, Any]) -> float | None:
    for source in (props, rule_props):
        value = source.get("security-severity")
        try:
            if value is not None:
                return float(value)
        except (TypeError, ValueError):
            continue
    return None


def _cwes(
    tags: tuple[str, ...], rule_props: dict[str, Any], taxa: tuple[int, ...] = ()
) -> tuple[int, ...]:
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


def _cwe_taxonomies(rd: _Reader, run: dict[str, Any], where: str) -> tuple[set[int], set[str]]:
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


def _taxa_cwes(
    rd: _Reader,
    result: dict[str, Any],
    rule: dict[str, Any] | None,
    rules: _RuleTable,
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
        m = _CWE_TAXON.match(rid) if is_cwe and isinstance(rid, str) else None
        if m and int(m[1]) not in found:
            found.append(int(m[1]))
    return tuple(found)


def _suppression(rd: _Reader, result: dict[str, Any], where: str) -> Suppression:
    # SARIF 3.35: accepted → suppressed, underReview → pending, rejected → active.
    states = []
    for i, sup in enumerate(rd.opt_arr(result, "suppressions", where)):
        sup = rd.obj(sup, f"{where}.suppressions[{i}]")
        states.append(str(sup.get("status") or "accepted"))
    if not states:
        return Suppression.ACTIVE
    if "rejected" in states:
        return Suppression.ACTIVE
    if "underReview" in states:
        return Suppression.PENDING
    return Suppression.SUPPRESSED


def _tool_fingerprints(
    rd: _Reader, result: dict[str, Any], where: str
) -> tuple[tuple[str, str], ...]:
    pairs = []
    for key in ("fingerprints", "partialFingerprints"):
        for k, v in sorted(rd.opt_obj(result, key, where).items()):
            if isinstance(v, str) and v.strip().lower() not in _PLACEHOLDERS:
                pairs.append((f"{key}:{k}", v))
    return tuple(pairs)


def _drop_shared_fingerprints(run: _RunResult) -> None:
    """Drop a fingerprint value that more than one result carries: it is a placeholder."""
    counts = Counter(fp for f in run.findings for fp in f.tool_fingerprints)
    if not any(n > 1 for n in counts.values()):
        return
    run.findings = [
        replace(f, tool_fingerprints=tuple(fp for fp in f.tool_fingerprints if counts[fp] == 1))
        if f.tool_fingerprints
        else f
        for f in run.findings
    ]


def _read_health(
    rd: _Reader,
    run: dict[str, Any],
    where: str,
    normaliser: PathNormaliser,
    base_ids: dict[str, str],
    out: _RunResult,
) -> None:
    """Record failed runs and files the tool could not analyse (never counted as fixes)."""
    for i, inv in enumerate(rd.opt_arr(run, "invocations", where)):
        iwhere = f"{where}.invocations[{i}]"
        inv = rd.obj(inv, iwhere)
        if inv.get("executionSuccessful") is False:
            out.successful = False
            out.notes.append(f"{out.tool.name}: invocation {i} reported executionSuccessful=false")
        for key in ("toolConfigurationNotifications", "toolExecutionNotifications"):
            for j, note in enumerate(rd.opt_arr(inv, key, iwhere)):
                nwhere = f"{iwhere}.{key}[{j}]"
                note = rd.obj(note, nwhere)
                text = rd.opt_str(rd.opt_obj(note, "message", nwhere), "text", f"{nwhere}.message")
                descriptor = rd.opt_obj(note, "descriptor", nwhere)
                desc = rd.opt_str(descriptor, "id", f"{nwhere}.descriptor")
                blocking = note.get("level") == "error" or re.search(
                    r"syntax|timeout|parse|skipp", f"{desc} {text}", re.IGNORECASE
                )
                if not blocking:
                    continue
                paths = []
                for k, loc in enumerate(rd.opt_arr(note, "locations", nwhere)):
                    lwhere = f"{nwhere}.locations[{k}]"
                    phys = rd.opt_obj(rd.obj(loc, lwhere), "physicalLocation", lwhere)
                    awhere = f"{lwhere}.physicalLocation.artifactLocation"
                    art = rd.opt_obj(phys, "artifactLocation", f"{lwhere}.physicalLocation")
                    uri = rd.opt_str(art, "uri", awhere)
                    if uri:
                        base = base_ids.get(rd.opt_str(art, "uriBaseId", awhere), "")
                        paths.append(normaliser.normalise(uri, base))
                out.not_analysed.update(p for p in paths if p)
                summary = (desc or text).splitlines()[0][:120] if (desc or text) else key
                out.notes.append(
                    f"{out.tool.name}: {summary}: {', '.join(paths) if paths else 'whole run'}"
                )
                if not paths and note.get("level") == "error":
                    out.successful = False


def _with_fingerprints(findings: list[Finding]) -> list[Finding]:
    """Attach our content fingerprint: tool, rule, path, flagged text, occurrence index.

    The line number is never part of it; the occurrence index counts earlier findings with
    the same (tool, rule, path, text) in file order, so two identical lines stay distinct.
    """
    order = sorted(
        range(len(findings)),
        key=lambda i: (
            findings[i].location.path,
            findings[i].location.start_line or 0,
            findings[i].location.start_column or 0,
            findings[i].provenance.run,
            findings[i].provenance.result,
        ),
    )
    seen: Counter[tuple[str, ...]] = Counter()
    out = list(findings)
    for i in order:
        f = findings[i]
        key = (f.tool.name, f.rule_id, f.location.path, text_key(f))
        occurrence = seen[key]
        seen[key] += 1
        digest = hashlib.sha256("\x1f".join((*key, str(occurrence))).encode()).hexdigest()
        out[i] = replace(f, fingerprint=digest[:32])
    return out
