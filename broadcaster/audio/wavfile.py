"""Writing PCM as a WAV file, whole or not at all, and a WAV file's length (standard library
only: for the chimes, and for measuring without loading numpy, which miniaudio brings)."""

import wave
from collections.abc import Iterable
from pathlib import Path

from broadcaster.files import atomic_file


def write_wav(
    path: Path, blocks: Iterable[bytes], *, channels: int, sample_width: int, rate: int
) -> None:
    """Write PCM `blocks` one after another, so a long program never has to be in memory."""
    with atomic_file(path) as out, wave.open(out, "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(sample_width)
        wav.setframerate(rate)
        for block in blocks:
            wav.writeframes(block)


def wav_seconds(path: Path) -> float | None:
    """How long a PCM WAV file plays, from its header and size; None for anything the standard
    library cannot read (another codec, not a WAV): a decoder must tell."""
    try:
        with wave.open(str(path), "rb") as wav:
            return wav.getnframes() / wav.getframerate()
    except (wave.Error, EOFError, ZeroDivisionError):
        return None
