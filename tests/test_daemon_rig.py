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
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from broadcaster.audio.render import bundled_jingle
from broadcaster.control.channel import send
from broadcaster.errors import ExitCode
from broadcaster.onair.asrun import LOG_FILE
from tests.conftest import ROOT, RunLoa
from tests.pulse_rig import RATE, PulseRig
from tests.signals import locate_all, read_wav

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
START_TOLERANCE_S = 0.2
"""The one timing bound kept, because starting on the second is what the test is about: four times
the benchmark's goal, well above the rig's own latency (bench/start_error.py measures the error),
and below the amplifier lead-in (LEAD_IN_MS), so a lead-in that started at the second instead of
before it — the intro 0.3 s late — fails."""
WAIT_S = 60.0
"""How long to wait for something the daemon will do: generous for a loaded machine, and never a
measurement."""

StartDaemon = Callable[[], subprocess.Popen[str]]
Ask = Callable[[dict[str, Any]], dict[str, Any] | None]


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
def ask(rig_station: Path, pulse: PulseRig, monkeypatch: pytest.MonkeyPatch) -> Ask:
    """A control request to the daemon, as the CLI sends it (None while none listens); the test
    process sees the daemon's runtime folder."""
    monkeypatch.setenv("XDG_RUNTIME_DIR", pulse.env["XDG_RUNTIME_DIR"])
    return lambda request: send(rig_station, request)


def until(condition: Callable[[], Any], what: str, timeout: float = WAIT_S) -> Any:
    """Poll `condition` until it gives something true; its value."""
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        assert time.monotonic() < deadline, f"waited {timeout:.0f} s for {what}"
        time.sleep(0.05)
    return found


@pytest.fixture
def start_daemon(
    rig_station: Path, loa_env: dict[str, str], pulse: PulseRig, ask: Ask
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

        def answers() -> bool:
            assert process.poll() is None, process.communicate()[0]
            return ask({"command": "status"}) is not None

        until(answers, "the daemon to answer on its control channel")
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


def finished_rows(station: Path) -> list[tuple[str, ...]]:
    if not (station / LOG_FILE).exists():
        return []
    with sqlite3.connect(station / LOG_FILE) as db:
        return db.execute(
            "SELECT entry_id, scheduled, result, error, started FROM asrun "
            "WHERE result != 'playing' ORDER BY scheduled_ts"
        ).fetchall()


def wait_for_rows(station: Path, count: int) -> list[tuple[str, ...]]:
    def enough() -> list[tuple[str, ...]]:
        found = finished_rows(station)
        return found if len(found) >= count else []

    return until(enough, f"{count} finished rows in the as-run log")  # type: ignore[no-any-return]


def playing(ask: Ask, entry_id: str) -> dict[str, Any] | None:
    """What is on the air, if it is `entry_id`."""
    status = ask({"command": "status"})
    on_air = status and status.get("playing")
    return on_air if on_air and on_air["id"] == entry_id else None


def schedule_soon(station: Path, ask: Ask, *entries: tuple[str, float, str]) -> list[datetime]:
    """Entries due in so many seconds, once the running daemon has read them (hot reload);
    their times."""
    times = [due_in(seconds) for _entry, seconds, _announcement in entries]
    write_schedule(
        station,
        *((entry, at, name) for (entry, _s, name), at in zip(entries, times, strict=True)),
    )
    until(lambda: (ask({"command": "status"}) or {}).get("entries") == len(entries), "hot reload")
    return times


def heard_at(
    capture_samples: np.ndarray, origin: float, role: str, head_s: float | None = None
) -> list[float]:
    """Wall-clock times at which the sink played the bundled jingle `role`, in order; with
    `head_s`, known by its first seconds alone, which a later underrun on a loaded machine does
    not spoil (the attention tone lasts 4 s)."""
    jingle, _rate = read_wav(bundled_jingle(role))
    jingle = jingle if head_s is None else jingle[: round(head_s * RATE)]
    return [origin + index / RATE for index in locate_all(capture_samples, jingle)]


def test_the_daemon_airs_an_entry_on_time(
    rig_station: Path, pulse: PulseRig, start_daemon: StartDaemon, ask: Ask
) -> None:
    with pulse.record() as capture:
        daemon = start_daemon()
        [scheduled] = schedule_soon(rig_station, ask, ("sang", 20, "hop-to-dan-pho"))
        [(entry, _, result, error, _)] = wait_for_rows(rig_station, 1)
        daemon.send_signal(signal.SIGTERM)
        output, _ = daemon.communicate(timeout=WAIT_S)
    assert daemon.returncode == 0, output
    assert (entry, result, error) == ("sang", "played", "")
    intros = heard_at(capture.samples, capture.origin, "intro")
    assert len(intros) == 1
    late_s = intros[0] - scheduled.timestamp()  # the first audible sample: nothing subtracted
    print(f"start error {late_s * 1000:.0f} ms")
    assert abs(late_s) < START_TOLERANCE_S


def test_an_emergency_takes_the_air_and_the_item_comes_back(
    rig_station: Path, pulse: PulseRig, start_daemon: StartDaemon, run_loa: RunLoa, ask: Ask
) -> None:
    with pulse.record() as capture:
        start_daemon()
        schedule_soon(rig_station, ask, ("hop", 15, "hop-to-dan-pho"))
        on_air = until(lambda: playing(ask, "hop"), "hop on the air")
        # a real-time stream: wait for its moment, well into the speech (the intro is 2 s)
        started = datetime.fromisoformat(on_air["started"]).timestamp()
        time.sleep(max(0.0, started + 3 - time.time()))
        asked = time.time()
        said = run_loa(
            "--station", str(rig_station), "say", "--emergency", "Cháy ở chợ xã.", env=pulse.env
        )
        assert said.returncode == 0, said.stderr
        rows = wait_for_rows(rig_station, 2)
    assert [(row[0], row[2]) for row in rows] == [("hop", "played"), ("say", "played")]
    assert rows[0][3], "the log says the item was played again after an interruption"
    attention = heard_at(capture.samples, capture.origin, "attention", head_s=1.0)
    intros = heard_at(capture.samples, capture.origin, "intro")
    assert len(intros) == 3, "the item, the emergency (attention tone, then intro), the item"
    assert intros[0] < asked < attention[0] < intros[1] < attention[0] + 5 < intros[2]  # tone: 4 s
    hop_s = 17  # "hop-to-dan-pho" lasts about 17 s: after it would be too late for "at once"
    assert attention[0] < started + hop_s, "the emergency took the air before the item ended"


def test_kill_9_and_restart_plays_nothing_twice(
    rig_station: Path, pulse: PulseRig, start_daemon: StartDaemon, ask: Ask
) -> None:
    with pulse.record() as capture:
        daemon = start_daemon()
        schedule_soon(  # "mot" lasts about 17 s
            rig_station, ask, ("mot", 15, "hop-to-dan-pho"), ("hai", 35, "hop-to-dan-pho")
        )
        on_air = until(lambda: playing(ask, "hai"), "hai on the air")
        started = datetime.fromisoformat(on_air["started"]).timestamp()
        time.sleep(max(0.0, started + 3 - time.time()))  # its intro heard: a real-time stream
        daemon.kill()
        daemon.wait()
        killed = time.time()
        start_daemon()
        rows = wait_for_rows(rig_station, 2)
        status = ask({"command": "status"})
        assert status is not None and status["playing"] is None and status["queue"] == []
        # nothing is waiting; a few heartbeats (one a second) must not find "hai" due again
        time.sleep(3)
        assert ask({"command": "status"})["playing"] is None  # type: ignore[index]
    assert [(row[0], row[2]) for row in rows] == [("mot", "played"), ("hai", "interrupted")]
    intros = heard_at(capture.samples, capture.origin, "intro")
    assert len(intros) == 2, "each heard once"
    after = capture.samples[int((killed + 1 - capture.origin) * RATE) :]
    assert np.max(np.abs(after)) < 0.01, "nothing plays after the restart"


def test_a_bad_edit_during_a_run_keeps_the_schedule_on_air(
    rig_station: Path, pulse: PulseRig, start_daemon: StartDaemon, run_loa: RunLoa, ask: Ask
) -> None:
    start_daemon()
    scheduled = due_in(40)  # far beyond the pre-roll: not queued before the broken edit lands
    write_schedule(rig_station, ("sang", scheduled, "hop-to-dan-pho"))
    until(lambda: ask({"command": "status"})["entries"] == 1, "hot reload")  # type: ignore[index]
    broken = rig_station / "schedules" / "test.yaml"
    broken.write_text(broken.read_text().replace(f"{scheduled:%H:%M:%S}", "25:00"))
    status = until(
        lambda: (found := ask({"command": "status"})) and found["reload_error"] and found,
        "the daemon to notice the broken edit",
    )
    assert f"{broken}:3" in status["reload_error"]
    assert status["queue"] == [] and status["playing"] is None, "the entry was not queued yet"
    assert (status["next"][0]["id"], status["next"][0]["start"]) == ("sang", scheduled.isoformat())
    shown = run_loa("--station", str(rig_station), "--lang", "en", "status", env=pulse.env)
    assert shown.returncode == 0, shown.stderr
    assert f"{broken}:3" in shown.stdout
    forced = run_loa("--station", str(rig_station), "--lang", "en", "reload", env=pulse.env)
    assert forced.returncode == ExitCode.EDIT_REFUSED and f"{broken}:3" in forced.stderr
    [(entry, _, result, _, _)] = wait_for_rows(rig_station, 1)
    assert (entry, result) == ("sang", "played")
    assert os.path.getsize(rig_station / "logs" / "loa.log") > 0
