"""Envelopes written as levels, for the pure parts' tests and the bench."""

import numpy as np

from broadcaster.monitor.envelope import Frames

SAMPLES = 400
"""Samples in a frame (8 kHz): any count gives the same levels."""


def frames(levels_db: np.ndarray | list[float], first: int = 0) -> Frames:
    """Frames of these levels (dBFS); NaN: nothing written."""
    levels = np.asarray(levels_db, dtype=float)
    written = ~np.isnan(levels)
    count = np.where(written, SAMPLES, 0)
    energy = np.where(written, SAMPLES * 10 ** (np.nan_to_num(levels) / 10), 0.0)
    peak = np.where(written, np.sqrt(2) * 10 ** (np.nan_to_num(levels) / 20), 0.0)
    return Frames(first, energy, count, peak)


def speech(frames_count: int, seed: int = 1) -> np.ndarray:
    """Words of 2-10 frames at -25…-12 dBFS between pauses of 2-6 frames of digital silence."""
    rng = np.random.default_rng(seed)
    levels = np.full(frames_count, -100.0)
    at = 0
    while at < frames_count:
        length = int(rng.integers(2, 11))
        levels[at : at + length] = rng.uniform(-25, -12, size=len(levels[at : at + length]))
        at += length + int(rng.integers(2, 7))
    return levels


def delayed(levels: np.ndarray, lag: int, gain_db: float, floor_db: float = -100.0) -> np.ndarray:
    """What a monitor hears `lag` frames later, `gain_db` louder, over its own background."""
    heard = np.full(len(levels) + lag, -100.0)
    heard[lag:] = levels + gain_db
    background = 10 ** (floor_db / 10)
    return 10 * np.log10(10 ** (heard / 10) + background)
