"""The bundled jingles, synthesized by Loa itself so that they are free of any licence.

Only the standard library is used, with no randomness and no clock, so the output is the same
byte for byte on every run: a test checks that the committed WAV files are exactly what this
module generates. After changing anything here, regenerate them with

    python -m broadcaster.audio.chimes [DIR]
"""

import argparse
import array
import math
import pathlib
import sys
from collections.abc import Sequence

from broadcaster.audio import wavfile
from broadcaster.core.models import JINGLE_NAMES

SAMPLE_RATE = 44100
JINGLES_DIR = pathlib.Path(__file__).with_name("jingles")

PEAK_DBFS = -3.0
"""Headroom, so that resampling or a gain stage further down the chain does not clip."""

EDGE_FADE_S = 0.01
EDGE_SILENCE_S = 0.01
"""Each jingle fades in from and out into a little digital silence: joined to speech, no click."""

_FULL_SCALE = 32767

_ARPEGGIO = (72, 76, 79, 84)
"""C5 E5 G5 C6 as MIDI notes: a major arpeggio in the band horn loudspeakers reproduce best."""

_NOTE_SPACING_S = 0.4
_NOTE_RING_S = 1.8
_NOTE_ATTACK_S = 0.005
"""A 5 ms strike: soft enough not to click, quick enough to still sound struck."""

_BELL_PARTIALS = (
    (1.0, 1.0, 0.45),
    (2.0, 0.5, 0.3),
    (2.76, 0.3, 0.2),
    (5.40, 0.15, 0.12),
    (8.93, 0.08, 0.08),
)
"""(frequency ratio, amplitude, decay time constant in s) of each partial.

The octave gives body; 2.76, 5.40 and 8.93 are the inharmonic modes of a struck metal bar
(glockenspiel), and the higher ones die away first: together they make it sound like a bell.
"""

_HI_LO_HZ = (950.0, 700.0)
_HI_LO_TONE_S = 0.25
_HI_LO_TONES = 16
_HI_LO_FADE_S = 0.005
_HI_LO_HARMONICS = ((1, 1.0), (3, 0.25), (5, 0.1))
"""Odd harmonics make a reedy, square-like tone that cuts through noise, unlike the soft bell."""


def _samples(seconds: float) -> int:
    return round(seconds * SAMPLE_RATE)


def _midi_hz(note: int) -> float:
    return 440.0 * math.pow(2.0, (note - 69) / 12)


def _raised_cosine(i: int, n: int) -> float:
    """Gain rising from 0 to 1 over n samples with no corner at either end, so it is inaudible."""
    return 0.5 - 0.5 * math.cos(math.pi * i / n)


def _bell(hz: float) -> list[float]:
    attack = _samples(_NOTE_ATTACK_S)
    note = []
    for i in range(_samples(_NOTE_RING_S)):
        t = i / SAMPLE_RATE
        value = sum(
            amplitude * math.exp(-t / decay) * math.sin(2.0 * math.pi * ratio * hz * t)
            for ratio, amplitude, decay in _BELL_PARTIALS
        )
        note.append(value * _raised_cosine(i, attack) if i < attack else value)
    return note


def _chime(notes: Sequence[int]) -> list[float]:
    """Strike the notes one after the other, each ringing on under the next, as a PA chime does."""
    spacing = _samples(_NOTE_SPACING_S)
    track = [0.0] * (spacing * (len(notes) - 1) + _samples(_NOTE_RING_S))
    for k, note in enumerate(notes):
        for i, value in enumerate(_bell(_midi_hz(note)), start=k * spacing):
            track[i] += value
    return track


def _hi_lo() -> list[float]:
    """Alternate two tones like an emergency siren, each faded so the switch does not click."""
    length = _samples(_HI_LO_TONE_S)
    fade = _samples(_HI_LO_FADE_S)
    track = []
    for k in range(_HI_LO_TONES):
        hz = _HI_LO_HZ[k % len(_HI_LO_HZ)]
        for i in range(length):
            t = i / SAMPLE_RATE
            value = sum(
                amplitude * math.sin(2.0 * math.pi * harmonic * hz * t)
                for harmonic, amplitude in _HI_LO_HARMONICS
            )
            track.append(value * _raised_cosine(min(i, length - 1 - i, fade), fade))
    return track


def _to_pcm(signal: list[float]) -> "array.array[int]":
    """Fade the ends, scale the peak to PEAK_DBFS and pad with silence, as 16-bit samples."""
    fade = _samples(EDGE_FADE_S)
    last = len(signal) - 1
    faded = [value * _raised_cosine(min(i, last - i, fade), fade) for i, value in enumerate(signal)]
    scale = _FULL_SCALE * 10.0 ** (PEAK_DBFS / 20.0) / max(abs(value) for value in faded)
    padding = [0] * _samples(EDGE_SILENCE_S)
    return array.array("h", padding + [round(value * scale) for value in faded] + padding)


def synthesize(name: str) -> "array.array[int]":
    """The jingle's mono 16-bit samples at SAMPLE_RATE; the same on every run."""
    if name == "intro":
        return _to_pcm(_chime(_ARPEGGIO))
    if name == "outro":
        return _to_pcm(_chime(_ARPEGGIO[::-1]))
    if name == "attention":
        return _to_pcm(_hi_lo())
    raise ValueError(f"unknown jingle {name!r}: expected one of {', '.join(JINGLE_NAMES)}")


def write_wav(name: str, path: pathlib.Path) -> None:
    """Write the jingle as a WAV file, atomically: a player never sees half a file."""
    samples = synthesize(name)
    if sys.byteorder == "big":
        samples.byteswap()  # WAV samples are little-endian
    wavfile.write_wav(path, [samples.tobytes()], channels=1, sample_width=2, rate=SAMPLE_RATE)


def main() -> None:
    """Regenerate every jingle into DIR, by default the package's own jingles/ folder."""
    parser = argparse.ArgumentParser(
        prog="python -m broadcaster.audio.chimes", description=main.__doc__
    )
    parser.add_argument("directory", nargs="?", type=pathlib.Path, default=JINGLES_DIR)
    directory: pathlib.Path = parser.parse_args().directory
    directory.mkdir(parents=True, exist_ok=True)
    for name in JINGLE_NAMES:
        path = directory / f"{name}.wav"
        write_wav(name, path)
        print(path)


if __name__ == "__main__":
    main()
