"""Sounds for the monitor's tests: speech-like bursts (a level that comes and goes, as words do),
cut into chunks as the station hands them over, and the monitor's clock as datetimes."""

import time
from collections.abc import Callable, Iterator
from datetime import datetime

import numpy as np
from pydub import AudioSegment

RATE = 44100
CHUNK_S = 0.1


def bursts(seconds: float, seed: int = 16, rate: int = RATE) -> np.ndarray:
    """Tone bursts of 0.1-0.5 s with pauses of 0.1-0.3 s, at about speech's level; it starts
    with a burst."""
    rng = np.random.default_rng(seed)
    level = np.zeros(round(seconds * rate))
    at = 0
    while at < len(level):
        length = round(rng.uniform(0.1, 0.5) * rate)
        level[at : at + length] = rng.uniform(0.2, 0.5)
        at += length + round(rng.uniform(0.1, 0.3) * rate)
    t = np.arange(len(level)) / rate
    return level * np.sin(2 * np.pi * 440 * t)


def chunks(samples: np.ndarray, chunk_s: float = CHUNK_S, rate: int = RATE) -> list[AudioSegment]:
    size = round(chunk_s * rate)
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    return [
        AudioSegment(
            data=pcm[at : at + size].tobytes(), sample_width=2, frame_rate=rate, channels=1
        )
        for at in range(0, len(pcm), size)
    ]


def live(
    pieces: list[AudioSegment], start_at: float, lead_s: float = 0.5
) -> Iterator[AudioSegment]:
    """A live source: each chunk `lead_s` before it is due, paced by the wall clock."""
    due = start_at
    for piece in pieces:
        if (left := due - lead_s - time.time()) > 0:
            time.sleep(left)
        yield piece
        due += len(piece) / 1000


def moment(t: float) -> datetime:
    return datetime.fromtimestamp(t).astimezone()


def wait_for(condition: Callable[[], object], timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return bool(condition())
