"""The station reads only its own files, in one YAML reading whatever the parser, with texts that
cannot break a systemd unit, and a cache that never serves an old file."""

import os
import subprocess
import sys
from datetime import date, datetime, time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broadcaster.core.settings import Station
from broadcaster.core.timeofday import QuietHours, parse_time
from broadcaster.errors import AnnouncementError, LexiconError, ScheduleError, StationConfigError
from broadcaster.i18n import set_language
from broadcaster.speech.chain import Speaker
from broadcaster.station import yamlfile
from broadcaster.station.announcements import load_announcement
from broadcaster.station.holidays import load_holidays
from broadcaster.station.schedules import ScheduleCache, read_schedules
from broadcaster.station.station_file import load_station
from broadcaster.station.yamlfile import YamlList, YamlMap

SECRET = "mật khẩu của máy: hunter2"
ENTRY = "- id: sang\n  announcement: bluezone\n  times: [06:30]\n"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder beside the station, holding a file the station must never read."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return folder


def link(path: Path, target: Path, content: str) -> None:
    target.write_text(content, encoding="utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target)


def refused(message: str, path: Path) -> None:
    assert message.startswith(f"{path}: "), message
    assert "station" in message and SECRET not in message


# --- containment -------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".txt", ".yaml"])
def test_an_announcement_linked_from_outside_is_refused(
    station: Path, outside: Path, english: None, suffix: str
) -> None:
    path = station / "announcements" / f"bi-mat{suffix}"
    link(path, outside / f"secret{suffix}", f"text: {SECRET}\n")
    with pytest.raises(AnnouncementError) as caught:
        load_announcement(load_station(station, environ={}), "bi-mat")
    refused(caught.value.message, path)


def test_the_lexicon_linked_from_outside_is_refused(
    station: Path, outside: Path, english: None
) -> None:
    path = station / "announcements" / "lexicon.txt"
    path.unlink(missing_ok=True)
    link(path, outside / "lexicon.txt", f"UBND = {SECRET}\n")
    with pytest.raises(LexiconError) as caught:
        Speaker.for_station(load_station(station, environ={}))  # what every broadcast reads
    refused(caught.value.message, path)


def test_the_lexicon_inside_the_station_is_read(station: Path) -> None:
    speaker = Speaker.for_station(load_station(station, environ={}))
    assert speaker.lexicon.entries["UBND"] == "Ủy ban nhân dân"


def test_a_schedule_file_linked_from_outside_is_refused(
    station: Path, outside: Path, english: None
) -> None:
    path = station / "schedules" / "ngoai.yaml"
    link(path, outside / "ngoai.yaml", ENTRY.replace("bluezone", SECRET))
    found = read_schedules(load_station(station, environ={}))
    [problem] = found.problems
    refused(problem, path)
    assert found.entries == ()


def test_a_schedule_file_linked_inside_the_station_is_read(station: Path) -> None:
    (station / "lich-goc.yaml").write_text(ENTRY, encoding="utf-8")
    (station / "schedules").mkdir()
    (station / "schedules" / "lich.yaml").symlink_to(station / "lich-goc.yaml")
    found = read_schedules(load_station(station, environ={}))
    assert (found.problems, [e.id for e in found.entries]) == ((), ["sang"])


def test_a_holidays_file_linked_from_outside_is_refused(
    station: Path, outside: Path, english: None
) -> None:
    path = station / "holidays.yaml"
    link(path, outside / "holidays.yaml", "- 2027-02-06  # Tết\n")
    with pytest.raises(ScheduleError) as caught:
        load_holidays(load_station(station, environ={}))
    refused(caught.value.message, path)


# --- station.yaml texts that reach the systemd unit ---------------------------------------------


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        ('"Đài xã\\nExecStartPre=+/bin/sh -c id"', "Đài xã\\nExecStartPre=+/bin/sh -c id"),
        ("|\n  Đài xã\n  ExecStartPre=+/bin/sh -c id", "Đài xã\\nExecStartPre=+/bin/sh -c id\\n"),
        ('"Đài\\txã"', "Đài\\txã"),
        ('"Đài xã\\u2028ExecStart=/bin/true"', "Đài xã\\u2028ExecStart=/bin/true"),
        ('"Đài\\x00"', "Đài\\x00"),
    ],
    ids=["escaped newline", "block scalar", "tab", "line separator", "nul"],
)
def test_a_name_with_a_control_character_is_refused_at_its_line(
    tmp_path: Path, english: None, written: str, shown: str
) -> None:
    path = tmp_path / "station.yaml"
    path.write_text(f"# trạm\nlanguage: vi\nname: {written}\n", encoding="utf-8")
    with pytest.raises(StationConfigError) as caught:
        load_station(tmp_path, environ={})
    message = caught.value.message
    assert message.startswith(f"{path}:3: 'name: {shown}' is not valid; expected text on one line")
    assert "\n" not in message


def test_a_name_in_vietnamese_with_spaces_is_kept(tmp_path: Path) -> None:
    (tmp_path / "station.yaml").write_text("name: Đài truyền thanh xã Tân Phú\n", encoding="utf-8")
    assert load_station(tmp_path, environ={}).name == "Đài truyền thanh xã Tân Phú"


# --- one grammar for a time of day ------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "start", "end"),
    [
        ("21:00-06:00", time(21), time(6)),
        ("21h-6h", time(21), time(6)),
        ("12h30-13h", time(12, 30), time(13)),
        ("9:00-17:00", time(9), time(17)),
    ],
)
def test_quiet_hours_are_written_as_schedules_write_times(
    tmp_path: Path, written: str, start: time, end: time
) -> None:
    (tmp_path / "station.yaml").write_text(f"quiet_hours: {written}\n", encoding="utf-8")
    quiet = load_station(tmp_path, environ={}).quiet_hours
    assert (quiet.start, quiet.end, str(quiet)) == (start, end, written)
    assert quiet.contains(start) and not quiet.contains(end)


@given(st.times(), st.times(), st.times())
def test_quiet_hours_contain_a_moment_as_a_window_over_midnight_does(
    start: time, end: time, moment: time
) -> None:
    quiet = QuietHours(start, end, "")
    if start < end:
        assert quiet.contains(moment) == (start <= moment < end)
    elif start > end:
        assert quiet.contains(moment) == (moment >= start or moment < end)
    else:
        assert not quiet.contains(moment)


def test_a_time_of_day_has_one_grammar() -> None:
    assert [parse_time(t) for t in ("06:30", "6h30", "17h", "06:30:15", "24:00", "6h3")] == [
        time(6, 30),
        time(6, 30),
        time(17),
        time(6, 30, 15),
        None,
        None,
    ]


# --- the cache -----------------------------------------------------------------------------------


def test_a_changed_file_is_read_again_whatever_its_size_and_time(station: Path) -> None:
    """Same size, same modification time: only the content tells."""
    loaded = load_station(station, environ={})
    cache = ScheduleCache()
    path = station / "schedules" / "lich.yaml"
    path.parent.mkdir()
    path.write_text(ENTRY, encoding="utf-8")
    stamp = path.stat().st_mtime_ns
    first = read_schedules(loaded, cache=cache)
    path.write_text(ENTRY.replace("06:30", "07:30"), encoding="utf-8")
    os.utime(path, ns=(stamp, stamp))
    second = read_schedules(loaded, cache=cache)
    assert [e.rule.times for e in first.entries] == [(time(6, 30),)]
    assert [e.rule.times for e in second.entries] == [(time(7, 30),)]


def test_cached_problems_are_worded_in_the_language_asked(station: Path) -> None:
    loaded = load_station(station, environ={})
    cache = ScheduleCache()
    path = station / "schedules" / "lich.yaml"
    path.parent.mkdir()
    path.write_text(ENTRY + "  colour: red\n", encoding="utf-8")
    try:
        set_language("en")
        english = read_schedules(loaded, cache=cache).problems
        set_language("vi")
        vietnamese = read_schedules(loaded, cache=cache).problems
    finally:
        set_language("vi")
    assert "unknown setting" in english[0] and "unknown setting" not in vietnamese[0]


# --- one reading of YAML, three readers -----------------------------------------------------------

_SCALARS = st.sampled_from(
    [
        "06:30", "6h30", "17h", "T2-T6", "CN", "2026-12-01", "2026-02-30", "3", "-1", "0", "010",
        "0o17", "1_000", "3.5", ".5", "1e3", "true", "True", "yes", "no", "on", "null", "~",
        "Null", "bluezone", "hop to dan pho", "a:b", "http://x/y", "Tết", "2 weeks", "3 tuần",
        "30s", "9" * 30, "-", "x-y", "+1", ".inf", ".nan", "NULL", "FALSE", "= x", "<<",
        "2026-12-01 08:00:00", "a  b", "đ#x",
    ]
)  # fmt: skip
_KEYS = st.sampled_from(["id", "times", "days", "except", "monthly", "gap", "true", "null", "x"])


@st.composite
def _values(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["plain", "double", "single", "seq", "map", "empty"]))
    if kind == "plain":
        return draw(_SCALARS)
    if kind == "double":
        return f'"{draw(_SCALARS)}"'
    if kind == "single":
        return f"'{draw(_SCALARS)}'"
    if kind == "seq":
        items = draw(st.lists(_SCALARS | _SCALARS.map(lambda s: f'"{s}"'), max_size=3))
        return "[" + ", ".join(items) + "]"
    if kind == "map":
        pairs = draw(st.lists(st.tuples(_KEYS, _SCALARS), max_size=3))
        return "{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}"
    return ""


@st.composite
def _files(draw: st.DrawFn) -> str:
    lines = []
    for _entry in range(draw(st.integers(0, 3))):
        pairs = draw(st.lists(st.tuples(_KEYS, _values()), min_size=1, max_size=4))
        for number, (key, value) in enumerate(pairs):
            lead = "- " if number == 0 else "  "
            comment = draw(st.sampled_from(["", "  # ghi chú", " #x"]))
            lines.append(f"{lead}{key}: {value}{comment}")
            if draw(st.booleans()):
                lines.append(draw(st.sampled_from(["", "# chú thích", "  # thụt lề"])))
    return "\n".join(lines) + draw(st.sampled_from(["", "\n"]))


def _shape(data: object) -> object:
    """Values with their lines, to compare readers."""
    if isinstance(data, YamlMap):
        return ("map", data.line, [(k, data.key_lines.get(k), _shape(v)) for k, v in data.items()])
    if isinstance(data, YamlList):
        return ("list", data.line, data.item_lines, [_shape(v) for v in data])
    kind = next(
        (t for t in (bool, int, float, str, datetime, date) if isinstance(data, t)), type(data)
    )  # ruamel.yaml's ScalarInt is an int, its ScalarFloat a float
    return (kind.__name__, str(data))


def _ruamel(text: str) -> object:
    try:
        return _shape(yamlfile._convert(yamlfile._ruamel_load(text, Path("f"), ScheduleError)))
    except ScheduleError as error:
        return error.message


@given(_files())
@settings(max_examples=300, deadline=None)
def test_the_fast_readers_read_as_ruamel_yaml_reads(text: str) -> None:
    expected = _ruamel(text)
    for reader in (yamlfile._list_of_flat_mappings, yamlfile._fast_load):
        try:
            got = _shape(reader(text))
        except (yamlfile._Unsupported, ValueError, Exception):  # left to the next reader
            continue
        assert got == expected, (reader.__name__, text)
    try:
        got = _shape(yamlfile.parse_yaml(text, Path("f"), ScheduleError))
    except ScheduleError as error:
        got = error.message
    assert got == expected


def test_a_generated_schedule_is_read_by_the_line_reader() -> None:
    """The common shape must take the fast path, or 10,000 entries take seconds."""
    text = ENTRY + "  days: T2-T6\n  monthly: {weekday: T2, nth: -1}\n  gap: 30s  # nghỉ\n"
    assert isinstance(yamlfile._list_of_flat_mappings(text), YamlList)


def test_station_modules_load_no_audio_speech_or_scheduler_library() -> None:
    """The CLI starts in a blink only if reading the station loads none of them."""
    modules = ", ".join(
        f"broadcaster.station.{name}"
        for name in (
            "announcements", "holidays", "schedule_check", "schedule_edit", "schedules",
            "station_file", "yamlfile",
        )
    )  # fmt: skip
    heavy = ("numpy", "scipy", "edge_tts", "aiohttp", "apscheduler", "pydub", "miniaudio")
    loaded = subprocess.run(
        [sys.executable, "-c", f"import sys, {modules}; print(' '.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    ).stdout.split()
    assert [name for name in heavy if name in loaded] == []
    assert "broadcaster.station.schedules" in loaded


def test_station_defaults_are_the_documented_ones() -> None:
    assert str(Station(Path(".")).quiet_hours) == "21:00-06:00"
