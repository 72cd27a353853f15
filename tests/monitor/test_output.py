"""MonitoredOutput: the station's chunks go out unchanged, the monitor sees each with the time it
is due, and nothing the monitor does reaches the air."""

import threading
import time
from datetime import datetime

import pytest
from pydub import AudioSegment

from broadcaster.audio.api import PlaybackStopped
from broadcaster.audio.outputs.silent import SilentOutput
from broadcaster.core.models import Alarm, Heard, Hearing
from broadcaster.monitor.output import MonitoredOutput
from tests.monitor.sound import bursts, chunks


class RecordingMonitor:
    """A monitor that keeps what it is told (a real, simple Monitor)."""

    def __init__(self, fails: bool = False) -> None:
        self.fails = fails
        self.due: list[float] = []
        self.withdrawn: list[float] = []

    def sent(self, chunk: AudioSegment, heard_from: float) -> None:
        if self.fails:
            raise RuntimeError("the monitor's own bug")
        self.due.append(heard_from)

    def withdraw(self, after: float) -> None:
        self.withdrawn.append(after)

    def judge(self, started: datetime, ended: datetime) -> Hearing:
        return Hearing(Heard.UNKNOWN)

    def alarms(self) -> list[Alarm]:
        return []

    def close(self) -> None:
        pass


PIECES = chunks(bursts(1.0), chunk_s=0.25)


@pytest.mark.parametrize("live", [False, True])
def test_every_chunk_goes_out_and_is_shown_with_its_due_time(live: bool) -> None:
    monitor, inner = RecordingMonitor(), SilentOutput()
    output = MonitoredOutput(inner, monitor)
    start_at = time.time() + 0.2
    (output.play_live if live else output.play)(iter(PIECES), start_at=start_at)
    assert inner.chunks == len(PIECES) and inner.played_ms == 1000
    assert monitor.due == pytest.approx([start_at + 0.25 * index for index in range(4)])


def test_a_late_program_is_due_when_it_starts_a_late_live_stream_stays_on_its_time() -> None:
    start_at = time.time() - 5.0
    program, stream = RecordingMonitor(), RecordingMonitor()
    began = time.time()
    MonitoredOutput(SilentOutput(), program).play(iter(PIECES[:1]), start_at=start_at)
    MonitoredOutput(SilentOutput(), stream).play_live(iter(PIECES[:1]), start_at=start_at)
    assert program.due[0] == pytest.approx(began, abs=0.1)
    assert stream.due == [start_at]


def test_a_failing_monitor_never_reaches_the_air() -> None:
    inner = SilentOutput()
    MonitoredOutput(inner, RecordingMonitor(fails=True)).play(iter(PIECES))
    assert inner.chunks == len(PIECES)


def test_a_stop_withdraws_what_was_taken_ahead() -> None:
    monitor, stop = RecordingMonitor(), threading.Event()
    threading.Timer(0.3, stop.set).start()
    with pytest.raises(PlaybackStopped):
        MonitoredOutput(SilentOutput(), monitor).play(iter(PIECES), stop)
    assert len(monitor.withdrawn) == 1
    assert monitor.withdrawn[0] == pytest.approx(time.time(), abs=0.2)
