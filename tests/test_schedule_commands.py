"""`loa next` as a week calendar, `loa next --json`, and `loa schedule list`: all within 80
columns."""

import json
import shutil
from pathlib import Path

import pytest

from broadcaster.errors import ExitCode
from broadcaster.i18n import DEFAULT_LANGUAGE, set_language
from broadcaster.station.station_file import load_station
from broadcaster.system.doctor import check_schedules as doctor_schedules
from tests.schedule_station import run, write_schedule

Capture = pytest.CaptureFixture[str]
SCHEDULE = """\
- id: sang
  announcement: bluezone
  times: ["06:30", "17h"]
  days: [T2-T6]
- id: hop
  announcement: hop-to-dan-pho
  times: ["06:30"]
  days: [T3]
  priority: priority
- id: bao-bao
  announcement: hop-to-dan-pho
  times: ["19:45:30"]
  date: 2026-12-06
  priority: emergency
- id: thu-bay
  announcement: hop-to-dan-pho
  times: ["08:00"]
  days: [T7]
  every: 2 weeks
  from: 2026-12-05
  repeat: 2
"""


@pytest.fixture
def scheduled(station: Path) -> Path:
    write_schedule(station, SCHEDULE)
    (station / "holidays.yaml").write_text("- 2026-12-02  # Ngày nghỉ của xã\n", encoding="utf-8")
    return station


def test_next_shows_a_week_calendar(scheduled: Path, capsys: Capture) -> None:
    code, out, _err = run(capsys, scheduled, "next", "--from", "2026-11-30T06:30")
    assert code == 0
    assert out.splitlines() == [
        "Week 30/11/2026 - 06/12/2026",
        "     |T2 30/11 |T3 01/12 |T4 02/12 |T5 03/12 |T6 04/12 |T7 05/12 |CN 06/12",
        "-----+---------+---------+---------+---------+---------+---------+---------",
        "off  |         |         |Ngày ngh…",
        "06:30|bluezone |+hop-to-…|         |bluezone |bluezone",
        "     |         |bluezone",
        "08:00|         |         |         |         |         |hop-to-d…",
        "17:00|bluezone |bluezone |         |bluezone |bluezone",
        "19:45|         |         |         |         |         |         |!hop-to-…",
        "",
        "! emergency, + priority",
    ]
    assert max(map(len, out.splitlines())) <= 80


def test_more_days_than_a_week_give_several_weeks(scheduled: Path, capsys: Capture) -> None:
    _code, out, _err = run(capsys, scheduled, "next", "--from", "2026-12-05", "--days", "10")
    lines = out.splitlines()
    weeks = [line for line in lines if line.startswith("Week ")]
    assert weeks == ["Week 05/12/2026 - 11/12/2026", "Week 12/12/2026 - 14/12/2026"]
    assert "     |T7 12/12 |CN 13/12 |T2 14/12" in lines
    assert max(map(len, lines)) <= 80


def test_next_json_is_unchanged(scheduled: Path, capsys: Capture) -> None:
    _code, out, _err = run(
        capsys, scheduled, "next", "--from", "2026-12-06T19:00", "--days", "1", "--json"
    )
    assert json.loads(out) == [
        {
            "id": "bao-bao",
            "announcement": "hop-to-dan-pho",
            "start": "2026-12-06T19:45:30+07:00",
            "priority": "emergency",
        },
        {
            "id": "sang",
            "announcement": "bluezone",
            "start": "2026-12-07T06:30:00+07:00",
            "priority": "normal",
        },
        {
            "id": "sang",
            "announcement": "bluezone",
            "start": "2026-12-07T17:00:00+07:00",
            "priority": "normal",
        },
    ]


def test_nothing_scheduled(station: Path, capsys: Capture) -> None:
    code, out, _err = run(capsys, station, "next", "--days", "2")
    assert (code, out) == (0, "Nothing is scheduled in the next 48 hours.\n")


def test_the_calendar_in_vietnamese(scheduled: Path, capsys: Capture) -> None:
    _code, out, _err = run(capsys, scheduled, "next", "--from", "2026-12-01", language="vi")
    assert "     |T3 01/12 |T4 02/12 |T5 03/12 |T6 04/12 |T7 05/12 |CN 06/12 |T2 07/12" in out


def test_schedule_list_is_a_table_within_80_columns(scheduled: Path, capsys: Capture) -> None:
    write_schedule(
        scheduled,
        "- id: mot-ma-rat-dai-khong-vua-cot\n  announcement: bluezone\n"
        '  times: ["05:00", "06:00", "07:00"]\n  days: [T2, T4, T6, T7, CN]\n'
        "  monthly: {weekday: T2, nth: -1}\n  status: draft\n  enabled: false\n",
        "them.yaml",
    )
    code, out, _err = run(capsys, scheduled, "schedule", "list")
    assert code == 0
    assert out.splitlines() == [
        "ID              ANNOUNCEMENT  TIMES        DAYS       PRIORITY  STATUS     ON",
        "sang            bluezone      06:30,17:00  T2-T6      normal    approved   +",
        "hop             hop-to-dan-p… 06:30        T3         priority  approved   +",
        "bao-bao         hop-to-dan-p… 19:45        06/12/26   emergency approved   +",
        "thu-bay         hop-to-dan-p… 08:00        T7/14d     normal    approved   +",
        "                from 05/12/2026, 2 plays 30 s apart",
        "mot-ma-rat-dai… bluezone      05:00,06:00… T2#-1      normal    draft      -",
    ]
    assert max(map(len, out.splitlines())) <= 80


def test_schedule_list_shows_what_it_can_and_fails_on_a_bad_file(
    scheduled: Path, capsys: Capture
) -> None:
    bad = write_schedule(scheduled, "- id: x\n  announcement: bluezone\n  times: 25h\n", "x.yaml")
    code, out, err = run(capsys, scheduled, "schedule", "list")
    assert code == 17
    assert len(out.splitlines()) == 6, "a header, four entries and the dates of one"
    assert err.startswith(f"Error: {bad}:3: ")


def test_schedule_check_exits_with_the_schedule_code(station: Path, capsys: Capture) -> None:
    """A script tells a bad schedule (17) from a crash (1)."""
    write_schedule(station, "- id: a\n  announcement: bluezone\n  times: 25h\n")
    code, out, err = run(capsys, station, "schedule", "check")
    assert code == ExitCode.SCHEDULE == 17
    assert "25" in out and err.startswith("Errors: 1, warnings: 0")


@pytest.mark.parametrize(
    "given", ["2026-12-01", "2026-12-01T00:00:00+07:00", "2026-11-30T17:00:00Z", "2026-12-01 00:00"]
)
def test_next_from_takes_what_next_json_prints(
    scheduled: Path, capsys: Capture, given: str
) -> None:
    code, out, err = run(capsys, scheduled, "next", "--from", given, "--days", "1", "--json")
    assert code == 0, err
    starts = [item["start"] for item in json.loads(out)]
    assert starts == [
        "2026-12-01T06:30:00+07:00",
        "2026-12-01T06:30:00+07:00",
        "2026-12-01T17:00:00+07:00",
    ]
    code, again, _ = run(capsys, scheduled, "next", "--from", starts[0], "--days", "1", "--json")
    assert code == 0 and [item["start"] for item in json.loads(again)] == starts


def test_a_moment_that_is_not_a_date_is_a_usage_error_with_an_example(
    scheduled: Path, capsys: Capture
) -> None:
    code, _, err = run(capsys, scheduled, "next", "--from", "13/13/2026")
    assert code == ExitCode.USAGE
    assert "'13/13/2026' is not a date" in err and "01/12/2026 06:30" in err
    code, _, err = run(capsys, scheduled, "log", "--since", "hôm qua")
    assert code == ExitCode.USAGE and "'hôm qua' is not a date" in err


@pytest.mark.parametrize("given", ["01/12/2026", "1/12/2026", "2026-12-01", "1/12/2026 06:00"])
def test_dates_are_read_day_first_as_loa_prints_them(
    scheduled: Path, capsys: Capture, given: str
) -> None:
    code, out, _ = run(capsys, scheduled, "next", "--from", given, "--days", "1", "--json")
    assert code == 0 and json.loads(out)[0]["start"] == "2026-12-01T06:30:00+07:00"


def test_approve_without_required_approval_says_so_and_drafts_are_warned(
    scheduled: Path, capsys: Capture
) -> None:
    code, out, _ = run(capsys, scheduled, "approve", "sang")
    assert code == 0 and "does not require approval" in out and "already" not in out
    config = scheduled / "station.yaml"
    config.write_text(
        config.read_text().replace("require_approval: false", "require_approval: true")
    )
    code, out, _ = run(capsys, scheduled, "schedule", "check")
    assert "warning: 'sang' is a draft: it does not air until approved: loa approve sang" in out
    code, out, _ = run(capsys, scheduled, "status")
    assert "Drafts, not on air until approved (loa approve ID): sang, hop" in out
    set_language("en")
    try:
        told = doctor_schedules(load_station(scheduled, environ={}))
    finally:
        set_language(DEFAULT_LANGUAGE)
    assert told.detail.startswith("drafts that do not air until approved: sang, hop")
    code, out, _ = run(capsys, scheduled, "approve", "sang", "--by", "An")
    assert (code, out.strip()) == (0, "'sang' is approved: it airs as scheduled.")


def test_usage_errors_say_the_fix(scheduled: Path, capsys: Capture) -> None:
    code, _, err = run(capsys, scheduled, "approve", "Ghi", "âm")
    assert code == ExitCode.USAGE and 'double quotes: loa play "Ghi âm 001"' in err
    code, _, err = run(capsys, scheduled, "schedule", "add", "--times", "6h")
    assert "Examples:\n  loa schedule add --announcement bluezone" in err


def test_a_new_entry_that_clashes_is_warned_of_at_once(scheduled: Path, capsys: Capture) -> None:
    code, out, _ = run(
        capsys,
        scheduled,
        "schedule",
        "add",
        "--announcement",
        "hop-to-dan-pho",
        "--times",
        "17h",
        "--from",
        "1/12/2026",
        "--until",
        "12/12/2026",
    )
    added, clash, choice = out.splitlines()
    assert code == 0 and added.startswith("Added 'hop-to-dan-pho-1700'")
    assert "warning: 'hop-to-dan-pho-1700' starts at 17:00" in clash and "'sang'" in clash
    assert "--start interrupt" in choice
    code, out, _ = run(capsys, scheduled, "schedule", "list")
    assert "                from 01/12/2026 to 12/12/2026" in out.splitlines()


def test_a_recording_is_played_by_its_name_without_extension(
    station: Path, capsys: Capture, tmp_path: Path
) -> None:
    announcements = station / "announcements"
    shutil.copy(Path(__file__).parent / "data" / "xin-chao.m4a", announcements / "Ghi âm 001.m4a")
    (announcements / "tiem-phong.docx").write_bytes(b"PK")
    out = tmp_path / "thu.wav"
    code, _, err = run(capsys, station, "play", "Ghi âm 001", "--out", str(out))
    assert code == 0 and out.stat().st_size > 44, err
    code, _, err = run(capsys, station, "play", "khong-co")
    assert code == ExitCode.ANNOUNCEMENT and "Ghi âm 001.m4a" in err, "recordings are listed"
    code, _, err = run(capsys, station, "play", "tiem-phong")
    assert "tiem-phong.docx" in err and "tiem-phong.txt" in err, (
        "the file that is there, and the fix"
    )
    code, out_text, _ = run(
        capsys, station, "schedule", "add", "--announcement", "Ghi âm 001.m4a", "--times", "8h"
    )
    assert "Added 'Ghi-âm-001-0800'" in out_text, "ids never contain spaces"
