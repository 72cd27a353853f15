"""Loudness as listeners hear it (ITU-R BS.1770-4) and a true-peak limiter.

Every part of a broadcast is brought to the same integrated loudness, so a chime never jumps out
of the speech around it, and no sample — between samples included (true peak, looked for at
192 kHz or more) — passes the ceiling, so the amplifier never clips.
"""

import math

import numpy as np
from scipy import ndimage, signal

LUFS_OFFSET_DB = -0.691
"""BS.1770's offset from the K-weighted mean square (in dB) to LUFS."""
ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
BLOCK_S = 0.4
STEP_S = 0.1
TRUE_PEAK_RATE = 192_000
"""Oversample to at least this rate to find the peaks between samples (4x at 48 kHz, as
BS.1770 asks; more at the low rates a small amplifier may use)."""
LOOKAHEAD_S = 0.005
"""The limiter starts pulling back this long before a peak, so its gain never jumps."""


def _k_weighting(rate: int) -> np.ndarray:
    """The two BS.1770 pre-filters (high shelf, then high pass) as second-order sections,
    designed for any sample rate from their analogue parameters."""
    sections = []
    for gain_db, q, centre, kind in (
        (3.99984385397, 0.7071752369554193, 1681.9744509555319, "shelf"),
        (0.0, 0.5003270373253953, 38.13547087613982, "highpass"),
    ):
        a_gain = 10 ** (gain_db / 40)
        w0 = 2 * math.pi * centre / rate
        alpha = math.sin(w0) / (2 * q)
        cos_w0 = math.cos(w0)
        if kind == "shelf":
            root = 2 * math.sqrt(a_gain) * alpha
            b = [
                a_gain * ((a_gain + 1) + (a_gain - 1) * cos_w0 + root),
                -2 * a_gain * ((a_gain - 1) + (a_gain + 1) * cos_w0),
                a_gain * ((a_gain + 1) + (a_gain - 1) * cos_w0 - root),
            ]
            a = [
                (a_gain + 1) - (a_gain - 1) * cos_w0 + root,
                2 * ((a_gain - 1) - (a_gain + 1) * cos_w0),
                (a_gain + 1) - (a_gain - 1) * cos_w0 - root,
            ]
        else:
            b = [(1 + cos_w0) / 2, -(1 + cos_w0), (1 + cos_w0) / 2]
            a = [1 + alpha, -2 * cos_w0, 1 - alpha]
        sections.append([*(x / a[0] for x in b), 1.0, a[1] / a[0], a[2] / a[0]])
    return np.array(sections)


class LoudnessMeter:
    """Integrated loudness of a stream fed in chunks, in bounded memory: only the mean square
    of each 100 ms step is kept (36,000 numbers for an hour)."""

    def __init__(self, rate: int, channels: int) -> None:
        self.filters = _k_weighting(rate)
        self.state = np.zeros((self.filters.shape[0], 2, channels))
        self.step = int(rate * STEP_S)
        self.pending = np.zeros(0)
        self.steps: list[float] = []

    def add(self, samples: np.ndarray) -> None:
        """Feed float samples shaped (frames, channels); front channels weigh 1."""
        weighted, self.state = signal.sosfilt(self.filters, samples, axis=0, zi=self.state)
        power = np.concatenate([self.pending, np.sum(weighted**2, axis=1)])
        whole = len(power) // self.step * self.step
        self.steps.extend(power[:whole].reshape(-1, self.step).mean(axis=1))
        self.pending = power[whole:]

    def integrated(self) -> float | None:
        """Gated loudness in LUFS, or None for silence or less than one 400 ms block."""
        width = round(BLOCK_S / STEP_S)
        if len(self.steps) < width:
            return None
        blocks = np.convolve(np.array(self.steps), np.ones(width) / width, mode="valid")
        loud = blocks[_lufs(blocks) > ABSOLUTE_GATE_LUFS]
        if len(loud) == 0:
            return None
        relative_gate = _lufs(np.array([loud.mean()]))[0] + RELATIVE_GATE_LU
        gated = loud[_lufs(loud) > relative_gate]
        return float(_lufs(np.array([gated.mean()]))[0])


def limit(samples: np.ndarray, rate: int, ceiling: float) -> np.ndarray:
    """Pull the gain down smoothly around every true peak above `ceiling`, and only there."""
    factor = _oversampling(rate)
    oversampled = np.abs(signal.resample_poly(samples, factor, 1, axis=0))
    peaks = oversampled.max(axis=1)[: len(samples) * factor]
    per_sample = peaks.reshape(-1, factor).max(axis=1) if len(peaks) else peaks
    needed = np.minimum(1.0, ceiling / np.maximum(per_sample, 1e-12))
    if needed.min() >= 1.0:
        return samples
    width = max(1, int(rate * LOOKAHEAD_S))
    held = ndimage.minimum_filter1d(needed, size=2 * width + 1, mode="nearest")
    reduction = np.pad(1 - held, (width // 2, width - width // 2), mode="edge")
    smooth = 1 - np.convolve(reduction, np.ones(width + 1) / (width + 1), mode="valid")
    limited: np.ndarray = samples * np.minimum(smooth, needed)[:, np.newaxis]
    return limited


def _oversampling(rate: int) -> int:
    return max(4, math.ceil(TRUE_PEAK_RATE / rate))


def _lufs(mean_square: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        loudness: np.ndarray = LUFS_OFFSET_DB + 10 * np.log10(mean_square)
    return loudness
