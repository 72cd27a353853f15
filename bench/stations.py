"""Shared by the bench scripts: temporary stations, a large generated schedule, and a real
`loa run` process that cannot reach the Internet.

Not a benchmark itself; see bench/schedule.py, bench/daemon.py and bench/start_error.py.
"""

import os
import platform
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from broadcaster.onair.asrun import LOG_FILE

ROOT = Path(__file__).resolve().parent.parent
CLOSED_EDGE_ENDPOINT = "ws://127.0.0.1:9/x?y"
"""A loopback port nobody listens on: the online voice fails at once, as when offline."""
ANNOUNCEMENTS = ("bluezone", "hop-to-dan-pho")
DAY_SETS = ("T2-T6", "T7", "CN", "[T2, T4, T6]", "T3-T5", "[T7, CN]", "T2", "[T6-CN]")
MINUTES_PER_DAY = 24 * 60


def make_station(
    folder: Path,
    *,
    device: str | None = None,
    quiet_hours: str | None = None,
    holidays: bool = True,
    voice: str = "vi",
) -> Path:
    """A copy of the bundled example station (station.yaml, announcements/, holidays.yaml) in
    `folder`, with the espeak voice unless `voice` says otherwise; `device` and `quiet_hours`
    replace the bundled values."""
    station = folder / "station"
    shutil.copytree(ROOT / "announcements", station / "announcements")
    if holidays:
        shutil.copy(ROOT / "holidays.yaml", station / "holidays.yaml")
    config = _replace(
        (ROOT / "station.yaml").read_text(encoding="utf-8"),
        "voice: vi-VN-HoaiMyNeural",
        f"voice: {voice}",
    )
    if device is not None:
        config = _replace(config, "device: simpleaudio", f"device: {device}")
    if quiet_hours is not None:
        config = _replace(config, 'quiet_hours: "21:00-06:00"', f'quiet_hours: "{quiet_hours}"')
    (station / "station.yaml").write_text(config, encoding="utf-8")
    (station / "schedules").mkdir()
    return station


def copy_example_schedule(station: Path) -> None:
    for path in (ROOT / "schedules").glob("*.yaml"):
        shutil.copy(path, station / "schedules" / path.name)


def _replace(text: str, old: str, new: str) -> str:
    if old not in text:
        raise RuntimeError(f"station.yaml no longer says {old!r}: update bench/stations.py")
    return text.replace(old, new)


def write_many_entries(
    station: Path,
    count: int,
    files: int,
    base: date,
    avoid: tuple[int, int] | None = None,
    seed: int = 5,
) -> None:
    """`count` varied entries spread evenly over `files` schedule files: weekdays, every day,
    every N days or weeks from a first day, monthly by day or nth weekday, one-off dates,
    campaigns (from/until), except lists, the three priorities, drafts and disabled entries.
    Dates are around `base`; no time falls in `avoid` (minutes of the day, [first, last),
    may cross midnight)."""
    rng = random.Random(seed)
    per_file = -(-count // files)
    for number in range(files):
        first = number * per_file
        text = "".join(
            _entry(rng, index, base, avoid) for index in range(first, min(count, first + per_file))
        )
        (station / "schedules" / f"bench-{number:02d}.yaml").write_text(text, encoding="utf-8")


def _entry(rng: random.Random, index: int, base: date, avoid: tuple[int, int] | None) -> str:
    lines = [
        f"- id: e{index:05d}",
        f"  announcement: {rng.choice(ANNOUNCEMENTS)}",
        f"  times: [{', '.join(_time(rng, avoid) for _ in range(rng.choice((1, 1, 2, 3))))}]",
    ]
    kind = rng.randrange(10)
    if kind <= 2:
        lines.append(f"  days: {rng.choice(DAY_SETS)}")
    elif kind == 3:
        lines.append(f"  from: {base - timedelta(days=rng.randrange(60))}")
        lines.append(f"  every: {rng.choice(('2 weeks', '3 tuần', '3 days', '10 ngày'))}")
    elif kind == 4:
        lines.append(f"  monthly: {{day: {rng.randrange(1, 29)}}}")
    elif kind == 5:
        weekday = rng.choice(("T2", "T4", "T6", "CN"))
        lines.append(f"  monthly: {{weekday: {weekday}, nth: {rng.choice((1, 2, 3, 4, -1))}}}")
    elif kind == 6:
        lines.append(f"  date: {base + timedelta(days=rng.randrange(40))}")
    elif kind == 7:
        start = base - timedelta(days=rng.randrange(10))
        lines.append(f"  from: {start}")
        lines.append(f"  until: {start + timedelta(days=rng.randrange(5, 60))}")
        lines.append(f"  days: {rng.choice(DAY_SETS)}")
    # kinds 8 and 9: every day
    if rng.random() < 0.3:
        skipped = sorted({base + timedelta(days=rng.randrange(30)) for _ in range(3)})
        lines.append(f"  except: [{', '.join(map(str, skipped))}]")
    priority = rng.choices(("normal", "priority", "emergency"), (85, 12, 3))[0]
    if priority != "normal" or rng.random() < 0.2:
        lines.append(f"  priority: {priority}")
    if rng.random() < 0.3:
        lines.append(f"  repeat: {rng.choice((2, 3))}")
        lines.append(f"  gap: {rng.choice(('30s', '1m', '45s'))}")
    if rng.random() < 0.1:
        lines.append(f"  start: {rng.choice(('interrupt', 'after-current', 'wait'))}")
    if rng.random() < 0.1:
        lines.append(f"  late_limit: {rng.choice(('10m', '1h', '90s'))}")
    if rng.random() < 0.05:
        lines.append("  catch_up: true")
    if rng.random() < 0.02:
        lines.append("  enabled: false")
    if rng.random() < 0.02:
        lines.append("  status: draft")
    return "\n".join(lines) + "\n"


def _time(rng: random.Random, avoid: tuple[int, int] | None) -> str:
    minute = rng.randrange(MINUTES_PER_DAY)
    while avoid is not None and _within(minute, avoid):
        minute = rng.randrange(MINUTES_PER_DAY)
    hour, minute = divmod(minute, 60)
    style = rng.randrange(4)
    if style == 0 and minute == 0:
        return f"{hour}h"
    if style == 1:
        return f"{hour}h{minute:02d}"
    if style == 2:
        return f'"{hour:02d}:{minute:02d}:{rng.randrange(60):02d}"'
    return f'"{hour:02d}:{minute:02d}"'


def _within(minute: int, window: tuple[int, int]) -> bool:
    first, last = window
    return (minute - first) % MINUTES_PER_DAY < (last - first) % MINUTES_PER_DAY


def loa_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for a `loa` child process: offline online voice, no user settings leaking.
    Python may cache its bytecode, as it does for an officer's `loa` (pip compiles an installed
    package; a checkout gets its __pycache__ at the first run): a shell that sets
    PYTHONDONTWRITEBYTECODE, as a sandbox may, would otherwise make every run compile Loa's
    sources again, ~40 ms that no officer waits."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOA_", "ALSA_", "PULSE_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "LOA_EDGE_ENDPOINT": CLOSED_EDGE_ENDPOINT,
            "HOME": str(home),
            "no_proxy": "127.0.0.1,localhost",
            **(extra or {}),
        }
    )
    return env


def loa_command(station: Path, *args: str) -> list[str]:
    return [sys.executable, str(ROOT / "cli.py"), "--station", str(station), *args]


def start_daemon(
    station: Path, env: dict[str, str], log: Path, timeout: float = 300
) -> tuple[subprocess.Popen[bytes], float]:
    """`loa run` on `station`, once its control channel is open; and how long that took."""
    started = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen(
            loa_command(station, "run"), env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT
        )
    while not (station / ".loa" / "control.sock").exists():
        if process.poll() is not None or time.monotonic() - started > timeout:
            stop_daemon(process)
            raise RuntimeError(f"the daemon did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.02)
    return process, time.monotonic() - started


def stop_daemon(process: subprocess.Popen[bytes]) -> int:
    """SIGTERM, then SIGKILL after 20 s: a bench never leaves a daemon behind."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


def asrun_rows(station: Path, where: str = "result != 'playing'") -> list[tuple[str, ...]]:
    """(entry_id, scheduled, priority, started, ended, result, source, error) of the station's
    as-run rows matching `where`, in scheduled order; none before the log exists."""
    if not (station / LOG_FILE).exists():
        return []
    with sqlite3.connect(station / LOG_FILE) as db:
        return db.execute(
            "SELECT entry_id, scheduled, priority, started, ended, result, source, error "
            f"FROM asrun WHERE {where} ORDER BY scheduled_ts"
        ).fetchall()


def machine() -> str:
    """CPU count and model, Python version: printed with every table."""
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    cores = len(os.sched_getaffinity(0))
    return f"{cores} cores ({model}), Python {platform.python_version()}, {platform.system()}"
