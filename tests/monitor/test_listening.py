"""The monitor on the PulseAudio rig: its input is the rig's sink's monitor, so what the station
plays through the real sound device comes back; a second null sink is the amplifier unplugged."""

import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from broadcaster.audio.outputs import SimpleaudioOutput
from broadcaster.core.models import Alarm, AlarmKind, Heard
from broadcaster.core.settings import MonitorSettings
from broadcaster.monitor.audiolog import open_audio_log
from broadcaster.monitor.envelope import FRAME_S
from broadcaster.monitor.listening import ListeningMonitor
from broadcaster.monitor.output import MonitoredOutput
from broadcaster.monitor.verdict import SENT_AUDIBLE_DB
from tests.monitor.sound import RATE, bursts, chunks, live, moment, wait_for
from tests.pulse_rig import SINK, PulseRig
from tests.signals import read_wav

pytestmark = pytest.mark.usefixtures("english")

RIG_SOURCE = f"{SINK}.monitor"
DELAY_TOLERANCE_S = 0.1
FRAME = round(RATE * FRAME_S)


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


def audible_s(samples: np.ndarray) -> float:
    """How long `samples` are audible, counted in the monitor's 50 ms frames."""
    frames = samples[: len(samples) // FRAME * FRAME].reshape(-1, FRAME)
    return float((np.sqrt((frames**2).mean(axis=1)) >= 10 ** (SENT_AUDIBLE_DB / 20)).sum()) * 0.05


def onset_s(samples: np.ndarray, rate: int = RATE) -> float:
    """Where the first burst begins in a recording."""
    return float(np.flatnonzero(np.abs(samples) > 0.05)[0]) / rate


def test_what_the_station_plays_is_heard_with_the_delay_the_rig_shows(
    on_rig: PulseRig, monitor: ListeningMonitor, tmp_path: Path
) -> None:
    log_dir = tmp_path / "log"
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
    assert monitor.alarms() == []
    monitor.close()  # the audio log is read with the station stopped
    cut = open_audio_log(log_dir).cut(moment(start_at - 0.5), 2.0, log_dir.parent / "cut.wav")
    heard, rate = read_wav(cut)
    assert onset_s(heard, rate) == pytest.approx(0.5 + rig_delay_s, abs=DELAY_TOLERANCE_S)


def test_sound_routed_to_another_sink_is_not_heard_and_dead_air_is_raised_in_time(
    on_rig: PulseRig,
    monitor: ListeningMonitor,
    other_sink: str,
    alarms: list[Alarm],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PULSE_SINK", other_sink)  # the amplifier is not the one plugged in
    seconds = 5.0
    start_at = time.time() + 2.5  # a new null sink takes about 2 s to start
    raised_at: dict[AlarmKind, float] = {}

    def note(alarm: Alarm) -> None:
        alarms.append(alarm)
        raised_at.setdefault(alarm.kind, time.time())

    monitor.on_alarm = note
    output = MonitoredOutput(SimpleaudioOutput(), monitor)
    output.play_live(live(chunks(bursts(seconds)), start_at), start_at=start_at)
    hearing = monitor.judge(moment(start_at), moment(start_at + seconds))
    assert hearing.heard is Heard.NO, hearing
    assert "nothing heard" in hearing.reason
    dead_air = [alarm for alarm in alarms if alarm.kind is AlarmKind.DEAD_AIR]
    assert dead_air and dead_air[0].ended is None
    assert raised_at[AlarmKind.DEAD_AIR] - start_at <= monitor.settings.dead_air_s + 2.0
    assert abs(dead_air[0].started.timestamp() - start_at) < 0.5
    assert wait_for(lambda: AlarmKind.OFF_AIR in raised_at, 5.0), alarms
    assert [alarm.kind for alarm in monitor.alarms()] == [AlarmKind.OFF_AIR]


def test_noise_while_nothing_is_sent_is_unexpected_sound(
    on_rig: PulseRig, monitor: ListeningMonitor, alarms: list[Alarm]
) -> None:
    noise = np.random.default_rng(7).normal(0, 0.1, round(4.0 * RATE))
    start_at = time.time() + 0.5
    SimpleaudioOutput().play_live(live(chunks(noise), start_at), start_at=start_at)
    assert wait_for(lambda: len(alarms) >= 2, 5.0), alarms
    started, ended = alarms[:2]
    assert started.kind is ended.kind is AlarmKind.UNEXPECTED_SOUND
    assert abs(started.started.timestamp() - start_at) < 0.3
    assert ended.ended is not None and abs(ended.ended.timestamp() - (start_at + 4.0)) < 0.3


def test_a_hole_in_what_reaches_the_loudspeakers_is_partly_heard(
    on_rig: PulseRig, monitor: ListeningMonitor
) -> None:
    seconds, hole = (6.0, (2.0, 5.0))
    sound = bursts(seconds)
    reaching = sound.copy()
    reaching[round(hole[0] * RATE) : round(hole[1] * RATE)] = 0  # the amplifier cut out
    start_at = time.time() + 0.8
    for index, piece in enumerate(chunks(sound)):
        monitor.sent(piece, start_at + index * 0.1)
    SimpleaudioOutput().play_live(live(chunks(reaching), start_at), start_at=start_at)
    hearing = monitor.judge(moment(start_at), moment(start_at + seconds))
    assert hearing.heard is Heard.PARTLY, hearing
    found = re.fullmatch(r"([\d.]+) s of ([\d.]+) s not heard", hearing.reason)
    assert found, hearing.reason
    assert float(found[1]) == pytest.approx(
        audible_s(sound[round(hole[0] * RATE) : round(hole[1] * RATE)]), abs=0.3
    )
    assert float(found[2]) == pytest.approx(audible_s(sound), abs=0.3)


def test_an_input_that_does_not_exist_is_a_device_alarm_and_every_verdict_unknown(
    on_rig: PulseRig, tmp_path: Path, alarms: list[Alarm]
) -> None:
    monitor = ListeningMonitor(MonitorSettings("no_such_card.monitor"), tmp_path, alarms.append)
    try:
        assert wait_for(lambda: alarms, 5.0)
        assert alarms[0].kind is AlarmKind.DEVICE and alarms[0].ended is None
        assert "no_such_card.monitor" in alarms[0].detail
        now = time.time()
        for index, piece in enumerate(chunks(bursts(1.0))):
            monitor.sent(piece, now + index * 0.1)
        hearing = monitor.judge(moment(now), moment(now + 1.0))
        assert hearing.heard is Heard.UNKNOWN
        assert hearing.reason == alarms[0].detail
        assert [alarm.kind for alarm in monitor.alarms()] == [AlarmKind.DEVICE]
    finally:
        monitor.close()


def test_an_input_that_goes_away_is_a_device_alarm_and_then_unknown(
    on_rig: PulseRig, tmp_path: Path, alarms: list[Alarm]
) -> None:
    loaded = subprocess.run(
        ["pactl", "load-module", "module-null-sink", "sink_name=usb_card", "channels=1"],
        capture_output=True,
        text=True,
        check=True,
    )
    monitor = ListeningMonitor(MonitorSettings("usb_card.monitor"), tmp_path, alarms.append)
    try:
        assert wait_for(lambda: monitor.heard_until > time.time() - 1, 8.0), monitor.problem
        assert alarms == []
        subprocess.run(["pactl", "unload-module", loaded.stdout.strip()], check=True)
        unplugged = time.time()
        assert wait_for(lambda: alarms, 5.0)
        assert alarms[0].kind is AlarmKind.DEVICE and "usb_card.monitor" in alarms[0].detail
        for index, piece in enumerate(chunks(bursts(1.0))):
            monitor.sent(piece, unplugged + 1 + index * 0.1)
        hearing = monitor.judge(moment(unplugged + 1), moment(unplugged + 2))
        assert hearing.heard is Heard.UNKNOWN and "usb_card.monitor" in hearing.reason
    finally:
        monitor.close()
        subprocess.run(["pactl", "unload-module", loaded.stdout.strip()], check=False)
