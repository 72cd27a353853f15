"""The Vietnamese voices Loa knows, by speech engine.

Kept apart from the engines so that the station config can check a voice name without
starting any engine.
"""

EDGE_VOICES = ("vi-VN-HoaiMyNeural", "vi-VN-NamMinhNeural")
ESPEAK_VOICES = ("vi", "vi-vn-x-central", "vi-vn-x-south")

VOICES_BY_ENGINE: dict[str, tuple[str, ...]] = {"edge": EDGE_VOICES, "espeak": ESPEAK_VOICES}


def engine_for(voice: str) -> str | None:
    """The engine that speaks `voice`, or None when no engine knows it."""
    for engine, voices in VOICES_BY_ENGINE.items():
        if voice in voices:
            return engine
    return None


def all_voices() -> tuple[str, ...]:
    return tuple(v for voices in VOICES_BY_ENGINE.values() for v in voices)
