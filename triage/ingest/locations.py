"""Where a SARIF result points: its file as a repository-relative path, region and snippet.

Through ``uriBaseId`` and nested ``originalUriBaseIds``, ``artifactLocation.index`` into
``run.artifacts``; the lines snippets show, lent to findings of other logs without one.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from triage.errors import BadInputError, place
from triage.ingest.adapters.base import changed
from triage.ingest.functions import FunctionLocator, logical_function
from triage.ingest.paths import PathNormaliser
from triage.ingest.reader import INT_LIMIT, MAX_TEXT, Reader
from triage.ingest.regions import ArtifactTexts, offsets_of
from triage.model import Finding, Location


def uri_bases(rd: Reader, run: dict[str, Any], where: str) -> dict[str, str]:
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


def primary_location(
    rd: Reader,
    result: dict[str, Any],
    where: str,
    normaliser: PathNormaliser,
    base_ids: dict[str, str],
    artifacts: list[Any],
    lines: dict[tuple[str, int], str],
    logicals: tuple[list[Any], str],
    paths: dict[tuple[str, str | None], str],
    texts: ArtifactTexts | None = None,
) -> Location:
    """The first location's file, region and snippet, and the function it names (SARIF 3.33).

    ``logicals`` is the run's ``logicalLocations`` and the run's JSON path; ``paths`` keeps
    the run's resolved artifact paths by (uri, uriBaseId); ``texts`` the artifacts' texts
    that a region given by offsets alone is counted out in.

    Read for every result, so each member is taken as it is when it has the expected type;
    anything else goes through the reader, which names its JSON path in the error. The
    members are checked in one fixed order, so a result with several faults always reports
    the same one.
    """
    locations = result.get("locations")
    if type(locations) is not list:
        locations = rd.opt_arr(result, "locations", where)
    if not locations:
        return Location(path="")
    # The JSON paths of the members, for errors only.
    lwhere = f"{where}.locations[0]"
    pwhere = f"{lwhere}.physicalLocation"
    loc = locations[0]
    if type(loc) is not dict:
        loc = rd.obj(loc, lwhere)
    phys = loc.get("physicalLocation")
    if type(phys) is not dict:
        phys = rd.opt_obj(loc, "physicalLocation", lwhere)
    art = phys.get("artifactLocation")
    if type(art) is not dict:
        art = rd.opt_obj(phys, "artifactLocation", pwhere)
    uri, base, index = art.get("uri"), art.get("uriBaseId"), art.get("index")
    if (
        type(uri) is str and uri and (base is None or type(base) is str)
        and (index is None or type(index) is int and -INT_LIMIT <= index < INT_LIMIT)
    ):
        # A uri wins over an index (SARIF 3.4.5), so the path depends on uri and base only.
        path = paths.get((uri, base))
        if path is None:
            path = paths[(uri, base)] = artifact_path(
                rd, art, f"{pwhere}.artifactLocation", normaliser, base_ids, artifacts)
    else:
        path = artifact_path(
            rd, art, f"{pwhere}.artifactLocation", normaliser, base_ids, artifacts)
    region = phys.get("region")
    if type(region) is not dict:
        region = rd.opt_obj(phys, "region", pwhere)
    start, end = region.get("startLine"), region.get("endLine")
    if start is not None and not (type(start) is int and 1 <= start < INT_LIMIT):
        start = _counted(rd, region, "startLine", f"{pwhere}.region")
    if end is not None and not (type(end) is int and 1 <= end < INT_LIMIT):
        end = _counted(rd, region, "endLine", f"{pwhere}.region")
    end = end or start
    snippet = region.get("snippet")
    if snippet is None:
        text = ""
    else:
        if type(snippet) is not dict:
            snippet = rd.opt_obj(region, "snippet", f"{pwhere}.region")
        text = snippet.get("text")
        if type(text) is not str:
            text = rd.opt_str(snippet, "text", f"{pwhere}.region.snippet")
    column = region.get("startColumn")
    if column is not None and not (type(column) is int and 1 <= column < INT_LIMIT):
        column = _counted(rd, region, "startColumn", f"{pwhere}.region")
    if "charOffset" in region or "byteOffset" in region:
        offsets = offsets_of(rd, region, f"{pwhere}.region")
        if start is None and offsets and texts is not None:
            # SARIF 3.30.2: a region given by offsets alone, counted out in its file's text.
            found = texts.text(path, index)
            located = found.locate(*offsets[:2], in_bytes=offsets[2]) if found else None
            if located is not None:
                start, end = located.start, located.end
                column, text = column or located.column, text or located.snippet
    remember_lines(lines, path, start, end, text)
    if phys.get("contextRegion") is not None:
        context = rd.opt_obj(phys, "contextRegion", pwhere)
        if context:
            cwhere = f"{pwhere}.contextRegion"
            c_start, c_end = context.get("startLine"), context.get("endLine")
            if c_start is not None and not (type(c_start) is int and 1 <= c_start < INT_LIMIT):
                c_start = _counted(rd, context, "startLine", cwhere)
            if c_end is not None and not (type(c_end) is int and 1 <= c_end < INT_LIMIT):
                c_end = _counted(rd, context, "endLine", cwhere)
            remember_lines(lines, path, c_start, c_end or c_start,
                           rd.opt_str(rd.opt_obj(context, "snippet", cwhere), "text",
                                      f"{cwhere}.snippet"))
    if not text and start is not None:
        text = normaliser.read_lines(path, start, end or start)
    return Location(
        path=path,
        start_line=start,
        end_line=end,
        start_column=column,
        snippet=text,
        function=logical_function(rd, loc, logicals[0], lwhere, logicals[1])
        if "logicalLocations" in loc else "",
    )


def _counted(rd: Reader, region: dict[str, Any], key: str, where: str) -> int | None:
    """A line or column number: an integer from 1 (SARIF 3.30.5-3.30.8), else bad input."""
    return rd.opt_int_from(region, key, where, 1, "lines and columns count from 1")


def remember_lines(
    lines: dict[tuple[str, int], str], path: str, start: int | None, end: int | None, text: str
) -> None:
    """Index the source lines a snippet shows, when its line count fits its region."""
    if not text or not path or start is None or end is None:
        return
    if start == end and "\n" not in text[:-1]:  # one line, the common case
        lines.setdefault((path, start), text.rstrip("\n"))
        return
    parts = text.rstrip("\n").split("\n")
    if len(parts) == end - start + 1:
        for offset, line in enumerate(parts):
            lines.setdefault((path, start + offset), line)


def borrow_snippets(findings: list[Finding], lines: dict[tuple[str, int], str]) -> list[Finding]:
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
                f = changed(f, location=replace(loc, snippet="\n".join(t or "" for t in texts)))
        out.append(f)
    return out


def with_functions(findings: list[Finding], locator: FunctionLocator) -> list[Finding]:
    """Name the enclosing function from the source tree where the log named none."""
    out = []
    for f in findings:
        loc = f.location
        if not loc.function and loc.path:
            function = locator.function_at(loc.path, loc.start_line)
            if function:
                f = changed(f, location=replace(loc, function=function))
        out.append(f)
    return out


def artifact_path(
    rd: Reader,
    art: dict[str, Any],
    where: str,
    normaliser: PathNormaliser,
    base_ids: dict[str, str],
    artifacts: list[Any],
) -> str:
    """An ``artifactLocation``'s file as a repository-relative path ("" when it names none)."""
    uri = rd.opt_str(art, "uri", where)
    base = rd.opt_str(art, "uriBaseId", where)
    index = rd.opt_int(art, "index", where)
    named = f"{where}.uri"
    if not uri and index is not None and 0 <= index < len(artifacts):
        # SARIF 3.4.5: artifactLocation.index points into run.artifacts.
        entry = artifacts[index]
        if isinstance(entry, dict) and isinstance(entry.get("location"), dict):
            uri = str(entry["location"].get("uri") or "")
            base = base or str(entry["location"].get("uriBaseId") or "")
            named = f"{where}.index"
    if not uri:
        return ""
    if len(uri) > MAX_TEXT:  # before any work on it: no path is a megabyte long
        raise rd.fail(named, f"{len(uri):,} characters long, above the limit of {MAX_TEXT:,}")
    path = normaliser.normalise(uri, base_ids.get(base, "") if base else "")
    if path == ".." or path.startswith("../"):
        # A relative path that climbs above the tree it is relative to names no file of the
        # repository (``../../etc/passwd``): the log is wrong, or written to mislead.
        shown = uri if len(uri) <= 120 else f"{uri[:80]}...{uri[-30:]}"
        raise BadInputError(
            place(rd.name, named, f"{shown!r} climbs out of the source root"),
            hint="paths are read relative to the repository's root: run the scanner there, "
                 "so that every file it names lies inside it")
    return path
