"""A relay of streams from a local web server: HLS written live by ffmpeg's segmenter (AAC), a
playlist that freezes, a slow server, bytes that are not audio, a sample-rate change."""

import subprocess
import time
from pathlib import Path

import pytest

from broadcaster.core.settings import RelaySource
from broadcaster.relay.level import GainStore
from broadcaster.relay.probe import try_source
from broadcaster.relay.session import FIRST_AUDIO_S, STALL_S, Relay, RelayResult
from tests.hls import Segmenter, StreamServer
from tests.icecast import BEEPING_TONE
from tests.relay.rig import OUTPUT, listen, make_relay, relays, server, wait_for

__all__ = ["relays", "server"]

MP3_BYTES_PER_S = 8000
"""64 kbit/s."""

pytestmark = pytest.mark.usefixtures("english")  # the tests read its messages


def tone_mp3(path: Path, seconds: float, rate: int) -> Path:
    subprocess.run(
        [
            *("ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi"),
            *("-i", BEEPING_TONE.format(rate=rate), "-t", str(seconds), "-ac", "1"),
            *("-c:a", "libmp3lame", "-b:a", "64k", str(path)),
        ],
        check=True,
    )
    return path


def test_hls_plays_and_a_frozen_playlist_is_a_stall(
    relays: list[Relay], server: StreamServer, tmp_path: Path
):
    segmenter = Segmenter(tmp_path / "web" / "hls").start()
    try:
        relay = make_relay(relays, server.url("hls/vov1.m3u8"))
        assert relay.wait_for_audio(8.0)
        assert relay.codec == "aac"
        listen(relay, 3.0)
        segmenter.kill()  # the playlist stays, listing the same segments for ever
        frozen = time.time()
        held = relay.latency_s
        detected = wait_for(lambda: not relay.on_air, timeout=STALL_S + 6)
        assert detected is not None and detected - frozen <= STALL_S + 2.0 + 1.0
        outage = relay.outage()
        assert outage is not None and outage.cause == "stall"
        assert outage.start == pytest.approx(frozen + held, abs=2.5)  # when the last is heard
    finally:
        segmenter.kill()


def test_a_slow_server_is_waited_for(relays: list[Relay], server: StreamServer, tmp_path: Path):
    server.live["/slow.mp3"] = (
        tone_mp3(tmp_path / "slow.mp3", 20, 44100),
        "audio/mpeg",
        MP3_BYTES_PER_S,
    )
    server.delay_s = 2.0
    relay = make_relay(relays, server.url("slow.mp3"))
    assert relay.wait_for_audio(9.0)
    time.sleep(1.0)  # the daemon connects ahead of time: the buffer has its cushion
    heard = listen(relay, 3.0)
    assert heard.silences() == []
    assert relay.summary().result == RelayResult.RELAYED


def test_bytes_that_are_not_audio_are_a_clear_error(server: StreamServer):
    server.garbage["/page"] = b"<html><body><p>Please log in to use the Wi-Fi</p></body></html>\n"
    server.garbage["/noise"] = bytes(range(256)) * 16
    report = try_source(
        RelaySource("vov1", (server.url("page"),)), OUTPUT, 1.0, connect_timeout_s=4.0
    )
    assert not report.heard
    assert report.error == server.url("page") + ": the server sent a web page, not audio"
    with Relay(RelaySource("vov1", (server.url("noise"),)), OUTPUT) as relay:
        wait_for(lambda: relay.outage() is not None, timeout=FIRST_AUDIO_S + 3)
        outage = relay.outage()
        assert outage is not None and outage.cause == "decode"
        assert relay.problem() == (
            server.url("noise") + ": the server sends data, but no audio is in it"
        )


def test_a_sample_rate_change_mid_stream_plays_on(
    relays: list[Relay], server: StreamServer, tmp_path: Path
):
    first = tone_mp3(tmp_path / "a.mp3", 4, 44100).read_bytes()
    second = tone_mp3(tmp_path / "b.mp3", 6, 22050).read_bytes()
    (tmp_path / "ab.mp3").write_bytes(first + second)
    server.live["/ab.mp3"] = (tmp_path / "ab.mp3", "audio/mpeg", MP3_BYTES_PER_S)
    relay = make_relay(relays, server.url("ab.mp3"))
    assert relay.wait_for_audio(6.0)
    time.sleep(1.0)
    heard = listen(relay, 8.0)
    assert heard.silences(0.2) == []
    assert relay.summary().dropouts == ()
    assert heard.dominant_hz(heard.start + 1.5) == pytest.approx(1000, abs=10)
    assert heard.dominant_hz(heard.start + 7.0) == pytest.approx(1000, abs=10)


def test_the_gain_a_source_needed_is_remembered_for_its_next_relay(
    server: StreamServer, tmp_path: Path
):
    """The leveller takes what ffmpeg gives, listened to or not: a stream served ten times
    faster than real time is 40 s of sound in 4."""
    server.live["/fast.mp3"] = (
        tone_mp3(tmp_path / "fast.mp3", 40, 44100),
        "audio/mpeg",
        MP3_BYTES_PER_S * 10,
    )
    gains = GainStore(tmp_path / ".loa" / "relay-gains.json")
    with Relay(RelaySource("vov1", (server.url("fast.mp3"),)), OUTPUT, gains=gains) as relay:
        wait_for(lambda: relay.leveller.gain_to_remember() is not None, timeout=15.0)
        loudness = relay.leveller.source_loudness()
    assert loudness is not None
    assert gains.get("vov1") == pytest.approx(OUTPUT.loudness_lufs - loudness, abs=0.01)
    again = Relay(RelaySource("vov1", (server.url("fast.mp3"),)), OUTPUT, gains=gains)
    assert again.leveller.gain_db == gains.get("vov1")
    assert gains.get("fm90") is None
