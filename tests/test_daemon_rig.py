"""`loa run` for real: a daemon process on the PulseAudio rig, checked from what the sink heard
and from its as-run log."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from broadcaster.audio.render import LEAD_IN_MS, bundled_jingle
from broadcaster.onair.asrun import LOG_FILE
from tests.conftest import ROOT, RunLoa
from tests.pulse_rig import RATE, PulseRig
from tests.signals import locate_all, read_wav

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
START_TOLERANCE_S = 0.5
"""Generous against the rig's own latency; bench/ measures the real start error."""

StartDaemon = Callable[[], subprocess.Popen[str]]


@pytest.fixture
def rig_station(station: Path) -> Path:
    config = station / "station.yaml"
    config.write_text(
        config.read_text()
        .replace("voice: vi-VN-HoaiMyNeural", "voice: vi")
        .replace('quiet_hours: "21:00-06:00"', 'quiet_hours: "00:00-00:00"')
    )
    (station / "schedules").mkdir()
    return station


@pytest.fixture
def start_daemon(
    rig_station: Path, loa_env: dict[str, str], pulse: PulseRig
) -> Iterator[StartDaemon]:
    started: list[subprocess.Popen[str]] = []

    def start() -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "cli.py"), "--station", str(rig_station), "run"],
            env={**loa_env, **pulse.env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        started.append(process)
        deadline = time.monotonic() + 20
        while not (rig_station / ".loa" / "control.sock").exists():
            assert process.poll() is None, process.communicate()[0]
            assert time.monotonic() < deadline, "the daemon did not start"
            time.sleep(0.05)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate()


def due_in(seconds: float) -> datetime:
    return (datetime.now(HANOI) + timedelta(seconds=seconds)).replace(microsecond=0)


def write_schedule(station: Path, *entries: tuple[str, datetime, str]) -> None:
    text = "".join(
        f'- id: {entry}\n  announcement: {announcement}\n  times: ["{moment:%H:%M:%S}"]\n'
        for entry, moment, announcement in entries
    )
    (station / "schedules" / "test.yaml").write_text(text, encoding="utf-8")


def wait_for_rows(station: Path, count: int, timeout: float = 60) -> list[tuple[str, ...]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (station / LOG_FILE).exists():
            with sqlite3.connect(station / LOG_FILE) as db:
                found = db.execute(
                    "SELECT entry_id, scheduled, result, error, started FROM asrun "
                    "WHERE result != 'playing' ORDER BY scheduled_ts"
                ).fetchall()
            if len(found) >= count:
                return found
        time.sleep(0.1)
    raise AssertionError(f"fewer than {count} finished rows in the as-run log")


def heard_at(capture_samples: np.ndarray, origin: float, role: str) -> list[float]:
    """Wall-clock times at which the sink played the bundled jingle `role`, in order."""
    jingle, _rate = read_wav(bundled_jingle(role))
    return [origin + index / RATE for index in locate_all(capture_samples, jingle)]


def test_the_daemon_airs_an_entry_on_time(
    rig_station: Path, pulse: PulseRig, start_daemon: StartDaemon
) -> None:
    with pulse.record() as capture:
        daemon = start_daemon()
        scheduled = due_in(13)  # read by hot reload, then taken PREROLL_S early
        write_schedule(rig_station, ("sang", scheduled, "hop-to-dan-pho"))
        [(entry, _, result, error, _)] = wait_for_rows(rig_station, 1)
        daemon.send_signal(signal.SIGTERM)
        output, _ = daemon.communicate(timeout=20)
    assert daemon.returncode == 0, output
    assert (entry, result, error) == ("sang", "played", "")
    intros = heard_at(capture.samples, capture.origin, "intro")
    assert len(intros) == 1
    late_s = intros[0] - scheduled.timestamp() - LEAD_IN_MS / 1000
    print(f"start error {late_s * 1000:.0f} ms")
    assert abs(late_s) < START_TOLERANCE_S


def test_an_emergency_takes_the_air_and_the_item_comes_back(
    rig_station: Path, pulse: PulseRig, start_daemon: StartDaemon, run_loa: RunLoa
) -> None:
    with pulse.record() as capture:
        start_daemon()
        scheduled = due_in(3)
        write_schedule(rig_station, ("hop", scheduled, "hop-to-dan-pho"))
        time.sleep(max(0.0, scheduled.timestamp() + 3 - time.time()))  # well into the speech
        said = run_loa(
            "--station", str(rig_station), "say", "--emergency", "Cháy ở chợ xã.", env=pulse.env
        )
        assert said.returncode == 0, said.stderr
        asked = time.time()
        rows = wait_for_rows(rig_station, 2)
    assert [(row[0], row[2]) for row in rows] == [("hop", "played"), ("say", "played")]
    assert rows[0][3], "the log says the item was played again after an interruption"
    attention = heard_at(capture.samples, capture.origin, "attention")
    intros = heard_at(capture.samples, capture.origin, "intro")
    assert len(attention) == 1 and attention[0] - asked < 2.0, "the emergency starts at once"
    assert len(intros) == 3, "the item, the emergency (attention tone, then intro), the item"
    assert intros[0] < attention[0] < intros[1] < attention[0] + 5 < intros[2]  # tone: 4 s


def test_kill_9_and_restart_plays_nothing_twice(
    rig_station: Path, pulse: PulseRig, start_daemon: StartDaemon
) -> None:
    with pulse.record() as capture:
        daemon = start_daemon()
        first = due_in(3)
        second = first + timedelta(seconds=20)  # "mot" lasts about 17 s
        write_schedule(
            rig_station, ("mot", first, "hop-to-dan-pho"), ("hai", second, "hop-to-dan-pho")
        )
        wait_for_rows(rig_station, 1)
        time.sleep(max(0.0, second.timestamp() + 3 - time.time()))  # "hai" is on air
        daemon.kill()
        daemon.wait()
        killed = time.time()
        start_daemon()
        rows = wait_for_rows(rig_station, 2)
        time.sleep(8)
    assert [(row[0], row[2]) for row in rows] == [("mot", "played"), ("hai", "interrupted")]
    intros = heard_at(capture.samples, capture.origin, "intro")
    assert len(intros) == 2, "each heard once"
    after = capture.samples[int((killed + 1 - capture.origin) * RATE) :]
    assert np.max(np.abs(after)) < 0.01, "nothing plays after the restart"


def test_a_bad_edit_during_a_run_keeps_the_schedule_on_air(
    rig_station: Path, pulse: PulseRig, start_daemon: StartDaemon, run_loa: RunLoa
) -> None:
    start_daemon()
    scheduled = due_in(8)
    write_schedule(rig_station, ("sang", scheduled, "hop-to-dan-pho"))
    time.sleep(2)  # read by hot reload
    broken = rig_station / "schedules" / "test.yaml"
    broken.write_text(broken.read_text().replace(f"{scheduled:%H:%M:%S}", "25:00"))
    time.sleep(2.5)  # the heartbeat notices edits within a second or two
    status = run_loa("--station", str(rig_station), "--lang", "en", "status")
    assert status.returncode == 0, status.stderr
    assert f"{broken}:3" in status.stdout
    forced = run_loa("--station", str(rig_station), "--lang", "en", "reload")
    assert forced.returncode == 18 and f"{broken}:3" in forced.stderr
    [(entry, _, result, _, _)] = wait_for_rows(rig_station, 1)
    assert (entry, result) == ("sang", "played")
    assert os.path.getsize(rig_station / "logs" / "loa.log") > 0
