"""The relay engine's numbers: start error, reconnect time, CPU of one HLS AAC relay.

    .venv/bin/python -m bench.relay [CPU_SECONDS] [STARTS]

Everything runs on loopback, on the test suite's rigs: a real Icecast 2 fed by ffmpeg (tests/
icecast.py) and ffmpeg's HLS segmenter behind a local web server (tests/hls.py).

- start error: the relay connects PRECONNECT_S ahead of a scheduled second, as the daemon does;
  `chunks(start=T)` hands out its first chunk LEAD_S early for the output to hold until T. The
  error is when the first chunk was ready against T - LEAD_S, and whether it held the source's
  audio (not silence). The output's own start (audio/outputs) is measured by bench.start_error.
- reconnect: the Icecast source is killed and started again; the time from its mount being back
  to the relay's audio being back (the spec: ≤ 5 s).
- CPU: a relay of the HLS AAC stream, read in real time for CPU_SECONDS (default 30): ffmpeg's
  CPU time and this process's (reader, leveller, chunks; the web server thread included), each
  as % of one core.
"""

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from broadcaster.core.settings import OutputSettings, RelaySource
from broadcaster.relay.session import LEAD_S, Relay
from tests.hls import Segmenter, StreamServer
from tests.icecast import Icecast, ToneSource

PRECONNECT_S = 10.0
OUTPUT = OutputSettings(sample_rate=44100, channels=1)


def start_errors(url: str, starts: int) -> list[tuple[float, bool]]:
    errors = []
    for _ in range(starts):
        relay = Relay(RelaySource("bench", (url,)), OUTPUT)
        scheduled = time.time() + PRECONNECT_S
        relay.connect()
        chunks = relay.chunks(scheduled + 1.0, scheduled)
        first = next(chunks)
        ready = time.time()
        heard = max(abs(sample) for sample in first.get_array_of_samples()) > 0
        errors.append((ready - (scheduled - LEAD_S), heard))
        relay.close()
    return errors


def reconnect(icecast: Icecast, source: ToneSource) -> float:
    relay = Relay(RelaySource("bench", (icecast.url(source.mount),)), OUTPUT)
    relay.connect()
    try:
        assert relay.wait_for_audio(10)
        time.sleep(2)
        source.kill()
        while relay.on_air:
            time.sleep(0.05)
        time.sleep(2)
        source.start()
        back = time.time()
        while not relay.on_air:
            time.sleep(0.02)
        return time.time() - back
    finally:
        relay.close()


def cpu_of_hls(url: str, seconds: float) -> tuple[float, float]:
    relay = Relay(RelaySource("bench", (url,)), OUTPUT)
    relay.connect()
    try:
        assert relay.wait_for_audio(10)
        child = relay._child
        assert child is not None
        ffmpeg_before = _cpu_seconds(child.process.pid)
        own_before = time.process_time()
        began = time.time()
        for _chunk in relay.chunks(began + seconds, began):
            pass
        elapsed = time.time() - began
        ffmpeg = (_cpu_seconds(child.process.pid) - ffmpeg_before) / elapsed * 100
        own = (time.process_time() - own_before) / elapsed * 100
        return ffmpeg, own
    finally:
        relay.close()


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def main() -> None:
    cpu_seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 30.0
    starts = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    with tempfile.TemporaryDirectory() as folder:
        icecast = Icecast(Path(folder) / "icecast").start()
        server = StreamServer(Path(folder) / "web").start()
        segmenter = Segmenter(Path(folder) / "web" / "hls").start()
        mp3 = ToneSource(icecast, "mp3").start()
        aac = ToneSource(icecast, "aac", "aac").start()
        try:
            for name, url in (
                ("Icecast MP3", icecast.url("mp3")),
                ("Icecast AAC", icecast.url("aac")),
                ("HLS AAC", server.url("hls/vov1.m3u8")),
            ):
                errors = start_errors(url, starts)
                late = [error * 1000 for error, _heard in errors]
                print(
                    f"start error {name}: first chunk ready {statistics.median(late):+.0f} ms "
                    f"(max {max(late):+.0f} ms) against T-{LEAD_S * 1000:.0f} ms, "
                    f"source audio in it: {sum(heard for _e, heard in errors)}/{len(errors)}"
                )
            times = [reconnect(icecast, mp3) for _ in range(3)]
            print(
                f"reconnect (Icecast MP3, source back -> audio back): "
                f"{', '.join(f'{t:.2f}' for t in times)} s"
            )
            ffmpeg, own = cpu_of_hls(server.url("hls/vov1.m3u8"), cpu_seconds)
            print(
                f"CPU of one HLS AAC relay ({OUTPUT.sample_rate} Hz, {cpu_seconds:.0f} s): "
                f"ffmpeg {ffmpeg:.1f} % of one core, Loa {own:.1f} % (reader, leveller, chunks)"
            )
        finally:
            for source in (mp3, aac):
                source.kill()
            segmenter.kill()
            server.stop()
            icecast.stop()


if __name__ == "__main__":
    main()
