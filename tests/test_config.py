"""station.yaml: documented defaults, every bad value reported at its file:line, station lookup."""

import os
from pathlib import Path

import pytest

from broadcaster.core.settings import OutputSettings, SessionLimits, SpeechSettings, Station
from broadcaster.errors import StationConfigError, StationNotFoundError
from broadcaster.station.station_file import (
    CHECKOUT_DIR,
    EDGE_ENDPOINT_ENV,
    STATION_ENV,
    find_station,
    load_station,
)

ROOT = Path(__file__).resolve().parent.parent

DEFAULT_SPEECH = SpeechSettings(
    voice="vi-VN-HoaiMyNeural",
    rate="+0%",
    fallback_voice="vi",
    edge_endpoint=None,
    proxy=None,
)
DEFAULT_OUTPUT = OutputSettings(device="simpleaudio", sample_rate=44100, channels=1)


def write_station(directory: Path, text: str) -> Path:
    """A station directory whose station.yaml holds `text`; returns the station.yaml path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "station.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def config_error(directory: Path, text: str) -> tuple[Path, str]:
    """Write `text` as station.yaml, load it, and return (station.yaml path, error message)."""
    path = write_station(directory, text)
    with pytest.raises(StationConfigError) as caught:
        load_station(directory, environ={})
    return path, caught.value.message


def assert_at(message: str, path: Path, line: int) -> None:
    assert message.startswith(f"{path}:{line}: "), message


# --- defaults -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["", "\n\n", "# chỉ có ghi chú\n# only comments\n", "---\n"],
    ids=["empty", "blank-lines", "comments", "empty-document"],
)
def test_an_empty_station_yaml_gives_every_default(tmp_path: Path, text: str) -> None:
    write_station(tmp_path, text)
    station = load_station(tmp_path, environ={})
    assert station.directory == tmp_path
    assert station.name == ""
    assert station.language == "vi"
    assert station.timezone == "Asia/Ho_Chi_Minh"
    assert str(station.quiet_hours) == "21:00-06:00"
    assert station.speech == DEFAULT_SPEECH
    assert station.output == DEFAULT_OUTPUT
    assert dict(station.jingles) == {}
    assert station.announcements_dir == tmp_path / "announcements"
    assert station.cache_dir == tmp_path / "audio_cache"


def test_a_minimal_station_yaml_keeps_the_other_defaults(tmp_path: Path) -> None:
    write_station(tmp_path, "name: Đài truyền thanh xã Tân Phú\n")
    station = load_station(tmp_path, environ={})
    assert station.name == "Đài truyền thanh xã Tân Phú"
    assert (station.language, station.timezone, str(station.quiet_hours)) == (
        "vi",
        "Asia/Ho_Chi_Minh",
        "21:00-06:00",
    )
    assert station.speech == DEFAULT_SPEECH
    assert station.output == DEFAULT_OUTPUT


def test_empty_values_and_empty_sections_mean_the_default(tmp_path: Path) -> None:
    write_station(
        tmp_path,
        "language:\ntimezone:\nquiet_hours:\n"
        "speech:\n  voice:\n  rate:\n  edge_endpoint:\n  proxy:\n"
        "output:\njingles:\n  intro:\n  outro: ''\n",
    )
    station = load_station(tmp_path, environ={})
    assert station.language == "vi"
    assert station.speech == DEFAULT_SPEECH
    assert station.output == DEFAULT_OUTPUT
    assert dict(station.jingles) == {}


def test_the_bundled_station_yaml_loads_and_writes_down_the_real_defaults() -> None:
    station = load_station(ROOT, environ={})
    assert station.directory == ROOT
    assert station.name == "Đài truyền thanh xã (ví dụ)"
    # Its comments promise "Loa uses the default written here": the values must match.
    assert station.language == Station.language == "vi"
    assert station.timezone == Station.timezone
    assert station.quiet_hours == Station(ROOT).quiet_hours
    assert station.speech == DEFAULT_SPEECH == SpeechSettings()
    assert station.output == DEFAULT_OUTPUT == OutputSettings()
    assert dict(station.jingles) == {}
    assert station.require_approval is Station.require_approval is False
    assert station.sessions == SessionLimits() == SessionLimits(2, 45, 7)


def test_approval_and_session_caps_can_be_set(tmp_path: Path) -> None:
    write_station(
        tmp_path,
        "require_approval: true\nsessions:\n  per_day: 2\n  minutes: 15\n  days_per_week: 5\n",
    )
    station = load_station(tmp_path, environ={})
    assert station.require_approval is True
    assert station.sessions == SessionLimits(per_day=2, minutes=15, days_per_week=5)


@pytest.mark.parametrize(
    ("body", "line", "shown"),
    [
        ("require_approval: yes\n", 1, "'require_approval: yes'"),
        ("require_approval: 1\n", 1, "'require_approval: 1'"),
        ("sessions:\n  per_day: 0\n", 2, "'per_day: 0'"),
        ("sessions:\n  minutes: 15.5\n", 2, "'minutes: 15.5'"),
        ("sessions:\n  days_per_week: 8\n", 2, "'days_per_week: 8'"),
        ("sessions:\n  weeks: 1\n", 2, "'weeks'"),
        ("sessions: 2\n", 1, "'sessions'"),
    ],
)
def test_bad_approval_and_session_settings_are_located(
    tmp_path: Path, body: str, line: int, shown: str
) -> None:
    path, message = config_error(tmp_path, body)
    assert_at(message, path, line)
    assert shown in message


def test_every_setting_can_be_changed(tmp_path: Path) -> None:
    (tmp_path / "nhac").mkdir(parents=True)
    (tmp_path / "nhac" / "mo-dau.wav").write_bytes(b"RIFF")
    (tmp_path / "ket-thuc.mp3").write_bytes(b"ID3")
    write_station(
        tmp_path,
        "name: Đài xã Hòa Bình\n"
        "language: en\n"
        "timezone: Asia/Bangkok\n"
        "quiet_hours: 22:30-05:00\n"  # unquoted: YAML 1.2 keeps it a string
        "speech:\n"
        "  voice: vi-VN-NamMinhNeural\n"
        "  rate: -10%\n"
        "  fallback_voice: vi-vn-x-south\n"
        "  edge_endpoint: wss://tts.example.vn/edge/v1?TrustedClientToken=abc\n"
        "  proxy: http://10.0.0.1:3128\n"
        "output:\n"
        "  device: simpleaudio\n"
        "  sample_rate: 48000\n"
        "  channels: 2\n"
        "jingles:\n"
        "  intro: nhac/mo-dau.wav\n"
        "  outro: ket-thuc.mp3\n",
    )
    station = load_station(tmp_path, environ={})
    assert station.name == "Đài xã Hòa Bình"
    assert station.language == "en"
    assert station.timezone == "Asia/Bangkok"
    assert str(station.quiet_hours) == "22:30-05:00"
    assert station.speech == SpeechSettings(
        voice="vi-VN-NamMinhNeural",
        rate="-10%",
        fallback_voice="vi-vn-x-south",
        edge_endpoint="wss://tts.example.vn/edge/v1?TrustedClientToken=abc",
        proxy="http://10.0.0.1:3128",
    )
    assert station.output == OutputSettings(device="simpleaudio", sample_rate=48000, channels=2)
    assert dict(station.jingles) == {
        "intro": tmp_path / "nhac" / "mo-dau.wav",
        "outro": tmp_path / "ket-thuc.mp3",
    }


def test_a_station_yaml_saved_with_a_byte_order_mark_loads(tmp_path: Path) -> None:
    """Windows Notepad used to start UTF-8 files with a BOM."""
    (tmp_path / "station.yaml").write_bytes("name: Đài xã\nlanguage: en\n".encode("utf-8-sig"))
    station = load_station(tmp_path, environ={})
    assert (station.name, station.language) == ("Đài xã", "en")


# --- LOA_EDGE_ENDPOINT ------------------------------------------------------------------------

FILE_ENDPOINT = "wss://file.example.vn/edge/v1?token=file"
ENV_ENDPOINT = "ws://127.0.0.1:9/edge/v1?TrustedClientToken=env"


def test_loa_edge_endpoint_overrides_the_file(tmp_path: Path) -> None:
    write_station(tmp_path, f"speech:\n  edge_endpoint: {FILE_ENDPOINT}\n")
    assert load_station(tmp_path, environ={}).speech.edge_endpoint == FILE_ENDPOINT
    overridden = load_station(tmp_path, environ={EDGE_ENDPOINT_ENV: ENV_ENDPOINT})
    assert overridden.speech.edge_endpoint == ENV_ENDPOINT
    # An empty variable does not count as set.
    assert load_station(tmp_path, environ={EDGE_ENDPOINT_ENV: ""}).speech.edge_endpoint == (
        FILE_ENDPOINT
    )


def test_loa_edge_endpoint_applies_without_any_endpoint_in_the_file(tmp_path: Path) -> None:
    write_station(tmp_path, "")
    station = load_station(tmp_path, environ={EDGE_ENDPOINT_ENV: ENV_ENDPOINT})
    assert station.speech.edge_endpoint == ENV_ENDPOINT


def test_load_station_reads_the_real_environment_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_station(tmp_path, "")
    monkeypatch.setenv(EDGE_ENDPOINT_ENV, ENV_ENDPOINT)
    assert load_station(tmp_path).speech.edge_endpoint == ENV_ENDPOINT


# --- bad values, each at its own line ----------------------------------------------------------

HEADER = "# Cấu hình trạm\n# dòng ghi chú thứ hai\nname: Đài xã\n"
"""Three lines before the line under test, so that a line number of 1 is never right by luck."""


@pytest.mark.parametrize(
    ("body", "line", "shown"),
    [
        # unknown keys, at the top level and in each section
        ("language: vi\ncolour: red\n", 5, "'colour'"),
        ("speech:\n  voice: vi\n  speed: 80\n", 6, "'speed'"),
        ("speech:\n  voice: vi\n  volume: 80\n", 6, "'volume: 80'"),
        ("output:\n  device: simpleaudio\n\n  gain: 3\n", 7, "'gain'"),
        ("jingles:\n  intro:\n  closing: bye.wav\n", 6, "'closing'"),
        ("Speech:\n  voice: vi\n", 4, "'Speech'"),
        # values
        ("language: fr\n", 4, "'language: fr'"),
        ("language: vi-VN\n", 4, "'language: vi-VN'"),
        ("timezone: UTC\nlanguage: vi\ntimezone2: x\n", 6, "'timezone2'"),
        ("timezone: Asia/Hanoi\n", 4, "'timezone: Asia/Hanoi'"),
        ("timezone: GMT+7\n", 4, "'timezone: GMT+7'"),
        ("timezone: America\n", 4, "'timezone: America'"),
        ("timezone: ../../etc/passwd\n", 4, "'timezone: ../../etc/passwd'"),
        ("speech:\n  rate: 10%\n", 5, "'rate: 10%'"),
        ("speech:\n  voice: vi\n  rate: '+10'\n", 6, "'rate: +10'"),
        ("speech:\n  rate: nhanh\n", 5, "'rate: nhanh'"),
        ("speech:\n  rate: 10\n", 5, "'rate: 10'"),
        ("quiet_hours: 24:00-06:00\n", 4, "'quiet_hours: 24:00-06:00'"),
        ("quiet_hours: '21:00 - 06:00'\n", 4, "'quiet_hours: 21:00 - 06:00'"),
        ("quiet_hours: 21:00-06:00-07:00\n", 4, "'quiet_hours: 21:00-06:00-07:00'"),
        ("quiet_hours: 21h\n", 4, "'quiet_hours: 21h'"),
        ("quiet_hours: 21:60-06:00\n", 4, "'quiet_hours: 21:60-06:00'"),
        ("output:\n  sample_rate: 44000\n", 5, "'sample_rate: 44000'"),
        ("output:\n  channels: 1\n  sample_rate: '44100'\n", 6, "'sample_rate: 44100'"),
        ("output:\n  sample_rate: 0\n", 5, "'sample_rate: 0'"),
        ("output:\n  channels: 3\n", 5, "'channels: 3'"),
        ("output:\n  device: hw:0\n", 5, "'device: hw:0'"),
        ("speech:\n  voice: HoaiMy\n", 5, "'voice: HoaiMy'"),
        ("speech:\n  fallback_voice: vi-VN-HoaiMyNeural\n", 5, "'fallback_voice: vi-VN-Hoai"),
        ("speech:\n  edge_endpoint: https://x/y?z\n", 5, "'edge_endpoint: https://x/y?z'"),
        ("speech:\n  proxy: 10.0.0.1:3128\n", 5, "'proxy: 10.0.0.1:3128'"),
        ("\nname2: x\n", 5, "'name2'"),
    ],
)
def test_a_bad_setting_is_reported_at_its_line(
    tmp_path: Path, body: str, line: int, shown: str
) -> None:
    path, message = config_error(tmp_path, HEADER + body)
    assert_at(message, path, line)
    assert shown in message


def test_a_name_that_is_not_text_is_reported_at_its_line(tmp_path: Path) -> None:
    path, message = config_error(tmp_path, "# trạm\nlanguage: vi\nname: 123\n")
    assert_at(message, path, 3)
    assert "'name: 123'" in message


@pytest.mark.parametrize(
    ("body", "line", "section"),
    [
        ("speech: vi-VN-HoaiMyNeural\n", 4, "'speech'"),
        ("language: vi\noutput: [44100, 1]\n", 5, "'output'"),
        ("jingles: chuong.wav\n", 4, "'jingles'"),
        ("jingles:\n- intro.wav\n", 4, "'jingles'"),
    ],
)
def test_a_section_that_is_not_a_group_of_settings_is_reported_at_its_line(
    tmp_path: Path, body: str, line: int, section: str
) -> None:
    path, message = config_error(tmp_path, HEADER + body)
    assert_at(message, path, line)
    assert section in message


@pytest.mark.parametrize("text", ["- name: a\n- language: vi\n", "Đài xã\n", "42\n"])
def test_a_station_yaml_that_is_not_a_group_of_settings_is_refused(
    tmp_path: Path, text: str
) -> None:
    path, message = config_error(tmp_path, text)
    assert_at(message, path, 1)
    assert "station.yaml" in message.removeprefix(f"{path}:1: ")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("name: a\nlanguage: vi: en\n", 2),  # mapping values are not allowed here
        ("name: a\nspeech:\n\tvoice: vi\n", 3),  # a tab for indentation
        ("name: a\nlanguage: vi\n\nlanguage: en\n", 4),  # the second of two equal keys
        ("# c\n# c\n# c\nname: *dai\n", 4),  # an undefined alias
    ],
    ids=["mapping-value", "tab", "duplicate-key", "undefined-alias"],
)
def test_invalid_yaml_is_reported_at_its_line(tmp_path: Path, text: str, line: int) -> None:
    path, message = config_error(tmp_path, text)
    assert_at(message, path, line)


def test_a_station_yaml_that_cannot_be_read_is_reported_with_its_path(tmp_path: Path) -> None:
    (tmp_path / "station.yaml").mkdir()  # unreadable as a file, even for root
    with pytest.raises(StationConfigError) as caught:
        load_station(tmp_path, environ={})
    assert str(tmp_path / "station.yaml") in caught.value.message


NOT_UTF8 = b"# tram\nlanguage: vi\nname: \xd0\xe0i x\xe3\n"
"""Line 3 is Vietnamese in the Windows-1258 code page, not UTF-8."""


def test_a_station_yaml_that_is_not_utf8_is_refused_with_its_path(tmp_path: Path) -> None:
    (tmp_path / "station.yaml").write_bytes(NOT_UTF8)
    with pytest.raises(StationConfigError) as caught:
        load_station(tmp_path, environ={})
    assert str(tmp_path / "station.yaml") in caught.value.message


def test_a_station_yaml_that_is_not_utf8_is_reported_at_the_bad_line(tmp_path: Path) -> None:
    (tmp_path / "station.yaml").write_bytes(NOT_UTF8)
    with pytest.raises(StationConfigError) as caught:
        load_station(tmp_path, environ={})
    assert_at(caught.value.message, tmp_path / "station.yaml", 3)


def test_an_unclosed_quote_is_reported_where_it_opens(tmp_path: Path) -> None:
    path, message = config_error(
        tmp_path, 'name: "Đài xã\nlanguage: vi\ntimezone: UTC\nspeech:\n  voice: vi\n'
    )
    assert_at(message, path, 1)


def test_a_control_character_is_reported_at_its_line(tmp_path: Path) -> None:
    path, message = config_error(tmp_path, "language: vi\nname: Đài\x0bxã\n")
    assert_at(message, path, 2)


def test_a_bad_explicit_tag_is_reported_at_its_line(tmp_path: Path) -> None:
    path, message = config_error(tmp_path, "output:\n  sample_rate: !!float abc\n")
    assert_at(message, path, 2)


def test_unknown_keys_brought_in_by_a_merge_are_reported_at_the_merge_line(
    tmp_path: Path,
) -> None:
    path, message = config_error(tmp_path, "output: &o\n  device: simpleaudio\nspeech:\n  <<: *o\n")
    assert_at(message, path, 4)
    assert "'device'" in message


def test_a_line_without_a_key_is_reported_at_its_line(tmp_path: Path) -> None:
    path, message = config_error(tmp_path, "# c\nname: a\n: b\n")
    assert_at(message, path, 3)


@pytest.mark.parametrize(
    ("body", "line"),
    [("output:\n  channels: true\n", 5), ("output:\n  sample_rate: 48000.0\n", 5)],
    ids=["bool-channels", "float-rate"],
)
def test_numbers_of_the_wrong_type_are_refused(tmp_path: Path, body: str, line: int) -> None:
    path, message = config_error(tmp_path, HEADER + body)
    assert_at(message, path, line)


# --- jingles ----------------------------------------------------------------------------------


def test_a_jingle_file_that_does_not_exist_is_reported_at_its_line(tmp_path: Path) -> None:
    path, message = config_error(tmp_path, HEADER + "jingles:\n  intro:\n  outro: nhac-hieu.mp3\n")
    assert_at(message, path, 6)
    assert "'outro: nhac-hieu.mp3'" in message


def test_a_jingle_that_is_a_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "nhac").mkdir()
    path, message = config_error(tmp_path, "jingles:\n  attention: nhac\n")
    assert_at(message, path, 2)


def test_a_jingle_outside_the_station_via_dotdot_is_refused(tmp_path: Path) -> None:
    station = tmp_path / "station"
    (tmp_path / "outside.wav").write_bytes(b"RIFF")
    path, message = config_error(station, "name: a\njingles:\n  intro: ../outside.wav\n")
    assert_at(message, path, 3)
    assert "../outside.wav" in message


def test_a_jingle_given_as_an_absolute_path_outside_is_refused(tmp_path: Path) -> None:
    station = tmp_path / "station"
    outside = tmp_path / "outside.wav"
    outside.write_bytes(b"RIFF")
    path, message = config_error(station, f"jingles:\n  outro: {outside}\n")
    assert_at(message, path, 2)


def test_a_jingle_symlink_pointing_outside_the_station_is_refused(tmp_path: Path) -> None:
    station = tmp_path / "station"
    station.mkdir()
    (tmp_path / "outside.wav").write_bytes(b"RIFF")
    (station / "intro.wav").symlink_to(tmp_path / "outside.wav")
    path, message = config_error(station, "name: a\n\njingles:\n  intro: intro.wav\n")
    assert_at(message, path, 4)


def test_a_jingle_symlink_that_stays_inside_the_station_is_fine(tmp_path: Path) -> None:
    (tmp_path / "nhac").mkdir()
    (tmp_path / "nhac" / "chuong.wav").write_bytes(b"RIFF")
    (tmp_path / "intro.wav").symlink_to(tmp_path / "nhac" / "chuong.wav")
    write_station(tmp_path, "jingles:\n  intro: intro.wav\n")
    assert dict(load_station(tmp_path, environ={}).jingles) == {"intro": tmp_path / "intro.wav"}


def test_a_jingle_path_that_dips_out_and_back_in_is_fine(tmp_path: Path) -> None:
    station = tmp_path / "station"
    station.mkdir()
    (station / "chuong.wav").write_bytes(b"RIFF")
    write_station(station, "jingles:\n  outro: ../station/chuong.wav\n")
    jingle = load_station(station, environ={}).jingles["outro"]
    assert jingle.resolve() == (station / "chuong.wav").resolve()


def test_a_jingle_that_is_not_text_is_refused(tmp_path: Path) -> None:
    path, message = config_error(tmp_path, "# c\njingles:\n  intro: 5\n")
    assert_at(message, path, 3)


# --- finding the station ------------------------------------------------------------------------


@pytest.fixture
def stations(tmp_path: Path) -> dict[str, Path]:
    """Three station directories and one ordinary folder."""
    found = {name: tmp_path / name for name in ("explicit", "env", "cwd", "plain")}
    for name, folder in found.items():
        if name == "plain":
            folder.mkdir()
        else:
            write_station(folder, f"name: {name}\n")
    return found


def test_station_option_comes_first(stations: dict[str, Path]) -> None:
    chosen = find_station(
        stations["explicit"], {STATION_ENV: str(stations["env"])}, stations["cwd"]
    )
    assert chosen == stations["explicit"]


def test_loa_station_comes_before_the_current_folder(stations: dict[str, Path]) -> None:
    chosen = find_station(None, {STATION_ENV: str(stations["env"])}, stations["cwd"])
    assert chosen == stations["env"]


def test_the_current_folder_comes_before_the_checkout(stations: dict[str, Path]) -> None:
    assert find_station(None, {}, stations["cwd"]) == stations["cwd"]
    assert find_station(None, {STATION_ENV: ""}, stations["cwd"]) == stations["cwd"]


def test_the_checkout_is_the_last_resort(stations: dict[str, Path]) -> None:
    assert CHECKOUT_DIR == ROOT
    assert find_station(None, {}, stations["plain"]) == ROOT


def test_a_station_option_without_station_yaml_is_refused(stations: dict[str, Path]) -> None:
    with pytest.raises(StationNotFoundError) as caught:
        # No falling back to LOA_STATION or the current folder when --station is wrong.
        find_station(stations["plain"], {STATION_ENV: str(stations["env"])}, stations["cwd"])
    assert str(stations["plain"]) in caught.value.message


def test_a_loa_station_without_station_yaml_is_refused(stations: dict[str, Path]) -> None:
    with pytest.raises(StationNotFoundError) as caught:
        find_station(None, {STATION_ENV: str(stations["plain"])}, stations["cwd"])
    assert str(stations["plain"]) in caught.value.message


def test_a_station_option_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "khong-co"
    with pytest.raises(StationNotFoundError) as caught:
        find_station(missing, {}, ROOT)
    assert str(missing) in caught.value.message


def test_a_station_yaml_that_is_a_folder_does_not_make_a_station(tmp_path: Path) -> None:
    (tmp_path / "station.yaml").mkdir()
    with pytest.raises(StationNotFoundError):
        find_station(tmp_path, {}, ROOT)
    assert find_station(None, {}, tmp_path) == ROOT


def test_a_found_station_loads(stations: dict[str, Path]) -> None:
    chosen = find_station(None, {STATION_ENV: str(stations["env"])}, Path(os.sep))
    assert load_station(chosen, environ={}).name == "env"


def test_a_music_bed_is_off_by_default_and_read_when_given(tmp_path: Path) -> None:
    (tmp_path / "station.yaml").write_text("name: x\n")
    assert load_station(tmp_path, environ={}).music_bed is None
    (tmp_path / "nen.ogg").write_bytes(
        (CHECKOUT_DIR / "tests" / "data" / "xin-chao.ogg").read_bytes()
    )
    (tmp_path / "station.yaml").write_text("music_bed:\n  file: nen.ogg\n  duck_lu: 20\n")
    bed = load_station(tmp_path, environ={}).music_bed
    assert bed is not None and bed.path == tmp_path / "nen.ogg"
    assert (bed.level_lu, bed.duck_lu) == (-8.0, 20)


def test_a_music_bed_outside_the_station_is_refused(tmp_path: Path) -> None:
    (tmp_path / "station.yaml").write_text("music_bed:\n  file: ../nen.ogg\n")
    with pytest.raises(StationConfigError) as caught:
        load_station(tmp_path, environ={})
    assert f"{tmp_path / 'station.yaml'}:2:" in caught.value.message
