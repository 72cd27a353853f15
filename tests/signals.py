"""Small signal measurements for checking what was actually heard."""

import re
import subprocess
import wave
from pathlib import Path

import numpy as np


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Mono float samples in -1..1 and the sample rate of a 16-bit WAV file."""
    with wave.open(str(path)) as wav:
        frames = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.float64)
        channels, rate = wav.getnchannels(), wav.getframerate()
    return frames.reshape(-1, channels).mean(axis=1) / 32768, rate


def locate(signal: np.ndarray, template: np.ndarray) -> tuple[int, float]:
    """Where `template` best matches inside `signal` and how well (normalized correlation, ≤ 1).

    Level-independent, so a jingle is found whatever gain the program gave it.
    """
    if len(signal) < len(template):
        return 0, 0.0
    scores = _match_scores(signal, template)
    best = int(np.argmax(scores))
    return best, float(scores[best])


def locate_all(signal: np.ndarray, template: np.ndarray, threshold: float = 0.9) -> list[int]:
    """Every place `template` is heard inside `signal` (normalized correlation ≥ threshold), in
    order; matches closer than the template's length count once."""
    if len(signal) < len(template):
        return []
    scores = _match_scores(signal, template)
    found: list[int] = []
    for index in np.argsort(scores)[::-1]:
        if scores[index] < threshold:
            break
        if all(abs(int(index) - other) >= len(template) for other in found):
            found.append(int(index))
    return sorted(found)


def _match_scores(signal: np.ndarray, template: np.ndarray) -> np.ndarray:
    size = 1 << (len(signal) + len(template)).bit_length()
    correlation = np.fft.irfft(
        np.fft.rfft(signal, size) * np.conj(np.fft.rfft(template, size)), size
    )[: len(signal) - len(template) + 1]
    energy = np.concatenate(([0.0], np.cumsum(signal**2)))
    window = np.sqrt(np.maximum(energy[len(template) :] - energy[: -len(template)], 0.0))
    return correlation / (np.linalg.norm(template) * window + 1e-9)


def window_levels_dbfs(samples: np.ndarray, rate: int, window_s: float = 0.05) -> np.ndarray:
    """RMS level of consecutive windows, in dBFS."""
    size = int(rate * window_s)
    count = len(samples) // size
    windows = samples[: count * size].reshape(count, size)
    rms = np.sqrt(np.mean(windows**2, axis=1))
    return 20 * np.log10(np.maximum(rms, 1e-10))


def ffmpeg_loudness(path: Path) -> tuple[float, float]:
    """Integrated loudness (LUFS) and true peak (dBTP) of a file, as ffmpeg's ebur128 measures
    them: an independent check of Loa's own meter."""
    result = subprocess.run(
        [
            "ffmpeg",
            "-nostats",
            "-hide_banner",
            "-i",
            str(path),
            "-af",
            "ebur128=peak=true",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    integrated = re.findall(r"^\s+I:\s+(-?[\d.]+|-inf) LUFS", result.stderr, re.MULTILINE)
    peak = re.findall(r"^\s+Peak:\s+(-?[\d.]+|-inf) dBFS", result.stderr, re.MULTILINE)
    return float(integrated[-1]), float(peak[-1])
