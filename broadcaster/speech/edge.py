"""Microsoft Edge's online neural voices through the edge-tts client.

The service is free but fails often (403 on token changes, dropped connections, no network in
the commune): every failure becomes SpeechUnavailable so that the chain moves on.
"""

import asyncio
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import edge_tts
import edge_tts.communicate
from edge_tts.exceptions import EdgeTTSException, NoAudioReceived

from broadcaster.config import SpeechSettings
from broadcaster.i18n import _
from broadcaster.speech.base import SpeechUnavailable

CONNECT_TIMEOUT_S = 10
RECEIVE_TIMEOUT_S = 60
TURN_TIMEOUT_S = 30.0
TURN_TIMEOUT_PER_CHAR_S = 0.05
"""edge-tts's receive timeout stops guarding once the websocket is open, so a service that
accepts and then stalls would hang us: the whole request gets a deadline of its own."""

_endpoint_lock = threading.Lock()


@contextmanager
def _endpoint(url: str | None) -> Iterator[None]:
    """Point edge-tts at another endpoint (a mirror, or the test server) for one request.

    edge-tts reads its module global WSS_URL at each connection and has no parameter for it.
    """
    with _endpoint_lock:
        original = edge_tts.communicate.WSS_URL  # type: ignore[attr-defined]
        if url is not None:
            edge_tts.communicate.WSS_URL = url  # type: ignore[attr-defined]
        try:
            yield
        finally:
            edge_tts.communicate.WSS_URL = original  # type: ignore[attr-defined]


class EdgeEngine:
    name = "edge"

    def __init__(self, settings: SpeechSettings) -> None:
        self.settings = settings

    def synthesize(self, text: str, voice: str, workdir: Path) -> Path:
        deadline = TURN_TIMEOUT_S + TURN_TIMEOUT_PER_CHAR_S * len(text)
        try:
            with _endpoint(self.settings.edge_endpoint):
                audio = asyncio.run(asyncio.wait_for(self._receive(text, voice), deadline))
        except (EdgeTTSException, aiohttp.ClientError, TimeoutError, OSError) as error:
            raise SpeechUnavailable(
                _("the online voice {voice} failed: {reason}").format(
                    voice=voice, reason=_describe(error)
                )
            ) from error
        handle, name = tempfile.mkstemp(prefix="edge-", suffix=".mp3", dir=workdir)
        with open(handle, "wb") as out:
            out.write(audio)
        return Path(name)

    async def _receive(self, text: str, voice: str) -> bytes:
        communicate = edge_tts.Communicate(
            text,
            voice,
            rate=self.settings.rate,
            proxy=self.settings.proxy,
            connect_timeout=CONNECT_TIMEOUT_S,
            receive_timeout=RECEIVE_TIMEOUT_S,
        )
        chunks = [chunk["data"] async for chunk in communicate.stream() if chunk["type"] == "audio"]
        return b"".join(chunks)


def _describe(error: Exception) -> str:
    """One short reason an officer can act on, instead of the library's internals."""
    if isinstance(error, aiohttp.WSServerHandshakeError):
        return _("the service refused the request (HTTP {status}).").format(status=error.status)
    if isinstance(error, TimeoutError):
        return _("the service took too long to answer.")
    if isinstance(error, aiohttp.ClientConnectionError | OSError):
        return _("cannot connect to the service (is the Internet connected?).")
    if isinstance(error, NoAudioReceived):
        return _("the service sent no audio.")
    return _("the service answered wrongly ({reason}).").format(reason=error)
