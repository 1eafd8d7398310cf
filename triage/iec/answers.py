"""Read a team's answers file: per requirement, the four questions of the legacy method.

Errors are a ``BadInputError`` (exit 3) with one line ``FILE: line L column C: key: what``;
the YAML is composed (not just loaded) so every key keeps its line.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from triage.errors import BadInputError
from triage.iec.records import Answer, AnswerSet, Reply, RequirementTable
from triage.model import SecurityLevel

QUESTIONS = (
    ("followed", "Was this process followed during the initial development?"),
    ("now", "Can it effectively be applied to the product as it currently exists?"),
    ("future", "Can it effectively be applied to future development (new releases)?"),
    ("address", "When it is applied and security issues are identified, which must be addressed?"),
)
"""(answer key, question) for questions 1 to 4, in order."""

TOP_KEYS = ("schema_version", "product", "target_sl", "threat_model", "answers")
ANSWER_KEYS = (*(k for k, _ in QUESTIONS), "note")
_NULL = "tag:yaml.org,2002:null"
_MAX_BYTES = 1 << 20


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, node: yaml.Node, key: str, what: str) -> BadInputError:
        mark = node.start_mark
        return BadInputError(f"{self.source}: line {mark.line + 1} column {mark.column + 1}: "
                             f"{key or 'top level'}: {what}",
                             hint="`triage iec template` writes a valid answers file")

    def mapping(self, node: yaml.Node, key: str) -> list[tuple[str, yaml.Node, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, key, "expected a mapping")
        seen: set[str] = set()
        out: list[tuple[str, yaml.Node, yaml.Node]] = []
        for k, v in node.value:
            if not isinstance(k, yaml.ScalarNode):
                raise self.error(k, key, "keys must be plain strings")
            name = str(k.value)
            if name in seen:
                raise self.error(k, f"{key}.{name}" if key else name, "appears twice")
            seen.add(name)
            out.append((name, k, v))
        return out

    def text(self, node: yaml.Node, key: str) -> str:
        if not isinstance(node, yaml.ScalarNode):
            raise self.error(node, key, "expected a single value")
        return "" if node.tag == _NULL else str(node.value).strip()

    def reply(self, node: yaml.Node, key: str) -> Reply | None:
        value = self.text(node, key)
        if not value:
            return None
        try:
            return Reply(value.lower())
        except ValueError as e:
            raise self.error(node, key, f"expected yes, no or partial, got {value!r}") from e


def parse_answers(text: str, source: str, table: RequirementTable) -> AnswerSet:
    """Parse the text of an answers file against the requirement table."""
    r = _Reader(source)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1} column {mark.column + 1}: " if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise BadInputError(f"{source}: {where}YAML: {problem}") from e
    if root is None:
        raise BadInputError(f"{source}: line 1 column 1: answers: the file is empty",
                            hint="`triage iec template` writes a valid answers file")
    product, threat_model, target_sl = "", "", None
    answers: list[Answer] = []
    for name, key_node, value in r.mapping(root, ""):
        if name not in TOP_KEYS:
            raise r.error(key_node, name, f"unknown key; known: {', '.join(TOP_KEYS)}")
        if name == "schema_version":
            if r.text(value, name) != "1":
                raise r.error(value, name, "only schema_version 1 is known")
        elif name == "product":
            product = r.text(value, name)
        elif name == "threat_model":
            threat_model = r.text(value, name)
        elif name == "target_sl":
            raw = r.text(value, name)
            if raw:
                try:
                    target_sl = SecurityLevel.parse(raw)
                except ValueError as e:
                    raise r.error(value, name, f"expected 1, 2, 3 or 4, got {raw!r}") from e
        elif value.tag != _NULL:
            answers = _answers(r, value, table)
    return AnswerSet(source, product, target_sl, threat_model, tuple(answers))


def _answers(r: _Reader, node: yaml.Node, table: RequirementTable) -> list[Answer]:
    out = []
    for rid, key_node, value in r.mapping(node, "answers"):
        key = f"answers.{rid}"
        if table.get(rid) is None:
            raise r.error(key_node, key, f"unknown requirement; known: "
                                         f"{table.requirements[0].id} .. "
                                         f"{table.requirements[-1].id}")
        fields: dict[str, yaml.Node] = {}
        if value.tag != _NULL:
            for name, k, v in r.mapping(value, key):
                if name not in ANSWER_KEYS:
                    raise r.error(k, f"{key}.{name}",
                                  f"unknown key; known: {', '.join(ANSWER_KEYS)}")
                fields[name] = v

        def reply(name: str, key: str = key, fields: dict[str, yaml.Node] = fields) -> Reply | None:
            return r.reply(fields[name], f"{key}.{name}") if name in fields else None

        def text(name: str, key: str = key, fields: dict[str, yaml.Node] = fields) -> str:
            return r.text(fields[name], f"{key}.{name}") if name in fields else ""

        out.append(Answer(rid, reply("followed"), reply("now"), reply("future"),
                          address=text("address"), note=text("note"),
                          line=key_node.start_mark.line + 1))
    return out


def read_answers(path: Path, table: RequirementTable) -> AnswerSet:
    """Read and validate an answers file."""
    try:
        if path.stat().st_size > _MAX_BYTES:
            raise BadInputError(f"{path}: the file is larger than 1 MiB; an answers file is "
                                "a few hundred lines")
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise BadInputError(f"{path}: not UTF-8 text (byte {e.start})") from e
    except OSError as e:
        raise BadInputError(f"{path}: cannot read: {e.strerror or e}") from e
    return parse_answers(text, str(path), table)
