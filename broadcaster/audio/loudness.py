"""Loudness as listeners hear it (ITU-R BS.1770-4) and a true-peak limiter.

Every part of a broadcast is brought to the same integrated loudness, so a chime never jumps out
of the speech around it, and no sample — between samples included (true peak, looked for at
192 kHz or more) — passes the ceiling, so the amplifier never clips.

numpy alone does the signal processing: scipy cost a running station ~75 MB and 1-2 s at start
for three functions (a filter, an oversampler and a running minimum).
"""

import functools
import math

import numpy as np

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
RESPONSE_FLOOR = 1e-12
"""The K-weighting filters are applied as their impulse response, cut where it falls below this
(a fraction of a second): far under what a 16-bit sample can hold."""
OVERSAMPLING_TAPS_PER_PHASE = 20
KAISER_BETA = 5.0
"""The oversampling filter: a Kaiser-windowed sinc, as scipy's resample_poly designs it."""


def _k_weighting(rate: int) -> list[tuple[list[float], list[float]]]:
    """The two BS.1770 pre-filters (high shelf, then high pass) as (b, a) biquads, designed for
    any sample rate from their analogue parameters."""
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
        sections.append(([x / a[0] for x in b], [1.0, a[1] / a[0], a[2] / a[0]]))
    return sections


@functools.lru_cache(maxsize=8)
def _k_weighting_response(rate: int) -> np.ndarray:
    """The impulse response of both K-weighting filters in series, up to where it has died out
    (both are stable, so it decays geometrically)."""
    response = np.zeros(rate // 4)  # it dies out within about 0.11 s at any rate
    response[0] = 1.0
    for b, a in _k_weighting(rate):
        out = np.empty_like(response)
        x1 = x2 = y1 = y2 = 0.0
        for index, x in enumerate(response.tolist()):
            y = b[0] * x + b[1] * x1 + b[2] * x2 - a[1] * y1 - a[2] * y2
            out[index] = y
            x2, x1, y2, y1 = x1, x, y1, y
        response = out
    alive = np.flatnonzero(np.abs(response) > RESPONSE_FLOOR)
    return response[: alive[-1] + 1]


class LoudnessMeter:
    """Integrated loudness of a stream fed in chunks, in bounded memory: only the mean square
    of each 100 ms step is kept (36,000 numbers for an hour)."""

    def __init__(self, rate: int, channels: int) -> None:
        self.response = _k_weighting_response(rate)
        self.tail = np.zeros((len(self.response) - 1, channels))
        """The part of the filtered signal that spills past the chunks fed so far."""
        self.step = int(rate * STEP_S)
        self.pending = np.zeros(0)
        self.steps: list[float] = []

    def add(self, samples: np.ndarray) -> None:
        """Feed float samples shaped (frames, channels); front channels weigh 1."""
        filtered = _convolve(samples, self.response)
        filtered[: len(self.tail)] += self.tail
        weighted, self.tail = filtered[: len(samples)], filtered[len(samples) :]
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


def _convolve(samples: np.ndarray, response: np.ndarray) -> np.ndarray:
    """Each channel of `samples` convolved with `response` (full length), through the FFT."""
    length = len(samples) + len(response) - 1
    size = _fast_fft_size(length)
    spectrum = np.fft.rfft(samples, size, axis=0) * np.fft.rfft(response, size)[:, np.newaxis]
    convolved: np.ndarray = np.fft.irfft(spectrum, size, axis=0)[:length]
    return convolved


def _fast_fft_size(length: int) -> int:
    """The smallest size >= `length` made of the factors 2, 3 and 5, which the FFT is quick at."""
    best = 1 << max(0, (length - 1).bit_length())
    fives = 1
    while fives < best:
        threes = fives
        while threes < best:
            size = threes << max(0, math.ceil(math.log2(length / threes)))
            best = min(best, size)
            threes *= 3
        fives *= 5
    return best


def limit(samples: np.ndarray, rate: int, ceiling: float) -> np.ndarray:
    """Pull the gain down smoothly around every true peak above `ceiling`, and only there."""
    per_sample = true_peaks(samples, rate)
    needed = np.minimum(1.0, ceiling / np.maximum(per_sample, 1e-12))
    if len(needed) == 0 or needed.min() >= 1.0:
        return samples
    width = max(1, int(rate * LOOKAHEAD_S))
    held = _running_minimum(needed, width)
    reduction = np.pad(1 - held, (width // 2, width - width // 2), mode="edge")
    smooth = 1 - np.convolve(reduction, np.ones(width + 1) / (width + 1), mode="valid")
    limited: np.ndarray = samples * np.minimum(smooth, needed)[:, np.newaxis]
    return limited


def true_peaks(samples: np.ndarray, rate: int) -> np.ndarray:
    """For each frame, the highest absolute value over the channels and the oversampled points
    from it up to the next frame."""
    factor = _oversampling(rate)
    phases = _oversampling_phases(factor)
    peaks = np.zeros(len(samples))
    if len(samples) == 0:
        return peaks
    for channel in samples.T:
        for phase, delay in phases:
            points = np.convolve(channel, phase)[delay : delay + len(channel)]
            np.maximum(peaks, np.abs(points), out=peaks)
    return peaks


@functools.lru_cache(maxsize=8)
def _oversampling_phases(factor: int) -> list[tuple[np.ndarray, int]]:
    """The interpolation filter split into one short filter per oversampled point, each with
    the delay that aligns it: the points between frames without building the long signal."""
    half = OVERSAMPLING_TAPS_PER_PHASE // 2 * factor
    taps = np.arange(-half, half + 1)
    design = np.sinc(taps / factor) * np.kaiser(len(taps), KAISER_BETA)
    design *= factor / design.sum()
    phases = []
    for point in range(factor):
        delay, offset = divmod(point + half, factor)
        phases.append((design[offset::factor], delay))
    return phases


def _running_minimum(values: np.ndarray, width: int) -> np.ndarray:
    """The minimum over the `width` values on either side of each (the ends repeat), in linear
    time (van Herk / Gil-Werman)."""
    size = 2 * width + 1
    padded = np.pad(values, (width, width + (-len(values) - 2 * width) % size), mode="edge")
    blocks = padded.reshape(-1, size)
    from_left = np.minimum.accumulate(blocks, axis=1).ravel()
    from_right = np.minimum.accumulate(blocks[:, ::-1], axis=1)[:, ::-1].ravel()
    count = len(values)
    minimum: np.ndarray = np.minimum(from_right[:count], from_left[size - 1 : size - 1 + count])
    return minimum


def _oversampling(rate: int) -> int:
    return max(4, math.ceil(TRUE_PEAK_RATE / rate))


def _lufs(mean_square: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        loudness: np.ndarray = LUFS_OFFSET_DB + 10 * np.log10(mean_square)
    return loudness
