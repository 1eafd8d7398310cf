"""Read SARIF 2.1.0 logs into ``Finding`` records, following the spec's defaulting rules.

Every structural problem stops with a ``BadInputError`` whose message names the file and
the JSON path (``scan.sarif: runs[0].results[17].locations[0]: expected an object, got a
string``). Nothing is dropped: results that are not defects (``kind`` other than ``fail``),
suppressed results and parse-failure results are all kept with their state. Only results
whose ``baselineState`` is ``absent`` are left out: they describe the baseline, not this run
(SARIF 3.27.24), and the scan's notes count them.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson

from triage.errors import BadInputError, place
from triage.ingest import states, taxonomy
from triage.ingest.adapters import GENERIC, RawResult, adapter_for
from triage.ingest.adapters.base import changed
from triage.ingest.functions import FunctionLocator
from triage.ingest.locations import (
    artifact_path,
    borrow_snippets,
    primary_location,
    uri_bases,
    with_functions,
)
from triage.ingest.paths import PathNormaliser
from triage.ingest.reader import MAX_TEXT, Reader
from triage.ingest.regions import ArtifactTexts
from triage.ingest.rule_table import (
    RuleTable,
    effective_level,
    level_overrides,
    message_text,
    rank_of,
    security_severity_of,
)
from triage.model import Finding, Provenance, ScanInput, Tool
from triage.textkeys import content_fingerprints, text_key

_BASELINE_STATES = frozenset(("new", "unchanged", "updated", "absent"))
_KINDS = frozenset(("fail", "pass", "review", "open", "notApplicable", "informational"))
MAX_SARIF_BYTES = 2 * 1024**3


def load_log(path: Path) -> tuple[dict[str, Any], bytes]:
    """Read and parse one SARIF file; return the document and its raw bytes."""
    name = path.name
    check_log_file(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise BadInputError(place(str(path), "", f"cannot read: {e.strerror}")) from e
    if not raw or raw.isspace():
        raise BadInputError(place(name, "$", "file is empty, expected a SARIF 2.1.0 log"))
    try:
        # orjson for speed; anything it refuses (big integers, NaN, deep nesting, bad
        # UTF-8) is read again by the standard parser, which accepts it or names the place.
        with collector_paused():
            doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        doc = None
    try:
        if doc is None:
            with collector_paused():
                doc = json.loads(raw.decode("utf-8"), parse_constant=_no_json_number,
                                 parse_float=_finite)
    except (UnicodeDecodeError, RecursionError, ValueError) as e:
        # Named by the value it breaks, as the streaming path names it; the line and column
        # (or the byte) are for an editor.
        from triage.ingest.outline import broken_at

        if isinstance(e, UnicodeDecodeError):
            what = f"not UTF-8 text (byte {e.start})"
        elif isinstance(e, RecursionError):
            what = "not valid JSON: nested too deeply to read"
        elif isinstance(e, json.JSONDecodeError):
            what = f"not valid JSON: {e.msg} (line {e.lineno} column {e.colno})"
        else:  # NaN, 1e400, an integer of more digits than Python converts (4,300)
            what = f"not valid JSON: {e}"
        raise BadInputError(place(name, broken_at(path), what),
                            hint="check that the file is SARIF 2.1.0 as written") from e
    rd = Reader(name)
    rd.obj(doc, "$")
    version = doc.get("version")
    if version != "2.1.0":
        got = "no version" if version is None else f"version {version!r}"
        raise rd.fail("version", f"expected SARIF version '2.1.0', got {got}")
    if "runs" not in doc:
        raise rd.fail("runs", "missing; a SARIF log needs a runs array")
    rd.arr(doc["runs"], "runs")
    if raw.count(b'"runs"') > 1 or raw.count(b'"results"') > sum(
            1 for run in doc["runs"] if type(run) is dict and "results" in run):
        # Perhaps a member given twice, which the parser took the last of.
        from triage.ingest.outline import check_given_once

        check_given_once(raw, name)
    return doc, raw


def _no_json_number(word: str) -> float:
    """``NaN``, ``Infinity``, ``-Infinity``: Python's parser takes them; JSON has no such."""
    raise ValueError(f"{word} is no JSON number")


def _finite(text: str) -> float:
    """A JSON number as a float; refused where it overflows a double (``1e400``).

    The streaming parser refuses it too.
    """
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"the number {text[:40]} is too large for a double")
    return value


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for the block (when it runs at all).

    A parsed log and the findings read from it hold no reference cycles, so reference
    counting frees them and a collection finds nothing in them; yet collections, which start
    every few hundred new objects, walk every object still young, and the older generations
    again and again as they grow. Reading a large log with them takes a third longer.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


Progress = Callable[[int, int], None]
"""``progress(done, total)``: bytes of SARIF read so far (results of the current log count in
proportion) out of the logs' total size. Called at most every ``PROGRESS_EVERY`` results."""

PROGRESS_EVERY = 2048


def read_sarif(
    paths: Iterable[Path],
    normaliser: PathNormaliser | None = None,
    now: dt.datetime | None = None,
    progress: Progress | None = None,
) -> list[ScanInput]:
    """Read SARIF logs and group their runs by tool: one ``ScanInput`` per tool name.

    Several runs of one tool, in one or several logs, form one scan (DESIGN.md §5).
    ``now`` is the clock suppression expiries are judged against (default: now, UTC).
    ``progress`` is told how far the reading is; the caller renders it (or not).
    """
    paths = [Path(p) for p in paths]
    normaliser = normaliser or PathNormaliser()
    if now is None:
        now = dt.datetime.now(dt.UTC)
    elif now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    with collector_paused():
        return _read_logs(paths, normaliser, now, progress)


def _read_logs(
    paths: list[Path], normaliser: PathNormaliser, now: dt.datetime, progress: Progress | None
) -> list[ScanInput]:
    by_tool: dict[str, ScanParts] = {}
    lines: dict[tuple[str, int], str] = {}
    total = sum(file_size(p) for p in paths) if progress else 0
    done = 0
    for log_index, path in enumerate(paths):
        doc, raw = load_log(path)
        rd = Reader(path.name, hashlib.sha256(raw).hexdigest())
        tick = _ticker(progress, doc["runs"], done, len(raw), total)
        for run_index, run in enumerate(doc["runs"]):
            parsed = _read_run(rd, run, run_index, normaliser, now, tick)
            part = by_tool.setdefault(parsed.tool.name, ScanParts(parsed.tool))
            part.add(log_index, rd, parsed)
            part.findings.extend(parsed.findings)
            for key, text in parsed.lines.items():
                lines.setdefault(key, text)
        done += len(raw)
        if progress:
            progress(min(done, total), total)
    locator = FunctionLocator(normaliser)
    return [part.scan(with_fingerprints(with_functions(borrow_snippets(part.findings, lines),
                                                       locator)))
            for part in by_tool.values()]


class ScanParts:
    """One tool's runs across the logs of a call, which form one scan (DESIGN.md §5)."""

    def __init__(self, tool: Tool) -> None:
        self.tool = tool
        self.files: list[str] = []
        self.logs: set[int] = set()
        self.digest = hashlib.sha256()
        self.findings: list[Finding] = []
        self.not_analysed: set[str] = set()
        self.notes: list[str] = []
        self.successful = True

    def add(self, log_index: int, rd: Reader, run: _RunResult) -> None:
        """Take a run's health and notes; ``rd`` names its log and holds the log's sha256."""
        # Each log given counts once, however many runs it has; two logs that share a base
        # name (a/bandit.sarif, b/bandit.sarif) are still two logs.
        if log_index not in self.logs:
            self.logs.add(log_index)
            self.files.append(rd.name)
            self.digest.update(bytes.fromhex(rd.sha256))
        self.not_analysed |= run.not_analysed
        self.notes.extend(run.notes)
        self.successful = self.successful and run.successful

    def scan(self, findings: Iterable[Finding]) -> ScanInput:
        """The scan, with ``findings``."""
        return ScanInput(
            tool=self.tool, findings=tuple(findings), sarif_files=tuple(self.files),
            sarif_sha256=self.digest.hexdigest(), successful=self.successful,
            not_analysed=tuple(sorted(self.not_analysed)), notes=tuple(self.notes))


class _RunResult:
    __slots__ = ("tool", "findings", "not_analysed", "notes", "successful", "lines")

    def __init__(self, tool: Tool) -> None:
        self.tool = tool
        self.lines: dict[tuple[str, int], str] = {}
        self.findings: list[Finding] = []
        self.not_analysed: set[str] = set()
        self.notes: list[str] = []
        self.successful = True


def file_size(path: Path) -> int:
    """Size of a log in bytes, 0 when it cannot be read (reading it reports that)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def check_log_file(path: Path) -> None:
    """Refuse, in one line, a log that cannot be read, is too large or is not UTF-8 JSON.

    SARIF logs are UTF-8 (SARIF 3.1). A byte order mark, or text in UTF-16 or UTF-32, is
    refused by name before any parser sees it, whichever path reads the log.
    """
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(4)
    except OSError as e:
        raise BadInputError(place(str(path), "", f"cannot read: {e.strerror}")) from e
    if size > MAX_SARIF_BYTES:
        raise BadInputError(place(path.name, "", f"file is {size} bytes, above the 2 GiB limit"))
    if head.startswith(b"\xef\xbb\xbf"):
        raise BadInputError(place(path.name, "byte 0", "starts with a byte order mark; a "
                                  "SARIF log is UTF-8 JSON without one"),
                            hint="save the log as UTF-8 without a BOM")
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or (len(head) >= 2 and b"\x00" in head):
        raise BadInputError(place(path.name, "byte 0", "UTF-16 or UTF-32 text; a SARIF log "
                                  "is UTF-8 JSON"),
                            hint="save the log as UTF-8")


def _ticker(
    progress: Progress | None, runs: list[Any], start: int, size: int, total: int
) -> Callable[[], None] | None:
    """A callback for each result of one log that reports progress every so many results."""
    if progress is None:
        return None
    count = sum(len(r["results"]) for r in runs if isinstance(r, dict)
                and isinstance(r.get("results"), list))
    seen = 0

    def tick() -> None:
        nonlocal seen
        seen += 1
        if count and seen % PROGRESS_EVERY == 0:
            progress(min(start + size * seen // count, total), total)

    return tick


def _read_run(
    rd: Reader,
    run: Any,
    run_index: int,
    normaliser: PathNormaliser,
    now: dt.datetime,
    tick: Callable[[], None] | None = None,
) -> _RunResult:
    where = f"runs[{run_index}]"
    run = rd.obj(run, where)
    reader = RunReader(rd, run, run_index, normaliser, now)
    for i, result in enumerate(rd.opt_arr(run, "results", where)):
        if tick:
            tick()
        reader.result(i, result)
    return reader.finish()


RUN_MEMBERS = frozenset({"tool", "taxonomies", "originalUriBaseIds", "artifacts",
                         "logicalLocations", "invocations"})
"""The members of a run that ``RunReader`` reads, its results aside: a log that gives one of
them after its results cannot be read in one pass."""


class RunReader:
    """Reads one run: its tool, rules and health first, then its results one at a time.

    The whole-file path hands it the parsed run; the streaming path hands it the run
    without its results, then each result as the stream yields it, and says whether the
    run has a results array (``results_given``).
    """

    def __init__(
        self,
        rd: Reader,
        run: dict[str, Any],
        run_index: int,
        normaliser: PathNormaliser,
        now: dt.datetime,
        results_given: bool | None = None,
    ) -> None:
        where = f"runs[{run_index}]"
        self.rd, self.where, self.run_index = rd, where, run_index
        self.normaliser, self.now = normaliser, now
        tool_obj = rd.obj(run.get("tool"), f"{where}.tool")
        driver = rd.obj(tool_obj.get("driver"), f"{where}.tool.driver")
        name = rd.opt_str(driver, "name", f"{where}.tool.driver")
        if not name:
            raise rd.fail(f"{where}.tool.driver.name", "missing; every run names its tool")
        version = rd.opt_str(driver, "version", f"{where}.tool.driver") or rd.opt_str(
            driver, "semanticVersion", f"{where}.tool.driver"
        )
        name, version = _LONE_SURROGATE.sub("\ufffd", name), _LONE_SURROGATE.sub(
            "\ufffd", version or "")
        self.adapter = adapter_for(name)
        tool = Tool(name=self.adapter.tool_name(name), version=version)
        self.out = _RunResult(tool)
        components = [driver] + [
            rd.obj(ext, f"{where}.tool.extensions[{i}]")
            for i, ext in enumerate(rd.opt_arr(tool_obj, "extensions", f"{where}.tool"))
        ]
        self.rules = RuleTable(rd, components, where)
        self.cwe_taxonomies = taxonomy.cwe_taxonomies(rd, run, where)
        self.base_ids = uri_bases(rd, run, where)
        self.artifacts = rd.opt_arr(run, "artifacts", where)
        self.logicals = rd.opt_arr(run, "logicalLocations", where)
        self.overrides = level_overrides(rd, run, where)
        _read_health(rd, run, where, normaliser, self.base_ids, self.out, self.artifacts)
        if not (run.get("results") is not None if results_given is None else results_given):
            # SARIF 3.14.23: a run without results (absent or null) did not determine them;
            # an empty array is a run that found nothing. Nothing counts as fixed by it.
            self.out.successful = False
            self.out.notes.append(f"{tool.name}: run {run_index} has no results array: the "
                                  "tool did not determine its results (SARIF 3.14.23)")
        self.absent = 0
        self._rule_info: dict[
            int, tuple[dict[str, Any], tuple[str, ...], tuple[int, ...], str]
        ] = {}
        # A run names each file many times: each (uri, uriBaseId) is resolved once.
        self._paths: dict[tuple[str, str | None], str] = {}
        self.texts = ArtifactTexts(
            rd, run, self.artifacts, where,
            lambda art, awhere: artifact_path(rd, art, awhere, normaliser, self.base_ids,
                                              self.artifacts),
            normaliser.source_bytes)

    def result(self, i: int, result: Any) -> Finding | None:
        """Read result ``i``; keep and return its finding (None for a baseline-only one)."""
        rd, out, tool = self.rd, self.out, self.out.tool
        rwhere = f"{self.where}.results[{i}]"
        if type(result) is not dict:
            result = rd.obj(result, rwhere)
        rule, rule_id = self.rules.resolve(result, rwhere)
        state = rd.opt_word(result, "baselineState", rwhere, _BASELINE_STATES)
        if state == "absent":
            # SARIF 3.27.24: "absent" means the result was in the baseline but not in this
            # run; it describes the baseline, so it is no finding of this scan.
            self.absent += 1
            return None
        # SARIF 3.27.9: kind defaults to "fail".
        kind = rd.opt_word(result, "kind", rwhere, _KINDS) or "fail"
        level = effective_level(rd, result, rule, rule_id, self.overrides, rwhere, kind)
        location = primary_location(
            rd, result, rwhere, self.normaliser, self.base_ids, self.artifacts, out.lines,
            (self.logicals, self.where), self._paths, self.texts,
        )
        props = result.get("properties")
        if type(props) is not dict:
            props = rd.opt_obj(result, "properties", rwhere)
        # What a result takes from its rule is worked out once per rule.
        known = self._rule_info.get(id(rule))
        if known is None:
            known = self._rule_info[id(rule)] = self._read_rule(rule, rwhere)
        rule_props, tags, cwe_ids, rule_name = known
        if "taxa" in result:
            cwe_ids = taxonomy.cwes(tags, rule_props, taxonomy.taxa_cwes(
                rd, result, rule, self.rules, rwhere, self.cwe_taxonomies))
        finding = Finding(
            tool=tool,
            rule_id=rule_id,
            rule_name=rule_name or rule_id,
            message=message_text(rd, result, rule, rwhere),
            location=location,
            level=level,
            kind=kind,
            provenance=Provenance(file=rd.name, run=self.run_index, result=i, sha256=rd.sha256),
            security_severity=security_severity_of(props, rule_props),
            cwe_ids=cwe_ids,
            tags=tags,
            suppression=states.suppression(rd, result, rwhere, self.now),
            tool_fingerprints=states.tool_fingerprints(rd, result, rwhere),
            rank=rank_of(rd, result, rule, rwhere, self.rules),
        )
        if self.adapter is not GENERIC:  # the generic adapter keeps the finding as it is
            raw_result = RawResult(result, rule or {}, rule is not None, props, rule_props)
            finding = self.adapter.adapt(finding, raw_result)
            if finding.location.path and self.adapter.parse_failure(finding, raw_result):
                # A producer that reports an unparsable file as a result (ruff): not analysed.
                out.not_analysed.add(finding.location.path)
        loc = finding.location
        texts = (finding.message, loc.snippet, loc.path, loc.function, finding.rule_id,
                 finding.rule_name, finding.native_severity, finding.native_confidence)
        joined = "".join(texts)  # one look at them all: read for every result
        if len(joined) > MAX_TEXT and max(map(len, texts)) > MAX_TEXT:
            name, text = max(zip(_TEXT_NAMES, texts, strict=True), key=lambda t: len(t[1]))
            raise rd.fail(rwhere, f"its {name} is {len(text):,} characters long, above the "
                                  f"limit of {MAX_TEXT:,}")
        if not joined.isascii() and _LONE_SURROGATE.search(joined):
            finding = _without_lone_surrogates(finding, texts)
        out.findings.append(finding)
        return finding

    def _read_rule(
        self, rule: dict[str, Any] | None, where: str
    ) -> tuple[dict[str, Any], tuple[str, ...], tuple[int, ...], str]:
        """A rule's property bag, tags, CWE ids and name (``""`` when it has none)."""
        rd = self.rd
        rule_props = rd.opt_obj(rule, "properties", self.rules.where(rule)) if rule else {}
        raw_tags = rule_props.get("tags")
        tags = tuple(t for t in raw_tags if isinstance(t, str)) if isinstance(
            raw_tags, list
        ) else ()
        rule_cwes = taxonomy.cwes(tags, rule_props, taxonomy.taxa_cwes(
            rd, {}, rule, self.rules, where, self.cwe_taxonomies))
        name = (rule or {}).get("name")
        return rule_props, tags, rule_cwes, name if isinstance(name, str) else ""

    def finish(self) -> _RunResult:
        """The run's findings, health and notes, once every result was read."""
        if self.absent:
            self.out.notes.append(
                f"{self.out.tool.name}: run {self.run_index}: {self.absent} result(s) with "
                "baselineState 'absent' (in the baseline only, not in this run) not counted "
                "as findings"
            )
        drop_shared_fingerprints(self.out)
        return self.out


_TEXT_NAMES = ("message", "snippet", "path", "function", "rule id", "rule name",
               "native severity", "native confidence")

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
"""Half of a UTF-16 pair: JSON can escape one alone (``\\ud800``), which is no Unicode text.
A pair the parser joined is one character, so any surrogate left in a string is alone."""


def _without_lone_surrogates(finding: Finding, texts: tuple[str, ...]) -> Finding:
    """The finding with each lone surrogate in its ``texts`` replaced by U+FFFD.

    ``texts`` are the finding's texts in the order ``RunReader.result`` lists them.

    The store writes text columns as UTF-8, which has no surrogates; the replacement is the
    same in every release, so identity is kept. ``fingerprints`` values keep theirs: the
    store writes them as JSON, which escapes them.
    """
    loc = finding.location
    message, snippet, path, function, rule_id, rule_name, severity, confidence = (
        _LONE_SURROGATE.sub("\ufffd", t) for t in texts)
    return changed(finding, message=message, rule_id=rule_id, rule_name=rule_name,
                   native_severity=severity, native_confidence=confidence,
                   location=replace(loc, snippet=snippet, path=path, function=function))


def drop_shared_fingerprints(run: _RunResult) -> None:
    """Drop a ``fingerprints`` value that several results carry: it is a placeholder.

    SARIF 3.27.16: a fingerprint identifies one result. Partial fingerprints may repeat
    and are never dropped.
    """
    counts = Counter(
        fp for f in run.findings for fp in f.tool_fingerprints if fp[0].startswith("fingerprints:")
    )
    if not any(n > 1 for n in counts.values()):
        return
    run.findings = [
        changed(f, tool_fingerprints=tuple(fp for fp in f.tool_fingerprints if counts[fp] <= 1))
        if f.tool_fingerprints
        else f
        for f in run.findings
    ]


def _read_health(
    rd: Reader,
    run: dict[str, Any],
    where: str,
    normaliser: PathNormaliser,
    base_ids: dict[str, str],
    out: _RunResult,
    artifacts: list[Any],
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
                    # Located as a result's file is (SARIF 3.4: uri, uriBaseId, index).
                    found = artifact_path(rd, art, awhere, normaliser, base_ids, artifacts)
                    if found:
                        paths.append(found)
                out.not_analysed.update(p for p in paths if p)
                summary = (desc or text).splitlines()[0][:120] if (desc or text) else key
                out.notes.append(
                    f"{out.tool.name}: {summary}: {', '.join(paths) if paths else 'whole run'}"
                )
                if not paths and note.get("level") == "error":
                    out.successful = False


def with_fingerprints(findings: list[Finding]) -> list[Finding]:
    """Attach our content fingerprint (``textkeys.content_fingerprints``); whole files."""
    prints = content_fingerprints([
        (f.tool.name, f.rule_id, loc.path, text_key(f), loc.start_line or 0,
         loc.start_column or 0, f.provenance.run, f.provenance.result)
        for f, loc in ((f, f.location) for f in findings)])
    return [f if f.fingerprint == digest else changed(f, fingerprint=digest)
            for f, digest in zip(findings, prints, strict=True)]
