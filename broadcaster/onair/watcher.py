"""Hot reload: the station's files watched by their fingerprints and read again on a thread of
its own, one reading at a time, so that a reading of 10,000 entries never holds up the heartbeat
or the player, and two requests to reload never run at once."""

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from broadcaster.core.settings import Station
from broadcaster.errors import DaemonError, LoaError
from broadcaster.i18n import _
from broadcaster.onair.events import EventBus
from broadcaster.station.schedules import Entry, Schedules, read_schedules
from broadcaster.station.station_file import load_station

log = logging.getLogger("loa")

WATCH_EVERY_S = 1.0
RELOAD_WAIT_S = 120.0
"""How long a `loa reload` waits for the watcher's answer."""

Apply = Callable[[Station, list[Entry]], None]


class Watcher:
    """Reads the station when a file changed, or when asked; `apply` puts a good reading on the
    air. A bad edit keeps what is on the air, and its error is kept for `loa status`."""

    def __init__(self, directory: Path, apply: Apply, events: EventBus) -> None:
        self.directory = directory
        self._apply = apply
        self.events = events
        self.error: str | None = None
        self._fingerprint: tuple[Any, ...] = ()
        self._loaded = False
        """Whether a good reading is on the air."""
        self._reading = threading.Lock()
        self._asked: queue.Queue[Future[str | None] | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="loa-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._asked.put(None)

    def join(self, timeout: float) -> None:
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def threaded(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def reload(self, force: bool = False) -> str | None:
        """Read again if a file changed (or `force`): the error, or None. While the watcher
        thread runs, the reading is done there and this waits for its answer."""
        if not self.threaded or threading.current_thread() is self._thread:
            with self._reading:
                return self._read(force)
        asked: Future[str | None] = Future()
        self._asked.put(asked)
        try:
            return asked.result(RELOAD_WAIT_S)
        except TimeoutError as error:
            raise DaemonError(
                _("The station is still reading its files; ask again in a moment.")
            ) from error

    def _run(self) -> None:
        while True:
            try:
                asked = self._asked.get(timeout=WATCH_EVERY_S)
            except queue.Empty:
                asked = Future()  # nobody asked: look for edits
                force = False
            else:
                if asked is None:
                    return
                force = True
            try:
                with self._reading:
                    asked.set_result(self._read(force))
            except Exception as error:  # the watcher outlives whatever one reading does
                log.exception(_("Reading the station's files failed unexpectedly."))
                asked.set_exception(error)

    def _read(self, force: bool) -> str | None:
        fingerprint = fingerprint_of(self.directory)
        if fingerprint == self._fingerprint and not force:
            return self.error
        self._fingerprint = fingerprint
        station: Station | None = None
        found: Schedules | None = None
        try:
            station = load_station(self.directory)
            found = read_schedules(station)
            found.raise_problems()
        except LoaError as failure:
            error = failure.message
            log.error(_("The edit was not taken; the last good schedule stays on air: %s"), error)
            self.error = error
            self.events.emit(lambda listener: listener.reload_failed(error))
            if self._loaded or station is None or found is None:
                return error
        else:
            self._loaded = True
            self.error = None
            entries = len(found.entries)
            self.events.emit(lambda listener: listener.reload_succeeded(entries))
        self._apply(station, list(found.entries))  # a first reading with a bad edit airs the rest
        return self.error


def fingerprint_of(directory: Path) -> tuple[Any, ...]:
    """What hot reload compares: the name, size and time of every file Loa reads."""
    found = []
    for pattern in ("station.yaml", "holidays.yaml", "schedules/*", "announcements/*"):
        for path in sorted(directory.glob(pattern)):
            try:
                stat = path.stat()
            except OSError:
                continue
            found.append((str(path), stat.st_size, stat.st_mtime_ns))
    return tuple(found)
