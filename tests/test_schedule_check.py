"""`loa schedule check`: every error at its file:line, clashes with their two answers, quiet-hour
and session-cap warnings; the arrays it works on agree with the recurrence rules."""

import random
import shutil
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from broadcaster.core.recurrence import Recurrence, occurrences
from broadcaster.errors import ExitCode
from broadcaster.station import schedule_plan
from broadcaster.station.schedule_check import (
    CHARS_PER_SECOND,
    check_schedules,
    measure,
    program_seconds,
)
from broadcaster.station.schedule_plan import Calendar
from broadcaster.station.schedules import Entry, read_schedules
from broadcaster.station.station_file import load_station
from tests.schedule_station import run, write_schedule

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data"
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
TODAY = date(2026, 11, 30)  # a Monday

pytestmark = pytest.mark.usefixtures("english")


def findings(station: Path, today: date = TODAY) -> list[str]:
    loaded = load_station(station, environ={})
    schedules = read_schedules(loaded)
    timing = measure(loaded, [entry.announcement for entry in schedules.entries])
    return [*schedules.problems, *map(str, check_schedules(schedules, timing, loaded, today))]


@pytest.mark.parametrize(
    "rule",
    [
        Recurrence((time(6),)),
        Recurrence((time(6),), weekdays=frozenset({0, 2, 6})),
        Recurrence((time(6),), first=date(2026, 12, 24), last=date(2027, 1, 3)),
        Recurrence((time(6),), first=date(2026, 11, 2), every_days=14),
        Recurrence((time(6),), first=date(2026, 1, 1), every_days=3, weekdays=frozenset({1})),
        Recurrence((time(6),), month_day=31),
        Recurrence((time(6),), month_weekday=(0, -1)),
        Recurrence((time(6),), month_weekday=(4, 5)),
        Recurrence((time(6),), on=date(2027, 2, 6)),
        Recurrence((time(6),), on=date(2027, 2, 6), skipped=frozenset({date(2027, 2, 6)})),
        Recurrence((time(6),), skipped=frozenset({date(2026, 12, 1), date(2020, 1, 1)})),
    ],
)
def test_the_day_arrays_agree_with_the_rules(rule: Recurrence) -> None:
    calendar = Calendar(TODAY, 400)
    start = datetime.combine(TODAY, time(0), tzinfo=HANOI)
    expected = {at.date() for at in occurrences(rule, start, start + timedelta(days=400))}
    aired = {TODAY + timedelta(days=int(n)) for n in calendar.mask(rule).nonzero()[0]}
    assert aired == expected


def test_a_program_lasts_its_chimes_its_plays_and_its_gaps() -> None:
    jingles = {"intro": 3.0, "outro": 3.0, "attention": 4.0}
    entry = Entry("a", "b", Recurrence((time(6),)), repeat=3, gap_s=30.0)
    assert program_seconds(entry, 40.0, jingles) == pytest.approx(0.3 + 3 + 0.3 + 180 + 0.3 + 3)
    urgent = Entry("a", "b", Recurrence((time(6),)), priority="emergency")
    assert program_seconds(urgent, 40.0, jingles) == pytest.approx(0.3 + 4.3 + 3.3 + 40 + 3.3)


def test_texts_are_timed_by_length_and_audio_files_by_their_duration(station: Path) -> None:
    shutil.copy(DATA / "xin-chao.wav", station / "announcements" / "ghi-am.wav")
    shutil.copy(DATA / "xin-chao.m4a", station / "announcements" / "dien-thoai.m4a")
    ids = ["hop-to-dan-pho", "ghi-am.wav", "dien-thoai.m4a", "x"]
    timing = measure(load_station(station, environ={}), ids)
    text = (station / "announcements" / "hop-to-dan-pho.txt").read_text().split()
    assert timing.messages["hop-to-dan-pho"] == pytest.approx(
        len(" ".join(text)) / CHARS_PER_SECOND
    )
    assert 0.5 < timing.messages["ghi-am.wav"] < 5
    assert timing.messages["dien-thoai.m4a"] == pytest.approx(timing.messages["ghi-am.wav"], 0.1)
    assert timing.jingles["intro"] == pytest.approx(3.02, abs=0.01)
    assert "x" in timing.problems


def test_a_clash_is_reported_at_the_later_entry_with_both_answers(station: Path) -> None:
    path = write_schedule(
        station,
        """\
- id: sang
  announcement: bluezone
  times: ["06:30"]
  repeat: 3
- id: hop
  announcement: hop-to-dan-pho
  times: ["06:31"]
  days: [T3]
""",
    )
    [clash] = findings(station)
    assert clash.startswith(f"{path}:5: warning: 'hop' starts at 06:31 on 01/12/2026 while 'sang'")
    assert f"({path}:1)" in clash
    assert "'start: interrupt'" in clash and "'start: after-current'" in clash
    assert "clashes in the next 366 days: 53" in clash  # every Tuesday
    assert "'hop' will wait and play right after it" in clash
    path.write_text(path.read_text() + "  priority: priority\n", encoding="utf-8")
    [clash] = findings(station)
    assert clash.startswith(f"{path}:5: 'hop' starts"), "a priority clash is the officer's call"
    path.write_text(path.read_text().replace("  priority: priority\n", ""), encoding="utf-8")
    (station / "schedules" / "lich.yaml").write_text(
        path.read_text() + "  start: after-current\n", encoding="utf-8"
    )
    assert findings(station) == []


def test_entries_that_never_meet_do_not_clash(station: Path) -> None:
    write_schedule(
        station,
        """\
- id: thu-hai
  announcement: bluezone
  times: ["06:30"]
  days: [T2]
- id: thu-ba
  announcement: bluezone
  times: ["06:30"]
  days: [T3]
- id: sau
  announcement: hop-to-dan-pho
  times: ["06:32"]
- id: tat
  announcement: bluezone
  times: ["06:30"]
  enabled: false
""",
    )
    assert findings(station) == []


def test_a_program_running_past_midnight_clashes_with_the_next_day(station: Path) -> None:
    path = write_schedule(
        station,
        """\
- id: khuya
  announcement: bluezone
  times: ["23:59"]
  repeat: 2
  priority: emergency
- id: sang-som
  announcement: hop-to-dan-pho
  times: ["00:00"]
  priority: emergency
""",
    )
    [clash] = findings(station)
    assert clash.startswith(f"{path}:6: 'sang-som' starts at 00:00 on 01/12/2026 while 'khuya'")


def test_every_error_of_every_file_is_reported_and_the_check_fails(
    station: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = write_schedule(
        station,
        """\
- id: a
  announcement: bluezone
  times: ["25:00"]
- id: b
  announcement: khong-co
  times: ["07:00"]
- just text
- id: c
  announcement: bluezone
  times: ["08:00"]
""",
        "1.yaml",
    )
    second = write_schedule(station, "- id: c\n  announcement: bluezone\n  times: 9h\n", "2.yaml")
    third = write_schedule(station, "- id: d\n\tannouncement: x\n", "3.yaml")
    code, out, err = run(capsys, station, "schedule", "check")
    lines = out.splitlines()
    assert [line.split(": ")[0] for line in lines] == [
        f"{first}:3",
        f"{first}:5",
        f"{first}:7",
        f"{second}:1",
        f"{third}:2",
    ]
    assert "25:00" in lines[0] and "khong-co" in lines[1] and f"{first}:8" in lines[3]
    assert code == ExitCode.SCHEDULE
    assert err.strip() == "Errors: 5, warnings: 0 (entries: 1, files: 3)"


def test_a_clean_schedule_passes_with_a_summary(
    station: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(ROOT / "schedules", station / "schedules")
    code, out, err = run(capsys, station, "schedule", "check")
    assert (code, out, err) == (0, "OK: no errors (entries: 1, files: 1, warnings: 0).\n", "")


def test_given_files_are_checked_alone(station: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_schedule(station, "- id: a\n  announcement: bluezone\n  times: 25h\n", "hong.yaml")
    other = station / "moi.yaml"
    other.write_text("- id: a\n  announcement: bluezone\n  times: 7h\n", encoding="utf-8")
    code, out, _err = run(capsys, station, "schedule", "check", str(other))
    assert (code, out) == (0, "OK: no errors (entries: 1, files: 1, warnings: 0).\n")


def test_quiet_hours_hold_back_normal_and_priority_entries_only(station: Path) -> None:
    path = write_schedule(
        station,
        """\
- id: muon
  announcement: hop-to-dan-pho
  times: ["21:30", "12:00"]
- id: khan
  announcement: hop-to-dan-pho
  times: ["22:00"]
  priority: emergency
- id: sat-gio
  announcement: bluezone
  times: ["20:59:50"]
  priority: priority
""",
    )
    warnings = findings(station)
    assert warnings == [
        f"{path}:1: warning: 'muon' at 21:30 falls in the quiet hours (21:00-06:00, "
        "station.yaml): only emergencies air then, so it will be held back.",
        f"{path}:8: warning: 'sat-gio' at 20:59 runs into the quiet hours (21:00-06:00, "
        "station.yaml) until about 21:00.",
    ]


def test_session_caps_warn_once_per_pattern(station: Path) -> None:
    station_yaml = station / "station.yaml"
    limits = "sessions:\n  per_day: 2\n  minutes: 1\n  days_per_week: 5\n"
    station_yaml.write_text(station_yaml.read_text().split("sessions:")[0] + limits)
    path = write_schedule(
        station,
        """\
- id: sang
  announcement: bluezone
  times: ["06:30"]
  repeat: 2
- id: trua
  announcement: hop-to-dan-pho
  times: ["11:00"]
- id: chieu
  announcement: hop-to-dan-pho
  times: ["17:00"]
  days: [T2-T7]
- id: bao-dong
  announcement: hop-to-dan-pho
  times: ["19:00"]
  priority: emergency
""",
    )
    warnings = findings(station)
    assert len(warnings) == 3, warnings
    too_long, days_per_week, per_day = warnings
    assert too_long.startswith(f"{path}:1: warning: the session that 'sang' opens at 06:30")
    assert "more than the 1 of sessions.minutes" in too_long
    assert "(days like this in the next 366 days: 366)" in too_long
    assert days_per_week.startswith(
        f"{path}:1: warning: the schedules air on 7 days in the week of 30/11/2026, more than "
        "the 5 of sessions.days_per_week in station.yaml (weeks like this"
    )
    assert per_day.startswith(f"{path}:8: warning: with 'chieu' at 17:00, 30/11/2026 has 3 ")


def test_entries_whose_dates_are_past_are_pointed_out(station: Path) -> None:
    path = write_schedule(
        station,
        "- id: cu\n  announcement: bluezone\n  times: 7h\n  date: 2020-08-01\n",
    )
    assert findings(station) == [
        f"{path}:1: warning: 'cu' airs on no day in the next 366 days: its dates are past, or "
        "holidays and exceptions cover them."
    ]


def test_an_announcement_that_cannot_air_is_an_error_at_its_first_entry(station: Path) -> None:
    (station / "announcements" / "rong.txt").write_text("  \n", encoding="utf-8")
    path = write_schedule(
        station,
        "- id: a\n  announcement: rong\n  times: 7h\n- id: b\n  announcement: rong\n  times: 8h\n",
    )
    [problem] = findings(station)
    assert problem.startswith(f"{path}:1: the announcement 'rong' cannot air: ")


def test_the_check_speaks_vietnamese(station: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_schedule(station, "- id: a\n  announcement: bluezone\n  times: 25:00\n")
    code, out, _err = run(capsys, station, "schedule", "check", language="vi")
    assert code == ExitCode.SCHEDULE
    assert out.endswith(":3: '25:00' không phải giờ; hãy viết 06:30, 6h30 hoặc 17h.\n")


@pytest.mark.parametrize(
    ("typo", "mark"),
    [('  times: ["06:30]\n', '"'), ("  times: [06:30, 17h\n", "]")],
)
def test_a_typo_is_reported_at_its_own_line_with_the_fix(
    station: Path, capsys: pytest.CaptureFixture[str], typo: str, mark: str
) -> None:
    path = write_schedule(
        station,
        "- id: a\n  announcement: bluezone\n"
        + typo
        + '  days: [T2-T6]\n- id: b\n  announcement: bluezone\n  times: ["07:30"]\n',
    )
    code, out, _ = run(capsys, station, "schedule", "check")
    assert code == ExitCode.SCHEDULE
    assert out.startswith(f"{path}:3: the closing {mark} is missing on this line"), out
    _code, out, _ = run(capsys, station, "schedule", "check", language="vi")
    assert out.startswith(f"{path}:3: dòng này thiếu dấu {mark} đóng"), out


def _crowded_schedule(count: int, seed: int) -> str:
    """Entries close together around the clock (midnight too), long and short, of every
    priority and start: clashes, sessions and quiet hours in plenty."""
    rng = random.Random(seed)
    lines = []
    for index in range(count):
        minutes = rng.choice((0, 1, 2, 5, 30, 60)) + rng.choice((6 * 60, 12 * 60, 23 * 60 + 55))
        times = ", ".join(
            f'"{(minutes + shift) // 60 % 24:02d}:{(minutes + shift) % 60:02d}"'
            for shift in rng.sample(range(0, 90, 3), rng.choice((1, 2, 3)))
        )
        lines += [f"- id: e{index}", "  announcement: bluezone", f"  times: [{times}]"]
        lines.append(f"  days: {rng.choice(('T2-T6', 'T7', '[T3, CN]', '[T2-CN]'))}")
        if rng.random() < 0.3:
            lines.append(f"  every: {rng.choice(('2 weeks', '3 days'))}")
            lines.append(f"  from: {TODAY - timedelta(days=rng.randrange(20))}")
        lines.append(f"  priority: {rng.choice(('normal', 'normal', 'priority', 'emergency'))}")
        lines.append(f"  repeat: {rng.choice((1, 2, 3))}")
        if rng.random() < 0.2:
            lines.append(f"  start: {rng.choice(('interrupt', 'after-current'))}")
    lines += ["- id: khuya", "  announcement: bluezone", '  times: ["23:59"]', "  repeat: 3"]
    lines += ["- id: sang-som", "  announcement: bluezone", '  times: ["00:01"]']
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("seed", [1, 2])
def test_what_is_found_does_not_depend_on_how_many_days_are_examined_at_once(
    station: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """The occurrences are made and examined a few days at a time: a program running past the
    end of one window, and the sessions and clashes it is part of, carry into the next."""
    write_schedule(station, _crowded_schedule(60, seed))
    found = []
    for window in (1, 500, 10**9):  # a day at a time (a day is never split), ~a week, a year
        monkeypatch.setattr(schedule_plan, "CHUNK", window)
        found.append(findings(station))
    assert found[0] == found[1] == found[2]
    text = "\n".join(found[0])
    assert "'sang-som' starts at 00:01 on 01/12/2026 while 'khuya'" in text
    assert "sessions.minutes" in text and "sessions.per_day" in text


def test_wav_lengths_come_from_the_standard_library_and_agree_with_the_decoder(
    tmp_path: Path,
) -> None:
    import subprocess
    import sys

    import miniaudio

    from broadcaster.audio.chimes import JINGLES_DIR
    from broadcaster.audio.wavfile import wav_seconds

    for jingle in sorted(JINGLES_DIR.glob("*.wav")):
        seconds = wav_seconds(jingle)
        assert seconds == pytest.approx(miniaudio.get_file_info(str(jingle)).duration, abs=1e-3)
    floats = tmp_path / "float.wav"  # IEEE float: not for the standard library, the decoder tells
    floats.write_bytes(float_wav())
    assert wav_seconds(floats) is None
    code = "import sys, broadcaster.station.schedule_check as c, broadcaster.audio.chimes as j;"
    code += "[c._seconds(p, 3600) for p in j.JINGLES_DIR.glob('*.wav')];"
    code += "print('numpy' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"  # the web console's week page stays small


def float_wav() -> bytes:
    import struct

    frames = struct.pack("<4f", 0.0, 0.5, -0.5, 0.0)
    fmt = struct.pack("<HHIIHH", 3, 1, 8000, 32000, 4, 32)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(frames)) + frames
    return b"RIFF" + struct.pack("<I", len(body)) + body
