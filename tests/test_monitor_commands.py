"""The on-air monitor in the officer's commands: `loa log` (HEARD and the alarms), its CSV,
`loa report`, `loa status` of a running station, `loa monitor alarms|listen`, and `loa run` with
a monitor device that is not there: the air goes on, the rows say heard unknown."""

import csv
import io
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from broadcaster.core.models import Alarm, AlarmKind, Heard, Hearing, Occurrence
from broadcaster.errors import ExitCode
from broadcaster.monitor.station import StationMonitor
from broadcaster.onair.asrun import AsRunLog
from broadcaster.onair.daemon import Daemon
from broadcaster.station.station_file import load_station
from tests.conftest import CLOSED_EDGE_ENDPOINT, ROOT, RunLoa
from tests.doubles import FakeClock, FastSink
from tests.schedule_station import run
from tests.test_monitor_glue import ScriptedMonitor, Tapped

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
DAY = datetime(2026, 12, 1, tzinfo=HANOI)
Capture = pytest.CaptureFixture[str]


def aired(log: AsRunLog, entry: str, hour: int, heard: Heard | None) -> Occurrence:
    occurrence = Occurrence(entry, DAY.replace(hour=hour), "bluezone", "normal")
    log.begin(occurrence, occurrence.scheduled)
    log.finish(occurrence, "played", occurrence.scheduled + timedelta(seconds=40), "cache")
    if heard is not None:
        reason = "" if heard == Heard.YES else "31 s of 40 not heard"
        log.hear(occurrence, Hearing(heard, -19.6, 140, reason))
    return occurrence


@pytest.fixture
def judged(station: Path) -> Path:
    """A month's log with a monitor: heard, partly, not heard, not judged, and two alarms."""
    log = AsRunLog.for_station(station)
    aired(log, "sang", 6, Heard.YES)
    aired(log, "trua", 11, Heard.PARTLY)
    aired(log, "chieu", 17, Heard.NO)
    aired(log, "toi", 19, None)
    log.record_alarm(
        Alarm(AlarmKind.DEAD_AIR, DAY.replace(hour=17, second=12), None, "nothing heard for 10 s")
    )
    log.record_alarm(
        Alarm(
            AlarmKind.UNEXPECTED_SOUND,
            DAY.replace(hour=9),
            DAY.replace(hour=9, minute=2),
            "sound outside broadcasts for 2 min",
        )
    )
    log.close()
    return station


def test_the_log_shows_what_was_heard_and_the_alarms_in_time_order(
    judged: Path, capsys: Capture
) -> None:
    code, out, err = run(capsys, judged, "log")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["AIRED", "AT", "ENTRY", "RESULT", "VOICE", "HEARD"]
    assert all(len(line) <= 80 for line in lines)
    firsts = [line for line in lines[1:] if line.startswith("01/12/26")]
    assert [line.split()[2] for line in firsts] == [
        "sang",
        "(monitor)",
        "trua",
        "chieu",
        "(monitor)",
        "toi",
    ]
    assert firsts[0].endswith("heard") and firsts[2].endswith("partly heard")
    assert firsts[3].endswith("NOT heard") and firsts[5].endswith("cache")
    assert "unexpected sound" in firsts[1] and "dead air" in firsts[4]
    assert "  sound outside broadcasts for 2 min (until 09:02:00)" in out
    assert "Monitor: -20 dB, delay 140 ms; 31 s of 40 not heard" in out


def test_without_a_monitor_the_log_has_no_heard_column(station: Path, capsys: Capture) -> None:
    log = AsRunLog.for_station(station)
    aired(log, "sang", 6, None)
    log.close()
    code, out, _ = run(capsys, station, "log")
    assert code == 0 and "HEARD" not in out


def test_the_csv_has_the_heard_column_and_the_raw_values(judged: Path, capsys: Capture) -> None:
    code, out, _ = run(capsys, judged, "log", "--csv")
    assert code == 0
    heading, *rows = csv.reader(io.StringIO(out.removeprefix("\ufeff")))
    column = heading.index("Heard")
    assert [row[column] for row in rows] == ["heard", "partly heard", "NOT heard", ""]
    code, out, _ = run(capsys, judged, "log", "--csv", "--raw")
    heading, *rows = csv.reader(io.StringIO(out))
    assert heading[-5:] == ["heard", "heard_db", "heard_delay_ms", "heard_reason", "audio_log"]
    assert rows[1][-5:] == ["partly", "-19.6", "140", "31 s of 40 not heard", ""]


def test_the_report_counts_heard_beside_aired(judged: Path, capsys: Capture) -> None:
    code, out, _ = run(capsys, judged, "report", "--month", "12/2026")
    assert code == 0
    lines = out.splitlines()
    assert lines[1].split() == ["ENTRY", "ANNOUNCEMENT", "AIRED", "HEARD", "PARTLY", "NOT", "TOTAL"]
    counts = {line.split()[0]: line.split()[2:] for line in lines[2:6]}
    assert counts == {
        "chieu": ["1", "0", "0", "1", "1"],
        "sang": ["1", "1", "0", "0", "1"],
        "toi": ["1", "0", "0", "0", "1"],
        "trua": ["1", "0", "1", "0", "1"],
    }
    assert lines[6].split() == ["Total", "4", "1", "1", "1", "4"]
    assert "rows aired without the monitor are not counted there" in out


def test_monitor_alarms_lists_them_with_their_end(judged: Path, capsys: Capture) -> None:
    code, out, _ = run(capsys, judged, "monitor", "alarms", "--since", "01/12/2026")
    assert code == 0
    assert out.splitlines() == [
        "01/12/2026 09:00:00  unexpected sound (until 01/12 09:02:00): sound outside broadcasts "
        "for 2 min",
        "01/12/2026 17:00:12  dead air (lasting): nothing heard for 10 s",
    ]
    code, out, _ = run(capsys, judged, "monitor", "alarms", "--since", "02/12/2026")
    assert (code, out.strip()) == (0, "No monitor alarms since 02/12/2026 00:00.")


def test_listen_without_an_audio_log_says_how_to_turn_the_monitor_on(
    run_loa: RunLoa, example_station: Path
) -> None:
    done = run_loa("--lang", "en", "monitor", "listen", "--at", "2026-12-01T06:30")
    assert done.returncode == ExitCode.AUDIO_FILE, done.stderr
    assert "This station has no audio log of the on-air monitor" in done.stderr
    assert "Traceback" not in done.stderr
    done = run_loa("--lang", "en", "monitor", "listen", "--at", "sometime")
    assert done.returncode == ExitCode.USAGE and "'sometime' is not a date" in done.stderr


@pytest.fixture
def monitored(station: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedMonitor]:
    """A running station (on its control socket) whose monitor hears nothing and has a dead
    air alarm."""
    monkeypatch.setenv("LOA_EDGE_ENDPOINT", CLOSED_EDGE_ENDPOINT)
    config = station / "station.yaml"
    config.write_text(
        config.read_text().replace("voice: vi-VN-HoaiMyNeural", "voice: vi")
        + "\nmonitor:\n  device: hw:9\n"
    )
    settings = load_station(station)
    assert settings.monitor is not None
    scripted: list[ScriptedMonitor] = []

    def open_monitor(*args: object) -> ScriptedMonitor:
        scripted.append(ScriptedMonitor(args[2], verdict=Heard.NO))  # type: ignore[arg-type]
        return scripted[-1]

    station_monitor = StationMonitor(
        settings,
        settings.monitor,
        open_monitor,
        lambda inner, monitor: Tapped(inner, monitor),  # type: ignore[arg-type]
    )
    clock = FakeClock(datetime.now(HANOI))
    sink = FastSink(clock)
    daemon = Daemon(station, now=clock, output=lambda s: station_monitor.output_for(s, sink))
    daemon.monitor_status = station_monitor.status
    daemon.start()
    station_monitor.start(daemon.events, daemon.now)
    assert station_monitor.opened.wait(10)
    (monitor,) = scripted
    monitor.lasting = [Alarm(AlarmKind.DEAD_AIR, clock.moment, None, "nothing heard for 10 s")]
    yield monitor
    daemon.shutdown()
    station_monitor.close()


def test_status_shows_the_monitor_its_alarms_and_what_was_not_heard(
    station: Path, monitored: ScriptedMonitor, capsys: Capture
) -> None:
    code, out, _ = run(capsys, station, "say", "Mời bà con đi họp.", "--emergency")
    assert code == 0
    log = AsRunLog.for_station(station)
    deadline = time.monotonic() + 10
    while not any(row.heard for row in log.rows()) and time.monotonic() < deadline:
        time.sleep(0.05)
    log.close()
    code, out, _ = run(capsys, station, "status")
    assert code == 0
    assert "On-air monitor (hw:9): listening." in out
    assert "Monitor ALARM: dead air since " in out and ": nothing heard for 10 s" in out
    assert "Aired but not heard by the monitor in the last 24 hours:" in out
    assert "read out now (EMERGENCY): NOT heard — -18 dB, delay 120 ms" in out


def test_loa_run_with_a_monitor_device_that_is_not_there_stays_on_the_air(
    station: Path, loa_env: dict[str, str]
) -> None:
    """The monitor cannot listen: `loa run` says so and airs as ever; status shows why, the
    row says heard unknown with the reason, and SIGTERM stops it cleanly."""
    config = station / "station.yaml"
    config.write_text(
        config.read_text()
        .replace('"21:00-06:00"', '"00:00-00:00"')
        .replace("device: simpleaudio", "device: silent")
        .replace("voice: vi-VN-HoaiMyNeural", "voice: vi")
        + "\nmonitor:\n  device: khong-co-thiet-bi-nay\n"
    )
    loa = [sys.executable, str(ROOT / "cli.py"), "--station", str(station), "--lang", "en"]

    def run_loa(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*loa, *args], env=loa_env, capture_output=True, text=True, timeout=120, check=False
        )

    daemon = subprocess.Popen(
        [*loa, "run"], env=loa_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while (
            "On-air monitor (khong-co-thiet-bi-nay): NOT listening"
            not in (status := run_loa("status")).stdout
        ):
            assert time.monotonic() < deadline, (status.stdout, status.stderr)
            time.sleep(0.3)
        said = run_loa("say", "Xin chào.")
        assert said.returncode == 0, said.stderr
        deadline = time.monotonic() + 60
        while not (rows := AsRunLog.for_station(station).rows()) or not rows[-1].heard:
            assert time.monotonic() < deadline, rows
            time.sleep(0.3)
        assert (rows[-1].result, rows[-1].heard) == ("played", "unknown")
        assert rows[-1].heard_reason
    finally:
        daemon.send_signal(signal.SIGTERM)
        _out, err = daemon.communicate(timeout=30)
    assert daemon.returncode == 0, err
    assert "Traceback" not in err
    assert "khong-co-thiet-bi-nay" in err, "loa run says the monitor does not listen"


def test_doctor_warns_of_a_monitor_device_that_is_not_there(station: Path, english: None) -> None:
    from broadcaster.system.doctor import WARNING, check_monitor

    config = station / "station.yaml"
    config.write_text(config.read_text() + "\nmonitor:\n  device: khong-co-thiet-bi-nay\n")
    result = check_monitor(load_station(station))
    assert result.status == WARNING
    assert result.detail.startswith("The monitor input khong-co-thiet-bi-nay cannot be heard")
    assert "monitor:" in result.fix


def test_doctor_says_when_there_is_no_monitor(station: Path, english: None) -> None:
    from broadcaster.system.doctor import OK, check_monitor

    result = check_monitor(load_station(station))
    assert (result.status, result.detail) == (
        OK,
        "none in station.yaml (the as-run log says what was sent).",
    )
