"""Start error of scheduled broadcasts, from what a sound card actually played.

    .venv/bin/python -m bench.start_error [STARTS] [SPACING_S]

One real `loa run` process plays on the test rig's private PulseAudio null sink (tests/pulse_rig,
needs pulseaudio and parec), recorded for the whole run. Once the daemon is up, one schedule file
gets STARTS entries (default 20) SPACING_S seconds apart (default 12), the first FIRST_AFTER_S
after the write (hot reload within a second, occurrences taken PREROLL_S early); each airs a
one-word announcement ("Thử.", about 8 s with intro and outro). Every intro jingle is located in
the capture, and

    start error = heard intro time - scheduled time

with nothing subtracted: the intro is the first audible sample of a scheduled broadcast (the
daemon starts the amplifier's silent lead-in LEAD_IN_MS before the second, so the intro is heard
on it).

Prints p50 / p95 / max of |error| and intros found against starts expected, in three readings of
when a sample was heard, all from parec's own delivery of the sink's monitor (bench/capture.py):
"raw", the capture's first sample (to within parec's 20 ms latency) plus its index over the
nominal RATE; "drift-corrected", the same with the rate the recorder was measured to deliver over
the whole run; "anchored", each intro timed by the recorder's deliveries around it (the local
slope, and the reading whose data arrived soonest after it was played: late by at most parec's
latency, never early). The null sink's clock is not the wall clock (+200 to +260 ppm here, 60 ms
over four minutes): counted at the nominal rate, the raw reading grows later with every start
although nothing a listener hears does; the anchored reading subtracts nothing, each start is
measured on its own. Needs espeak-ng; never touches the Internet; everything lives in a temporary
folder.
"""

import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from bench.capture import StreamCapture
from bench.stations import loa_env, make_station, start_daemon, stop_daemon
from broadcaster.audio.render import bundled_jingle
from broadcaster.onair.asrun import LOG_FILE
from broadcaster.onair.daemon import PREROLL_S
from tests.pulse_rig import RATE, PulseRig
from tests.signals import locate_all, read_wav

FIRST_AFTER_S = PREROLL_S + 5
MATCH_S = 2.0
"""An intro further than this from every scheduled time counts as unexpected."""


def write_schedule(station: Path, times: list[datetime]) -> None:
    text = "".join(
        f'- id: s{number:03d}\n  announcement: thu\n  times: ["{moment:%H:%M:%S}"]\n'
        for number, moment in enumerate(times, 1)
    )
    (station / "schedules" / "bench.yaml").write_text(text, encoding="utf-8")


def finished_rows(station: Path) -> list[tuple[str, str, str, str]]:
    if not (station / LOG_FILE).exists():
        return []
    with sqlite3.connect(station / LOG_FILE) as db:
        return db.execute(
            "SELECT entry_id, result, started, ended FROM asrun WHERE result != 'playing' "
            "ORDER BY scheduled_ts"
        ).fetchall()


def measure(starts: int = 20, spacing: float = 12.0) -> dict[str, float]:
    """Prints the run and the three readings; returns the anchored one: "p50", "p95", "max" of
    |start error| (ms), "found" intros of "expected", "unexpected" ones, "played" as-run rows,
    "ppm" (the recorder's clock against the wall clock); and each reading under its own prefix
    ("raw_p95", "drift-corrected_p95", "anchored_p95"…)."""
    folder = Path(tempfile.mkdtemp(prefix="loa-bench-"))
    (folder / "pulse").mkdir()
    rig = PulseRig(folder / "pulse")
    try:
        rig.start()
        station = make_station(folder, quiet_hours="00:00-00:00", holidays=False)
        (station / "announcements" / "thu.txt").write_text("Thử.\n", encoding="utf-8")
        zone = ZoneInfo("Asia/Ho_Chi_Minh")
        with StreamCapture(rig) as capture:
            daemon, startup = start_daemon(station, loa_env(folder, rig.env), folder / "loa.log")
            try:
                first = (datetime.now(zone) + timedelta(seconds=FIRST_AFTER_S + 1)).replace(
                    microsecond=0
                )
                times = [first + timedelta(seconds=spacing * n) for n in range(starts)]
                write_schedule(station, times)
                deadline = times[-1].timestamp() + 60
                while len(rows := finished_rows(station)) < starts and time.time() < deadline:
                    time.sleep(0.5)
                time.sleep(0.5)  # the last outro reaches the recorder
            finally:
                code = stop_daemon(daemon)
        jingle, _rate = read_wav(bundled_jingle("intro"))
        found = locate_all(capture.samples(0), jingle)
    finally:
        rig.stop()
        shutil.rmtree(folder, ignore_errors=True)

    measured = capture.rate()
    origin = capture.first_sample_time()
    seconds = capture.received / RATE
    played = sum(row[1] == "played" for row in rows)
    lengths = [
        (datetime.fromisoformat(ended) - datetime.fromisoformat(started)).total_seconds()
        for _id, _result, started, ended in rows
        if started and ended
    ]
    print(
        f"{starts} starts {spacing:g} s apart, one daemon (on the air {startup:.1f} s after "
        f"launch, exit code {code}); capture {seconds:.0f} s"
    )
    print(
        f"  as-run log: {played} played of {len(rows)} rows; program "
        f"{np.median(lengths) if lengths else float('nan'):.1f} s (median)"
    )
    print(
        f"  the recorder delivered {measured:.1f} samples per wall-clock second "
        f"({(measured / RATE - 1) * 1e6:+.0f} ppm against {RATE})"
    )
    result: dict[str, float] = {}
    readings = (
        ("raw", "first sample + index / the nominal rate", [origin + i / RATE for i in found]),
        (
            "drift-corrected",
            "first sample + index / the rate measured over the run",
            [origin + i / measured for i in found],
        ),
        (
            "anchored",
            "each intro by the recorder's deliveries around it",
            [capture.wall_at(i) for i in found],
        ),
    )
    for name, label, heard in readings:
        reading = report(f"{name}: time of a sample = {label}", times, heard)
        result.update(reading)  # the anchored reading last: the plain keys are its own
        result.update({f"{name}_{key}": value for key, value in reading.items()})
    return {**result, "played": played, "ppm": (measured / RATE - 1) * 1e6}


def main() -> None:
    starts = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    spacing = float(sys.argv[2]) if len(sys.argv) > 2 else 12.0
    measure(starts, spacing)


def report(label: str, times: list[datetime], heard: list[float]) -> dict[str, float]:
    """Prints, and returns "expected", "found", "unexpected", and "p50", "p95", "max" of
    |start error| in ms (NaN when nothing was found)."""
    errors, matched = [], set()
    for moment in times:
        expected = moment.timestamp()
        near = [at for at in heard if abs(at - expected) < MATCH_S]
        if near:
            best = min(near, key=lambda at: abs(at - expected))
            matched.add(best)
            errors.append(best - expected)
    signed = np.array(errors) * 1000
    print(f"{label}:")
    print(
        f"  intros found {len(errors)} / {len(times)} expected "
        f"({len(heard) - len(matched)} unexpected)"
    )
    if len(signed):
        magnitude = np.abs(signed)
        print(
            f"  |start error| p50 {np.percentile(magnitude, 50):6.1f} ms   "
            f"p95 {np.percentile(magnitude, 95):6.1f} ms   max {magnitude.max():6.1f} ms"
        )
        print(
            f"  signed: median {np.median(signed):+.1f} ms, min {signed.min():+.1f}, "
            f"max {signed.max():+.1f} (+ is late)"
        )
        print(f"  in order (ms): {' '.join(f'{value:+.0f}' for value in signed)}")
    magnitude = np.abs(signed) if len(signed) else np.array([np.nan])
    return {
        "expected": len(times),
        "found": len(errors),
        "unexpected": len(heard) - len(matched),
        "p50": float(np.percentile(magnitude, 50)),
        "p95": float(np.percentile(magnitude, 95)),
        "max": float(magnitude.max()),
    }


if __name__ == "__main__":
    main()
