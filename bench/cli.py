"""How long `loa` takes to answer the commands that render no audio: wall time of a fresh process,
as an officer (or a script) starts it, on a copy of the bundled example station.

    .venv/bin/python -m bench.cli [RUNS]

The first run of each command is a warm-up: it also caches the bytecode, as an officer's first run
does (see `loa_env`).
"""

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.stations import ROOT, loa_env

RUNS = 10
COMMANDS = (("--version",), ("next",), ("status",), ("schedule", "list"))


def measure(runs: int = RUNS) -> dict[tuple[str, ...], list[float]]:
    """Seconds of each run of each command (the first run of each is a warm-up, not counted)."""
    folder = Path(tempfile.mkdtemp(prefix="loa-bench-"))
    try:
        station = folder / "station"
        station.mkdir()
        for name in ("station.yaml", "holidays.yaml"):
            shutil.copy(ROOT / name, station / name)
        for name in ("announcements", "schedules"):
            shutil.copytree(ROOT / name, station / name)
        env = loa_env(folder)
        loa = [str(Path(sys.executable).with_name("loa")), "--station", str(station)]
        found: dict[tuple[str, ...], list[float]] = {}
        for args in COMMANDS:
            times = []
            for run in range(runs + 1):
                started = time.perf_counter()
                subprocess.run([*loa, *args], env=env, capture_output=True, check=False)
                if run:
                    times.append(time.perf_counter() - started)
            found[args] = times
            print(
                f"loa {' '.join(args):<14} median {statistics.median(times) * 1000:6.0f} ms, "
                f"min {min(times) * 1000:6.0f} ms, max {max(times) * 1000:6.0f} ms ({runs} runs)"
            )
        return found
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    measure(int(sys.argv[1]) if len(sys.argv) > 1 else RUNS)
