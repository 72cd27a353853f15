"""Read audio files into pydub segments without ffmpeg.

WAV is read by pydub itself; MP3, OGG and FLAC by miniaudio, which ships wheels for Windows too,
where a commune PC has no ffmpeg.
"""

from pathlib import Path

import miniaudio
from pydub import AudioSegment
from pydub.exceptions import CouldntDecodeError

from broadcaster.errors import AudioFileError
from broadcaster.i18n import _

MINIAUDIO_SUFFIXES = (".mp3", ".ogg", ".flac")


def load_audio(path: Path) -> AudioSegment:
    suffix = path.suffix.lower()
    try:
        if suffix == ".wav":
            return AudioSegment.from_wav(str(path))
        if suffix in MINIAUDIO_SUFFIXES:
            decoded = miniaudio.decode_file(
                str(path), output_format=miniaudio.SampleFormat.SIGNED16
            )
            return AudioSegment(
                data=decoded.samples.tobytes(),
                sample_width=2,
                frame_rate=decoded.sample_rate,
                channels=decoded.nchannels,
            )
    except (OSError, miniaudio.DecodeError, CouldntDecodeError, EOFError) as error:
        raise AudioFileError(
            _("Cannot read the audio file {file}: {reason}.").format(file=path, reason=error)
        ) from error
    raise AudioFileError(
        _("{file}: unsupported audio format; use WAV, MP3, OGG or FLAC.").format(file=path)
    )
