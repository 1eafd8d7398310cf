"""The function or method that encloses a finding, for the threat model's function selectors.

Two sources, in order: the SARIF log's ``logicalLocations`` where the scanner writes them
(SARIF 3.33), else the source tree given with ``--source-root``, parsed by a real parser:
Python's ``ast`` for ``.py`` files, tree-sitter's C grammar for ``.c`` and ``.h`` files.
Each file is parsed once; a file that does not parse, or that is not there, names no
function, and path selectors alone then decide.
"""

from __future__ import annotations

import ast
import bisect
import functools
from dataclasses import dataclass
from typing import Any

from triage.ingest.paths import PathNormaliser
from triage.ingest.reader import Reader

# SARIF 3.33.7: the kinds that name code which runs; "member" is a member function.
FUNCTION_KINDS = frozenset({"function", "method", "member"})
PYTHON_SUFFIXES = (".py", ".pyi")
C_SUFFIXES = (".c", ".h")
_SOURCE_SUFFIXES = PYTHON_SUFFIXES + C_SUFFIXES
MAX_SOURCE_BYTES = 16 * 1024**2
"""A larger file is not parsed (generated tables, amalgamations): its functions are unknown."""
_MAX_PARENTS = 32


def logical_function(
    rd: Reader, location: dict[str, Any], run_logicals: list[Any], where: str, run_where: str
) -> str:
    """The function a result's location names in ``logicalLocations``, or ``""``.

    ``location`` is ``result.locations[0]`` at JSON path ``where``; ``run_logicals`` is
    ``run.logicalLocations`` of the run at ``run_where``, which an entry may point into with
    ``index`` (SARIF 3.33.3). The first entry of a function kind wins; an entry of another
    kind (a variable, a parameter) leads to its function through ``parentIndex`` (SARIF
    3.33.8); failing those, the first entry with no ``kind`` counts, as producers such as
    PREfast omit it for the function. The name is the ``fullyQualifiedName``, else the
    ``name`` (SARIF 3.33.4, 3.33.5).
    """
    entries = rd.opt_arr(location, "logicalLocations", where)
    unkinded = ""
    for i, entry in enumerate(entries):
        ewhere = f"{where}.logicalLocations[{i}]"
        merged = _resolved(rd, rd.obj(entry, ewhere), run_logicals, ewhere, run_where)
        kind = rd.opt_str(merged, "kind", ewhere)
        for _ in range(_MAX_PARENTS):
            if not kind or kind in FUNCTION_KINDS:
                break
            parent = rd.opt_int(merged, "parentIndex", ewhere)
            if parent is None or not 0 <= parent < len(run_logicals):
                break
            ewhere = f"{run_where}.logicalLocations[{parent}]"
            merged = rd.obj(run_logicals[parent], ewhere)
            kind = rd.opt_str(merged, "kind", ewhere)
        name = rd.opt_str(merged, "fullyQualifiedName", ewhere) or rd.opt_str(
            merged, "name", ewhere
        )
        if kind in FUNCTION_KINDS and name:
            return name
        if not kind and name and not unkinded:
            unkinded = name
    return unkinded


def _resolved(
    rd: Reader, entry: dict[str, Any], run_logicals: list[Any], where: str, run_where: str
) -> dict[str, Any]:
    """The entry with what ``run.logicalLocations[index]`` says filled in (SARIF 3.33.3)."""
    index = rd.opt_int(entry, "index", where)
    if index is None or not 0 <= index < len(run_logicals):
        return entry
    cached = rd.obj(run_logicals[index], f"{run_where}.logicalLocations[{index}]")
    return {**cached, **entry}


@dataclass(frozen=True, slots=True)
class _Span:
    """One function definition: its first and last line and its dotted name."""

    start: int
    end: int
    name: str


class FunctionLocator:
    """Answer "which function encloses line N of file P" from the source tree.

    Reads only through the ``PathNormaliser``, so never outside the source root; parses
    each file once and keeps its function spans.
    """

    def __init__(self, normaliser: PathNormaliser) -> None:
        self._normaliser = normaliser
        self._spans: dict[str, tuple[_Span, ...]] = {}

    def function_at(self, path: str, line: int | None) -> str:
        """The innermost function or method of ``path`` containing ``line``, or ``""``."""
        if line is None or line < 1 or not path.endswith(_SOURCE_SUFFIXES):
            return ""
        spans = self._spans.get(path)
        if spans is None:
            spans = self._spans[path] = self._parse(path)
        return innermost(spans, line) if spans else ""

    def _parse(self, path: str) -> tuple[_Span, ...]:
        target = self._normaliser.source_file(path)
        if target is None:
            return ()
        try:
            if target.stat().st_size > MAX_SOURCE_BYTES:
                return ()
            source = target.read_bytes()
        except OSError:
            return ()
        if path.endswith(PYTHON_SUFFIXES):
            return python_functions(source)
        return c_functions(source)


def innermost(spans: tuple[_Span, ...], line: int) -> str:
    """The name of the last-starting span that contains ``line`` (spans sorted by start).

    Definitions nest properly, so the containing span that starts last is the innermost.
    """
    pos = bisect.bisect_right(spans, line, key=lambda s: s.start)
    for span in reversed(spans[:pos]):
        if span.end >= line:
            return span.name
    return ""


def python_functions(source: bytes) -> tuple[_Span, ...]:
    """Every ``def`` and ``async def`` of a Python file, named by its enclosing definitions.

    A method is ``Class.method``, a nested function ``outer.inner``; a definition's span
    starts at its first decorator, which is part of the definition. A file that does not
    parse (Python 2 code, a syntax error) has no known functions.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ()
    out: list[_Span] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    start = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                    out.append(_Span(start, child.end_lineno or child.lineno, name))
                visit(child, f"{name}.")
            else:
                visit(child, prefix)

    visit(tree, "")
    return tuple(sorted(out, key=lambda s: (s.start, -s.end)))


def c_functions(source: bytes) -> tuple[_Span, ...]:
    """Every function definition of a C file, by tree-sitter's C grammar.

    tree-sitter recovers from what it cannot parse (unexpanded macros), so the functions it
    does recognise still count, and the innermost definition around a line wins. Without the
    grammar installed, no function is known.
    """
    parser = _c_parser()
    if parser is None:
        return ()
    tree = parser.parse(source)
    out: list[_Span] = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "function_definition":
            name = _declared_name(node.child_by_field_name("declarator"))
            if name:
                out.append(_Span(node.start_point[0] + 1, node.end_point[0] + 1, name))
        stack.extend(node.named_children)
    return tuple(sorted(out, key=lambda s: (s.start, -s.end)))


@functools.cache
def _c_parser() -> Any:
    """One tree-sitter parser for C, built on first use (None without the grammar)."""
    try:
        import tree_sitter
        import tree_sitter_c
    except ImportError:
        return None
    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_c.language()))


def _declared_name(node: Any) -> str:
    """The identifier a C declarator declares, through pointers and parentheses.

    ``int *(*get_handler(int k))(int)`` declares ``get_handler``: follow each declarator's
    own ``declarator`` field (a parenthesised one has its declarator as its only child).
    """
    for _ in range(_MAX_PARENTS):
        if node is None:
            return ""
        if node.type in ("identifier", "field_identifier"):
            return str(node.text.decode("utf-8", "replace"))
        inner = node.child_by_field_name("declarator")
        node = inner if inner is not None else (
            node.named_children[0] if node.named_children else None
        )
    return ""
