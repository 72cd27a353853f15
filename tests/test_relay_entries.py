"""Relays in the station's files: `relay_sources:` and `relay:` in station.yaml, entries with
`relay:` in schedules, and how `schedule check`, `next`, `schedule list` and the round-trip edits
treat them. Every bad value is a message naming its file:line and the fix."""

import json
import re
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broadcaster.errors import ExitCode, StationConfigError
from broadcaster.station import yamlfile
from broadcaster.station.lookahead import announcements_due
from broadcaster.station.schedules import read_schedules, what_airs
from broadcaster.station.station_file import load_station
from tests.conftest import ROOT, RunLoa
from tests.test_cli_startup import YAML_PARSERS, loaded_after
from tests.test_station_files import _ruamel, _shape

VOV1 = (
    "https://str.vov.gov.vn/vovlive/vov1vov5Vietnamese.sdp_aac/playlist.m3u8",
    "https://audio-lss.vov.vn/live/vov1.m3u8",
)
SOURCES = f"""
relay_sources:
  vov1:
    - {VOV1[0]}
    - {VOV1[1]}   # dự phòng
  vov-giao-thong: http://127.0.0.1:8000/vovgt
  tinh: [http://127.0.0.1:8000/a.mp3, "http://127.0.0.1:8000/b.m3u8"]
  may-thu-fm:
    line_in: alsa_input.usb-0d8c_USB_Sound_Device-00.analog-stereo
relay:
  fallback: bluezone
  fallback_after: 2m
"""
ENTRIES = """\
# Tiếp sóng VOV1
- id: vov1-sang
  relay: vov1
  times: ["06:00"]
  ends: "06:30"
  fallback: hop-to-dan-pho
- id: vov1-thoi-su
  relay: vov1
  times: [12h, 18h]
  days: [T2-T6]
  from: 2026-12-01
  until: 2026-12-31
  except: [2026-12-02]
  duration: 30m
- id: bluezone-chieu
  announcement: bluezone
  times: ["17:00"]
"""


def with_relays(station: Path, extra: str = SOURCES) -> Path:
    path = station / "station.yaml"
    path.write_text(path.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return path


def schedule(station: Path, text: str, name: str = "tiep-song.yaml") -> Path:
    path = station / "schedules" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def line_of(path: Path, text: str) -> int:
    """The 1-based line of the last line holding `text` (the bundled comments hold it too)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return max(n for n, line in enumerate(lines, 1) if text in line and not line.startswith("#"))


# --- station.yaml ------------------------------------------------------------------------------


def test_sources_are_read_in_order_with_the_fallback(station: Path) -> None:
    with_relays(station)
    read = load_station(station)
    assert read.relay_sources["vov1"].urls == VOV1
    assert read.relay_sources["vov-giao-thong"].urls == ("http://127.0.0.1:8000/vovgt",)
    assert read.relay_sources["tinh"].urls == (
        "http://127.0.0.1:8000/a.mp3",
        "http://127.0.0.1:8000/b.m3u8",
    )
    fm = read.relay_sources["may-thu-fm"]
    assert fm.line_in == "alsa_input.usb-0d8c_USB_Sound_Device-00.analog-stereo" and not fm.urls
    assert (read.relay_fallback, read.relay_fallback_after_s) == ("bluezone", 120.0)


def test_without_relays_the_defaults_hold(station: Path) -> None:
    read = load_station(station)
    assert (read.relay_sources, read.relay_fallback, read.relay_fallback_after_s) == ({}, None, 60)


def test_the_bundled_example_uncommented_reads(station: Path) -> None:
    """The commented example in station.yaml is what an officer uncomments: it must read."""
    text = (ROOT / "station.yaml").read_text(encoding="utf-8")
    start, end = text.index("# relay_sources:"), text.index("# province:")
    example = re.sub(r"(?m)^# (relay_sources:|relay:|  )", r"\1", text[start:end])
    example = example.replace("nhac-cho", "bluezone")
    (station / "station.yaml").write_text(text[:start] + example + text[end:], encoding="utf-8")
    read = load_station(station)
    assert read.relay_sources["vov1"].urls == VOV1
    assert read.relay_sources["may-thu-fm"].line_in
    assert read.relay_fallback_after_s == 60


def test_the_bundled_example_connects_nowhere() -> None:
    assert load_station(ROOT).relay_sources == {}


def test_a_station_with_relays_is_read_without_a_yaml_parser(
    loa_env: dict[str, str], station: Path
) -> None:
    """Every command reads station.yaml first: sources nested three levels deep stay on the
    line reader, so that `loa status` starts as fast with relays as without."""
    with_relays(station)
    report = loaded_after(loa_env, "--station", str(station), "status", watched=YAML_PARSERS)
    assert report == {"exit": ExitCode.OK, "heavy": []}


@pytest.mark.parametrize(
    ("extra", "at", "words"),
    [
        (
            "relay_sources:\n  vov1:\n    - https://a.vn/x.m3u8\n    - ftp://a.vn/vov1.mp3\n",
            "ftp://",
            "'ftp://a.vn/vov1.mp3' is not a stream address: a relay source plays http:// or "
            "https:// URLs",
        ),
        (
            "relay_sources:\n  vov1: rtsp://a.vn/live\n",
            "rtsp://",
            "is not a stream address",
        ),
        (
            "relay_sources:\n  vov1: /home/loa/vov.mp3\n",
            "/home/loa",
            "is not a stream address",
        ),
        (
            "relay_sources:\n  vov1: []\n",
            "vov1:",
            "the relay source 'vov1' has no stream: list its URLs under it",
        ),
        (
            "relay_sources:\n  vov1:\n  vov2: https://a.vn/x\n",
            "vov1:",
            "the relay source 'vov1' has no stream",
        ),
        (
            "relay_sources:\n  VOV1: https://a.vn/x\n",
            "VOV1:",
            "the relay source name 'VOV1' is not an id: lower-case letters a-z, digits and "
            "inner dashes",
        ),
        (
            "relay_sources:\n  vov_1: https://a.vn/x\n",
            "vov_1:",
            "is not an id",
        ),
        (
            "relay_sources:\n  fm:\n    line_in:\n",
            "line_in:",
            "'fm' needs the capture device after 'line_in:'",
        ),
        (
            "relay_sources:\n  fm:\n    device: hw1\n",
            "device:",
            "unknown setting 'device'; known settings here: line_in.",
        ),
        (
            "relay:\n  fallback: nhac-cho\n",
            "fallback:",
            "no announcement 'nhac-cho' in announcements/ for 'fallback'; announcements there: "
            "bluezone, hop-to-dan-pho.",
        ),
        (
            "relay:\n  fallback_after: 2s\n",
            "fallback_after:",
            "'fallback_after: 2s' is not valid; expected a duration such as 60s, 2m or 1h, "
            "from 5 s to 3600 s.",
        ),
        (
            "relay:\n  fallback_after: soon\n",
            "fallback_after:",
            "expected a duration",
        ),
        (
            "relay:\n  after: 60s\n",
            "after:",
            "unknown setting 'after'; known settings here: fallback, fallback_after.",
        ),
    ],
)
def test_a_bad_relay_setting_is_refused_at_its_line(
    station: Path, english: None, extra: str, at: str, words: str
) -> None:
    path = with_relays(station, "\n" + extra)
    with pytest.raises(StationConfigError) as refused:
        load_station(station)
    assert refused.value.message.startswith(f"{path}:{line_of(path, at)}: ")
    assert words in refused.value.message


def test_a_bad_relay_setting_is_a_clear_message_from_the_cli(
    run_loa: RunLoa, example_station: Path
) -> None:
    with_relays(example_station, "\nrelay_sources:\n  vov1: ftp://a.vn/vov1.mp3\n")
    done = run_loa("--lang", "en", "next")
    assert done.returncode == ExitCode.STATION_CONFIG, done.stderr
    assert "station.yaml:" in done.stderr and "is not a stream address" in done.stderr
    assert "Traceback" not in done.stderr


_NAMES = st.sampled_from(["vov1", "vov-giao-thong", "line_in", "a", "true", "1", "2027-01-01"])
_SCALARS = st.sampled_from(
    ["https://a.vn/x.m3u8", '"06:30"', "hw:1", "[a, b]", "{line_in: x}", "60s", "", "# c"]
)


@st.composite
def _nested_files(draw: st.DrawFn) -> str:
    """Mostly station files with blocks three levels deep; now and then an indentation or a
    shape that the line reader must leave to the YAML parsers."""
    lines: list[str] = []

    def block(depth: int, indent: str) -> None:
        for _n in range(draw(st.integers(1, 3))):
            kind = draw(st.sampled_from(["value", "map", "list"] if depth < 3 else ["value"]))
            shift = draw(st.sampled_from(["", "", "", "", " ", "- "]))
            name = draw(_NAMES)
            if kind == "value":
                lines.append(f"{indent}{shift}{name}: {draw(_SCALARS)}".rstrip())
            elif kind == "map":
                lines.append(f"{indent}{shift}{name}:")
                block(depth + 1, indent + draw(st.sampled_from(["  ", "    "])))
            else:
                lines.append(f"{indent}{shift}{name}:")
                inner = indent + draw(st.sampled_from(["  ", "    ", ""]))
                for _item in range(draw(st.integers(0, 3))):
                    lines.append(f"{inner}- {draw(_SCALARS)}".rstrip())
            if draw(st.booleans()):
                lines.append(draw(st.sampled_from(["", "# ghi chú", "      # sâu"])))

    block(1, "")
    return "\n".join(lines) + "\n"


@given(_nested_files())
@settings(max_examples=300, deadline=None)
def test_the_block_reader_reads_as_ruamel_yaml_reads(text: str) -> None:
    expected = _ruamel(text)
    try:
        got = _shape(yamlfile._mapping_of_blocks(text))
    except (yamlfile._Unsupported, ValueError):
        got = None  # left to the YAML parsers
    if got is not None:
        assert got == expected, text


def test_the_block_reader_takes_the_relay_shape() -> None:
    read = yamlfile._mapping_of_blocks(SOURCES)
    assert read is not None and _shape(read) == _ruamel(SOURCES)
    assert read["relay_sources"]["vov1"] == list(VOV1)


# --- schedule entries --------------------------------------------------------------------------


@pytest.fixture
def relaying(station: Path) -> Path:
    with_relays(station)
    schedule(station, ENTRIES)
    return station


def test_relay_entries_are_read_with_their_recurrence(relaying: Path, english: None) -> None:
    found = read_schedules(load_station(relaying))
    assert found.problems == ()
    sang, thoi_su, chieu = found.entries
    assert (sang.relay, sang.duration_s, sang.fallback, sang.announcement) == (
        "vov1",
        1800.0,
        "hop-to-dan-pho",
        "",
    )
    assert what_airs(sang) == "Relay vov1" and what_airs(chieu) == "bluezone"
    assert (thoi_su.duration_s, thoi_su.fallback, thoi_su.repeat) == (1800.0, None, 1)
    rule = thoi_su.rule
    assert rule.times == (time(12), time(18)) and rule.weekdays == frozenset(range(5))
    assert (rule.first, rule.last) == (date(2026, 12, 1), date(2026, 12, 31))
    assert date(2026, 12, 2) in rule.skipped
    assert chieu.relay is None and chieu.duration_s == 0


def test_a_relay_over_midnight_is_written_with_its_duration(station: Path) -> None:
    with_relays(station)
    schedule(station, "- id: dem\n  relay: vov1\n  times: ['23:30']\n  duration: 1h\n")
    (entry,) = read_schedules(load_station(station)).entries
    assert entry.duration_s == 3600


BAD_ENTRIES = [
    (
        "  relay: vov9\n  times: [12h]\n  duration: 30m\n",
        "relay:",
        "no relay source 'vov9' in station.yaml (relay_sources:); sources there: may-thu-fm, "
        "tinh, vov-giao-thong, vov1.",
    ),
    (
        "  relay: vov1\n  times: [12h]\n",
        "- id:",
        "a relay needs 'duration:' (e.g. duration: 30m) or 'ends:'",
    ),
    (
        '  relay: vov1\n  times: [12h]\n  until: "12:30"\n',
        "until:",
        "'until' is the last day an entry airs (a date such as 2026-12-31); the time a relay "
        "ends is written 'ends: \"06:30\"'",
    ),
    (
        "  relay: vov1\n  times: [12h]\n  duration: 30m\n  repeat: 2\n",
        "repeat:",
        "'repeat' makes no sense for a relay: it airs its source once, for its 'duration:'; "
        "remove 'repeat'.",
    ),
    (
        "  relay: vov1\n  times: [12h]\n  duration: 30m\n  gap: 10s\n",
        "gap:",
        "'gap' makes no sense for a relay",
    ),
    (
        '  relay: vov1\n  times: ["23:30"]\n  ends: "00:30"\n',
        "ends:",
        "'ends: 00:30' is not after the start, 23:30: a relay ends later the same day; for one "
        "across midnight write its length, e.g. duration: 1h.",
    ),
    (
        '  relay: vov1\n  times: [6h, 12h]\n  ends: "12:30"\n',
        "ends:",
        "'ends:' fits an entry with one time; with several times, write how long each relay "
        "lasts, e.g. duration: 30m.",
    ),
    (
        '  relay: vov1\n  times: [6h]\n  ends: "6h30"\n  duration: 30m\n',
        "ends:",
        "write 'duration:' or 'ends:', not both",
    ),
    (
        "  relay: vov1\n  times: [6h]\n  ends: soon\n",
        "ends:",
        "'soon' is not a time; write 06:30, 6h30 or 17h.",
    ),
    (
        "  relay: vov1\n  times: [6h]\n  duration: 25h\n",
        "duration:",
        "'duration' is a duration such as 30s, 5m or 1h, from 1 s to 86400 s.",
    ),
    (
        "  relay: vov1\n  times: [6h]\n  duration: 30m\n  fallback: nhac-cho\n",
        "fallback:",
        "no announcement 'nhac-cho' in announcements/ for 'fallback'; announcements there: "
        "bluezone, hop-to-dan-pho.",
    ),
    (
        "  relay: vov1\n  announcement: bluezone\n  times: [6h]\n  duration: 30m\n",
        "announcement:",
        "an entry has 'relay:' or 'announcement:', not both",
    ),
    (
        "  announcement: bluezone\n  times: [6h]\n  duration: 30m\n",
        "duration:",
        "'duration' is for relays (entries with 'relay:'); an announcement plays to its end",
    ),
    (
        "  announcement: bluezone\n  times: [6h]\n  fallback: bluezone\n",
        "fallback:",
        "'fallback' is for relays",
    ),
    (
        "  times: [6h]\n",
        "- id:",
        "every entry needs 'announcement:' (or 'relay:' to relay a radio programme).",
    ),
]


@pytest.mark.parametrize(("body", "at", "words"), BAD_ENTRIES)
def test_a_bad_relay_entry_is_a_problem_at_its_line_and_the_others_stay(
    station: Path, english: None, body: str, at: str, words: str
) -> None:
    with_relays(station)
    path = schedule(station, ENTRIES + "- id: xau\n" + body)
    found = read_schedules(load_station(station))
    bad_line = len(ENTRIES.splitlines()) + 1
    at_line = next(
        n for n, line in enumerate(path.read_text().splitlines(), 1) if n >= bad_line and at in line
    )
    assert found.problems == (f"{path}:{at_line}: {words}",) or (
        len(found.problems) == 1 and found.problems[0].startswith(f"{path}:{at_line}: {words}")
    ), found.problems
    assert [e.id for e in found.entries] == ["vov1-sang", "vov1-thoi-su", "bluezone-chieu"]


def test_a_relay_on_a_station_without_sources_says_where_to_add_them(
    station: Path, english: None
) -> None:
    path = schedule(station, "- id: vov\n  relay: vov1\n  times: [6h]\n  duration: 30m\n")
    (problem,) = read_schedules(load_station(station)).problems
    assert problem == (
        f"{path}:2: no relay source 'vov1': station.yaml lists none; add it under "
        "'relay_sources:' (see the example there)."
    )


def test_adding_a_source_to_station_yaml_makes_the_entry_read(station: Path) -> None:
    """The schedule cache knows the sources: the same file is read again once they change."""
    schedule(station, "- id: vov\n  relay: vov1\n  times: [6h]\n  duration: 30m\n")
    assert read_schedules(load_station(station)).problems
    with_relays(station)
    assert read_schedules(load_station(station)).problems == ()


def test_the_cache_warmer_gets_the_fallbacks_not_the_relays(relaying: Path) -> None:
    read = load_station(relaying)
    now = datetime(2026, 12, 1, 5, 0, tzinfo=ZoneInfo(read.timezone))
    assert announcements_due(read, now, 24) == ["hop-to-dan-pho", "bluezone"]


# --- the commands ------------------------------------------------------------------------------


def test_check_counts_a_relay_by_its_duration(run_loa: RunLoa, example_station: Path) -> None:
    """A relay holds the air for its duration: an item in it clashes, one running into the
    quiet hours is warned of, one longer than a session has its own warning with the fix."""
    with_relays(example_station)
    path = schedule(
        example_station,
        """\
- id: vov1-sang
  relay: vov1
  times: ["06:00"]
  ends: "06:30"
- id: khan
  announcement: bluezone
  times: ["06:20"]
  priority: priority
- id: vov1-toi
  relay: vov1
  times: ["20:45"]
  duration: 30m
- id: vov1-dai
  relay: tinh
  times: ["13:00"]
  duration: 1h
""",
    )
    done = run_loa("--lang", "en", "schedule", "check")
    assert done.returncode == ExitCode.SCHEDULE, done.stderr
    out = done.stdout
    assert (
        f"{path}:5: 'khan' starts at 06:20 on " in out
        and f"while 'vov1-sang' ({path}:1) is still on air until about 06:30" in out
    )
    assert (
        f"{path}:9: warning: 'vov1-toi' at 20:45 runs into the quiet hours (21:00-06:00, "
        "station.yaml): the relay ends at 21:00." in out
    )
    assert (
        f"{path}:13: warning: 'vov1-dai' relays tinh for 60 minutes, longer than the 45 of "
        "sessions.minutes in station.yaml: shorten its 'duration:' (or 'ends:'), or raise "
        "sessions.minutes if the commune allows longer sessions." in out
    )
    assert "'vov1-dai' opens" not in out  # said once, with the fix
    assert "announcement ''" not in out


def test_a_relay_within_the_caps_passes_the_check(run_loa: RunLoa, example_station: Path) -> None:
    with_relays(example_station)
    schedule(example_station, "- id: vov\n  relay: vov1\n  times: ['17:20']\n  duration: 30m\n")
    done = run_loa("--lang", "en", "schedule", "check")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "OK: no errors (entries: 2, files: 2, warnings: 0)." in done.stdout


def test_next_and_list_show_the_source_and_length(run_loa: RunLoa, example_station: Path) -> None:
    with_relays(example_station)
    (example_station / "schedules" / "bluezone.yaml").unlink()
    schedule(example_station, ENTRIES)
    done = run_loa("--lang", "en", "next", "--from", "2026-12-01T05:00", "--days", "2")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "Week 01/12/2026 - 02/12/2026",
        "     |T3 01/12 |T4 02/12",
        "-----+---------+---------",
        "06:00|~vov1 30m|~vov1 30m",
        "12:00|~vov1 30m",
        "17:00|bluezone |bluezone",
        "18:00|~vov1 30m",
        "",
        "~ relay of a source (relay_sources: in station.yaml), and how long",
    ]
    as_json = json.loads(
        run_loa("next", "--json", "--from", "2026-12-01T05:00", "--days", "1").stdout
    )
    assert as_json[0] == {
        "id": "vov1-sang",
        "announcement": "",
        "start": "2026-12-01T06:00:00+07:00",
        "priority": "normal",
        "relay": "vov1",
        "duration_s": 1800.0,
        "end": "2026-12-01T06:30:00+07:00",
    }
    (chieu,) = [item for item in as_json if item["id"] == "bluezone-chieu"]
    assert "relay" not in chieu
    listed = run_loa("--lang", "en", "schedule", "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == [
        "ID              ANNOUNCEMENT  TIMES        DAYS       PRIORITY  STATUS     ON",
        "vov1-sang       Relay vov1    06:00        daily      normal    approved   +",
        "                relays vov1 for 30m (06:00-06:30), fallback hop-to-dan-pho",
        "vov1-thoi-su    Relay vov1    12:00,18:00  T2-T6      normal    approved   +",
        "                relays vov1 for 30m, from 01/12/2026 to 31/12/2026",
        "bluezone-chieu  bluezone      17:00        daily      normal    approved   +",
    ]


def test_the_calendar_in_vietnamese_names_the_relay(run_loa: RunLoa, example_station: Path) -> None:
    with_relays(example_station)
    schedule(example_station, ENTRIES)
    listed = run_loa("--lang", "vi", "schedule", "list")
    assert "vov1-sang" in listed.stdout and "vov1" in listed.stdout


def test_edits_keep_a_relay_entry_as_written(run_loa: RunLoa, example_station: Path) -> None:
    """add, disable, enable and remove rewrite the file round-trip: the relay entry, its
    comment and quotes stay as the officer wrote them."""
    with_relays(example_station)
    path = schedule(example_station, ENTRIES)
    before = path.read_text(encoding="utf-8")
    added = run_loa(
        "schedule", "add", "--announcement", "bluezone", "--times", "19h", "--id", "moi",
        "--file", "tiep-song.yaml",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert path.read_text(encoding="utf-8").startswith(before)
    removed = run_loa("schedule", "remove", "moi")
    assert removed.returncode == 0, removed.stderr
    assert path.read_text(encoding="utf-8") == before
    disabled = run_loa("schedule", "disable", "vov1-thoi-su")
    assert disabled.returncode == 0, disabled.stderr
    after = path.read_text(encoding="utf-8").splitlines()
    assert [line for line in after if line != "  enabled: false"] == before.splitlines()
    entries = {e.id: e for e in read_schedules(load_station(example_station)).entries}
    assert entries["vov1-thoi-su"].relay == "vov1" and not entries["vov1-thoi-su"].enabled
    assert entries["vov1-thoi-su"].duration_s == 1800 and entries["vov1-sang"].enabled


def test_add_writes_a_relay_entry_checked_like_any(run_loa: RunLoa, example_station: Path) -> None:
    with_relays(example_station)
    added = run_loa(
        "--lang", "en", "schedule", "add", "--relay", "vov1", "--duration", "30m",
        "--times", "06:00,18h", "--days", "T2-T6",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "Added 'vov1-0600' at " in added.stdout
    (entry,) = [
        e for e in read_schedules(load_station(example_station)).entries if e.relay is not None
    ]
    assert (entry.id, entry.relay, entry.duration_s) == ("vov1-0600", "vov1", 1800)
    text = (example_station / "schedules" / "lich.yaml").read_text(encoding="utf-8")
    assert '  relay: vov1\n  times: ["06:00", "18h"]\n  duration: 30m\n' in text
    unknown = run_loa(
        "--lang", "en", "schedule", "add", "--relay", "vov9", "--duration", "30m",
        "--times", "07:00",
    )  # fmt: skip
    assert unknown.returncode == ExitCode.SCHEDULE, unknown.stderr
    assert "no relay source 'vov9' in station.yaml (relay_sources:); sources there:" in (
        unknown.stderr
    )
    assert "vov9" not in (example_station / "schedules" / "lich.yaml").read_text(encoding="utf-8")
    neither = run_loa("--lang", "en", "schedule", "add", "--times", "07:00")
    assert neither.returncode == ExitCode.USAGE
    assert "Give --announcement, or --relay with --duration for a relay." in neither.stderr
    assert "loa schedule add --relay vov1 --duration 30m --times 06:00,18h" in neither.stderr
    both = run_loa(
        "--lang", "en", "schedule", "add", "--times", "07:00", "--relay", "vov1",
        "--announcement", "bluezone",
    )  # fmt: skip
    assert both.returncode == ExitCode.USAGE
    assert "Give --announcement or --relay, not both." in both.stderr


def test_a_relay_now_comes_back_after_a_crash_only_within_its_time() -> None:
    from datetime import timedelta

    from broadcaster.control.protocol import RelayNow
    from broadcaster.core.settings import RelaySource, Station
    from broadcaster.onair.adhoc import adhoc_relay, relay_now_again, relay_now_state

    began = datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    station = Station(Path("."), relay_sources={"vov1": RelaySource("vov1", ("http://x/",))})
    item = adhoc_relay(station, RelayNow("vov1", 1800), began)
    saved = relay_now_state(item)
    scheduled = began.isoformat()
    again = relay_now_again(saved, scheduled, began + timedelta(minutes=10))
    assert again is not None and again.retry
    assert (again.occurrence, again.relay, again.ends) == (item.occurrence, "vov1", item.ends)
    assert relay_now_again(saved, scheduled, began + timedelta(minutes=31)) is None  # over
    other = (began + timedelta(hours=1)).isoformat()
    assert relay_now_again(saved, other, began + timedelta(minutes=10)) is None  # not that row
    assert relay_now_again("{broken", scheduled, began) is None
    assert relay_now_again(None, scheduled, began) is None
