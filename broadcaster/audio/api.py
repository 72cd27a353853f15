"""What an output is: where a rendered program goes, chunk by chunk, and the outputs by name.

Outputs are chosen by name (`output.device` in station.yaml); `--out FILE` picks a file output by
the file's extension (audio/outputs/files.py). No implementation is imported here: OUTPUTS
imports each when it is chosen.
"""

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol, TypeAlias

from pydub import AudioSegment

POLL_S = 0.002
LIVE_AHEAD_S = 0.5
"""How long before it is due a live source hands each chunk to play_live: the sound device
holds 200 ms (audio/outputs/live.py), the rest covers a busy PC."""

Chunk: TypeAlias = AudioSegment
"""What the renderer yields and outputs take: a few seconds of PCM in the output's format."""


class PlaybackStopped(Exception):
    """Playback was stopped on purpose: an emergency took the air, or the officer said stop."""


class AudioOutput(Protocol):
    def play(
        self,
        segments: Iterable[Chunk],
        stop: threading.Event | None = None,
        start_at: float | None = None,
    ) -> None:
        """Deliver every segment, in order and completely, or raise a LoaError saying why not;
        raise PlaybackStopped soon after `stop` is set. With `start_at` (a time.time() value),
        the first sample is delivered then, not before: what can be prepared is prepared first."""
        ...

    def play_live(
        self,
        chunks: Iterable[Chunk],
        stop: threading.Event | None = None,
        start_at: float | None = None,
    ) -> None:
        """Play a live stream (a relay) as one continuous sound: no gap between chunks, and each
        sample heard at its due time on the wall clock, `start_at` (or, without it, when the
        first one can be heard) plus its place in the stream, however long it plays (the sound
        card's own clock, a few hundred ppm off, is absorbed). The source hands over chunks of
        about 100 ms paced by real time, each LIVE_AHEAD_S before it is due; a chunk that comes
        late is heard late (silence fills the wait), then the stream is brought back on time
        by 0.5 %. Returns once the last chunk has been heard. When `stop` is set the sound
        stops at once and PlaybackStopped is raised as the source hands over its next chunk;
        a LoaError says why the device failed; what the source raises comes through. Outputs
        with no clock (a file) take the chunks as `play` does."""
        ...


def until_stopped(segments: Iterable[Chunk], stop: threading.Event | None) -> Iterator[Chunk]:
    for segment in segments:
        if stop is not None and stop.is_set():
            raise PlaybackStopped
        yield segment


def wait_until(start_at: float | None, stop: threading.Event | None) -> None:
    """Hold the first sample until `start_at`, or raise PlaybackStopped if stopped meanwhile."""
    while start_at is not None and (left := start_at - time.time()) > 0:
        if stop is not None and stop.wait(min(left, POLL_S * 5)):
            raise PlaybackStopped
        if stop is None:
            time.sleep(min(left, POLL_S * 5))


def _device() -> AudioOutput:
    from broadcaster.audio.outputs.device import SimpleaudioOutput

    return SimpleaudioOutput()


def _silent() -> AudioOutput:
    from broadcaster.audio.outputs.silent import SilentOutput

    return SilentOutput()


OUTPUTS: dict[str, Callable[[], AudioOutput]] = {
    "simpleaudio": _device,
    "silent": _silent,
}
