"""Program -> PCM in the output's format, in chunks of a few seconds, at broadcast loudness.

Nothing is ever whole in memory, however long a recording or a gap: each audible segment is
streamed from its file several times — to find where the sound starts and ends and how loud it
is, to learn how much the true-peak limiter will take off, and to produce it — and every chunk is
resampled to the output's rate and channels, trimmed of the silence around the words, brought
to the station's loudness with its true peaks limited, and faded in and out at the ends.
"""

import hashlib
import itertools
import math
import subprocess
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TypeAlias

import miniaudio
import numpy as np
from pydub import AudioSegment

from broadcaster.audio.api import Chunk
from broadcaster.audio.chimes import JINGLES_DIR
from broadcaster.audio.decode import (
    ffmpeg_or_error,
    miniaudio_reads,
    os_error,
    silent,
    unreadable,
)
from broadcaster.audio.loudness import LUFS_OFFSET_DB, LoudnessMeter, limit
from broadcaster.core.models import Gap, Jingle, MusicBed, Program, Speech
from broadcaster.core.settings import OutputSettings
from broadcaster.programs import ffmpeg_input

CHUNK_S = 5.0
SILENCE_THRESHOLD = 10 ** (-50 / 20)
"""Below -50 dBFS is the room, not the voice: cut at both ends of speech and recordings."""
JOIN_PAUSE_MS = 300
LEAD_IN_MS = 300
"""Silence before the first chime: sound cards and amplifiers that wake from standby swallow the
first moments of a stream (25 ms lost were measured through ALSA's PulseAudio plugin)."""
FADE_MS = 10
PEAK_MARGIN_DB = 0.3
"""Headroom under the true-peak ceiling for rounding to 16-bit samples after limiting."""
LIMITER_MARGIN_S = 0.02
"""Context on each side of a chunk, so the limiter sees peaks just across its edges."""
FULL_SCALE = 32768
BED_RAMP_S = 0.3
GATED_MIN_S = 0.4
MAX_GAIN_DB = 30.0
"""A quiet phone recording may need a lot of gain; more than this only amplifies hiss."""
LIMITER_CORRECTIONS = 2
CORRECTION_TOLERANCE_LU = 0.5
LEVELS_KEPT = 512
"""Analyses remembered (a few dozen bytes each)."""
JINGLES_KEPT = 8
JINGLE_KEPT_S = 10.0
"""Chimes up to this long are kept ready to play (about 3 MB each at 48 kHz stereo)."""

Source: TypeAlias = Callable[[], Iterator[np.ndarray]]


def bundled_jingle(name: str) -> Path:
    return JINGLES_DIR / f"{name}.wav"


def render_program(
    program: Program,
    speech_files: Mapping[Speech, Path],
    jingle_files: Mapping[str, Path],
    output: OutputSettings,
) -> Iterator[Chunk]:
    """The program's audio in order, pauses included, in chunks of at most CHUNK_S seconds."""
    parts = _parts(program, speech_files, jingle_files, output)
    if program.bed is not None:
        bed = _Bed(program.bed, output)
        mixed = (bed.under(chunk, under) for chunk, under in parts)
        yield from (_pcm(chunk, output) for chunk in _limited(mixed, output))
    else:
        yield from (_pcm(chunk, output) for chunk, _under in parts)


def _parts(
    program: Program,
    speech_files: Mapping[Speech, Path],
    jingle_files: Mapping[str, Path],
    output: OutputSettings,
) -> Iterator[tuple[np.ndarray, "_Under"]]:
    """Float chunks, each with how the music bed may sound under it.

    Every file is analysed before the first chunk: a damaged or silent file stops the broadcast
    before it starts, never half-way.
    """
    sources: dict[object, tuple[Source, _Level, str]] = {}  # a repeat reuses its first analysis
    for segment in program.segments:
        if not isinstance(segment, Gap) and segment not in sources:
            if isinstance(segment, Jingle):
                path = jingle_files.get(segment.name, bundled_jingle(segment.name))
            elif isinstance(segment, Speech):
                path = speech_files[segment]
            else:
                path = Path(segment.path)
            source = _source(path, output)
            digest = _digest(path)
            level = _remembered_level(digest, source, output, trim=not isinstance(segment, Jingle))
            if level.gain == 0.0:
                raise silent(path)
            sources[segment] = (source, level, digest)
    yield from _silence(LEAD_IN_MS, output, _Under.NONE)
    for index, segment in enumerate(program.segments):
        if isinstance(segment, Gap):
            ducking = min(JOIN_PAUSE_MS, segment.seconds * 1000)  # duck before the next play
            yield from _silence(segment.seconds * 1000 - ducking, output, _Under.FULL)
            yield from _silence(ducking, output, _Under.DUCKED)
            continue
        if index > 0 and not isinstance(program.segments[index - 1], Gap):
            before = _Under.NONE if isinstance(segment, Jingle) else _Under.DUCKED
            yield from _silence(JOIN_PAUSE_MS, output, before)
        source, level, digest = sources[segment]
        if isinstance(segment, Jingle):
            chunks: Iterable[np.ndarray] = _jingle(digest, source, level, output)
        else:
            chunks = _produce(source, level, output)
        under = _Under.NONE if isinstance(segment, Jingle) else _Under.DUCKED
        yield from ((chunk, under) for chunk in chunks)


class _Under(Enum):
    """How the music bed may sound under a chunk: not at all (chimes, before and after the
    message), ducked (under speech and just before it), or at its level (between plays)."""

    NONE = "none"
    DUCKED = "ducked"
    FULL = "full"


class _Bed:
    """Music looped under the messages: at its level between them, ducked under speech, with
    short ramps so it never jumps."""

    def __init__(self, bed: MusicBed, output: OutputSettings) -> None:
        self.source = _source(Path(bed.path), output)
        self.level = _analyse(self.source, output, trim=False)
        self.full = self.level.gain * 10 ** (bed.level_lu / 20)
        self.ducked = 10 ** (-bed.duck_lu / 20)
        self.step = 1 / (output.sample_rate * BED_RAMP_S)
        self.current = 0.0
        self.channels = output.channels
        self.step_frames = int(output.sample_rate * CHUNK_S)
        self.music = self._loop()
        self.pending = np.zeros((0, output.channels))

    def under(self, chunk: np.ndarray, under: "_Under") -> np.ndarray:
        target = {_Under.NONE: 0.0, _Under.DUCKED: self.ducked, _Under.FULL: 1.0}[under]
        ramp = self._ramp(target, len(chunk))
        mixed: np.ndarray = chunk + self._take(len(chunk)) * (self.full * ramp)[:, np.newaxis]
        return mixed

    def _ramp(self, target: float, count: int) -> np.ndarray:
        steps = self.current + np.sign(target - self.current) * self.step * np.arange(1, count + 1)
        ramp = np.minimum(steps, target) if target >= self.current else np.maximum(steps, target)
        self.current = float(ramp[-1]) if count else self.current
        gains: np.ndarray = ramp
        return gains

    def _take(self, count: int) -> np.ndarray:
        while len(self.pending) < count:
            self.pending = np.concatenate([self.pending, next(self.music)])
        taken, self.pending = self.pending[:count], self.pending[count:]
        return taken

    def _loop(self) -> Iterator[np.ndarray]:
        if self.level.end == 0:  # a file with no frames at all: nothing to loop
            yield from itertools.repeat(np.zeros((self.step_frames, self.channels)))
        while True:
            yield from self.source()


@dataclass(frozen=True)
class _Level:
    start: int
    end: int
    """The frames that hold sound (after trimming), as [start, end)."""
    gain: float


_levels: dict[tuple[str, OutputSettings, bool], _Level] = {}
"""The analyses already made, by the audio's content: a cache hit, a chime or a recording aired
again starts at once instead of being measured again (three or four decodes of the file)."""


def _remembered_level(digest: str, source: Source, output: OutputSettings, trim: bool) -> _Level:
    key = (digest, output, trim)
    level = _levels.get(key)
    if level is None:
        level = _analyse(source, output, trim)
        if len(_levels) >= LEVELS_KEPT:
            _levels.pop(next(iter(_levels)))  # the oldest
        _levels[key] = level
    return level


_jingles: dict[tuple[str, OutputSettings], tuple[np.ndarray, ...]] = {}
"""Chimes as played, ready: most broadcasts open with one, so the first sound needs no work."""


def _jingle(
    digest: str, source: Source, level: _Level, output: OutputSettings
) -> Iterable[np.ndarray]:
    key = (digest, output)
    if key not in _jingles:
        chunks = tuple(_produce(source, level, output))
        for chunk in chunks:
            chunk.setflags(write=False)  # shared by every broadcast that plays the chime
        if level.end - level.start > output.sample_rate * JINGLE_KEPT_S:
            return chunks  # a station's long jingle: not worth the memory
        if len(_jingles) >= JINGLES_KEPT:
            _jingles.pop(next(iter(_jingles)))
        _jingles[key] = chunks
    return _jingles[key]


def _digest(path: Path) -> str:
    try:
        with path.open("rb") as file:
            return hashlib.file_digest(file, "sha256").hexdigest()
    except OSError as error:
        raise os_error(path, error) from error


def _analyse(source: Source, output: OutputSettings, trim: bool) -> _Level:
    """Where the sound is, and the gain that brings it to the target once limited."""
    start, end, total, energy = None, 0, 0, 0.0
    for chunk in source():
        loud = np.flatnonzero(np.max(np.abs(chunk), axis=1) > SILENCE_THRESHOLD)
        if len(loud):
            start = total + loud[0] if start is None else start
            end = total + loud[-1] + 1
        total += len(chunk)
        energy += float(np.sum(chunk.astype(np.float64) ** 2))
    if not trim:
        start, end = 0, total
    if start is None or end <= start or energy == 0.0:
        return _Level(0, total, 0.0)
    measured = _loudness(_trimmed(source(), _Level(start, end, 1.0)), output)
    if measured is None:
        if end - start >= output.sample_rate * GATED_MIN_S:
            return _Level(start, end, 0.0)  # long enough to measure, yet nothing but hiss
        # too short to gate: its plain level will do
        measured = 10 * math.log10(energy / ((end - start) * output.channels)) + LUFS_OFFSET_DB
    gain_db = min(output.loudness_lufs - measured, MAX_GAIN_DB)
    for _correction in range(LIMITER_CORRECTIONS):  # limiting takes some loudness off
        limited = _loudness(
            _limited(_trimmed(source(), _Level(start, end, 10 ** (gain_db / 20))), output), output
        )
        if limited is None or abs(output.loudness_lufs - limited) < CORRECTION_TOLERANCE_LU:
            break
        gain_db = min(gain_db + output.loudness_lufs - limited, MAX_GAIN_DB)
    return _Level(start, end, 10 ** (gain_db / 20))


def _loudness(chunks: Iterator[np.ndarray], output: OutputSettings) -> float | None:
    meter = LoudnessMeter(output.sample_rate, output.channels)
    for chunk in chunks:
        meter.add(chunk)
    return meter.integrated()


def _produce(source: Source, level: _Level, output: OutputSettings) -> Iterator[np.ndarray]:
    fade = int(output.sample_rate * FADE_MS / 1000)
    position = 0
    length = level.end - level.start
    for chunk in _limited(_trimmed(source(), level), output):
        frames = np.arange(position, position + len(chunk))
        ramp = np.clip(np.minimum(frames + 1, length - frames) / fade, 0.0, 1.0)
        yield chunk * ramp[:, np.newaxis]
        position += len(chunk)


def _trimmed(chunks: Iterator[np.ndarray], level: _Level) -> Iterator[np.ndarray]:
    """The chunks cut to [start, end) and multiplied by the gain."""
    position = 0
    for chunk in chunks:
        low, high = max(level.start - position, 0), min(level.end - position, len(chunk))
        position += len(chunk)
        if low < high:
            yield chunk[low:high] * level.gain


def _limited(chunks: Iterator[np.ndarray], output: OutputSettings) -> Iterator[np.ndarray]:
    """Each chunk limited with some of its neighbours as context, one chunk behind."""
    ceiling = 10 ** ((output.true_peak_dbtp - PEAK_MARGIN_DB) / 20)
    margin = int(output.sample_rate * LIMITER_MARGIN_S)
    previous: np.ndarray | None = None
    current: np.ndarray | None = None
    for following in itertools.chain(chunks, [None]):
        if current is not None:
            before = previous[-margin:] if previous is not None else current[:0]
            after = following[:margin] if following is not None else current[:0]
            window = limit(np.concatenate([before, current, after]), output.sample_rate, ceiling)
            yield window[len(before) : len(before) + len(current)]
        previous, current = current, following


def _source(path: Path, output: OutputSettings) -> Source:
    """A way to stream `path` from the start, as float chunks in the output's format."""
    frames = int(output.sample_rate * CHUNK_S)
    if miniaudio_reads(path):

        def decoded() -> Iterator[np.ndarray]:
            try:
                stream = miniaudio.stream_file(
                    str(path),
                    output_format=miniaudio.SampleFormat.FLOAT32,
                    nchannels=output.channels,
                    sample_rate=output.sample_rate,
                    frames_to_read=frames,
                )
                for block in stream:
                    yield np.frombuffer(block, dtype=np.float32).reshape(-1, output.channels)
            except OSError as error:
                raise os_error(path, error) from error
            except miniaudio.MiniaudioError as error:
                raise unreadable(path) from error

        return decoded

    ffmpeg = ffmpeg_or_error(path)

    def converted() -> Iterator[np.ndarray]:
        command = [
            ffmpeg,
            "-nostdin",
            "-v",
            "error",
            "-i",
            ffmpeg_input(path),
            "-f",
            "f32le",
            "-ar",
            str(output.sample_rate),
            "-ac",
            str(output.channels),
            "-",
        ]
        with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as run:
            assert run.stdout is not None
            size = frames * output.channels * 4
            while block := run.stdout.read(size):
                usable = len(block) - len(block) % (output.channels * 4)
                yield np.frombuffer(block[:usable], dtype="<f4").reshape(-1, output.channels)
            if run.wait() != 0:
                raise unreadable(path)

    return converted


def _silence(
    ms: float, output: OutputSettings, under: "_Under"
) -> Iterator[tuple[np.ndarray, "_Under"]]:
    remaining = int(output.sample_rate * ms / 1000)
    step = int(output.sample_rate * CHUNK_S)
    while remaining > 0:
        count = min(step, remaining)
        yield np.zeros((count, output.channels)), under
        remaining -= count


def _pcm(samples: np.ndarray, output: OutputSettings) -> AudioSegment:
    pcm = np.clip(np.round(samples * FULL_SCALE), -FULL_SCALE, FULL_SCALE - 1).astype("<i2")
    return AudioSegment(
        data=pcm.tobytes(),
        sample_width=2,
        frame_rate=output.sample_rate,
        channels=output.channels,
    )
