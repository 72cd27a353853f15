"""What happens on the air, told to whoever listens (the web console, the province link, the
on-air monitor) instead of them reaching into the daemon — as Mopidy's CoreListener.

A listener overrides the methods it cares about. Events are delivered in order on a dispatcher
thread of their own, never on the player's: a slow or failing listener never delays or stops the
air (its exception is logged).
"""

import logging
import threading
from collections import deque
from collections.abc import Callable
from datetime import datetime

from broadcaster.core.models import Alarm, Hearing, Occurrence, Result
from broadcaster.i18n import _

log = logging.getLogger("loa")


class Listener:
    """The events of a running station; every method does nothing unless overridden."""

    def occurrence_started(self, occurrence: Occurrence, started: datetime) -> None:
        """Its first sound is about to go out (its as-run row says `playing`)."""

    def occurrence_finished(self, occurrence: Occurrence, result: Result, error: str) -> None:
        """Its as-run row is final: played (to the end), interrupted, failed — or it did not
        start at all: missed, skipped in quiet hours."""

    def queue_changed(self, queued: tuple[Occurrence, ...]) -> None:
        """What waits for the air now, best first."""

    def reload_succeeded(self, entries: int) -> None:
        """The station's files were read again and are on the air."""

    def reload_failed(self, error: str) -> None:
        """An edit was refused; the last good schedule stays on the air."""

    def clock_jumped(self, seconds: int) -> None:
        """The wall clock moved by `seconds` more than time passed (set by hand, or sleep)."""

    def heard(self, occurrence: Occurrence, hearing: Hearing) -> None:
        """The on-air monitor judged what was heard of an occurrence that aired (a few seconds
        after it finished); its as-run row says so now."""

    def monitor_alarm(self, alarm: Alarm) -> None:
        """The on-air monitor raised an alarm (dead air, off the air, unexpected sound …), or
        one ended (`alarm.ended` is set); the as-run log has it already."""


Event = Callable[[Listener], None]


class EventBus:
    """Listeners and the dispatcher thread that calls them, started with the first listener."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._pending: deque[Event] = deque()
        self._cond = threading.Condition()
        self._busy = False
        self._closed = False
        self._thread: threading.Thread | None = None

    def subscribe(self, listener: Listener) -> None:
        with self._cond:
            self._listeners.append(listener)
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._run, name="loa-events", daemon=True)
                self._thread.start()

    def unsubscribe(self, listener: Listener) -> None:
        with self._cond:
            self._listeners.remove(listener)

    def emit(self, event: Event) -> None:
        """Queue `event` (a call on a listener) for every listener; returns at once."""
        with self._cond:
            if self._listeners and not self._closed:
                self._pending.append(event)
                self._cond.notify_all()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every event emitted so far was delivered; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending and not self._busy, timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Deliver what is pending, then stop the dispatcher."""
        self.flush(timeout)
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending or self._closed)
                if not self._pending:
                    return
                event = self._pending.popleft()
                listeners = list(self._listeners)
                self._busy = True
            for listener in listeners:
                try:
                    event(listener)
                except Exception:
                    log.exception(_("A listener of the station's events failed; the air goes on."))
            with self._cond:
                self._busy = False
                self._cond.notify_all()
