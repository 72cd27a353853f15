"""The small interface every speech engine implements."""

import secrets
from pathlib import Path
from typing import Protocol

from broadcaster.errors import DiskError


class SpeechUnavailable(Exception):
    """An engine could not speak this time; `reason` says why, in the officer's language.

    `voice_specific` failures (the service answered but sent no audio for this voice) are worth
    retrying with another voice of the same engine; others (no network, refused) are not.
    """

    def __init__(self, reason: str, *, voice_specific: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.voice_specific = voice_specific


def save_speech(workdir: Path, engine: str, suffix: str, audio: bytes) -> Path:
    """Keep an engine's audio in the broadcast's working folder. A failure here is the PC's
    disk, not the voice: it must not be reported as a speech failure."""
    path = workdir / f"{engine}-{secrets.token_hex(6)}{suffix}"
    try:
        path.write_bytes(audio)
    except OSError as error:
        path.unlink(missing_ok=True)
        raise DiskError.preparing(workdir, error) from error
    return path


class SpeechEngine(Protocol):
    name: str

    @property
    def version(self) -> str:
        """Part of the cache key: a new engine version may sound different."""
        ...

    def synthesize(self, text: str, voice: str, workdir: Path) -> Path:
        """Write speech for prepared `text` into a new file under `workdir`; return its path.

        Raises SpeechUnavailable; never returns a partial or empty file.
        """
        ...
