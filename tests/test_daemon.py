"""The daemon's decisions over simulated time: the real schedule reader, playout, as-run log,
speech (espeak-ng) and rendering, with a fake clock and a sink that takes no real time."""

import logging
import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from broadcaster.audio.render import LEAD_IN_MS
from broadcaster.errors import DaemonError, NoAudioDeviceError
from broadcaster.onair.asrun import LOG_FILE
from broadcaster.onair.daemon import Daemon
from tests.conftest import CLOSED_EDGE_ENDPOINT
from tests.doubles import FakeClock, FastSink

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
DATA = Path(__file__).parent / "data"
MONDAY = datetime(2026, 11, 30, tzinfo=HANOI)

MakeDaemon = Callable[..., Daemon]


def at(hour: int, minute: int = 0, second: int = 0, day: int = 30) -> datetime:
    return datetime(2026, 11 if day > 7 else 12, day, hour, minute, second, tzinfo=HANOI)


@pytest.fixture
def offline_station(station: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example station reading with espeak-ng, so no test waits for the network."""
    monkeypatch.setenv("LOA_EDGE_ENDPOINT", CLOSED_EDGE_ENDPOINT)
    config = station / "station.yaml"
    config.write_text(config.read_text().replace("voice: vi-VN-HoaiMyNeural", "voice: vi"))
    (station / "schedules").mkdir()
    return station


def schedule(station: Path, text: str, name: str = "test.yaml") -> None:
    (station / "schedules" / name).write_text(text, encoding="utf-8")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(at(6))


@pytest.fixture
def make_daemon(offline_station: Path, clock: FakeClock) -> Iterator[MakeDaemon]:
    opened: list[Daemon] = []

    def make(sink: FastSink | None = None) -> Daemon:
        out = sink or FastSink(clock)
        daemon = Daemon(offline_station, now=clock, output=lambda _station: out)
        daemon.sink = out  # type: ignore[attr-defined]
        daemon.open()
        opened.append(daemon)
        return daemon

    yield make
    for daemon in opened:
        daemon.shutdown()


def rows(station: Path) -> list[tuple[str, str, str, str]]:
    with sqlite3.connect(station / LOG_FILE) as db:
        return db.execute(
            "SELECT entry_id, scheduled, result, error FROM asrun ORDER BY scheduled_ts, entry_id"
        ).fetchall()


def drain(daemon: Daemon) -> int:
    handled = 0
    while daemon.play_next(timeout=0):
        handled += 1
    return handled


MORNING = """\
- id: sang
  announcement: hop-to-dan-pho
  times: ["06:30"]
"""


def test_an_entry_airs_once_at_its_time(
    offline_station: Path, clock: FakeClock, make_daemon: MakeDaemon
) -> None:
    schedule(offline_station, MORNING)
    daemon = make_daemon()
    clock.set(at(6, 29, 49))
    daemon.sweep(at(6, 29, 49))
    assert drain(daemon) == 0
    clock.set(at(6, 29, 51))
    daemon.sweep(at(6, 29, 51))  # taken ten seconds early, played at its time
    assert drain(daemon) == 1
    daemon.sweep(at(6, 30, 1))
    assert drain(daemon) == 0
    [(entry, scheduled, result, error)] = rows(offline_station)
    assert (entry, scheduled, result, error) == ("sang", "2026-11-30T06:30:00+07:00", "played", "")
    with sqlite3.connect(offline_station / LOG_FILE) as db:
        [(started,)] = db.execute("SELECT started FROM asrun").fetchall()
    assert started == "2026-11-30T06:30:00+07:00"
    assert 8 < daemon.sink.programs[0] < 60  # type: ignore[attr-defined]


def test_late_beyond_the_limit_is_missed_with_the_reason(
    offline_station: Path, clock: FakeClock, make_daemon: MakeDaemon
) -> None:
    schedule(
        offline_station, MORNING.replace('times: ["06:30"]', 'times: ["06:30"]\n  late_limit: 5m')
    )
    daemon = make_daemon()
    clock.set(at(6, 36))  # the PC slept through 06:30
    daemon.sweep(at(6, 36))
    drain(daemon)
    [(_, _, result, error)] = rows(offline_station)
    assert result == "missed"
    assert "360" in error and "300" in error
    assert daemon.sink.programs == []  # type: ignore[attr-defined]


def test_quiet_hours_hold_back_normal_items_but_not_emergencies(
    offline_station: Path, clock: FakeClock, make_daemon: MakeDaemon
) -> None:
    schedule(
        offline_station,
        """\
- id: toi
  announcement: hop-to-dan-pho
  times: ["21:30"]
- id: bao
  announcement: hop-to-dan-pho
  times: ["21:30"]
  priority: emergency
""",
    )
    daemon = make_daemon()
    clock.set(at(21, 30))
    daemon.sweep(at(21, 30))
    drain(daemon)
    results = {entry: (result, error) for entry, _, result, error in rows(offline_station)}
    assert results["bao"] == ("played", "")
    assert results["toi"][0] == "skipped-quiet"
    assert "21:00-06:00" in results["toi"][1]


def test_priority_goes_before_normal_at_the_same_time(
    offline_station: Path, clock: FakeClock, make_daemon: MakeDaemon
) -> None:
    schedule(
        offline_station,
        """\
- id: a-normal
  announcement: hop-to-dan-pho
  times: ["06:30"]
- id: b-priority
  announcement: hop-to-dan-pho
  times: ["06:30"]
  priority: priority
""",
    )
    daemon = make_daemon()
    clock.set(at(6, 30))
    daemon.sweep(at(6, 30))
    assert [item.occurrence.entry_id for item in daemon.queue.items()] == ["b-priority", "a-normal"]
    drain(daemon)
    with sqlite3.connect(offline_station / LOG_FILE) as db:
        started = dict(db.execute("SELECT entry_id, started FROM asrun").fetchall())
    assert started["b-priority"] < started["a-normal"]


def test_the_clock_going_back_does_not_replay(
    offline_station: Path, clock: FakeClock, make_daemon: MakeDaemon
) -> None:
    schedule(offline_station, MORNING)
    daemon = make_daemon()
    clock.set(at(6, 30))
    daemon.sweep(at(6, 30))
    drain(daemon)
    clock.set(at(6, 20))  # set back by hand
    daemon.sweep(at(6, 20))
    for minute in (29, 30, 31):
        clock.set(at(6, minute))
        daemon.sweep(at(6, minute))
        drain(daemon)
    assert [result for _, _, result, _ in rows(offline_station)] == ["played"]
    assert len(daemon.sink.programs) == 1  # type: ignore[attr-defined]


def test_a_restart_does_not_replay_and_accounts_for_the_gap(
    offline_station: Path, clock: FakeClock, make_daemon: MakeDaemon
) -> None:
    schedule(
        offline_station,
        """\
- id: sang
  announcement: hop-to-dan-pho
  times: ["06:30", "07:00"]
- id: bu
  announcement: hop-to-dan-pho
  times: ["06:45"]
  catch_up: true
""",
    )
    first = make_daemon()
    clock.set(at(6, 30))
    first.sweep(at(6, 30))
    drain(first)
    first.shutdown()  # saves its last heartbeat: 06:30 and a few seconds
    clock.set(at(7, 10))  # back after a power cut from ~06:31 to 07:10
    second = make_daemon()
    drain(second)
    second.shutdown()
    third = make_daemon()  # and once more: the catch-up is not played a second time
    drain(third)
    results = {
        entry + scheduled[11:16]: (result, error)
        for entry, scheduled, result, error in rows(offline_station)
    }
    assert results["sang06:30"] == ("played", "")
    assert results["sang07:00"][0] == "missed"
    assert "not running" in results["sang07:00"][1] or "không chạy" in results["sang07:00"][1]
    assert results["bu06:45"][0] == "played", "catch_up plays what was missed, once"
    played = [len(daemon.sink.programs) for daemon in (first, second, third)]  # type: ignore[attr-defined]
    assert played == [1, 1, 0]


def test_what_was_on_air_at_a_crash_is_closed_as_interrupted_and_not_replayed(
    offline_station: Path, clock: FakeClock, make_daemon: MakeDaemon
) -> None:
    schedule(offline_station, MORNING)
    daemon = make_daemon()
    clock.set(at(6, 30))
    daemon.sweep(at(6, 30))
    item = daemon.queue.pop()
    assert item is not None
    daemon.asrun.begin(item.occurrence, at(6, 30))  # on air when the power went
    daemon.shutdown()
    clock.set(at(6, 30, 20))
    again = make_daemon()
    again.sweep(at(6, 30, 21))
    assert drain(again) == 0
    [(_, _, result, error)] = rows(offline_station)
    assert result == "interrupted"
    assert error


def test_an_emergency_interrupts_and_the_interrupted_item_plays_again(
    offline_station: Path, clock: FakeClock, make_daemon: MakeDaemon
) -> None:
    schedule(offline_station, MORNING)
    hold = threading.Event()
    sink = FastSink(clock, hold=hold)
    daemon = make_daemon(sink)
    clock.set(at(6, 30))
    daemon.sweep(at(6, 30))
    player = threading.Thread(target=daemon.play_next)
    player.start()
    assert sink.started.wait(30)
    reply = daemon.answer({"command": "say", "text": "Cháy ở chợ xã.", "priority": "emergency"})
    assert reply["ok"], reply
    player.join(30)
    assert not player.is_alive(), "the emergency stopped the program on air"
    hold.set()
    drain(daemon)
    results = [(entry, result, error) for entry, _, result, error in rows(offline_station)]
    assert results[1][:2] == ("say", "played")
    entry, result, error = results[0]
    assert (entry, result) == ("sang", "played"), "played again from the start after the emergency"
    assert error
    assert len(sink.programs) == 3


def test_a_bad_edit_keeps_the_last_good_schedule(
    offline_station: Path, clock: FakeClock, make_daemon: MakeDaemon
) -> None:
    schedule(offline_station, MORNING)
    daemon = make_daemon()
    schedule(offline_station, MORNING.replace("06:30", "25:00") + "\n")
    error = daemon.reload()
    assert error is not None and "test.yaml:3" in error
    assert daemon.status()["reload_error"] == error
    clock.set(at(6, 30))
    daemon.sweep(at(6, 30))
    drain(daemon)
    assert [result for _, _, result, _ in rows(offline_station)] == ["played"]
    schedule(offline_station, MORNING.replace("06:30", "07:00"))
    assert daemon.reload() is None
    assert daemon.status()["reload_error"] is None


def test_a_missing_sound_card_is_logged_as_failed_with_the_fix(
    offline_station: Path, clock: FakeClock, make_daemon: MakeDaemon
) -> None:
    schedule(offline_station, MORNING)
    sink = FastSink(clock, fail=NoAudioDeviceError("Could not open a sound device: plug it in."))
    daemon = make_daemon(sink)
    clock.set(at(6, 30))
    daemon.sweep(at(6, 30))
    drain(daemon)
    [(_, _, result, error)] = rows(offline_station)
    assert result == "failed" and error == daemon.player.sound_problem
    assert "loa doctor" in error and "--out" not in error, "the fix for a running station"
    assert daemon.status()["sound"] == error, "and status says it"


def test_one_daemon_per_station(make_daemon: MakeDaemon) -> None:
    make_daemon()
    with pytest.raises(DaemonError):
        make_daemon()


def test_a_bad_request_is_refused_at_once(offline_station: Path, make_daemon: MakeDaemon) -> None:
    daemon = make_daemon()
    assert daemon.answer({"command": "say", "text": "   "})["ok"] is False
    assert daemon.answer({"command": "play", "announcement": "khong-co"})["ok"] is False
    assert daemon.answer({"command": "dance"})["ok"] is False
    assert daemon.answer({"command": "say", "text": "x", "priority": "vip"})["ok"] is False
    assert len(daemon.queue) == 0


def test_a_scheduled_recording_airs_and_needs_no_speech(
    offline_station: Path,
    clock: FakeClock,
    make_daemon: MakeDaemon,
    caplog: pytest.LogCaptureFixture,
) -> None:
    shutil.copy(DATA / "xin-chao.wav", offline_station / "announcements" / "ghi-am.wav")
    schedule(offline_station, MORNING.replace("hop-to-dan-pho", "ghi-am.wav"))
    daemon = make_daemon()
    daemon.warm()
    assert "ghi-am" not in caplog.text, "a recording has nothing to render ahead"
    clock.set(at(6, 30))
    daemon.sweep(at(6, 30))
    drain(daemon)
    [(_, _, result, error)] = rows(offline_station)
    assert (result, error) == ("played", "")


def test_the_heartbeat_notices_a_jump_and_accounts_for_what_fell_in_it(
    offline_station: Path,
    clock: FakeClock,
    make_daemon: MakeDaemon,
    caplog: pytest.LogCaptureFixture,
) -> None:
    schedule(offline_station, MORNING)
    daemon = make_daemon()
    clock.set(at(6, 20))
    daemon.heartbeat()
    clock.set(at(7, 20))  # the PC slept for an hour
    with caplog.at_level(logging.WARNING, logger="loa"):
        daemon.heartbeat()
        drain(daemon)
    assert "+3600" in caplog.text
    [(_, _, result, error)] = rows(offline_station)
    assert result == "missed"
    assert "3000" in error and "+3600" in error, "50 minutes late, and why"


def test_a_station_broken_at_start_still_runs_and_says_why(
    offline_station: Path, clock: FakeClock, make_daemon: MakeDaemon
) -> None:
    schedule(offline_station, MORNING)
    config = offline_station / "station.yaml"
    good = config.read_text()
    config.write_text(good + "\nquiet_hours: [\n")
    daemon = make_daemon()
    assert daemon.reload_error is not None and str(config) in daemon.reload_error
    assert daemon.entries == []
    config.write_text(good)
    assert daemon.reload() is None
    clock.set(at(6, 30))
    daemon.sweep(at(6, 30))
    drain(daemon)
    assert [result for _, _, result, _ in rows(offline_station)] == ["played"]


def test_status_shows_the_next_five_broadcasts_of_all_entries(
    offline_station: Path, make_daemon: MakeDaemon
) -> None:
    schedule(offline_station, MORNING + MORNING.replace("sang", "toi").replace("06:30", "19:00"))
    upcoming = make_daemon().status()["next"]
    assert [(item["id"], item["start"][5:16]) for item in upcoming] == [
        ("sang", "11-30T06:30"),
        ("toi", "11-30T19:00"),
        ("sang", "12-01T06:30"),
        ("toi", "12-01T19:00"),
        ("sang", "12-02T06:30"),
    ]


def test_a_first_reading_with_a_bad_entry_airs_the_good_ones(
    offline_station: Path, clock: FakeClock, make_daemon: MakeDaemon
) -> None:
    bad = '- id: hong\n  announcement: hop-to-dan-pho\n  times: ["6h70"]\n'
    schedule(offline_station, MORNING + bad)
    daemon = make_daemon()
    assert daemon.reload_error is not None and "test.yaml:6" in daemon.reload_error
    assert [entry.id for entry in daemon.entries] == ["sang"]
    clock.set(at(6, 30))
    daemon.sweep(at(6, 30))
    drain(daemon)
    assert [result for _, _, result, _ in rows(offline_station)] == ["played"]


def test_an_entry_added_within_the_pre_roll_already_swept_still_airs(
    offline_station: Path, clock: FakeClock, make_daemon: MakeDaemon
) -> None:
    daemon = make_daemon()
    clock.set(at(6, 29, 51))
    daemon.sweep(at(6, 29, 51))  # swept, pre-roll included, up to 06:30:01
    schedule(offline_station, MORNING)  # an edit for 06:30, nine seconds ahead
    assert daemon.reload() is None
    clock.set(at(6, 29, 52))
    daemon.sweep(at(6, 29, 52))
    assert drain(daemon) == 1
    assert [result for _, _, result, _ in rows(offline_station)] == ["played"]


class StartRecorder(FastSink):
    """The fast sink, remembering when each program asked its first sample to go out."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.start_at: list[float | None] = []

    def play(self, segments: Any, stop: Any = None, start_at: float | None = None) -> None:
        self.start_at.append(start_at)
        super().play(segments, stop, start_at)


def test_the_lead_in_goes_out_before_the_second_so_the_first_tone_is_heard_on_it(
    offline_station: Path, clock: FakeClock, make_daemon: MakeDaemon
) -> None:
    schedule(offline_station, MORNING)
    sink = StartRecorder(clock)
    daemon = make_daemon(sink)
    clock.set(at(6, 29, 51))
    daemon.sweep(at(6, 29, 51))  # taken early, for pre-roll
    assert drain(daemon) == 1
    assert sink.start_at == [at(6, 30).timestamp() - LEAD_IN_MS / 1000]
    [(_, scheduled, result, _)] = rows(offline_station)
    assert (scheduled, result) == ("2026-11-30T06:30:00+07:00", "played")
