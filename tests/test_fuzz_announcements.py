"""Property-based fuzzing of the other files officers edit (issue 7, item 3): announcements
(`ID.yaml`, `ID.txt`), the lexicon (`lexicon.txt`) and `station.yaml`.

Whatever is in them, reading raises nothing but the file's own LoaError, located as `file:line:`
on a line the file has (or, when no line applies, naming the file or folder); what is written
correctly reads back exactly.
"""

import os
import re
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from broadcaster.core.models import Announcement
from broadcaster.core.settings import OUTPUT_DEVICES, SAMPLE_RATES, Station
from broadcaster.core.voices import ESPEAK_VOICES, all_voices
from broadcaster.errors import AnnouncementError, LexiconError, StationConfigError
from broadcaster.i18n import LANGUAGES
from broadcaster.speech.normalize import LEXICON_FILE, load_lexicon
from broadcaster.station.announcements import (
    ANNOUNCEMENT_ID,
    ANNOUNCEMENT_KEYS,
    announcement_or_recording,
    list_announcements,
    load_announcement,
)
from broadcaster.station.station_file import STATION_FILE, load_station

ROOT = Path(__file__).resolve().parent.parent
FUZZ = settings(
    max_examples=int(os.environ.get("LOA_FUZZ_EXAMPLES", "50")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
"""Bounded: the whole file runs in seconds (LOA_FUZZ_EXAMPLES=5000 fuzzes deeper). The station is
made once per test; every example rewrites the files it reads."""
LOCATED = re.compile(r"(?P<file>.+?):(?P<line>\d+): \S")
BOM = "\ufeff"
pytestmark = pytest.mark.filterwarnings("ignore::ruamel.yaml.error.ReusedAnchorWarning")
"""`&a` used twice in one generated file: ruamel warns and reads on."""
OFFLINE = {"LOA_EDGE_ENDPOINT": "ws://127.0.0.1:9/x?y"}


@pytest.fixture
def station(tmp_path: Path) -> Station:
    """A station with an empty announcements folder and one recording in it."""
    (tmp_path / "announcements").mkdir()
    (tmp_path / "announcements" / "ghi-am.wav").write_bytes(b"RIFF")  # only its name matters
    (tmp_path / STATION_FILE).write_text("name: thử\nspeech:\n  voice: vi\n", encoding="utf-8")
    return load_station(tmp_path, environ=OFFLINE)


def line_count(data: bytes) -> int:
    """Lines as YAML and editors number them (CRLF, LF or a lone CR ends a line); an empty file
    still has line 1."""
    breaks = len(re.findall(rb"\r\n|\r|\n", data))
    return max(1, breaks + (0 if data.endswith((b"\n", b"\r")) else 1))


PAST_THE_END = "'<stream end>'"
"""ruamel.yaml's words for a file that ends inside a bracket."""


def assert_located(message: str, path: Path, data: bytes) -> int:
    """The message names `path` and a line it has; returns the line."""
    found = LOCATED.match(message)
    assert found and found["file"] == str(path), f"not located in {path}: {message!r}"
    line = int(found["line"])
    if line > line_count(data) and PAST_THE_END in message:
        # known bug in yamlfile.load_yaml, see tests/test_fuzz_schedules.py
        # test_an_unclosed_bracket_is_located_on_a_line_of_the_file
        assert line == len(re.findall(rb"\r\n|\r|\n", data)) + 1, message
        return line_count(data)
    assert 1 <= line <= line_count(data), f"line {line} is not in {path}: {message!r}"
    return line


def yaml_quoted(text: str) -> str:
    """A YAML double-quoted scalar that reads back as `text`, whatever it holds."""
    plain = (c if " " <= c <= "~" and c not in '"\\' else f"\\U{ord(c):08x}" for c in text)
    return '"' + "".join(plain) + '"'


def clear(folder: Path) -> None:
    for path in folder.iterdir():
        if path.name != "ghi-am.wav":
            path.unlink()


# --- announcements ----------------------------------------------------------------------------

LETTERS = (
    "abcdeghiklmnopqrstuvxyàáảãạăắằẳẵặâấầẩẫậđèéẻẽẹêếềểễệìíỉĩịòóỏõọôốồổỗộơớờởỡợùúủũụưứừửữựỳýỷỹỵ"
)
announcement_ids = st.from_regex(
    rf"[{LETTERS}{LETTERS.upper()}0-9][{LETTERS}0-9 .\-]{{0,30}}", fullmatch=True
).filter(lambda name: name.rstrip() == name and name not in ("lexicon",) and ".." not in name)
"""Names officers give: Vietnamese letters, digits, spaces, dots and dashes (no trailing space
or dot pair, which some file systems refuse)."""
texts = st.text(min_size=1, max_size=200)
newlines = st.sampled_from(["\n", "\r\n"])


@given(
    announcement_id=announcement_ids,
    title=st.none() | st.text(max_size=40),
    text=texts,
    voice=st.none() | st.sampled_from(all_voices()),
    order=st.permutations(["title", "text", "voice"]),
    newline=newlines,
    bom=st.sampled_from(["", BOM]),
    decomposed=st.booleans(),
)
@FUZZ
def test_a_yaml_announcement_reads_back_as_written(
    station: Station,
    announcement_id: str,
    title: str | None,
    text: str,
    voice: str | None,
    order: list[str],
    newline: str,
    bom: str,
    decomposed: bool,
) -> None:
    clear(station.announcements_dir)
    values = {"title": title, "text": text, "voice": voice}
    lines = [f"{key}: {yaml_quoted(values[key])}" for key in order if values[key] is not None]
    content = bom + newline.join(["# thông báo", *lines]) + newline
    path = station.announcements_dir / f"{announcement_id}.yaml"
    path.write_bytes(content.encode())
    asked = unicodedata.normalize("NFD" if decomposed else "NFC", announcement_id)
    assert ANNOUNCEMENT_ID.fullmatch(announcement_id)
    assert load_announcement(station, asked) == Announcement(
        id=announcement_id, text=text, title=title or "", voice=voice
    )
    assert list_announcements(station) == [announcement_id]


@given(
    announcement_id=announcement_ids,
    text=st.text(max_size=300),
    newline=newlines,
    bom=st.sampled_from(["", BOM]),
)
@FUZZ
def test_a_text_announcement_reads_back_as_written(
    station: Station, announcement_id: str, text: str, newline: str, bom: str
) -> None:
    clear(station.announcements_dir)
    path = station.announcements_dir / f"{announcement_id}.txt"
    content = (bom + text.replace("\n", newline)).encode()
    path.write_bytes(content)
    loaded = load_announcement(station, announcement_id)
    assert loaded == Announcement(id=announcement_id, text=content.decode("utf-8-sig"))


JUNK = [
    "~",
    "''",
    "true",
    "42",
    "-1.5",
    ".inf",
    "2026-01-01",
    "[]",
    "[a, b]",
    "{}",
    "{text: x}",
    "|\n  Kính thưa bà con\n  họp lúc 14h",
    ">-\n  gấp\n  dòng",
    "&a [*a]",
    "!!binary aGk=",
    "!!float abc",
    "!!int x",
    '"\\0"',
    "'ghi-am.wav'",
    "ghi-am.WAV",
    "../station.yaml",
    "/etc/passwd",
    "ghi-am.wav/..",
    ".",
    "khong-co.mp3",
    "lexicon.txt",
    "vi",
    "vi-VN-HoaiMyNeural",
    "en-US-GuyNeural",
    "9" * 4400,
]
junk_values = st.one_of(
    st.sampled_from(JUNK),
    st.text(max_size=40).map(yaml_quoted),
    st.sampled_from(all_voices()),
)


@st.composite
def messy_announcements(draw: st.DrawFn) -> bytes:
    """Known and unknown settings with right or wrong values, and what Notepad and Word add."""
    keys = draw(
        st.lists(st.sampled_from([*ANNOUNCEMENT_KEYS, "tittle", "giọng", "42"]), max_size=6)
    )
    lines = []
    for key in keys:
        value = draw(st.one_of(texts.map(yaml_quoted), junk_values))
        lines.append(f"{key}:{draw(st.sampled_from([' ', '  ', chr(9)]))}{value}")
    if draw(st.booleans()):
        lines.insert(
            0, draw(st.sampled_from(["- text: x", "just text", "[1]", "---", "%YAML 1.2\n---"]))
        )
    text = draw(st.sampled_from(["", BOM])) + draw(newlines).join(lines)
    return text.encode("utf-8", "surrogatepass")


def damaged_bytes(original: bytes) -> st.SearchStrategy[bytes]:
    @st.composite
    def damage(draw: st.DrawFn) -> bytes:
        data = bytearray(original[: draw(st.integers(0, len(original)))])
        for _ in range(draw(st.integers(0, 4))):
            where = draw(st.integers(0, len(data)))
            piece = draw(
                st.one_of(
                    st.binary(max_size=4),
                    st.sampled_from(
                        [b"\t", b"\r", b"\x00", b"\xef\xbb\xbf", b"'", b'"', b"{", b"|"]
                    ),
                )
            )
            data[where : where + draw(st.integers(0, 3))] = piece
        return bytes(data)

    return damage()


BUNDLED = (ROOT / "announcements" / "bluezone.yaml").read_bytes()
raw_files = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
    damaged_bytes(BUNDLED),
    messy_announcements(),
)


@given(content=raw_files)
@FUZZ
@example(content=b"text: x\nrecording: ../station.yaml\n")
@example(content=b'text: x\nrecording: "\\0"\n')
@example(content=b"text: x\nvoice: [vi]\n")
@example(content=b"text: [\n")
@example(content=b"\xef\xbb\xbftext: x\r\nvoice: vi-VN-NamMinhNeural\r\n")
def test_any_yaml_announcement_loads_or_is_refused_at_its_line(
    station: Station, content: bytes
) -> None:
    clear(station.announcements_dir)
    path = station.announcements_dir / "thong-bao.yaml"
    path.write_bytes(content)
    try:
        loaded = load_announcement(station, "thong-bao")
    except AnnouncementError as error:
        assert_located(error.message, path, content)
        return
    assert isinstance(loaded.text, str) and loaded.text
    assert isinstance(loaded.title, str)
    assert loaded.voice is None or loaded.voice in all_voices()
    if loaded.recording is not None:
        assert Path(loaded.recording).parent == station.announcements_dir.resolve()
        assert Path(loaded.recording).is_file()


@given(content=st.binary(max_size=300) | damaged_bytes(BUNDLED))
@FUZZ
@example(content=b"ok\n\xff\xfe")
@example(content=b"\xef\xbb\xbf\xef\xbb\xbf")
def test_any_text_announcement_loads_or_is_refused_at_its_line(
    station: Station, content: bytes
) -> None:
    clear(station.announcements_dir)
    path = station.announcements_dir / "thong-bao.txt"
    path.write_bytes(content)
    try:
        loaded = load_announcement(station, "thong-bao")
    except AnnouncementError as error:
        assert_located(error.message, path, content)
        return
    assert loaded.text == content.decode("utf-8-sig")


@given(name=st.one_of(st.text(max_size=40), announcement_ids, st.sampled_from(
    ["lexicon", "ghi-am.wav", "ghi-am", "../station", "../station.yaml", "/etc/passwd.wav",
     "announcements/ghi-am.wav", "x/../ghi-am.wav", "\x00.wav", "a" * 300 + ".mp3", ".", "",
     "CON", "ghi-am.wav\x00", "ghi-am.m4a", "..wav"]
)))  # fmt: skip
@FUZZ
def test_any_name_asked_for_is_found_or_refused_by_name(station: Station, name: str) -> None:
    """`loa play NAME` and `say`/`play` over the control channel take any text."""
    clear(station.announcements_dir)
    (station.announcements_dir / "thong-bao.txt").write_text("Kính thưa bà con.")
    for find in (load_announcement, announcement_or_recording):
        try:
            found = find(station, name)
        except AnnouncementError as error:
            folders = (str(station.announcements_dir), str(station.directory.resolve()))
            assert name in error.message or any(f in error.message for f in folders), error.message
            continue
        assert found.id in ("thong-bao", "ghi-am"), found
        if found.recording is not None:
            assert Path(found.recording).resolve().is_relative_to(station.directory.resolve())


# --- the lexicon ------------------------------------------------------------------------------

ABBREVIATIONS = st.from_regex(r"[A-ZĐ][A-ZĐ0-9.]{0,7}", fullmatch=True)
SPOKEN = st.lists(st.text(alphabet=LETTERS, min_size=1, max_size=8), min_size=1, max_size=4).map(
    " ".join
)


@st.composite
def lexicon_lines(draw: st.DrawFn) -> tuple[list[str], dict[str, str]]:
    """Entries written with any spacing, between comments and blank lines."""
    entries = draw(st.dictionaries(ABBREVIATIONS, SPOKEN, max_size=8))
    lines = []
    for written, spoken in entries.items():
        pad = [draw(st.sampled_from(["", " ", "  ", "\t"])) for _ in range(4)]
        comment = draw(st.sampled_from(["", "  # ghi chú", "#x"]))
        if draw(st.booleans()):
            lines.append(draw(st.sampled_from(["", "# Từ viết tắt", "   ", "\t# ="])))
        lines.append(f"{pad[0]}{written}{pad[1]}={pad[2]}{spoken}{pad[3]}{comment}")
    return lines, entries


@given(
    written=lexicon_lines(),
    newline=newlines,
    bom=st.sampled_from(["", BOM]),
    decomposed=st.booleans(),
)
@FUZZ
def test_a_lexicon_reads_back_as_written(
    station: Station,
    written: tuple[list[str], dict[str, str]],
    newline: str,
    bom: str,
    decomposed: bool,
) -> None:
    lines, entries = written
    text = bom + newline.join(lines) + newline
    if decomposed:
        text = unicodedata.normalize("NFD", text)
    path = station.announcements_dir / LEXICON_FILE
    path.write_bytes(text.encode())
    assert dict(load_lexicon(path).entries) == entries


LEXICON_JUNK = [
    "UBND",
    "= Ủy ban",
    "UBND =",
    "a = b = c",
    "UBND = Ủy ban nhân dân",
    "ubnd = ủy ban",
    "  UBND  =  Ủy   ban  ",
    "\u200bUBND = Ủy ban",
    "# chỉ ghi chú = không",
    "=",
    "x=y#z=w",
]


@given(
    content=st.one_of(
        st.binary(max_size=200),
        st.lists(st.one_of(st.sampled_from(LEXICON_JUNK), st.text(max_size=30)), max_size=8).map(
            lambda lines: "\n".join(lines).encode("utf-8", "surrogatepass")
        ),
        damaged_bytes((ROOT / "announcements" / LEXICON_FILE).read_bytes()),
    )
)
@FUZZ
@example(content="UBND = Ủy ban\r\nUBND = Ủy ban nhân dân\r\n".encode())
@example(content=b"A = b\rA = c\r")
def test_any_lexicon_loads_or_is_refused_at_its_line(station: Station, content: bytes) -> None:
    path = station.announcements_dir / LEXICON_FILE
    path.write_bytes(content)
    try:
        lexicon = load_lexicon(path)
    except LexiconError as error:
        assert_located(error.message, path, content)
        return
    for written, spoken in lexicon.entries.items():
        assert written and spoken and "=" not in written + spoken


# --- station.yaml -----------------------------------------------------------------------------

ZONES = ("Asia/Ho_Chi_Minh", "Asia/Bangkok", "UTC", "Europe/Paris")


@st.composite
def valid_stations(draw: st.DrawFn) -> tuple[list[str], dict[str, Any]]:
    """A valid station.yaml with a random choice of settings, and what each must read as."""
    chosen: dict[str, Any] = {}
    root: list[str] = []
    if draw(st.booleans()):
        one_line = st.characters(exclude_categories=("Cc", "Zl", "Zp", "Cs"))
        chosen["name"] = draw(st.text(one_line, max_size=30))  # control characters: refused
        root.append(f"name: {yaml_quoted(chosen['name'])}")
    if draw(st.booleans()):
        chosen["language"] = draw(st.sampled_from(LANGUAGES))
        root.append(f"language: {chosen['language']}")
    if draw(st.booleans()):
        chosen["timezone"] = draw(st.sampled_from(ZONES))
        root.append(f"timezone: {chosen['timezone']}")
    if draw(st.booleans()):
        start, end = draw(st.integers(0, 23)), draw(st.integers(0, 23))
        minute = draw(st.integers(0, 59))
        chosen["quiet_hours"] = f"{start:02d}:{minute:02d}-{end:02d}:00"
        root.append(f'quiet_hours: "{chosen["quiet_hours"]}"')
    if draw(st.booleans()):
        chosen["require_approval"] = draw(st.booleans())
        root.append(f"require_approval: {str(chosen['require_approval']).lower()}")
    if draw(st.booleans()):
        chosen["max_recording_minutes"] = draw(st.integers(1, 600))
        root.append(f"max_recording_minutes: {chosen['max_recording_minutes']}")
    speech: list[str] = []
    if draw(st.booleans()):
        chosen["voice"] = draw(st.sampled_from(all_voices()))
        speech.append(f"voice: {chosen['voice']}")
    for key, unit, low, high in (("rate", "%", -50, 100), ("pitch", "Hz", -50, 50)):
        if draw(st.booleans()):
            chosen[key] = f"{draw(st.integers(low, high)):+d}{unit}"
            speech.append(f'{key}: "{chosen[key]}"')
    if draw(st.booleans()):
        chosen["fallback_voice"] = draw(st.sampled_from(ESPEAK_VOICES))
        speech.append(f"fallback_voice: {chosen['fallback_voice']}")
    if draw(st.booleans()):
        chosen["cache_max_mb"] = draw(st.integers(10, 100_000))
        speech.append(f"cache_max_mb: {chosen['cache_max_mb']}")
    output: list[str] = []
    if draw(st.booleans()):
        chosen["device"] = draw(st.sampled_from(OUTPUT_DEVICES))
        output.append(f"device: {chosen['device']}")
    if draw(st.booleans()):
        chosen["sample_rate"] = draw(st.sampled_from(SAMPLE_RATES))
        output.append(f"sample_rate: {chosen['sample_rate']}")
    if draw(st.booleans()):
        chosen["channels"] = draw(st.sampled_from([1, 2]))
        output.append(f"channels: {chosen['channels']}")
    if draw(st.booleans()):
        chosen["loudness_lufs"] = draw(st.integers(-30, -10))
        output.append(f"loudness_lufs: {chosen['loudness_lufs']}")
    sessions: list[str] = []
    if draw(st.booleans()):
        chosen["per_day"] = draw(st.integers(1, 24))
        sessions.append(f"per_day: {chosen['per_day']}")
    lines = list(root)
    for section, body in (("speech", speech), ("output", output), ("sessions", sessions)):
        if body or draw(st.booleans()):
            lines += [f"{section}:", *(f"  {line}" for line in body)]
    return lines, chosen


@given(config=valid_stations(), newline=newlines, bom=st.sampled_from(["", BOM]))
@FUZZ
def test_a_valid_station_file_reads_back_as_written(
    station: Station, config: tuple[list[str], dict[str, Any]], newline: str, bom: str
) -> None:
    lines, chosen = config
    path = station.directory / STATION_FILE
    path.write_bytes((bom + newline.join(["# trạm", *lines]) + newline).encode())
    read = load_station(station.directory, environ=OFFLINE)
    default = Station(station.directory)
    assert read.name == chosen.get("name", "")
    assert read.language == chosen.get("language", default.language)
    assert read.timezone == chosen.get("timezone", default.timezone)
    assert str(read.quiet_hours) == chosen.get("quiet_hours", str(default.quiet_hours))
    assert read.require_approval == chosen.get("require_approval", False)
    assert read.max_recording_minutes == chosen.get("max_recording_minutes", 60)
    assert read.speech.voice == chosen.get("voice", default.speech.voice)
    assert read.speech.rate == chosen.get("rate", "+0%")
    assert read.speech.pitch == chosen.get("pitch", "+0Hz")
    assert read.speech.fallback_voice == chosen.get("fallback_voice", "vi")
    assert read.speech.cache_max_mb == chosen.get("cache_max_mb", 500)
    assert read.speech.edge_endpoint == OFFLINE["LOA_EDGE_ENDPOINT"]
    assert read.output.device == chosen.get("device", "simpleaudio")
    assert read.output.sample_rate == chosen.get("sample_rate", 44100)
    assert read.output.channels == chosen.get("channels", 1)
    assert read.output.loudness_lufs == chosen.get("loudness_lufs", -16.0)
    assert read.sessions.per_day == chosen.get("per_day", 2)


STATION_KEYS = {
    None: ["name", "language", "timezone", "quiet_hours", "require_approval", "sessions",
           "max_recording_minutes", "speech", "output", "jingles", "music_bed", "colour"],
    "speech": ["voice", "rate", "pitch", "volume", "cache_max_mb", "fallback_voice",
               "edge_endpoint", "proxy", "speed"],
    "output": ["device", "sample_rate", "channels", "loudness_lufs", "true_peak_dbtp", "volume"],
    "jingles": ["intro", "outro", "attention", "bell"],
    "music_bed": ["file", "level_lu", "duck_lu"],
    "sessions": ["per_day", "minutes", "days_per_week"],
}  # fmt: skip
STATION_VALUES = [
    *JUNK,
    "vi",
    "en",
    "Asia/Ho_Chi_Minh",
    "Asia",
    "../../etc/passwd",
    "'21:00-06:00'",
    "'24:00-06:00'",
    "'+10%'",
    "'+101%'",
    "'-5Hz'",
    "10%",
    "simpleaudio",
    "silent",
    "44100",
    "44100.0",
    "48000",
    "1",
    "2",
    "3",
    "-16",
    "-16.5",
    "0",
    "ws://127.0.0.1:9/x?y",
    "wss://host/path",
    "http://proxy:3128",
    "ghi-am.wav",
    "announcements/ghi-am.wav",
    "/etc/hosts.wav",
    "station.yaml",
    "'\\0.wav'",
]


@st.composite
def messy_stations(draw: st.DrawFn) -> bytes:
    lines = []
    sections = ("speech", "output", "jingles", "music_bed", "sessions")
    for key in draw(st.lists(st.sampled_from(STATION_KEYS[None]), max_size=6, unique=True)):
        if key in sections and draw(st.sampled_from(range(5))):
            lines.append(f"{key}:")
            for inner in draw(
                st.lists(st.sampled_from(STATION_KEYS[key]), max_size=4, unique=True)
            ):
                value = draw(
                    st.one_of(
                        st.sampled_from(STATION_VALUES), st.text(max_size=20).map(yaml_quoted)
                    )
                )
                lines.append(f"  {inner}: {value}")
        else:
            lines.append(f"{key}: {draw(st.sampled_from(STATION_VALUES))}")
    return (draw(st.sampled_from(["", BOM])) + draw(newlines).join(lines)).encode()


@given(
    content=st.one_of(
        messy_stations(),
        st.binary(max_size=200),
        damaged_bytes((ROOT / STATION_FILE).read_bytes()),
    )
)
@FUZZ
@example(content=b"speech: [vi]\n")
@example(content=b"timezone: ../../etc/passwd\n")
@example(content=b"jingles:\n  intro: ../../../etc/hosts.wav\n")
@example(content=b"output:\n  sample_rate: 44100.0\n  channels: true\n")
def test_any_station_file_loads_or_is_refused_at_its_line(station: Station, content: bytes) -> None:
    path = station.directory / STATION_FILE
    path.write_bytes(content)
    try:
        load_station(station.directory, environ=OFFLINE)
    except StationConfigError as error:
        assert_located(error.message, path, content)
