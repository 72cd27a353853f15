"""Real-time soak: one `loa run` on the PulseAudio test rig for hours, with ad-hoc load.

    .venv/bin/python -m bench.soak --hours N [--spacing S] [--adhoc-every S]
                                   [--emergency-share F] [--bucket-minutes M] [--seed N]
    .venv/bin/python -m bench.soak --relay --hours N [--bucket-minutes M] [--latency-csv PATH]

With --relay, the soak is of one relay of N hours instead (bench/relay_soak.py: latency from the
source to the sink over time, gaps, RSS and CPU, no ffmpeg left behind).

Not run in CI. The daemon (output `simpleaudio` into the rig's private null sink, online voice
pointed at the test suite's local Edge endpoint, so never the Internet) gets a generated
schedule: a short announcement every SPACING seconds (default 30, dividing a day) for N hours
(fractions allowed: 0.1 is six minutes), in entries of 20 times each, alternating two
announcements and the normal and priority levels. Meanwhile `say` requests go through the
control channel at random (exponential gaps, mean --adhoc-every seconds): ordinary ones a few
seconds after a scheduled broadcast, so that they end before the next; --emergency-share of them
(evenly spread: with 0.25 the 4th, 8th, ...) with `priority: emergency` at any moment, so they
interrupt scheduled broadcasts, which then air again, late. Half the ordinary texts repeat an
earlier one (a cache hit), the rest are new.

The capture is read from parec's pipe as it plays and searched for the intro jingle every
PROCESS_EVERY_S seconds, then forgotten (bench/capture.py): memory does not grow with N. At the
end, against the as-run log:

* every expected scheduled occurrence has exactly one as-run row, and no row is unexpected;
* each is heard: exactly one intro inside its as-run [started, ended];
* start error = heard intro - scheduled time - LEAD_IN_MS / 1000, for the occurrences that
  started on time (those an emergency held up or cut are counted apart), p50/p95/max per
  --bucket-minutes (default 60) and overall;
* the daemon's RSS (sampled every RSS_EVERY_S) at start and end, fitted drift in MB per hour,
  and its CPU; the warnings and errors in its log.
"""

import argparse
import math
import random
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from bench.capture import StreamCapture
from bench.daemon import cpu_s, kb_to_mb, status
from bench.stations import asrun_rows, loa_env, machine, make_station, start_daemon, stop_daemon
from broadcaster.audio.render import LEAD_IN_MS, bundled_jingle
from broadcaster.control.channel import send
from broadcaster.onair.daemon import PREROLL_S
from tests.edge_endpoint import EdgeEndpoint
from tests.pulse_rig import RATE, PulseRig
from tests.signals import locate_all, read_wav

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
ONLINE_VOICE = "vi-VN-HoaiMyNeural"
ANNOUNCEMENTS = {"thu": "Thử.", "thu-loa": "Thử loa."}
TIMES_PER_ENTRY = 20
FIRST_AFTER_S = PREROLL_S + 10
PROCESS_EVERY_S = 20.0
RSS_EVERY_S = 10.0
ORDINARY_AFTER_S = (9.0, 12.0)
"""An ordinary `say` goes this many seconds after a scheduled start (its ~8 s program is over)."""
ON_TIME_S = 0.5
"""An occurrence whose as-run start is later than this was held up (by an emergency)."""
DRAIN_S = 120.0
SETTLE_S = 30.0
"""RSS at start is the first sample after this much running."""


@dataclass
class Sample:
    wall: float
    rss_mb: float
    cpu_s: float


@dataclass
class Soak:
    hours: float
    spacing: float
    adhoc_every: float
    emergency_share: float
    bucket_minutes: float
    seed: int
    intros: list[float] = field(default_factory=list)
    """Wall-clock times of the intro jingles heard."""
    samples: list[Sample] = field(default_factory=list)
    sent: list[tuple[float, str, bool]] = field(default_factory=list)
    """(wall time, priority, ok) of each `say` sent."""


def slots(first: datetime, hours: float, spacing: float) -> list[datetime]:
    end = first + timedelta(hours=hours) - timedelta(seconds=FIRST_AFTER_S)
    count = max(1, int((end - first).total_seconds() // spacing) + 1)
    return [first + timedelta(seconds=spacing * n) for n in range(count)]


def write_schedule(station: Path, times: list[datetime]) -> dict[str, str]:
    """Entries of TIMES_PER_ENTRY times each (times of day, so a run past 24 h repeats them);
    returns the entry of each time of day."""
    of_time: dict[str, str] = {}
    lines = []
    day = sorted({moment.strftime("%H:%M:%S") for moment in times})
    names = list(ANNOUNCEMENTS)
    for number, first in enumerate(range(0, len(day), TIMES_PER_ENTRY)):
        chunk = day[first : first + TIMES_PER_ENTRY]
        entry = f"s{number:04d}"
        lines += [
            f"- id: {entry}",
            f"  announcement: {names[number % len(names)]}",
            f"  times: [{', '.join(f'{moment!r}' for moment in chunk)}]".replace("'", '"'),
        ]
        if number % 3 == 2:
            lines.append("  priority: priority")
        of_time.update(dict.fromkeys(chunk, entry))
    (station / "schedules" / "soak.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return of_time


def plan_adhoc(
    rng: random.Random, times: list[datetime], soak: Soak
) -> list[tuple[float, str, str]]:
    """(wall time, priority, text) of every `say` to send, in order."""
    start, end = times[0].timestamp(), times[-1].timestamp()
    planned: list[tuple[float, str, str]] = []
    said: list[str] = []
    used: set[float] = set()
    moment = start
    while True:
        moment += rng.expovariate(1 / soak.adhoc_every)
        if moment >= end:
            break
        number = len(planned) + 1
        if math.floor(number * soak.emergency_share) > math.floor(
            (number - 1) * soak.emergency_share
        ):
            text = f"Khẩn cấp, thông báo số {number}: bà con chú ý."
            planned.append((moment, "emergency", text))
            continue
        slot = start + math.floor((moment - start) / soak.spacing) * soak.spacing
        if slot in used:
            continue  # one ordinary `say` per gap, so it ends before the next broadcast
        used.add(slot)
        if said and rng.random() < 0.5:
            text = rng.choice(said)
        else:
            text = f"Alô, thông báo số {number}."
            said.append(text)
        planned.append((slot + rng.uniform(*ORDINARY_AFTER_S), "priority", text))
    planned.sort()
    return planned


def run(soak: Soak) -> None:
    rng = random.Random(soak.seed)
    folder = Path(tempfile.mkdtemp(prefix="loa-soak-"))
    (folder / "pulse").mkdir()
    rig = PulseRig(folder / "pulse")
    intro, _rate = read_wav(bundled_jingle("intro"))
    length = len(intro)
    began = time.time()
    try:
        rig.start()
        station = make_station(
            folder, quiet_hours="00:00-00:00", holidays=False, voice=ONLINE_VOICE
        )
        for name, text in ANNOUNCEMENTS.items():
            (station / "announcements" / f"{name}.txt").write_text(text + "\n", encoding="utf-8")
        with EdgeEndpoint() as endpoint, StreamCapture(rig) as capture:
            env = loa_env(folder, {**rig.env, "LOA_EDGE_ENDPOINT": endpoint.url})
            daemon, startup = start_daemon(station, env, folder / "loa.log")
            try:
                now = datetime.now(ZONE)
                first = (now + timedelta(seconds=FIRST_AFTER_S + 1)).replace(microsecond=0)
                times = slots(first, soak.hours, soak.spacing)
                of_time = write_schedule(station, times)
                adhoc = plan_adhoc(rng, times, soak)
                print(
                    f"soak {soak.hours:g} h from {now:%Y-%m-%d %H:%M:%S}: {len(times)} scheduled "
                    f"broadcasts every {soak.spacing:g} s in {len(set(of_time.values()))} "
                    f"entries, {len(adhoc)} `say` planned "
                    f"({sum(p == 'emergency' for _, p, _ in adhoc)} emergency); daemon on the "
                    f"air {startup:.1f} s after launch",
                    flush=True,
                )
                scanned = capture.received
                next_scan = next_sample = time.time()
                deadline = times[-1].timestamp() + DRAIN_S
                last_report = time.time()
                while True:
                    wall = time.time()
                    while adhoc and adhoc[0][0] <= wall:
                        _at, priority, text = adhoc.pop(0)
                        reply = send(
                            station, {"command": "say", "text": text, "priority": priority}
                        )
                        soak.sent.append((wall, priority, bool(reply and reply.get("ok"))))
                    if wall >= next_sample:
                        info = status(daemon.pid)
                        soak.samples.append(
                            Sample(wall, kb_to_mb(info["VmRSS"]), cpu_s(daemon.pid))
                        )
                        next_sample += RSS_EVERY_S
                    if wall >= next_scan:
                        scanned = scan(capture, intro, scanned, soak.intros)
                        next_scan += PROCESS_EVERY_S
                    if wall - last_report >= 600:
                        last_report = wall
                        print(
                            f"  {(wall - began) / 3600:.2f} h: {len(soak.intros)} intros heard, "
                            f"RSS {soak.samples[-1].rss_mb:.0f} MB",
                            flush=True,
                        )
                    if wall > times[-1].timestamp() + 5 and not adhoc:
                        pending = asrun_rows(station, "result = 'playing'")
                        if not pending or wall > deadline:
                            break
                    if daemon.poll() is not None:
                        print(f"the daemon exited with {daemon.returncode}")
                        break
                    time.sleep(0.05)
                time.sleep(1.5)
                scan(capture, intro, scanned, soak.intros, final=True)
            finally:
                code = stop_daemon(daemon)
        rows = asrun_rows(station, "1")
        daemon_log = (folder / "loa.log").read_text(encoding="utf-8", errors="replace")
    finally:
        rig.stop()
        shutil.rmtree(folder, ignore_errors=True)
    report(soak, times, of_time, rows, daemon_log, code, length, began)


def scan(
    capture: StreamCapture, intro: np.ndarray, scanned: int, found: list[float], final: bool = False
) -> int:
    """Locate the intros in what arrived since `scanned`; returns where the next scan starts
    (a match needs the whole jingle, so a window ends short of one jingle's length)."""
    upto = capture.received
    window = capture.samples(scanned, upto)
    for index in locate_all(window, intro):
        found.append(capture.wall_at(scanned + index))
    following = max(scanned, upto - len(intro) + 1)
    if not final:
        capture.trim(following)
    return following


def report(
    soak: Soak,
    times: list[datetime],
    of_time: dict[str, str],
    rows: list[tuple[str, ...]],
    daemon_log: str,
    code: int,
    length: int,
    began: float,
) -> None:
    lead_in = LEAD_IN_MS / 1000
    jingle_s = length / RATE
    expected = {(of_time[moment.strftime("%H:%M:%S")], moment) for moment in times}
    scheduled_rows: dict[tuple[str, datetime], tuple[str, ...]] = {}
    duplicates = 0
    says = []
    for row in rows:
        entry, scheduled = row[0], datetime.fromisoformat(row[1])
        if entry in ("say", "play"):
            says.append(row)
            continue
        duplicates += (entry, scheduled) in scheduled_rows
        scheduled_rows[(entry, scheduled)] = row
    missing = expected - scheduled_rows.keys()
    unexpected_rows = scheduled_rows.keys() - expected
    results: dict[str, int] = {}
    for key in expected & scheduled_rows.keys():
        results[scheduled_rows[key][5]] = results.get(scheduled_rows[key][5], 0) + 1

    intros = sorted(soak.intros)
    claimed: set[int] = set()

    def inside(row: tuple[str, ...]) -> list[int]:
        if not row[3]:
            return []
        first = datetime.fromisoformat(row[3]).timestamp() - ON_TIME_S
        last = datetime.fromisoformat(row[4]).timestamp() if row[4] else first + 60
        return [n for n, at in enumerate(intros) if first <= at <= last - jingle_s + 0.5]

    heard_once = heard_never = heard_more = held_up = 0
    errors: list[tuple[float, float]] = []
    for key in sorted(expected & scheduled_rows.keys(), key=lambda pair: pair[1]):
        row = scheduled_rows[key]
        heard = inside(row)
        claimed.update(heard)
        if row[5] not in ("played", "played-fallback"):
            continue
        heard_once += len(heard) == 1
        heard_never += not heard
        heard_more += len(heard) > 1
        late = datetime.fromisoformat(row[3]) - key[1]
        if late.total_seconds() > ON_TIME_S:
            held_up += 1
            continue
        if heard:
            at = intros[heard[0]]
            errors.append((key[1].timestamp(), (at - key[1].timestamp() - lead_in) * 1000))
    for row in says:
        claimed.update(inside(row))
    stray = len(intros) - len(claimed)

    print()
    print(f"machine: {machine()}; soak finished {datetime.now():%Y-%m-%d %H:%M}")
    print(
        f"ran {(time.time() - began) / 3600:.2f} h; daemon exit code {code}; "
        f"{len(soak.sent)} `say` sent ({sum(p == 'emergency' for _, p, _ in soak.sent)} "
        f"emergency), {sum(ok for *_, ok in soak.sent)} accepted, {len(says)} as-run rows"
    )
    print()
    print("| scheduled occurrences | count |")
    print("|---|---:|")
    print(f"| expected | {len(expected)} |")
    print(f"| with an as-run row (exactly one each) | {len(expected & scheduled_rows.keys())} |")
    print(f"| missing a row | {len(missing)} |")
    print(f"| rows not expected / duplicate | {len(unexpected_rows)} / {duplicates} |")
    for result, count in sorted(results.items()):
        print(f"| result `{result}` | {count} |")
    print(f"| played and heard exactly once in their as-run time | {heard_once} |")
    print(f"| played but not heard / heard more than once | {heard_never} / {heard_more} |")
    print(f"| held up or cut by an emergency, aired again (not in start error) | {held_up} |")
    print(f"| intros heard outside every as-run time (first attempts cut short) | {stray} |")
    print()
    print("| period | starts | start error p50 | p95 | max |")
    print("|---|---:|---:|---:|---:|")
    origin = times[0].timestamp()
    bucket_s = soak.bucket_minutes * 60
    buckets: dict[int, list[float]] = {}
    for moment, error in errors:
        buckets.setdefault(int((moment - origin) // bucket_s), []).append(abs(error))
    for number, values in sorted(buckets.items()):
        label = f"{number * soak.bucket_minutes:g}-{(number + 1) * soak.bucket_minutes:g} min"
        print(f"| {label} | {len(values)} | {_stats(values)} |")
    print(f"| all | {len(errors)} | {_stats([abs(e) for _, e in errors])} |")
    if errors:
        signed = [e for _, e in errors]
        print(
            f"\nsigned start error: median {np.median(signed):+.1f} ms, "
            f"min {min(signed):+.1f}, max {max(signed):+.1f} (+ is late)"
        )
    print()
    resources(soak.samples)
    warnings = sum("WARNING" in line for line in daemon_log.splitlines())
    errors_logged = sum("ERROR" in line for line in daemon_log.splitlines())
    print(
        f"daemon log: {len(daemon_log.splitlines())} lines, {warnings} warnings, "
        f"{errors_logged} errors, {daemon_log.count('Traceback')} tracebacks"
    )


def _stats(values: list[float]) -> str:
    if not values:
        return "- | - | -"
    p50, p95 = np.percentile(values, [50, 95])
    return f"{p50:.1f} ms | {p95:.1f} ms | {max(values):.1f} ms"


def resources(samples: list[Sample]) -> None:
    if len(samples) < 2:
        print("too few RSS samples")
        return
    settled = [s for s in samples if s.wall - samples[0].wall >= SETTLE_S] or samples
    first, last = settled[0], samples[-1]
    hours = (last.wall - first.wall) / 3600
    walls = np.array([s.wall for s in settled])
    rss = np.array([s.rss_mb for s in settled])
    drift = float(np.polyfit((walls - walls[0]) / 3600, rss, 1)[0]) if len(settled) > 2 else 0.0
    cpu = last.cpu_s - first.cpu_s
    print("| daemon | value |")
    print("|---|---:|")
    print(
        f"| RSS after {SETTLE_S:g} s / at the end / max | {first.rss_mb:.1f} / "
        f"{last.rss_mb:.1f} / {max(s.rss_mb for s in samples):.1f} MB |"
    )
    print(f"| RSS drift (fitted over {len(settled)} samples) | {drift:+.2f} MB per hour |")
    if hours > 0:
        print(
            f"| CPU over {hours * 60:.1f} min | {cpu:.1f} s = {cpu / (hours * 3600) * 100:.2f} % |"
        )
    print()


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--hours", type=float, required=True, help="how long (0.1 = 6 minutes)")
    parser.add_argument("--spacing", type=int, default=30, help="seconds between broadcasts")
    parser.add_argument("--adhoc-every", type=float, default=60.0, help="mean seconds between says")
    parser.add_argument("--emergency-share", type=float, default=0.25)
    parser.add_argument("--bucket-minutes", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--relay", action="store_true", help="soak one relay (bench/relay_soak)")
    parser.add_argument("--latency-csv", type=Path, help="with --relay: every beep's latency")
    options = parser.parse_args()
    if options.relay:
        from bench import relay_soak

        relay_soak.run(options.hours, options.bucket_minutes, options.latency_csv)
        return
    if 86400 % options.spacing or options.spacing < 20:
        parser.error("--spacing must divide a day (86400 s) and be at least 20 s")
    if options.hours * 3600 < FIRST_AFTER_S + options.spacing:
        parser.error("--hours is too short for even one broadcast")
    run(
        Soak(
            options.hours,
            options.spacing,
            options.adhoc_every,
            options.emergency_share,
            options.bucket_minutes,
            options.seed,
        )
    )


if __name__ == "__main__":
    main()
