"""Speech for a broadcast: the requested voice (from the cache, else its engine), then the other
online voices, then espeak-ng, then the officer's own recording — and the caller learns which one
served and why the ones before it did not."""

from dataclasses import dataclass, field
from pathlib import Path

from broadcaster.core.settings import SpeechSettings, Station
from broadcaster.core.voices import all_voices, engine_for
from broadcaster.errors import CacheError, EmptyTextError, SpeechFailedError, UnknownVoiceError
from broadcaster.i18n import _
from broadcaster.speech.base import SpeechEngine, SpeechUnavailable, save_speech
from broadcaster.speech.cache import AudioCache, CacheKey
from broadcaster.speech.normalize import Lexicon, load_lexicon
from broadcaster.speech.registry import ENGINES, create_engine

CACHED_ENGINES = tuple(name for name, spec in ENGINES.items() if spec.cacheable)
"""Only online speech is worth keeping: espeak-ng renders offline at hundreds of times real time."""
RECORDING = "recording"


@dataclass(frozen=True)
class SpeechResult:
    path: Path
    engine: str
    """An engine's name ('edge', 'espeak') or 'recording'."""
    voice: str
    cached: bool
    failures: tuple[str, ...]
    """What went wrong before this result was found, in order (shown as warnings)."""

    @property
    def source(self) -> str:
        """What the as-run log records: 'cache', an engine's name or 'recording'."""
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
            load_lexicon(station.lexicon_file, inside=station.directory),
            AudioCache.for_station(station),
        )

    def plan(self, voice: str) -> list[tuple[str, str]]:
        """The (engine, voice) pairs to try, best first: the requested voice, the other voices
        of its engine (an online voice sometimes goes mute alone), then the offline voice."""
        engine = engine_for(voice)
        if engine is None:
            raise UnknownVoiceError(
                _("Unknown voice '{voice}'. Known voices: {known}.").format(
                    voice=voice, known=", ".join(all_voices())
                )
            )
        spec = ENGINES[engine]
        if spec.offline:
            return [(engine, voice)]
        others = [v for v in spec.voices if v != voice]
        offline = [(name, self.settings.fallback_voice)] if (name := self._offline_engine()) else []
        return [(engine, v) for v in (voice, *others)] + offline

    def _offline_engine(self) -> str | None:
        name = engine_for(self.settings.fallback_voice)
        return name if name is not None and ENGINES[name].offline else None

    def check(self, text: str, voice: str) -> None:
        """Refuse an unknown voice or a text with nothing to read, before anything is rendered."""
        self.prepared_text(text, self.plan(voice)[0][0])

    def prepared_text(self, text: str, engine_name: str) -> str:
        """Exactly what `engine_name` receives for `text`; refuses text that prepares to nothing."""
        prepared = ENGINES[engine_name].preparer(text, self.lexicon).strip()
        if not any(character.isalnum() for character in prepared):
            raise EmptyTextError(
                _("Nothing is left to read once the text is prepared for the voice: check it.")
            )
        return prepared

    def needs_cache(self, voice: str) -> bool:
        """Whether speech in `voice` is kept in the cache (online voices), so worth warming."""
        return ENGINES[self.plan(voice)[0][0]].cacheable

    def is_cached(self, text: str, voice: str) -> bool:
        """Whether `voice` itself (not a fallback voice) has `text` in the cache."""
        engine_name = self.plan(voice)[0][0]
        return self._from_cache(engine_name, voice, text) is not None

    def _from_cache(self, engine_name: str, voice: str, text: str) -> tuple[bytes, str] | None:
        if self.cache is None or not ENGINES[engine_name].cacheable:
            return None
        return self.cache.get(self._key(engine_name, voice, text))

    def render(
        self, text: str, voice: str, workdir: Path, recording: Path | None = None
    ) -> SpeechResult:
        """Speech for `text`, from the first source that works: the requested voice (its cache,
        then its engine), then each fallback in turn (the cache first again). A fallback always
        carries the reasons the sources before it failed; raises SpeechFailedError with every
        reason when no source works."""
        failures: list[str] = []
        given_up: set[str] = set()
        for engine_name, engine_voice in self.plan(voice):
            try:
                hit = self._from_cache(engine_name, engine_voice, text)
                if hit is not None:
                    audio, suffix = hit
                    path = save_speech(workdir, "cache", suffix, audio)
                    return SpeechResult(path, engine_name, engine_voice, True, tuple(failures))
                if engine_name in given_up:
                    continue
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
        if self.cache is None or not ENGINES[engine_name].cacheable:
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
