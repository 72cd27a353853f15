"""Relayed audio at the station's loudness: a remembered gain per source, a slow AGC around it,
and the true-peak limiter.

A fixed gain from the first seconds is fragile (a slot often opens with a signature tune), and a
fast AGC pumps speech and music alike; so each source starts at the gain its last relays needed,
and a slow short-term AGC (3 s window, at most 1 dB/s up) steers toward the target within ±6 dB of
it, holding still through pauses so that silence is never pulled up into hiss. Nothing resets on
stream metadata (Liquidsoap's `normalize` does, on every ICY title). The limiter sees one block
ahead, so the relay's audio is 100 ms later than what ffmpeg gives.
"""

import contextlib
import json
import math
from collections import deque
from pathlib import Path

import numpy as np

from broadcaster.audio.loudness import LUFS_OFFSET_DB, LoudnessMeter, limit
from broadcaster.files import write_atomically

SHORT_TERM_S = 3.0
STEP_S = 0.1
PAUSE_LUFS = -40.0
"""Short-term or momentary (400 ms) loudness under this is a pause: the gain holds, from the
pause's first moments (the 3 s window alone would keep pulling up while it empties)."""
MOMENTARY_STEPS = 4
RANGE_DB = 6.0
"""How far the AGC may move from the source's remembered gain."""
UP_DB_PER_S = 1.0
DOWN_DB_PER_S = 3.0
"""Down faster than up: a source that jumps louder is tamed before listeners wince."""
MAX_GAIN_DB = 30.0
LIMITER_CONTEXT_S = 0.02
"""What the limiter sees on each side of a block, so it pulls back before a peak across an edge."""
PEAK_MARGIN_DB = 0.3
"""Headroom under the ceiling for rounding to 16-bit samples after limiting."""
FIRST_MEASURE_S = 1.0
"""Without a remembered gain, the gain jumps to the first measure taken over this much sound."""
REMEMBER_AFTER_S = 30.0
"""A relay shorter than this (of sound, pauses left out) teaches nothing about its source."""


class Leveller:
    """Float blocks (frames, channels) in, the same blocks levelled and limited out, one block
    late (the limiter's look-ahead). Pure: no clock, no files; tested faster than real time."""

    def __init__(
        self,
        rate: int,
        channels: int,
        target_lufs: float,
        ceiling_dbtp: float,
        remembered_gain_db: float | None,
    ) -> None:
        self.rate = rate
        self.channels = channels
        self.target = target_lufs
        self.ceiling = 10 ** ((ceiling_dbtp - PEAK_MARGIN_DB) / 20)
        self.remembered = remembered_gain_db
        self.gain_db = remembered_gain_db if remembered_gain_db is not None else 0.0
        self._measured = False
        self._meter = LoudnessMeter(rate, channels)
        """Of the source as it comes (before the gain): what its gain should be next time."""
        self._steps: deque[float] = deque(maxlen=round(SHORT_TERM_S / STEP_S))
        self._loud_steps = 0
        self._power_sum = 0.0
        self._pending: np.ndarray | None = None
        self._before = np.zeros((0, channels))

    def process(self, block: np.ndarray) -> np.ndarray:
        """The previous block, levelled and limited (an empty block the first time)."""
        start_gain = self.gain_db
        self._measure(block)
        gains = np.linspace(start_gain, self.gain_db, len(block), endpoint=False)
        scaled = block * (10 ** (gains / 20))[:, np.newaxis]
        return self._limited(scaled)

    def flush(self) -> np.ndarray:
        """The block held for look-ahead: at the end, or before a gap in the stream."""
        return self._limited(None)

    def _limited(self, following: np.ndarray | None) -> np.ndarray:
        pending, self._pending = self._pending, following
        if pending is None:
            return np.zeros((0, self.channels))
        look_ahead = int(self.rate * LIMITER_CONTEXT_S)
        after = following[:look_ahead] if following is not None else pending[:0]
        context = np.concatenate([self._before, pending, after])
        limited = limit(context, self.rate, self.ceiling)
        out: np.ndarray = limited[len(self._before) : len(self._before) + len(pending)]
        self._before = pending[-look_ahead:]
        return out

    def _measure(self, block: np.ndarray) -> None:
        self._meter.add(block)
        new_steps, self._meter.steps = self._meter.steps, []
        for power in new_steps:
            self._steps.append(power)
            short_term = _lufs(float(np.mean(self._steps)))
            momentary = _lufs(float(np.mean(list(self._steps)[-MOMENTARY_STEPS:])))
            if min(short_term, momentary) < PAUSE_LUFS:
                continue
            self._loud_steps += 1
            self._power_sum += power
            wanted = self.target - short_term
            if self.remembered is None and not self._measured:
                so_far = self.source_loudness()
                if so_far is not None and self._loud_steps * STEP_S >= FIRST_MEASURE_S:
                    # the sound alone: the 3 s window still holds the quiet before it
                    self.gain_db = _clamp(self.target - so_far, -MAX_GAIN_DB, MAX_GAIN_DB)
                    self._measured = True
                continue
            centre = self._centre()
            wanted = _clamp(wanted, centre - RANGE_DB, centre + RANGE_DB)
            change = _clamp(wanted - self.gain_db, -DOWN_DB_PER_S * STEP_S, UP_DB_PER_S * STEP_S)
            self.gain_db += change

    def _centre(self) -> float:
        """The remembered gain, or (for a new source) what its sound so far asks for."""
        if self.remembered is not None:
            return self.remembered
        so_far = self.source_loudness()
        return (
            self.gain_db
            if so_far is None
            else _clamp(self.target - so_far, -MAX_GAIN_DB, MAX_GAIN_DB)
        )

    def source_loudness(self) -> float | None:
        """The integrated loudness of the source (pauses out), as it came, or None if unknown."""
        if self._loud_steps == 0:
            return None
        return _lufs(self._power_sum / self._loud_steps)

    def gain_to_remember(self) -> float | None:
        """The gain that brought this relay's source to the target, worth keeping for the next
        relay of it; None after too little sound to tell."""
        loudness = self.source_loudness()
        if loudness is None or self._loud_steps * STEP_S < REMEMBER_AFTER_S:
            return None
        return _clamp(self.target - loudness, -MAX_GAIN_DB, MAX_GAIN_DB)


class GainStore:
    """Each source's gain (dB) between relays, in one small JSON file of the station's `.loa/`.
    A damaged or unreadable file is as good as none: the AGC finds the gain again."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def get(self, source: str) -> float | None:
        value = self._read().get(source)
        return float(value) if isinstance(value, int | float) and math.isfinite(value) else None

    def put(self, source: str, gain_db: float) -> None:
        gains = self._read()
        gains[source] = round(gain_db, 2)
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(self.path, json.dumps(gains, indent=1, sort_keys=True).encode())

    def _read(self) -> dict[str, object]:
        try:
            value = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return value if isinstance(value, dict) else {}


def _lufs(mean_square: float) -> float:
    return LUFS_OFFSET_DB + 10 * math.log10(max(mean_square, 1e-20))


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))
