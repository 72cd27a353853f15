"""Reading and expanding a large schedule: 10,000 varied entries in 20 files (by default).

    .venv/bin/python -m bench.schedule [ENTRIES] [FILES]

1. `load_schedules`: parsing and checking every file (the daemon's reload does the same),
   against ruamel.yaml's plain safe load of the same files (no line numbers, no checks).
2. Every entry expanded over 30 days with `rules.occurrences` (occurrences counted).
3. The daemon's own plan of the next 6 hours, on a fixed clock: `Daemon.open()` (takes the
   station, reads it), then the first `sweep` (plans PLAN_HOURS and queues what is due), then a
   second sweep one second later (a lookup in the plan).
4. `loa schedule check` on the same station, as a separate process (wall time, peak RSS).
Peak RSS of this process is printed after each phase. Touches nothing outside a temporary folder.
"""

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from ruamel.yaml import YAML

from bench.stations import ROOT, loa_command, loa_env, make_station, write_many_entries
from broadcaster.core.recurrence import occurrences
from broadcaster.onair.daemon import PLAN_HOURS, Daemon
from broadcaster.station.schedules import load_schedules
from broadcaster.station.station_file import load_station

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
CLOCK = datetime(2026, 12, 1, 8, 0, tzinfo=ZONE)
"""A fixed Tuesday morning: the generated dates are around it, so counts do not depend on the
day the bench runs (except `loa schedule check`, which looks ahead from today)."""
DAYS = 30


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def line(label: str, seconds: float, count: int | None = None, unit: str = "entries") -> None:
    rate = f"{count / seconds:>10,.0f} {unit}/s" if count else ""
    print(f"  {label:<38} {seconds * 1000:9.2f} ms {rate:<20} peak RSS {peak_mb():4.0f} MB")


def check_process(station: Path, home: Path) -> tuple[float, int, int, str, float]:
    """`loa schedule check`: wall time, exit code, lines printed, its summary, peak RSS (MB)."""
    out = home / "check.txt"
    err = home / "check-err.txt"
    started = time.perf_counter()
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            loa_command(station, "--lang", "en", "schedule", "check"),
            env=loa_env(home),
            cwd=ROOT,
            stdout=stdout,
            stderr=stderr,
        )
        _pid, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    text = out.read_text(encoding="utf-8").splitlines()
    summary = (err.read_text(encoding="utf-8").strip().splitlines() or text or [""])[-1]
    return elapsed, process.returncode, len(text), summary, usage.ru_maxrss / 1024


def measure(count: int = 10_000, files: int = 20, full: bool = True) -> dict[str, float]:
    """Prints each phase as it goes, and returns seconds of "load" (load_schedules), "peer"
    (ruamel.yaml safe load), "expand" (30 days) with the "occurrences" found, "yaml_mb"; when
    `full`, also "open", "first_sweep", "next_sweep" (the daemon's plan), "planned", and "check"
    with "check_rss_mb" (`loa schedule check` as a process)."""
    found: dict[str, float] = {"entries": count}
    folder = Path(tempfile.mkdtemp(prefix="loa-bench-"))
    try:
        station_dir = make_station(folder)
        write_many_entries(station_dir, count, files, CLOCK.date())
        size = sum(p.stat().st_size for p in (station_dir / "schedules").iterdir())
        found["yaml_mb"] = size / 1e6
        print(
            f"{count} entries in {files} files ({size / 1e6:.1f} MB of YAML); "
            f"clock {CLOCK:%Y-%m-%d %H:%M} {ZONE.key}"
        )
        print(f"  {'after imports':<38} {'':>34} peak RSS {peak_mb():4.0f} MB")
        station = load_station(station_dir)

        started = time.perf_counter()
        entries = load_schedules(station)
        load = found["load"] = time.perf_counter() - started
        line("load_schedules (parse + check)", load, len(entries))
        started = time.perf_counter()
        for path in sorted((station_dir / "schedules").glob("*.yaml")):
            YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
        peer = found["peer"] = time.perf_counter() - started
        line("peer: ruamel.yaml safe load, same files", peer, count)
        print(f"  {'ratio load_schedules / safe load':<38} {load / peer:9.2f}")

        started = time.perf_counter()
        end = CLOCK + timedelta(days=DAYS)
        total = sum(sum(1 for _ in occurrences(entry.rule, CLOCK, end)) for entry in entries)
        expand = found["expand"] = time.perf_counter() - started
        found["occurrences"] = total
        line(f"expand {DAYS} days (rules.occurrences)", expand, len(entries))
        print(f"  {'':<38} {total:9,} occurrences ({total / expand:,.0f}/s)")
        if not full:
            return found

        clock = [CLOCK]
        daemon = Daemon(station_dir, now=lambda zone: clock[0].astimezone(zone))
        try:
            started = time.perf_counter()
            now = daemon.open()
            found["open"] = time.perf_counter() - started
            line("Daemon.open (lock, read, as-run log)", found["open"], count)
            started = time.perf_counter()
            daemon.sweep(now)
            found["first_sweep"] = time.perf_counter() - started
            found["planned"] = planned = len(daemon._plan)
            line(f"first sweep: plan {PLAN_HOURS:g} h", found["first_sweep"], count)
            print(f"  {'':<38} {planned:9,} occurrences planned, {len(daemon.queue)} queued")
            clock[0] = CLOCK + timedelta(seconds=1)
            started = time.perf_counter()
            daemon.sweep(clock[0])
            found["next_sweep"] = time.perf_counter() - started
            line("next sweep (lookup in the plan)", found["next_sweep"])
        finally:
            daemon.shutdown()

        elapsed, code, lines, summary, rss = check_process(station_dir, folder)
        found["check"], found["check_rss_mb"] = elapsed, rss
        print(
            f"loa schedule check (separate process): {elapsed:.2f} s, "
            f"{count / elapsed:,.0f} entries/s, peak RSS {rss:.0f} MB, exit {code}, "
            f"{lines} lines"
        )
        print(f"  {summary}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return found


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    files = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    measure(count, files)


if __name__ == "__main__":
    main()
