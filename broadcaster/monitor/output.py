"""The station's output with the monitor listening in: every chunk is handed to the monitor with
the time it is due on the air, then goes to the real output unchanged.

The due time is `start_at` (or the moment the first chunk is taken, when there is none, or when
a program's start has passed) plus the duration of the chunks before: what the outputs promise
(audio/api.py). An output takes chunks ahead of time (the sound device renders up to a minute
ahead), so when playback stops early the monitor is told that what was due later will not play.
Nothing the monitor does can reach the air: its errors are logged and the chunk goes out.
"""

import logging
import threading
import time
from collections.abc import Iterable, Iterator

from broadcaster.audio.api import AudioOutput, Chunk
from broadcaster.i18n import _
from broadcaster.monitor.api import Monitor, Withdrawing

log = logging.getLogger("loa")


class MonitoredOutput:
    """An AudioOutput (audio/api.py) that shows the monitor what it plays."""

    def __init__(self, inner: AudioOutput, monitor: Monitor) -> None:
        self.inner = inner
        self.monitor = monitor

    def play(
        self,
        segments: Iterable[Chunk],
        stop: threading.Event | None = None,
        start_at: float | None = None,
    ) -> None:
        try:
            self.inner.play(self._shown(segments, start_at, catches_up=False), stop, start_at)
        except BaseException:
            self._withdraw(time.time())
            raise

    def play_live(
        self,
        chunks: Iterable[Chunk],
        stop: threading.Event | None = None,
        start_at: float | None = None,
    ) -> None:
        try:
            self.inner.play_live(self._shown(chunks, start_at, catches_up=True), stop, start_at)
        except BaseException:
            self._withdraw(time.time())
            raise

    def _shown(
        self, chunks: Iterable[Chunk], start_at: float | None, catches_up: bool
    ) -> Iterator[Chunk]:
        """The chunks, each shown to the monitor first. A live stream that starts late is
        brought back to `start_at` (audio/api.py), so its due times stay on it: the monitor
        sees a delay that shrinks, never sound heard before it was sent."""
        due: float | None = None
        for chunk in chunks:
            if due is None:
                now = time.time()
                due = now if start_at is None else start_at if catches_up else max(start_at, now)
            try:
                self.monitor.sent(chunk, due)
            except Exception:
                log.exception(_("The on-air monitor failed (%s); the air goes on."), "sent")
            due += len(chunk) / 1000
            yield chunk

    def _withdraw(self, after: float) -> None:
        if isinstance(self.monitor, Withdrawing):
            try:
                self.monitor.withdraw(after)
            except Exception:
                log.exception(_("The on-air monitor failed (%s); the air goes on."), "withdraw")
