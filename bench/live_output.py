"""Live audio (relays) on the sound device: start error, gaps, latency over time, writer CPU.

    .venv/bin/python -m bench.live_output [STARTS] [SECONDS]

Plays on the test rig's private PulseAudio null sink (tests/pulse_rig), recorded for the whole
run with bench/capture.py (each moment anchored on the recorder's own deliveries: late by at most
parec's 20 ms, never early). The source is the synthetic live source of the tests
(tests/audio/test_live_output.py): 100 ms chunks of a 440 Hz tone paced by the wall clock, each
handed over LIVE_AHEAD_S (0.5 s) before it is due, louder for 5 ms at each whole second.

1. STARTS streams (default 10) of 2 s, each asked to start 1 s after the call:
   start error = when the first sample was heard - start_at; p50 / p95 / max of |error|.
2. One stream of SECONDS (default 60): the gaps inside it (silences over 5 ms), each second's
   marker against its due time (start_at + n: the latency; its spread shows whether the sound
   card's clock, a few hundred ppm off the wall clock, is absorbed), the writer child's CPU (% of
   one core, from its rusage once it has exited) and what the writer made up for (LiveStats).
Needs pulseaudio and parec; everything lives in a temporary folder.
"""

import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.capture import StreamCapture
from broadcaster.audio.outputs import SimpleaudioOutput
from tests.audio.test_live_output import QUIET, gaps_s, live_tone, markers
from tests.pulse_rig import PulseRig

AHEAD_S = 1.0
"""How long before its start each stream is asked for: the writer opens the device meanwhile."""


def play(output: SimpleaudioOutput, seconds: float) -> float:
    start_at = time.time() + AHEAD_S
    output.play_live(live_tone(seconds, start_at), start_at=start_at)
    return start_at


def heard_from(capture: StreamCapture, after: float) -> tuple[int, np.ndarray]:
    """The capture from the wall-clock time `after` on, and the index it starts at."""
    base = max(capture.index_at(after), capture.first_kept)
    return base, capture.samples(base)


def measure(starts: int = 10, seconds: float = 60.0) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="loa-bench-"))
    (folder / "pulse").mkdir()
    rig = PulseRig(folder / "pulse")
    try:
        rig.start()
        os.environ.update(rig.env)  # the writer plays on ALSA's default: the rig's sink
        output = SimpleaudioOutput()
        errors_ms = []
        with StreamCapture(rig) as capture:
            for _ in range(starts):
                begun = time.time()
                start_at = play(output, 2.0)
                time.sleep(0.3)  # the tail reaches the recorder
                base, samples = heard_from(capture, begun)
                first = int(np.flatnonzero(np.abs(samples) > QUIET)[0])
                heard = capture.wall_at(base + first)
                errors_ms.append((heard - start_at) * 1000)
                capture.trim(capture.received)
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            begun = time.time()
            start_at = play(output, seconds)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            time.sleep(0.3)
            base, samples = heard_from(capture, begun)
            due_ms = [
                (capture.wall_at(base + index) - (start_at + second)) * 1000
                for second, index in enumerate(markers(samples))
            ]
            gaps = gaps_s(samples)
    finally:
        rig.stop()
        shutil.rmtree(folder, ignore_errors=True)
    writer_cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / seconds
    magnitudes = np.abs(errors_ms)
    result = {
        "p50": float(np.percentile(magnitudes, 50)),
        "p95": float(np.percentile(magnitudes, 95)),
        "max": float(magnitudes.max()),
        "gaps": float(len(gaps)),
        "latency_min": min(due_ms),
        "latency_max": max(due_ms),
        "writer_cpu_pct": writer_cpu * 100,
    }
    print(f"{starts} starts, 2 s each, asked {AHEAD_S:g} s ahead")
    print("  start error (ms): " + " ".join(f"{error:+.1f}" for error in errors_ms))
    print(
        f"  |start error|: p50 {result['p50']:.1f} ms, p95 {result['p95']:.1f} ms, "
        f"max {result['max']:.1f} ms"
    )
    print(f"one stream of {seconds:g} s")
    print(
        f"  gaps over 5 ms: {len(gaps)}"
        + (f" ({', '.join(f'{gap * 1000:.0f} ms' for gap in gaps)})" if gaps else "")
    )
    print(
        f"  markers heard against their due time: {len(due_ms)} of {int(seconds)}, from "
        f"{min(due_ms):+.1f} to {max(due_ms):+.1f} ms (first {due_ms[0]:+.1f}, last "
        f"{due_ms[-1]:+.1f})"
    )
    print(f"  writer child CPU: {result['writer_cpu_pct']:.2f} % of one core")
    print(f"  writer made up for: {output.live_stats}")
    return result


if __name__ == "__main__":
    measure(
        int(sys.argv[1]) if len(sys.argv) > 1 else 10,
        float(sys.argv[2]) if len(sys.argv) > 2 else 60.0,
    )
