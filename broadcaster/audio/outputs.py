"""Where a rendered program goes, segment by segment: the sound card, a file, or nowhere.

Outputs are chosen by name (`output.device` in station.yaml); `--out FILE` picks a file output by
the file's extension.
"""

import ctypes
import ctypes.util
import itertools
import os
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

from pydub import AudioSegment

from broadcaster.audio.wavfile import write_wav
from broadcaster.errors import NoAudioDeviceError, OutputFileError, describe_os_error
from broadcaster.files import partial_path
from broadcaster.i18n import _

PROBE_MS = 20
BUFFER_S = 60
"""Segments are played in buffers of up to a minute: each join between buffers costs 10-20 ms
of silence (measured through ALSA), a minute costs about 10 MB."""
FIRST_BUFFER_S = 1
"""The first buffer is short, so sound starts soon after the request; each next one is four
times longer (up to BUFFER_S) and is rendered while the one before plays."""
POLL_S = 0.002
STALL_MARGIN_S = 10.0
"""How long past its end a playback may run before the device is taken for hung."""
MP3_BITRATE = "128k"
ENCODER_TIMEOUT_S = 60


class PlaybackStopped(Exception):
    """Playback was stopped on purpose: an emergency took the air, or the officer said stop."""


class AudioOutput(Protocol):
    def play(
        self,
        segments: Iterable[AudioSegment],
        stop: threading.Event | None = None,
        start_at: float | None = None,
    ) -> None:
        """Deliver every segment, in order and completely, or raise a LoaError saying why not;
        raise PlaybackStopped soon after `stop` is set. With `start_at` (a time.time() value),
        the first sample is delivered then, not before: what can be prepared is prepared first."""
        ...


class SimpleaudioOutput:
    """The PC's default sound device through simpleaudio (ALSA on Linux, WinMM on Windows).

    Created only when the device opens (a few milliseconds of silence are played), so that a
    missing sound card is reported before any speech is rendered.
    """

    def __init__(self) -> None:
        import simpleaudio

        self._simpleaudio: Any = simpleaudio
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


def _until_stopped(
    segments: Iterable[AudioSegment], stop: threading.Event | None
) -> Iterator[AudioSegment]:
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


class WavFileOutput:
    """Writes the program to a WAV file, whole or not at all."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def play(
        self,
        segments: Iterable[AudioSegment],
        stop: threading.Event | None = None,
        start_at: float | None = None,
    ) -> None:
        blocks = _until_stopped(segments, stop)
        first = next(blocks)
        try:
            write_wav(
                self.path,
                (segment.raw_data for segment in itertools.chain([first], blocks)),
                channels=first.channels,
                sample_width=first.sample_width,
                rate=first.frame_rate,
            )
        except OSError as error:
            raise _write_error(self.path, error) from error


class Mp3FileOutput:
    """Encodes the program to MP3 with ffmpeg as it is rendered, whole or not at all."""

    def __init__(self, path: Path) -> None:
        found = shutil.which("ffmpeg")
        if found is None:
            raise OutputFileError(
                _(
                    "{file}: writing MP3 needs ffmpeg (Debian/Ubuntu: sudo apt install ffmpeg); "
                    "or write a .wav file instead."
                ).format(file=path)
            )
        self.ffmpeg = found
        self.path = path

    def play(
        self,
        segments: Iterable[AudioSegment],
        stop: threading.Event | None = None,
        start_at: float | None = None,
    ) -> None:
        blocks = _until_stopped(segments, stop)
        first = next(blocks)
        temporary = partial_path(self.path)
        command = [
            self.ffmpeg,
            "-nostdin",
            "-v",
            "error",
            "-f",
            "s16le",
            "-ar",
            str(first.frame_rate),
            "-ac",
            str(first.channels),
            "-i",
            "-",
            "-codec:a",
            "libmp3lame",
            "-b:a",
            MP3_BITRATE,
            "-f",
            "mp3",
            str(temporary),
        ]
        encoder = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        assert encoder.stdin is not None and encoder.stderr is not None
        try:
            for segment in itertools.chain([first], blocks):
                encoder.stdin.write(segment.raw_data)
            encoder.stdin.close()
            problem = encoder.stderr.read().decode("utf-8", "replace").strip()
            if encoder.wait(timeout=ENCODER_TIMEOUT_S) != 0:
                raise OutputFileError(
                    _("Cannot write {file}: {reason}. Nothing was written to disk.").format(
                        file=self.path, reason=problem.splitlines()[-1] if problem else "ffmpeg"
                    )
                )
            os.replace(temporary, self.path)
        except OSError as error:
            raise _write_error(self.path, error) from error
        finally:
            if encoder.poll() is None:
                encoder.kill()
            encoder.wait()
            temporary.unlink(missing_ok=True)


class SilentOutput:
    """Renders everything and plays nothing, for trying a station without an amplifier. It takes
    as long as the program would on air, so a trial station queues, interrupts and logs as it
    will for real; it keeps only how much it was given, so a long program costs no memory."""

    def __init__(self) -> None:
        self.played_ms = 0.0
        self.chunks = 0

    def play(
        self,
        segments: Iterable[AudioSegment],
        stop: threading.Event | None = None,
        start_at: float | None = None,
    ) -> None:
        began = None
        for segment in _until_stopped(segments, stop):
            wait_until(start_at, stop)
            start_at = None
            began = began or time.time()
            self.played_ms += len(segment)
            self.chunks += 1
            wait_until(began + self.played_ms / 1000, stop)  # the segment's own length


OUTPUTS: dict[str, Callable[[], AudioOutput]] = {
    "simpleaudio": SimpleaudioOutput,
    "silent": SilentOutput,
}
FILE_OUTPUTS: dict[str, Callable[[Path], AudioOutput]] = {
    ".wav": WavFileOutput,
    ".mp3": Mp3FileOutput,
}


def file_output(path: Path) -> AudioOutput:
    """The output for `--out FILE`, refusing a file we could not write before anything is
    rendered for it."""
    if path.suffix.lower() not in FILE_OUTPUTS:
        raise OutputFileError(
            _("{file}: the output file must end in {suffixes}.").format(
                file=path, suffixes=", ".join(FILE_OUTPUTS)
            )
        )
    if not path.parent.is_dir():
        raise OutputFileError(
            _("The folder {folder} does not exist: create it or choose another place.").format(
                folder=path.parent
            )
        )
    if not os.access(path.parent, os.W_OK):
        raise OutputFileError(
            _(
                "Cannot write to {file}: permission denied. Choose a folder you can write to."
            ).format(file=path)
        )
    return FILE_OUTPUTS[path.suffix.lower()](path)


def _write_error(path: Path, error: OSError) -> OutputFileError:
    return OutputFileError(
        _("Cannot write {file}: {reason}. Nothing was written to disk.").format(
            file=path, reason=describe_os_error(error)
        )
    )


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
