"""The player: the playout queue, pre-emption, and one item on the air at a time.

Everything the threads share (the queue, what is on the air) is read and changed under one
condition; the sound itself is played outside it.
"""

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from broadcaster.core.models import AIRED, Announcement, Occurrence, Priority, Result
from broadcaster.core.playout import (
    PLAY,
    SKIPPED_QUIET,
    Item,
    PlayoutQueue,
    interrupts,
    may_retry,
    relay_end,
    verdict,
)
from broadcaster.core.settings import Station
from broadcaster.errors import LoaError, NoAudioDeviceError
from broadcaster.i18n import _, format_decimal
from broadcaster.onair.adhoc import RELAY, RELAY_NOW_STATE, relay_now_state
from broadcaster.onair.asrun import (
    AsRunLog,
    Dropout,
    entry_label,
    priority_label,
    result_label,
)
from broadcaster.onair.events import EventBus
from broadcaster.station.announcements import announcement_or_recording

if TYPE_CHECKING:
    from broadcaster.audio.api import Chunk
    from broadcaster.audio.outputs import AudioOutput
    from broadcaster.relay.session import Relay

log = logging.getLogger("loa")

STOP_WAIT_S = 5.0
"""How long shutting down waits for the item on the air to stop."""


@dataclass
class OnAir:
    """What is on the air now."""

    item: Item
    started: datetime
    stop: threading.Event = field(default_factory=threading.Event)
    reason: str = ""
    by: Item | None = None
    """The item that took the air, when an interruption may be followed by a retry."""


class Player:
    """Takes the best waiting item, decides with `playout` (quiet hours, lateness), writes the
    as-run row before the first sound, and plays it; what falls due meanwhile may interrupt."""

    def __init__(
        self,
        asrun: AsRunLog,
        events: EventBus,
        station: Callable[[], Station],
        output: Callable[[Station], "AudioOutput | None"],
        now: Callable[[], datetime],
        recent_jump: Callable[[], int | None],
    ) -> None:
        self.asrun = asrun
        self.events = events
        self._station = station
        self._output = output
        self.sound_problem: str | None = None
        """Why the sound device did not open, at start or at the last broadcast: told in
        `loa run`, `loa status`, `loa doctor` and the reply to say and play."""
        self._now = now
        self._recent_jump = recent_jump
        self.queue = PlayoutQueue()
        self.air: OnAir | None = None
        self._relays: dict[Occurrence, Relay] = {}
        """Relays connected for their slot: kept through an interruption, so the relay comes
        back at the live point; closed when the slot is done."""
        self._cond = threading.Condition()
        self._stopping = threading.Event()

    # What waits ----------------------------------------------------------------------------

    def offer(self, items: Iterable[Item]) -> None:
        """Queue items that fell due; one due now may take the air."""
        with self._cond:
            changed = [self.queue.push(item) for item in items]
            self._preempt()
            self._cond.notify_all()
            if any(changed):
                self._queue_changed()

    def enqueue(self, item: Item) -> tuple[bool, int]:
        """An officer's request: whether it was queued now (False: the same occurrence is
        already queued or logged), and how many items air before it — read together, under the
        lock, so the answer is true of the queue the player sees."""
        with self._cond:
            queued = not self.asrun.has(item.occurrence) and self.queue.push(item)
            self._preempt()
            self._cond.notify_all()
            waiting = self.queue.items()
            ahead = waiting.index(item) if item in waiting else 0
            if self.air is not None and not self.air.stop.is_set():
                ahead += 1
            if queued:
                self._queue_changed()
        return queued, ahead

    def stop_current(self) -> str | None:
        """Stop what is on the air (it is not played again); its entry id, or None."""
        with self._cond:
            if self.air is None:
                return None
            self.air.reason = _("stopped by the officer.")
            self.air.by = None
            self.air.stop.set()
            return self.air.item.occurrence.entry_id

    def snapshot(self) -> tuple[OnAir | None, list[Item]]:
        with self._cond:
            return self.air, self.queue.items()

    # Playing -------------------------------------------------------------------------------

    def run(self) -> None:
        """The player thread: play until `shutdown`."""
        while not self._stopping.is_set():
            try:
                self.play_next(timeout=1.0)
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
            self._queue_changed()
            now = self._now()
            start = max(now, item.occurrence.scheduled)  # taken early, to start on time
            station = self._station()
            decided = verdict(item, start, station.quiet_hours)
            if decided.action != PLAY:
                self._close_relay(item)
                self._decide(item, decided.action, decided.late_s, station)
                return True
            try:
                if not self.asrun.begin(item.occurrence, start, again=item.retry):
                    return True  # it aired already
            except LoaError as error:
                log.error("%s", error)  # the log cannot be written: air it all the same
            air = self.air = OnAir(item, start)
        try:
            self._play(air, station)
        finally:
            with self._cond:
                self.air = None
                self._preempt()
                self._cond.notify_all()
        return True

    def shutdown(self) -> None:
        """Stop what plays (logged as interrupted), and wait a little for it to end."""
        with self._cond:
            self._stopping.set()
            if self.air is not None:
                self.air.reason = _("Loa was stopped.")
                self.air.stop.set()
            self._cond.notify_all()
            self._cond.wait_for(lambda: self.air is None, STOP_WAIT_S)
            kept, self._relays = list(self._relays.values()), {}
        for relay in kept:  # waiting to come back after an interruption: no ffmpeg outlives Loa
            relay.close()

    def preempt(self) -> None:
        with self._cond:
            self._preempt()

    def _preempt(self) -> None:
        """Stop what is on the air for a waiting item that is due and may take it."""
        best = self.queue.peek()
        if self.air is None or best is None or self.air.stop.is_set():
            return
        if best.occurrence.scheduled > self._now():
            return  # taken early for pre-roll: it interrupts at its own time
        if interrupts(best, self.air.item):
            self.air.reason = _("interrupted by {id} ({priority}).").format(
                id=entry_label(best.occurrence.entry_id),
                priority=priority_label(best.priority),
            )
            self.air.by = best
            self.air.stop.set()

    def _queue_changed(self) -> None:
        queued = tuple(item.occurrence for item in self.queue.items())
        self.events.emit(lambda listener: listener.queue_changed(queued))

    def _decide(self, item: Item, action: Result, late_s: float, station: Station) -> None:
        if action == SKIPPED_QUIET:
            reason = _("quiet hours ({hours}): only emergencies air.").format(
                hours=station.quiet_hours
            )
        else:
            reason = _(
                "could not start within its late limit: {late} s late, limit {limit} s."
            ).format(late=round(late_s), limit=round(item.late_limit_s))
            jumped = self._recent_jump()
            if jumped is not None:
                reason += " " + _(
                    "The clock had just jumped by {seconds:+d} s (set by hand, or the PC slept)."
                ).format(seconds=jumped)
        log.warning("%s %s: %s", item.occurrence.entry_id, action, reason)
        try:
            self.asrun.decide(item.occurrence, action, reason)
        except LoaError as error:
            log.error("%s", error)
        self._finished(item, action, reason)

    def _finished(self, item: Item, result: Result, error: str) -> None:
        occurrence = item.occurrence
        self.events.emit(lambda listener: listener.occurrence_finished(occurrence, result, error))

    def _play(self, air: OnAir, station: Station) -> None:
        from broadcaster.audio.outputs import PlaybackStopped  # numpy: when the first item airs

        item = air.item
        occurrence = item.occurrence
        log.info(_("On air: %s (%s)."), entry_label(occurrence.entry_id), occurrence.announcement)
        self.events.emit(lambda listener: listener.occurrence_started(occurrence, air.started))
        result, source, error = Result.PLAYED, "", ""
        try:
            if item.relay is not None:
                result, source, error = self._relay(air, station)
            else:
                result, source, error = self._broadcast(air, station)
        except PlaybackStopped:
            result, error = Result.INTERRUPTED, air.reason
        except NoAudioDeviceError:
            self.sound_problem = sound_problem()
            result, error = Result.FAILED, self.sound_problem
        except LoaError as failure:
            result, error = Result.FAILED, failure.message
        except Exception as failure:  # the station stays on the air whatever one item does
            log.exception("%s", occurrence.entry_id)
            result, error = (
                Result.FAILED,
                _("unexpected error: {error}").format(error=repr(failure)),
            )
        ended = self._now()
        again = result == Result.INTERRUPTED and air.by is not None and may_retry(item, ended)
        if item.relay is not None:
            source, error = self._relay_done(item, again, source, error)
        if result in AIRED:
            self.sound_problem = None
        if item.retry and result in AIRED and item.relay is None:
            error = (error + " " + _("Played again from the start after an interruption.")).strip()
        (log.info if result in AIRED else log.warning)(
            "%s: %s %s", entry_label(occurrence.entry_id), result_label(result), error
        )
        try:
            self.asrun.finish(occurrence, result, ended, source, error)
        except LoaError as failure:
            log.error("%s", failure)
        self._finished(item, result, error)
        if again:
            with self._cond:
                self.queue.push(replace(item, retry=True))
                self._queue_changed()

    def _broadcast(self, air: OnAir, station: Station) -> tuple[Result, str, str]:
        """An announcement (or an officer's text), its speech rendered as it plays: its result,
        the voices that spoke and why another voice had to."""
        from broadcaster.audio.render import LEAD_IN_MS
        from broadcaster.broadcast import broadcast

        item = air.item
        # the amplifier's lead-in goes out before the second, so the first tone is heard on it
        start_at = air.started - timedelta(milliseconds=LEAD_IN_MS)
        announcement = (
            Announcement(id="say", text=item.text)
            if item.text is not None
            else announcement_or_recording(station, item.occurrence.announcement)
        )
        done = broadcast(
            station,
            announcement,
            voice=item.voice,
            repeat=item.repeat,
            gap_s=item.gap_s,
            emergency=item.priority == Priority.EMERGENCY,
            output=self._output(station),
            stop=air.stop,
            start_at=start_at.timestamp() if start_at > self._now() else None,
        )
        source = ",".join(dict.fromkeys(spoken.source for spoken in done.speech))
        failures = [reason for spoken in done.speech for reason in spoken.failures]
        if failures:
            return Result.PLAYED_FALLBACK, source, " ".join(failures)
        return Result.PLAYED, source, ""

    def _relay(self, air: OnAir, station: Station) -> tuple[Result, str, str]:
        """A relay's slot, from its second (connected at the pre-roll) or, after an
        interruption, from the live point, to its end; its result says whether the source was
        heard."""
        from broadcaster.audio.outputs import OUTPUTS, PlaybackStopped
        from broadcaster.relay.probe import gains_of
        from broadcaster.relay.session import Relay, RelayError

        item = air.item
        assert item.relay is not None and item.ends is not None
        relay = self._relays.get(item.occurrence)
        if relay is None:
            source = station.relay_sources.get(item.relay)
            if source is None:
                raise RelayError(
                    _("No relay source '{name}' in station.yaml any more.").format(name=item.relay)
                )
            fallback = item.fallback or station.relay_fallback
            relay = Relay(
                source,
                station.output,
                fallback=None if fallback is None else lambda: _fallback(station, fallback),
                fallback_after_s=station.relay_fallback_after_s,
                gains=gains_of(station.directory),
            )
            self._relays[item.occurrence] = relay
            relay.connect()
            if item.occurrence.entry_id == RELAY:  # `loa relay now`: back after a crash too
                try:
                    self.asrun.set_state(RELAY_NOW_STATE, relay_now_state(item))
                except LoaError as failure:
                    log.error("%s", failure)
        output = self._output(station) or OUTPUTS[station.output.device]()
        start_at = air.started.timestamp() if air.started > self._now() else None
        ends = relay_end(item, max(air.started, self._now()), station.quiet_hours)
        output.play_live(relay.chunks(ends.timestamp(), start_at, air.stop), air.stop, start_at)
        if air.stop.is_set():  # stopped before its first chunk: nothing raised on the way
            raise PlaybackStopped
        cut = ends < item.ends
        said = _("Ended where the quiet hours begin ({quiet}).") if cut else ""
        return (
            Result(relay.summary().result.value),
            relay.url or "",
            said.format(quiet=station.quiet_hours),
        )

    def _relay_done(self, item: Item, again: bool, source: str, error: str) -> tuple[str, str]:
        """After a stretch of a relay: its dropouts kept, said in the row's reason with the
        minutes on the air; the connection kept when the relay comes back, else closed."""
        relay = self._relays.get(item.occurrence)
        if relay is None:
            return source, error
        if not again:
            self._close_relay(item)
        summary = relay.summary()
        dropouts = [
            Dropout(datetime.fromtimestamp(d.start, self._now().tzinfo), d.seconds, d.cause, d.url)
            for d in summary.dropouts
        ]
        try:
            self.asrun.record_dropouts(item.occurrence, dropouts)
        except LoaError as failure:
            log.error("%s", failure)
        said = relay_reason(summary.seconds_on_air, summary.seconds_fallback, dropouts)
        return source or relay.url or "", " ".join(filter(None, (error, said)))

    def _close_relay(self, item: Item) -> None:
        relay = self._relays.pop(item.occurrence, None)
        if relay is not None:
            relay.close()


def _fallback(station: Station, announcement: str) -> "Iterator[Chunk]":
    from broadcaster.broadcast import rendered

    return rendered(station, announcement_or_recording(station, announcement))


def relay_reason(on_air_s: float, fallback_s: float, dropouts: list[Dropout]) -> str:
    """A relay's row in words: minutes on the air, the fallback's, and each dropout."""
    parts = [_("{minutes} min on the air").format(minutes=format_decimal(on_air_s / 60))]
    if fallback_s > 0:
        parts.append(
            _("{minutes} min of the fallback").format(minutes=format_decimal(fallback_s / 60))
        )
    if dropouts:
        parts.append(
            _("dropouts: {list}").format(
                list=", ".join(
                    f"{d.started:%H:%M:%S} {format_decimal(d.seconds)} s ({d.cause})"
                    for d in dropouts
                )
            )
        )
    return "; ".join(parts) + "."


def sound_problem() -> str:
    """What a running station says when its sound device does not open: the fix for a station,
    not --out, which only a one-off command has."""
    return _(
        "The sound device does not open: broadcasts are not heard. Plug in and switch on the "
        "amplifier or sound card, check the sound settings, then run loa doctor; the station "
        "tries again at each broadcast."
    )


def probe_sound(station: Station) -> str | None:
    """Open the station's sound device as a broadcast would (20 ms of silence): why it does not
    open, or None. A device set to silent is the officer's choice, not a problem."""
    from broadcaster.audio.outputs import OUTPUTS

    if station.output.device == "silent":
        return None
    try:
        OUTPUTS[station.output.device]()
    except NoAudioDeviceError:
        return sound_problem()
    return None
