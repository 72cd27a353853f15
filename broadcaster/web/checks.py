"""The doctor page's checks, split by what they cost.

Most of `loa doctor`'s checks take a few milliseconds and say what is true now (is Loa running,
is the disk full): the page runs them on every visit. Four start programs, import every library
(some 20 MB that the console would then hold for good) or wait for the online voice, and what
they find changes only when someone installs something: those run in a child process, in the
background, and the page shows their last results with the time they were taken, again at once
on demand.

    python -m broadcaster.web.checks STATION_DIR LANGUAGE   (the child: results as JSON lines)
"""

import json
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from broadcaster.i18n import _

SLOW_CHECKS = ("dependencies", "espeak", "ffmpeg", "online", "relay", "monitor")
REFRESH_S = 600.0
"""Results older than this are taken again in the background when the page is opened."""
CHILD_MARGIN_S = 30.0
"""The child's own start (Python, the libraries) on top of its checks' time limits."""


@dataclass(frozen=True)
class Taken:
    """Results of the slow checks and when they were taken (the station's local time)."""

    results: list[Any]
    at: datetime
    monotonic: float


class SlowChecks:
    """The slow checks' last results for one station, taken again in a background child process
    when they are old; at most one child at a time."""

    def __init__(self, station_dir: Path) -> None:
        self.station_dir = station_dir
        self._lock = threading.Lock()
        self._taken: Taken | None = None
        self._running: threading.Thread | None = None

    def results(self, now: datetime, fresh: bool = False) -> Taken:
        """The last results; taken now (waiting) when there are none yet or `fresh`, else in the
        background once they are older than REFRESH_S."""
        with self._lock:
            taken, running = self._taken, self._running
            if running is None and (
                taken is None or fresh or time.monotonic() - taken.monotonic > REFRESH_S
            ):
                running = self._running = threading.Thread(
                    target=self._take, args=(now,), name="loa-web-checks", daemon=True
                )
                running.start()
        if running is not None and (taken is None or fresh):
            running.join()
        with self._lock:
            assert self._taken is not None, "_take sets it whatever happens"
            return self._taken

    def _take(self, now: datetime) -> None:
        from broadcaster.i18n import current_language

        try:
            results = run_in_child(self.station_dir, current_language())
        except Exception as error:  # a bug here shows on the page, not as a page that hangs
            results = failed(f"{type(error).__name__}: {error}")
        with self._lock:
            self._taken = Taken(results, now, time.monotonic())
            self._running = None


def run_in_child(station_dir: Path, language: str) -> list[Any]:
    """The slow checks' results from a child process; each one failed, with the reason, if the
    child fails."""
    from broadcaster.system.doctor import CHECKS, Result

    slow = [check for check in CHECKS if check.name in SLOW_CHECKS]
    limit = sum(check.timeout_s for check in slow) + CHILD_MARGIN_S
    try:
        answer = subprocess.run(
            [sys.executable, "-m", "broadcaster.web.checks", str(station_dir), language],
            capture_output=True,
            text=True,
            timeout=limit,
            check=False,
        )
        lines = answer.stdout.splitlines()
        if answer.returncode == 0 and len(lines) == len(slow):
            return [Result(**json.loads(line)) for line in lines]
        reason = (answer.stderr.strip().splitlines() or [f"exit {answer.returncode}"])[-1]
    except (OSError, subprocess.TimeoutExpired, ValueError, TypeError) as error:
        reason = str(error)
    return failed(reason)


def failed(reason: str) -> list[Any]:
    """Each slow check failed, with why."""
    from broadcaster.system.doctor import CHECKS, FAILED, Result

    return [
        Result(
            FAILED,
            _("the check could not run: {reason}").format(reason=reason),
            _("run loa doctor in a terminal to see more."),
            what=check.label(),
        )
        for check in CHECKS
        if check.name in SLOW_CHECKS
    ]


def main(station_dir: str, language: str) -> None:
    from broadcaster.i18n import set_language
    from broadcaster.system.doctor import CHECKS, run_checks, station_settings

    set_language(language)
    station, _result = station_settings(Path(station_dir))
    for result in run_checks(station, [check for check in CHECKS if check.name in SLOW_CHECKS]):
        print(json.dumps({**asdict(result), "trace": ""}, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:3])
