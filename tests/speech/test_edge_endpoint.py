"""The local Edge TTS endpoint, driven by the real edge_tts client over loopback only.

These pin down what the client really does in each failure the service can show, so Loa's
speech code can be tested against the same behaviours.
"""

import asyncio
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import edge_tts
import pytest
from edge_tts import communicate
from edge_tts.drm import DRM
from edge_tts.exceptions import NoAudioReceived
from edge_tts.typing import TTSChunk

from tests.edge_endpoint import EdgeEndpoint, wss_url_patch

VOICE = "vi-VN-HoaiMyNeural"
TEXT = "Xin chào bà con, hôm nay xã có lịch tiêm phòng & họp dân lúc tám giờ sáng."


@pytest.fixture
def endpoint(edge: EdgeEndpoint) -> Iterator[EdgeEndpoint]:
    """The shared server, reset to "ok", with edge_tts itself pointed at it."""
    with wss_url_patch(edge.url):
        yield edge


def speak(
    text: str, *, timeout_s: float | None = None, **options: Any
) -> tuple[bytes, list[TTSChunk]]:
    """Run the real client to the end; return its audio bytes and its metadata chunks."""

    async def run() -> tuple[bytes, list[TTSChunk]]:
        audio = bytearray()
        metadata: list[TTSChunk] = []
        async with asyncio.timeout(timeout_s):
            async for chunk in edge_tts.Communicate(text, VOICE, **options).stream():
                if chunk["type"] == "audio":
                    audio += chunk["data"]
                else:
                    metadata.append(chunk)
        return bytes(audio), metadata

    return asyncio.run(run())


def decoded_seconds(audio: bytes) -> float:
    """Length of ``audio`` (any format ffmpeg reads) after decoding it to PCM."""
    decode = "ffmpeg -hide_banner -loglevel error -i pipe:0 -f s16le -ac 1 -ar 24000 pipe:1"
    pcm = subprocess.run(
        decode.split(),
        input=audio,
        capture_output=True,
        check=True,
    ).stdout
    return len(pcm) / (2 * 24000)


def espeak_seconds(text: str) -> float:
    """Length of espeak's own rendering of ``text``, the reference for the endpoint's audio."""
    wav = subprocess.run(
        ["espeak-ng", "-v", "vi", "--stdout", text], capture_output=True, check=True
    ).stdout
    return decoded_seconds(wav)


def test_ok_streams_real_speech_as_long_as_espeaks(endpoint: EdgeEndpoint) -> None:
    audio, metadata = speak(TEXT)

    seconds = decoded_seconds(audio)
    assert seconds == pytest.approx(espeak_seconds(TEXT), abs=0.15)
    assert [m["type"] for m in metadata] == ["SentenceBoundary"]
    assert metadata[0]["text"] == TEXT
    assert metadata[0]["duration"] / 10_000_000 == pytest.approx(seconds, abs=0.15)


def test_request_record_has_voice_prosody_and_unescaped_text(endpoint: EdgeEndpoint) -> None:
    text = "Thông báo: điện & nước <tạm> ngưng từ 7 giờ đến 9 giờ sáng."

    speak(text, rate="+20%", pitch="-5Hz", volume="+10%")

    (record,) = endpoint.requests
    assert record.status == 101
    # The client expands the short voice name before it sends the SSML.
    assert record.voice == "Microsoft Server Speech Text to Speech Voice (vi-VN, HoaiMyNeural)"
    assert (record.rate, record.pitch, record.volume) == ("+20%", "-5Hz", "+10%")
    assert record.text == text


def test_403_once_corrects_clock_skew_and_retries(endpoint: EdgeEndpoint) -> None:
    endpoint.mode = "403-once"
    DRM.clock_skew_seconds = -3600.0  # as if the client's clock ran an hour slow

    audio, _ = speak(TEXT)

    assert [r.status for r in endpoint.requests] == [403, 101]
    assert decoded_seconds(audio) > 1.0
    # The retry is signed with the time from the 403's Date header.
    assert abs(DRM.clock_skew_seconds) < 2.0


def test_403_always_raises_handshake_error_after_one_retry(endpoint: EdgeEndpoint) -> None:
    endpoint.mode = "403-always"

    with pytest.raises(aiohttp.WSServerHandshakeError) as raised:
        speak(TEXT)

    assert raised.value.status == 403
    assert [r.status for r in endpoint.requests] == [403, 403]


def test_no_audio_raises_no_audio_received(endpoint: EdgeEndpoint) -> None:
    endpoint.mode = "no-audio"

    with pytest.raises(NoAudioReceived):
        speak(TEXT)


def test_truncated_stream_is_silently_short(endpoint: EdgeEndpoint) -> None:
    full, _ = speak(TEXT)
    endpoint.mode = "truncated"

    short, _ = speak(TEXT)  # no exception: the client takes a hang-up for the end

    assert 0 < decoded_seconds(short) < 0.5 * decoded_seconds(full)


def test_receive_timeout_does_not_bound_a_slow_turn(endpoint: EdgeEndpoint) -> None:
    # receive_timeout only becomes aiohttp's sock_read, which ws_connect drops after the
    # handshake, so a silent server is waited on for as long as it takes.
    endpoint.mode = "slow"
    endpoint.delay_s = 1.5

    started = time.monotonic()
    audio, _ = speak(TEXT, receive_timeout=1)

    assert time.monotonic() - started >= 1.5
    assert decoded_seconds(audio) > 1.0


def test_slow_turn_needs_a_timeout_around_the_stream(endpoint: EdgeEndpoint) -> None:
    endpoint.mode = "slow"
    endpoint.delay_s = 5.0

    with pytest.raises(TimeoutError):
        speak(TEXT, timeout_s=0.3, receive_timeout=1)


def test_text_over_4096_bytes_goes_out_in_several_connections(endpoint: EdgeEndpoint) -> None:
    sentence = "Loa phường thông báo lịch thu gom rác thải và vệ sinh đường phố."
    text = " ".join([sentence] * 60)
    assert len(text.encode()) > 4096

    audio, metadata = speak(text)

    texts = [r.text or "" for r in endpoint.requests]
    assert len(texts) == 2
    assert all(len(t.encode()) <= 4096 for t in texts)
    assert " ".join(texts) == text
    # One turn each; the client shifts the second turn's offsets by the first turn's audio.
    first, second = metadata
    assert second["offset"] == first["duration"]
    assert decoded_seconds(audio) == pytest.approx(
        (first["duration"] + second["duration"]) / 10_000_000, abs=0.3
    )


def test_wss_url_patch_restores_url_and_resets_clock_skew() -> None:
    original = communicate.WSS_URL  # type: ignore[attr-defined]  # imported, not exported
    DRM.clock_skew_seconds = 5.0

    with wss_url_patch("ws://127.0.0.1:9/edge/v1?x=1"):
        assert communicate.WSS_URL == "ws://127.0.0.1:9/edge/v1?x=1"  # type: ignore[attr-defined]
        assert DRM.clock_skew_seconds == 0.0
        DRM.clock_skew_seconds = 7.0

    assert original == communicate.WSS_URL  # type: ignore[attr-defined]
    assert DRM.clock_skew_seconds == 0.0


def test_endpoint_rejects_unknown_mode(edge_server: EdgeEndpoint) -> None:
    with pytest.raises(ValueError, match="flaky"):
        edge_server.mode = "flaky"


def test_exit_stops_its_thread_and_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    before = set(threading.enumerate())

    with (
        EdgeEndpoint(mode="no-audio") as endpoint,
        wss_url_patch(endpoint.url),
        pytest.raises(NoAudioReceived),
    ):
        speak(TEXT)

    assert set(threading.enumerate()) == before
    with pytest.raises(RuntimeError):
        _ = endpoint.url
