"""The on-air monitor in a running station: the glue between the monitor (monitor/api.py) and
the station's as-run log and events.

`StationMonitor` is a Listener. Each occurrence that went on the air is judged once its row is
final — on a worker thread of its own, because `Monitor.judge` waits until its capture covers the
row's end: never on the event dispatcher (the web console and the province link would wait) nor
on the player (the air would). The verdict goes into the as-run row, then out as the `heard`
event; the monitor's alarms are stored, logged and sent out as `monitor_alarm` the same way.

The monitor is opened after the station is on the air, in the background: a device that is slow
to open, missing or gone never delays nor stops the air. Until it listens, the rows say `heard:
unknown` with the reason. The station's output is wrapped (`output_for`) only once it listens.
"""

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from broadcaster.control.protocol import MonitorAlarm, MonitorStatus
from broadcaster.core.models import AIRED, Alarm, AlarmKind, Heard, Hearing, Occurrence, Result
from broadcaster.core.settings import MonitorSettings, Station
from broadcaster.errors import LoaError
from broadcaster.i18n import _
from broadcaster.monitor.api import AudioLog, Monitor
from broadcaster.onair.asrun import NOT_TROUBLE, AsRunLog, alarm_label, heard_label
from broadcaster.onair.events import EventBus, Listener

if TYPE_CHECKING:
    from pathlib import Path

    from broadcaster.audio.outputs import AudioOutput

log = logging.getLogger("loa")

JUDGED = (*AIRED, Result.INTERRUPTED)
"""The results whose rows sent sound: an interrupted broadcast was heard up to its stop."""
CLOSE_WAIT_S = 15.0
"""How long shutting down waits for the rows still to judge (each waits a few seconds)."""

OpenMonitor = Callable[[MonitorSettings, "Path", Callable[[Alarm], None], float], Monitor]
"""(settings, audio log folder, alarm callback, target loudness) → a listening monitor."""
WrapOutput = Callable[["AudioOutput", Monitor], "AudioOutput"]
"""An output that hands every chunk it plays to the monitor too."""


class StationMonitor(Listener):
    """The monitor of one running station: opened in the background, closed at shutdown."""

    def __init__(
        self,
        station: Station,
        settings: MonitorSettings,
        open_monitor: OpenMonitor | None = None,
        wrap_output: WrapOutput | None = None,
    ) -> None:
        self.settings = settings
        self._station = station
        self._events = EventBus()
        self._now: Callable[[], datetime] = datetime.now
        self._open_monitor = open_monitor or _open_monitor
        self._wrap_output = wrap_output or _monitored_output
        self.monitor: Monitor | None = None
        self.problem: str | None = _("the monitor is starting")
        """Why the monitor does not listen (None: it listens)."""
        self.opened = threading.Event()
        """Set once opening is over, whether the monitor listens or not."""
        self._asrun = AsRunLog.for_station(station.directory)
        self._cond = threading.Condition()
        self._alarms: deque[Alarm] = deque()
        self._to_judge: deque[Occurrence] = deque()
        self._busy = False
        self._closing = False
        self._closed = False
        self._worker = threading.Thread(target=self._work, name="loa-monitor", daemon=True)

    # Start and stop -----------------------------------------------------------------------------

    def start(self, events: EventBus, now: Callable[[], datetime]) -> None:
        """Listen to the station's `events`, open the monitor in the background and start
        judging; returns at once. `now`: the station's clock."""
        self._events, self._now = events, now
        ended = self._asrun.close_alarms(self._now())
        if ended:
            log.info(_("%d monitor alarm(s) left by the last run ended."), ended)
        self._events.subscribe(self)
        self._worker.start()
        threading.Thread(target=self._open, name="loa-monitor-open", daemon=True).start()

    def close(self) -> None:
        """After the daemon's shutdown: judge what is left (for a while), stop listening, end
        the alarms that last, let go of the as-run log; once."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.wait_for(
                lambda: not (self._to_judge or self._alarms or self._busy), CLOSE_WAIT_S
            )
            self._closing = True
            self._cond.notify_all()
        if self._worker.is_alive():
            self._worker.join(CLOSE_WAIT_S)
        with self._cond:
            monitor, self.monitor = self.monitor, None
            self.problem = _("Loa was stopped")
        if monitor is not None:
            try:
                monitor.close()
            except Exception:
                log.exception(_("The on-air monitor did not close cleanly."))
        try:
            self._asrun.close_alarms(self._now())
        except LoaError as error:
            log.error("%s", error)
        self._asrun.close()

    def _open(self) -> None:
        try:
            self._listen()
        finally:
            self.opened.set()

    def _listen(self) -> None:
        try:
            monitor = self._open_monitor(
                self.settings,
                self._station.monitor_dir,
                self.alarm,
                self._station.output.loudness_lufs,
            )
        except Exception as error:
            reason = error.message if isinstance(error, LoaError) else repr(error)
            with self._cond:
                self.problem = _("the monitor could not start: {reason}").format(reason=reason)
            log.warning(
                _("On-air monitor on %s: %s; the air goes on."), self.settings.device, reason
            )
            return
        with self._cond:
            if self._closing:
                monitor.close()
                return
            self.monitor, self.problem = monitor, None
        log.info(_("The on-air monitor listens on %s."), self.settings.device)

    # What the station sees ---------------------------------------------------------------------

    def output_for(
        self, station: Station, inner: "AudioOutput | None" = None
    ) -> "AudioOutput | None":
        """The Daemon's output factory: the station's output (`inner`, or its device), handed
        to the monitor too once it listens; before, `inner` (None: the player's default)."""
        monitor = self.monitor
        if monitor is None:
            return inner
        from broadcaster.audio.outputs import OUTPUTS

        output = inner or OUTPUTS[station.output.device]()
        try:
            return self._wrap_output(output, monitor)
        except Exception:  # the monitor's fault: the air goes on, unmonitored
            log.exception(_("The on-air monitor cannot follow the output; the air goes on."))
            return output

    def status(self) -> MonitorStatus:
        """For the status reply: the device, why it does not listen, the alarms that last."""
        monitor, problem = self.monitor, self.problem
        alarms: list[Alarm] = []
        if monitor is not None:
            try:
                alarms = monitor.alarms()
            except Exception:
                log.exception(_("The on-air monitor did not say its alarms."))
        device = [a.detail for a in alarms if a.kind == AlarmKind.DEVICE and a.ended is None]
        return MonitorStatus(
            device=self.settings.device,
            problem=problem or (device[0] if device else None),
            alarms=tuple(
                MonitorAlarm(str(a.kind), a.started.isoformat(), a.detail)
                for a in alarms
                if a.ended is None
            ),
        )

    # The station's events and the monitor's alarms ----------------------------------------------

    def occurrence_finished(self, occurrence: Occurrence, result: Result, error: str) -> None:
        """On the event dispatcher: queued for the worker, nothing else."""
        if result in JUDGED:
            with self._cond:
                if not self._closing:
                    self._to_judge.append(occurrence)
                    self._cond.notify_all()

    def alarm(self, alarm: Alarm) -> None:
        """The monitor's callback, on its own thread: queued for the worker (alarms first)."""
        with self._cond:
            self._alarms.append(alarm)
            self._cond.notify_all()

    # The worker ---------------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._alarms or self._to_judge or self._closing)
                if self._closing:  # what is left is judged `unknown` by nobody: left empty
                    return
                task: Alarm | Occurrence = (
                    self._alarms.popleft() if self._alarms else self._to_judge.popleft()
                )
                self._busy = True
            try:
                if isinstance(task, Alarm):
                    self._store_alarm(task)
                else:
                    self._judge(task)
            except Exception:
                log.exception(_("The on-air monitor failed (%s); the air goes on."), type(task))
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _judge(self, occurrence: Occurrence) -> None:
        row = self._asrun.row(occurrence.entry_id, occurrence.scheduled.isoformat())
        if row is None or row.started is None or row.ended is None or row.result not in JUDGED:
            return  # queued again after an interruption: its next end is judged
        monitor, problem = self.monitor, self.problem
        if monitor is None:
            hearing = Hearing(Heard.UNKNOWN, reason=problem or "")
        else:
            hearing = monitor.judge(
                datetime.fromisoformat(row.started), datetime.fromisoformat(row.ended)
            )
        if hearing.heard == Heard.YES and row.result == Result.RELAYED_WITH_DROPOUTS:
            # the loudspeakers played what was sent, but the programme was not all there
            reason = _("the source was gone for a while: see the relay's dropouts")
            hearing = replace(hearing, heard=Heard.PARTLY, reason=reason)
        self._asrun.hear(occurrence, hearing)
        if hearing.heard in (Heard.NO, Heard.PARTLY):
            log.warning(
                _("Monitor: %s: %s (%s)."),
                occurrence.entry_id,
                heard_label(hearing.heard),
                hearing.reason,
            )
        self._events.emit(lambda listener: listener.heard(occurrence, hearing))

    def _store_alarm(self, alarm: Alarm) -> None:
        self._asrun.record_alarm(alarm)
        label = alarm_label(alarm.kind)
        if alarm.ended is not None:
            log.info(_("Monitor: %s ended: %s"), label, alarm.detail)
        elif alarm.kind in NOT_TROUBLE:
            log.info(_("Monitor: %s: %s"), label, alarm.detail)
        else:
            log.warning(_("Monitor alarm: %s: %s"), label, alarm.detail)
        self._events.emit(lambda listener: listener.monitor_alarm(alarm))


def _open_monitor(
    settings: MonitorSettings,
    log_dir: "Path",
    on_alarm: Callable[[Alarm], None],
    target_lufs: float,
) -> Monitor:
    from broadcaster.monitor.listening import open_monitor  # numpy: only with a monitor

    return open_monitor(settings, log_dir, on_alarm, target_lufs=target_lufs)


def _monitored_output(inner: "AudioOutput", monitor: Monitor) -> "AudioOutput":
    from broadcaster.monitor.output import MonitoredOutput

    return MonitoredOutput(inner, monitor)


def check_device(device: str) -> str | None:
    """Why the monitor's device cannot capture (for `loa doctor`), or None."""
    from broadcaster.monitor.probe import check_device as probe

    return probe(device)


def open_audio_log(station: Station) -> AudioLog:
    """The station's daily audio log, read without a running station (`loa monitor listen`)."""
    from broadcaster.monitor.audiolog import open_audio_log as audio_log

    return audio_log(station.monitor_dir)


def audio_log_usage(station: Station) -> tuple[int, int]:
    """Days kept and bytes used by the daily audio log."""
    from broadcaster.monitor.audiolog import audio_log_usage as usage

    return usage(station.monitor_dir)
