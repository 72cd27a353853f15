"""Reading the YAML files officers edit by hand, with every problem located as `file:line`.

Officers save files from Notepad (byte order marks), paste from Word (control characters) and
leave quotes open: each of these becomes a message naming the line, never a traceback.
"""

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedBase, CommentedMap
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError

from broadcaster.errors import LoaError, describe_os_error
from broadcaster.i18n import _


def read_text(path: Path, error: type[LoaError]) -> str:
    """The file's text; a byte order mark is dropped, bytes that are not UTF-8 are located."""
    try:
        raw = path.read_bytes()
    except OSError as problem:
        raise error(
            _("Cannot read {file}: {reason}.").format(file=path, reason=describe_os_error(problem))
        ) from problem
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as problem:
        line = raw[: problem.start].count(b"\n") + 1
        raise error(
            f"{path}:{line}: " + _("this line is not UTF-8 text; save the file as UTF-8.")
        ) from problem


def load_yaml(path: Path, error: type[LoaError]) -> Any:
    """Parse the file (YAML 1.2, keeping line numbers for later messages)."""
    text = read_text(path, error)
    yaml = YAML(typ="rt")
    try:
        return yaml.load(text)
    except MarkedYAMLError as problem:
        mark = problem.problem_mark
        if mark is None or mark.index >= len(text.rstrip()):
            mark = problem.context_mark or mark
        last_line = len(text.rstrip().splitlines()) or 1  # a bracket left open at the very end
        line = min(mark.line + 1, last_line) if mark is not None else 1
        reason = problem.problem or problem.context
        raise error(
            f"{path}:{line}: " + _("this is not valid YAML ({problem}).").format(problem=reason)
        ) from problem
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
        line = _line_of_unbuildable_value(yaml, text)
        raise error(
            f"{path}:{line}: " + _("this value cannot be read ({reason}).").format(reason=problem)
        ) from problem


def key_line(mapping: CommentedMap, key: object) -> int:
    """The 1-based line of `key`; keys merged in from elsewhere report the mapping's line."""
    position = (mapping.lc.data or {}).get(key)
    return position[0] + 1 if position else node_line(mapping)


def node_line(node: CommentedBase) -> int:
    return int(node.lc.line) + 1 if node.lc.line is not None else 1


def _line_of_unbuildable_value(yaml: YAML, text: str) -> int:
    """Find the scalar whose explicit tag cannot be built (e.g. `!!float abc`); the exception
    ruamel raises for it carries no position."""
    pending: list[Node] = [yaml.compose(text)]
    while pending:
        node = pending.pop()
        if isinstance(node, ScalarNode):
            try:
                yaml.constructor.construct_object(node, deep=True)
            except (YAMLError, ValueError, TypeError):
                return int(node.start_mark.line) + 1
        elif isinstance(node, MappingNode):
            pending.extend(part for pair in node.value for part in pair)
        elif isinstance(node, SequenceNode):
            pending.extend(node.value)
    return 1
