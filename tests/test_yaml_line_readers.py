"""The line readers for the shapes of `station.yaml` (a mapping of values and of sections one
level down) and `holidays.yaml` (a list of values, each named by its comment) read every file
they take exactly as ruamel.yaml does, and leave every other file to the YAML parsers."""

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from broadcaster.errors import StationConfigError
from broadcaster.station import yamlfile
from broadcaster.station.yamlfile import YamlList, YamlMap
from tests.conftest import ROOT
from tests.test_station_files import _KEYS, _ruamel, _shape, _values

_COMMENTS = st.sampled_from(["", "  # ghi chú", " #x"])
_BETWEEN = st.sampled_from(["", "# chú thích", "  # thụt lề", "    # sâu hơn"])
_HEAD = st.sampled_from(["", "", "# Cấu hình trạm\n", "\n# hai dòng\n"])


@st.composite
def _section_files(draw: st.DrawFn) -> str:
    """Mostly well-formed station files; now and then a line indented wrongly, a list item or a
    value under a key that already has one, which the line reader must refuse."""
    lines = []
    for _key in range(draw(st.integers(0, 4))):
        key = draw(_KEYS)
        if draw(st.booleans()):
            lines.append(f"{key}: {draw(_values())}{draw(_COMMENTS)}")
        else:
            lines.append(f"{key}:{draw(_COMMENTS)}")
            indent = " " * draw(st.sampled_from([2, 4]))
            for _inner in range(draw(st.integers(0, 3))):
                shift = draw(st.sampled_from(["", "", "", "", " ", "  ", "- "]))
                line = f"{indent}{shift}{draw(_KEYS)}: {draw(_values())}{draw(_COMMENTS)}"
                lines.append(line)
                if draw(st.booleans()):
                    lines.append(draw(_BETWEEN))
        if draw(st.booleans()):
            lines.append(draw(_BETWEEN))
    return draw(_HEAD) + "\n".join(lines) + draw(st.sampled_from(["", "\n"]))


@given(_section_files())
@settings(max_examples=400, deadline=None)
def test_the_section_reader_reads_as_ruamel_yaml_reads(text: str) -> None:
    expected = _ruamel(text)
    try:
        got = _shape(yamlfile._mapping_of_flat_sections(text))
    except (yamlfile._Unsupported, ValueError):
        got = None  # left to the YAML parsers
    if got is not None:
        assert got == expected, text
    try:
        whole = _shape(yamlfile.parse_yaml(text, Path("f"), StationConfigError))
    except StationConfigError as error:
        whole = error.message
    assert whole == expected


def test_the_example_station_file_is_read_by_the_line_reader() -> None:
    """Every `loa` command reads station.yaml first: through PyYAML, it costs ~15 ms more."""
    text = (ROOT / "station.yaml").read_text(encoding="utf-8")
    read = yamlfile._mapping_of_flat_sections(text)
    assert isinstance(read, YamlMap) and isinstance(read["speech"], YamlMap)
    assert _shape(read) == _ruamel(text)


def test_the_section_reader_leaves_what_it_cannot_read_exactly() -> None:
    for text in (
        "a: 1\n  b: 2\n",  # a value and a section: an error, worded by ruamel.yaml
        "a:\n  b: 1\n c: 2\n",  # indentation that changes
        "a:\n  b:\n    c: 1\n",  # two levels down
        "a:\n  - 1\n",  # a list
        "a: 1\na: 2\n",  # a duplicate
        "a:\tb\n",  # a tab
    ):
        try:
            yamlfile._mapping_of_flat_sections(text)
        except yamlfile._Unsupported:
            continue
        raise AssertionError(text)


@st.composite
def _value_lists(draw: st.DrawFn) -> str:
    """Holiday lists, with comments ending items and between them; now and then an item that
    is a mapping or is indented, which the line reader must refuse."""
    lines = []
    for _item in range(draw(st.integers(0, 4))):
        lead = draw(st.sampled_from(["- ", "- ", "- ", "-   ", "  - ", "- a: "]))
        comment = draw(st.sampled_from(["", "  # Tết", " #x", "  ## hai dấu ", "  #"]))
        lines.append(f"{lead}{draw(_values())}{comment}")
        if draw(st.booleans()):
            lines.append(draw(_BETWEEN))
    return draw(_HEAD) + "\n".join(lines) + draw(st.sampled_from(["", "\n"]))


def _with_comments(data: object) -> object:
    return (_shape(data), data.comments if isinstance(data, YamlList) else None)


def _ruamel_with_comments(text: str) -> object:
    try:
        read = yamlfile._convert(yamlfile._ruamel_load(text, Path("f"), StationConfigError))
    except StationConfigError as error:
        return error.message
    return _with_comments(read)


@given(_value_lists())
@settings(max_examples=400, deadline=None)
def test_the_list_reader_reads_values_and_comments_as_ruamel_yaml_reads(text: str) -> None:
    try:
        got = _with_comments(yamlfile._list_of_flat_values(text))
    except (yamlfile._Unsupported, ValueError):
        return  # left to the YAML parsers, which test_station_files compares
    assert got == _ruamel_with_comments(text), text


def test_the_example_holidays_are_read_by_the_line_reader() -> None:
    """`loa next` and `loa schedule list` read holidays.yaml: through PyYAML, ~15 ms more."""
    text = (ROOT / "holidays.yaml").read_text(encoding="utf-8")
    read = yamlfile._list_of_flat_values(text)
    assert isinstance(read, YamlList) and read.comments[0] == "Tết Dương lịch"
    assert _with_comments(read) == _ruamel_with_comments(text)
