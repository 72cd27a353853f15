"""Where a rendered program goes: the sound card, a file, or nowhere (for tests and dry runs).

Outputs are chosen by name (`output.device` in station.yaml); `--out FILE` picks the file output.
"""

import contextlib
import ctypes
import ctypes.util
import io
import os
import secrets
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from pydub import AudioSegment

from broadcaster.errors import NoAudioDeviceError, OutputFileError
from broadcaster.i18n import _

FILE_SUFFIXES = (".wav",)


class AudioOutput(Protocol):
    def play(self, audio: AudioSegment) -> None:
        """Deliver `audio` completely, or raise a LoaError saying why not."""
        ...


class SimpleaudioOutput:
    """The PC's default sound device through simpleaudio (ALSA on Linux, WinMM on Windows)."""

    def __init__(self) -> None:
        import simpleaudio

        self._simpleaudio = simpleaudio
        _silence_alsa_errors()

    def play(self, audio: AudioSegment) -> None:
        try:
            playing = self._simpleaudio.play_buffer(
                audio.raw_data, audio.channels, audio.sample_width, audio.frame_rate
            )
        except self._simpleaudio._simpleaudio.SimpleaudioError as error:
            raise NoAudioDeviceError(
                _(
                    "Could not open a sound device: plug in and switch on the amplifier or sound "
                    "card, check the sound settings, or write the broadcast to a file with "
                    "--out FILE.wav."
                )
            ) from error
        try:
            playing.wait_done()
        finally:
            playing.stop()


class WavFileOutput:
    """Writes the program to a WAV file, whole or not at all."""

    def __init__(self, path: Path) -> None:
        check_output_path(path)
        self.path = path

    def play(self, audio: AudioSegment) -> None:
        encoded = io.BytesIO()
        with wave.open(encoded, "wb") as wav:
            wav.setnchannels(audio.channels)
            wav.setsampwidth(audio.sample_width)
            wav.setframerate(audio.frame_rate)
            wav.writeframes(audio.raw_data)
        temporary = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}.part")
        try:
            with temporary.open("xb") as out:
                out.write(encoded.getbuffer())
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)
        except OSError as error:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise OutputFileError(
                _("Cannot write {file}: {reason}. Nothing was written.").format(
                    file=self.path, reason=error.strerror or error
                )
            ) from error


class NullOutput:
    """Keeps what it was given: for dry runs and for tests that check what would have played."""

    def __init__(self) -> None:
        self.played: list[AudioSegment] = []

    def play(self, audio: AudioSegment) -> None:
        self.played.append(audio)


OUTPUTS: dict[str, Callable[[], AudioOutput]] = {
    "simpleaudio": SimpleaudioOutput,
    "null": NullOutput,
}


def check_output_path(path: Path) -> None:
    """Refuse a file we could not write, before any speech is rendered for it."""
    if path.suffix.lower() not in FILE_SUFFIXES:
        raise OutputFileError(
            _("{file}: the output file must end in {suffixes}.").format(
                file=path, suffixes=", ".join(FILE_SUFFIXES)
            )
        )
    folder = path.parent
    if not folder.is_dir():
        raise OutputFileError(
            _("The folder {folder} does not exist: create it or choose another place.").format(
                folder=folder
            )
        )
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise OutputFileError(
            _(
                "Cannot write to {file}: permission denied. Choose a folder you can write to."
            ).format(file=path)
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
