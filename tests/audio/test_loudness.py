"""Loa's loudness meter and true-peak limiter, checked against ffmpeg's ebur128 filter."""

import wave
from pathlib import Path

import numpy as np
import pytest

from broadcaster.audio.loudness import LoudnessMeter, limit
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


def measure(samples: np.ndarray, rate: int, chunk: int | None = None) -> float | None:
    meter = LoudnessMeter(rate, samples.shape[1])
    step = chunk or len(samples)
    for start in range(0, len(samples), step):
        meter.add(samples[start : start + step])
    return meter.integrated()


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_the_meter_agrees_with_ffmpeg(source: Path) -> None:
    samples, rate = read_wav(source)
    ours = measure(samples[:, np.newaxis], rate)
    theirs, _ = ffmpeg_loudness(source)
    assert ours is not None and abs(ours - theirs) < 0.3


def test_the_meter_gives_the_same_answer_chunk_by_chunk() -> None:
    samples, rate = read_wav(JINGLES / "attention.wav")
    whole = measure(samples[:, np.newaxis], rate)
    chunked = measure(samples[:, np.newaxis], rate, chunk=1234)
    assert whole is not None and chunked is not None and abs(whole - chunked) < 0.01


def test_stereo_and_other_rates_are_measured_too(tmp_path: Path) -> None:
    rate = 48000
    time = np.arange(rate * 3) / rate
    tone = 0.1 * np.sin(2 * np.pi * 997 * time)
    stereo = np.stack([tone, 0.5 * tone], axis=1)
    ours = measure(stereo, rate)
    theirs, _ = ffmpeg_loudness(write(tmp_path / "tone.wav", stereo, rate))
    assert ours is not None and abs(ours - theirs) < 0.3


def test_silence_and_short_clips_have_no_loudness() -> None:
    assert measure(np.zeros((44100, 1)), 44100) is None
    assert measure(np.full((8000, 1), 0.5), 44100) is None, "shorter than one 400 ms block"


@pytest.mark.parametrize("rate", [8000, 22050, 44100])
def test_the_limiter_holds_true_peaks_at_any_rate(tmp_path: Path, rate: int) -> None:
    rng = np.random.default_rng(7)
    clicks = np.zeros((rate * 2, 1))
    clicks[rng.integers(0, len(clicks), 400)] = rng.choice([-1.0, 1.0], (400, 1))
    limited = limit(clicks, rate, 10 ** (-1.3 / 20))
    _, peak = ffmpeg_loudness(write(tmp_path / "clicks.wav", limited, rate))
    assert peak <= -1.0


def test_the_limiter_leaves_quiet_audio_alone_and_catches_peaks() -> None:
    rate = 44100
    time = np.arange(rate) / rate
    quiet = (0.2 * np.sin(2 * np.pi * 440 * time))[:, np.newaxis]
    assert np.array_equal(limit(quiet, rate, 0.5), quiet)
    loud = quiet.copy()
    loud[rate // 2 : rate // 2 + 50] = 0.95  # a click
    limited = limit(loud, rate, 0.5)
    assert np.max(np.abs(limited)) <= 0.5
    assert np.array_equal(limited[: rate // 4], loud[: rate // 4]), "far from the click: untouched"
