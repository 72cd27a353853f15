"""The monitor that listens: a capture child, the envelopes, the judge, the alarms, the audio log.

The monitor device is captured continuously at 8 kHz mono by a child process — `parec` for a
PulseAudio source, `ffmpeg -f alsa` for an ALSA device (`hw:…`, `plughw:…`, `default`) — in its
own process group, killed by the kernel if Loa dies (the parent-death signal, as the relay's
ffmpeg). One thread (`loa-monitor`) reads it, stamps every block with the wall-clock time it was
heard, keeps the heard envelope, writes the audio log and feeds the alarm watch; the station's
threads add what they send to the sent envelope (`sent`) and ask for verdicts (`judge`). A device
that is missing, goes away or is swapped for another by the sound server is a DEVICE alarm; the
capture is tried again every DEVICE_RETRY_S and everything else goes on.
"""

import collections
import contextlib
import logging
import math
import os
import select
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np

from broadcaster.audio.api import Chunk
from broadcaster.core.models import Alarm, AlarmKind, Heard, Hearing
from broadcaster.core.settings import MonitorSettings
from broadcaster.i18n import _, format_decimal
from broadcaster.monitor.api import Monitor
from broadcaster.monitor.audiolog import RATE, AudioLogWriter
from broadcaster.monitor.envelope import FRAME_S, Envelope, frame_of
from broadcaster.monitor.verdict import MAX_LAG, TOLERANCE_FRAMES, judge_frames
from broadcaster.monitor.watch import Board, Watch
from broadcaster.programs import find_program
from broadcaster.relay.child import ALSA_DEVICE, _parent_death_signal

log = logging.getLogger("loa")

HISTORY_S = 8 * 3600
"""How far back the envelopes reach: the longest relay judged whole (about 7 MB each)."""
DEVICE_RETRY_S = 10.0
START_TIMEOUT_S = 5.0
"""A capture that has given nothing this long after it started is not working (a PulseAudio
null sink's monitor takes about 2 s to start)."""
STALL_S = 3.0
"""A capture that gave audio and then nothing for this long: the device went away."""
JUDGE_WAIT_S = 5.0
FINAL_AFTER_S = 5.0
"""Frames the capture has not reached this long after their time are judged as not heard."""
ORIGIN_WINDOW_S = 30.0
"""The capture's clock is re-anchored to the wall clock over this window (the least delayed
block in it), so that a sound card's drift never adds up."""
POLL_S = 0.25
BATCH_S = 0.1
"""The capture comes every 20 ms (a shorter latency asked of PulseAudio keeps a monitor
source's timing right); it is taken ten times a second, which costs less CPU."""
READ_BYTES = 65536
STDERR_LINES_KEPT = 20
MOVED = "Stream moved to device "
PAREC_CHATTER = (
    "Opening",
    "Connection established",
    "Stream successfully",
    "Buffer metrics",
    "Using sample",
    "Connected to",
)
"""What parec -v says when all is well."""


def no_capture_program() -> str:
    return _("neither parec nor ffmpeg is installed (sudo apt install pulseaudio-utils ffmpeg)")


def device_problem(device: str, reason: str) -> str:
    """What is wrong with the monitor input and what to do (translated)."""
    problem = _("The monitor input {device} cannot be heard: {reason}.").format(
        device=device, reason=reason
    )
    fix = _(
        "Plug the sound card in, or set monitor: device: in station.yaml to an input that exists "
        "(pactl list short sources, or arecord -L)."
    )
    return f"{problem} {fix}"


def capture_command(device: str) -> list[str] | None:
    """The child that captures `device` as s16le mono at RATE to its stdout; None if neither
    parec nor ffmpeg is installed."""
    parec = find_program("parec")
    if parec is not None and not ALSA_DEVICE.search(device):
        return [
            *(parec, "-v", "-d", device, "--raw", "--format=s16le"),
            *(f"--rate={RATE}", "--channels=1", "--latency-msec=20"),
        ]
    ffmpeg = find_program("ffmpeg")
    if ffmpeg is None:
        return None
    return [
        *(ffmpeg, "-nostdin", "-hide_banner", "-nostats", "-loglevel", "error"),
        *("-fflags", "nobuffer", "-f", "alsa" if ALSA_DEVICE.search(device) else "pulse"),
        *("-i", device, "-ac", "1", "-ar", str(RATE), "-f", "s16le", "-flush_packets", "1", "-"),
    ]


class Capture:
    """One running capture child, read without a thread of its own (select)."""

    def __init__(self, command: list[str], device: str) -> None:
        self.device = device
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=_parent_death_signal(),
        )
        assert self.process.stdout is not None and self.process.stderr is not None
        self.stdout = self.process.stdout.fileno()
        self.stderr = self.process.stderr.fileno()
        os.set_blocking(self.stderr, False)
        os.set_blocking(self.stdout, False)
        self.started = time.time()
        self.last_data: float | None = None
        self.lines: collections.deque[str] = collections.deque(maxlen=STDERR_LINES_KEPT)
        self.moved_to: str | None = None
        self.ended = False
        self._partial = ""

    def read(self, timeout: float) -> bytes | None:
        """All that came, waiting `timeout` at most for something: bytes (maybe none); None
        once the child's output has ended."""
        if self.ended:
            return None
        ready, _w, _x = select.select([self.stdout, self.stderr], [], [], timeout)
        if self.stderr in ready:
            self.read_stderr()
        if self.stdout not in ready:
            return b""
        pieces = []
        with contextlib.suppress(BlockingIOError):
            while data := os.read(self.stdout, READ_BYTES):
                pieces.append(data)
            self.ended = True  # an empty read: the end of the output
            self.read_stderr()
        if pieces:
            self.last_data = time.time()
        return b"".join(pieces) if pieces or not self.ended else None

    def read_stderr(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            while said := os.read(self.stderr, 4096):
                text = self._partial + said.decode("utf-8", "replace")
                *lines, self._partial = text.replace("\r", "\n").split("\n")
                for line in lines:
                    line = line.replace("\x1b[K", "").strip()
                    if not line or line.startswith("Time:"):
                        continue  # parec -v: the running clock
                    self.lines.append(line)
                    if line.startswith(MOVED):
                        moved_to = line[len(MOVED) :].split(" ")[0]
                        if moved_to != self.device:
                            self.moved_to = moved_to
                if len(self._partial) > 4096:
                    self._partial = ""

    def reason(self) -> str:
        for line in reversed(self.lines):
            if not line.startswith(PAREC_CHATTER):
                return line
        return _("the capture stopped")

    def kill(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5.0)
        for pipe in (self.process.stdout, self.process.stderr):
            with contextlib.suppress(OSError):
                if pipe is not None:
                    pipe.close()


class ListeningMonitor:
    """The Monitor (monitor/api.py) of a real input device."""

    def __init__(
        self,
        settings: MonitorSettings,
        log_dir: Path,
        on_alarm: Callable[[Alarm], None],
        target_lufs: float = -16.0,
        retry_s: float = DEVICE_RETRY_S,
        log_retry_s: float = 60.0,
    ) -> None:
        self.settings = settings
        self.device = settings.device
        self.on_alarm = on_alarm
        self.retry_s = retry_s
        capacity = round(HISTORY_S / FRAME_S)
        self._sent = Envelope(capacity)
        self._heard = Envelope(capacity)
        self._watch = Watch(settings.dead_air_s, target_lufs)
        self._board = Board()
        self._lock = threading.Lock()
        self._captured = threading.Condition(self._lock)
        self._log = AudioLogWriter(
            log_dir,
            settings.keep_days,
            settings.disk_mb * 1_000_000,
            self._log_problem,
            retry_s=log_retry_s,
        )
        self._capture: Capture | None = None
        self._retry_at = 0.0
        self._samples = 0
        self._odd = b""
        self._origins: collections.deque[tuple[float, float]] = collections.deque()
        self._heard_until = 0.0
        """The wall-clock time the capture has reached."""
        self._fed = frame_of(time.time())
        self._lag: float | None = None
        self.problem: str | None = None
        """Why the monitor cannot listen now (translated); None while it can."""
        self._last_problem = ""
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._run, name="loa-monitor", daemon=True)
        self._thread.start()

    # the station's side

    def sent(self, chunk: Chunk, heard_from: float) -> None:
        try:
            samples = np.frombuffer(chunk.raw_data, dtype=f"<i{chunk.sample_width}")
            scale = float(2 ** (8 * chunk.sample_width - 1))
            mono = samples.reshape(-1, chunk.channels).mean(axis=1) / scale
            with self._lock:
                self._sent.add(mono, chunk.frame_rate, heard_from)
        except Exception:
            log.exception(_("The on-air monitor failed (%s); the air goes on."), "sent")

    def withdraw(self, after: float) -> None:
        with self._lock:
            self._sent.withdraw(frame_of(after))

    def judge(self, started: datetime, ended: datetime) -> Hearing:
        try:
            return self._judge(started.timestamp(), ended.timestamp())
        except Exception as error:
            log.exception(_("The on-air monitor failed (%s); the air goes on."), "judge")
            return Hearing(Heard.UNKNOWN, reason=str(error))

    def alarms(self) -> list[Alarm]:
        with self._lock:
            return [*self._board.lasting.values(), *self._watch.board.lasting.values()]

    @property
    def heard_until(self) -> float:
        """The wall-clock time the capture has reached (0 before it has heard anything)."""
        return self._heard_until

    def close(self) -> None:
        self._closed.set()
        self._thread.join(10.0)

    def _judge(self, begin: float, end: float) -> Hearing:
        first, last = frame_of(begin), math.ceil(end / FRAME_S)
        known = self._lag
        waited = MAX_LAG if known is None else min(MAX_LAG, round(known) + 2 * TOLERANCE_FRAMES)
        needed = (last + waited + 1) * FRAME_S
        deadline = time.time() + JUDGE_WAIT_S
        with self._captured:
            while self._heard_until < needed and self.problem is None:
                left = deadline - time.time()
                if left <= 0:
                    break
                self._captured.wait(min(left, POLL_S))
            sent = self._sent.frames(first, last)
            heard = self._heard.frames(first, last + MAX_LAG)
            present_db = self._watch.present_db
            not_listening = self.problem or self._last_problem
        hearing, found = judge_frames(sent, heard, present_db, known, not_listening)
        if found is not None:
            self._lag = found
        if hearing.heard is Heard.UNKNOWN:
            return hearing
        delay_s = (hearing.delay_ms or 0) / 1000
        audio_log = self._log.position(begin + delay_s, end + delay_s)
        return replace(hearing, audio_log=audio_log)

    # the monitor's thread

    def _run(self) -> None:
        try:
            while not self._closed.is_set():
                try:
                    self._listen_once()
                except Exception:
                    log.exception(_("The on-air monitor failed (%s); the air goes on."), "listen")
                    self._closed.wait(POLL_S)
        finally:
            if self._capture is not None:
                self._capture.kill()
            self._log.close()

    def _listen_once(self) -> None:
        now = time.time()
        capture = self._capture
        if capture is None:
            if now >= self._retry_at:
                self._start_capture(now)
            else:
                self._closed.wait(POLL_S)
        else:
            data = capture.read(POLL_S)
            if data:
                self._take(data, capture.last_data or time.time())
            self._check(capture, data is None)
            self._feed_watch(time.time())
            self._closed.wait(BATCH_S)  # what comes meanwhile is taken in one go
            return
        self._feed_watch(time.time())

    def _start_capture(self, now: float) -> None:
        command = capture_command(self.device)
        if command is None:
            self._device_lost(no_capture_program())
            return
        try:
            self._capture = Capture(command, self.device)
        except OSError as error:
            self._device_lost(str(error))
            return
        self._samples = 0
        self._odd = b""
        self._origins.clear()

    def _check(self, capture: Capture, ended: bool) -> None:
        now = time.time()
        reason = None
        if ended or capture.process.poll() is not None:
            reason = capture.reason()
        elif capture.moved_to is not None:
            reason = _("it went away (the sound server moved the capture to {other})").format(
                other=capture.moved_to
            )
        elif capture.last_data is None and now - capture.started > START_TIMEOUT_S:
            reason = _("it gives no sound")
        elif capture.last_data is not None and now - capture.last_data > STALL_S:
            reason = _("it stopped giving sound")
        if reason is not None:
            capture.kill()
            self._capture = None
            self._device_lost(reason)
        elif capture.last_data is not None and self.problem is not None:
            self._device_back()

    def _device_lost(self, reason: str) -> None:
        self._retry_at = time.time() + self.retry_s
        self._log.close()
        again = _("Loa tries again every {seconds} s; the broadcasts go on.").format(
            seconds=format_decimal(self.retry_s, 0)
        )
        message = f"{device_problem(self.device, reason)} {again}"
        with self._lock:
            self.problem = self._last_problem = message
            self._captured.notify_all()
            alarms = self._board.start_at(AlarmKind.DEVICE, datetime.now().astimezone(), message)
        self._report(alarms)

    def _device_back(self) -> None:
        with self._lock:
            self.problem = None
            alarms = self._board.end_at(AlarmKind.DEVICE, datetime.now().astimezone())
        self._report(alarms)

    def _take(self, data: bytes, arrived: float) -> None:
        """A block from the capture: stamped, kept as frames, written to the audio log."""
        data = self._odd + data
        whole = len(data) // 2 * 2
        data, self._odd = data[:whole], data[whole:]
        if not data:
            return
        count = len(data) // 2
        self._samples += count
        self._origins.append((arrived, arrived - self._samples / RATE))
        while self._origins and arrived - self._origins[0][0] > ORIGIN_WINDOW_S:
            self._origins.popleft()
        origin = min(candidate for _arrived, candidate in self._origins)
        start = origin + (self._samples - count) / RATE
        samples = np.frombuffer(data, dtype="<i2").astype(np.float64) / 32768
        with self._captured:
            self._heard.add(samples, RATE, start)
            self._heard_until = max(self._heard_until, start + count / RATE)
            self._captured.notify_all()
        self._log.write(data, start)

    def _feed_watch(self, now: float) -> None:
        """Every frame now final — the capture is past it, or it is FINAL_AFTER_S old — goes
        to the alarm watch, in order."""
        final = max(frame_of(self._heard_until), frame_of(now - FINAL_AFTER_S))
        if final <= self._fed + 1:
            return
        with self._lock:
            sent = self._sent.frames(self._fed + 1, final)
            heard = self._heard.frames(self._fed + 1, final)
        sent_db, heard_db = sent.levels_db(), heard.levels_db()
        alarms: list[Alarm] = []
        with self._lock:
            for index in range(len(sent)):
                alarms += self._watch.step(
                    sent.first + index,
                    float(sent_db[index]),
                    float(heard_db[index]),
                    float(heard.peak[index]),
                )
        self._fed = final - 1
        self._report(alarms)

    def _log_problem(self, message: str | None) -> None:
        now = datetime.now().astimezone()
        with self._lock:
            if message is None:
                alarms = self._board.end_at(AlarmKind.AUDIO_LOG, now)
            else:
                alarms = self._board.start_at(AlarmKind.AUDIO_LOG, now, message)
        self._report(alarms)

    def _report(self, alarms: list[Alarm]) -> None:
        for alarm in alarms:
            try:
                self.on_alarm(alarm)
            except Exception:
                log.exception(_("The on-air monitor failed (%s); the air goes on."), "alarm")


def open_monitor(
    settings: MonitorSettings,
    log_dir: Path,
    on_alarm: Callable[[Alarm], None],
    target_lufs: float = -16.0,
) -> Monitor:
    """Start listening to `settings.device` (never raises for a device that is missing: the
    DEVICE alarm and every `unknown` verdict say so)."""
    return ListeningMonitor(settings, log_dir, on_alarm, target_lufs)
