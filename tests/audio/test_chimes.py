"""The bundled jingles: the committed WAVs are what the code makes, and they sound as intended."""

import array
import itertools
import math
import pathlib
import sys
import wave

import pytest

from broadcaster.audio import chimes

COMMITTED = pathlib.Path(__file__).resolve().parents[2] / "broadcaster" / "audio" / "jingles"
RATE = 44100
FULL_SCALE = 32768
WINDOW_S = 0.05
CANDIDATES_HZ = [200.0 * math.pow(2.0, k / 24) for k in range(80)]
"""Quarter tones from 200 Hz to about 2000 Hz: where a loudspeaker chime's fundamental lies."""


@pytest.fixture(scope="module")
def jingles() -> dict[str, list[int]]:
    """The committed samples, read once: the analyses below are slow in pure Python."""
    samples = {}
    for name in ("intro", "outro", "attention"):
        with wave.open(str(COMMITTED / f"{name}.wav"), "rb") as wav:
            frames = array.array("h", wav.readframes(wav.getnframes()))
        if sys.byteorder == "big":
            frames.byteswap()
        samples[name] = frames.tolist()
    return samples


def _dbfs(level: float) -> float:
    return 20.0 * math.log10(level / FULL_SCALE)


def _dominant_hz(samples: list[int], start: int) -> float:
    """The candidate with the most energy in a Hann window from `start` (Goertzel, stdlib)."""
    n = round(WINDOW_S * RATE)
    window = [
        samples[start + i] * (0.5 - 0.5 * math.cos(2.0 * math.pi * i / (n - 1))) for i in range(n)
    ]

    def power(hz: float) -> float:
        coefficient = 2.0 * math.cos(2.0 * math.pi * hz / RATE)
        s1 = s2 = 0.0
        for x in window:
            s1, s2 = x + coefficient * s1 - s2, s1
        return s1 * s1 + s2 * s2 - coefficient * s1 * s2

    return max(CANDIDATES_HZ, key=power)


def _audible(samples: list[int]) -> tuple[int, int]:
    """First and last sample louder than 5 % of the peak."""
    threshold = 0.05 * max(abs(x) for x in samples)
    loud = [i for i, x in enumerate(samples) if abs(x) > threshold]
    return loud[0], loud[-1]


def _first_and_last_note_hz(samples: list[int]) -> tuple[float, float]:
    start, end = _audible(samples)
    return (
        _dominant_hz(samples, start + round(0.02 * RATE)),
        _dominant_hz(samples, end - round(WINDOW_S * RATE)),
    )


def _pitch_track(samples: list[int]) -> list[float]:
    start, end = _audible(samples)
    step = round(WINDOW_S * RATE)
    return [_dominant_hz(samples, i) for i in range(start, end - step, step)]


def _is_hi_lo(track: list[float], low: float = 700.0, high: float = 950.0) -> bool:
    """Nearly every window is at one of the two tones, and they alternate several times."""
    near = [
        "low" if abs(hz / low - 1) < 0.03 else "high" if abs(hz / high - 1) < 0.03 else None
        for hz in track
    ]
    switches = sum(1 for a, b in itertools.pairwise(near) if a and b and a != b)
    return near.count(None) <= 0.1 * len(near) and switches >= 6


def test_main_regenerates_the_committed_files_byte_for_byte(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "argv", ["chimes", str(tmp_path / "out")])
    chimes.main()
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == ["attention.wav", "intro.wav", "outro.wav"]  # and no temporary file left
    for name in chimes.JINGLE_NAMES:
        assert (tmp_path / "out" / f"{name}.wav").read_bytes() == (
            COMMITTED / f"{name}.wav"
        ).read_bytes(), f"{name}.wav is stale: run python -m broadcaster.audio.chimes"


def test_unknown_name_is_refused_and_writes_nothing(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ValueError, match="siren"):
        chimes.synthesize("siren")
    with pytest.raises(ValueError):
        chimes.write_wav("siren", tmp_path / "siren.wav")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "shortest", "longest"),
    [("intro", 2.5, 3.5), ("outro", 2.5, 3.5), ("attention", 3.5, 4.5)],
)
def test_format_and_duration(name: str, shortest: float, longest: float) -> None:
    with wave.open(str(COMMITTED / f"{name}.wav"), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, RATE)
        assert shortest <= wav.getnframes() / RATE <= longest


@pytest.mark.parametrize("name", ["intro", "outro", "attention"])
def test_peak_has_headroom_without_being_quiet(jingles: dict[str, list[int]], name: str) -> None:
    assert -6.0 <= _dbfs(max(abs(x) for x in jingles[name])) <= -1.0


@pytest.mark.parametrize("name", ["intro", "outro", "attention"])
def test_ends_are_near_silent_so_joins_do_not_click(
    jingles: dict[str, list[int]], name: str
) -> None:
    edge = round(0.005 * RATE)
    samples = jingles[name]
    assert max(abs(x) for x in samples[:edge]) <= FULL_SCALE * 10 ** (-60 / 20)
    assert max(abs(x) for x in samples[-edge:]) <= FULL_SCALE * 10 ** (-60 / 20)


def test_intro_rises_by_about_an_octave(jingles: dict[str, list[int]]) -> None:
    first, last = _first_and_last_note_hz(jingles["intro"])
    assert last / first > 1.4


def test_outro_falls_by_about_an_octave(jingles: dict[str, list[int]]) -> None:
    first, last = _first_and_last_note_hz(jingles["outro"])
    assert first / last > 1.4


def test_attention_alternates_two_tones_unlike_the_chimes(jingles: dict[str, list[int]]) -> None:
    assert _is_hi_lo(_pitch_track(jingles["attention"]))
    assert not _is_hi_lo(_pitch_track(jingles["intro"]))
    assert not _is_hi_lo(_pitch_track(jingles["outro"]))
