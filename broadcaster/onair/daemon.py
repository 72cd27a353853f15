"""`loa run`: the station on the air, with nobody watching — the parts put together.

- `lock`: one daemon per station;
- `watcher` (its own thread): reads the files again when one changed or when asked, one reading
  at a time; a bad edit keeps the last good schedule on the air;
- the heartbeat (`clock`, every second): notices clock jumps and sleep, and *sweeps*: the
  `planner` hands over every occurrence that fell due (10 s early, for pre-roll), once;
- `player` (its own thread): the queue, pre-emption, the as-run row before the first sound;
- the control server answers the `protocol`'s requests (`loa say|play|stop|status|reload`);
- speech of the next 48 hours is rendered ahead every few minutes;
- `events`: listeners hear what happens, on a thread of their own.
"""

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from broadcaster.control.channel import ControlServer
from broadcaster.control.protocol import (
    Broadcast,
    OnAir,
    Play,
    ProtocolError,
    Queued,
    Reload,
    Reloaded,
    Reply,
    Request,
    Say,
    Status,
    StatusReply,
    Stop,
    Stopped,
    Upcoming,
    Waiting,
    encode_reply,
    parse_request,
    refusal,
)
from broadcaster.core.playout import Item, PlayoutQueue
from broadcaster.core.settings import Station
from broadcaster.errors import LoaError
from broadcaster.i18n import _
from broadcaster.onair.adhoc import adhoc_item
from broadcaster.onair.asrun import AsRunLog
from broadcaster.onair.clock import JumpDetector, Ticker
from broadcaster.onair.events import EventBus, Listener
from broadcaster.onair.lock import StationLock
from broadcaster.onair.planner import LOOKBACK, PLAN_HOURS, PREROLL_S, Planner
from broadcaster.onair.player import Player
from broadcaster.onair.watcher import Watcher
from broadcaster.station.schedules import Entry

if TYPE_CHECKING:
    from broadcaster.audio.outputs import AudioOutput

__all__ = ["NEXT_DAYS", "NEXT_SHOWN", "PLAN_HOURS", "PREROLL_S", "WARM_HOURS", "Daemon"]

log = logging.getLogger("loa")

HEARTBEAT_S = 1.0
WARM_EVERY_S = 300.0
WARM_HOURS = 48.0
SAVE_HEARTBEAT_EVERY_S = 30.0
NEXT_SHOWN = 5
NEXT_DAYS = 7
"""`loa status` shows the next NEXT_SHOWN broadcasts within NEXT_DAYS days."""
JOIN_S = 2.0
"""How long shutting down waits for each of the daemon's threads."""
RECENT_REQUESTS = 256
"""Request ids remembered, so that a retried request is queued once."""


class Daemon:
    """The station's playout. `now`, `monotonic` and `output` are injectable, for simulated
    days (with clock jumps) and for outputs other than the station's own. Without `start` (in
    simulated time) nothing runs by itself: the caller drives `heartbeat` and `play_next`."""

    def __init__(
        self,
        directory: Path,
        now: Callable[[ZoneInfo], datetime] = datetime.now,
        output: Callable[[Station], "AudioOutput | None"] = lambda _station: None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.directory = directory
        self._clock = now
        self._station = Station(directory)
        self.events = EventBus()
        self.lock = StationLock(directory)
        self.asrun = AsRunLog.for_station(directory)
        self.jumps = JumpDetector(monotonic)
        self.planner = Planner(self.asrun, self.events)
        self.watcher = Watcher(directory, self._take, self.events)
        self.player = Player(
            self.asrun, self.events, lambda: self._station, output, self.now, self.jumps.recent_jump
        )
        self._requests: dict[str, Queued] = {}
        self._requests_lock = threading.Lock()
        self._last_adhoc: datetime | None = None
        self._saved_beat: float | None = None
        self._tickers: list[Ticker] = []
        self._server: ControlServer | None = None
        self._stopping = threading.Event()
        self.started = self.now()

    # What the parts show --------------------------------------------------------------------

    @property
    def station(self) -> Station:
        return self._station

    @property
    def entries(self) -> list[Entry]:
        return self.planner.entries

    @property
    def queue(self) -> PlayoutQueue:
        return self.player.queue

    @property
    def reload_error(self) -> str | None:
        return self.watcher.error

    def now(self) -> datetime:
        return self._clock(ZoneInfo(self._station.timezone))

    def subscribe(self, listener: Listener) -> None:
        self.events.subscribe(listener)

    # Start and stop -------------------------------------------------------------------------

    def open(self) -> datetime:
        """Take the station, read its files and account for the time Loa was not running."""
        self.lock.acquire()
        self.watcher.reload(force=True)
        now = self.now()
        closed = self.asrun.close_unfinished(
            now, _("Loa stopped during this broadcast (power cut, crash or kill).")
        )
        if closed:
            log.warning(
                _("%d broadcast(s) cut off when Loa last stopped: not played again."), closed
            )
        saved = self.asrun.get_state("heartbeat")
        if saved is not None:
            self.player.offer(self.planner.account_for_downtime(datetime.fromisoformat(saved), now))
        self.planner.start_sweeping(now)
        return now

    def start(self) -> None:
        """Open, then go on the air: the control channel first (its socket is made under a
        umask of its own), then the player, the heartbeat, the watcher and the cache warmer."""
        self.open()
        self._server = ControlServer(self.directory, self.answer)
        self._server.start()
        threading.Thread(target=self.player.run, name="loa-player", daemon=True).start()
        self._tickers = [
            Ticker("loa-heartbeat", HEARTBEAT_S, self.heartbeat),
            Ticker("loa-warm", WARM_EVERY_S, self.warm),
        ]
        for ticker in self._tickers:
            ticker.start()
        self.watcher.start()
        log.info(
            _("Loa is on the air for %s: %d entries, time zone %s."),
            self.directory,
            len(self.entries),
            self._station.timezone,
        )

    def shutdown(self) -> None:
        """Stop what plays (logged as interrupted) and let go of the station; once."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        for ticker in self._tickers:
            ticker.stop()
        self.watcher.stop()
        if self._server is not None:
            self._server.close()
        self.player.shutdown()
        for ticker in self._tickers:  # none may touch the as-run log once it is closed
            ticker.join(JOIN_S)
        self.watcher.join(JOIN_S)
        self._save_heartbeat(self.now())
        self.events.close()
        self.asrun.close()
        self.lock.release()

    def wait(self) -> None:
        """Block until `shutdown` (from a signal or the control channel)."""
        while not self._stopping.wait(1.0):
            pass

    # Time -----------------------------------------------------------------------------------

    def heartbeat(self) -> None:
        """Every second: notice clock jumps and sleep, and sweep. In simulated time (no watcher
        thread) it also looks for edits, as the watcher would."""
        now = self.now()
        jumped = self.jumps.beat(now)
        if jumped is not None:
            log.warning(
                _("The clock jumped by %+d s (set by hand, or the PC slept); catching up."), jumped
            )
            self.events.emit(lambda listener: listener.clock_jumped(jumped))
        if not self.watcher.threaded:
            self.watcher.reload()
        self.sweep(now)
        tick = self.jumps.monotonic()
        if self._saved_beat is None or tick - self._saved_beat >= SAVE_HEARTBEAT_EVERY_S:
            self._save_heartbeat(now)
            self._saved_beat = tick
            self.planner.forget_before(now - LOOKBACK)

    def sweep(self, now: datetime) -> None:
        """Queue every occurrence that fell due since the last sweep (pre-roll included)."""
        self.player.offer(self.planner.due(now))

    def play_next(self, timeout: float | None = None) -> bool:
        return self.player.play_next(timeout)

    def reload(self, force: bool = False) -> str | None:
        """Read the files again if one changed (or `force`), on the watcher's thread when it
        runs: the error of a bad edit, or None."""
        return self.watcher.reload(force)

    def warm(self) -> None:
        """Render the online speech of the next 48 hours while the network is there; failures
        are logged and tried again at the next round."""
        from broadcaster.broadcast import warm_cache  # the speech engines: only when needed

        ids = self.planner.announcements_within(self.now(), WARM_HOURS)
        for result in warm_cache(self._station, ids):
            if result.outcome in ("failed", "offline"):
                log.warning(
                    _("Could not render %s ahead (will try again): %s"),
                    result.announcement,
                    result.detail,
                )

    def _take(self, station: Station, entries: list[Entry]) -> None:
        """A good reading of the files goes on the air (called by the watcher)."""
        self._station = station
        self.planner.set_entries(entries)
        log.info(_("Schedules read again: %d entries."), len(entries))

    def _save_heartbeat(self, now: datetime) -> None:
        try:
            self.asrun.set_state("heartbeat", now.isoformat())
        except LoaError as error:
            log.error("%s", error)

    # Control --------------------------------------------------------------------------------

    def answer(self, message: Any) -> dict[str, Any]:
        """One control request in its wire form; the reply always says ok or why not."""
        try:
            request = parse_request(message)
        except LoaError as error:
            return encode_reply(refusal(error))
        return encode_reply(self.handle(request))

    def handle(self, request: Request) -> Reply:
        """One typed control request."""
        try:
            if isinstance(request, Status):
                return self.status_reply()
            if isinstance(request, Reload):
                error = self.reload(force=True)
                if error is not None:
                    return refusal(ProtocolError(error))
                return Reloaded(len(self.entries))
            if isinstance(request, Stop):
                return Stopped(self.player.stop_current())
            assert isinstance(request, Say | Play)
            return self.enqueue(request)
        except LoaError as error:
            return refusal(error)

    def enqueue(self, request: Broadcast) -> Queued:
        """An officer's `say` or `play`: checked now, then queued once. A request id seen
        before is answered `already_queued`; two requests in the same instant are two items."""
        with self._requests_lock:
            if request.request_id is not None and request.request_id in self._requests:
                return Queued(self._requests[request.request_id].ahead, already_queued=True)
            moment = self.now()
            if self._last_adhoc is not None and moment <= self._last_adhoc:
                moment = self._last_adhoc + timedelta(microseconds=1)  # its own as-run row
            item = adhoc_item(self._station, request, moment)
            self._last_adhoc = moment
            queued, ahead = self.player.enqueue(item)
            reply = Queued(ahead, already_queued=not queued)
            if request.request_id is not None:
                self._requests[request.request_id] = reply
                while len(self._requests) > RECENT_REQUESTS:
                    del self._requests[next(iter(self._requests))]
        return reply

    def status(self) -> dict[str, Any]:
        return encode_reply(self.status_reply())

    def status_reply(self) -> StatusReply:
        air, waiting = self.player.snapshot()
        upcoming = self.planner.upcoming(self.now(), NEXT_SHOWN, NEXT_DAYS)
        return StatusReply(
            pid=os.getpid(),
            since=self.started.isoformat(),
            station=str(self.directory),
            playing=None
            if air is None
            else OnAir(**asdict(_waiting(air.item)), started=air.started.isoformat()),
            queue=tuple(_waiting(item) for item in waiting),
            next=tuple(
                Upcoming(entry.id, entry.announcement, at.isoformat()) for at, entry in upcoming
            ),
            reload_error=self.reload_error,
            entries=len(self.entries),
        )


def _waiting(item: Item) -> Waiting:
    occurrence = item.occurrence
    return Waiting(
        occurrence.entry_id,
        occurrence.announcement,
        occurrence.scheduled.isoformat(),
        str(occurrence.priority),
    )
