"""The speech chain with the real edge-tts client against the local endpoint, and real espeak-ng."""

from dataclasses import replace
from pathlib import Path

import pytest

from broadcaster.audio.decode import load_audio
from broadcaster.core.settings import SpeechSettings
from broadcaster.core.voices import VOICES_BY_ENGINE
from broadcaster.errors import SpeechFailedError, UnknownVoiceError
from broadcaster.speech import Speaker
from broadcaster.speech import edge as edge_module
from broadcaster.speech.cache import AudioCache
from broadcaster.speech.chain import CACHED_ENGINES
from broadcaster.speech.normalize import Lexicon
from broadcaster.speech.registry import ENGINES
from tests.conftest import CLOSED_EDGE_ENDPOINT
from tests.edge_endpoint import EdgeEndpoint

TEXT = "Kính thưa bà con, xã tổ chức tiêm phòng & khám bệnh miễn phí vào sáng mai."
DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(edge_module, "BACKOFF_S", (0.0, 0.0))


def speaker(endpoint: str, tmp_path: Path, **lexicon: str) -> Speaker:
    return Speaker(
        SpeechSettings(edge_endpoint=endpoint),
        Lexicon(lexicon),
        AudioCache(tmp_path / "cache", 10**8),
    )


def seconds(path: Path) -> float:
    return len(load_audio(path)) / 1000


def test_online_voice_serves_and_is_cached(edge: EdgeEndpoint, tmp_path: Path) -> None:
    voices = speaker(edge.url, tmp_path)
    first = voices.render(TEXT, "vi-VN-NamMinhNeural", tmp_path)
    assert (first.engine, first.voice, first.cached, first.failures) == (
        "edge",
        "vi-VN-NamMinhNeural",
        False,
        (),
    )
    assert first.source == "edge"
    assert seconds(first.path) > 2, "a whole sentence lasts seconds"
    [request] = edge.requests
    assert "NamMinhNeural" in (request.voice or "") and request.text == TEXT
    again = voices.render(TEXT, "vi-VN-NamMinhNeural", tmp_path)
    assert (again.source, again.cached) == ("cache", True)
    assert again.path.read_bytes() == first.path.read_bytes()
    assert len(edge.requests) == 1, "a cache hit asks the service nothing"


def test_a_mute_voice_hands_over_to_the_other_online_voice(
    edge: EdgeEndpoint, tmp_path: Path
) -> None:
    edge.mute_voices.add("HoaiMyNeural")
    result = speaker(edge.url, tmp_path).render(TEXT, "vi-VN-HoaiMyNeural", tmp_path)
    assert (result.engine, result.voice) == ("edge", "vi-VN-NamMinhNeural")
    assert "không gửi âm thanh" in result.failures[0]
    assert len(edge.requests) == 2, "no retries of a mute voice: the other voice at once"


def test_a_403_once_is_absorbed(edge: EdgeEndpoint, tmp_path: Path) -> None:
    edge.mode = "403-once"
    result = speaker(edge.url, tmp_path).render(TEXT, "vi-VN-HoaiMyNeural", tmp_path)
    assert (result.engine, result.failures) == ("edge", ())
    assert [r.status for r in edge.requests] == [403, 101], "refused once, then served"


def test_a_refusing_service_is_retried_then_espeak_reads(
    edge: EdgeEndpoint, tmp_path: Path
) -> None:
    edge.mode = "403-always"
    result = speaker(edge.url, tmp_path).render(TEXT, "vi-VN-HoaiMyNeural", tmp_path)
    assert (result.engine, result.voice) == ("espeak", "vi")
    [failure] = result.failures
    assert "vi-VN-HoaiMyNeural" in failure and "HTTP 403" in failure
    handshakes = len(edge.requests)
    assert handshakes == edge_module.ATTEMPTS * 2, "each attempt: the client's own retry once"
    assert seconds(result.path) > 2


@pytest.mark.parametrize("share", [0.3, 0.6, 0.9])
def test_truncated_audio_is_never_used(edge: EdgeEndpoint, tmp_path: Path, share: float) -> None:
    edge.mode, edge.truncate_at = "truncated", share
    voices = speaker(edge.url, tmp_path)
    result = voices.render(TEXT, "vi-VN-HoaiMyNeural", tmp_path)
    assert result.engine == "espeak"
    assert "bị cắt" in result.failures[0]
    assert len(edge.requests) == edge_module.ATTEMPTS
    assert voices.cache is not None and voices.cache.stats().entries == 0


def test_a_stalled_service_is_given_up_on(
    edge: EdgeEndpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    edge.mode, edge.delay_s = "slow", 5.0
    monkeypatch.setattr(edge_module, "TURN_TIMEOUT_S", 0.5)
    monkeypatch.setattr(edge_module, "TURN_TIMEOUT_PER_CHAR_S", 0.0)
    result = speaker(edge.url, tmp_path).render(TEXT, "vi-VN-HoaiMyNeural", tmp_path)
    assert result.engine == "espeak"
    assert "quá lâu" in result.failures[0]
    assert len(edge.requests) == 1, "a stalled service is not asked again at air time"


def test_offline_goes_straight_to_espeak(tmp_path: Path) -> None:
    result = speaker(CLOSED_EDGE_ENDPOINT, tmp_path).render(TEXT, "vi-VN-HoaiMyNeural", tmp_path)
    assert result.engine == "espeak"
    [failure] = result.failures
    assert "Internet" in failure


def test_long_text_goes_out_in_pieces_and_comes_back_whole(
    edge: EdgeEndpoint, tmp_path: Path
) -> None:
    long_text = " ".join([TEXT] * 12)
    result = speaker(edge.url, tmp_path).render(long_text, "vi-VN-HoaiMyNeural", tmp_path)
    assert result.engine == "edge"
    assert len(edge.requests) >= 2
    assert all(len(r.text or "") <= 500 for r in edge.requests)
    one, _ = len(load_audio(result.path)), None
    single = speaker(edge.url, tmp_path / "other").render(TEXT, "vi-VN-HoaiMyNeural", tmp_path)
    assert one > 10 * len(load_audio(single.path)), "all twelve sentences are in the audio"


def test_the_lexicon_reaches_the_voice(edge: EdgeEndpoint, tmp_path: Path) -> None:
    voices = speaker(edge.url, tmp_path, UBND="Ủy ban nhân dân")
    voices.render("UBND xã thông báo.", "vi-VN-HoaiMyNeural", tmp_path)
    assert edge.requests[0].text == "Ủy ban nhân dân xã thông báo."


def test_the_recording_plays_when_no_voice_can_speak(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    recording = DATA / "xin-chao.ogg"
    result = speaker(CLOSED_EDGE_ENDPOINT, tmp_path).render(
        TEXT, "vi-VN-HoaiMyNeural", tmp_path, recording
    )
    assert (result.engine, result.path, result.source) == ("recording", recording, "recording")
    assert len(result.failures) == 2


def test_every_failure_is_reported_when_nothing_can_speak(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SpeechFailedError) as raised:
        speaker(CLOSED_EDGE_ENDPOINT, tmp_path).render(TEXT, "vi-VN-HoaiMyNeural", tmp_path)
    assert "Internet" in raised.value.message
    assert "apt install espeak-ng" in raised.value.message


def test_a_full_cache_disk_warns_but_still_speaks(edge: EdgeEndpoint, small_disk: Path) -> None:
    (small_disk / "filler").write_bytes(b"x" * 250 * 1024)
    voices = Speaker(
        SpeechSettings(edge_endpoint=edge.url), Lexicon({}), AudioCache(small_disk / "cache", 10**8)
    )
    result = voices.render(TEXT, "vi-VN-HoaiMyNeural", small_disk.parent)
    assert result.engine == "edge"
    assert any("Không lưu được giọng đọc" in failure for failure in result.failures)


def test_an_offline_voice_is_used_directly(tmp_path: Path) -> None:
    voices = speaker(CLOSED_EDGE_ENDPOINT, tmp_path)
    assert voices.plan("vi-vn-x-south") == [("espeak", "vi-vn-x-south")]
    result = voices.render(TEXT, "vi-vn-x-south", tmp_path)
    assert (result.engine, result.voice, result.failures) == ("espeak", "vi-vn-x-south", ())


def test_the_plan_tries_both_online_voices_then_the_offline_one() -> None:
    settings = replace(SpeechSettings(), fallback_voice="vi-vn-x-central")
    assert Speaker(settings).plan("vi-VN-HoaiMyNeural") == [
        ("edge", "vi-VN-HoaiMyNeural"),
        ("edge", "vi-VN-NamMinhNeural"),
        ("espeak", "vi-vn-x-central"),
    ]


def test_unknown_voice_is_refused_with_the_known_ones() -> None:
    with pytest.raises(UnknownVoiceError) as raised:
        Speaker(SpeechSettings()).plan("vi-VN-Nobody")
    assert "vi-VN-Nobody" in raised.value.message
    assert "vi-VN-NamMinhNeural" in raised.value.message


def test_without_espeak_the_text_is_still_prepared_and_the_recording_plays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    voices = speaker(CLOSED_EDGE_ENDPOINT, tmp_path)
    voices.check("Họp lúc 14h30.", "vi")
    assert voices.prepared_text("Họp lúc 14h30.", "espeak") == "Họp lúc mười bốn giờ ba mươi phút."
    recording = DATA / "xin-chao.ogg"
    result = voices.render("Họp lúc 14h30.", "vi", tmp_path, recording)
    assert result.engine == "recording"
    assert "apt install espeak-ng" in result.failures[0]


def test_the_requested_voice_is_used_again_once_it_recovers(
    edge: EdgeEndpoint, tmp_path: Path
) -> None:
    voices = speaker(edge.url, tmp_path)
    edge.mute_voices.add("HoaiMyNeural")
    fallback = voices.render(TEXT, "vi-VN-HoaiMyNeural", tmp_path)
    assert (fallback.voice, fallback.cached) == ("vi-VN-NamMinhNeural", False)
    assert not voices.is_cached(TEXT, "vi-VN-HoaiMyNeural"), "only the other voice was kept"
    edge.mute_voices.clear()
    recovered = voices.render(TEXT, "vi-VN-HoaiMyNeural", tmp_path)
    assert (recovered.engine, recovered.voice, recovered.cached) == (
        "edge",
        "vi-VN-HoaiMyNeural",
        False,
    )
    assert recovered.failures == ()
    assert voices.is_cached(TEXT, "vi-VN-HoaiMyNeural")


def test_the_other_voice_from_the_cache_is_a_fallback_with_its_reason(
    edge: EdgeEndpoint, tmp_path: Path
) -> None:
    voices = speaker(edge.url, tmp_path)
    voices.render(TEXT, "vi-VN-NamMinhNeural", tmp_path)
    edge.mute_voices.add("HoaiMyNeural")
    result = voices.render(TEXT, "vi-VN-HoaiMyNeural", tmp_path)
    assert (result.engine, result.voice, result.cached) == ("edge", "vi-VN-NamMinhNeural", True)
    [failure] = result.failures
    assert "vi-VN-HoaiMyNeural" in failure and "không gửi âm thanh" in failure
    assert [r.voice and "HoaiMyNeural" in r.voice for r in edge.requests] == [False, True]


def test_every_engine_is_described_once_with_the_voices_the_station_file_knows() -> None:
    assert {name: spec.voices for name, spec in ENGINES.items()} == VOICES_BY_ENGINE
    assert [name for name, spec in ENGINES.items() if spec.offline] == ["espeak"]
    assert CACHED_ENGINES == ("edge",)
