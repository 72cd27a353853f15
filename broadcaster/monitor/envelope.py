"""Envelopes: sound as 50 ms frames of energy on one grid of wall-clock time.

What was sent and what was heard are both kept as frames, not samples, so that hours of a relay
fit in a few megabytes and the two can be compared frame by frame: frame `k` covers
[k·FRAME_S, (k+1)·FRAME_S) of time.time(), whoever wrote it. A frame keeps the sum of its
squared samples and their count (a chunk boundary inside a frame adds up exactly) and its peak.
Pure: no clock, threads or files.
"""

import math
from dataclasses import dataclass

import numpy as np

FRAME_S = 0.05
SILENT_DB = -100.0
"""The level of digital silence (and the floor of every level)."""


def frame_of(t: float) -> int:
    """The frame that holds time `t`."""
    return math.floor(t / FRAME_S)


@dataclass(frozen=True)
class Frames:
    """A stretch of an envelope, frames `first`, `first`+1, …: copies, safe to keep."""

    first: int
    energy: np.ndarray
    count: np.ndarray
    """Samples in each frame; 0 where nothing was written (not sent, or not captured)."""
    peak: np.ndarray

    def __len__(self) -> int:
        return len(self.count)

    @property
    def covered(self) -> np.ndarray:
        return self.count > 0

    def levels_db(self) -> np.ndarray:
        """RMS level of each frame in dBFS (SILENT_DB at least); NaN where nothing was written."""
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = self.energy / self.count
            levels = 10 * np.log10(np.maximum(mean, 10 ** (SILENT_DB / 10)))
        return np.where(self.covered, levels, np.nan)


class Envelope:
    """The last `capacity` frames of a sound, in a ring: older frames are forgotten as newer
    ones are written."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._energy = np.zeros(capacity, dtype=np.float32)  # 12 bytes a frame in all
        self._count = np.zeros(capacity, dtype=np.int32)
        self._peak = np.zeros(capacity, dtype=np.float32)
        self.newest: int | None = None
        """The latest frame written (or cleared up to)."""

    def add(self, samples: np.ndarray, rate: int, start: float) -> None:
        """Samples (mono, -1..1) whose first one is at `start`, `rate` a second."""
        if len(samples) == 0:
            return
        position = start / FRAME_S
        first = math.floor(position)
        phase = round(position - first, 6)  # a start on a frame's edge stays on it
        offsets = np.floor(phase + np.arange(len(samples)) / (rate * FRAME_S)).astype(np.int64)
        last = first + int(offsets[-1])
        self._reach(last)
        assert self.newest is not None
        oldest = self.newest - self.capacity + 1
        if last < oldest:
            return
        squares = samples.astype(np.float64) ** 2
        energy = np.bincount(offsets, weights=squares)
        count = np.bincount(offsets)
        starts = np.flatnonzero(np.diff(offsets, prepend=-1))
        peaks = np.maximum.reduceat(np.abs(samples), starts)
        held = np.arange(first, last + 1)  # consecutive: every frame holds samples
        keep = held >= oldest
        slots = held[keep] % self.capacity
        self._energy[slots] += energy[keep]
        self._count[slots] += count[keep]
        self._peak[slots] = np.maximum(self._peak[slots], peaks[keep])

    def withdraw(self, after: int) -> None:
        """Forget what was written for frames after `after` (what was sent but will not play)."""
        if self.newest is None or after >= self.newest:
            return
        self._clear(max(after + 1, self.newest - self.capacity + 1), self.newest)
        self.newest = after

    def frames(self, first: int, end: int) -> Frames:
        """Frames first … end-1; those not held (too old, not yet written) have count 0."""
        size = max(0, end - first)
        energy, count, peak = np.zeros(size), np.zeros(size, dtype=np.int64), np.zeros(size)
        if self.newest is not None and size:
            lo = max(first, self.newest - self.capacity + 1)
            hi = min(end, self.newest + 1)
            if lo < hi:
                slots = np.arange(lo, hi) % self.capacity
                energy[lo - first : hi - first] = self._energy[slots]
                count[lo - first : hi - first] = self._count[slots]
                peak[lo - first : hi - first] = self._peak[slots]
        return Frames(first, energy, count, peak)

    def _reach(self, frame: int) -> None:
        """Make room up to `frame`: the slots it reuses are cleared of what they held."""
        if self.newest is not None and frame > self.newest:
            self._clear(max(self.newest + 1, frame - self.capacity + 1), frame)
        self.newest = frame if self.newest is None else max(self.newest, frame)

    def _clear(self, first: int, last: int) -> None:
        slots = np.arange(first, last + 1) % self.capacity
        self._energy[slots] = 0
        self._count[slots] = 0
        self._peak[slots] = 0
