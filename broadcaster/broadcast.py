"""The paths from an announcement to sound, shared by the CLI now and the daemon later."""

import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from broadcaster.core.compose import DEFAULT_GAP_S, clean_text, compose_program
from broadcaster.core.models import Announcement, Program, Speech
from broadcaster.core.settings import Station
from broadcaster.errors import DiskError, LoaError
from broadcaster.speech import Speaker, SpeechResult
from broadcaster.speech.registry import ENGINES
from broadcaster.station.announcements import announcement_or_recording

if TYPE_CHECKING:
    from broadcaster.audio.api import AudioOutput, Chunk
from broadcaster.station.lookahead import announcements_due


@dataclass(frozen=True)
class BroadcastResult:
    speech: tuple[SpeechResult, ...]
    duration_s: float


def broadcast(
    station: Station,
    announcement: Announcement,
    *,
    voice: str | None = None,
    repeat: int = 1,
    gap_s: float = DEFAULT_GAP_S,
    emergency: bool = False,
    out: Path | None = None,
    output: "AudioOutput | None" = None,
    stop: threading.Event | None = None,
    start_at: float | None = None,
) -> BroadcastResult:
    """Compose, speak, render and deliver one announcement.

    Everything that can be refused (text, voice, repeats, files, the sound device) is checked
    before any speech is rendered; rendering and playing then go segment by segment. `stop`
    ends playback early; `start_at` (time.time()) holds the first sample until then.
    """
    # numpy and miniaudio (~25 MB) are loaded by the first broadcast, not by an idle station
    from broadcaster.audio.outputs import OUTPUTS, file_output

    speaker = Speaker.for_station(station)
    program = check_broadcast(
        station,
        announcement,
        voice=voice,
        repeat=repeat,
        gap_s=gap_s,
        emergency=emergency,
        speaker=speaker,
    )
    destination = (
        file_output(out) if out is not None else output or OUTPUTS[station.output.device]()
    )
    played_ms = 0.0
    with _workdir() as workdir:
        spoken, segments = _speak_and_render(station, announcement, program, speaker, workdir)

        def counted() -> "Iterator[Chunk]":
            nonlocal played_ms
            for segment in segments:
                played_ms += len(segment)
                yield segment

        destination.play(counted(), stop, start_at)
    return BroadcastResult(tuple(spoken.values()), played_ms / 1000)


def rendered(station: Station, announcement: Announcement) -> "Iterator[Chunk]":
    """An announcement's program as chunks, rendered as they are taken: what a relay plays
    while its source is gone."""
    speaker = Speaker.for_station(station)
    program = check_broadcast(station, announcement, speaker=speaker)
    with _workdir() as workdir:
        yield from _speak_and_render(station, announcement, program, speaker, workdir)[1]


def _speak_and_render(
    station: Station, announcement: Announcement, program: Program, speaker: Speaker, workdir: Path
) -> tuple[dict[Speech, SpeechResult], "Iterator[Chunk]"]:
    """The program's speech (the officer's recording if no voice can read it), then its
    chunks, rendered as they are taken."""
    from broadcaster.audio.render import render_program

    fallback = Path(announcement.recording) if announcement.recording else None
    spoken = {
        speech: speaker.render(speech.text, speech.voice, workdir, fallback)
        for speech in program.speeches()
    }
    segments = render_program(
        program, {s: r.path for s, r in spoken.items()}, station.jingles, station.output
    )
    return spoken, segments


def check_broadcast(
    station: Station,
    announcement: Announcement,
    *,
    voice: str | None = None,
    repeat: int = 1,
    gap_s: float = DEFAULT_GAP_S,
    emergency: bool = False,
    speaker: Speaker | None = None,
) -> Program:
    """Everything about a broadcast that can be refused, checked before any speech is rendered:
    so that a running station refuses a bad request at once, not at air time. `speaker` is the
    broadcast's own, so that its lexicon is read once."""
    chosen_voice = voice or announcement.voice or station.speech.voice
    program = compose_program(
        announcement,
        chosen_voice,
        repeat=repeat,
        gap_s=gap_s,
        emergency=emergency,
        bed=station.music_bed,
    )
    speaker = speaker or Speaker.for_station(station)
    for speech in program.speeches():
        speaker.check(speech.text, speech.voice)
    files = {
        *(recording.path for recording in program.recordings()),
        *station.jingles.values(),
        *([announcement.recording] if announcement.recording else []),
    }
    from broadcaster.audio.decode import probe_audio  # see broadcast(): loaded when needed

    for path in files:  # each once, though a recording may be the message and the fallback
        probe_audio(Path(path), station.max_recording_minutes * 60)
    return program


@dataclass(frozen=True)
class WarmResult:
    announcement: str
    outcome: str
    """'cached' (already there), 'rendered', 'offline-voice' (its voice needs no cache),
    'recording' (nothing to read), 'offline' (the online voices failed; espeak-ng will read it)
    or 'failed'."""
    detail: str = ""


def warm_cache(
    station: Station,
    announcement_ids: Iterable[str],
    on_done: Callable[[WarmResult], None] = lambda _result: None,
) -> list[WarmResult]:
    """Render ahead the online speech of the announcements, so air time needs no network; one
    broken announcement is reported and the others are still warmed."""
    speaker = Speaker.for_station(station)
    results = []
    with _workdir() as workdir:
        for announcement_id in announcement_ids:
            try:
                announcement = announcement_or_recording(station, announcement_id)
                voice = announcement.voice or station.speech.voice
                if not announcement.text.strip():
                    result = WarmResult(announcement.id, "recording")
                elif not speaker.needs_cache(voice):
                    result = WarmResult(announcement.id, "offline-voice")
                elif speaker.is_cached(text := clean_text(announcement.text), voice):
                    result = WarmResult(announcement.id, "cached")
                else:
                    spoken = speaker.render(text, voice, workdir)
                    if ENGINES[spoken.engine].offline:
                        outcome = "offline"
                    elif speaker.is_cached(text, voice):
                        outcome = "rendered"
                    else:  # spoken online, but the cache could not keep it
                        outcome = "failed"
                    result = WarmResult(announcement.id, outcome, " ".join(spoken.failures))
            except LoaError as error:
                result = WarmResult(announcement_id, "failed", error.message)
            results.append(result)
            on_done(result)
    return results


@dataclass(frozen=True)
class Coverage:
    """How much of the online speech the schedules need soon is already in the cache."""

    cached: int
    needed: int
    missing: tuple[str, ...]


def cache_coverage(station: Station, now: datetime, hours: float) -> Coverage:
    """Announcements aired in the next `hours` whose online speech is (not) cached; those read
    by an offline voice or made of a recording need nothing."""
    speaker = Speaker.for_station(station)
    cached, missing = 0, []
    for announcement_id in announcements_due(station, now, hours):
        try:
            announcement = announcement_or_recording(station, announcement_id)
            voice = announcement.voice or station.speech.voice
            if not announcement.text.strip() or not speaker.needs_cache(voice):
                continue
            hit = speaker.is_cached(clean_text(announcement.text), voice)
        except LoaError:
            hit = False
        if hit:
            cached += 1
        else:
            missing.append(announcement_id)
    return Coverage(cached, cached + len(missing), tuple(missing))


@contextmanager
def _workdir() -> Iterator[Path]:
    """A private folder for one broadcast's intermediate audio, removed afterwards."""
    try:
        folder = tempfile.TemporaryDirectory(prefix="loa-")
    except OSError as error:
        raise DiskError.preparing(tempfile.gettempdir(), error) from error
    with folder as name:
        yield Path(name)
