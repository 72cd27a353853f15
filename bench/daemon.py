"""Memory and CPU of `loa run`: a real daemon process on the bundled example schedule, with one
ad-hoc broadcast in the middle of the window (its cache-warm round runs at start); then on 10,000
generated entries (none due during the measurement); then while it plays a 60-minute program.

    .venv/bin/python -m bench.daemon [SECONDS] [ENTRIES]

SECONDS (default 60) is the measuring window, after the daemon opened its control channel and
settled for SETTLE_S; ENTRIES (default 10000, 0 to skip) sizes the second case. RSS is sampled
every second from /proc/PID/status (the peak is VmHWM), CPU time (user + system) read from
/proc/PID/stat at both ends of the window. The output device is `silent` (it takes the program's
real time) and the voice espeak-ng, so no sound card and no network are needed; everything lives
in a temporary folder.
"""

import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.stations import (
    copy_example_schedule,
    loa_command,
    loa_env,
    make_station,
    start_daemon,
    stop_daemon,
    write_many_entries,
)
from broadcaster.onair.asrun import LOG_FILE

SETTLE_S = 5.0
STARTUP_ALLOWANCE_S = 300.0
"""How long a daemon on a large schedule may take to start, when keeping its entries away from
the measuring window."""
TICKS = os.sysconf("SC_CLK_TCK")
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def cpu_s(pid: int) -> float:
    """User + system CPU time of the process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime: fields 14 and 15


def status(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return dict(line.split(":", 1) for line in lines if ":" in line)


def kb_to_mb(value: str) -> float:
    return int(value.split()[0]) / 1024


def asrun_rows(station: Path) -> int:
    if not (station / LOG_FILE).exists():
        return 0
    with sqlite3.connect(station / LOG_FILE) as db:
        return int(db.execute("SELECT COUNT(*) FROM asrun").fetchone()[0])


def measure(
    label: str, station: Path, folder: Path, seconds: float, during: list[str] | None = None
) -> dict[str, float]:
    """Prints and returns "startup" (s to the control channel), "rss_mb" (median), "rss_max_mb",
    "peak_mb" (VmHWM), "cpu_ms_per_min", "cpu_percent" and "window" (s). `during`: a `loa`
    command sent to the running station at the start of the window."""
    log = folder / f"{station.parent.name}.log"
    env = loa_env(folder)
    process, startup = start_daemon(station, env, log)
    try:
        startup_cpu = cpu_s(process.pid)
        time.sleep(SETTLE_S)
        rss: list[float] = []
        cpu_before, wall_before = cpu_s(process.pid), time.monotonic()
        rows_before = asrun_rows(station)
        if during:
            subprocess.run(loa_command(station, *during), env=env, check=True, timeout=60)
        while (left := wall_before + seconds - time.monotonic()) > 0:
            rss.append(kb_to_mb(status(process.pid)["VmRSS"]))
            time.sleep(min(1.0, left))
        cpu_after, wall_after = cpu_s(process.pid), time.monotonic()
        final = status(process.pid)
        rows = asrun_rows(station) - rows_before
    finally:
        code = stop_daemon(process)
    window = wall_after - wall_before
    used = cpu_after - cpu_before
    print(f"{label}: control channel open {startup:.1f} s after launch ({startup_cpu:.1f} s CPU)")
    print(
        f"  RSS {statistics.median(rss):.1f} MB (median of {len(rss)} samples, "
        f"max {max(rss):.1f}, VmHWM {kb_to_mb(final['VmHWM']):.1f}), "
        f"threads {final['Threads'].strip()}"
    )
    print(
        f"  CPU over {window:.0f} s: {used * 1000:.0f} ms = {used / window * 100:.2f} % "
        f"= {used / window * 60 * 1000:.0f} ms per minute"
    )
    print(f"  as-run rows written in the window: {rows}; exit code after SIGTERM: {code}")
    return {
        "startup": startup,
        "rss_mb": statistics.median(rss),
        "rss_max_mb": max(rss),
        "peak_mb": kb_to_mb(final["VmHWM"]),
        "cpu_ms_per_min": used / window * 60 * 1000,
        "cpu_percent": used / window * 100,
        "window": window,
    }


def run(seconds: float = 60.0, entries: int = 10_000) -> dict[str, dict[str, float]]:
    """`measure` of an idle daemon on the "example" schedule, then (unless `entries` is 0) on
    `entries` generated ones ("large")."""
    print(f"window {seconds:g} s after {SETTLE_S:g} s settling; output silent, voice espeak-ng")
    found = {}
    folder = Path(tempfile.mkdtemp(prefix="loa-bench-"))
    try:
        example = make_station(folder / "example", device="silent")
        copy_example_schedule(example)
        found["example"] = measure(
            "example schedule (1 entry), one ad-hoc say",
            example,
            folder / "example",
            seconds,
            ["say", "Kính thưa bà con, đây là bản tin thử của đài truyền thanh xã."],
        )
        if entries:
            large = make_station(folder / "large", device="silent")
            now = datetime.now(ZONE)
            minute = now.hour * 60 + now.minute
            span = (STARTUP_ALLOWANCE_S + SETTLE_S + seconds) / 60
            write_many_entries(large, entries, 20, now.date(), (minute - 5, minute + 5 + int(span)))
            label = f"{entries} entries in 20 files"
            found["large"] = measure(label, large, folder / "large", seconds)
        found["playing"] = playing(folder / "playing", seconds)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return found


def playing(folder: Path, seconds: float) -> dict[str, float]:
    """`measure` while the station plays a 60-minute program: a 59-minute recording between the
    chimes, prepared (decoded, measured, levelled) and played in chunks."""
    station = make_station(folder, device="silent", quiet_hours="00:00-00:00")
    recording = station / "announcements" / "mot-gio.mp3"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=330:duration=3540",
         "-ac", "1", "-ar", "22050", "-b:a", "32k", str(recording)],
        check=True,
    )  # fmt: skip
    return measure("a 60-minute program playing", station, folder, seconds, ["play", "mot-gio"])


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    entries = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    run(seconds, entries)


if __name__ == "__main__":
    main()
