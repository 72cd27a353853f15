"""Speech engines by name, as the station config and voices refer to them."""

from collections.abc import Callable

from broadcaster.core.settings import SpeechSettings
from broadcaster.speech.base import SpeechEngine
from broadcaster.speech.edge import EdgeEngine
from broadcaster.speech.espeak import EspeakEngine
from broadcaster.speech.normalize import Lexicon, normalize_for_edge, normalize_for_espeak

ENGINES: dict[str, Callable[[SpeechSettings], SpeechEngine]] = {
    "edge": EdgeEngine,
    "espeak": EspeakEngine,
}


PREPARERS: dict[str, Callable[[str, Lexicon], str]] = {
    "edge": normalize_for_edge,
    "espeak": normalize_for_espeak,
}
"""The text exactly as each engine should receive it (`loa text` shows it); no engine, and so no
tool, is needed to know it."""


def create_engine(name: str, settings: SpeechSettings) -> SpeechEngine:
    """Create the engine; raises SpeechUnavailable when its tool is missing."""
    return ENGINES[name](settings)
