"""`loa run` with the on-air monitor for real, on the PulseAudio rig: the monitor input is the
rig's null sink's monitor. What the station plays there is heard, with the rig's delay; played
to another sink (the amplifier unplugged), it is not heard and dead air is raised in time; a relay
whose source is gone for 10 s is heard partly."""

import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from broadcaster.control.channel import send
from broadcaster.onair.asrun import LOG_FILE
from tests.conftest import ROOT
from tests.icecast import Icecast, ToneSource
from tests.pulse_rig import SINK, PulseRig

WAIT_S = 60.0
"""Generous for a loaded machine, never a measurement."""
DEAD_AIR_WITHIN_S = 12.0
"""The issue's bound with the default `dead_air` of 10 s."""
LONG_TEXT = (
    "Thông báo của Ủy ban nhân dân xã về việc phòng chống dịch bệnh. Đề nghị bà con thực hiện "
    "tốt các biện pháp phòng dịch, rửa tay thường xuyên, đeo khẩu trang ở nơi công cộng, và báo "
    "ngay cho trạm y tế khi có các triệu chứng sốt, ho, khó thở. Xin cảm ơn bà con."
)


def until(condition: Callable[[], Any], what: str, timeout: float = WAIT_S) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        assert time.monotonic() < deadline, f"waited {timeout:.0f} s for {what}"
        time.sleep(0.1)
    return found


MOUNT = "vov1"


@pytest.fixture(scope="module")
def icecast(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Icecast]:
    server = Icecast(tmp_path_factory.mktemp("icecast")).start()
    yield server
    server.stop()


@pytest.fixture
def monitored_station(station: Path, icecast: Icecast) -> Path:
    config = station / "station.yaml"
    config.write_text(
        config.read_text()
        .replace("voice: vi-VN-HoaiMyNeural", "voice: vi")
        .replace('quiet_hours: "21:00-06:00"', 'quiet_hours: "00:00-00:00"')
        + f"\nmonitor:\n  device: {SINK}.monitor\n"
        + f"\nrelay_sources:\n  {MOUNT}:\n    - {icecast.url(MOUNT)}\n",
        encoding="utf-8",
    )
    (station / "announcements" / "dai.txt").write_text(LONG_TEXT, encoding="utf-8")
    return station


@pytest.fixture
def other_sink(pulse: PulseRig) -> Iterator[str]:
    """Where the sound goes when the amplifier that the monitor hears is unplugged."""
    loaded = subprocess.run(
        ["pactl", "load-module", "module-null-sink", "sink_name=unplugged", "channels=1"],
        env=pulse.env,
        capture_output=True,
        text=True,
        check=True,
    )
    yield "unplugged"
    subprocess.run(["pactl", "unload-module", loaded.stdout.strip()], env=pulse.env, check=False)


@pytest.fixture
def loa_run(
    monitored_station: Path,
    loa_env: dict[str, str],
    pulse: PulseRig,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Callable[[str], subprocess.Popen[str]]]:
    """`loa run` playing to `sink` (the rig's own unless told), once it answers."""
    monkeypatch.setenv("XDG_RUNTIME_DIR", pulse.env["XDG_RUNTIME_DIR"])
    started: list[subprocess.Popen[str]] = []

    def start(sink: str = SINK) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "cli.py"), "--station", str(monitored_station), "run"],
            env={**loa_env, **pulse.env, "PULSE_SINK": sink},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        started.append(process)

        def listening() -> bool:
            assert process.poll() is None, process.communicate()[0]
            status = send(monitored_station, {"command": "status"})
            monitor = (status or {}).get("monitor") or {}
            return status is not None and monitor.get("problem") is None

        until(listening, "loa run on the air with its monitor listening")
        audio_log = monitored_station / ".loa" / "monitor"
        until(lambda: any(audio_log.glob("*.ogg")), "the monitor's first sound captured")
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.terminate()
            try:
                process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()


def play(station: Path, announcement: str) -> None:
    reply = send(station, {"command": "play", "announcement": announcement})
    assert reply is not None and reply.get("ok"), reply


def say(station: Path, text: str) -> None:
    reply = send(station, {"command": "say", "text": text})
    assert reply is not None and reply.get("ok"), reply


def judged_rows(station: Path, count: int) -> list[dict[str, Any]]:
    def rows() -> list[dict[str, Any]]:
        if not (station / LOG_FILE).exists():
            return []
        with sqlite3.connect(station / LOG_FILE) as db:
            db.row_factory = sqlite3.Row
            found = [
                dict(row)
                for row in db.execute("SELECT * FROM asrun WHERE heard != '' ORDER BY scheduled_ts")
            ]
        return found if len(found) >= count else []

    return until(rows, f"{count} rows judged by the monitor")  # type: ignore[no-any-return]


def alarms(station: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(station / LOG_FILE) as db:
        return db.execute("SELECT kind, started FROM monitor_alarms ORDER BY started_ts").fetchall()


def test_every_broadcast_on_the_monitored_sink_is_heard_with_the_rig_s_delay(
    monitored_station: Path, loa_run: Callable[[str], subprocess.Popen[str]]
) -> None:
    loa_run(SINK)
    say(monitored_station, "Xin chào bà con.")
    say(monitored_station, "Loa phường xin thông báo.")
    rows = judged_rows(monitored_station, 2)
    assert [row["heard"] for row in rows] == ["yes", "yes"], rows
    for row in rows:
        assert 0 <= row["heard_delay_ms"] <= 300, row  # a null sink's monitor: no amplifier
        assert -40 < row["heard_db"] < 0, row
        assert row["audio_log"], row
    assert [kind for kind, _started in alarms(monitored_station)] == []


def test_a_broadcast_to_another_sink_is_not_heard_and_dead_air_is_raised_in_time(
    monitored_station: Path, loa_run: Callable[[str], subprocess.Popen[str]], other_sink: str
) -> None:
    loa_run(other_sink)
    play(monitored_station, "dai")
    [row] = judged_rows(monitored_station, 1)
    assert row["heard"] == "no", row
    started = datetime.fromisoformat(row["started"])
    ended = datetime.fromisoformat(row["ended"])
    assert (ended - started).total_seconds() > DEAD_AIR_WITHIN_S, "long enough to tell"
    dead = [
        datetime.fromisoformat(at) for kind, at in alarms(monitored_station) if kind == "dead-air"
    ]
    assert dead, alarms(monitored_station)
    assert 0 < (dead[0] - started).total_seconds() <= DEAD_AIR_WITHIN_S


def test_a_relay_whose_source_is_gone_for_10_s_is_heard_partly(
    monitored_station: Path, loa_run: Callable[[str], subprocess.Popen[str]], icecast: Icecast
) -> None:
    tone = ToneSource(icecast, MOUNT).start()
    try:
        loa_run(SINK)
        reply = send(monitored_station, {"command": "relay", "source": MOUNT, "seconds": 24})
        assert reply is not None and reply.get("ok"), reply
        time.sleep(5)
        tone.kill()
        time.sleep(10)
        tone = ToneSource(icecast, MOUNT).start()
        [row] = judged_rows(monitored_station, 1)
    finally:
        tone.kill()
    assert row["result"] == "relayed-with-dropouts", row
    assert row["heard"] == "partly", row
