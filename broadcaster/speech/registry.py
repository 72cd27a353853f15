"""Speech engines by name, as the station config and voices refer to them."""

from collections.abc import Callable

from broadcaster.settings import SpeechSettings
from broadcaster.speech.base import SpeechEngine
from broadcaster.speech.edge import EdgeEngine
from broadcaster.speech.espeak import EspeakEngine

ENGINES: dict[str, Callable[[SpeechSettings], SpeechEngine]] = {
    "edge": EdgeEngine,
    "espeak": EspeakEngine,
}


def create_engine(name: str, settings: SpeechSettings) -> SpeechEngine:
    """Create the engine; raises SpeechUnavailable when its tool is missing."""
    return ENGINES[name](settings)
