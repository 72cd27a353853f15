"""Start and end error of scheduled relays, and the reconnect time, as heard on the test rig.

    .venv/bin/python -m bench.relay_rig [--runs 10] [--cycles 3]

One real `loa run` plays on the rig's private PulseAudio null sink (output `simpleaudio`), and
relays a real Icecast 2 on loopback fed by the wall-clock-paced beeping tone of bench/relay_soak
(a continuous tone: any silence inside a slot is a gap). The sink's monitor is read through
parec (bench/capture.py), every moment anchored on the recorder's own deliveries as in
bench/start_error.py (late by at most parec's 20 ms, never early).

1. RUNS times: a relay entry of DURATION_S at a whole second FIRST_AFTER_S ahead (the daemon
   reloads the schedule within a second and connects at the pre-roll). Start error = the first
   audible sample (over -60 dBFS) - the scheduled second; end error = the last audible sample -
   the slot's end (the relay fades out over its last 2 s: the fade heard is where the level falls
   below half its median); the gaps inside the slot; and the latency from the source to the
   sink, and how it moved within the slot (bench/relay_soak's beeps).
2. One relay of CYCLES * CYCLE_S + 15 s during which the source is killed CYCLES times and
   started again OUTAGE_S later: the reconnect time as heard = sound again - the source's
   restart (its ffmpeg launched; and its mount answering again), and how long the relay went on
   playing after the kill (what the buffer held).
"""

import argparse
import os
import shutil
import tempfile
import time
import wave
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from bench.capture import StreamCapture
from bench.relay_soak import (
    BEEP_HZ,
    EVEN_HZ,
    MARKER_HZ,
    MOUNT,
    WINDOW,
    ZONE,
    Heard,
    PacedTone,
    latencies,
    onsets,
    relay_station,
    schedule_relay,
)
from bench.stations import asrun_rows, loa_env, machine, start_daemon, stop_daemon
from broadcaster.onair.daemon import PREROLL_S
from tests.icecast import Icecast
from tests.pulse_rig import RATE, PulseRig

FIRST_AFTER_S = PREROLL_S + 4
DURATION_S = 8
AUDIBLE = 10 ** (-60 / 20)
TAIL_S = 1.5
"""After a slot's end, this long for its last samples to reach the recorder."""
OUTAGE_S = 5.0
CYCLE_S = 18.0
KILL_AFTER_S = 8.0
LATENCY_GUESS_S = 1.75
"""The latency heard in a slot is counted from this (within a second of the truth: the relay
soak measured 1.4-2.5 s on the rig), the odd and even beeps tell the rest."""
GAP_S = 0.3
"""A silence at least this long in the reconnect relay is an outage heard."""


def frames_rms(samples: np.ndarray) -> np.ndarray:
    count = len(samples) // WINDOW
    return np.sqrt(np.mean(samples[: count * WINDOW].reshape(count, WINDOW) ** 2, axis=1))


def silences(samples: np.ndarray, at_least_s: float) -> list[tuple[int, int]]:
    """(first index, end index) of each run of silent 10 ms frames of at least `at_least_s`."""
    quiet = np.concatenate([[False], frames_rms(samples) < AUDIBLE, [False]])
    edges = np.flatnonzero(np.diff(quiet.astype(int)))
    return [
        (int(begin) * WINDOW, int(end) * WINDOW)
        for begin, end in zip(edges[::2], edges[1::2], strict=True)
        if (end - begin) * WINDOW / RATE >= at_least_s
    ]


def one_slot(capture: StreamCapture, at: float, seconds: float) -> dict[str, float]:
    """Start, fade and end as heard for a slot [at, at + seconds), in ms against the plan."""
    base = max(capture.index_at(at - 2.0), capture.first_kept)
    samples = capture.samples(base)
    audible = np.flatnonzero(np.abs(samples) > AUDIBLE)
    if not len(audible):
        return {}
    first, last = int(audible[0]), int(audible[-1])
    levels = frames_rms(samples[first : last + 1])
    half = np.median(levels) / 2
    loud = np.flatnonzero(levels >= half)
    fade_half = first + int(loud[-1]) * WINDOW if len(loud) else last
    inside = silences(samples[first : last + 1], 0.01)
    heard = Heard(
        *(
            [capture.wall_at(base + index) for index in onsets(samples, hz)]
            for hz in (BEEP_HZ, EVEN_HZ, MARKER_HZ)
        )
    )
    latency = latencies(heard, guess=LATENCY_GUESS_S)
    steps = np.diff([lat for _s, _at, lat in latency]) if len(latency) > 1 else np.zeros(1)
    heard_seconds = [s for s, _at, _lat in latency]
    return {
        "latency": latency[0][2] * 1000 if latency else float("nan"),
        "moved": float(np.sum(steps)) * 1000,
        "jump": float(steps[np.argmax(np.abs(steps))]) * 1000,
        "lost": _lost(heard_seconds),
        "start": (capture.wall_at(base + first) - at) * 1000,
        "end": (capture.wall_at(base + last) - (at + seconds)) * 1000,
        "fade_half": (capture.wall_at(base + fade_half) - (at + seconds)) * 1000,
        "gaps": len(inside),
        "gap_ms": sum(end - begin for begin, end in inside) / RATE * 1000,
    }


def _lost(seconds: list[int]) -> float:
    """Seconds between the first and last beep heard whose beep was not heard."""
    return float(seconds[-1] - seconds[0] + 1 - len(set(seconds))) if seconds else 0.0


def save(path: Path, samples: np.ndarray) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(np.round(samples * 32767).astype("<i2").tobytes())
    print(f"the first slot, from 2 s before its second: {path}")


def next_slot() -> datetime:
    return (datetime.now(ZONE) + timedelta(seconds=FIRST_AFTER_S + 1)).replace(microsecond=0)


def measure(runs: int, cycles: int, wav: Path | None = None) -> None:
    folder = Path(tempfile.mkdtemp(prefix="loa-relay-rig-"))
    (folder / "pulse").mkdir()
    rig = PulseRig(folder / "pulse")
    icecast = Icecast(folder / "icecast")
    source = PacedTone(icecast)
    load_before = os.getloadavg()
    slots: list[dict[str, float]] = []
    restarts: list[tuple[float, float, float]] = []
    """(killed, ffmpeg launched, mount up) of each outage."""
    try:
        rig.start()
        icecast.start()
        source.start()
        station = relay_station(folder, icecast.url(MOUNT))
        with StreamCapture(rig) as capture:
            daemon, startup = start_daemon(station, loa_env(folder, rig.env), folder / "loa.log")
            try:
                for number in range(runs):
                    at = next_slot()
                    schedule_relay(station, f"r{number:02d}", at, DURATION_S)
                    _sleep_until(at.timestamp() + DURATION_S + TAIL_S)
                    slots.append(one_slot(capture, at.timestamp(), DURATION_S))
                    if wav is not None and number == 0:
                        save(wav, capture.samples(capture.index_at(at.timestamp() - 2.0)))
                    capture.trim(capture.received - RATE)
                at = next_slot()
                length = round(cycles * CYCLE_S + 15)
                schedule_relay(station, "reconnect", at, length)
                for cycle in range(cycles):
                    _sleep_until(at.timestamp() + KILL_AFTER_S + cycle * CYCLE_S)
                    killed = source.kill()
                    time.sleep(OUTAGE_S)
                    launched = time.time()
                    restarts.append((killed, launched, source.start()))
                _sleep_until(at.timestamp() + length + TAIL_S)
                base = max(capture.index_at(at.timestamp()), capture.first_kept)
                heard = capture.samples(base)
                outages = [
                    (capture.wall_at(base + begin), capture.wall_at(base + end))
                    for begin, end in silences(heard, GAP_S)
                ]
            finally:
                code = stop_daemon(daemon)
        rows = asrun_rows(station, "entry_id = 'reconnect'")
        log = (folder / "loa.log").read_text(encoding="utf-8", errors="replace")
    finally:
        source.kill()
        icecast.stop()
        rig.stop()
        shutil.rmtree(folder, ignore_errors=True)
    print(
        f"machine: {machine()}; load average before {' '.join(f'{v:.2f}' for v in load_before)}, "
        f"after {' '.join(f'{v:.2f}' for v in os.getloadavg())}"
    )
    print(f"daemon on the air {startup:.1f} s after launch, exit code {code}")
    report(slots, runs, restarts, outages, at.timestamp() + length)
    for row in rows:
        print(f"as-run of the reconnect relay: {row[5]} | {row[7]}")
    print(
        f"daemon log: {log.count('WARNING')} warnings, {log.count('ERROR')} errors, "
        f"{log.count('Traceback')} tracebacks"
    )


def _sleep_until(wall: float) -> None:
    time.sleep(max(0.0, wall - time.time()))


def report(
    slots: list[dict[str, float]],
    runs: int,
    restarts: list[tuple[float, float, float]],
    outages: list[tuple[float, float]],
    ends: float,
) -> None:
    heard = [slot for slot in slots if slot]
    print(
        f"\n{runs} relays of {DURATION_S} s scheduled {FIRST_AFTER_S:g} s ahead: {len(heard)} heard"
    )
    if heard:
        print("| measure | p50 | p95 | max | signed, in order |")
        print("|---|---:|---:|---:|---|")
        for key, label in (
            ("start", "start: first audible sample - the second"),
            ("end", "end: last audible sample - slot end"),
            ("fade_half", "fade: level under half - slot end"),
            ("latency", "latency source -> sink at the first beep"),
            ("moved", "latency change over the slot (last beep - first)"),
            ("jump", "largest latency step between two beeps"),
            ("lost", "seconds whose beep was not heard (cut out)"),
        ):
            values = np.array([slot[key] for slot in heard])
            magnitude = np.abs(values)
            p50, p95 = np.percentile(magnitude, [50, 95])
            unit = "" if key == "lost" else " ms"
            print(
                f"| {label} | {p50:.1f}{unit} | {p95:.1f}{unit} | {magnitude.max():.1f}{unit} | "
                f"{' '.join(f'{value:+.0f}' for value in values)} |"
            )
        print(
            f"gaps (silent 10 ms frames) inside the slots: "
            f"{' '.join(str(int(slot['gaps'])) for slot in heard)} "
            f"({sum(slot['gap_ms'] for slot in heard):.0f} ms in all)"
        )
    print(f"\nreconnect: the source killed {len(restarts)} times, back {OUTAGE_S:g} s later")
    print(
        "| outage | silence heard from (after the kill) | sound again - ffmpeg launched "
        "| - mount up | other silences, s after the kill |"
    )
    print("|---|---:|---:|---:|---|")
    for number, (killed, launched, up) in enumerate(restarts, 1):
        near = [gap for gap in outages if killed - 1 < gap[0] < up + 10]
        if not near:
            print(f"| {number} | no silence heard | - | - | - |")
            continue
        began, back = max(near, key=lambda gap: gap[1] - gap[0])
        others = ", ".join(
            f"{start - killed:.2f}-{end - killed:.2f}" for start, end in near if start != began
        )
        print(
            f"| {number} | {began - killed:.2f} s | {back - launched:.2f} s | {back - up:.2f} s "
            f"| {others or '-'} |"
        )
    stray = [
        gap
        for gap in outages
        if not any(killed - 1 < gap[0] < up + 10 for killed, _l, up in restarts)
        and gap[0] < ends - 3
    ]
    if stray:
        print(
            "other silences in the reconnect relay: "
            + ", ".join(f"{(end - start):.2f} s" for start, end in stray)
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.relay_rig", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--runs", type=int, default=10, help="scheduled relays to time")
    parser.add_argument("--cycles", type=int, default=3, help="source outages in the last relay")
    parser.add_argument("--wav", type=Path, help="keep what the sink played in the first slot")
    options = parser.parse_args()
    measure(options.runs, options.cycles, options.wav)


if __name__ == "__main__":
    main()
