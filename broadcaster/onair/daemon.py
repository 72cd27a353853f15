"""`loa run`: the station on the air, with nobody watching.

Threads around one lock:
- APScheduler 3.x fires a job for each schedule entry at its time (the station's time zone), and a
  heartbeat every second that catches what a clock jump or a suspended PC made it skip;
- both only *sweep*: move every occurrence that fell due into the playout queue, once;
- one player takes the best queued item, decides with `playout` (quiet hours, lateness), writes the
  as-run row before the first sound, and plays;
- the control server answers `loa say|play|stop|status|reload`;
- speech of the next 48 hours is rendered ahead every few minutes, again while offline.

A bad edit of a schedule or announcement keeps the last good schedule on the air; the error is
logged and shown by `loa status`.
"""

import bisect
import logging
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger

from broadcaster.audio.outputs import AudioOutput, PlaybackStopped
from broadcaster.broadcast import broadcast, check_broadcast, warm_cache
from broadcaster.control.channel import ControlServer, private_run_dir, run_dir
from broadcaster.core.compose import DEFAULT_GAP_S, clean_text
from broadcaster.core.models import Announcement, Occurrence
from broadcaster.core.playout import (
    PLAY,
    SKIPPED_QUIET,
    Item,
    PlayoutQueue,
    in_quiet_hours,
    interrupts,
    may_retry,
    verdict,
)
from broadcaster.core.recurrence import next_after, occurrences
from broadcaster.core.settings import Station
from broadcaster.errors import DaemonError, LoaError, QuietHoursError, describe_os_error
from broadcaster.i18n import _
from broadcaster.onair.asrun import AsRunLog
from broadcaster.station.announcements import announcement_or_recording
from broadcaster.station.schedules import PRIORITIES, Entry, Schedules, airs, read_schedules
from broadcaster.station.station_file import load_station

log = logging.getLogger("loa")

HEARTBEAT_S = 1.0
JUMP_S = 5.0
"""A heartbeat whose wall-clock step differs from the monotonic one by more than this means the
clock was set or the PC slept."""
JUMP_NOTED_S = 60.0
"""Items missed this soon after a clock jump say so in the log."""
PREROLL_S = 10.0
"""An occurrence is taken this long before its time, so that speech and the first sound buffer
are ready and the first sample goes out on the second."""
PLAN_HOURS = 6.0
"""Occurrences are planned this far ahead, so each sweep is a lookup, even with 10,000 entries."""
WARM_EVERY_S = 300.0
WARM_HOURS = 48.0
SAVE_HEARTBEAT_EVERY_S = 30.0
LOOKBACK = timedelta(days=7)
"""After a stop, occurrences this far back are accounted for (missed, or caught up)."""
ADHOC_LATE_LIMIT_S = 3600.0
LOCK_NAME = "daemon.lock"
NEXT_SHOWN = 5
NEXT_DAYS = 7
"""`loa status` shows the next NEXT_SHOWN broadcasts within NEXT_DAYS days."""


class RuleTrigger(BaseTrigger):  # type: ignore[misc]
    """An APScheduler trigger from an entry's recurrence rule: the times come from the same pure
    `rules` that `loa next` shows."""

    def __init__(self, entry: Entry) -> None:
        self.entry = entry

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        """PREROLL_S before each occurrence."""
        early = timedelta(seconds=PREROLL_S)
        after = max(previous_fire_time or now, now) + early - timedelta(microseconds=1)
        found = next_after(self.entry.rule, after)
        return found - early if found else None

    def __str__(self) -> str:
        return f"rule[{self.entry.id}]"


@dataclass
class _Air:
    """What is on the air now."""

    item: Item
    started: datetime
    stop: threading.Event = field(default_factory=threading.Event)
    reason: str = ""
    by: Item | None = None
    """The item that took the air, when an interruption may be followed by a retry."""


class Daemon:
    """The station's playout. `now`, `monotonic` and `output` are injectable, for simulated
    days (with clock jumps) and for outputs other than the station's own."""

    def __init__(
        self,
        directory: Path,
        now: Callable[[ZoneInfo], datetime] = datetime.now,
        output: Callable[[Station], AudioOutput | None] = lambda _station: None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.directory = directory
        self._clock = now
        self._monotonic = monotonic
        self._output = output
        self._cond = threading.Condition()
        self.queue = PlayoutQueue()
        self.air: _Air | None = None
        self.entries: list[Entry] = []
        self.reload_error: str | None = None
        self._station = Station(directory)
        self._fingerprint: tuple[Any, ...] = ()
        self._loaded = False
        """Whether a good reading of the station and schedules is on the air."""
        self._seen: dict[tuple[str, str], datetime] = {}
        """Occurrences queued in this run, so a sweep does not ask the log about each again."""
        self._plan: list[tuple[datetime, int]] = []
        self._plan_from = datetime.min.replace(tzinfo=ZoneInfo("UTC"))
        self._plan_until: datetime | None = None
        self._swept_until: datetime | None = None
        self._beat: tuple[datetime, float] | None = None
        self._saved_beat = 0.0
        self._jump: tuple[float, int] | None = None
        """When (monotonic) the heartbeat last saw the clock jump, and by how many seconds."""
        self._stopping = threading.Event()
        self._scheduler: BackgroundScheduler | None = None
        self._server: ControlServer | None = None
        self._lock_file: Any = None
        self.started = self.now()
        self.log = AsRunLog.for_station(directory)

    @property
    def station(self) -> Station:
        return self._station

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self._station.timezone)

    def now(self) -> datetime:
        return self._clock(ZoneInfo(self._station.timezone))

    # Start and stop -------------------------------------------------------------------------

    def open(self) -> datetime:
        """Take the station, read its files and account for the time Loa was not running."""
        self._lock_station()
        self.reload(force=True)
        now = self.now()
        closed = self.log.close_unfinished(
            now, _("Loa stopped during this broadcast (power cut, crash or kill).")
        )
        if closed:
            log.warning(
                _("%d broadcast(s) cut off when Loa last stopped: not played again."), closed
            )
        self._account_for_downtime(now)
        self._swept_until = now
        return now

    def start(self) -> None:
        """Open, then go on the air: the scheduler, the player and the control channel."""
        now = self.open()
        self._scheduler = BackgroundScheduler(timezone=self.zone)
        self._scheduler.add_job(
            self.heartbeat,
            "interval",
            seconds=HEARTBEAT_S,
            id="heartbeat",
            coalesce=True,
            max_instances=1,
        )
        self._scheduler.add_job(
            self.warm,
            "interval",
            seconds=WARM_EVERY_S,
            id="warm",
            next_run_time=now,
            coalesce=True,
            max_instances=1,
        )
        self._add_entry_jobs()
        self._scheduler.start()
        threading.Thread(target=self._play_forever, name="loa-player", daemon=True).start()
        self._server = ControlServer(self.directory, self.answer)
        self._server.start()
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
        with self._cond:
            if self.air is not None:
                self.air.reason = _("Loa was stopped.")
                self.air.stop.set()
            self._cond.notify_all()
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
        if self._server is not None:
            self._server.close()
        deadline = time.monotonic() + 5
        while self.air is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        self._save_heartbeat(self.now())
        self.log.close()
        if self._lock_file is not None:
            self._lock_file.close()

    def wait(self) -> None:
        """Block until `shutdown` (from a signal or the control channel)."""
        while not self._stopping.wait(1.0):
            pass

    def _lock_station(self) -> None:
        """One daemon per station: a second one would play everything twice."""
        try:
            folder = private_run_dir(self.directory)
            handle = open(folder / LOCK_NAME, "a+")  # noqa: SIM115 - held while running
        except OSError as error:
            raise DaemonError(
                _("Cannot write to {folder}: {reason}.").format(
                    folder=run_dir(self.directory), reason=describe_os_error(error)
                )
            ) from error
        try:
            _lock(handle)
        except OSError as error:
            handle.close()
            raise DaemonError(
                _(
                    "Loa is already running for this station; stop it first (systemctl stop loa, "
                    "or Ctrl+C in its window)."
                )
            ) from error
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._lock_file = handle

    # Files ----------------------------------------------------------------------------------

    def reload(self, force: bool = False) -> str | None:
        """Read the station and its schedules again if a file changed (or `force`); a bad edit
        keeps what is on the air and is returned, logged and kept for `loa status`."""
        fingerprint = _fingerprint(self.directory)
        if fingerprint == self._fingerprint and not force:
            return self.reload_error
        self._fingerprint = fingerprint
        found: Schedules | None = None
        error: str | None = None
        try:
            station = load_station(self.directory)
            found = read_schedules(station)
            found.raise_problems()
        except LoaError as failure:
            error = failure.message
            log.error(_("The edit was not taken; the last good schedule stays on air: %s"), error)
            if self._loaded:
                self.reload_error = error
                return error
        else:
            self._loaded = True
        with self._cond:
            self.reload_error = error
            if found is not None:  # a first reading with a bad edit airs what can be read
                self._station = station
                self.entries = list(found.entries)
            self._plan_until = None
        if self._scheduler is not None:
            self._add_entry_jobs()
            log.info(_("Schedules read again: %d entries."), len(self.entries))
        return error

    def _add_entry_jobs(self) -> None:
        assert self._scheduler is not None
        for job in self._scheduler.get_jobs():
            if job.id.startswith("entry:"):
                job.remove()
        for entry in self._airing():
            self._scheduler.add_job(
                self.on_time,
                RuleTrigger(entry),
                id=f"entry:{entry.id}",
                coalesce=True,
                max_instances=1,
                misfire_grace_time=None,
            )

    def _airing(self) -> list[Entry]:
        return [entry for entry in self.entries if airs(entry)]

    # Time -----------------------------------------------------------------------------------

    def on_time(self) -> None:
        self.sweep(self.now())

    def heartbeat(self) -> None:
        """Every second: notice clock jumps and sleep, pick up edits, and sweep."""
        now, tick = self.now(), self._monotonic()
        if self._beat is not None:
            wall = (now - self._beat[0]).total_seconds()
            steady = tick - self._beat[1]
            if abs(wall - steady) > JUMP_S:
                self._jump = (tick, round(wall - steady))
                log.warning(
                    _("The clock jumped by %+d s (set by hand, or the PC slept); catching up."),
                    self._jump[1],
                )
                if self._scheduler is not None:
                    self._scheduler.wakeup()
        self._beat = (now, tick)
        self.reload()
        self.sweep(now)
        if tick - self._saved_beat >= SAVE_HEARTBEAT_EVERY_S:
            self._save_heartbeat(now)
            self._saved_beat = tick
            with self._cond:  # the log remembers older ones
                self._seen = {k: at for k, at in self._seen.items() if now - at < LOOKBACK}

    def sweep(self, now: datetime) -> None:
        """Queue every occurrence that fell due since the last sweep, each once. After the clock
        went back, occurrences come due again: the as-run log stops them airing twice."""
        horizon = now + timedelta(seconds=PREROLL_S)
        with self._cond:
            since = self._swept_until or now
            if horizon < since:
                since = now
            for at, entry in self._due(since, horizon):
                self._offer(self._scheduled_item(entry, at))
            self._swept_until = horizon
            self._preempt()
            self._cond.notify_all()

    def _due(self, since: datetime, now: datetime) -> list[tuple[datetime, Entry]]:
        """Occurrences in (since, now], looked up in the plan."""
        if self._plan_until is None or since < self._plan_from or now >= self._plan_until:
            self._replan(since, max(now, since + timedelta(hours=PLAN_HOURS)))
        low = bisect.bisect_right(self._plan, since, key=lambda planned: planned[0])
        high = bisect.bisect_right(self._plan, now, key=lambda planned: planned[0])
        return [(at, self.entries[index]) for at, index in self._plan[low:high]]

    def _replan(self, since: datetime, until: datetime) -> None:
        """Plan (since, until] and a little beyond: a long clock jump plans its whole span."""
        self._plan_from = since
        self._plan_until = until + timedelta(seconds=1)
        airing = {entry.id for entry in self._airing()}
        self._plan = sorted(
            (
                (at, index)
                for index, entry in enumerate(self.entries)
                if entry.id in airing
                for at in occurrences(entry.rule, since, self._plan_until)
            ),
            key=lambda planned: (planned[0], self.entries[planned[1]].id),
        )

    def _account_for_downtime(self, now: datetime) -> None:
        """Occurrences that fell while Loa was not running: logged as missed with that reason,
        except the last one of each `catch_up: true` entry, which is queued now."""
        saved = self.log.get_state("heartbeat")
        if saved is None:
            return
        since = max(datetime.fromisoformat(saved), now - LOOKBACK)
        if since >= now:
            return
        reason = _("Loa was not running (from {since} to {now}).").format(
            since=f"{since:%d/%m/%Y %H:%M}", now=f"{now:%d/%m/%Y %H:%M}"
        )
        for entry in self._airing():
            # an occurrence may have waited in the queue for up to its late limit
            waited = since - timedelta(seconds=entry.late_limit_s)
            missed = list(occurrences(entry.rule, max(waited, now - LOOKBACK), now))
            if entry.catch_up and missed:
                *missed, last = missed
                self._offer(replace(self._scheduled_item(entry, last), catch_up=True))
            for at in missed:
                self.log.decide(self._scheduled_item(entry, at).occurrence, "missed", reason)

    def _save_heartbeat(self, now: datetime) -> None:
        try:
            self.log.set_state("heartbeat", now.isoformat())
        except LoaError as error:
            log.error("%s", error)

    # The queue ------------------------------------------------------------------------------

    def _scheduled_item(self, entry: Entry, at: datetime) -> Item:
        return Item(
            Occurrence(entry.id, at, entry.announcement, entry.priority),
            late_limit_s=entry.late_limit_s,
            start=entry.start,
            repeat=entry.repeat,
            gap_s=entry.gap_s,
        )

    def _offer(self, item: Item) -> bool:
        """Queue an item unless it was seen in this run or has a row in the as-run log."""
        key = (item.occurrence.entry_id, item.occurrence.scheduled.isoformat())
        if key in self._seen or self.log.has(item.occurrence):
            return False
        self._seen[key] = item.occurrence.scheduled
        return self.queue.push(item)

    def _preempt(self) -> None:
        """Stop what is on the air for a waiting item that is due and may take it."""
        best = self.queue.peek()
        if self.air is None or best is None or self.air.stop.is_set():
            return
        if best.occurrence.scheduled > self.now():
            return  # taken early for pre-roll: it interrupts at its own time
        if interrupts(best, self.air.item):
            self.air.reason = _("interrupted by {id} ({priority}).").format(
                id=best.occurrence.entry_id, priority=best.priority
            )
            self.air.by = best
            self.air.stop.set()

    def _play_forever(self) -> None:
        while not self._stopping.is_set():
            try:
                self.play_next(timeout=HEARTBEAT_S)
            except Exception:  # the player must outlive whatever one item does
                log.exception(_("The player met an unexpected error; it goes on."))

    def play_next(self, timeout: float | None = None) -> bool:
        """Take the best waiting item (waiting up to `timeout` for one), then log it as missed or
        skipped, or play it to the end; False when there was none."""
        with self._cond:
            if not self.queue and not self._stopping.is_set():
                self._cond.wait(timeout)
            item = self.queue.pop()
            if item is None:
                return False
            now = self.now()
            start = max(now, item.occurrence.scheduled)  # taken early, to start on time
            decided = verdict(item, start, self._station.quiet_hours)
            if decided.action != PLAY:
                self._decide(item, decided.action, decided.late_s)
                return True
            try:
                if not self.log.begin(item.occurrence, start, again=item.retry):
                    return True  # it aired already
            except LoaError as error:
                log.error("%s", error)  # the log cannot be written: air it all the same
            air = self.air = _Air(item, start)
        try:
            self._play(air)
        finally:
            with self._cond:
                self.air = None
                self._preempt()
                self._cond.notify_all()
        return True

    def _decide(self, item: Item, action: str, late_s: float) -> None:
        if action == SKIPPED_QUIET:
            reason = _("quiet hours ({hours}): only emergencies air.").format(
                hours=self._station.quiet_hours
            )
        else:
            reason = _(
                "could not start within its late limit: {late} s late, limit {limit} s."
            ).format(late=round(late_s), limit=round(item.late_limit_s))
            if self._jump is not None and self._monotonic() - self._jump[0] < JUMP_NOTED_S:
                reason += " " + _(
                    "The clock had just jumped by {seconds:+d} s (set by hand, or the PC slept)."
                ).format(seconds=self._jump[1])
        log.warning("%s %s: %s", item.occurrence.entry_id, action, reason)
        try:
            self.log.decide(item.occurrence, action, reason)
        except LoaError as error:
            log.error("%s", error)

    def _play(self, air: _Air) -> None:
        item = air.item
        occurrence = item.occurrence
        log.info(_("On air: %s (%s)."), occurrence.entry_id, occurrence.announcement)
        result, source, error = "played", "", ""
        try:
            announcement = (
                Announcement(id="say", text=item.text)
                if item.text is not None
                else announcement_or_recording(self._station, occurrence.announcement)
            )
            done = broadcast(
                self._station,
                announcement,
                voice=item.voice,
                repeat=item.repeat,
                gap_s=item.gap_s,
                emergency=item.priority == "emergency",
                output=self._output(self._station),
                stop=air.stop,
                start_at=air.started.timestamp() if air.started > self.now() else None,
            )
            source = ",".join(dict.fromkeys(spoken.source for spoken in done.speech))
            failures = [reason for spoken in done.speech for reason in spoken.failures]
            if failures:
                result, error = "played-fallback", " ".join(failures)
        except PlaybackStopped:
            result, error = "interrupted", air.reason
        except LoaError as failure:
            result, error = "failed", failure.message
        except Exception as failure:  # the station stays on the air whatever one item does
            log.exception("%s", occurrence.entry_id)
            result, error = "failed", _("unexpected error: {error}").format(error=repr(failure))
        if item.retry and result in ("played", "played-fallback"):
            error = (error + " " + _("Played again from the start after an interruption.")).strip()
        ended = self.now()
        (log.info if result.startswith("played") else log.warning)(
            "%s: %s %s", occurrence.entry_id, result, error
        )
        try:
            self.log.finish(occurrence, result, ended, source, error)
        except LoaError as failure:
            log.error("%s", failure)
        if result == "interrupted" and air.by is not None and may_retry(item, ended):
            with self._cond:
                self.queue.push(replace(item, retry=True))

    # Ahead of time --------------------------------------------------------------------------

    def warm(self) -> None:
        """Render the online speech of the next 48 hours while the network is there; failures
        are logged and tried again at the next round."""
        now = self.now()
        with self._cond:
            ids = list(
                dict.fromkeys(
                    entry.announcement
                    for entry in self._airing()
                    if next(occurrences(entry.rule, now, now + timedelta(hours=WARM_HOURS)), None)
                )
            )
        for result in warm_cache(self._station, ids):
            if result.outcome in ("failed", "offline"):
                log.warning(
                    _("Could not render %s ahead (will try again): %s"),
                    result.announcement,
                    result.detail,
                )

    # Control --------------------------------------------------------------------------------

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        """One control request; the reply always says ok or why not."""
        command = request["command"]
        try:
            if command == "status":
                return {"ok": True, **self.status()}
            if command == "reload":
                error = self.reload(force=True)
                return {"ok": error is None, "error": error or ""}
            if command == "stop":
                return self.stop_current()
            if command in ("say", "play"):
                return self.enqueue(request)
        except LoaError as error:
            return {"ok": False, "error": error.message, "exit_code": int(error.exit_code)}
        return {"ok": False, "error": _("Unknown command: {command}.").format(command=command)}

    def enqueue(self, request: dict[str, Any]) -> dict[str, Any]:
        """An officer's `say` or `play`: checked now, then queued with its priority."""
        priority = request.get("priority", "priority")
        if priority not in PRIORITIES:
            return {"ok": False, "error": _("Unknown priority: {value}.").format(value=priority)}
        if priority != "emergency" and in_quiet_hours(self._station.quiet_hours, self.now().time()):
            raise QuietHoursError(
                _(
                    "It is quiet hours ({hours}): only emergencies are broadcast now. If this is "
                    "one, add --emergency; otherwise broadcast it after the quiet hours."
                ).format(hours=self._station.quiet_hours)
            )
        name, said = request.get("announcement", ""), request.get("text", "")
        repeat, gap_s = request.get("repeat", 1), request.get("gap", DEFAULT_GAP_S)
        voice = request.get("voice")
        if not (
            _is_text(name)
            and _is_text(said)
            and (voice is None or _is_text(voice))
            and isinstance(repeat, int)
            and not isinstance(repeat, bool)
            and isinstance(gap_s, int | float)
            and not isinstance(gap_s, bool)
            and math.isfinite(gap_s)
        ):
            return {
                "ok": False,
                "error": _(
                    "The request is not valid: text, announcement and voice are text, repeat is "
                    "a whole number and gap a number of seconds."
                ),
            }
        announcement = (
            Announcement(id="say", text=said)
            if request["command"] == "say"
            else announcement_or_recording(self._station, name)
        )
        check_broadcast(
            self._station,
            announcement,
            voice=voice,
            repeat=repeat,
            gap_s=gap_s,
            emergency=priority == "emergency",
        )
        text = announcement.text if request["command"] == "say" else None
        item = Item(
            Occurrence(
                request["command"], self.now(), clean_text(text)[:60] if text else name, priority
            ),
            late_limit_s=ADHOC_LATE_LIMIT_S,
            start="interrupt" if priority == "emergency" else "after-current",
            repeat=repeat,
            gap_s=gap_s,
            text=text,
            voice=voice,
        )
        with self._cond:
            self._offer(item)
            self._preempt()
            self._cond.notify_all()
            ahead = self.queue.items().index(item) if item in self.queue.items() else 0
        return {"ok": True, "ahead": ahead + (1 if self.air and not self.air.stop.is_set() else 0)}

    def stop_current(self) -> dict[str, Any]:
        with self._cond:
            if self.air is None:
                return {"ok": True, "stopped": None}
            self.air.reason = _("stopped by the officer.")
            self.air.by = None
            self.air.stop.set()
            return {"ok": True, "stopped": self.air.item.occurrence.entry_id}

    def status(self) -> dict[str, Any]:
        now = self.now()
        with self._cond:
            playing = (
                {**_describe(self.air.item), "started": self.air.started.isoformat()}
                if self.air
                else None
            )
            queued = [_describe(item) for item in self.queue.items()]
            soon = now + timedelta(days=NEXT_DAYS)
            upcoming = sorted(
                (
                    (at, entry)
                    for entry in self._airing()
                    for at in islice(occurrences(entry.rule, now, soon), NEXT_SHOWN)
                ),
                key=lambda pair: (pair[0], pair[1].id),
            )[:NEXT_SHOWN]
        return {
            "pid": os.getpid(),
            "since": self.started.isoformat(),
            "station": str(self.directory),
            "playing": playing,
            "queue": queued,
            "next": [
                {"id": entry.id, "announcement": entry.announcement, "start": at.isoformat()}
                for at, entry in upcoming
            ],
            "reload_error": self.reload_error,
            "entries": len(self.entries),
        }


def _is_text(value: object) -> bool:
    """Text that can be stored and shown: a lone surrogate cannot go into the as-run log."""
    if not isinstance(value, str):
        return False
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def _describe(item: Item) -> dict[str, Any]:
    return {
        "id": item.occurrence.entry_id,
        "announcement": item.occurrence.announcement,
        "scheduled": item.occurrence.scheduled.isoformat(),
        "priority": item.priority,
    }


def _fingerprint(directory: Path) -> tuple[Any, ...]:
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


def _lock(handle: Any) -> None:
    if os.name == "nt":
        import msvcrt

        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
    else:
        import fcntl

        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
