"""Every speech engine Loa knows, each described once: adding an engine is one EngineSpec here
(and its voice names in core/voices.py, which the station file checks without any engine)."""

from collections.abc import Callable
from dataclasses import dataclass

from broadcaster.core.settings import SpeechSettings
from broadcaster.core.voices import EDGE_VOICES, ESPEAK_VOICES
from broadcaster.speech.base import SpeechEngine
from broadcaster.speech.normalize import Lexicon, normalize_for_edge, normalize_for_espeak


@dataclass(frozen=True)
class EngineSpec:
    name: str
    voices: tuple[str, ...]
    factory: Callable[[SpeechSettings], SpeechEngine]
    """Creates the engine; raises SpeechUnavailable when its tool is missing."""
    preparer: Callable[[str, Lexicon], str]
    """The text exactly as the engine should receive it (`loa text` shows it); no engine, and
    so no tool, is needed to know it."""
    cacheable: bool
    """Its speech is worth keeping: online speech is slow and may be unavailable at air time."""
    offline: bool
    """Works without the network: the last voice before the officer's recording."""


def _edge(settings: SpeechSettings) -> SpeechEngine:
    # edge-tts and aiohttp weigh ~20 MB: loaded when online speech is first needed
    from broadcaster.speech.edge import EdgeEngine

    return EdgeEngine(settings)


def _espeak(settings: SpeechSettings) -> SpeechEngine:
    from broadcaster.speech.espeak import EspeakEngine

    return EspeakEngine(settings)


ENGINES: dict[str, EngineSpec] = {
    spec.name: spec
    for spec in (
        EngineSpec("edge", EDGE_VOICES, _edge, normalize_for_edge, cacheable=True, offline=False),
        EngineSpec(
            "espeak", ESPEAK_VOICES, _espeak, normalize_for_espeak, cacheable=False, offline=True
        ),
    )
}


def create_engine(name: str, settings: SpeechSettings) -> SpeechEngine:
    """Create the engine; raises SpeechUnavailable when its tool is missing."""
    return ENGINES[name].factory(settings)
