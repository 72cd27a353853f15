"""The live edge of a stream: a bounded buffer of PCM between the ffmpeg reader and the player.

Positions are absolute byte counts since the relay began, so the player's read position can be
moved by the clock (a pre-emption resumes at the live point, not where it left) and the writer
never waits: what falls out of the bound is the oldest audio. Latency stays constant over hours
because the player's position is pulled forward whenever audio has been waiting longer than the
stream's own bursts explain (a source clock slightly fast), and silence fills in when it runs
dry (slightly slow): drift is absorbed at the edge.
"""

import collections
import threading
import time
from collections.abc import Callable

CAPACITY_S = 30.0
"""Enough for an HLS stream's bursts (segments of up to 10 s arrive at once) with room to spare."""
CUSHION_S = 0.5
"""What the player keeps in hand once the level settles: a writer (ffmpeg, or Loa's reader
thread) held up by a busy PC for up to this long is not heard."""
SLACK_S = 0.5
"""Audio waiting longer than the cushion plus this, all through a window, is dropped."""
WINDOW_S = 10.0
STEADY_WINDOW_S = 2.0
"""The window before a relay's slot, for a stream that comes at the pace of the clock (Icecast,
the line-in): the burst of a new connection is trimmed before the first sample is heard, not
seconds into the slot. HLS keeps the long window: its segments come in bursts."""


class LiveBuffer:
    def __init__(
        self,
        bytes_per_second: int,
        frame_bytes: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clock = clock
        self.bytes_per_second = bytes_per_second
        self.frame_bytes = frame_bytes
        self.capacity = self._frames(CAPACITY_S)
        self._data = bytearray(self.capacity)
        self._lock = threading.Lock()
        self.written = 0
        """Bytes ever written: the live edge."""
        self.read_at = 0
        """The player's position; never ahead of `written`, never behind it by over capacity."""
        self.last_write = 0.0
        """self.clock() of the last write, 0 before any."""
        self.dropped = 0
        """Bytes skipped to keep the latency (drift, bursts, catching up after a pause)."""
        self.filled = 0
        """Bytes of silence handed out because nothing had arrived (jitter, slow clock)."""
        self._levels: collections.deque[tuple[float, int]] = collections.deque()

    def _frames(self, seconds: float) -> int:
        frames = int(seconds * self.bytes_per_second) // self.frame_bytes
        return frames * self.frame_bytes

    def write(self, data: bytes) -> None:
        with self._lock:
            data = data[-self.capacity :]
            start = self.written % self.capacity
            first = min(len(data), self.capacity - start)
            self._data[start : start + first] = data[:first]
            self._data[: len(data) - first] = data[first:]
            self.written += len(data)
            oldest = self.written - self.capacity
            if self.read_at < oldest:
                self.dropped += oldest - self.read_at
                self.read_at = oldest
            self.last_write = self.clock()

    def level(self) -> int:
        with self._lock:
            return self.written - self.read_at

    def level_s(self) -> float:
        return self.level() / self.bytes_per_second

    def read(self, size: int) -> tuple[bytes, int]:
        """Up to `size` bytes from the player's position, and how many were real audio (the rest
        is silence added at the edge)."""
        with self._lock:
            real = min(size, self.written - self.read_at)
            start = self.read_at % self.capacity
            first = min(real, self.capacity - start)
            data = bytes(self._data[start : start + first]) + bytes(self._data[: real - first])
            self.read_at += real
            self.filled += size - real
            self._note_level()
            return data + bytes(size - real), real

    def skip(self, size: int) -> None:
        """Move the player on by `size` bytes (at most to the live edge): audio the clock says
        has gone by while nobody listened."""
        with self._lock:
            moved = min(self._frame_floor(size), self.written - self.read_at)
            self.read_at += moved
            self.dropped += moved
            self._note_level()

    def settle(
        self, cushion_s: float = CUSHION_S, window_s: float = WINDOW_S, slack_s: float = SLACK_S
    ) -> None:
        """Drop what has waited all through the window beyond the cushion and slack."""
        with self._lock:
            self._note_level()
            now = self.clock()
            if not self._levels or now - self._levels[0][0] < window_s * 0.9:
                return
            lowest = min(level for at, level in self._levels if at >= now - window_s)
            excess = lowest - self._frames(cushion_s)
            if excess > self._frames(slack_s):
                excess = self._frame_floor(excess)
                self.read_at += excess
                self.dropped += excess
                self._levels.clear()

    def _note_level(self) -> None:
        now = self.clock()
        self._levels.append((now, self.written - self.read_at))
        while self._levels and now - self._levels[0][0] > WINDOW_S:
            self._levels.popleft()

    def _frame_floor(self, size: int) -> int:
        return max(0, size) // self.frame_bytes * self.frame_bytes
