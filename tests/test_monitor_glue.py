"""The on-air monitor in a running station (monitor/station.py), with a real daemon in simulated
time and a scripted monitor: every row that aired is judged on the monitor's own thread and its
verdict stored, alarms are stored and told, and a monitor that fails never touches the air."""

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from broadcaster.audio.api import AudioOutput, Chunk
from broadcaster.control.protocol import MonitorAlarm, MonitorStatus, StatusReply, parse_reply
from broadcaster.core.models import Alarm, AlarmKind, Heard, Hearing, Occurrence, Priority, Result
from broadcaster.core.settings import MonitorSettings, Station
from broadcaster.errors import NoAudioDeviceError
from broadcaster.monitor.station import StationMonitor
from broadcaster.onair.asrun import AsRunLog
from broadcaster.onair.daemon import Daemon
from broadcaster.onair.events import Listener
from broadcaster.station.station_file import load_station
from tests.conftest import CLOSED_EDGE_ENDPOINT
from tests.doubles import FakeClock, FastSink

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
MORNING = '- id: sang\n  announcement: hop-to-dan-pho\n  times: ["06:30"]\n'
DEVICE = "alsa_input.monitor"


@dataclass
class ScriptedMonitor:
    """A monitor that hears what the test says: each judgement is `verdict` (with the stretch it
    was asked about in its reason); records the chunks sent and where each call ran."""

    on_alarm: Callable[[Alarm], None]
    verdict: Heard = Heard.YES
    sent_s: float = 0.0
    judged: list[tuple[datetime, datetime, str]] = field(default_factory=list)
    lasting: list[Alarm] = field(default_factory=list)
    hold: threading.Event | None = None
    closed: bool = False

    def sent(self, chunk: Chunk, heard_from: float) -> None:
        self.sent_s += len(chunk) / 1000

    def judge(self, started: datetime, ended: datetime) -> Hearing:
        self.judged.append((started, ended, threading.current_thread().name))
        if self.hold is not None:
            self.hold.wait(10)
        return Hearing(self.verdict, -18.0, 120, f"{(ended - started).seconds} s", "d.ogg@5")

    def alarms(self) -> list[Alarm]:
        return list(self.lasting)

    def close(self) -> None:
        self.closed = True


@dataclass
class Tapped:
    """The station's output, handing every chunk to the monitor as it plays (what the engine's
    MonitoredOutput does, without its timing)."""

    inner: AudioOutput
    monitor: ScriptedMonitor

    def _tap(self, chunks: Iterable[Chunk]) -> Iterator[Chunk]:
        for chunk in chunks:
            self.monitor.sent(chunk, time.time())
            yield chunk

    def play(
        self,
        segments: Iterable[Chunk],
        stop: threading.Event | None = None,
        start_at: float | None = None,
    ) -> None:
        self.inner.play(self._tap(segments), stop, start_at)

    def play_live(
        self,
        chunks: Iterable[Chunk],
        stop: threading.Event | None = None,
        start_at: float | None = None,
    ) -> None:
        self.inner.play_live(self._tap(chunks), stop, start_at)


class Told(Listener):
    def __init__(self) -> None:
        self.verdicts: list[tuple[str, Heard]] = []
        self.alarms: list[Alarm] = []
        self.threads: set[str] = set()

    def heard(self, occurrence: Occurrence, hearing: Hearing) -> None:
        self.verdicts.append((occurrence.entry_id, hearing.heard))
        self.threads.add(threading.current_thread().name)

    def monitor_alarm(self, alarm: Alarm) -> None:
        self.alarms.append(alarm)


@dataclass
class Rig:
    daemon: Daemon
    clock: FakeClock
    sink: FastSink
    station_monitor: StationMonitor
    scripted: list[ScriptedMonitor]
    told: Told

    def play_all(self) -> None:
        self.daemon.heartbeat()
        while self.daemon.play_next(timeout=0):
            pass
        assert self.daemon.events.flush(10)

    def judged(self, rows: int) -> AsRunLog:
        """The as-run log once `rows` rows are judged."""
        log = AsRunLog.for_station(self.daemon.directory)
        deadline = time.monotonic() + 10
        while sum(bool(row.heard) for row in log.rows()) < rows and time.monotonic() < deadline:
            time.sleep(0.02)
        return log


@pytest.fixture
def station_dir(station: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LOA_EDGE_ENDPOINT", CLOSED_EDGE_ENDPOINT)
    config = station / "station.yaml"
    config.write_text(
        config.read_text().replace("voice: vi-VN-HoaiMyNeural", "voice: vi")
        + f"\nmonitor:\n  device: {DEVICE}\n"
    )
    (station / "schedules").mkdir()
    (station / "schedules" / "test.yaml").write_text(MORNING, encoding="utf-8")
    return station


def make_rig(station_dir: Path, opening: Exception | None = None) -> Iterator[Rig]:
    station = load_station(station_dir)
    assert station.monitor is not None
    scripted: list[ScriptedMonitor] = []

    def open_monitor(
        settings: MonitorSettings, log_dir: Path, on_alarm: Callable[[Alarm], None], lufs: float
    ) -> ScriptedMonitor:
        assert (settings.device, log_dir, lufs) == (DEVICE, station.monitor_dir, -16.0)
        if opening is not None:
            raise opening
        scripted.append(ScriptedMonitor(on_alarm))
        return scripted[-1]

    station_monitor = StationMonitor(
        station,
        station.monitor,
        open_monitor,
        lambda inner, monitor: Tapped(inner, monitor),  # type: ignore[arg-type]
    )
    clock = FakeClock(datetime(2026, 11, 30, 6, 29, 50, tzinfo=HANOI))
    sink = FastSink(clock)
    daemon = Daemon(
        station_dir,
        now=clock,
        output=lambda s: station_monitor.output_for(s, sink),
        monotonic=clock.monotonic,
    )
    daemon.monitor_status = station_monitor.status
    told = Told()
    daemon.subscribe(told)
    daemon.open()
    station_monitor.start(daemon.events, daemon.now)
    assert station_monitor.opened.wait(10)
    yield Rig(daemon, clock, sink, station_monitor, scripted, told)
    daemon.shutdown()
    station_monitor.close()


@pytest.fixture
def rig(station_dir: Path) -> Iterator[Rig]:
    yield from make_rig(station_dir)


def soon(condition: Callable[[], bool]) -> bool:
    """Whether `condition` holds within 10 s: the worker stores, then tells."""
    deadline = time.monotonic() + 10
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


def status_of(daemon: Daemon) -> StatusReply:
    reply = parse_reply("status", daemon.status())
    assert isinstance(reply, StatusReply)
    return reply


def test_what_aired_is_judged_on_the_monitor_s_thread_and_stored(rig: Rig) -> None:
    rig.play_all()
    log = rig.judged(1)
    (aired,) = log.rows()
    (monitor,) = rig.scripted
    assert (aired.entry_id, aired.result, aired.heard) == ("sang", "played", "yes")
    assert (aired.heard_db, aired.heard_delay_ms, aired.audio_log) == (-18.0, 120, "d.ogg@5")
    assert aired.started is not None and aired.ended is not None
    started, ended, thread = monitor.judged[0]
    assert (started, ended) == (
        datetime.fromisoformat(aired.started),
        datetime.fromisoformat(aired.ended),
    )
    assert thread == "loa-monitor", "never on the event dispatcher's nor the player's thread"
    assert monitor.sent_s == pytest.approx(rig.sink.programs[0], abs=0.01) and monitor.sent_s > 1
    assert soon(lambda: rig.told.verdicts == [("sang", Heard.YES)])
    log.close()


def test_what_did_not_air_is_not_judged(rig: Rig) -> None:
    missed = Occurrence(
        "tre", rig.clock.moment - timedelta(hours=1), "hop-to-dan-pho", Priority.NORMAL
    )
    rig.daemon.asrun.decide(missed, Result.MISSED, "too late")
    rig.station_monitor.occurrence_finished(missed, Result.MISSED, "too late")
    rig.play_all()
    log = rig.judged(1)
    assert [(row.entry_id, row.heard) for row in log.rows()] == [("tre", ""), ("sang", "yes")]
    assert len(rig.scripted[0].judged) == 1
    log.close()


def test_a_slow_judgement_delays_neither_the_air_nor_the_other_listeners(rig: Rig) -> None:
    (monitor,) = rig.scripted
    monitor.hold = threading.Event()
    rig.play_all()  # the events' flush returns while the judgement waits
    rig.daemon.answer({"command": "say", "text": "Tin nhanh.", "priority": "emergency"})
    while rig.daemon.play_next(timeout=0):
        pass
    assert rig.sink.completed == 2
    assert rig.daemon.events.flush(10)
    assert rig.told.verdicts == []
    monitor.hold.set()
    rig.judged(2).close()
    assert soon(lambda: rig.told.verdicts == [("sang", Heard.YES), ("say", Heard.YES)])


def test_a_monitor_that_cannot_start_leaves_the_air_alone(station_dir: Path) -> None:
    for rig in make_rig(station_dir, NoAudioDeviceError("no capture device 'alsa_input.monitor'")):
        assert rig.station_monitor.monitor is None
        rig.play_all()
        assert rig.sink.completed == 1, "the air goes on"
        log = rig.judged(1)
        aired = log.rows()[-1]
        assert aired.heard == "unknown"
        assert "no capture device 'alsa_input.monitor'" in aired.heard_reason
        log.close()
        status = status_of(rig.daemon).monitor
        assert status is not None and status.device == DEVICE
        assert status.problem is not None and "no capture device" in status.problem


def test_alarms_are_stored_told_and_shown_by_the_status(rig: Rig) -> None:
    (monitor,) = rig.scripted
    start = rig.clock.moment
    dead = Alarm(AlarmKind.DEAD_AIR, start, None, "nothing heard for 10 s")
    voice = Alarm(AlarmKind.UNEXPECTED_SOUND, start, start + timedelta(seconds=30), "a voice")
    monitor.lasting = [dead]
    monitor.on_alarm(dead)
    monitor.on_alarm(voice)
    log = AsRunLog.for_station(rig.daemon.directory)
    deadline = time.monotonic() + 10
    while len(log.alarms()) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert log.alarms() == [dead, voice]
    assert soon(lambda: rig.told.alarms == [dead, voice])
    assert status_of(rig.daemon).monitor == MonitorStatus(
        DEVICE, None, (MonitorAlarm("dead-air", start.isoformat(), "nothing heard for 10 s"),)
    )
    log.close()


def test_a_lost_device_is_the_status_problem(rig: Rig) -> None:
    (monitor,) = rig.scripted
    gone = Alarm(AlarmKind.DEVICE, rig.clock.moment, None, "the USB sound card is gone")
    monitor.lasting = [gone]
    status = status_of(rig.daemon).monitor
    assert status is not None and status.problem == "the USB sound card is gone"


def test_closing_ends_the_lasting_alarms_and_the_monitor(station_dir: Path) -> None:
    rigs = make_rig(station_dir)
    rig = next(rigs)
    (monitor,) = rig.scripted
    monitor.on_alarm(Alarm(AlarmKind.OFF_AIR, rig.clock.moment, None, "nothing at all"))
    rig.play_all()
    rig.judged(1).close()
    with pytest.raises(StopIteration):
        next(rigs)  # shutdown, then the monitor's close
    assert monitor.closed
    log = AsRunLog.for_station(station_dir)
    (alarm,) = log.alarms()
    assert alarm.ended is not None
    log.close()


def test_a_station_without_a_monitor_says_none_in_its_status(station: Path) -> None:
    daemon = Daemon(station)
    daemon.open()
    try:
        assert status_of(daemon).monitor is None
        assert "monitor" in daemon.status() and daemon.status()["monitor"] is None
    finally:
        daemon.shutdown()


def test_the_output_is_the_station_s_own_until_the_monitor_listens(station_dir: Path) -> None:
    station = load_station(station_dir)
    assert station.monitor is not None
    sink = FastSink(FakeClock(datetime(2026, 11, 30, tzinfo=HANOI)))
    waiting = StationMonitor(station, station.monitor)
    assert waiting.output_for(station, sink) is sink
    assert waiting.output_for(station) is None
    assert isinstance(waiting.status(), MonitorStatus) and waiting.status().problem
    waiting.close()
    assert Station(station_dir).monitor is None


def test_a_relay_with_dropouts_heard_whole_is_heard_partly(rig: Rig, english: None) -> None:
    """The loudspeakers played all that was sent, but the programme was not all there."""
    began = rig.clock.moment - timedelta(minutes=30)
    relay = Occurrence("thoi-su", began, "relay:vov1", Priority.NORMAL)
    rig.daemon.asrun.begin(relay, began)
    rig.daemon.asrun.finish(relay, Result.RELAYED_WITH_DROPOUTS, began + timedelta(minutes=15))
    rig.station_monitor.occurrence_finished(relay, Result.RELAYED_WITH_DROPOUTS, "")
    log = rig.judged(1)
    (row,) = log.rows()
    assert (row.entry_id, row.heard) == ("thoi-su", "partly")
    assert "dropouts" in row.heard_reason
    log.close()
