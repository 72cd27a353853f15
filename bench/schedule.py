"""Reading and expanding a large schedule: 10,000 varied entries in 20 files (by default).

    .venv/bin/python -m bench.schedule [ENTRIES] [FILES]

1. Reading the schedules: parsing and checking every file, cold (the daemon's first read), then
   again after one file changed (the daemon's reload: only that file is read again), then the
   checks of `loa schedule check` in this process; against ruamel.yaml reading the same files,
   round-trip as Loa did before (line numbers, no checks) and safe (no line numbers). Wall time
   and CPU time are printed: on a loaded machine the CPU time is the steadier number.
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
from broadcaster.station.schedule_check import check_schedules
from broadcaster.station.schedule_check import measure as measure_announcements
from broadcaster.station.schedules import ScheduleCache, read_schedules
from broadcaster.station.station_file import load_station

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
CLOCK = datetime(2026, 12, 1, 8, 0, tzinfo=ZONE)
"""A fixed Tuesday morning: the generated dates are around it, so counts do not depend on the
day the bench runs (except `loa schedule check`, which looks ahead from today)."""
DAYS = 30


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def line(
    label: str,
    seconds: float,
    count: int | None = None,
    unit: str = "entries",
    cpu: float | None = None,
) -> None:
    rate = f"{count / seconds:>10,.0f} {unit}/s" if count else ""
    used = f"CPU {cpu * 1000:8.1f} ms" if cpu is not None else ""
    print(
        f"  {label:<38} {seconds * 1000:9.2f} ms {rate:<20} {used:<16} peak RSS {peak_mb():4.0f} MB"
    )


class Timer:
    """Wall and CPU time of a block."""

    def __enter__(self) -> "Timer":
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def check_process(station: Path, home: Path) -> tuple[float, int, int, str, float, float]:
    """`loa schedule check`: wall time, exit code, lines printed, its summary, peak RSS (MB),
    CPU time."""
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
    cpu = usage.ru_utime + usage.ru_stime
    return elapsed, process.returncode, len(text), summary, usage.ru_maxrss / 1024, cpu


def measure(count: int = 10_000, files: int = 20, full: bool = True) -> dict[str, float]:
    """Prints each phase as it goes, and returns seconds of "load" (a cold read, "load_cpu" its
    CPU time), "reload_one" (one file changed), "check_in_process", "ruamel_rt" (ruamel.yaml's
    round-trip load), "peer" (its safe load), "expand" (30 days) with the "occurrences" found,
    "yaml_mb"; when
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

        cache = ScheduleCache()
        with Timer() as cold:
            schedules = read_schedules(station, cache=cache)
        entries = list(schedules.entries)
        load = found["load"] = cold.wall
        found["load_cpu"] = cold.cpu
        line("read schedules, cold (parse + check)", load, len(entries), cpu=cold.cpu)
        changed = sorted((station_dir / "schedules").glob("*.yaml"))[len(schedules.files) // 2]
        changed.write_text(changed.read_text(encoding="utf-8") + "# sửa\n", encoding="utf-8")
        with Timer() as again:
            reread = read_schedules(station, cache=cache)
        assert len(reread.entries) == len(entries) and not reread.problems
        found["reload_one"], found["reload_one_cpu"] = again.wall, again.cpu
        line("read again, one file changed", again.wall, cpu=again.cpu)
        with Timer() as checking:
            timing = measure_announcements(station, [e.announcement for e in entries])
            findings = check_schedules(schedules, timing, station, CLOCK.date())
        found["check_in_process"], found["check_in_process_cpu"] = checking.wall, checking.cpu
        line(f"checks over 366 days ({len(findings)} found)", checking.wall, cpu=checking.cpu)
        total_cpu = cold.cpu + checking.cpu
        print(
            f"  {'load and check':<38} {(load + checking.wall) * 1000:9.2f} ms "
            f"{'':<20} CPU {total_cpu * 1000:8.1f} ms"
        )
        paths = sorted((station_dir / "schedules").glob("*.yaml"))
        with Timer() as round_trip:
            for path in paths:
                YAML(typ="rt").load(path.read_text(encoding="utf-8"))
        found["ruamel_rt"] = round_trip.wall
        line("ruamel.yaml round-trip load (before)", round_trip.wall, count, cpu=round_trip.cpu)
        with Timer() as safe:
            for path in paths:
                YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
        peer = found["peer"] = safe.wall
        line("ruamel.yaml safe load, same files", peer, count, cpu=safe.cpu)
        print(
            f"  {'ratio cold read / ruamel round-trip':<38} {load / round_trip.wall:9.3f} "
            f"(CPU {cold.cpu / round_trip.cpu:.3f})"
        )
        print(f"  {'ratio cold read / ruamel safe load':<38} {load / peer:9.3f}")

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
            found["planned"] = planned = daemon.planner.planned
            line(f"first sweep: plan {PLAN_HOURS:g} h", found["first_sweep"], count)
            print(f"  {'':<38} {planned:9,} occurrences planned, {len(daemon.queue)} queued")
            clock[0] = CLOCK + timedelta(seconds=1)
            started = time.perf_counter()
            daemon.sweep(clock[0])
            found["next_sweep"] = time.perf_counter() - started
            line("next sweep (lookup in the plan)", found["next_sweep"])
        finally:
            daemon.shutdown()

        elapsed, code, lines, summary, rss, cpu = check_process(station_dir, folder)
        found["check"], found["check_rss_mb"], found["check_cpu"] = elapsed, rss, cpu
        print(
            f"loa schedule check (separate process): {elapsed:.2f} s (CPU {cpu:.2f} s), "
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
