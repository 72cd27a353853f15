"""A live stream on the sound device: one continuous write to a child process, never a buffer
per chunk (each simpleaudio buffer costs 10-20 ms of silence at its join).

The child (outputs/alsa_writer.py) keeps DEVICE_LATENCY_MS in the device, plays silence until the
first sample is due and holds every later one to its due time on the wall clock, so the stream
starts on time and its latency does not move however long it plays. Here, a queue takes the
chunks as the source hands them over and a thread writes them to the child as fast as it reads
(the device paces it); what waits in the queue and the pipe covers a busy PC, not the latency,
which the start time fixes.
"""

import collections
import contextlib
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from broadcaster.audio.api import POLL_S, Chunk, PlaybackStopped
from broadcaster.errors import NoAudioDeviceError
from broadcaster.i18n import _

DEVICE_LATENCY_MS = 200
"""The device's buffer: how long the writer may be held up without a gap. It costs no latency
(start_at fixes that) and no delay at a stop (the buffer is dropped): with 100 ms, a PC busy
with a second job had an underrun now and then on the test rig."""
QUEUE_LIMIT_S = 2.0
"""A source handing over faster than real time waits while this much is queued."""
STALL_S = 10.0
"""How long the device may take nothing, once the stream is due, before it counts as hung."""
OPEN_TIMEOUT_S = 10.0
DRAIN_MARGIN_S = 5.0
WRITER = Path(__file__).with_name("alsa_writer.py")


@dataclass(frozen=True)
class LiveStats:
    """What the writer had to make up for: silence played because the stream came late (the
    source's dropouts, or a PC too busy to feed it), and device underruns (each a click)."""

    starved_s: float = 0.0
    underruns: int = 0


def play_live_on_device(
    chunks: Iterable[Chunk], stop: threading.Event | None, start_at: float | None
) -> LiveStats:
    """Play `chunks` as one continuous stream (see AudioOutput.play_live); what the writer had
    to make up for."""
    if not sys.platform.startswith("linux"):
        raise NoAudioDeviceError(
            _("Live audio (relays) plays only on Linux: set output: device: silent to try it.")
        )
    stream: _DeviceStream | None = None
    try:
        for chunk in chunks:
            if stop is not None and stop.is_set():
                raise PlaybackStopped
            if stream is None:
                stream = _DeviceStream(chunk.frame_rate, chunk.channels, start_at, stop)
            stream.put(chunk)
        return stream.finish() if stream is not None else LiveStats()
    finally:
        if stream is not None:
            stream.close()


class _DeviceStream:
    def __init__(
        self, rate: int, channels: int, start_at: float | None, stop: threading.Event | None
    ) -> None:
        self.rate = rate
        self.channels = channels
        self.frame_bytes = 2 * channels
        self.stop = stop
        self.start_at = start_at or 0.0
        self.child = _start_writer(rate, channels, start_at)
        self.stderr = b""
        self._check_ready()
        assert self.child.stdin is not None
        self.pipe = self.child.stdin.fileno()
        self.taken_at = time.monotonic()
        self.cond = threading.Condition()
        self.queue: collections.deque[bytes] = collections.deque()
        self.queued = 0
        self.finished = False
        self.closed = False
        self.failure: BaseException | None = None
        self.writer = threading.Thread(target=self._write, name="loa-live-writer", daemon=True)
        self.writer.start()
        self.watcher = threading.Thread(target=self._watch, name="loa-live-stop", daemon=True)
        self.watcher.start()

    def put(self, chunk: Chunk) -> None:
        """Queue a chunk; wait while the queue is full (a source faster than real time)."""
        if (chunk.frame_rate, chunk.channels, chunk.sample_width) != (
            self.rate,
            self.channels,
            2,
        ):
            chunk = chunk.set_frame_rate(self.rate).set_channels(self.channels)
            chunk = chunk.set_sample_width(2)
        limit = QUEUE_LIMIT_S * self.rate * self.frame_bytes
        with self.cond:
            while self.queued > limit:
                self._raise_if_over(waiting=True)
                self.cond.wait(POLL_S * 5)
            self._raise_if_over()
            self.queue.append(chunk.raw_data)
            self.queued += len(chunk.raw_data)
            self.cond.notify_all()

    def finish(self) -> LiveStats:
        """Wait until the device has played everything queued."""
        with self.cond:
            self.finished = True
            self.cond.notify_all()
            while self.writer.is_alive():
                self._raise_if_over(waiting=True)
                self.cond.wait(POLL_S * 5)
            self._raise_if_over()
        deadline = time.monotonic() + DEVICE_LATENCY_MS / 1000 + DRAIN_MARGIN_S
        while self.child.poll() is None and time.monotonic() < deadline:
            self._raise_if_over()
            time.sleep(POLL_S * 5)
        self._raise_if_over()  # a stop during the drain kills the child: a stop, not a failure
        if self.child.poll() != 0:
            raise self._device_failed()
        assert self.child.stdout is not None
        done = self.child.stdout.read().split()
        if len(done) == 3 and done[0] == b"done":
            return LiveStats(float(done[1]), int(done[2]))
        return LiveStats()

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()
        _kill(self.child)
        for thread in (self.writer, self.watcher):
            thread.join(timeout=DRAIN_MARGIN_S)
        for pipe in (self.child.stdin, self.child.stdout, self.child.stderr):
            if pipe is not None:
                pipe.close()

    def _raise_if_over(self, waiting: bool = False) -> None:
        """Raise if stopped or failed; if `waiting` for the device, also if it hangs."""
        if self.stop is not None and self.stop.is_set():
            raise PlaybackStopped
        if self.failure is not None:
            raise self.failure
        due = time.time() > self.start_at + STALL_S  # before, the writer waits for the start
        hung = due and time.monotonic() - self.taken_at > STALL_S
        if waiting and hung:
            _kill(self.child)
            raise NoAudioDeviceError(
                _(
                    "The sound device stopped responding in the middle of live audio: check "
                    "the sound card and the amplifier, then run loa doctor."
                )
            )

    def _write(self) -> None:
        """Hand the queue to the child as fast as the device takes it."""
        try:
            while True:
                with self.cond:
                    while not self.queue and not self.finished and not self.closed:
                        self.cond.wait(POLL_S * 5)
                    if self.closed or (not self.queue and self.finished):
                        break
                    data = self.queue.popleft()
                    self.queued -= len(data)
                    self.taken_at = time.monotonic()
                    self.cond.notify_all()
                _write_all(self.pipe, data)
            if not self.closed:
                assert self.child.stdin is not None
                self.child.stdin.close()  # the end of the stream: the child drains and exits
        except OSError:
            self.failure = self._device_failed()
        finally:
            with self.cond:
                self.cond.notify_all()

    def _watch(self) -> None:
        """Silence the device as soon as `stop` is set, whatever the source is doing."""
        if self.stop is None:
            return
        while not self.closed and self.child.poll() is None:
            if self.stop.wait(POLL_S * 5):
                _kill(self.child)
                with self.cond:
                    self.cond.notify_all()
                return

    def _check_ready(self) -> None:
        """Wait for the child's `ready` line: the device is open, or why it is not."""
        assert self.child.stdout is not None
        deadline = time.monotonic() + OPEN_TIMEOUT_S
        while time.monotonic() < deadline:
            if select.select([self.child.stdout], [], [], POLL_S * 50)[0]:
                ready = self.child.stdout.readline().split()
                if ready[:1] == [b"ready"]:
                    return
                break
            if self.child.poll() is not None:
                break
        _kill(self.child)
        raise self._device_failed(opening=True)

    def _device_failed(self, opening: bool = False) -> NoAudioDeviceError:
        if self.child.poll() is None:
            _kill(self.child)
        if self.child.stderr is not None and not self.child.stderr.closed:
            self.stderr += self.child.stderr.read()
        reason = self.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = (
            reason[-1] if reason else _("exit status {code}").format(code=self.child.returncode)
        )
        if opening:
            return NoAudioDeviceError(
                _(
                    "Could not open a sound device for live audio ({reason}): plug in and "
                    "switch on the amplifier or sound card, check the sound settings, then "
                    "run loa doctor."
                ).format(reason=detail)
            )
        return NoAudioDeviceError(
            _(
                "The sound device stopped in the middle of live audio ({reason}): check the "
                "sound card and the amplifier, then run loa doctor."
            ).format(reason=detail)
        )


def _start_writer(rate: int, channels: int, start_at: float | None) -> "subprocess.Popen[bytes]":
    """The child, in a process group of its own (a Ctrl-C at the terminal is Loa's to handle);
    it asks the kernel to kill it when this thread ends, even by kill -9 of Loa: the stream is
    played from the thread that started it, which waits for it."""
    command = [
        sys.executable,
        "-I",
        "-S",
        str(WRITER),
        str(rate),
        str(channels),
        str(DEVICE_LATENCY_MS),
        repr(start_at or 0.0),
        str(os.getpid()),
    ]
    return subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
        process_group=0,
    )


def _write_all(pipe: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(pipe, view) :]


def _kill(child: "subprocess.Popen[bytes]") -> None:
    if child.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
    child.wait()
