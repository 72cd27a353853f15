"""Speech for a broadcast: the cache, then the online voices, then espeak-ng, then the officer's
own recording — and the caller learns which one served and why the ones before it did not."""

from dataclasses import dataclass, field
from pathlib import Path

from broadcaster.core.settings import SpeechSettings, Station
from broadcaster.core.voices import VOICES_BY_ENGINE, all_voices, engine_for
from broadcaster.errors import CacheError, EmptyTextError, SpeechFailedError, UnknownVoiceError
from broadcaster.i18n import _
from broadcaster.speech.base import SpeechEngine, SpeechUnavailable, save_speech
from broadcaster.speech.cache import AudioCache, CacheKey
from broadcaster.speech.normalize import LEXICON_FILE, Lexicon, load_lexicon
from broadcaster.speech.registry import PREPARERS, create_engine

CACHED_ENGINES = ("edge",)
"""Only online speech is worth keeping: espeak-ng renders offline at hundreds of times real time."""
RECORDING = "recording"


@dataclass(frozen=True)
class SpeechResult:
    path: Path
    engine: str
    """'edge', 'espeak' or 'recording'."""
    voice: str
    cached: bool
    failures: tuple[str, ...]
    """What went wrong before this result was found, in order (shown as warnings)."""

    @property
    def source(self) -> str:
        """What the as-run log records: 'cache', 'edge', 'espeak' or 'recording'."""
        return "cache" if self.cached else self.engine


@dataclass
class Speaker:
    """Renders speech for one station, with its settings, lexicon and cache."""

    settings: SpeechSettings
    lexicon: Lexicon = field(default_factory=lambda: Lexicon({}))
    cache: AudioCache | None = None
    _engines: dict[str, SpeechEngine] = field(default_factory=dict)

    @classmethod
    def for_station(cls, station: Station) -> "Speaker":
        return cls(
            station.speech,
            load_lexicon(station.announcements_dir / LEXICON_FILE),
            AudioCache.for_station(station),
        )

    def plan(self, voice: str) -> list[tuple[str, str]]:
        """The (engine, voice) pairs to try, best first: an online voice, the other online
        voices (a voice sometimes goes mute alone), then the offline voice."""
        engine = engine_for(voice)
        if engine is None:
            raise UnknownVoiceError(
                _("Unknown voice '{voice}'. Known voices: {known}.").format(
                    voice=voice, known=", ".join(all_voices())
                )
            )
        if engine == "espeak":
            return [("espeak", voice)]
        others = [v for v in VOICES_BY_ENGINE[engine] if v != voice]
        return [(engine, v) for v in (voice, *others)] + [("espeak", self.settings.fallback_voice)]

    def check(self, text: str, voice: str) -> None:
        """Refuse an unknown voice or a text with nothing to read, before anything is rendered."""
        self.prepared_text(text, self.plan(voice)[0][0])

    def prepared_text(self, text: str, engine_name: str) -> str:
        """Exactly what `engine_name` receives for `text`; refuses text that prepares to nothing."""
        prepared = PREPARERS[engine_name](text, self.lexicon).strip()
        if not any(character.isalnum() for character in prepared):
            raise EmptyTextError(
                _("Nothing is left to read once the text is prepared for the voice: check it.")
            )
        return prepared

    def cached(self, text: str, voice: str, workdir: Path) -> SpeechResult | None:
        """Speech already in the cache, copied into `workdir` for this broadcast alone."""
        hit = self._hit(text, voice)
        if hit is None:
            return None
        engine_name, engine_voice, audio, suffix = hit
        path = save_speech(workdir, "cache", suffix, audio)
        return SpeechResult(path, engine_name, engine_voice, True, ())

    def is_cached(self, text: str, voice: str) -> bool:
        return self._hit(text, voice) is not None

    def _hit(self, text: str, voice: str) -> tuple[str, str, bytes, str] | None:
        for engine_name, engine_voice in self.plan(voice):
            if self.cache is None or engine_name not in CACHED_ENGINES:
                continue
            found = self.cache.get(self._key(engine_name, engine_voice, text))
            if found is not None:
                return (engine_name, engine_voice, *found)
        return None

    def render(
        self, text: str, voice: str, workdir: Path, recording: Path | None = None
    ) -> SpeechResult:
        """Speech for `text`, from the first source that works; raises SpeechFailedError with
        every reason when none does."""
        found = self.cached(text, voice, workdir)
        if found is not None:
            return found
        failures: list[str] = []
        given_up: set[str] = set()
        for engine_name, engine_voice in self.plan(voice):
            if engine_name in given_up:
                continue
            try:
                engine = self._engine(engine_name)
                path = engine.synthesize(
                    self.prepared_text(text, engine_name), engine_voice, workdir
                )
            except SpeechUnavailable as error:
                failures.append(error.reason)
                if not error.voice_specific:
                    given_up.add(engine_name)
                continue
            failures.extend(self._keep(engine_name, engine_voice, text, path))
            return SpeechResult(path, engine_name, engine_voice, False, tuple(failures))
        if recording is not None:
            return SpeechResult(recording, RECORDING, "", False, tuple(failures))
        raise SpeechFailedError(
            _("No voice could read the announcement: {reasons}").format(
                reasons="; ".join(reason.rstrip(".") for reason in failures) + "."
            )
        )

    def _keep(self, engine_name: str, voice: str, text: str, path: Path) -> list[str]:
        """Store fresh online speech; a full disk must not stop the broadcast, only warn."""
        if self.cache is None or engine_name not in CACHED_ENGINES:
            return []
        try:
            self.cache.put(self._key(engine_name, voice, text), path)
        except CacheError as error:
            return [error.message]
        return []

    def _key(self, engine_name: str, voice: str, text: str) -> CacheKey:
        s = self.settings
        return CacheKey(
            engine_name,
            self._engine(engine_name).version,
            voice,
            s.rate,
            s.pitch,
            s.volume,
            self.prepared_text(text, engine_name),
        )

    def _engine(self, name: str) -> SpeechEngine:
        if name not in self._engines:
            self._engines[name] = create_engine(name, self.settings)
        return self._engines[name]
