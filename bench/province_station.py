"""A light station for the province scale benchmark: the real control protocol, playout decisions
(core.playout), as-run log (SQLite) and schedule reader, with a silent output that "plays" an item
for a fixed time instead of rendering speech — so that thousands fit on a 2-core machine. The
link and the reports run unchanged against it (they see `LinkedStation` and `StationView`)."""

import functools
import heapq
import itertools
import math
import os
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from broadcaster.control.protocol import (
    OnAir,
    Play,
    Queued,
    Refused,
    Reload,
    Reloaded,
    Reply,
    Request,
    Say,
    Status,
    StatusReply,
    Stop,
    Stopped,
    Waiting,
)
from broadcaster.core.compose import clean_text
from broadcaster.core.models import Occurrence, Priority, Result, StartPolicy
from broadcaster.core.playout import Item, PlayoutQueue, interrupts, verdict
from broadcaster.onair.asrun import LOG_FILE, AsRunLog
from broadcaster.onair.events import Listener
from broadcaster.station.schedules import read_schedules
from broadcaster.station.station_file import load_station

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


TICK_S = 0.01
"""How often, at most, the timers thread wakes while busy."""


class Timers:
    """One thread per process runs every light station's timers and event deliveries, in order.
    While there is work it looks every TICK_S and runs all that is due: in the field each
    station's event thread wakes on its own machine, and one thread woken here for each of a
    thousand stations' events made a worker spend 12 % of its CPU in futex calls (4.5 % with
    the tick)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._count = itertools.count()
        self._cond = threading.Condition()
        self._looks_at = math.inf
        """When the thread looks at the heap next: a call due before it (by more than a tick)
        wakes it, any other waits for that look."""
        threading.Thread(target=self._run, name="light-timers", daemon=True).start()

    def at(self, when: float, call: Callable[[], None]) -> None:
        with self._cond:
            heapq.heappush(self._heap, (when, next(self._count), call))
            if when < self._looks_at - TICK_S:
                self._cond.notify()

    def soon(self, call: Callable[[], None]) -> None:
        self.at(time.monotonic(), call)

    def _run(self) -> None:
        while True:
            with self._cond:
                now = time.monotonic()
                while not self._heap or self._heap[0][0] > now:
                    self._looks_at = self._heap[0][0] if self._heap else math.inf
                    self._cond.wait(self._looks_at - now if self._heap else None)
                    now = time.monotonic()
                due = []
                while self._heap and self._heap[0][0] <= now:
                    due.append(heapq.heappop(self._heap)[2])
                self._looks_at = now + TICK_S
            for call in due:
                try:
                    call()
                except Exception as error:  # a bench: say it and go on
                    print(f"light station: {error!r}", flush=True)
            time.sleep(max(0.0, now + TICK_S - time.monotonic()))


class LightStation:
    """One commune station without sound. `started` records (monotonic, request id) for each
    item that went on the air: the benchmark's measure."""

    def __init__(
        self, directory: Path, timers: Timers, play_s: float = 5.0, measure_cpu: bool = False
    ) -> None:
        self.directory = directory
        self.settings = load_station(directory)
        self.asrun = AsRunLog(directory / LOG_FILE)
        self.timers = timers
        self.play_s = play_s
        self.queue = PlayoutQueue()
        self.air: tuple[Item, datetime] | None = None
        self.listeners: list[Listener] = []
        self.started: list[tuple[float, str]] = []
        self.measure_cpu = measure_cpu
        self.started_cpu: dict[str, float] = {}
        """With `measure_cpu`, the process's CPU time when each request id started: what the
        path cost (`bench.province_cpu`). Off by default: the kernel sums every thread's time
        for it, and a worker has two threads a station."""
        self.entries = len(read_schedules(self.settings).entries)
        self._requests: set[str] = set()
        self._tags: dict[Occurrence, str] = {}
        """The request id of each queued ad-hoc item: what the benchmark measures by."""
        self._lock = threading.RLock()
        self._playing = itertools.count()
        self._current = -1
        self.since = self.now()
        self.asrun.set_state("heartbeat", self.since.isoformat())  # as `loa run` does at start

    # LinkedStation and StationView ----------------------------------------------------------

    @property
    def asrun_path(self) -> Path:
        return self.directory / LOG_FILE

    def now(self) -> datetime:
        return datetime.now(ZONE)

    def subscribe(self, listener: Listener) -> None:
        self.listeners.append(listener)

    def status(self) -> Reply:
        return self.handle(Status())

    def handle(self, request: Request) -> Reply:
        with self._lock:
            if isinstance(request, Status):
                return self._status()
            if isinstance(request, Reload):
                self.settings = load_station(self.directory)
                found = read_schedules(self.settings)
                if found.problems:
                    return Refused(found.problems[0])
                self.entries = len(found.entries)
                return Reloaded(self.entries)
            if isinstance(request, Stop):
                stopped = self.air[0].occurrence.entry_id if self.air else None
                self._finish(Result.INTERRUPTED)
                return Stopped(stopped)
            assert isinstance(request, Say | Play)
            return self._enqueue(request)

    # Playout ----------------------------------------------------------------------------------

    def _enqueue(self, request: Say | Play) -> Reply:
        if request.request_id is not None and request.request_id in self._requests:
            return Queued(len(self.queue), already_queued=True)
        if request.request_id is not None:
            self._requests.add(request.request_id)
        emergency = request.priority == Priority.EMERGENCY
        subject = clean_text(request.text) if isinstance(request, Say) else request.announcement
        kind = "say" if isinstance(request, Say) else "play"
        item = Item(
            Occurrence(kind, self.now(), subject, request.priority),
            start_policy=StartPolicy.INTERRUPT if emergency else StartPolicy.AFTER_CURRENT,
            text=request.text if isinstance(request, Say) else None,
        )
        self._tags[item.occurrence] = request.request_id or subject
        if self.air is not None and interrupts(item, self.air[0]):
            self._finish(Result.INTERRUPTED)
        if self.air is None:
            self._start(item)
            return Queued(0)
        self.queue.push(item)
        return Queued(len(self.queue))

    def _start(self, item: Item) -> None:
        now = self.now()
        decided = verdict(item, now, self.settings.quiet_hours)
        if decided.action != Result.PLAYING:
            self.asrun.decide(item.occurrence, decided.action, "")
            self._emit(
                lambda listener: listener.occurrence_finished(item.occurrence, decided.action, "")
            )
            return
        self.asrun.begin(item.occurrence, now)
        tag = self._tags.pop(item.occurrence, "")
        self.started.append((time.monotonic(), tag))
        if self.measure_cpu:
            self.started_cpu[tag] = time.process_time()
        self.air = (item, now)
        playing = self._current = next(self._playing)
        occurrence = item.occurrence
        self._emit(lambda listener: listener.occurrence_started(occurrence, now))
        self.timers.at(time.monotonic() + self.play_s, lambda: self._ended(playing))

    def _ended(self, playing: int) -> None:
        with self._lock:
            if playing == self._current and self.air is not None:
                self._finish(Result.PLAYED)
                following = self.queue.pop()
                if following is not None:
                    self._start(following)

    def _finish(self, result: Result) -> None:
        if self.air is None:
            return
        item, _started = self.air
        self.air = None
        self._current = -1
        self.asrun.finish(item.occurrence, result, self.now())
        self._emit(lambda listener: listener.occurrence_finished(item.occurrence, result, ""))

    def _emit(self, event: Callable[[Listener], None]) -> None:
        for listener in list(self.listeners):
            self.timers.soon(functools.partial(event, listener))

    def _status(self) -> StatusReply:
        playing = None
        if self.air is not None:
            item, started = self.air
            o = item.occurrence
            playing = OnAir(
                o.entry_id,
                o.announcement,
                o.scheduled.isoformat(),
                str(o.priority),
                started.isoformat(),
            )
        return StatusReply(
            pid=os.getpid(),
            since=self.since.isoformat(),
            station=str(self.directory),
            playing=playing,
            queue=tuple(
                Waiting(
                    i.occurrence.entry_id,
                    i.occurrence.announcement,
                    i.occurrence.scheduled.isoformat(),
                    str(i.occurrence.priority),
                )
                for i in self.queue.items()
            ),
            next=(),
            reload_error=None,
            entries=self.entries,
        )
