"""Envelopes: frames on the wall clock's 50 ms grid, whoever writes them and however cut."""

import math

import numpy as np
import pytest

from broadcaster.monitor.envelope import FRAME_S, SILENT_DB, Envelope, frame_of

RATE = 8000
T0 = 1_800_000_000.0  # a frame boundary: 36_000_000_000 frames


def sine(seconds: float, amplitude: float) -> np.ndarray:
    return amplitude * np.sin(2 * np.pi * 1000 * np.arange(round(seconds * RATE)) / RATE)


def test_a_sine_has_its_rms_level_in_every_frame() -> None:
    envelope = Envelope(100)
    envelope.add(sine(1.0, 0.5), RATE, T0)
    frames = envelope.frames(frame_of(T0), frame_of(T0) + 20)
    assert frames.levels_db() == pytest.approx(np.full(20, 20 * math.log10(0.5 / math.sqrt(2))))
    assert frames.peak == pytest.approx(np.full(20, 0.5), abs=0.001)


def test_chunks_cut_anywhere_add_up_to_the_same_frames() -> None:
    whole, pieces = Envelope(100), Envelope(100)
    sound = sine(1.0, 0.3) * np.linspace(0, 1, RATE)
    start = T0 + 0.0131
    whole.add(sound, RATE, start)
    for at in (0, 123, 1000, 4321, 7999):
        end = {0: 123, 123: 1000, 1000: 4321, 4321: 7999, 7999: RATE}[at]
        pieces.add(sound[at:end], RATE, start + at / RATE)
    first = frame_of(start)
    a, b = whole.frames(first, first + 21), pieces.frames(first, first + 21)
    assert np.array_equal(a.count, b.count)
    assert a.energy == pytest.approx(b.energy)
    assert a.count[0] == math.ceil((FRAME_S - 0.0131) * RATE) and a.count.sum() == RATE


def test_frames_nobody_wrote_are_not_silence_but_unknown() -> None:
    envelope = Envelope(100)
    envelope.add(np.zeros(RATE // 2), RATE, T0)
    levels = envelope.frames(frame_of(T0) - 5, frame_of(T0) + 15).levels_db()
    assert np.isnan(levels[:5]).all() and np.isnan(levels[15:]).all()
    assert (levels[5:15] == SILENT_DB).all()


def test_the_ring_forgets_what_is_older_than_its_capacity() -> None:
    envelope = Envelope(40)  # two seconds
    envelope.add(sine(1.0, 0.5), RATE, T0)
    envelope.add(sine(1.0, 0.1), RATE, T0 + 2.0)
    first = frame_of(T0)
    counts = envelope.frames(first, first + 60).count
    assert (counts[:20] == 0).all()  # overwritten by the newest two seconds
    assert (counts[40:] == RATE * FRAME_S).all()
    envelope.add(sine(0.5, 0.5), RATE, T0)  # too old to keep now
    assert (envelope.frames(first, first + 20).count == 0).all()


def test_withdrawn_frames_are_forgotten_and_can_be_written_again() -> None:
    envelope = Envelope(100)
    envelope.add(sine(2.0, 0.5), RATE, T0)
    first = frame_of(T0)
    envelope.withdraw(first + 9)
    counts = envelope.frames(first, first + 40).count
    assert (counts[:10] > 0).all() and (counts[10:] == 0).all()
    envelope.add(sine(0.5, 0.5), RATE, T0 + 1.0)
    assert (envelope.frames(first + 20, first + 30).count > 0).all()
