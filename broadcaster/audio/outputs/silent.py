"""An output with no sound, for trying a station without an amplifier."""

import threading
import time
from collections.abc import Iterable

from broadcaster.audio.api import Chunk, until_stopped, wait_until


class SilentOutput:
    """Renders everything and plays nothing, for trying a station without an amplifier. It takes
    as long as the program would on air, so a trial station queues, interrupts and logs as it
    will for real; it keeps only how much it was given, so a long program costs no memory."""

    def __init__(self) -> None:
        self.played_ms = 0.0
        self.chunks = 0

    def play(
        self,
        segments: Iterable[Chunk],
        stop: threading.Event | None = None,
        start_at: float | None = None,
    ) -> None:
        began = None
        for segment in until_stopped(segments, stop):
            wait_until(start_at, stop)
            start_at = None
            began = began or time.time()
            self.played_ms += len(segment)
            self.chunks += 1
            wait_until(began + self.played_ms / 1000, stop)  # the segment's own length

    def play_live(
        self,
        chunks: Iterable[Chunk],
        stop: threading.Event | None = None,
        start_at: float | None = None,
    ) -> None:
        """Takes each chunk when the one before would have ended on air, from `start_at`: a
        relay on a station without an amplifier lasts as long as on air."""
        self.play(chunks, stop, start_at)
