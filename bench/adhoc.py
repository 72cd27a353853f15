"""Ad-hoc time to first sample: an officer's `say` to a running `loa run`, until the sound card
plays its first sample.

    .venv/bin/python -m bench.adhoc [TRIALS]

One real daemon (output `simpleaudio`, i.e. ALSA's default, routed to the test rig's private
PulseAudio null sink) with the online voice pointed at the test suite's local Edge endpoint
(tests/edge_endpoint.py: the real wire protocol, speech made by espeak-ng and MP3-encoded on
the spot, so no Internet). Each trial sends, through `broadcaster.control.channel.send`:

* cold: a text never spoken before (synthesized by the endpoint, decoded, cached);
* warm: the same text again (a cache hit);
* espeak: a new text with the offline voice (`vi`, espeak-ng).

    time to first sample = first non-silent sample heard - send time - LEAD_IN_MS / 1000

(the program opens with LEAD_IN_MS of silence on purpose). The capture is read as it plays
(bench/capture.py); times are late by at most parec's 20 ms latency. Each broadcast finishes
before the next is sent. Prints the median and max per case and each trial's as-run source.
"""

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.capture import StreamCapture
from bench.stations import asrun_rows, loa_env, make_station, start_daemon, stop_daemon
from broadcaster.audio.render import LEAD_IN_MS
from broadcaster.control.channel import send
from tests.edge_endpoint import EdgeEndpoint
from tests.pulse_rig import RATE, PulseRig

ONLINE_VOICE = "vi-VN-HoaiMyNeural"
SILENT_BELOW = 10 ** (-60 / 20)
"""A sample this quiet or quieter counts as silence (the rig's sink plays exact zeros)."""
CASES = ("cold", "warm", "espeak")


def text_for(trial: int, case: str) -> str:
    return (
        f"Thông báo thử số {trial + 1} ({'ngoại tuyến' if case == 'espeak' else 'trực tuyến'}): "
        f"đề nghị bà con thôn {trial + 3} tập trung tại nhà văn hóa lúc {trial + 7} giờ sáng."
    )


def measure(trials: int = 3, log: bool = True) -> tuple[dict[str, list[float]], list[str]]:
    """Seconds to first sample per case ("cold", "warm", "espeak"), one value per trial; and
    `case:source` of each broadcast, the source as the as-run log has it (edge, cache, espeak)."""
    folder = Path(tempfile.mkdtemp(prefix="loa-bench-"))
    (folder / "pulse").mkdir()
    rig = PulseRig(folder / "pulse")
    results: dict[str, list[float]] = {case: [] for case in CASES}
    sources: list[str] = []
    try:
        rig.start()
        station = make_station(
            folder, quiet_hours="00:00-00:00", holidays=False, voice=ONLINE_VOICE
        )
        with EdgeEndpoint() as endpoint, StreamCapture(rig) as capture:
            env = loa_env(folder, {**rig.env, "LOA_EDGE_ENDPOINT": endpoint.url})
            daemon, startup = start_daemon(station, env, folder / "loa.log")
            try:
                time.sleep(2.0)  # let the start-up work (cache warming round) settle
                for trial in range(trials):
                    for case in CASES:
                        request = {"command": "say", "text": text_for(trial, case)}
                        if case == "espeak":
                            request["voice"] = "vi"
                        seconds, source = _one(station, capture, request)
                        results[case].append(seconds)
                        sources.append(f"{case}:{source}")
                        if log:
                            print(
                                f"  trial {trial + 1} {case:<6} {seconds * 1000:7.0f} ms ({source})"
                            )
            finally:
                code = stop_daemon(daemon)
        if log:
            print(f"  daemon on the air {startup:.1f} s after launch; exit code {code}")
    finally:
        rig.stop()
        shutil.rmtree(folder, ignore_errors=True)
    return results, sources


def _one(station: Path, capture: StreamCapture, request: dict[str, str]) -> tuple[float, str]:
    done = len(asrun_rows(station))
    capture.trim(capture.received - RATE)
    sent = time.time()
    reply = send(station, request)
    if not reply or not reply.get("ok"):
        raise RuntimeError(f"the daemon refused {request}: {reply}")
    deadline = time.monotonic() + 120
    while len(rows := asrun_rows(station)) <= done:
        if time.monotonic() > deadline:
            raise RuntimeError("the broadcast did not finish within 2 minutes")
        time.sleep(0.1)
    time.sleep(1.0)  # what the sound server still buffered reaches the monitor
    start = capture.index_at(sent) - RATE // 10
    audio = capture.samples(start)
    loud = np.flatnonzero(np.abs(audio) > SILENT_BELOW)
    if not len(loud):
        raise RuntimeError("nothing was heard")
    heard = capture.wall_at(start + int(loud[0]))
    return heard - sent - LEAD_IN_MS / 1000, rows[-1][6]


def main() -> None:
    trials = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    print(f"{trials} trials; online voice through the local Edge endpoint, output simpleaudio")
    results, _sources = measure(trials)
    for case, values in results.items():
        print(
            f"{case:<6} median {statistics.median(values) * 1000:6.0f} ms   "
            f"max {max(values) * 1000:6.0f} ms"
        )


if __name__ == "__main__":
    main()
