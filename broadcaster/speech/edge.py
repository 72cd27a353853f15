"""Microsoft Edge's online neural voices through the edge-tts client.

The service is free but fails often: 403s when it changes its token, dropped connections that
end the audio early without an error, a voice that answers with no audio, no network in the
commune. Each request is retried a few times, checked for truncation, and every failure becomes
SpeechUnavailable so that the chain moves on.

edge-tts and aiohttp (~20 MB) are imported when speech is first requested, not when the engine is
created: a cache hit needs the engine's version, never the client.
"""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version as package_version
from pathlib import Path

from broadcaster.core.settings import SpeechSettings
from broadcaster.i18n import _
from broadcaster.speech.base import SpeechUnavailable, save_speech
from broadcaster.speech.split import split_text

CONNECT_TIMEOUT_S = 10
RECEIVE_TIMEOUT_S = 60
TURN_TIMEOUT_S = 20.0
TURN_TIMEOUT_PER_CHAR_S = 0.02
"""edge-tts's receive timeout stops guarding once the websocket is open, so a service that
accepts and then stalls would hang us: each request gets a deadline of its own."""
ATTEMPTS = 3
BACKOFF_S = (1.0, 3.0)
"""Waits before the second and third attempt: long enough for a token change to settle, short
enough for an announcement typed just before air time."""
FASTEST_CHARS_PER_S = 35.0
"""No Vietnamese voice reads faster than this at normal rate; audio shorter than the text needs
at this pace was cut off (the client reports a dropped connection as success)."""
CHECKED_MIN_CHARS = 20
TICKS_PER_S = 10_000_000
BOUNDARY_COVERAGE = 0.9
BOUNDARY_TOLERANCE_S = 0.3
"""The service's sentence boundaries say where the speech ends: audio that stops more than this
before is cut off, however plausible its length."""

SERVICE_RATE = 24_000
"""The rate the service's MP3 comes at: decoded at it to check the length, nothing is resampled."""

_endpoint_lock = threading.Lock()


class EdgeEngine:
    name = "edge"
    version = package_version("edge-tts")

    def __init__(self, settings: SpeechSettings) -> None:
        self.settings = settings

    def synthesize(self, text: str, voice: str, workdir: Path) -> Path:
        audio = b"".join(self._piece(piece, voice, workdir) for piece in split_text(text))
        return save_speech(workdir, self.name, ".mp3", audio)

    def _piece(self, text: str, voice: str, workdir: Path) -> bytes:
        """One piece of text, retried on failures that may pass; MP3 pieces join byte-wise."""
        import aiohttp
        from edge_tts.exceptions import EdgeTTSException, NoAudioReceived

        reason = ""
        for attempt in range(ATTEMPTS):
            if attempt > 0:
                time.sleep(BACKOFF_S[min(attempt, len(BACKOFF_S)) - 1])
            try:
                audio, spoken_s = self._request(text, voice)
            except (aiohttp.ClientConnectorError, TimeoutError) as error:
                # Offline or stalled: retrying would only delay the offline voice at air time.
                raise SpeechUnavailable(self._failed(voice, _describe(error))) from error
            except NoAudioReceived as error:
                raise SpeechUnavailable(
                    self._failed(voice, _("the service sent no audio.")), voice_specific=True
                ) from error
            except (EdgeTTSException, aiohttp.ClientError, OSError) as error:
                reason = _describe(error)
                continue
            except Exception as error:
                reason = _("the service answered wrongly ({reason}).").format(reason=error)
                continue
            if self._complete(audio, spoken_s, text):
                return audio
            reason = _("the audio was cut off before the end of the text.")
        raise SpeechUnavailable(self._failed(voice, reason))

    def _request(self, text: str, voice: str) -> tuple[bytes, float | None]:
        deadline = TURN_TIMEOUT_S + TURN_TIMEOUT_PER_CHAR_S * len(text)
        with _endpoint(self.settings.edge_endpoint):
            import asyncio  # here: a cache hit (and `loa status`) never pays for it

            return asyncio.run(asyncio.wait_for(self._receive(text, voice), deadline))

    async def _receive(self, text: str, voice: str) -> tuple[bytes, float | None]:
        """The audio, and where the service said the speech of the whole text ends (from its
        sentence boundaries), or None when it said nothing or not about the whole text."""
        import edge_tts

        communicate = edge_tts.Communicate(  # a new one per attempt: it can stream only once
            text,
            voice,
            rate=self.settings.rate,
            pitch=self.settings.pitch,
            volume=self.settings.volume,
            proxy=self.settings.proxy,
            connect_timeout=CONNECT_TIMEOUT_S,
            receive_timeout=RECEIVE_TIMEOUT_S,
        )
        audio: list[bytes] = []
        ends: list[float] = []
        told = 0
        async for chunk in communicate.stream():
            if chunk["type"] == "audio":
                audio.append(chunk["data"])
            elif chunk["type"] == "SentenceBoundary":
                ends.append((chunk["offset"] + chunk["duration"]) / TICKS_PER_S)
                told += _letters(chunk["text"])
        covered = ends and told >= BOUNDARY_COVERAGE * _letters(text)
        return b"".join(audio), max(ends) if covered else None

    def _complete(self, audio: bytes, spoken_s: float | None, text: str) -> bool:
        """Whether the audio decodes and lasts as long as the service said the speech would,
        or, without that, at least as long as the fastest reading of the text."""
        import miniaudio  # with the first online speech, like edge-tts: a cache hit needs neither

        try:
            decoded = miniaudio.decode(audio, nchannels=1, sample_rate=SERVICE_RATE)
        except miniaudio.MiniaudioError:
            return False
        seconds: float = decoded.num_frames / decoded.sample_rate
        if spoken_s is not None and seconds < spoken_s - BOUNDARY_TOLERANCE_S:
            return False
        if len(text) < CHECKED_MIN_CHARS:
            return seconds > 0
        return seconds >= len(text) / (FASTEST_CHARS_PER_S * max(self.settings.speed, 0.1))

    @staticmethod
    def _failed(voice: str, reason: str) -> str:
        return _("the online voice {voice} failed: {reason}").format(voice=voice, reason=reason)


@contextmanager
def _endpoint(url: str | None) -> Iterator[None]:
    """Point edge-tts at another endpoint (a mirror, or the test server) for one request.

    edge-tts reads its module global WSS_URL at each connection and has no parameter for it.
    """
    import edge_tts.communicate

    with _endpoint_lock:
        original = edge_tts.communicate.WSS_URL  # type: ignore[attr-defined]
        if url is not None:
            edge_tts.communicate.WSS_URL = url  # type: ignore[attr-defined]
        try:
            yield
        finally:
            edge_tts.communicate.WSS_URL = original  # type: ignore[attr-defined]


def _describe(error: Exception) -> str:
    """One short reason an officer can act on, instead of the library's internals."""
    import aiohttp

    if isinstance(error, aiohttp.WSServerHandshakeError):
        return _("the service refused the request (HTTP {status}).").format(status=error.status)
    if isinstance(error, TimeoutError):
        return _("the service took too long to answer.")
    if isinstance(error, aiohttp.ClientConnectionError | OSError):
        return _("cannot connect to the service (is the Internet connected?).")
    return _("the service answered wrongly ({reason}).").format(reason=error)


def _letters(text: str) -> int:
    return sum(character.isalnum() for character in text)
