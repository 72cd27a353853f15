"""Checking and reading audio files.

WAV, MP3, OGG and FLAC are decoded by miniaudio, which ships wheels for Windows too, where a
commune PC has no ffmpeg. Phone recordings (m4a, aac, amr, opus…) need ffmpeg, which `render`
streams them through. Files with more than two channels are mixed down to stereo.
"""

import subprocess
from pathlib import Path

import miniaudio
from pydub import AudioSegment

from broadcaster.core.models import AUDIO_SUFFIXES
from broadcaster.errors import AudioFileError, describe_os_error
from broadcaster.i18n import _
from broadcaster.programs import ffmpeg_input, find_program


def load_audio(path: Path) -> AudioSegment:
    """A whole short file (speech to check, a test's reference) in memory; broadcasts stream
    their segments instead (`render`)."""
    if path.suffix.lower() not in AUDIO_SUFFIXES:
        raise AudioFileError(
            _("{file}: unsupported audio format; use WAV, MP3, OGG or FLAC.").format(file=path)
        )
    return _with_miniaudio(path)


def miniaudio_reads(path: Path) -> bool:
    """Whether miniaudio decodes `path` itself; Opus in an .ogg file, for one, it does not."""
    if path.suffix.lower() not in AUDIO_SUFFIXES:
        return False
    try:
        miniaudio.get_file_info(str(path))
    except OSError as error:
        raise os_error(path, error) from error
    except miniaudio.MiniaudioError:
        return False
    return True


def probe_audio(path: Path, longest_s: float) -> None:
    """Refuse, before the broadcast starts, a file that would stop it half-way or that lasts
    longer than a broadcast may."""
    if miniaudio_reads(path):
        seconds = miniaudio.get_file_info(str(path)).duration
    else:
        seconds = _ffprobe_seconds(path)
    if seconds > longest_s:
        raise AudioFileError(
            _(
                "{file} lasts {minutes} minutes, longer than the {limit} minutes a broadcast may "
                "last here (max_recording_minutes in station.yaml): cut it into parts."
            ).format(file=path, minutes=round(seconds / 60), limit=round(longest_s / 60))
        )


def _ffprobe_seconds(path: Path) -> float:
    ffmpeg_or_error(path)
    ffprobe = find_program("ffprobe") or "ffprobe"  # ffmpeg's packages ship both
    command = [
        ffprobe,
        "-v",
        "error",
        "-show_entries",
        "format=duration",
        "-of",
        "csv=p=0",
        ffmpeg_input(path),
    ]
    try:
        answer = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        return float(answer.stdout.strip())
    except (OSError, subprocess.TimeoutExpired, ValueError) as error:
        raise unreadable(path) from error


def _with_miniaudio(path: Path) -> AudioSegment:
    try:
        info = miniaudio.get_file_info(str(path))
        decoded = miniaudio.decode_file(
            str(path),
            output_format=miniaudio.SampleFormat.SIGNED16,
            nchannels=min(info.nchannels, 2),
            sample_rate=info.sample_rate,
        )
    except OSError as error:
        raise os_error(path, error) from error
    except miniaudio.MiniaudioError as error:
        raise unreadable(path) from error
    if not decoded.samples:
        raise silent(path)
    return AudioSegment(
        data=decoded.samples.tobytes(),
        sample_width=2,
        frame_rate=decoded.sample_rate,
        channels=decoded.nchannels,
    )


def ffmpeg_or_error(path: Path) -> str:
    found = find_program("ffmpeg")
    if found is None and path.suffix.lower() in AUDIO_SUFFIXES:
        raise unreadable(path)  # a format Loa reads, but not this file
    if found is None:
        raise AudioFileError(
            _(
                "{file}: Loa reads WAV, MP3, OGG and FLAC by itself; for this format install "
                "ffmpeg (Debian/Ubuntu: sudo apt install ffmpeg; Windows: ffmpeg.org) or convert "
                "the file to MP3."
            ).format(file=path)
        )
    return found


def os_error(path: Path, error: OSError) -> AudioFileError:
    return AudioFileError(
        _("Cannot read the audio file {file}: {reason}.").format(
            file=path, reason=describe_os_error(error)
        )
    )


def unreadable(path: Path) -> AudioFileError:
    return AudioFileError(
        _("Cannot read the audio file {file}: it is damaged, empty or not audio.").format(file=path)
    )


def silent(path: Path) -> AudioFileError:
    return AudioFileError(_("The audio file {file} holds no sound.").format(file=path))
