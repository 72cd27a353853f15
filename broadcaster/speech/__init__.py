"""Speech: engines chosen by name, tried in order until one speaks.

A station must not go silent because the online voice failed: the caller gets audio from the
first engine that works, plus the reasons the ones before it failed.
"""

from broadcaster.speech.base import SpeechEngine, SpeechUnavailable
from broadcaster.speech.chain import Speaker, SpeechResult
from broadcaster.speech.registry import ENGINES, create_engine

__all__ = [
    "ENGINES",
    "Speaker",
    "SpeechEngine",
    "SpeechResult",
    "SpeechUnavailable",
    "create_engine",
]
