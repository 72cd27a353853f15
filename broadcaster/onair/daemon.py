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
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from broadcaster.control.channel import ControlServer
from broadcaster.control.protocol import MonitorStatus, Reply, Request, encode_reply
from broadcaster.core.playout import PlayoutQueue
from broadcaster.core.settings import WARM_HOURS, Station
from broadcaster.errors import LoaError
from broadcaster.i18n import _
from broadcaster.onair.asrun import AsRunLog
from broadcaster.onair.clock import JumpDetector, Ticker
from broadcaster.onair.desk import ControlDesk
from broadcaster.onair.events import EventBus, Listener
from broadcaster.onair.lock import StationLock
from broadcaster.onair.planner import LOOKBACK, PLAN_HOURS, PREROLL_S, Planner
from broadcaster.onair.player import OnAir, Player
from broadcaster.onair.watcher import Watcher
from broadcaster.station.schedules import Entry

if TYPE_CHECKING:
    from broadcaster.audio.outputs import AudioOutput

__all__ = ["PLAN_HOURS", "PREROLL_S", "Daemon"]

log = logging.getLogger("loa")

HEARTBEAT_S = 1.0
WARM_EVERY_S = 300.0
SAVE_HEARTBEAT_EVERY_S = 30.0
JOIN_S = 2.0
"""How long shutting down waits for each of the daemon's threads."""


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
        self.speech_ready: tuple[int, int] | None = None
        """Online speech of the next 48 hours rendered, of how many: counted by `warm`."""
        self.monitor_status: Callable[[], MonitorStatus | None] = lambda: None
        """The on-air monitor's state for the status reply, set by whoever runs one."""
        self.desk = ControlDesk(
            directory,
            lambda: self._station,
            self.now,
            self.planner,
            self.player,
            self.watcher,
            lambda: self.speech_ready,
            lambda: self.monitor_status(),
        )
        self._saved_beat: float | None = None
        self._tickers: list[Ticker] = []
        self._server: ControlServer | None = None
        self._stopping = threading.Event()

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
    def air(self) -> OnAir | None:
        """What is on the air now."""
        return self.player.air

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
        cut = self.asrun.unfinished()
        closed = self.asrun.close_unfinished(
            now, _("Loa stopped during this broadcast (power cut, crash or kill).")
        )
        if closed:
            log.warning(
                _("%d broadcast(s) cut off when Loa last stopped: not played again."), closed
            )
        resumed = self.planner.relays_cut_off(cut, now)
        if resumed:
            log.warning(_("%d relay(s) cut off when Loa last stopped: back live."), len(resumed))
            self.player.offer(resumed)
        saved = self.asrun.get_state("heartbeat")
        if saved is not None:
            self.player.offer(self.planner.account_for_downtime(datetime.fromisoformat(saved), now))
        self.planner.start_sweeping(now)
        return now

    def start(self) -> None:
        """Open, then go on the air: the control channel first (its socket is made under a
        umask of its own), then the player, the watcher, the heartbeat and the cache warmer."""
        self.open()
        self._server = ControlServer(self.directory, self.answer)
        self._server.start()
        threading.Thread(target=self.player.run, name="loa-player", daemon=True).start()
        self._tickers = [
            Ticker("loa-heartbeat", HEARTBEAT_S, self.heartbeat),
            Ticker("loa-warm", WARM_EVERY_S, self.warm),
        ]
        self.watcher.start()
        for ticker in self._tickers:
            ticker.start()
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
        from broadcaster.broadcast import cache_coverage, warm_cache  # speech: only when needed

        now = self.now()
        ids = self.planner.announcements_within(now, WARM_HOURS, self._station)
        for result in warm_cache(self._station, ids):
            if result.outcome in ("failed", "offline"):
                log.warning(
                    _("Could not render %s ahead (will try again): %s"),
                    result.announcement,
                    result.detail,
                )
        try:
            coverage = cache_coverage(self._station, now, WARM_HOURS)
        except LoaError:  # a broken schedule: the last good count stays, reload says why
            return
        self.speech_ready = (coverage.cached, coverage.needed)

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
        return self.desk.answer(message)

    def handle(self, request: Request) -> Reply:
        return self.desk.handle(request)

    def status(self) -> dict[str, Any]:
        return encode_reply(self.desk.status())
