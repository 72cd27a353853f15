"""The daemon's sense of time: a heartbeat that notices the wall clock jumping (set by hand, or
the PC waking from sleep), and plain timer threads in place of a scheduler library."""

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from broadcaster.i18n import _

log = logging.getLogger("loa")

JUMP_S = 5.0
"""A heartbeat whose wall-clock step differs from the monotonic one by more than this means the
clock was set or the PC slept."""
JUMP_NOTED_S = 60.0
"""Items missed this soon after a clock jump say so in the log."""


class JumpDetector:
    """Compares each heartbeat's wall-clock step with the monotonic one."""

    def __init__(self, monotonic: Callable[[], float]) -> None:
        self.monotonic = monotonic
        self._beat: tuple[datetime, float] | None = None
        self._jump: tuple[float, int] | None = None
        """When (monotonic) the clock last jumped, and by how many seconds."""

    def beat(self, now: datetime) -> int | None:
        """The jump in whole seconds since the last beat, if the clock jumped."""
        tick = self.monotonic()
        jumped = None
        if self._beat is not None:
            wall = (now - self._beat[0]).total_seconds()
            steady = tick - self._beat[1]
            if abs(wall - steady) > JUMP_S:
                jumped = round(wall - steady)
                self._jump = (tick, jumped)
        self._beat = (now, tick)
        return jumped

    def recent_jump(self) -> int | None:
        """The last jump, if it was less than JUMP_NOTED_S ago: it explains a missed item."""
        if self._jump is not None and self.monotonic() - self._jump[0] < JUMP_NOTED_S:
            return self._jump[1]
        return None


class Ticker:
    """Calls `task` every `period_s` seconds on a thread of its own, on the monotonic clock (a
    clock jump neither bunches nor skips ticks); an exception is logged and the ticks go on."""

    def __init__(self, name: str, period_s: float, task: Callable[[], None]) -> None:
        self.name = name
        self.period_s = period_s
        self.task = task
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float) -> None:
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.task()
            except Exception:
                log.exception(_("The %s task met an unexpected error; it goes on."), self.name)
            self._stop.wait(self.period_s)
