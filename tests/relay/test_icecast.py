"""A relay of a real Icecast 2 stream fed by ffmpeg (a tone that beeps every second): the start,
the end, a killed source, a hung source, a dead first URL, the fallback, a pause."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from pydub.generators import Sine

from broadcaster.core.settings import RelaySource
from broadcaster.relay.probe import check_sources, try_source
from broadcaster.relay.session import FADE_S, STALL_S, Relay, RelayResult
from tests.hls import StreamServer
from tests.icecast import Icecast, ToneSource
from tests.relay.rig import CHUNK_S, OUTPUT, icecast, listen, make_relay, relays, server, wait_for

__all__ = ["icecast", "relays", "server"]

ROOT = Path(__file__).resolve().parents[2]
OUTAGE_S = 1.0
"""The outages these tests make last seconds; a shorter silence is the source's jitter beyond the
live buffer's cushion, which a loaded machine (two test workers) causes now and then (a known
defect, in issue 15's note), not the outage being measured."""

pytestmark = pytest.mark.usefixtures("english")  # the tests read its messages


@pytest.fixture
def sources() -> Iterator[list[ToneSource]]:
    made: list[ToneSource] = []
    yield made
    for source in made:
        source.kill()


@pytest.mark.parametrize("codec", ["mp3", "aac"])
def test_audio_soon_after_connecting_and_the_end_on_time_with_a_fade(
    icecast: Icecast, relays: list[Relay], sources: list[ToneSource], codec: str
):
    sources.append(ToneSource(icecast, f"start-{codec}", codec).start())
    connected = time.time()
    relay = make_relay(relays, icecast.url(f"start-{codec}"))
    assert relay.wait_for_audio(6.0)
    assert relay.first_audio_at is not None and relay.first_audio_at - connected < 5.0
    time.sleep(2.0)  # connected ahead of time, as the daemon does: the AGC has its first measure
    heard = listen(relay, 4.0)
    assert len(heard.samples) == 4 * OUTPUT.sample_rate
    rate = OUTPUT.sample_rate
    block = rate // 10
    blocks = heard.samples.reshape(-1, block)
    rms = np.sqrt(np.mean(blocks**2, axis=1))
    centres = (np.arange(len(rms)) + 0.5) / 10
    fade = np.clip((4.0 - centres) / FADE_S, 0, 1)
    steady = float(np.median(rms[10:20]))  # medians: the beep every second is louder
    assert steady > 0.05
    assert float(np.median(rms[20:38] / fade[20:38])) == pytest.approx(steady, rel=0.15)
    assert rms[-1] < steady / 20
    assert relay.codec == codec
    summary = relay.summary()
    assert summary.result == RelayResult.RELAYED
    assert summary.seconds_on_air == pytest.approx(4.0, abs=0.3)


def test_a_killed_source_is_one_dropout_as_long_as_the_gap_heard(
    icecast: Icecast, relays: list[Relay], sources: list[ToneSource]
):
    source = ToneSource(icecast, "killed").start()
    sources.append(source)
    relay = make_relay(relays, icecast.url("killed"))
    assert relay.wait_for_audio(6.0)
    back: list[float] = []

    def restart() -> None:
        source.start()
        back.append(time.time())

    heard = listen(relay, 16.0, {3.0: source.kill, 6.0: restart})
    silences = heard.silences(OUTAGE_S)
    assert len(silences) == 1
    gap_start, gap = silences[0]
    summary = relay.summary()
    assert summary.result == RelayResult.RELAYED_WITH_DROPOUTS
    [dropout] = summary.dropouts
    assert dropout.cause == "eof"
    assert dropout.url == icecast.url("killed")
    assert dropout.start == pytest.approx(gap_start, abs=0.5)
    assert dropout.seconds == pytest.approx(gap, abs=0.5)
    assert gap_start + gap - back[0] <= 5.0  # on the air again within 5 s of the source


def test_a_hung_source_is_a_stall_within_5_s_and_plays_again_when_it_resumes(
    icecast: Icecast, relays: list[Relay], sources: list[ToneSource]
):
    source = ToneSource(icecast, "hung").start()
    sources.append(source)
    relay = make_relay(relays, icecast.url("hung"))
    assert relay.wait_for_audio(6.0)
    stopped: list[float] = []
    detected: list[float | None] = []

    def hang() -> None:
        source.signal(signal.SIGSTOP)
        stopped.append(time.time())
        detected.append(wait_for(lambda: not relay.on_air, timeout=STALL_S + 3))

    heard = listen(relay, 16.0, {3.0: hang, 10.0: lambda: source.signal(signal.SIGCONT)})
    assert detected[0] is not None and detected[0] - stopped[0] <= STALL_S + 1.0
    [dropout] = relay.summary().dropouts
    assert dropout.cause == "stall"
    [(gap_start, gap)] = heard.silences(OUTAGE_S)
    assert dropout.start == pytest.approx(gap_start, abs=0.5)
    assert dropout.seconds == pytest.approx(gap, abs=0.5)


def test_a_first_url_that_answers_404_gives_way_to_the_second(
    icecast: Icecast, relays: list[Relay], sources: list[ToneSource], server: StreamServer
):
    sources.append(ToneSource(icecast, "second").start())
    relay = make_relay(relays, server.url("gone/vov1"), icecast.url("second"))
    assert relay.wait_for_audio(6.0)
    assert relay.url == icecast.url("second")
    assert server.requests["/gone/vov1"] == 1
    listen(relay, 1.0)
    assert relay.summary().result == RelayResult.RELAYED


def test_a_dead_url_is_asked_again_but_never_more_than_once_a_second(
    relays: list[Relay], server: StreamServer
):
    relay = make_relay(relays, server.url("gone.mp3"))
    heard = listen(relay, 5.0)
    assert 3 <= server.requests["/gone.mp3"] <= 6
    assert heard.silences() == [(heard.start, 5.0)]
    summary = relay.summary()
    assert summary.result == RelayResult.FAILED
    assert summary.dropouts[0].cause == "http-4xx"
    assert "404" in (summary.last_error or "")


def test_after_fallback_after_the_fallback_plays_until_the_source_returns(
    icecast: Icecast, relays: list[Relay], sources: list[ToneSource]
):
    source = ToneSource(icecast, "later")

    def fallback() -> list[object]:
        return [Sine(440).to_audio_segment(duration=700, volume=-12)]

    relay = make_relay(relays, icecast.url("later"), fallback=fallback, fallback_after_s=1.5)
    sources.append(source)
    heard = listen(relay, 14.0, {4.0: source.start})
    start = heard.start
    assert heard.silences(0.3)[0] == (start, pytest.approx(1.5, abs=0.11))
    assert heard.dominant_hz(start + 2.0) == pytest.approx(440, abs=10)
    assert heard.dominant_hz(start + 13.0) == pytest.approx(1000, abs=10)
    summary = relay.summary()
    assert summary.result == RelayResult.RELAYED_WITH_DROPOUTS
    assert summary.seconds_fallback > 2.0
    assert summary.seconds_on_air > 2.0
    back = start + 14.0 - summary.seconds_on_air
    assert heard.dominant_hz(back + 0.3, 0.3) == pytest.approx(1000, abs=10)
    assert heard.dominant_hz(back - 0.6, 0.3) == pytest.approx(440, abs=10)


def test_a_fallback_that_takes_a_while_to_render_still_begins_on_time(
    relays: list[Relay], server: StreamServer
):
    """Speech for the fallback takes a moment to render: it is rendered half way through the
    outage, so the fallback begins at fallback_after, not that moment later."""

    rendered: list[int] = []

    def fallback() -> Iterator[object]:
        if not rendered:
            time.sleep(0.8)  # speech, the first time, as long as it takes here; then cached
        rendered.append(1)
        yield Sine(440).to_audio_segment(duration=700, volume=-12)

    relay = make_relay(relays, server.url("gone.mp3"), fallback=fallback, fallback_after_s=2.0)
    start = time.time()
    late = []  # each chunk's hand-over against its due time, for the chunks with sound
    for index, chunk in enumerate(relay.chunks(start + 4.0, start)):
        if chunk.rms:
            late.append(time.time() - (start + index * CHUNK_S))
    assert len(late) == pytest.approx(20, abs=1)  # the fallback from 2 s on
    assert max(late) < 0  # every chunk handed over before its time: none heard late


def test_after_a_pause_the_relay_resumes_at_the_live_point(
    icecast: Icecast, relays: list[Relay], sources: list[ToneSource]
):
    sources.append(ToneSource(icecast, "paused").start())
    relay = make_relay(relays, icecast.url("paused"))
    assert relay.wait_for_audio(6.0)
    listen(relay, 2.0)
    before = relay.latency_s
    time.sleep(4.0)  # an emergency on the air: nobody reads the relay
    chunks = relay.chunks(time.time() + 1.0)
    next(chunks)
    after = relay.latency_s
    assert after == pytest.approx(before, abs=0.5)
    assert relay.summary().dropouts == ()


def test_the_report_and_the_doctor_say_what_a_source_is(
    icecast: Icecast, sources: list[ToneSource], server: StreamServer, tmp_path: Path
):
    sources.append(ToneSource(icecast, "report", "aac").start())
    good = RelaySource("vov1", (icecast.url("report"),))
    out = tmp_path / "vov1.wav"
    report = try_source(good, OUTPUT, 6.0, out)
    assert report.heard and report.codec == "aac" and report.bit_rate_kbps is not None
    assert report.output_lufs is not None
    assert report.output_lufs == pytest.approx(OUTPUT.loudness_lufs, abs=2.0)
    assert report.dropouts == ()
    assert out.stat().st_size > 6 * OUTPUT.sample_rate * 2
    server.garbage["/page"] = b"<html><body><p>Service unavailable</p></body></html>\n" * 40
    findings = check_sources(
        {"vov1": good, "fm": RelaySource("fm", (server.url("page"),))},
        OUTPUT,
        seconds=1.0,
        connect_timeout_s=4.0,
    )
    assert [finding.ok for finding in findings] == [True, False]
    assert "aac" in findings[0].detail
    assert server.url("page") in findings[1].detail
    assert "station.yaml" in findings[1].fix


def test_no_ffmpeg_outlives_the_process_that_relayed_even_after_kill_9(
    icecast: Icecast, sources: list[ToneSource], tmp_path: Path
):
    sources.append(ToneSource(icecast, "orphan").start())
    script = textwrap.dedent(
        f"""
        import sys, time
        from broadcaster.core.settings import OutputSettings, RelaySource
        from broadcaster.relay.session import Relay
        relay = Relay(RelaySource("vov1", ({icecast.url("orphan")!r},)), OutputSettings())
        relay.connect()
        assert relay.wait_for_audio(8)
        print(relay._child.process.pid, flush=True)
        time.sleep(60)
        """
    )
    owner = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert owner.stdout is not None
    ffmpeg = int(owner.stdout.readline())
    assert alive(ffmpeg)
    owner.kill()
    owner.wait()
    assert wait_for(lambda: not alive(ffmpeg), timeout=3.0) is not None


def alive(pid: int) -> bool:
    """Running, not a zombie waiting for a parent that is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status
