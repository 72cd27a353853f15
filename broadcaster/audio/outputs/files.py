"""Programs written to a file (`--out FILE.wav|.mp3`), whole or not at all."""

import itertools
import os
import subprocess
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from broadcaster.audio.api import AudioOutput, Chunk, until_stopped
from broadcaster.audio.wavfile import write_wav
from broadcaster.errors import OutputFileError, describe_os_error
from broadcaster.files import partial_path
from broadcaster.i18n import _
from broadcaster.programs import ffmpeg_input, find_program

MP3_BITRATE = "128k"
ENCODER_TIMEOUT_S = 60


class WavFileOutput:
    """Writes the program to a WAV file, whole or not at all."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def play(
        self,
        segments: Iterable[Chunk],
        stop: threading.Event | None = None,
        start_at: float | None = None,
    ) -> None:
        blocks = until_stopped(segments, stop)
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

    def play_live(
        self,
        chunks: Iterable[Chunk],
        stop: threading.Event | None = None,
        start_at: float | None = None,
    ) -> None:
        """A file has no clock: everything the stream gives is written, as it comes."""
        self.play(chunks, stop, start_at)


class Mp3FileOutput:
    """Encodes the program to MP3 with ffmpeg as it is rendered, whole or not at all."""

    def __init__(self, path: Path) -> None:
        found = find_program("ffmpeg")
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
        segments: Iterable[Chunk],
        stop: threading.Event | None = None,
        start_at: float | None = None,
    ) -> None:
        blocks = until_stopped(segments, stop)
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
            ffmpeg_input(temporary),
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

    def play_live(
        self,
        chunks: Iterable[Chunk],
        stop: threading.Event | None = None,
        start_at: float | None = None,
    ) -> None:
        """A file has no clock: everything the stream gives is encoded, as it comes."""
        self.play(chunks, stop, start_at)


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
