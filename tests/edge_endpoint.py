"""A local stand-in for Microsoft Edge's read-aloud TTS websocket, for tests.

The real ``edge_tts`` client synthesises against it, so Loa's speech path is tested through
the true wire protocol without the internet. The audio is real Vietnamese speech from
espeak-ng, encoded like the service's ``audio-24khz-48kbitrate-mono-mp3``.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import formatdate
from types import TracebackType
from typing import Literal, get_args
from xml.sax.saxutils import escape

from aiohttp import WSMsgType, web
from edge_tts import communicate
from edge_tts.drm import DRM

Mode = Literal["ok", "403-once", "403-always", "no-audio", "truncated", "slow"]

FRAME_BYTES = 4096  # the service streams MP3 in binary frames of a few KB
TRUNCATED_SHARE = 0.3  # share of the audio frames "truncated" sends before hanging up
_TICKS_PER_SECOND = 10_000_000  # metadata offsets are in 100 ns ticks
_MP3_BYTES_PER_SECOND = 48_000 // 8  # constant bitrate of the requested output format
_SSML = "{http://www.w3.org/2001/10/synthesis}"
_TIMEOUT_S = 10.0  # bound on starting and stopping the server thread


@dataclass
class RequestRecord:
    """One websocket handshake as the endpoint saw it.

    The SSML fields stay None when the handshake was refused (status 403) or the client
    hung up before sending its SSML; ``text`` is unescaped, i.e. what the caller passed.
    """

    status: int
    voice: str | None = None
    rate: str | None = None
    pitch: str | None = None
    volume: str | None = None
    text: str | None = None


@contextmanager
def wss_url_patch(url: str) -> Iterator[None]:
    """Point edge_tts at ``url``, with the DRM clock skew at zero on entry and exit.

    ``edge_tts.communicate`` copied ``WSS_URL`` at import and reads that copy at each
    connection, so patching ``edge_tts.constants`` would do nothing. The skew is class-level
    and accumulates on every 403, so it is reset to keep tests independent.
    """
    # edge_tts imports WSS_URL without re-exporting it, hence the ignores for strict mypy.
    saved: str = communicate.WSS_URL  # type: ignore[attr-defined]
    communicate.WSS_URL = url  # type: ignore[attr-defined]
    DRM.clock_skew_seconds = 0.0
    try:
        yield
    finally:
        communicate.WSS_URL = saved  # type: ignore[attr-defined]
        DRM.clock_skew_seconds = 0.0


class EdgeEndpoint:
    """Edge read-aloud TTS websocket server on 127.0.0.1, run in a thread of its own.

    Use as a context manager; point the client at it with ``wss_url_patch(endpoint.url)``.
    ``mode`` and ``delay_s`` may be changed between requests.
    """

    def __init__(self, mode: str = "ok", delay_s: float = 0.0) -> None:
        self.mode = mode
        self.delay_s = delay_s
        self.requests: list[RequestRecord] = []
        self.truncate_at = TRUNCATED_SHARE
        """Share of the audio frames sent in "truncated" mode before hanging up."""
        self.mute_voices: set[str] = set()
        """Voices (e.g. "HoaiMyNeural") that answer with no audio whatever the mode, as
        vi-VN-HoaiMyNeural sometimes does upstream (rany2/edge-tts#473)."""
        self._audio: dict[str, bytes] = {}  # MP3 per text, since synthesis dominates run time
        self._url: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    @property
    def mode(self) -> Mode:
        """How the next handshakes are answered; setting it re-arms "403-once"."""
        return self._mode

    @mode.setter
    def mode(self, mode: str) -> None:
        if mode not in get_args(Mode):
            raise ValueError(f"unknown mode {mode!r}; expected one of {get_args(Mode)}")
        self._mode: Mode = mode  # type: ignore[assignment]  # checked just above
        self._refused_once = False

    @property
    def url(self) -> str:
        """Websocket URL; it has a query because the client appends ``&ConnectionId=...``."""
        if self._url is None:
            raise RuntimeError("EdgeEndpoint is not running; use it as a context manager")
        return self._url

    def __enter__(self) -> EdgeEndpoint:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name=f"edge-endpoint-{port}", daemon=True
        )
        self._thread.start()
        try:
            future = asyncio.run_coroutine_threadsafe(self._start(sock), self._loop)
            self._runner = future.result(_TIMEOUT_S)
        except BaseException:
            sock.close()
            self._stop_thread()
            raise
        self._url = f"ws://127.0.0.1:{port}/edge/v1?TrustedClientToken=test"
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._loop is not None
        try:
            asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(_TIMEOUT_S)
        finally:
            self._url = None
            self._stop_thread()

    async def _start(self, sock: socket.socket) -> web.AppRunner:
        app = web.Application()
        app.router.add_get("/edge/v1", self._handle)
        # A short grace, not the default 60 s, for handlers whose client is still connected.
        runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None)
        await runner.setup()
        await web.SockSite(runner, sock).start()
        return runner

    async def _stop(self) -> None:
        assert self._runner is not None and self._loop is not None
        await self._runner.cleanup()
        await self._loop.shutdown_default_executor()  # joins the synthesis worker threads

    def _stop_thread(self) -> None:
        assert self._loop is not None and self._thread is not None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(_TIMEOUT_S)
        self._loop.close()
        self._loop = self._thread = self._runner = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        mode = self._mode  # a connection keeps the mode it was accepted under
        if mode == "403-always" or (mode == "403-once" and not self._refused_once):
            self._refused_once = True
            self.requests.append(RequestRecord(status=403))
            # The client turns this Date into its DRM clock skew, then retries once.
            return web.Response(status=403, headers={"Date": formatdate(usegmt=True)})
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        record = RequestRecord(status=101)
        self.requests.append(record)
        sentence_boundaries = False
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            headers, body = _parse_text_frame(msg.data)
            if headers.get("Path") == "speech.config":
                options = json.loads(body)["context"]["synthesis"]["audio"]["metadataoptions"]
                sentence_boundaries = options["sentenceBoundaryEnabled"] == "true"
            elif headers.get("Path") == "ssml":
                _fill_from_ssml(record, body)
                if any(voice in (record.voice or "") for voice in self.mute_voices):
                    mode = "no-audio"
                try:
                    await self._answer(
                        ws, mode, headers["X-RequestId"], record.text or "", sentence_boundaries
                    )
                except ConnectionResetError:
                    break  # the client hung up mid-stream
        return ws

    async def _answer(
        self,
        ws: web.WebSocketResponse,
        mode: Mode,
        request_id: str,
        text: str,
        sentence_boundaries: bool,
    ) -> None:
        """Send one turn the way the service does: turn.start, metadata, audio, turn.end."""
        if mode == "slow":
            try:
                await asyncio.wait_for(ws.receive(), self.delay_s)
            except TimeoutError:
                pass  # the client waited the delay out: answer it now
            else:
                return  # the client hung up first, e.g. on a timeout of its own
        await ws.send_str(_text_frame(request_id, "turn.start", {"context": {"serviceTag": "t"}}))
        if mode == "no-audio":
            await ws.send_str(_text_frame(request_id, "turn.end", {}))
            return
        audio = await self._synthesize(text)
        frames = [audio[i : i + FRAME_BYTES] for i in range(0, len(audio), FRAME_BYTES)]
        if sentence_boundaries:
            ticks = len(audio) * _TICKS_PER_SECOND // _MP3_BYTES_PER_SECOND
            await ws.send_str(_text_frame(request_id, "audio.metadata", _boundary(text, ticks)))
        if mode == "truncated":
            for frame in frames[: max(1, round(len(frames) * self.truncate_at))]:
                await ws.send_bytes(_audio_frame(request_id, frame))
            await ws.close()  # hang up mid-stream, without turn.end
            return
        for frame in [*frames, b""]:  # the service ends the stream with an empty frame
            await ws.send_bytes(_audio_frame(request_id, frame))
        await ws.send_str(_text_frame(request_id, "turn.end", {}))

    async def _synthesize(self, text: str) -> bytes:
        if text not in self._audio:
            self._audio[text] = await asyncio.to_thread(_espeak_mp3, text)
        return self._audio[text]


def _espeak_mp3(text: str) -> bytes:
    """Real Vietnamese speech for ``text`` as raw 24 kHz 48 kbit/s mono MP3 frames.

    The ID3 tag and Xing header that ffmpeg adds by default are left out, as the service
    sends bare frames; text goes in on stdin so a leading '-' is not taken for an option.
    """
    wav = subprocess.run(
        ["espeak-ng", "-v", "vi", "-b", "1", "--stdin", "--stdout"],
        input=text.encode(),
        capture_output=True,
        check=True,
    ).stdout
    encode = (
        "ffmpeg -hide_banner -loglevel error -f wav -i pipe:0 -codec:a libmp3lame"
        " -ar 24000 -ac 1 -b:a 48k -id3v2_version 0 -write_xing 0 -f mp3 pipe:1"
    )
    return subprocess.run(
        encode.split(),
        input=wav,
        capture_output=True,
        check=True,
    ).stdout


def _parse_text_frame(data: str) -> tuple[dict[str, str], str]:
    head, _, body = data.partition("\r\n\r\n")
    headers = dict(line.split(":", 1) for line in head.split("\r\n"))
    return headers, body


def _fill_from_ssml(record: RequestRecord, ssml: str) -> None:
    voice = ET.fromstring(ssml).find(f"{_SSML}voice")
    prosody = None if voice is None else voice.find(f"{_SSML}prosody")
    if voice is None or prosody is None:
        raise ValueError(f"SSML without voice/prosody: {ssml!r}")
    record.voice = voice.get("name")
    record.rate = prosody.get("rate")
    record.pitch = prosody.get("pitch")
    record.volume = prosody.get("volume")
    record.text = prosody.text or ""


def _text_frame(request_id: str, path: str, body: object) -> str:
    return (
        f"X-RequestId:{request_id}\r\n"
        "Content-Type:application/json; charset=utf-8\r\n"
        f"Path:{path}\r\n\r\n"
        f"{json.dumps(body, ensure_ascii=False)}"
    )


def _audio_frame(request_id: str, mp3: bytes) -> bytes:
    """Binary frame: 2-byte big-endian header length, headers, MP3 bytes.

    The client parses the headers from a slice that still starts with the two length bytes
    and stops two bytes short, so the block must end with exactly one CRLF and must not
    start with ``Path`` (its name would be corrupted). Content-Type marks non-empty audio.
    """
    content_type = "Content-Type:audio/mpeg\r\n" if mp3 else ""
    header = f"X-RequestId:{request_id}\r\n{content_type}Path:audio\r\n".encode()
    return len(header).to_bytes(2, "big") + header + mp3


def _boundary(text: str, duration_ticks: int) -> dict[str, object]:
    """One SentenceBoundary spanning the whole turn; its text is escaped like the service's."""
    data = {
        "Offset": 0,
        "Duration": duration_ticks,
        "text": {"Text": escape(text), "Length": len(text), "BoundaryType": "SentenceBoundary"},
    }
    return {"Metadata": [{"Type": "SentenceBoundary", "Data": data}]}
