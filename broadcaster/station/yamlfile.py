"""Reading the YAML files officers edit by hand, with every problem located as `file:line`.

Officers save files from Notepad (byte order marks), paste from Word (control characters) and
leave quotes open: each of these becomes a message naming the line, never a traceback.

Three readers, fastest first, all giving YAML 1.2 core types as ruamel.yaml gives them (`06:30`
and `yes` stay text): line readers for the shapes Loa's own files have (schedules: a list of flat
entries, 10,000 of them in a fraction of a second; `station.yaml`: a mapping of sections;
`holidays.yaml`: a list of values, so that commands start without PyYAML), then libyaml
(PyYAML's C parser) for any other YAML, then ruamel.yaml for whatever those would not read
exactly as it does (a file that does not parse, merge keys, explicit tags, numbers written in
unusual ways, duplicate keys, tabs), so that every message stays the one officers know.
ruamel.yaml also edits files round-trip (`schedule_edit`). tests/test_station_files.py and
tests/test_yaml_line_readers.py check that they agree.
"""

import functools
import re
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedSeq

from broadcaster.errors import LoaError
from broadcaster.files import read_text
from broadcaster.i18n import _

MAX_DEPTH = 100
"""Deeper nesting than this is no Loa file: ruamel.yaml reads it and words the problem."""


class YamlMap(dict[Any, Any]):
    """A mapping read from a file, with the 1-based line of the mapping and of each key."""

    def __init__(self, line: int = 1) -> None:
        super().__init__()
        self.line = line
        self.key_lines: dict[Any, int] = {}


class YamlList(list[Any]):
    """A sequence read from a file, with the 1-based line of the sequence and of each item, and
    the comment ending an item's line (`- 2027-02-06  # Tết` names a holiday)."""

    def __init__(self, line: int = 1) -> None:
        super().__init__()
        self.line = line
        self.item_lines: list[int] = []
        self.comments: dict[int, str] = {}


def load_yaml(path: Path, error: type[LoaError], inside: Path | None = None) -> Any:
    """Parse the file (YAML 1.2, keeping line numbers for later messages); with `inside`, only
    if it is within that directory."""
    return parse_yaml(read_text(path, error, inside), path, error)


def parse_yaml(text: str, path: Path, error: type[LoaError]) -> Any:
    """`text` as YamlMap, YamlList and plain values; problems are worded for `path`."""
    for line_reader in (
        _list_of_flat_mappings,
        _list_of_flat_values,
        _mapping_of_flat_sections,
        _mapping_of_blocks,
    ):
        try:
            return line_reader(text)
        except (_Unsupported, ValueError):
            pass
    import yaml  # type: ignore[import-untyped]  # here: `loa --version` and `--help` read no YAML

    try:
        return _fast_load(text)
    except (yaml.YAMLError, _Unsupported, ValueError, TypeError, RecursionError):
        return _convert(_ruamel_load(text, path, error))


def key_line(mapping: YamlMap, key: object) -> int:
    """The 1-based line of `key`; keys merged in from elsewhere report the mapping's line."""
    return mapping.key_lines.get(key, mapping.line)


def node_line(node: YamlMap | YamlList) -> int:
    return node.line


def item_line(sequence: YamlList, index: int) -> int:
    return sequence.item_lines[index]


# --- the fastest path: a schedule file as officers write it -----------------------------------

_ODD_CHARACTER = re.compile(
    "[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]"
)
"""Tabs, control characters and line breaks other than CR and LF: left to the YAML parsers.
(The characters YAML does not print, listed: the class of those it does, negated, takes 7 ms to
compile, at every start of `loa`.)"""
_PLAIN_START = r"(?:[^\s\-?:,\[\]{}#&*!|>'\"%@`]|-(?=[0-9]))"
_BLOCK_PLAIN = _PLAIN_START + r"(?:[^\s:,\[\]{}#]|:(?=[^\s,\[\]{}])|[ ]+(?=[^\s#]))*"
_FLOW_PLAIN = _PLAIN_START + r"(?:[^\s:,\[\]{}#]|:(?=[^\s,\[\]{}])|[ ]+(?=[^\s#,\]}]))*"
_QUOTED = r"\"[^\"\\]*\"|'[^']*'"
_FLOW_ITEM = rf"(?:{_QUOTED}|{_FLOW_PLAIN})"
_KEY = r"[A-Za-z_][A-Za-z0-9_]*"
_FLOW_SEQ = rf"\[ *(?:{_FLOW_ITEM} *(?:, *{_FLOW_ITEM} *)*(?:, *)?)?\]"
_FLOW_MAP = rf"\{{ *(?:{_KEY}: +{_FLOW_ITEM} *(?:, *{_KEY}: +{_FLOW_ITEM} *)*(?:, *)?)?\}}"
_LINE = re.compile(
    rf"(?P<dash>- +)?(?P<indent> *)(?P<key>{_KEY}):"
    rf"(?:[ ]+(?P<value>{_QUOTED}|{_FLOW_SEQ}|{_FLOW_MAP}|{_BLOCK_PLAIN}))?[ ]*(?:[ ]#.*)?"
)
_ITEM = re.compile(
    rf"- +(?P<value>{_QUOTED}|{_FLOW_SEQ}|{_FLOW_MAP}|{_BLOCK_PLAIN})[ ]*(?:[ ]#(?P<comment>.*))?"
)
_BLANK = re.compile(r" *(?:#.*)?")
_FLOW_PART = re.compile(rf"(?:(?P<key>{_KEY}): +)?(?P<item>{_FLOW_ITEM})")


def _list_of_flat_mappings(text: str) -> YamlList | None:
    """The common shape of a schedule file, read line by line: a list of mappings whose values
    are single-line scalars or flow lists and mappings of scalars (`times: [06:30, 17h]`,
    `monthly: {day: 15}`). Anything else raises _Unsupported, for the YAML parsers."""
    if _ODD_CHARACTER.search(text):
        raise _Unsupported
    entries: YamlList | None = None
    mapping: YamlMap | None = None
    column = 0
    for number, line in enumerate(text.splitlines(), 1):
        found = _LINE.fullmatch(line)
        if found is None:
            if _BLANK.fullmatch(line):
                continue
            raise _Unsupported
        dash, indent, key, value = found.group("dash", "indent", "key", "value")
        if dash:
            if indent:
                raise _Unsupported
            if entries is None:
                entries = YamlList(number)
            mapping = YamlMap(number)
            column = len(dash)
            entries.append(mapping)
            entries.item_lines.append(number)
        elif mapping is None or len(indent) != column:
            raise _Unsupported
        name = _plain(key)
        if name in mapping:
            raise _Unsupported  # a duplicate: ruamel.yaml words it
        mapping.key_lines[name] = number
        mapping[name] = _flat_value(value, number)
    return entries


def _list_of_flat_values(text: str) -> YamlList | None:
    """The shape of `holidays.yaml`, read line by line: a list of single-line values, each with
    the comment ending its line (`- 2027-02-06  # Tết`). Anything else raises _Unsupported."""
    if _ODD_CHARACTER.search(text):
        raise _Unsupported
    items: YamlList | None = None
    for number, line in enumerate(text.splitlines(), 1):
        found = _ITEM.fullmatch(line)
        if found is None:
            if _BLANK.fullmatch(line):
                continue
            raise _Unsupported
        if items is None:
            items = YamlList(number)
        comment = found["comment"]
        items.comments[len(items)] = comment.lstrip("#").strip() if comment else ""
        items.append(_flat_value(found["value"], number))
        items.item_lines.append(number)
    return items


_NO_SECTION = object()
"""No top-level key waits for indented lines: one would be a mistake the YAML parsers word."""


def _mapping_of_flat_sections(text: str) -> YamlMap | None:
    """The shape of `station.yaml`, read line by line: a mapping of single-line values and of
    sections, mappings of such values one level down (`speech:`, then `  voice: vi`). Every
    command reads it first, and PyYAML alone takes longer to import than this takes to read.
    Anything else raises _Unsupported, for the YAML parsers."""
    if _ODD_CHARACTER.search(text):
        raise _Unsupported
    root: YamlMap | None = None
    section: YamlMap | None = None
    waiting: Any = _NO_SECTION  # a top-level key without a value: its section may follow
    column = 0
    for number, line in enumerate(text.splitlines(), 1):
        found = _LINE.fullmatch(line)
        if found is None:
            if _BLANK.fullmatch(line):
                continue
            raise _Unsupported
        dash, indent, key, value = found.group("dash", "indent", "key", "value")
        if dash:
            raise _Unsupported
        if not indent:
            if root is None:
                root = YamlMap(number)
            target, section = root, None
        elif section is not None and len(indent) == column:
            target = section
        elif section is None and root is not None and waiting is not _NO_SECTION:
            target = section = root[waiting] = YamlMap(number)
            column = len(indent)
        else:
            raise _Unsupported
        name = _plain(key)
        if name in target:
            raise _Unsupported  # a duplicate: ruamel.yaml words it
        target.key_lines[name] = number
        target[name] = _flat_value(value, number)
        waiting = name if target is root and value is None else _NO_SECTION
    return root


_BLOCK_KEY = r"[A-Za-z0-9_][A-Za-z0-9_-]*"
"""Keys deeper in `station.yaml` are names officers choose (`vov-giao-thong:`), dashes and all."""
_BLOCK_LINE = re.compile(
    rf"(?P<key>{_BLOCK_KEY}):"
    rf"(?:[ ]+(?P<value>{_QUOTED}|{_FLOW_SEQ}|{_FLOW_MAP}|{_BLOCK_PLAIN}))?[ ]*(?:[ ]#.*)?"
)


def _mapping_of_blocks(text: str) -> YamlMap | None:
    """`station.yaml` with deeper blocks, read line by line: mappings nested by indentation whose
    values are single-line values, mappings or lists of single-line values (`relay_sources:`,
    then `  vov1:`, then `    - https://…`). What `_mapping_of_flat_sections` does not take and
    this one does would otherwise load PyYAML at every command. Anything else raises
    _Unsupported, for the YAML parsers."""
    if _ODD_CHARACTER.search(text):
        raise _Unsupported
    root: YamlMap | None = None
    stack: list[tuple[int, YamlMap | YamlList]] = []
    """The open blocks, outermost first, each with the column its lines start at."""
    waiting: tuple[YamlMap, Any] | None = None  # the key of the line before, without a value
    for number, line in enumerate(text.splitlines(), 1):
        if _BLANK.fullmatch(line):
            continue
        rest = line.lstrip(" ")
        column = len(line) - len(rest)
        pair = _BLOCK_LINE.fullmatch(rest)
        item = _ITEM.fullmatch(rest) if pair is None else None
        if pair is None and item is None:
            raise _Unsupported
        if root is None:
            if column or item is not None:
                raise _Unsupported
            root = YamlMap(number)
            stack.append((0, root))
        if column > stack[-1][0]:
            if waiting is None or len(stack) > MAX_DEPTH:
                raise _Unsupported
            parent, key = waiting
            block: YamlMap | YamlList = YamlList(number) if item is not None else YamlMap(number)
            parent[key] = block
            stack.append((column, block))
        else:
            while stack[-1][0] > column:
                stack.pop()
            if stack[-1][0] != column:
                raise _Unsupported
        waiting = None
        target = stack[-1][1]
        if item is not None:
            if not isinstance(target, YamlList):
                raise _Unsupported
            comment = item["comment"]
            target.comments[len(target)] = comment.lstrip("#").strip() if comment else ""
            target.append(_flat_value(item["value"], number))
            target.item_lines.append(number)
            continue
        assert pair is not None
        if not isinstance(target, YamlMap):
            raise _Unsupported
        name = _plain(pair["key"])
        if name in target:
            raise _Unsupported  # a duplicate: ruamel.yaml words it
        target.key_lines[name] = number
        target[name] = _flat_value(pair["value"], number)
        if pair["value"] is None:
            waiting = (target, name)
    return root


def _flat_value(value: str | None, line: int) -> Any:
    if value is None:
        return None
    first = value[0]
    if first == '"' or first == "'":
        return value[1:-1]
    if first == "[":
        sequence = YamlList(line)
        for part in _FLOW_PART.finditer(value, 1, len(value) - 1):
            if part["key"] is not None:
                raise _Unsupported
            sequence.append(_flow_item(part["item"]))
            sequence.item_lines.append(line)
        return sequence
    if first == "{":
        mapping = YamlMap(line)
        for part in _FLOW_PART.finditer(value, 1, len(value) - 1):
            if part["key"] is None:
                raise _Unsupported
            key = _plain(part["key"])
            if key in mapping:
                raise _Unsupported
            mapping.key_lines[key] = line
            mapping[key] = _flow_item(part["item"])
        return mapping
    return _plain(value)


def _flow_item(item: str) -> Any:
    return item[1:-1] if item[0] in "\"'" else _plain(item)


# --- the fast path: libyaml -------------------------------------------------------------------


class _Unsupported(Exception):
    """Something the fast path leaves to ruamel.yaml, so that it reads exactly as before."""


_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_PLAIN = "!plain"
"""The tag the fast resolver gives every plain scalar: its type is decided when it is built."""
_NULLS = frozenset(("", "~", "null", "Null", "NULL"))
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_FLOAT = re.compile(r"[-+]?[0-9]+\.[0-9]+")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_UNUSUAL = re.compile(
    r"""[-+]?(?:0b[0-1_]+|0o?[0-7_]+|[0-9_]+|0x[0-9a-fA-F_]+)
    |[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)
    |[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9].*
    |<<|=""",
    re.X,
)
"""YAML 1.2 numbers and timestamps ruamel.yaml builds in its own way (`0o17`, `1_000`, `.5`,
`1e3`, moments), merge keys and `=`: left to ruamel.yaml."""


@functools.cache
def _loader() -> Any:
    """libyaml's loader with YAML 1.2's resolution left to `_plain`; PyYAML is imported with the
    first file that needs it, so that commands reading no YAML start at once."""
    import yaml

    class Loader(yaml.CSafeLoader):  # type: ignore[misc]
        def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
            if kind is yaml.ScalarNode:
                return _PLAIN if implicit[0] else _STR
            return _SEQ if kind is yaml.SequenceNode else _MAP

        def descend_resolver(self, current_node: Any, current_index: Any) -> None:
            """No path resolvers: nothing to track."""

        def ascend_resolver(self) -> None:
            """No path resolvers: nothing to track."""

    return Loader


def _fast_load(text: str) -> Any:
    if "\t" in text:
        raise _Unsupported  # ruamel.yaml refuses some tabs that libyaml takes as spaces
    loader = _loader()(text)
    try:
        root = loader.get_single_node()
    finally:
        loader.dispose()
    return None if root is None else _Builder(text).build(root, 0)


class _Builder:
    def __init__(self, text: str) -> None:
        import yaml

        self.scalar, self.sequence, self.mapping = (
            yaml.ScalarNode,
            yaml.SequenceNode,
            yaml.MappingNode,
        )
        self.text = text
        self.lines: list[str] | None = None
        self.built: dict[int, Any] = {}
        """Anchored nodes are built once, as ruamel.yaml builds them."""

    def build(self, node: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise _Unsupported
        if isinstance(node, self.scalar):
            return _scalar(node)
        known = self.built.get(id(node))
        if known is not None:
            return known
        if isinstance(node, self.sequence) and node.tag == _SEQ:
            sequence = YamlList(node.start_mark.line + 1)
            self.built[id(node)] = sequence
            sequence.item_lines = [item.start_mark.line + 1 for item in node.value]
            sequence.comments = (
                {
                    index: self.comment_after(item)
                    for index, item in enumerate(node.value)
                    if isinstance(item, self.scalar)
                }
                if depth == 0
                else {}
            )
            sequence.extend(self.build(item, depth + 1) for item in node.value)
            return sequence
        if isinstance(node, self.mapping) and node.tag == _MAP:
            mapping = YamlMap(node.start_mark.line + 1)
            self.built[id(node)] = mapping
            for key_node, value_node in node.value:
                key = self.build(key_node, depth + 1)
                if isinstance(key, list | dict) or key in mapping:
                    raise _Unsupported  # unhashable or duplicate: ruamel.yaml words it
                mapping.key_lines[key] = key_node.start_mark.line + 1
                mapping[key] = self.build(value_node, depth + 1)
            return mapping
        raise _Unsupported

    def comment_after(self, node: Any) -> str:
        """The comment on the line where a top-level item ends, after it."""
        if self.lines is None:
            self.lines = self.text.splitlines()
        mark = node.end_mark
        if mark.line >= len(self.lines):
            return ""
        found = re.match(r"\s+#(.*)", self.lines[mark.line][mark.column :])
        return found[1].strip() if found else ""


def _scalar(node: Any) -> Any:
    if node.tag == _STR:
        return node.value
    if node.tag != _PLAIN:
        raise _Unsupported
    return _plain(node.value)


def _plain(value: str) -> Any:
    """A plain scalar's value under the YAML 1.2 core schema, as ruamel.yaml builds it. Schedules
    repeat the same times, dates and names thousands of times: each is resolved once."""
    first = value[:1]
    if first and first not in "~nNtTfF<=0123456789+-.":
        return value
    known = _RESOLVED.get(value, _RESOLVED)
    if known is not _RESOLVED:
        return known
    if len(_RESOLVED) > MAX_RESOLVED:
        _RESOLVED.clear()
    resolved = _RESOLVED[value] = _resolve(value)
    return resolved


_RESOLVED: dict[str, Any] = {}
MAX_RESOLVED = 100_000


def _resolve(value: str) -> Any:
    if value in _NULLS:
        return None
    if value in _BOOLS:
        return _BOOLS[value]
    if _INT.fullmatch(value):
        return int(value)
    if _FLOAT.fullmatch(value):
        return float(value)
    if _DATE.fullmatch(value):
        return date.fromisoformat(value)
    if _UNUSUAL.fullmatch(value):
        raise _Unsupported
    return value


# --- ruamel.yaml: the exact message for a file that does not read, and the unusual cases -------


def _ruamel_load(text: str, path: Path, error: type[LoaError]) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError
    from ruamel.yaml.reader import ReaderError

    reader = YAML(typ="rt")
    try:
        return reader.load(text)
    except MarkedYAMLError as problem:
        mark = problem.problem_mark
        if mark is None or mark.index >= len(text.rstrip()):
            mark = problem.context_mark or mark
        last_line = len(text.rstrip().splitlines()) or 1  # a bracket left open at the very end
        line = min(mark.line + 1, last_line) if mark is not None else 1
        if (unclosed := _unclosed(text, line)) is not None:
            line, message = unclosed
            raise error(f"{path}:{line}: {message}") from problem
        reason = str(problem.problem or problem.context or "")
        raise error(f"{path}:{line}: " + _parser_words(reason)) from problem
    except RecursionError as problem:
        raise error(
            f"{path}:1: " + _("the file is nested too deeply to be a Loa file; check its brackets.")
        ) from problem
    except ReaderError as problem:
        line = text[: problem.position].count("\n") + 1
        raise error(
            f"{path}:{line}: "
            + _("this line holds an invisible control character; retype the line.")
        ) from problem
    except (YAMLError, ValueError, TypeError) as problem:
        line = _line_of_unbuildable_value(reader, text)
        raise error(
            f"{path}:{line}: " + _("this value cannot be read ({reason}).").format(reason=problem)
        ) from problem


def _unclosed(text: str, before: int) -> tuple[int, str] | None:
    """The first line up to `before` that opens a double quote or a bracket and does not close
    it: the parser reads on past such a mistake, so the line it started on is the one to fix."""
    example = 'times: ["06:30", "17h"]'
    for number, line in enumerate(text.splitlines()[:before], 1):
        if line.lstrip().startswith("#"):
            continue
        code = line.split(" #", 1)[0] if line.split(" #", 1)[0].count('"') % 2 == 0 else line
        found = re.match(r"\s*(?:-\s+)?(?:[A-Za-z_]\w*:\s+)?(?P<value>.*)$", code)
        value = (found["value"] if found else "").rstrip()
        if code.count('"') % 2:
            mark = '"'
        elif value.startswith("[") and "]" not in value:
            mark = "]"
        elif value.startswith("{") and "}" not in value:
            mark = "}"
        else:
            continue
        return number, _(
            "the closing {mark} is missing on this line: add it where the value ends, e.g. "
            "{example}."
        ).format(mark=mark, example=example)
    return None


def _parser_words(reason: str) -> str:
    """The YAML parser's problem in the officer's words, with what to check."""
    if "\\t" in reason or "tab" in reason:
        return _("this line has a tab: indent with spaces only.")
    if "mapping values are not allowed" in reason:
        return _(
            "a ':' where it cannot be: put a value that holds ':' in double quotes, e.g. "
            'times: ["06:30"]; or check the indentation of this line.'
        )
    if "could not find expected ':'" in reason or "expected <block end>" in reason:
        return _(
            "this line does not fit the lines around it: check its indentation (spaces at "
            "the start) and that each setting is written 'name: value'."
        )
    return _(
        "this is not valid YAML ({problem}): check the quotes, brackets, colons and the "
        "indentation of this line and the one before."
    ).format(problem=reason)


def _convert(data: Any) -> Any:
    """ruamel.yaml's round-trip values as YamlMap and YamlList, with their lines and comments."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    built: dict[int, Any] = {}

    def convert(value: Any) -> Any:
        if not isinstance(value, CommentedMap | CommentedSeq):
            return value
        if id(value) in built:
            return built[id(value)]
        line = int(value.lc.line) + 1 if value.lc.line is not None else 1
        if isinstance(value, CommentedSeq):
            sequence = YamlList(line)
            built[id(value)] = sequence
            sequence.item_lines = [value.lc.item(n)[0] + 1 for n in range(len(value))]
            sequence.comments = {n: _line_comment(value, n) for n in range(len(value))}
            sequence.extend(convert(item) for item in value)
            return sequence
        mapping = YamlMap(line)
        built[id(value)] = mapping
        positions = value.lc.data or {}
        mapping.key_lines = {key: positions[key][0] + 1 for key in value if key in positions}
        mapping.update((key, convert(item)) for key, item in value.items())
        return mapping

    return convert(data)


def _line_comment(data: "CommentedSeq", index: int) -> str:
    tokens = data.ca.items.get(index) or [None]
    text = tokens[0].value if tokens[0] is not None else ""
    first_line = text.split("\n", 1)[0].strip()
    return str(first_line.lstrip("#").strip())


def _line_of_unbuildable_value(reader: "YAML", text: str) -> int:
    """Find the scalar whose explicit tag cannot be built (e.g. `!!float abc`); the exception
    ruamel raises for it carries no position."""
    from ruamel.yaml.error import YAMLError
    from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

    pending: list[Node] = [reader.compose(text)]
    while pending:
        node = pending.pop()
        if isinstance(node, ScalarNode):
            try:
                reader.constructor.construct_object(node, deep=True)
            except (YAMLError, ValueError, TypeError):
                return int(node.start_mark.line) + 1
        elif isinstance(node, MappingNode):
            pending.extend(part for pair in node.value for part in pair)
        elif isinstance(node, SequenceNode):
            pending.extend(node.value)
    return 1
