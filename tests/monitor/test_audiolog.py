"""The daily audio log: files on the wall clock, cut back out by time (with the station stopped),
pruned by age and size, and a full disk that stops the log but not the monitor."""

import os
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from broadcaster.audio.outputs import SimpleaudioOutput
from broadcaster.core.models import Alarm, AlarmKind, Heard
from broadcaster.core.settings import MonitorSettings
from broadcaster.errors import AudioFileError
from broadcaster.monitor.audiolog import (
    RATE,
    AudioLogWriter,
    audio_log_usage,
    file_name,
    log_files,
    open_audio_log,
    prune,
)
from broadcaster.monitor.listening import ListeningMonitor
from broadcaster.monitor.output import MonitoredOutput
from tests.monitor.sound import bursts, chunks, live, moment, wait_for
from tests.pulse_rig import SINK, PulseRig
from tests.signals import read_wav

pytestmark = pytest.mark.usefixtures("english")


def tone(seconds: float, hz: float = 1000.0, level: float = 0.5) -> bytes:
    t = np.arange(round(seconds * RATE)) / RATE
    return (level * np.sin(2 * np.pi * hz * t) * 32767).astype("<i2").tobytes()


def silence(seconds: float) -> bytes:
    return bytes(2 * round(seconds * RATE))


def onset_s(samples: np.ndarray, rate: int) -> float:
    return float(np.flatnonzero(np.abs(samples) > 0.1)[0]) / rate


def dominant_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


def fill(path: Path) -> None:
    """Fill the disk that holds `path` to the last byte."""
    handle = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(handle, bytes(4096))
    except OSError:
        pass
    finally:
        os.close(handle)


def write(writer: AudioLogWriter, pcm: bytes, start: float, block_s: float = 0.1) -> None:
    """As the capture hands blocks over."""
    size = 2 * round(block_s * RATE)
    for at in range(0, len(pcm), size):
        writer.write(pcm[at : at + size], start + at / 2 / RATE)


def test_a_tone_is_cut_out_at_the_time_it_was_heard_even_after_a_gap(tmp_path: Path) -> None:
    problems: list[str | None] = []
    writer = AudioLogWriter(tmp_path, 30, 10**9, problems.append)
    start = time.time() - 60
    write(writer, silence(2.0), start)
    write(writer, tone(1.0), start + 3.0)  # the capture missed a second: the file stays on time
    writer.close()
    assert problems == []
    [file] = log_files(tmp_path)
    assert file.path.name == file_name(start) and file.start == int(start)
    out = open_audio_log(tmp_path).cut(moment(start + 2.5), 2.0, tmp_path / "cut.wav")
    samples, rate = read_wav(out)
    assert len(samples) / rate == pytest.approx(2.0, abs=0.05)
    assert onset_s(samples, rate) == pytest.approx(0.5, abs=0.05)
    assert dominant_hz(samples[rate // 2 :], rate) == pytest.approx(1000, abs=20)
    assert writer.position(start + 3.2) == f"{file.path.name}@{start + 3.2 - file.start:.1f}"


def test_nothing_at_that_time_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(AudioFileError, match="is empty"):
        open_audio_log(tmp_path).cut(datetime.now().astimezone(), 10, tmp_path / "cut.wav")
    writer = AudioLogWriter(tmp_path, 30, 10**9, lambda problem: None)
    start = time.time() - 60
    write(writer, tone(1.0), start)
    writer.close()
    with pytest.raises(AudioFileError, match="nothing at"):
        open_audio_log(tmp_path).cut(moment(start - 3600), 10, tmp_path / "cut.wav")
    with pytest.raises(AudioFileError, match="nothing at"):
        open_audio_log(tmp_path).cut(moment(start + 30), 10, tmp_path / "cut.wav")


def test_old_days_go_then_the_oldest_until_the_log_fits(tmp_path: Path) -> None:
    now = datetime(2026, 11, 30, 12, 0).astimezone()
    for days_ago, size in ((40, 100), (29, 200), (2, 300), (1, 400), (0, 500)):
        (tmp_path / file_name((now - timedelta(days=days_ago)).timestamp())).write_bytes(
            bytes(size)
        )
    (tmp_path / "notes.txt").write_text("not the log's")
    assert audio_log_usage(tmp_path) == (5, 1500)
    assert prune(tmp_path, 30, 10**9, now.timestamp(), None) == 1
    assert audio_log_usage(tmp_path) == (4, 1400)
    current = log_files(tmp_path)[-1].path
    assert prune(tmp_path, 30, 1000, now.timestamp(), current) == 2
    assert [file.day for file in log_files(tmp_path)] == ["2026-11-29", "2026-11-30"]
    assert (tmp_path / "notes.txt").exists()


def test_a_full_disk_stops_the_log_with_an_alarm_and_the_monitor_goes_on(
    pulse: PulseRig, monkeypatch: pytest.MonkeyPatch, small_disk: Path
) -> None:
    for name, value in pulse.env.items():
        monkeypatch.setenv(name, value)
    alarms: list[Alarm] = []
    monitor = ListeningMonitor(MonitorSettings(f"{SINK}.monitor"), small_disk, alarms.append)
    try:
        assert wait_for(lambda: log_files(small_disk), 8.0)
        fill(small_disk / "filler")
        assert wait_for(lambda: alarms, 10.0)
        assert alarms[0].kind is AlarmKind.AUDIO_LOG and "disk is full" in alarms[0].detail
        start_at = time.time() + 0.8
        seconds = 3.0
        MonitoredOutput(SimpleaudioOutput(), monitor).play_live(
            live(chunks(bursts(seconds)), start_at), start_at=start_at
        )
        hearing = monitor.judge(moment(start_at), moment(start_at + seconds))
        assert hearing.heard is Heard.YES, hearing
        assert [alarm.kind for alarm in monitor.alarms()] == [AlarmKind.AUDIO_LOG]
    finally:
        monitor.close()
        os.sync()
