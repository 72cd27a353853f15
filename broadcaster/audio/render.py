"""Program → PCM in the output's format, one segment at a time, each at broadcast loudness.

Segments are produced one by one so that a long program is never whole in memory; every
audible segment is brought to the same integrated loudness (chimes match speech) with its true
peaks limited, converted to the output's rate and channels, and faded in and out (no clicks).
pydub lives here and in `decode`; the rest of Loa sees Programs and AudioSegments.
"""

from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
from pydub import AudioSegment
from pydub.silence import detect_leading_silence

from broadcaster.audio.chimes import JINGLES_DIR
from broadcaster.audio.decode import load_audio
from broadcaster.audio.loudness import normalize
from broadcaster.models import Gap, Jingle, Program, Recording, Speech
from broadcaster.settings import OutputSettings

SILENCE_THRESHOLD_DBFS = -50.0
JOIN_PAUSE_MS = 300
LEAD_IN_MS = 300
"""Silence before the first chime: sound cards and amplifiers that wake from standby swallow the
first moments of a stream (25 ms lost were measured through ALSA's PulseAudio plugin)."""
FADE_MS = 10
PEAK_MARGIN_DB = 0.3
"""Headroom under the true-peak ceiling for rounding to 16-bit samples after limiting."""
FULL_SCALE = 32768


def bundled_jingle(name: str) -> Path:
    return JINGLES_DIR / f"{name}.wav"


def render_program(
    program: Program,
    speech_files: Mapping[Speech, Path],
    jingle_files: Mapping[str, Path],
    output: OutputSettings,
) -> Iterator[AudioSegment]:
    """The program's audio, segment by segment, pauses included, in the output's format."""

    def silence(ms: float) -> AudioSegment:
        return AudioSegment.silent(duration=ms, frame_rate=output.sample_rate).set_channels(
            output.channels
        )

    yield silence(LEAD_IN_MS)
    previous: tuple[object, AudioSegment] | None = None
    for index, segment in enumerate(program.segments):
        if isinstance(segment, Gap):
            yield silence(segment.seconds * 1000)
            continue
        if index > 0 and not isinstance(program.segments[index - 1], Gap):
            yield silence(JOIN_PAUSE_MS)
        if previous is None or previous[0] != segment:  # a repeat reuses the last rendering
            previous = (segment, _prepare(segment, speech_files, jingle_files, output))
        yield previous[1]


def _prepare(
    segment: Jingle | Speech | Recording,
    speech_files: Mapping[Speech, Path],
    jingle_files: Mapping[str, Path],
    output: OutputSettings,
) -> AudioSegment:
    if isinstance(segment, Jingle):
        audio = load_audio(jingle_files.get(segment.name, bundled_jingle(segment.name)))
    else:
        path = speech_files[segment] if isinstance(segment, Speech) else Path(segment.path)
        audio = _trim(load_audio(path))
    audio = audio.set_frame_rate(output.sample_rate).set_channels(output.channels)
    levelled = normalize(
        _samples(audio),
        output.sample_rate,
        output.loudness_lufs,
        output.true_peak_dbtp - PEAK_MARGIN_DB,
    )
    return _segment(levelled, audio).fade_in(FADE_MS).fade_out(FADE_MS)


def _trim(audio: AudioSegment) -> AudioSegment:
    """Cut the silence engines and phones leave at both ends, so the chimes frame the words."""
    start = detect_leading_silence(audio, SILENCE_THRESHOLD_DBFS)
    end = detect_leading_silence(audio.reverse(), SILENCE_THRESHOLD_DBFS)
    trimmed = audio[start : len(audio) - end]
    return trimmed if len(trimmed) > 0 else audio


def _samples(audio: AudioSegment) -> np.ndarray:
    """Float samples shaped (frames, channels), from 16-bit PCM."""
    pcm = np.frombuffer(audio.set_sample_width(2).raw_data, dtype="<i2")
    return pcm.reshape(-1, audio.channels).astype(np.float64) / FULL_SCALE


def _segment(samples: np.ndarray, like: AudioSegment) -> AudioSegment:
    pcm = np.clip(np.round(samples * FULL_SCALE), -FULL_SCALE, FULL_SCALE - 1).astype("<i2")
    return AudioSegment(
        data=pcm.tobytes(), sample_width=2, frame_rate=like.frame_rate, channels=like.channels
    )
