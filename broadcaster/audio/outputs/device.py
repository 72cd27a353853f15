"""The PC's sound device: buffers that grow from one second to a minute, each rendered while
the one before plays."""

import ctypes
import ctypes.util
import queue
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

from pydub import AudioSegment

from broadcaster.audio.api import POLL_S, PlaybackStopped, wait_until
from broadcaster.audio.outputs.live import LiveStats, play_live_on_device
from broadcaster.errors import NoAudioDeviceError
from broadcaster.i18n import _

PROBE_MS = 20
BUFFER_S = 60
"""Segments are played in buffers of up to a minute: each join between buffers costs 10-20 ms
of silence (measured through ALSA), a minute costs about 10 MB."""
FIRST_BUFFER_S = 1
"""The first buffer is short, so sound starts soon after the request; each next one is four
times longer (up to BUFFER_S) and is rendered while the one before plays."""
STALL_MARGIN_S = 10.0
"""How long past its end a playback may run before the device is taken for hung."""


class SimpleaudioOutput:
    """The PC's default sound device through simpleaudio (ALSA on Linux, WinMM on Windows).

    Created only when the device opens (a few milliseconds of silence are played), so that a
    missing sound card is reported before any speech is rendered.
    """

    def __init__(self) -> None:
        import simpleaudio

        self._simpleaudio: Any = simpleaudio
        self.live_stats = LiveStats()
        _silence_alsa_errors()
        self._play_buffer(AudioSegment.silent(duration=PROBE_MS, frame_rate=44100))

    def play(
        self,
        segments: Iterable[AudioSegment],
        stop: threading.Event | None = None,
        start_at: float | None = None,
    ) -> None:
        """Play buffer after buffer while the next one is rendered in a thread of its own, so
        the sound card never waits for the renderer between two buffers."""
        ready: queue.Queue[AudioSegment | BaseException | None] = queue.Queue(maxsize=1)
        stopped = threading.Event()

        def hand_over(item: AudioSegment | BaseException | None) -> None:
            while not stopped.is_set():
                try:
                    ready.put(item, timeout=POLL_S * 50)
                    return
                except queue.Full:
                    continue

        def render() -> None:
            try:
                for buffer in _buffers(segments):
                    hand_over(buffer)
                hand_over(None)
            except BaseException as error:
                hand_over(error)

        renderer = threading.Thread(target=render, name="loa-render", daemon=True)
        renderer.start()
        try:
            while (item := ready.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                wait_until(start_at, stop)
                start_at = None
                self._play_buffer(item, stop)
        finally:
            stopped.set()
            renderer.join(timeout=STALL_MARGIN_S)

    def play_live(
        self,
        chunks: Iterable[AudioSegment],
        stop: threading.Event | None = None,
        start_at: float | None = None,
    ) -> None:
        """One continuous stream through a child process, not buffer after buffer: a live
        source cannot wait for a longer buffer to fill, and a buffer per chunk would click at
        every join (audio/outputs/live.py). What the stream lacked is kept in `live_stats`."""
        self.live_stats = play_live_on_device(chunks, stop, start_at)

    def _play_buffer(self, audio: AudioSegment, stop: threading.Event | None = None) -> None:
        try:
            playing = self._simpleaudio.play_buffer(
                audio.raw_data, audio.channels, audio.sample_width, audio.frame_rate
            )
        except self._simpleaudio._simpleaudio.SimpleaudioError as error:
            raise _device_error(str(error), audio) from error
        deadline = time.monotonic() + len(audio) / 1000 + STALL_MARGIN_S
        try:
            while playing.is_playing():  # polled tightly: the next buffer follows at once
                if stop is not None and stop.is_set():
                    raise PlaybackStopped
                if time.monotonic() > deadline:
                    raise NoAudioDeviceError(
                        _(
                            "The sound device stopped responding in the middle of the "
                            "broadcast: check the sound card and the amplifier, then broadcast "
                            "again."
                        )
                    )
                time.sleep(POLL_S)
        finally:
            playing.stop()


def _buffers(segments: Iterable[AudioSegment]) -> Iterator[AudioSegment]:
    """The segments joined into buffers that grow from FIRST_BUFFER_S to BUFFER_S seconds."""
    pending: list[AudioSegment] = []
    limit_s = min(FIRST_BUFFER_S, BUFFER_S)
    for segment in segments:
        pending.append(segment)
        if sum(len(p) for p in pending) >= limit_s * 1000:
            yield sum(pending[1:], pending[0])
            pending = []
            limit_s = min(limit_s * 4, BUFFER_S)
    if pending:
        yield sum(pending[1:], pending[0])


def _device_error(detail: str, audio: AudioSegment) -> NoAudioDeviceError:
    """simpleaudio says "Error opening PCM device" when there is no device at all; anything
    else means the device exists but refused this sample format."""
    if "opening" in detail.lower():
        return NoAudioDeviceError(
            _(
                "Could not open a sound device: plug in and switch on the amplifier or sound "
                "card, check the sound settings, or write the broadcast to a file with "
                "--out FILE.wav."
            )
        )
    return NoAudioDeviceError(
        _(
            "The sound device refused {rate} Hz with {channels} channel(s): set output: "
            "sample_rate (e.g. 48000) and channels (e.g. 2) in station.yaml."
        ).format(rate=audio.frame_rate, channels=audio.channels)
    )


_alsa_error_handler: object = None


def _silence_alsa_errors() -> None:
    """Stop libasound from printing its internal errors: we report a failure in one sentence."""
    global _alsa_error_handler
    library = ctypes.util.find_library("asound")
    if library is None or _alsa_error_handler is not None:
        return
    handler_type = ctypes.CFUNCTYPE(
        None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p
    )
    _alsa_error_handler = handler_type(lambda *_args: None)
    ctypes.cdll.LoadLibrary(library).snd_lib_error_set_handler(_alsa_error_handler)
