"""The monitor on the PulseAudio rig: its input is the rig's sink's monitor, so what the station
plays through the real sound device comes back; a second null sink is the amplifier unplugged."""

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from broadcaster.audio.outputs import SimpleaudioOutput
from broadcaster.core.models import Alarm, AlarmKind, Heard
from broadcaster.core.settings import MonitorSettings
from broadcaster.monitor.listening import ListeningMonitor
from broadcaster.monitor.output import MonitoredOutput
from tests.monitor.sound import RATE, bursts, chunks, live, moment, wait_for
from tests.pulse_rig import SINK, PulseRig

pytestmark = pytest.mark.usefixtures("english")

RIG_SOURCE = f"{SINK}.monitor"
DELAY_TOLERANCE_S = 0.1


@pytest.fixture
def on_rig(pulse: PulseRig, monkeypatch: pytest.MonkeyPatch) -> PulseRig:
    for name, value in pulse.env.items():
        monkeypatch.setenv(name, value)
    return pulse


@pytest.fixture
def alarms() -> list[Alarm]:
    return []


@pytest.fixture
def monitor(on_rig: PulseRig, tmp_path: Path, alarms: list[Alarm]) -> Iterator[ListeningMonitor]:
    listening = ListeningMonitor(
        MonitorSettings(RIG_SOURCE, dead_air_s=3.0), tmp_path / "log", alarms.append
    )
    assert wait_for(lambda: listening.heard_until > time.time() - 1, 8.0), listening.problem
    yield listening
    listening.close()


@pytest.fixture
def other_sink(on_rig: PulseRig) -> Iterator[str]:
    """A second null sink: where the sound goes when the amplifier is not the one plugged in."""
    name = "amplifier_unplugged"
    loaded = subprocess.run(
        ["pactl", "load-module", "module-null-sink", f"sink_name={name}", "channels=1"],
        capture_output=True,
        text=True,
        check=True,
    )
    yield name
    subprocess.run(["pactl", "unload-module", loaded.stdout.strip()], check=False)


def onset_s(samples: np.ndarray, rate: int = RATE) -> float:
    """Where the first burst begins in a recording."""
    return float(np.flatnonzero(np.abs(samples) > 0.05)[0]) / rate


def test_what_the_station_plays_is_heard_with_the_delay_the_rig_shows(
    on_rig: PulseRig, monitor: ListeningMonitor
) -> None:
    seconds = 4.0
    with on_rig.record() as recording:
        start_at = time.time() + 0.8
        output = MonitoredOutput(SimpleaudioOutput(), monitor)
        output.play_live(live(chunks(bursts(seconds)), start_at), start_at=start_at)
    hearing = monitor.judge(moment(start_at), moment(start_at + seconds))
    rig_delay_s = recording.origin + onset_s(recording.samples) - start_at
    assert hearing.heard is Heard.YES, hearing
    assert hearing.delay_ms is not None
    assert abs(hearing.delay_ms / 1000 - rig_delay_s) <= DELAY_TOLERANCE_S, (hearing, rig_delay_s)
    assert -30 < (hearing.loudness_db or -100) < -5
    name, _at, offset = hearing.audio_log.partition("@")
    assert name.endswith(".ogg") and float(offset) >= 0
    assert not [alarm for alarm in monitor.alarms() if alarm.kind is not AlarmKind.AUDIO_LOG]
