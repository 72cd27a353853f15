"""The on-air monitor's numbers: its CPU, how soon it raises a dead air, and its false alarms.

    .venv/bin/python -m bench.monitor [CPU_SECONDS] [DAYS]

- CPU: the monitor listening to the test rig's sink (tests/pulse_rig.py) for CPU_SECONDS (default
  60) while a tone comes and goes in it, played live through MonitoredOutput and the sound
  device in 100 ms chunks at 44.1 kHz, as the station plays a relay: the capture child (parec),
  the audio log's encoder (ffmpeg), the monitor's thread and `sent` in the station's thread,
  each as % of one core. The sound server's own work is not counted (it plays anyway). And the
  audio log's size, as MB a day.
- dead air: the same sound sent while it goes to another null sink (the amplifier unplugged),
  with the default monitor.dead_air of 10 s: seconds from the start of the silence (the alarm's
  `started`) to the alarm.
- a simulated day (DAYS of them, default 1): the pure parts (envelopes → watch, verdicts) fed a
  day of frames as fast as they go: speech items, music relays, a microphone's background with
  passing noise, silence between broadcasts. Nothing goes wrong in it, so every alarm is false
  and every verdict but `yes` is wrong. Then the same day with faults (the amplifier off for one
  item, a 10 s dropout, a voice on the microphone, a clipping amplifier): what is caught.
"""

import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import numpy as np
from pydub import AudioSegment

from broadcaster.audio.outputs import SimpleaudioOutput
from broadcaster.core.models import Alarm, AlarmKind, Heard, Hearing
from broadcaster.core.settings import MonitorSettings
from broadcaster.monitor.audiolog import audio_log_usage
from broadcaster.monitor.envelope import FRAME_S
from broadcaster.monitor.listening import ListeningMonitor
from broadcaster.monitor.output import MonitoredOutput
from broadcaster.monitor.verdict import MAX_LAG, judge_frames
from broadcaster.monitor.watch import Watch
from tests.monitor.levels import frames, speech
from tests.monitor.sound import bursts, chunks, live
from tests.pulse_rig import SINK, PulseRig

DAY = round(24 * 3600 / FRAME_S)
LAG = 6
"""The simulated monitor hears 300 ms late (a microphone a few metres from a loudspeaker)."""
GAIN_DB = -20.0
BACKGROUND_DB = -55.0


def cpu_seconds(task: str) -> float:
    """User + system CPU seconds of /proc/TASK (a process, or PID/task/TID for a thread)."""
    fields = Path(f"/proc/{task}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class TimedMonitor:
    """The monitor, with the CPU its `sent` takes in the station's threads counted."""

    def __init__(self, monitor: ListeningMonitor) -> None:
        self.monitor = monitor
        self.sending_s = 0.0

    def sent(self, chunk: AudioSegment, heard_from: float) -> None:
        before = time.thread_time()
        self.monitor.sent(chunk, heard_from)
        self.sending_s += time.thread_time() - before

    def judge(self, started: datetime, ended: datetime) -> Hearing:
        return self.monitor.judge(started, ended)

    def alarms(self) -> list[Alarm]:
        return self.monitor.alarms()

    def close(self) -> None:
        self.monitor.close()


def play_and_send(monitor: ListeningMonitor, seconds: float, sink: str) -> float:
    """Speech-like sound played live through the sound device into `sink`, through
    MonitoredOutput as the station does; the CPU seconds `sent` took."""
    os.environ["PULSE_SINK"] = sink
    timed = TimedMonitor(monitor)
    output = MonitoredOutput(SimpleaudioOutput(), timed)
    start_at = time.time() + 1.0
    output.play_live(live(chunks(bursts(seconds, seed=4)), start_at), start_at=start_at)
    return timed.sending_s


def cpu_of_monitor(seconds: float, root: Path) -> tuple[float, float, float, float]:
    monitor = ListeningMonitor(MonitorSettings(f"{SINK}.monitor"), root / "log", lambda a: None)
    try:
        while monitor.heard_until < time.time() - 1:
            time.sleep(0.1)
        log_began = monitor.heard_until
        capture = monitor._capture
        assert capture is not None
        time.sleep(2)  # the audio log's encoder has started
        encoder = monitor._log._encoder
        assert encoder is not None
        thread = monitor._thread.native_id
        assert thread is not None
        pids = (capture.process.pid, encoder.pid, os.getpid())
        stats = [f"{pid}" for pid in pids] + [f"{os.getpid()}/task/{thread}"]
        before = [cpu_seconds(stat) for stat in stats]
        began = time.time()
        sending = play_and_send(monitor, seconds, SINK)
        elapsed = time.time() - began
        after = [cpu_seconds(stat) for stat in stats]
        parec, ffmpeg, _process, listening = (
            (b - a) / elapsed * 100 for a, b in zip(before, after, strict=True)
        )
        _days, size = audio_log_usage(root / "log")
        print(f"audio log: {size / (time.time() - log_began) * 86400 / 1e6:.0f} MB a day")
        return parec, ffmpeg, listening, sending / elapsed * 100
    finally:
        monitor.close()


def dead_air_delay(root: Path) -> float | None:
    loaded = subprocess.run(
        ["pactl", "load-module", "module-null-sink", "sink_name=unplugged", "channels=1"],
        capture_output=True,
        text=True,
        check=True,
    )
    raised = threading.Event()
    delays: list[float] = []

    def on_alarm(alarm: Alarm) -> None:
        if alarm.kind is AlarmKind.DEAD_AIR and alarm.ended is None:
            delays.append(time.time() - alarm.started.timestamp())
            raised.set()

    monitor = ListeningMonitor(MonitorSettings(f"{SINK}.monitor"), root / "log2", on_alarm)
    try:
        while monitor.heard_until < time.time() - 1:
            time.sleep(0.1)
        time.sleep(2)  # the new sink has started
        sender = threading.Thread(target=play_and_send, args=(monitor, 16.0, "unplugged"))
        sender.start()
        raised.wait(18.0)
        sender.join()
        return delays[0] if delays else None
    finally:
        monitor.close()
        subprocess.run(["pactl", "unload-module", loaded.stdout.strip()], check=False)


def music(size: int, rng: np.random.Generator) -> np.ndarray:
    """A relay of music: a level that swells and falls, a beat, short fades between songs."""
    t = np.arange(size)
    levels = -17 + 4 * np.sin(2 * np.pi * t / 1200) + rng.normal(0, 1.5, size)
    levels[t % 10 == 0] -= 5
    for song_end in range(3600, size, 3600):
        levels[song_end - 20 : song_end + 10] = -60
    return levels


def simulated_day(seed: int, faults: bool) -> tuple[list[Alarm], Counter[Heard], float]:
    """A day of frames through the watch and the judge; the alarms, the verdicts, frames/s."""
    rng = np.random.default_rng(seed)
    sent = np.full(DAY, np.nan)
    items: list[tuple[int, int]] = []
    at = round(5 * 3600 / FRAME_S)
    while at < round(21 * 3600 / FRAME_S):
        length = round(rng.uniform(3, 15) * 60 / FRAME_S)
        if rng.random() < 0.25:
            length = round(rng.uniform(30, 60) * 60 / FRAME_S)
            sent[at : at + length] = music(length, rng)
        else:
            sent[at : at + length] = speech(length, seed=int(rng.integers(1 << 30)))
        items.append((at, at + length))
        at += length + round(rng.uniform(10, 90) * 60 / FRAME_S)
    background = BACKGROUND_DB + rng.normal(0, 1.5, DAY)
    for start in rng.integers(0, DAY - 100, 300):  # motorbikes, dogs: a second or two
        background[start : start + int(rng.integers(10, 40))] += 15
    shifted = np.full(DAY, -200.0)
    shifted[LAG:] = np.nan_to_num(sent[:-LAG], nan=-200.0) + GAIN_DB
    if faults:
        off_first, off_last = items[2]
        shifted[off_first : off_last + LAG] = -200.0  # the amplifier was off
        hole = items[5][0] + 600
        shifted[hole : hole + 200] = -200.0  # a 10 s dropout
        quiet = items[8][1] + 2000
        background[quiet : quiet + 400] = -30.0  # someone at the microphone for 20 s
        loud_first = items[10][0]
        shifted[loud_first : loud_first + 600] += 35  # the amplifier's input turned up
    heard = 10 * np.log10(10 ** (background / 10) + 10 ** (shifted / 10))
    peaks = np.minimum(1.0, np.sqrt(2) * 10 ** (heard / 20) * 1.4)
    watch = Watch(10.0, -16.0)
    alarms: list[Alarm] = []
    verdicts: Counter[Heard] = Counter()
    judge_at = {end + MAX_LAG: (first, end) for first, end in items}
    began = time.perf_counter()
    for frame in range(DAY):
        alarms += watch.step(frame, float(sent[frame]), float(heard[frame]), float(peaks[frame]))
        if (item := judge_at.get(frame)) is not None:
            first, end = item
            hearing, _lag = judge_frames(
                frames(sent[first:end], first),
                frames(heard[first : end + MAX_LAG], first),
                watch.present_db,
            )
            verdicts[hearing.heard] += 1
    speed = DAY / (time.perf_counter() - began)
    return [alarm for alarm in alarms if alarm.ended is None], verdicts, speed


def main() -> None:
    cpu_window = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    days = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    print(f"load average before: {os.getloadavg()[0]:.2f}", file=sys.stderr)
    for seed in range(days):
        for faults in (False, True):
            alarms, verdicts, speed = simulated_day(seed, faults)
            kinds = Counter(alarm.kind.value for alarm in alarms)
            label = "with faults" if faults else "no faults"
            print(
                f"simulated day {seed} ({label}): {sum(verdicts.values())} broadcasts, verdicts "
                f"{dict(sorted((h.value, n) for h, n in verdicts.items()))}, alarms "
                f"{dict(sorted(kinds.items()))}; {speed / 20 / 3600:.0f} h of frames per second"
            )
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        (root / "pulse").mkdir()
        rig = PulseRig(root / "pulse")
        rig.start()
        os.environ.update(rig.env)
        try:
            parec, ffmpeg, listening, sending = cpu_of_monitor(cpu_window, root)
            total = parec + ffmpeg + listening + sending
            print(
                f"CPU of the monitor over {cpu_window:.0f} s, % of one core: capture (parec) "
                f"{parec:.2f}, audio log (ffmpeg, Opus 12 kbit/s) {ffmpeg:.2f}, the monitor's "
                f"thread {listening:.2f}, sent() in the station's threads {sending:.2f}; "
                f"total {total:.2f}"
            )
            delay = dead_air_delay(root)
            said = f"{delay:.1f} s" if delay is not None else "not raised"
            print(f"dead air (monitor.dead_air 10 s) raised {said} after the silence began")
        finally:
            rig.stop()
    print(f"load average after: {os.getloadavg()[0]:.2f}", file=sys.stderr)


if __name__ == "__main__":
    main()
