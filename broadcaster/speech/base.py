"""The small interface every speech engine implements."""

from pathlib import Path
from typing import Protocol


class SpeechUnavailable(Exception):
    """An engine could not speak this time; `reason` says why, in the officer's language."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SpeechEngine(Protocol):
    name: str

    def synthesize(self, text: str, voice: str, workdir: Path) -> Path:
        """Write speech for `text` into a new file under `workdir` and return its path.

        Raises SpeechUnavailable; never returns a partial or empty file.
        """
        ...
