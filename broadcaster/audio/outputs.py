"""Where a rendered program goes: the sound card, a file, or nowhere.

Outputs are chosen by name (`output.device` in station.yaml); `--out FILE` picks the file output.
"""

import ctypes
import ctypes.util
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from pydub import AudioSegment

from broadcaster.audio.wavfile import write_wav
from broadcaster.errors import NoAudioDeviceError, OutputFileError, describe_os_error
from broadcaster.i18n import _

FILE_SUFFIXES = (".wav",)
PROBE_MS = 20
STALL_MARGIN_S = 10.0
"""How long past its end a playback may run before the device is taken for hung."""


class AudioOutput(Protocol):
    def play(self, audio: AudioSegment) -> None:
        """Deliver `audio` completely, or raise a LoaError saying why not."""
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
        self.play(AudioSegment.silent(duration=PROBE_MS, frame_rate=44100))

    def play(self, audio: AudioSegment) -> None:
        try:
            playing = self._simpleaudio.play_buffer(
                audio.raw_data, audio.channels, audio.sample_width, audio.frame_rate
            )
        except self._simpleaudio._simpleaudio.SimpleaudioError as error:
            raise _device_error(str(error), audio) from error
        deadline = time.monotonic() + len(audio) / 1000 + STALL_MARGIN_S
        try:
            while playing.is_playing():
                if time.monotonic() > deadline:
                    raise NoAudioDeviceError(
                        _(
                            "The sound device stopped responding in the middle of the broadcast: "
                            "check the sound card and the amplifier, then broadcast again."
                        )
                    )
                time.sleep(0.02)
        finally:
            playing.stop()


class WavFileOutput:
    """Writes the program to a WAV file, whole or not at all."""

    def __init__(self, path: Path) -> None:
        check_output_path(path)
        self.path = path

    def play(self, audio: AudioSegment) -> None:
        try:
            write_wav(
                self.path,
                audio.raw_data,
                channels=audio.channels,
                sample_width=audio.sample_width,
                rate=audio.frame_rate,
            )
        except OSError as error:
            raise OutputFileError(
                _("Cannot write {file}: {reason}. Nothing was written to disk.").format(
                    file=self.path, reason=describe_os_error(error)
                )
            ) from error


class SilentOutput:
    """Keeps what it was given and plays nothing: for trying a station without an amplifier,
    and for tests that check what would have played."""

    def __init__(self) -> None:
        self.played: list[AudioSegment] = []

    def play(self, audio: AudioSegment) -> None:
        self.played.append(audio)


OUTPUTS: dict[str, Callable[[], AudioOutput]] = {
    "simpleaudio": SimpleaudioOutput,
    "silent": SilentOutput,
}


def check_output_path(path: Path) -> None:
    """Refuse a file we could not write, before any speech is rendered for it."""
    if path.suffix.lower() not in FILE_SUFFIXES:
        raise OutputFileError(
            _("{file}: the output file must end in {suffixes}.").format(
                file=path, suffixes=", ".join(FILE_SUFFIXES)
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
