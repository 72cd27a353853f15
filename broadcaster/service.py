"""The one path from an announcement to sound, shared by the CLI now and the daemon later."""

import tempfile
from dataclasses import dataclass
from pathlib import Path

from broadcaster.audio.outputs import OUTPUTS, AudioOutput, WavFileOutput
from broadcaster.audio.render import render_program
from broadcaster.compose import compose_announcement
from broadcaster.config import Station
from broadcaster.models import Announcement
from broadcaster.speech import SpeechResult, render_speech
from broadcaster.speech.chain import speech_plan


@dataclass(frozen=True)
class BroadcastResult:
    speech: tuple[SpeechResult, ...]
    duration_s: float
    destination: str
    """'simpleaudio', 'null' or the path of the written file."""


def broadcast(
    station: Station,
    announcement: Announcement,
    *,
    voice: str | None = None,
    out: Path | None = None,
    output: AudioOutput | None = None,
) -> BroadcastResult:
    """Compose, speak, render and deliver one announcement.

    Everything that can be refused (text, voice, output file) is checked before speech is rendered.
    """
    chosen_voice = voice or announcement.voice or station.speech.voice
    program = compose_announcement(announcement.text, chosen_voice)
    speech_plan(chosen_voice, station.speech)
    destination: AudioOutput
    if out is not None:
        destination = WavFileOutput(out)
        destination_name = str(out)
    else:
        destination = output or OUTPUTS[station.output.device]()
        destination_name = station.output.device
    with tempfile.TemporaryDirectory(prefix="loa-") as workdir:
        spoken = {
            speech: render_speech(speech.text, speech.voice, station.speech, Path(workdir))
            for speech in program.speeches()
        }
        audio = render_program(
            program, {s: r.path for s, r in spoken.items()}, station.jingles, station.output
        )
    destination.play(audio)
    return BroadcastResult(tuple(spoken.values()), len(audio) / 1000, destination_name)
