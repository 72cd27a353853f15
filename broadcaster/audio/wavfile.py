"""Writing PCM as a WAV file, whole or not at all (standard library only, for the chimes too)."""

import io
import wave
from pathlib import Path

from broadcaster.files import write_atomically


def write_wav(path: Path, frames: bytes, *, channels: int, sample_width: int, rate: int) -> None:
    encoded = io.BytesIO()
    with wave.open(encoded, "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(sample_width)
        wav.setframerate(rate)
        wav.writeframes(frames)
    write_atomically(path, encoded.getbuffer())
