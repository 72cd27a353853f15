"""The speech chain with the real edge-tts client against the local endpoint, and real espeak-ng."""

from dataclasses import replace
from pathlib import Path

import pytest

from broadcaster.audio.decode import load_audio
from broadcaster.config import SpeechSettings
from broadcaster.errors import SpeechFailedError, UnknownVoiceError
from broadcaster.speech import edge as edge_module
from broadcaster.speech import render_speech
from broadcaster.speech.chain import speech_plan
from tests.conftest import CLOSED_EDGE_ENDPOINT
from tests.edge_endpoint import EdgeEndpoint

TEXT = "Kính thưa bà con, xã tổ chức tiêm phòng & khám bệnh miễn phí vào sáng mai."


def settings_for(endpoint: str) -> SpeechSettings:
    return SpeechSettings(edge_endpoint=endpoint)


def test_online_voice_serves_when_the_service_answers(edge: EdgeEndpoint, tmp_path: Path) -> None:
    result = render_speech(TEXT, "vi-VN-NamMinhNeural", settings_for(edge.url), tmp_path)
    assert (result.engine, result.voice, result.failures) == ("edge", "vi-VN-NamMinhNeural", ())
    assert result.path.suffix == ".mp3"
    assert len(load_audio(result.path)) > 2000, "a whole sentence lasts seconds"
    [request] = edge.requests
    assert "NamMinhNeural" in (request.voice or "")
    assert request.text == TEXT


@pytest.mark.parametrize(
    ("mode", "reason"),
    [("403-always", "HTTP 403"), ("no-audio", "không gửi âm thanh")],
)
def test_offline_voice_serves_when_the_service_fails(
    edge: EdgeEndpoint, tmp_path: Path, mode: str, reason: str
) -> None:
    edge.mode = mode
    result = render_speech(TEXT, "vi-VN-HoaiMyNeural", settings_for(edge.url), tmp_path)
    assert (result.engine, result.voice) == ("espeak", "vi")
    [failure] = result.failures
    assert "vi-VN-HoaiMyNeural" in failure and reason in failure
    assert len(load_audio(result.path)) > 2000


def test_a_stalled_service_is_given_up_on(
    edge: EdgeEndpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    edge.mode, edge.delay_s = "slow", 5.0
    monkeypatch.setattr(edge_module, "TURN_TIMEOUT_S", 0.5)
    monkeypatch.setattr(edge_module, "TURN_TIMEOUT_PER_CHAR_S", 0.0)
    result = render_speech(TEXT, "vi-VN-HoaiMyNeural", settings_for(edge.url), tmp_path)
    assert result.engine == "espeak"
    assert "quá lâu" in result.failures[0]


def test_no_network_falls_back_to_espeak(tmp_path: Path) -> None:
    result = render_speech(TEXT, "vi-VN-HoaiMyNeural", settings_for(CLOSED_EDGE_ENDPOINT), tmp_path)
    assert result.engine == "espeak"
    assert "Internet" in result.failures[0]


def test_every_failure_is_reported_when_nothing_can_speak(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SpeechFailedError) as raised:
        render_speech(TEXT, "vi-VN-HoaiMyNeural", settings_for(CLOSED_EDGE_ENDPOINT), tmp_path)
    assert "Internet" in raised.value.message
    assert "apt install espeak-ng" in raised.value.message
    assert list(tmp_path.iterdir()) == []


def test_an_offline_voice_is_used_directly(tmp_path: Path) -> None:
    assert speech_plan("vi-vn-x-south", SpeechSettings()) == [("espeak", "vi-vn-x-south")]
    result = render_speech(TEXT, "vi-vn-x-south", SpeechSettings(), tmp_path)
    assert (result.engine, result.voice, result.failures) == ("espeak", "vi-vn-x-south", ())


def test_online_voice_falls_back_to_the_configured_offline_voice() -> None:
    settings = replace(SpeechSettings(), fallback_voice="vi-vn-x-central")
    assert speech_plan("vi-VN-HoaiMyNeural", settings) == [
        ("edge", "vi-VN-HoaiMyNeural"),
        ("espeak", "vi-vn-x-central"),
    ]


def test_unknown_voice_is_refused_with_the_known_ones() -> None:
    with pytest.raises(UnknownVoiceError) as raised:
        speech_plan("vi-VN-Nobody", SpeechSettings())
    assert "vi-VN-Nobody" in raised.value.message
    assert "vi-VN-NamMinhNeural" in raised.value.message
