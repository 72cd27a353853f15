"""Schedule files: the bundled example, every documented form, and every bad input at its line."""

import shutil
import unicodedata
from dataclasses import replace
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from broadcaster.core.settings import Station
from broadcaster.errors import ScheduleError
from broadcaster.station.holidays import load_holidays
from broadcaster.station.lookahead import announcements_due
from broadcaster.station.schedules import (
    airs,
    load_schedules,
    read_schedules,
)
from broadcaster.station.station_file import load_station

ROOT = Path(__file__).resolve().parent.parent
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture
def station(tmp_path: Path) -> Station:
    shutil.copytree(ROOT / "announcements", tmp_path / "announcements")
    (tmp_path / "station.yaml").write_text("name: thử\n")
    (tmp_path / "schedules").mkdir()
    return load_station(tmp_path, environ={})


def write(station: Station, text: str, name: str = "lich.yaml") -> Path:
    path = station.directory / "schedules" / name
    path.write_text(text, encoding="utf-8")
    return path


def error(station: Station) -> str:
    with pytest.raises(ScheduleError) as raised:
        load_schedules(station)
    return raised.value.message


def test_the_bundled_schedule_loads() -> None:
    [entry] = load_schedules(load_station(ROOT, environ={}))
    assert (entry.id, entry.announcement, entry.repeat, entry.gap_s) == (
        "bluezone-sang",
        "bluezone",
        2,
        30.0,
    )
    assert entry.rule.times == (time(6, 45), time(17, 15))
    assert entry.rule.weekdays == frozenset(range(5))
    assert entry.rule.first == date(2020, 8, 1)


def test_every_documented_form(station: Station) -> None:
    write(
        station,
        """\
- id: a
  announcement: bluezone
  times: [06:30, "06:30:15", 6h30, 17h]
  days: [T7-CN, mon]
  from: 2026-01-01
  until: 2026-12-31
  every: 2 weeks
  except: [2026-09-02]
  repeat: 10
  gap: 2h
  priority: emergency
  late_limit: 5m
  start: interrupt
  status: draft
  enabled: false
  catch_up: true
- id: b
  announcement: hop-to-dan-pho
  times: 19h
  monthly: {weekday: T2, nth: -1}
- id: c
  announcement: hop-to-dan-pho
  times: ["07:00"]
  date: 2026-12-01
""",
    )
    a, b, c = load_schedules(station)
    assert a.rule.times == (time(6, 30), time(6, 30, 15), time(6, 30), time(17))
    assert a.rule.weekdays == frozenset({5, 6, 0})
    assert (a.rule.every_days, a.rule.skipped) == (14, frozenset({date(2026, 9, 2)}))
    assert (a.repeat, a.gap_s, a.priority, a.late_limit_s, a.start) == (
        10,
        7200.0,
        "emergency",
        300.0,
        "interrupt",
    )
    assert (a.status, a.enabled, a.catch_up) == ("draft", False, True)
    assert b.rule.month_weekday == (0, -1)
    assert c.rule.on == date(2026, 12, 1)


@pytest.mark.parametrize(
    ("body", "line", "words"),
    [
        ('  times: ["25:00"]\n', 4, "25:00"),
        ('  times: ["6h70"]\n', 4, "6h70"),
        ('  times: ["07:00"]\n  days: [T8]\n', 5, "T8"),
        ('  times: ["07:00"]\n  from: 2026-05-01\n  until: 2026-04-01\n', 6, "until"),
        ('  times: ["07:00"]\n  repeat: 0\n', 5, "repeat"),
        ('  times: ["07:00"]\n  repeat: 11\n', 5, "repeat"),
        ('  times: ["07:00"]\n  gap: 0s\n', 5, "gap"),
        ('  times: ["07:00"]\n  every: 2 weeks\n', 5, "from"),
        ('  times: ["07:00"]\n  monthly: {day: 32}\n', 5, "monthly"),
        ('  times: ["07:00"]\n  priority: urgent\n', 5, "emergency"),
        ('  times: ["07:00"]\n  colour: red\n', 5, "colour"),
        ("  days: [T2]\n", 2, "times"),
    ],
)
def test_bad_entries_are_located(station: Station, body: str, line: int, words: str) -> None:
    path = write(station, "# lịch\n- id: a\n  announcement: bluezone\n" + body)
    message = error(station)
    assert message.startswith(f"{path}:{line}:"), message
    assert words in message


def test_an_unknown_announcement_is_named_with_the_known_ones(station: Station) -> None:
    path = write(station, "- id: a\n  announcement: khong-co\n  times: 7h\n")
    message = error(station)
    assert message.startswith(f"{path}:2:") and "khong-co" in message and "bluezone" in message


def test_duplicate_ids_across_files_name_both_places(station: Station) -> None:
    first = write(station, "- id: a\n  announcement: bluezone\n  times: 7h\n", "1.yaml")
    second = write(station, "\n- id: a\n  announcement: bluezone\n  times: 8h\n", "2.yaml")
    message = error(station)
    assert message.startswith(f"{second}:2:") and f"{first}:1" in message


def test_windows_files_and_empty_ones_are_fine(station: Station) -> None:
    path = station.directory / "schedules" / "bom.yaml"
    path.write_bytes("\ufeff- id: a\r\n  announcement: bluezone\r\n  times: 7h\r\n".encode())
    write(station, "# chưa có lịch\n", "trong.yaml")
    assert [entry.id for entry in load_schedules(station)] == ["a"]


@pytest.mark.parametrize(
    ("content", "line"),
    [(b"- id: a\n\tannouncement: bluezone\n", 2), (b"\x00\x01\xff\xfe", 1), (b"id: a\n", 1)],
    ids=["tab", "binary", "not-a-list"],
)
def test_files_that_are_not_schedules(station: Station, content: bytes, line: int) -> None:
    path = station.directory / "schedules" / "hong.yaml"
    path.write_bytes(content)
    assert error(station).startswith(f"{path}:{line}:")


def test_what_is_due_in_the_next_hours(station: Station) -> None:
    write(
        station,
        """\
- id: sang
  announcement: bluezone
  times: ["06:30"]
- id: toi
  announcement: hop-to-dan-pho
  times: ["19:00"]
  status: draft
- id: tat
  announcement: hop-to-dan-pho
  times: ["20:00"]
  enabled: false
""",
    )
    evening = datetime(2026, 11, 30, 18, 0, tzinfo=HANOI)
    assert announcements_due(station, evening, 48) == ["bluezone"]
    assert announcements_due(station, evening, 12) == []


def test_quoted_dates_decomposed_text_and_empty_times(station: Station) -> None:
    decomposed = unicodedata.normalize("NFD", "sáng")
    path = write(
        station,
        f"""\
- id: hop
  announcement: hop-to-dan-pho
  times: ["07:00"]
  from: "2026-01-01"
  except: ["2026-01-02", 2026-01-03]
- id: "{decomposed}"
  announcement: bluezone
  times: ["06:00"]
""",
    )
    first, second = load_schedules(station)
    assert first.rule.first == date(2026, 1, 1)
    assert first.rule.skipped == frozenset({date(2026, 1, 2), date(2026, 1, 3)})
    assert second.id == "sáng" and len(second.id) == 4, "stored composed (NFC)"
    path.write_text("- id: a\n  announcement: bluezone\n  times: []\n")
    message = error(station)
    assert message.startswith(f"{path}:3:") and "times" in message


def test_every_problem_is_collected_and_the_first_raised(station: Station) -> None:
    path = write(
        station,
        "- id: a\n  announcement: bluezone\n  times: 25h\n"
        "- id: b\n  announcement: bluezone\n  times: 7h\n  repeat: 0\n"
        "- id: c\n  announcement: bluezone\n  times: 7h\n",
    )
    found = read_schedules(station)
    assert [problem.split(": ")[0] for problem in found.problems] == [f"{path}:3", f"{path}:7"]
    assert [entry.id for entry in found.entries] == ["c"]
    message = error(station)
    assert message.startswith(f"{path}:3:") and "1" in message and "loa schedule check" in message


def test_entries_know_where_they_are_written(station: Station) -> None:
    path = write(station, "# lịch\n\n- id: a\n  announcement: bluezone\n  times: 7h\n")
    [entry] = load_schedules(station)
    assert (entry.file, entry.line, entry.place) == (path, 3, f"{path}:3")
    assert not entry.start_chosen and (entry.created_by, entry.approved_by) == (None, None)


def test_who_created_and_approved_is_kept(station: Station) -> None:
    write(
        station,
        "- id: a\n  announcement: bluezone\n  times: 7h\n  start: interrupt\n"
        "  created_by: Lan\n  approved_by: Hùng\n",
    )
    [entry] = load_schedules(station)
    assert (entry.created_by, entry.approved_by, entry.start_chosen) == ("Lan", "Hùng", True)
    path = write(station, "- id: a\n  announcement: bluezone\n  times: 7h\n  created_by: [1]\n")
    assert error(station).startswith(f"{path}:4:")


def test_an_audio_file_in_announcements_can_be_scheduled(station: Station) -> None:
    (station.announcements_dir / "ghi-âm.m4a").write_bytes(b"")
    write(station, "- id: a\n  announcement: ghi-âm.m4a\n  times: 7h\n")
    assert [entry.announcement for entry in load_schedules(station)] == ["ghi-âm.m4a"]
    path = write(station, "- id: a\n  announcement: khong-co.m4a\n  times: 7h\n")
    assert error(station).startswith(f"{path}:2:")


def test_decomposed_announcement_names_and_empty_files(station: Station) -> None:
    (station.announcements_dir / "họp.txt").write_text("Họp tổ dân phố.", encoding="utf-8")
    write(station, f"- id: a\n  announcement: {unicodedata.normalize('NFD', 'họp')}\n  times: 7h\n")
    (station.directory / "schedules" / "rong.yaml").write_bytes(b"")
    assert [entry.announcement for entry in load_schedules(station)] == ["họp"]


def test_an_unquoted_number_is_not_a_time(station: Station) -> None:
    path = write(station, "- id: a\n  announcement: bluezone\n  times: [0630]\n")
    assert error(station).startswith(f"{path}:3:")


# --- holidays ---------------------------------------------------------------------------------


def test_holidays_silence_every_entry_but_emergencies(station: Station) -> None:
    (station.directory / "holidays.yaml").write_text(
        "# Ngày nghỉ\n"
        "- 2027-01-01  # Tết Dương lịch\n"
        '- "2027-04-30"\n'
        "- {date: 2027-05-01, name: Quốc tế Lao động}\n"
        "- {from: 2027-02-05, until: 2027-02-09, name: Tết}  # 29 Tết - mùng 4\n",
        encoding="utf-8",
    )
    write(
        station,
        "- id: thuong\n  announcement: bluezone\n  times: 7h\n  except: [2026-12-31]\n"
        "- id: khan\n  announcement: hop-to-dan-pho\n  times: 8h\n  priority: emergency\n",
    )
    holidays = load_holidays(station)
    assert holidays[date(2027, 1, 1)] == "Tết Dương lịch"
    assert holidays[date(2027, 4, 30)] == ""
    assert holidays[date(2027, 5, 1)] == "Quốc tế Lao động"
    assert [day for day, name in holidays.items() if name == "Tết"] == [
        date(2027, 2, n) for n in range(5, 10)
    ]
    normal, urgent = load_schedules(station)
    assert normal.rule.skipped == {date(2026, 12, 31), *holidays}
    assert urgent.rule.skipped == frozenset()
    new_year = datetime(2027, 1, 1, tzinfo=HANOI)
    assert announcements_due(station, new_year, 24) == ["hop-to-dan-pho"]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("- 2027-01-01\n- 2027-13-01\n", 2),
        ("- 2027-01-01\n- {date: 2027-01-02, ten: x}\n", 2),
        ("- {from: 2027-02-09, until: 2027-02-05}\n", 1),
        ("- {from: 2027-01-01, until: 2027-12-31}\n", 1),
        ("ngay: 2027-01-01\n", 1),
        ("- [2027-01-01\n", 1),
    ],
)
def test_a_bad_holiday_is_reported_at_its_line(station: Station, text: str, line: int) -> None:
    path = station.directory / "holidays.yaml"
    path.write_text(text, encoding="utf-8")
    write(station, "- id: a\n  announcement: bluezone\n  times: 7h\n")
    assert error(station).startswith(f"{path}:{line}:")


def test_the_bundled_holidays_are_real_2027_holidays() -> None:
    holidays = load_holidays(load_station(ROOT, environ={}))
    assert {date(2027, 1, 1), date(2027, 2, 6), date(2027, 4, 30), date(2027, 9, 2)} <= set(
        holidays
    )


# --- approval and quiet hours ------------------------------------------------------------------


def test_a_draft_never_airs_and_approval_makes_status_required(station: Station) -> None:
    write(
        station,
        """\
- {id: unsaid, announcement: bluezone, times: [7h]}
- {id: draft, announcement: bluezone, times: [7h], status: draft}
- {id: approved, announcement: bluezone, times: [7h], status: approved}
- {id: off, announcement: bluezone, times: [7h], status: approved, enabled: false}
""",
    )
    relaxed = [entry.id for entry in load_schedules(station) if airs(entry)]
    strict = replace(station, require_approval=True)
    required = [entry.id for entry in load_schedules(strict) if airs(entry)]
    assert relaxed == ["unsaid", "approved"]
    assert required == ["approved"]
