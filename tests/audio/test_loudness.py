"""Loa's loudness meter and normalizer, checked against ffmpeg's ebur128 filter."""

import math
import wave
from pathlib import Path

import numpy as np
import pytest

from broadcaster.audio.loudness import integrated_loudness, limit, normalize, true_peak
from tests.signals import ffmpeg_loudness, read_wav

DATA = Path(__file__).resolve().parent.parent / "data"
JINGLES = Path(__file__).resolve().parents[2] / "broadcaster" / "audio" / "jingles"
SOURCES = [DATA / "xin-chao.wav", JINGLES / "intro.wav", JINGLES / "attention.wav"]


def write(path: Path, samples: np.ndarray, rate: int) -> Path:
    pcm = np.clip(np.round(samples * 32768), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(samples.shape[1])
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    return path


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_the_meter_agrees_with_ffmpeg(source: Path) -> None:
    samples, rate = read_wav(source)
    ours = integrated_loudness(samples[:, np.newaxis], rate)
    theirs, _ = ffmpeg_loudness(source)
    assert abs(ours - theirs) < 0.3


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
@pytest.mark.parametrize("target", [-16.0, -23.0])
def test_normalized_audio_hits_the_target_under_the_ceiling(
    source: Path, target: float, tmp_path: Path
) -> None:
    samples, rate = read_wav(source)
    levelled = normalize(samples[:, np.newaxis], rate, target, -1.5)
    loudness, peak = ffmpeg_loudness(write(tmp_path / "out.wav", levelled, rate))
    assert abs(loudness - target) <= 1.0
    assert peak <= -1.0


def test_stereo_and_other_rates_are_measured_too(tmp_path: Path) -> None:
    rate = 48000
    time = np.arange(rate * 3) / rate
    tone = 0.1 * np.sin(2 * np.pi * 997 * time)
    stereo = np.stack([tone, 0.5 * tone], axis=1)
    ours = integrated_loudness(stereo, rate)
    theirs, _ = ffmpeg_loudness(write(tmp_path / "tone.wav", stereo, rate))
    assert abs(ours - theirs) < 0.3


def test_silence_stays_silence() -> None:
    quiet = np.zeros((44100, 1))
    assert math.isinf(integrated_loudness(quiet, 44100))
    assert np.array_equal(normalize(quiet, 44100, -16, -1), quiet)


def test_the_limiter_leaves_quiet_audio_alone_and_catches_peaks() -> None:
    rate = 44100
    time = np.arange(rate) / rate
    quiet = (0.2 * np.sin(2 * np.pi * 440 * time))[:, np.newaxis]
    assert np.array_equal(limit(quiet, rate, 0.5), quiet)
    loud = quiet.copy()
    loud[rate // 2 : rate // 2 + 50] = 0.95  # a click
    limited = limit(loud, rate, 0.5)
    assert true_peak(limited) <= 0.5 + 1e-6
    assert np.array_equal(limited[: rate // 4], loud[: rate // 4]), "far from the click: untouched"
