"""Try the station's voice, then the offline fallback, and say which one served."""

from dataclasses import dataclass
from pathlib import Path

from broadcaster.config import SpeechSettings
from broadcaster.errors import SpeechFailedError, UnknownVoiceError
from broadcaster.i18n import _
from broadcaster.speech.base import SpeechUnavailable
from broadcaster.speech.registry import create_engine
from broadcaster.voices import all_voices, engine_for


@dataclass(frozen=True)
class SpeechResult:
    path: Path
    engine: str
    voice: str
    failures: tuple[str, ...]
    """Why each engine tried before this one failed, in order."""


def speech_plan(voice: str, settings: SpeechSettings) -> list[tuple[str, str]]:
    """The (engine, voice) pairs to try, best first; an online voice falls back to espeak-ng."""
    engine = engine_for(voice)
    if engine is None:
        raise UnknownVoiceError(
            _("Unknown voice '{voice}'. Known voices: {known}.").format(
                voice=voice, known=", ".join(all_voices())
            )
        )
    plan = [(engine, voice)]
    if engine != "espeak":
        plan.append(("espeak", settings.fallback_voice))
    return plan


def render_speech(text: str, voice: str, settings: SpeechSettings, workdir: Path) -> SpeechResult:
    failures: list[str] = []
    for engine_name, engine_voice in speech_plan(voice, settings):
        try:
            path = create_engine(engine_name, settings).synthesize(text, engine_voice, workdir)
        except SpeechUnavailable as error:
            failures.append(error.reason)
            continue
        return SpeechResult(path, engine_name, engine_voice, tuple(failures))
    raise SpeechFailedError(
        _("No voice could read the announcement: {reasons}").format(reasons=" ".join(failures))
    )
