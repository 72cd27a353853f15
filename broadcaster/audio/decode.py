"""Read audio files into pydub segments without ffmpeg.

miniaudio decodes WAV, MP3, OGG and FLAC and ships wheels for Windows too, where a commune PC has
no ffmpeg. Files with more than two channels are mixed down to stereo while decoding.
"""

from pathlib import Path

import miniaudio
from pydub import AudioSegment

from broadcaster.errors import AudioFileError, describe_os_error
from broadcaster.i18n import _
from broadcaster.models import AUDIO_SUFFIXES


def load_audio(path: Path) -> AudioSegment:
    if path.suffix.lower() not in AUDIO_SUFFIXES:
        raise AudioFileError(
            _("{file}: unsupported audio format; use WAV, MP3, OGG or FLAC.").format(file=path)
        )
    try:
        info = miniaudio.get_file_info(str(path))
        decoded = miniaudio.decode_file(
            str(path),
            output_format=miniaudio.SampleFormat.SIGNED16,
            nchannels=min(info.nchannels, 2),
            sample_rate=info.sample_rate,
        )
    except OSError as error:
        raise AudioFileError(
            _("Cannot read the audio file {file}: {reason}.").format(
                file=path, reason=describe_os_error(error)
            )
        ) from error
    except miniaudio.MiniaudioError as error:
        raise AudioFileError(
            _("Cannot read the audio file {file}: it is damaged, empty or not audio.").format(
                file=path
            )
        ) from error
    if not decoded.samples:
        raise AudioFileError(_("The audio file {file} holds no sound.").format(file=path))
    return AudioSegment(
        data=decoded.samples.tobytes(),
        sample_width=2,
        frame_rate=decoded.sample_rate,
        channels=decoded.nchannels,
    )
