"""Playback on the PulseAudio rig: what the sound card really receives at buffer joins."""

import time
from collections.abc import Iterator

import numpy as np
import pytest
from pydub import AudioSegment

from broadcaster.audio import outputs
from broadcaster.audio.outputs import device
from tests.pulse_rig import RATE, PulseRig

JOIN_LIMIT_MS = 50


def tone_chunks(seconds: int) -> list[AudioSegment]:
    """A continuous 440 Hz tone cut into one-second segments (phase carried across cuts)."""
    time = np.arange(RATE * seconds) / RATE
    pcm = (0.3 * np.sin(2 * np.pi * 440 * time) * 32767).astype("<i2")
    return [
        AudioSegment(data=pcm[i : i + RATE].tobytes(), sample_width=2, frame_rate=RATE, channels=1)
        for i in range(0, len(pcm), RATE)
    ]


def slowly_rendered(chunks: list[AudioSegment]) -> Iterator[AudioSegment]:
    """Chunks that take 0.3 s each to come, as real rendering does."""
    for chunk in chunks:
        time.sleep(0.3)
        yield chunk


def test_buffer_joins_add_at_most_50_ms_of_silence(
    pulse: PulseRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in pulse.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(device, "BUFFER_S", 1)  # a join every second instead of every minute
    with pulse.record() as capture:
        outputs.SimpleaudioOutput().play(slowly_rendered(tone_chunks(5)))
    sounding = np.abs(capture.samples) > 0.01
    first, last = np.flatnonzero(sounding)[[0, -1]]
    quiet = ~sounding[first:last]
    edges = np.flatnonzero(np.diff(quiet.astype(int)))
    gaps_ms = [
        (end - start) * 1000 / RATE
        for start, end in zip(edges[::2], edges[1::2], strict=False)
        if (end - start) * 1000 / RATE > 2  # a sine crosses zero every ~1 ms: not a gap
    ]
    assert len(gaps_ms) <= 4, "four joins between five buffers"
    assert all(gap <= JOIN_LIMIT_MS for gap in gaps_ms), gaps_ms
    heard_s = (last - first) / RATE
    assert 5.0 <= heard_s <= 5.0 + 4 * JOIN_LIMIT_MS / 1000


def test_a_rendering_error_stops_playback_and_is_raised(
    pulse: PulseRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in pulse.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(device, "BUFFER_S", 1)

    def failing() -> Iterator[AudioSegment]:
        yield from tone_chunks(1)
        raise ValueError("decoder broke")

    with pytest.raises(ValueError, match="decoder broke"):
        outputs.SimpleaudioOutput().play(failing())
