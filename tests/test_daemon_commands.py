"""`loa log`, `report`, `status`, `stop`, `reload`, and `say` joining a running station's queue,
through cli.main in-process, against a real as-run log and a real daemon object."""

import csv
import io
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from broadcaster.cli.onair_commands import log_table
from broadcaster.control.protocol import Status, StatusReply
from broadcaster.core.models import Occurrence
from broadcaster.errors import ExitCode
from broadcaster.i18n import DEFAULT_LANGUAGE, set_language
from broadcaster.onair.asrun import AsRunLog
from broadcaster.onair.daemon import Daemon
from tests.conftest import CLOSED_EDGE_ENDPOINT
from tests.doubles import FakeClock, FastSink
from tests.schedule_station import run

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")


def aired(log: AsRunLog, entry: str, when: datetime, result: str, error: str = "") -> None:
    occurrence = Occurrence(entry, when, "bluezone", "normal")
    if result in ("missed", "skipped-quiet"):
        log.decide(occurrence, result, error)
        return
    log.begin(occurrence, when)
    log.finish(occurrence, result, when + timedelta(seconds=40), "cache", error)


@pytest.fixture
def logged(station: Path) -> Path:
    log = AsRunLog.for_station(station)
    aired(log, "sang", datetime(2026, 11, 30, 6, 30, tzinfo=HANOI), "played")
    aired(log, "sang", datetime(2026, 12, 1, 6, 30, tzinfo=HANOI), "played-fallback", "mất mạng")
    aired(log, "sang", datetime(2026, 12, 2, 6, 30, tzinfo=HANOI), "missed", "trễ 400 s")
    aired(log, "toi", datetime(2026, 12, 1, 21, 30, tzinfo=HANOI), "skipped-quiet", "giờ yên tĩnh")
    log.close()
    return station


def test_log_lists_every_row_with_its_reason(
    logged: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, logged, "log")
    assert code == 0
    lines = out.splitlines()[1:]
    assert len(lines) == 7, "four rows, three of them with a reason below"
    assert lines[0].startswith("30/11/26 06:30 sang") and "played" in lines[0]
    assert [line.strip() for line in lines[2::2]] == ["mất mạng", "giờ yên tĩnh", "trễ 400 s"]
    assert "held: quiet hours" in lines[3]
    code, out, _ = run(capsys, logged, "log", language="vi")
    assert "giờ yên tĩnh" in out and "đã phát" in out


def test_log_since_until_and_csv(logged: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, logged, "log", "--since", "2026-12-01", "--until", "2026-12-02", "--csv", "--raw"
    )
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(row["entry_id"], row["result"]) for row in rows] == [
        ("sang", "played-fallback"),
        ("toi", "skipped-quiet"),
    ]
    assert rows[0]["scheduled"] == "2026-12-01T06:30:00+07:00" and rows[0]["source"] == "cache"


def test_report_counts_played_over_total_per_entry(
    logged: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, logged, "report", "--month", "2026-12")
    assert code == 0
    assert "12/2026" in out
    lines = out.splitlines()
    assert lines[1].split() == ["ENTRY", "ANNOUNCEMENT", "AIRED", "TOTAL"]
    counts = {line.split()[0]: line.split()[-2:] for line in lines[2:-1]}
    assert counts == {"sang": ["1", "2"], "toi": ["0", "1"]}
    assert lines[-1].split() == ["Total", "1", "3"]
    november = run(capsys, logged, "report", "--month", "11/2026")[1]
    assert november.splitlines()[-1].split() == ["Total", "1", "1"]


def test_an_empty_log_says_so(station: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, station, "log")
    assert (code, out.strip()) == (0, "Nothing in the as-run log for this time.")


def test_status_without_a_running_station_warns_and_still_tells_what_is_next(
    logged: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (logged / "schedules").mkdir()
    (logged / "schedules" / "lich.yaml").write_text(
        "- id: sang\n  announcement: bluezone\n  times: ['06:30']\n", encoding="utf-8"
    )
    code, out, _ = run(capsys, logged, "status")
    assert code == 0
    lines = out.splitlines()
    assert "NOT running" in lines[0] and "loa run" in lines[0]
    assert lines[1] == "Next broadcasts:"
    assert lines[2].endswith("06:30  sang (bluezone)") and len(lines[2:7]) == 5
    assert "Online speech ready" not in out  # counted by the running station's cache rounds
    code, out, _ = run(capsys, logged, "status", language="vi")
    assert "KHÔNG" in out.splitlines()[0]


def test_the_log_table_fits_80_columns_and_wraps_reasons(logged: Path) -> None:
    log = AsRunLog.for_station(logged)
    long_reason = "giọng đọc trực tuyến bị lỗi: không kết nối được dịch vụ " * 3
    aired(
        log,
        "mot-muc-lich-rat-dai-ten",
        datetime(2026, 12, 3, 6, 30, tzinfo=HANOI),
        "failed",
        long_reason,
    )
    set_language("en")
    try:
        lines = log_table(log.rows())
    finally:
        set_language(DEFAULT_LANGUAGE)
    assert all(len(line) <= 80 for line in lines)
    assert lines[0].split() == ["AIRED", "AT", "ENTRY", "RESULT", "VOICE"]
    failed = next(i for i, line in enumerate(lines) if line.startswith("03/12/26 06:30"))
    assert "mot-muc-lich-rat-dai-ten" in lines[failed] and "failed" in lines[failed]
    assert " ".join(line.strip() for line in lines[failed + 1 :]) == long_reason.strip()


@pytest.mark.parametrize("command", ["stop", "reload"])
def test_without_a_running_station(
    station: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    code, _, err = run(capsys, station, command)
    assert code == ExitCode.DAEMON
    assert "loa run" in err and "Traceback" not in err
    code, _, err = run(capsys, station, command, language="vi")
    assert "loa run" in err and "Loa" in err


def test_the_running_station_counts_its_speech_ready_at_each_cache_round(
    station: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The online voice unreachable: nothing rendered; `loa status` takes the count from the
    station's reply instead of loading the speech engines itself."""
    monkeypatch.setenv("LOA_EDGE_ENDPOINT", CLOSED_EDGE_ENDPOINT)
    (station / "schedules").mkdir(exist_ok=True)
    (station / "schedules" / "lich.yaml").write_text(
        "- id: sang\n  announcement: bluezone\n  times: ['06:30']\n", encoding="utf-8"
    )
    daemon = Daemon(station, now=FakeClock(datetime(2026, 12, 1, 8, 0, tzinfo=HANOI)))
    daemon.open()
    try:
        reply = daemon.handle(Status())
        assert isinstance(reply, StatusReply) and reply.speech_ready is None
        daemon.warm()
        reply = daemon.handle(Status())
        assert isinstance(reply, StatusReply) and reply.speech_ready == (0, 1)
        assert daemon.status()["speech_ready"] == [0, 1]
    finally:
        daemon.shutdown()


@pytest.fixture
def running(station: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Daemon, FastSink]]:
    """A daemon object answering on the station's control socket; it plays into a sink held
    until released, so that what is on the air can be looked at."""
    monkeypatch.setenv("LOA_EDGE_ENDPOINT", CLOSED_EDGE_ENDPOINT)
    config = station / "station.yaml"
    config.write_text(
        config.read_text()
        .replace("voice: vi-VN-HoaiMyNeural", "voice: vi")
        .replace('quiet_hours: "21:00-06:00"', 'quiet_hours: "00:00-00:00"')
    )
    clock = FakeClock(datetime.now(HANOI))
    sink = FastSink(clock, hold=threading.Event())
    daemon = Daemon(station, now=clock, output=lambda _station: sink)
    daemon.start()
    yield daemon, sink
    sink.hold.set()  # type: ignore[union-attr]
    daemon.shutdown()


def test_say_stop_and_status_talk_to_the_running_station(
    station: Path, running: tuple[Daemon, FastSink], capsys: pytest.CaptureFixture[str]
) -> None:
    daemon, sink = running
    code, out, _ = run(capsys, station, "say", "Mời bà con đi họp.")
    assert code == 0 and "Queued" in out
    assert sink.started.wait(30)
    code, out, _ = run(capsys, station, "status")
    assert code == 0
    assert "On air: read out now (Mời bà con đi họp.)" in out
    code, out, _ = run(capsys, station, "stop")
    assert (code, out.strip()) == (0, "Stopped read out now.")
    rows = AsRunLog.for_station(station).rows()
    deadline = datetime.now() + timedelta(seconds=10)
    while rows[0].result == "playing" and datetime.now() < deadline:
        rows = AsRunLog.for_station(station).rows()
    assert (rows[0].result, rows[0].error) == ("interrupted", "stopped by the officer.")
    assert len(daemon.queue) == 0, "what the officer stopped does not come back"
    code, out, _ = run(capsys, station, "stop")
    assert (code, out.strip()) == (0, "Nothing was on air.")


def test_a_bad_request_to_the_running_station_gets_its_own_exit_code(
    station: Path, running: tuple[Daemon, FastSink], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, station, "say", "   ")
    assert code == ExitCode.EMPTY_TEXT and "Traceback" not in err
    code, _, err = run(capsys, station, "play", "khong-co-ban-tin")
    assert code == ExitCode.ANNOUNCEMENT and "khong-co-ban-tin" in err


def test_reload_reports_a_bad_edit_and_keeps_running(
    station: Path, running: tuple[Daemon, FastSink], capsys: pytest.CaptureFixture[str]
) -> None:
    (station / "schedules").mkdir(exist_ok=True)
    bad = station / "schedules" / "lich.yaml"
    bad.write_text("- id: a\n  announcement: bluezone\n  times: ['6h70']\n", encoding="utf-8")
    code, _, err = run(capsys, station, "reload")
    assert code == ExitCode.EDIT_REFUSED and f"{bad}:3" in err
    bad.write_text("- id: a\n  announcement: bluezone\n  times: ['6h30']\n", encoding="utf-8")
    code, out, _ = run(capsys, station, "reload")
    assert (code, out.strip()) == (0, "Schedules read again.")
    assert [entry.id for entry in running[0].entries] == ["a"]


def test_in_quiet_hours_the_running_station_takes_only_emergencies(
    station: Path, running: tuple[Daemon, FastSink], capsys: pytest.CaptureFixture[str]
) -> None:
    now = datetime.now(HANOI)
    quiet = f"{now - timedelta(hours=1):%H:%M}-{now + timedelta(hours=1):%H:%M}"
    config = station / "station.yaml"
    config.write_text(config.read_text().replace('"00:00-00:00"', f'"{quiet}"'))
    assert run(capsys, station, "reload")[0] == 0
    code, _, err = run(capsys, station, "say", "Mời bà con đi họp.")
    assert code == ExitCode.QUIET_HOURS and quiet in err and "--emergency" in err
    assert len(running[0].queue) == 0 and running[0].air is None
    code, out, _ = run(capsys, station, "say", "Cháy ở chợ xã.", "--emergency")
    assert code == 0 and "Queued" in out


def test_status_still_answers_with_a_broken_schedule(
    station: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (station / "schedules").mkdir()
    bad = station / "schedules" / "lich.yaml"
    bad.write_text("- id: a\n  announcement: bluezone\n  times: ['25:00']\n", encoding="utf-8")
    code, out, err = run(capsys, station, "status")
    assert code == 0, err
    assert f"The schedules have a problem: {bad}:3:" in out


def test_a_station_without_a_sound_device_says_so_everywhere(
    station: Path, loa_env: dict[str, str]
) -> None:
    """No sound card (the ALSA configuration of loa_env names a card that is not there): loa run
    warns at once, status and doctor say it, and say's reply warns that nothing will be heard."""
    config = station / "station.yaml"  # at any hour: no quiet hours hold the `say`
    config.write_text(config.read_text().replace('"21:00-06:00"', '"00:00-00:00"'))
    loa = [sys.executable, str(Path(__file__).resolve().parent.parent / "cli.py")]

    def run_loa(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*loa, "--station", str(station), "--lang", "en", *args],
            env=loa_env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    daemon = subprocess.Popen(
        [*loa, "--station", str(station), "--lang", "en", "run"],
        env=loa_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while "Loa is on air" not in (status := run_loa("status")).stdout:
            assert time.monotonic() < deadline, status.stderr
            time.sleep(0.3)
        assert "Warning: The sound device does not open" in status.stdout
        said = run_loa("say", "Xin chào bà con.")
        assert said.returncode == 0 and "Queued" in said.stdout
        assert "The sound device does not open" in said.stderr and "--out" not in said.stderr
        doctor = run_loa("doctor")
        assert "✘ Sound device: the running station cannot open it." in doctor.stdout
    finally:
        daemon.send_signal(signal.SIGTERM)
        _out, err = daemon.communicate(timeout=30)
    assert "The sound device does not open" in err, "loa run warns at start"
