"""The relay's loudness, measured faster than real time: five minutes of a quiet and of a loud
source through the leveller block by block, as the relay feeds it."""

from pathlib import Path

import numpy as np
import pytest

from broadcaster.audio.loudness import LoudnessMeter, true_peaks
from broadcaster.relay.level import GainStore, Leveller

RATE = 22050
BLOCK = RATE // 10
TARGET = -16.0


def programme(seconds: float, lufs: float, seed: int = 1) -> np.ndarray:
    """Speech-like sound at `lufs`: noise bursts of varying level, with a pause every 20 s."""
    generator = np.random.default_rng(seed)
    frames = int(seconds * RATE)
    noise = generator.standard_normal(frames)
    syllables = 0.6 + 0.4 * np.sin(2 * np.pi * 3.0 * np.arange(frames) / RATE) ** 2
    phrases = np.repeat(generator.uniform(0.5, 1.0, frames // RATE + 1), RATE)[:frames]
    signal = noise * syllables * phrases
    t = np.arange(frames) / RATE
    signal[(t % 20) > 18.5] = 0.0
    meter = LoudnessMeter(RATE, 1)
    meter.add(signal[:, np.newaxis])
    measured = meter.integrated()
    assert measured is not None
    scaled = signal * 10 ** ((lufs - measured) / 20)
    return np.clip(scaled, -1.0, 1.0)[:, np.newaxis]


def relay_through(leveller: Leveller, samples: np.ndarray) -> np.ndarray:
    out = [leveller.process(samples[at : at + BLOCK]) for at in range(0, len(samples), BLOCK)]
    out.append(leveller.flush())
    return np.concatenate(out)


def integrated(samples: np.ndarray) -> float:
    meter = LoudnessMeter(RATE, samples.shape[1])
    meter.add(samples)
    value = meter.integrated()
    assert value is not None
    return value


@pytest.mark.parametrize("source_lufs", [-30.0, -8.0])
def test_quiet_and_loud_sources_come_out_at_the_target_over_five_minutes(source_lufs: float):
    source = programme(300, source_lufs)
    leveller = Leveller(RATE, 1, TARGET, -1.0, remembered_gain_db=None)
    out = relay_through(leveller, source)
    assert len(out) == len(source)
    assert abs(integrated(out) - TARGET) <= 1.0
    assert 20 * np.log10(true_peaks(out, RATE).max()) <= -1.0 + 0.05
    assert leveller.gain_to_remember() == pytest.approx(TARGET - source_lufs, abs=1.0)


def test_a_remembered_gain_is_where_the_agc_starts_and_it_moves_at_most_6_db_from_it():
    source = programme(120, -30.0)
    leveller = Leveller(RATE, 1, TARGET, -1.0, remembered_gain_db=0.0)
    out = relay_through(leveller, source)
    assert leveller.gain_db == pytest.approx(6.0, abs=0.01)
    assert abs(integrated(out) - (-24.0)) <= 1.0


def test_the_gain_holds_through_a_pause_instead_of_pulling_up_the_hiss():
    speech = programme(30, -20.0)
    hiss = np.random.default_rng(2).standard_normal((RATE * 20, 1)) * 10 ** (-60 / 20)
    leveller = Leveller(RATE, 1, TARGET, -1.0, remembered_gain_db=4.0)
    relay_through(leveller, speech)
    before_pause = leveller.gain_db
    relay_through(leveller, hiss)
    assert leveller.gain_db == pytest.approx(before_pause, abs=0.5)


def test_gains_are_remembered_per_source_and_a_damaged_file_is_none(tmp_path: Path):
    store = GainStore(tmp_path / ".loa" / "relay-gains.json")
    assert store.get("vov1") is None
    store.put("vov1", 7.25)
    store.put("fm90", -3.0)
    assert GainStore(store.path).get("vov1") == 7.25
    assert GainStore(store.path).get("fm90") == -3.0
    store.path.write_text("{not json", encoding="utf-8")
    assert store.get("vov1") is None
    store.put("vov1", 1.0)
    assert store.get("vov1") == 1.0
