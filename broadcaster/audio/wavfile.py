"""Writing PCM as a WAV file, whole or not at all (standard library only, for the chimes too)."""

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
