"""Program → one PCM track at the output's format, with even levels and clean joins.

pydub lives here and in `decode` only; the rest of Loa sees Programs and AudioSegments.
"""

from collections.abc import Mapping
from pathlib import Path

from pydub import AudioSegment
from pydub.silence import detect_leading_silence

from broadcaster.audio.chimes import JINGLES_DIR
from broadcaster.audio.decode import load_audio
from broadcaster.models import Gap, Jingle, Program, Speech
from broadcaster.settings import OutputSettings

SPEECH_LEVEL_DBFS = -18.0
JINGLE_LEVEL_DBFS = -21.0
"""Chimes sit a little under speech so that they announce without startling."""
PEAK_LIMIT_DBFS = -1.0
SILENCE_THRESHOLD_DBFS = -50.0
JOIN_PAUSE_MS = 300
LEAD_IN_MS = 300
"""Silence before the first chime: sound cards and amplifiers that wake from standby swallow the
first moments of a stream (25 ms lost were measured through ALSA's PulseAudio plugin)."""
FADE_MS = 10


def bundled_jingle(name: str) -> Path:
    return JINGLES_DIR / f"{name}.wav"


def render_program(
    program: Program,
    speech_files: Mapping[Speech, Path],
    jingle_files: Mapping[str, Path],
    output: OutputSettings,
) -> AudioSegment:
    """Join the program's segments; speech and chimes are levelled separately, then joined."""

    def silence(ms: float) -> AudioSegment:
        return AudioSegment.silent(duration=ms, frame_rate=output.sample_rate).set_channels(
            output.channels
        )

    track = silence(LEAD_IN_MS)
    for index, segment in enumerate(program.segments):
        if isinstance(segment, Gap):
            track += silence(segment.seconds * 1000)
            continue
        if isinstance(segment, Jingle):
            path = jingle_files.get(segment.name, bundled_jingle(segment.name))
            part = _level(load_audio(path), JINGLE_LEVEL_DBFS)
        else:
            part = _level(_trim(load_audio(speech_files[segment])), SPEECH_LEVEL_DBFS)
        part = part.set_frame_rate(output.sample_rate).set_channels(output.channels)
        if index > 0:
            track += silence(JOIN_PAUSE_MS)
        track += part.set_sample_width(2).fade_in(FADE_MS).fade_out(FADE_MS)
    return track


def _trim(audio: AudioSegment) -> AudioSegment:
    """Cut the silence engines leave at both ends, so the chimes frame the words tightly."""
    start = detect_leading_silence(audio, SILENCE_THRESHOLD_DBFS)
    end = detect_leading_silence(audio.reverse(), SILENCE_THRESHOLD_DBFS)
    trimmed = audio[start : len(audio) - end]
    return trimmed if len(trimmed) > 0 else audio


def _level(audio: AudioSegment, target_dbfs: float) -> AudioSegment:
    """Bring the average level to `target_dbfs`, then pull back so no peak passes the limit."""
    if audio.rms == 0:
        return audio
    levelled = audio.apply_gain(target_dbfs - audio.dBFS)
    overshoot = levelled.max_dBFS - PEAK_LIMIT_DBFS
    return levelled.apply_gain(-overshoot) if overshoot > 0 else levelled
