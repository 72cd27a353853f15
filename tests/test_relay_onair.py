"""Relays in a running station (`loa run`, silent output, a real Icecast 2 fed by ffmpeg): on
the schedule and at once, pre-empted by an emergency and back live, ended by `loa stop`, killed
with -9 and back live after the restart, and every stretch in one as-run row with its dropouts."""

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

import pytest

from broadcaster.onair.asrun import LOG_FILE
from tests.conftest import ROOT, copy_example_station
from tests.icecast import Icecast, ToneSource, ffmpeg_readers

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
WAIT_S = 60.0
MOUNT = "vov1"


@pytest.fixture(scope="module")
def icecast(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Icecast]:
    server = Icecast(tmp_path_factory.mktemp("icecast")).start()
    yield server
    server.stop()


@pytest.fixture
def tone(icecast: Icecast) -> Iterator[ToneSource]:
    source = ToneSource(icecast, MOUNT).start()
    yield source
    source.kill()


@pytest.fixture
def station(tmp_path: Path, icecast: Icecast) -> Path:
    """The example station, silent, without quiet hours or schedules, relaying the test mount."""
    folder = copy_example_station(tmp_path / "station")
    for schedule in (folder / "schedules").glob("*.yaml"):
        schedule.unlink()
    settings = (folder / "station.yaml").read_text(encoding="utf-8")
    settings = (
        settings.replace("device: simpleaudio", "device: silent")
        .replace('quiet_hours: "21:00-06:00"', 'quiet_hours: "00:00-00:00"')
        .replace("voice: vi-VN-HoaiMyNeural", "voice: vi")
    )
    settings += f"\nrelay_sources:\n  {MOUNT}:\n    - {icecast.url(MOUNT)}\n"
    (folder / "station.yaml").write_text(settings, encoding="utf-8")
    return folder


class LoaRun:
    """`loa run` on the station, as the service runs it."""

    def __init__(self, station: Path, env: dict[str, str]) -> None:
        self.station = station
        self.env = {**env, "LOA_LANG": "en", "LOA_STATION": str(station)}
        self.process: subprocess.Popen[bytes] | None = None
        self.output = station.parent / "loa-run.log"

    def start(self) -> "LoaRun":
        with self.output.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, str(ROOT / "cli.py"), "run"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        until(lambda: "(process" in self.loa("status").stdout, "the station to answer")
        return self

    def loa(self, *arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(ROOT / "cli.py"), *arguments],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(30)

    def rows(self) -> list[dict[str, Any]]:
        if not (self.station / LOG_FILE).exists():
            return []
        with sqlite3.connect(self.station / LOG_FILE) as db:
            db.row_factory = sqlite3.Row
            return [dict(row) for row in db.execute("SELECT * FROM asrun ORDER BY scheduled_ts")]

    def dropouts(self) -> list[tuple[str, float, str]]:
        with sqlite3.connect(self.station / LOG_FILE) as db:
            return db.execute("SELECT started, seconds, cause FROM relay_dropouts").fetchall()

    def log_text(self) -> str:
        return self.output.read_text(errors="replace")


@pytest.fixture
def loa_run(station: Path, loa_env: dict[str, str]) -> Iterator[LoaRun]:
    running = LoaRun(station, loa_env)
    yield running
    running.stop()


def until(condition: Callable[[], Any], what: str, timeout: float = WAIT_S) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        assert time.monotonic() < deadline, f"waited {timeout:.0f} s for {what}"
        time.sleep(0.1)
    return found


def schedule_relay(station: Path, at: datetime, seconds: int, start: str = "") -> None:
    (station / "schedules" / "tiep-song.yaml").write_text(
        f'- id: thoi-su\n  relay: {MOUNT}\n  times: ["{at:%H:%M:%S}"]\n  duration: {seconds}s\n'
        + (f"  start: {start}\n" if start else ""),
        encoding="utf-8",
    )


def relay_row(loa_run: LoaRun, final: bool = True) -> dict[str, Any] | None:
    rows = [row for row in loa_run.rows() if row["announcement"] == f"relay:{MOUNT}"]
    if not rows:
        return None
    row = rows[-1]
    return row if not final or row["result"] not in ("playing", "interrupted") else None


def interrupted(loa_run: LoaRun) -> dict[str, Any] | None:
    row = relay_row(loa_run, final=False)
    return row if row is not None and row["result"] == "interrupted" else None


def test_a_scheduled_relay_airs_its_slot_and_its_row_says_so(
    loa_run: LoaRun, tone: ToneSource, icecast: Icecast
) -> None:
    loa_run.start()
    at = (datetime.now(HANOI) + timedelta(seconds=14)).replace(microsecond=0)
    schedule_relay(loa_run.station, at, 6)
    until(lambda: ffmpeg_readers(icecast.url(MOUNT)), "the relay connected ahead of its slot")
    assert datetime.now(HANOI) < at, "connected before the slot"
    row = until(lambda: relay_row(loa_run), "the relay's final row")
    assert row["entry_id"] == "thoi-su" and row["result"] == "relayed", row
    started = datetime.fromisoformat(row["started"])
    ended = datetime.fromisoformat(row["ended"])
    assert abs((started - at).total_seconds()) < 0.5, (started, at)
    assert 5.5 < (ended - at).total_seconds() < 8.0, (ended, at)
    assert "min on the air" in row["error"] and row["source"] == icecast.url(MOUNT)
    until(lambda: not ffmpeg_readers(icecast.url(MOUNT)), "the relay's ffmpeg to end")
    shown = loa_run.loa("log").stdout
    assert "relayed" in shown and "thoi-su" in shown


def test_an_emergency_takes_the_air_from_a_relay_which_comes_back_live(
    loa_run: LoaRun, tone: ToneSource
) -> None:
    loa_run.start()
    said = loa_run.loa("relay", "now", MOUNT, "--for", "25s")
    assert said.returncode == 0, said.stderr
    until(lambda: relay_row(loa_run, final=False), "the relay on the air")
    time.sleep(3)
    emergency = loa_run.loa("say", "--emergency", "Khẩn cấp: nước lên.")
    assert emergency.returncode == 0, emergency.stderr
    played = until(
        lambda: [r for r in loa_run.rows() if r["priority"] == "emergency" and r["ended"]],
        "the emergency to end",
    )
    assert played[0]["result"] == "played"
    back = until(lambda: relay_row(loa_run, final=False), "the relay's row")
    until(lambda: relay_row(loa_run, final=False)["result"] == "playing", "the relay back")
    row = until(lambda: relay_row(loa_run), "the relay's final row")
    assert back["entry_id"] == "relay" and row["result"] == "relayed", row
    emergency_started = datetime.fromisoformat(played[0]["started"])
    assert datetime.fromisoformat(row["started"]) > emergency_started, "reopened after it"
    relays = [r for r in loa_run.rows() if r["announcement"] == f"relay:{MOUNT}"]
    assert len(relays) == 1, relays


def test_a_relay_stopped_in_its_pre_roll_is_interrupted_at_once(
    loa_run: LoaRun, tone: ToneSource, icecast: Icecast
) -> None:
    loa_run.start()
    at = (datetime.now(HANOI) + timedelta(seconds=14)).replace(microsecond=0)
    schedule_relay(loa_run.station, at, 30)
    until(lambda: ffmpeg_readers(icecast.url(MOUNT)), "the relay connected ahead of its slot")
    asked = time.monotonic()
    assert loa_run.loa("stop").returncode == 0
    row = until(lambda: interrupted(loa_run), "the relay's row")
    assert time.monotonic() - asked < 3.0 and datetime.now(HANOI) < at, "stopped in its pre-roll"
    assert "stopped by the officer" in row["error"], row


def test_loa_stop_ends_a_relay_and_it_does_not_come_back(
    loa_run: LoaRun, tone: ToneSource, icecast: Icecast
) -> None:
    loa_run.start()
    assert loa_run.loa("relay", "now", MOUNT, "--for", "60s").returncode == 0
    until(lambda: ffmpeg_readers(icecast.url(MOUNT)), "the relay's ffmpeg")
    time.sleep(2)
    assert loa_run.loa("stop").returncode == 0
    row = until(lambda: interrupted(loa_run), "the relay's row")
    assert "stopped by the officer" in row["error"]
    until(lambda: not ffmpeg_readers(icecast.url(MOUNT)), "the relay's ffmpeg to end")
    time.sleep(2)
    assert relay_row(loa_run, final=False)["result"] == "interrupted"


def test_a_relay_cut_by_kill_9_comes_back_after_the_restart_without_an_orphan(
    loa_run: LoaRun, tone: ToneSource, icecast: Icecast
) -> None:
    loa_run.start()
    at = (datetime.now(HANOI) + timedelta(seconds=12)).replace(microsecond=0)
    schedule_relay(loa_run.station, at, 40)
    until(lambda: relay_row(loa_run, final=False), "the relay on the air")
    until(lambda: ffmpeg_readers(icecast.url(MOUNT)), "the relay's ffmpeg")
    until(lambda: datetime.now(HANOI) > at + timedelta(seconds=2), "the slot begun")
    loa_run.kill()
    until(lambda: not ffmpeg_readers(icecast.url(MOUNT)), "no ffmpeg outliving loa run")
    loa_run.start()
    until(lambda: "back live" in loa_run.log_text(), "the relay back after the restart")
    until(lambda: relay_row(loa_run, final=False)["result"] == "playing", "the row reopened")
    until(lambda: ffmpeg_readers(icecast.url(MOUNT)), "the relay's ffmpeg again")
    loa_run.stop()
    rows = [r for r in loa_run.rows() if r["entry_id"] == "thoi-su"]
    assert len(rows) == 1 and rows[0]["result"] == "interrupted", rows


def test_a_relay_now_cut_by_kill_9_comes_back_until_its_end(
    loa_run: LoaRun, tone: ToneSource, icecast: Icecast
) -> None:
    loa_run.start()
    assert loa_run.loa("relay", "now", MOUNT, "--for", "60s").returncode == 0
    until(lambda: relay_row(loa_run, final=False), "the relay on the air")
    until(lambda: ffmpeg_readers(icecast.url(MOUNT)), "the relay's ffmpeg")
    time.sleep(2)
    loa_run.kill()
    until(lambda: not ffmpeg_readers(icecast.url(MOUNT)), "no ffmpeg outliving loa run")
    loa_run.start()
    until(lambda: "back live" in loa_run.log_text(), "the relay back after the restart")
    until(lambda: relay_row(loa_run, final=False)["result"] == "playing", "the row reopened")
    until(lambda: ffmpeg_readers(icecast.url(MOUNT)), "the relay's ffmpeg again")
    loa_run.stop()
    rows = [r for r in loa_run.rows() if r["announcement"] == f"relay:{MOUNT}"]
    assert len(rows) == 1 and rows[0]["result"] == "interrupted", rows


def test_a_source_gone_for_a_while_is_a_dropout_of_about_its_length(
    loa_run: LoaRun, icecast: Icecast
) -> None:
    tone = ToneSource(icecast, MOUNT).start()
    try:
        loa_run.start()
        assert loa_run.loa("relay", "now", MOUNT, "--for", "24s").returncode == 0
        until(lambda: relay_row(loa_run, final=False), "the relay on the air")
        time.sleep(5)
        tone.kill()
        gone = time.time()
        time.sleep(6)
        tone = ToneSource(icecast, MOUNT).start()
        back = time.time()
        row = until(lambda: relay_row(loa_run), "the relay's final row")
    finally:
        tone.kill()
    assert row["result"] == "relayed-with-dropouts", row
    dropouts = loa_run.dropouts()
    started = datetime.fromisoformat(dropouts[0][0]).timestamp()
    # heard gone once the buffers on the way (Icecast, ffmpeg, the live buffer) ran out
    assert 0 <= started - gone < 3.0, (dropouts, gone)
    assert sum(seconds for _, seconds, _ in dropouts) <= back - gone + 5.0, (dropouts, back - gone)
    assert all(cause for _, _, cause in dropouts), dropouts
    assert "dropouts:" in row["error"], row


def test_relay_now_with_an_unknown_source_or_too_long_says_what_to_do(
    loa_run: LoaRun, tone: ToneSource
) -> None:
    loa_run.start()
    unknown = loa_run.loa("relay", "now", "vov9", "--for", "10m")
    assert unknown.returncode != 0 and "vov1" in unknown.stderr, unknown.stderr
    too_long = loa_run.loa("relay", "now", MOUNT, "--for", "3h")
    assert too_long.returncode != 0 and "sessions.minutes" in too_long.stderr, too_long.stderr
    assert "Traceback" not in unknown.stderr + too_long.stderr
    assert os.path.exists(loa_run.station / LOG_FILE)


def test_relay_test_and_the_doctor_hear_the_source_of_station_yaml(
    station: Path, loa_env: dict[str, str], tone: ToneSource, tmp_path: Path
) -> None:
    loa = LoaRun(station, loa_env).loa
    heard = loa("relay", "test", MOUNT, "--seconds", "3", "--out", str(tmp_path / "vov1.wav"))
    assert heard.returncode == 0, heard.stderr
    assert "mp3" in heard.stdout.lower() and (tmp_path / "vov1.wav").stat().st_size > 40_000
    doctor = loa("doctor")
    [line] = [line for line in doctor.stdout.splitlines() if "Relay sources" in line]
    assert f"{MOUNT}:" in line and "no audio" not in line, doctor.stdout


def test_the_doctor_warns_of_a_dead_source_and_says_what_to_do(
    station: Path, loa_env: dict[str, str], icecast: Icecast
) -> None:
    settings = (station / "station.yaml").read_text(encoding="utf-8")
    (station / "station.yaml").write_text(
        settings.replace(icecast.url(MOUNT), icecast.url("khong-co")), encoding="utf-8"
    )
    doctor = LoaRun(station, loa_env).loa("doctor")
    relay_lines = doctor.stdout[doctor.stdout.index("Relay sources") :].splitlines()[:3]
    assert "no audio" in relay_lines[0] or "404" in relay_lines[0], doctor.stdout
    assert "relay_sources:" in " ".join(relay_lines), doctor.stdout
    assert "Traceback" not in doctor.stdout + doctor.stderr


def test_a_source_gone_past_fallback_after_gives_way_to_the_fallback_announcement(
    loa_run: LoaRun, icecast: Icecast
) -> None:
    settings = (loa_run.station / "station.yaml").read_text(encoding="utf-8")
    settings += "relay:\n  fallback: bluezone\n  fallback_after: 5s\n"
    (loa_run.station / "station.yaml").write_text(settings, encoding="utf-8")
    tone = ToneSource(icecast, MOUNT).start()
    try:
        loa_run.start()
        assert loa_run.loa("relay", "now", MOUNT, "--for", "22s").returncode == 0
        until(lambda: relay_row(loa_run, final=False), "the relay on the air")
        time.sleep(4)
    finally:
        tone.kill()
    row = until(lambda: relay_row(loa_run), "the relay's final row")
    assert row["result"] == "relayed-with-dropouts", row
    assert "min of the fallback" in row["error"], row
