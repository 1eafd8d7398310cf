"""The enclosing function of a finding: SARIF logicalLocations, Python's ast, tree-sitter C."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from triage.errors import BadInputError
from triage.ingest.functions import (
    FunctionLocator,
    c_functions,
    innermost,
    logical_function,
    python_functions,
)
from triage.ingest.paths import PathNormaliser
from triage.ingest.reader import Reader
from triage.ingest.sarif import read_sarif

REPO = Path(__file__).resolve().parents[2]
PREFAST = REPO / "tests" / "data" / "sarif" / "sarif-sdk__PREfast-TFS378661.sarif"

PYTHON = textwrap.dedent('''\
    """Module docstring."""
    import functools

    TIMEOUT = 3


    def outer(x):
        y = x + 1

        def inner(z):
            return z * 2

        async def waiter():
            await something()

        return inner(y)


    class Framer:
        """A class."""

        size = 7

        @staticmethod
        @functools.cache
        def decode(data):
            return data[1:]

        async def send(self, pdu):
            return pdu

        class Header:
            def parse(self):
                return 0


    print(outer(1))
''')


def at(source: str, line: int) -> str:
    return innermost(python_functions(source.encode()), line)


@pytest.mark.parametrize(("line", "expected"), [
    (1, ""),  # module docstring
    (4, ""),  # module-level assignment
    (7, "outer"),  # the def line
    (8, "outer"),
    (10, "outer.inner"),  # nested function: innermost wins
    (11, "outer.inner"),
    (12, "outer"),  # blank line between the nested definitions belongs to outer
    (13, "outer.waiter"),  # async def
    (14, "outer.waiter"),
    (16, "outer"),
    (19, ""),  # class line: no function
    (22, ""),  # class attribute
    (24, "Framer.decode"),  # first decorator is part of the definition
    (25, "Framer.decode"),
    (27, "Framer.decode"),
    (29, "Framer.send"),  # async method
    (33, "Framer.Header.parse"),  # method of a nested class
    (37, ""),  # module-level call after everything
    (1000, ""),  # past the end
])
def test_python_innermost_function(line: int, expected: str) -> None:
    assert at(PYTHON, line) == expected


def test_python_that_does_not_parse_names_no_function() -> None:
    assert python_functions(b"def f(:\n    pass\n") == ()
    assert python_functions(b"print 'python 2'\n") == ()
    assert python_functions(b"x = 1\x00\n") == ()


C_SOURCE = b"""\
#include <stdint.h>

static int counter;

static int *modbus_reply(modbus_t *ctx, const uint8_t *req, int req_length)
{
    int offset = ctx->backend->header_length;
    return 0;
}

int (*get_handler(int code))(int)
{
    return handlers[code];
}

MB_EXPORT int modbus_client_read(modbus_t *ctx, int addr)
{
    return read_registers(ctx, addr, 1);
}

void old_style(a)
    int a;
{
}
"""


@pytest.mark.parametrize(("line", "expected"), [
    (1, ""),
    (3, ""),
    (5, "modbus_reply"),  # a function returning a pointer
    (7, "modbus_reply"),
    (9, "modbus_reply"),
    (10, ""),
    (13, "get_handler"),  # a function returning a function pointer
    (18, "modbus_client_read"),  # an unexpanded export macro before the type
    (23, "old_style"),  # K&R definition
])
def test_c_innermost_function(line: int, expected: str) -> None:
    assert innermost(c_functions(C_SOURCE), line) == expected


def test_locator_reads_each_file_once_and_only_under_the_root(tmp_path: Path) -> None:
    root = tmp_path / "src"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "mod.py").write_text(PYTHON)
    (root / "proto.c").write_bytes(C_SOURCE)
    (tmp_path / "outside.py").write_text("def secret():\n    return 1\n")
    locator = FunctionLocator(PathNormaliser(root))
    assert locator.function_at("pkg/mod.py", 10) == "outer.inner"
    assert locator.function_at("proto.c", 18) == "modbus_client_read"
    (root / "pkg" / "mod.py").write_text("")  # cached: not read again
    assert locator.function_at("pkg/mod.py", 25) == "Framer.decode"
    # Never outside the root, however the path is written; other languages are not parsed.
    assert locator.function_at("../outside.py", 2) == ""
    assert locator.function_at(str(tmp_path / "outside.py"), 2) == ""
    assert locator.function_at("pkg/missing.py", 2) == ""
    assert locator.function_at("pkg/mod.py", None) == ""
    (root / "link.py").symlink_to(tmp_path / "outside.py")
    assert locator.function_at("link.py", 2) == ""
    # Without a source root, nothing is read.
    assert FunctionLocator(PathNormaliser()).function_at("pkg/mod.py", 10) == ""


def test_prefast_logical_locations_name_the_function() -> None:
    """PREfast writes ``logicalLocations`` with ``index`` into ``run.logicalLocations`` and no
    ``kind``; each result's function is the one its ``properties.funcline`` starts."""
    doc = json.loads(PREFAST.read_bytes())
    results = doc["runs"][0]["results"]
    [scan] = read_sarif([PREFAST])
    got = [(f.location.start_line, f.location.function) for f in scan.findings]
    assert got == [(10, "WritesArray"), (17, "WritesArrayRange"), (29, "WritesArrayLoop"),
                   (40, "WritesArrayCompare")]
    for f, r in zip(scan.findings, results, strict=True):
        [logical] = r["locations"][0]["logicalLocations"]
        cached = doc["runs"][0]["logicalLocations"][logical["index"]]
        assert f.location.function == cached["fullyQualifiedName"]


def test_logical_locations_kinds_and_parents() -> None:
    rd = Reader("t.sarif")
    run = [
        {"name": "Framer", "kind": "type"},
        {"name": "decode", "fullyQualifiedName": "Framer::decode", "kind": "function",
         "parentIndex": 0},
        {"name": "data", "kind": "parameter", "parentIndex": 1},
    ]

    def fn(*entries: object) -> str:
        return logical_function(rd, {"logicalLocations": list(entries)}, run,
                                "runs[0].results[0].locations[0]", "runs[0]")

    assert fn() == ""
    assert fn({"index": 1}) == "Framer::decode"  # fullyQualifiedName first
    assert fn({"name": "poll", "kind": "method"}) == "poll"
    assert fn({"index": 2}) == "Framer::decode"  # a parameter leads to its function
    assert fn({"index": 0}) == ""  # a type is no function
    assert fn({"name": "ns", "kind": "namespace"}, {"name": "f", "kind": "member"}) == "f"
    assert fn({"name": "guess"}, {"name": "f", "kind": "function"}) == "f"  # kinds first
    assert fn({"name": "guess"}) == "guess"
    with pytest.raises(BadInputError, match=r"locations\[0\]\.logicalLocations\[0\]"):
        fn("decode")
