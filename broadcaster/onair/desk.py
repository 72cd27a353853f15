"""The daemon's answers to the control protocol's requests: what plays and waits, stop, reload,
and an officer's say or play queued once."""

import os
import threading
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from broadcaster.control.protocol import (
    Broadcast,
    MonitorStatus,
    OnAir,
    ProtocolError,
    Queued,
    RelayNow,
    Reload,
    Reloaded,
    Reply,
    Request,
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
from broadcaster.core.playout import Item
from broadcaster.core.settings import Station
from broadcaster.errors import LoaError
from broadcaster.onair.adhoc import adhoc_item, adhoc_relay
from broadcaster.onair.planner import Planner
from broadcaster.onair.player import Player
from broadcaster.onair.watcher import Watcher
from broadcaster.station.lookahead import NEXT_DAYS, NEXT_SHOWN
from broadcaster.station.schedules import occurrence_name

RECENT_REQUESTS = 256
"""Request ids remembered, so that a retried request is queued once."""


class ControlDesk:
    """Answers typed requests from the parts of a running station."""

    def __init__(
        self,
        directory: Path,
        station: Callable[[], Station],
        now: Callable[[], datetime],
        planner: Planner,
        player: Player,
        watcher: Watcher,
        speech_ready: Callable[[], tuple[int, int] | None] = lambda: None,
        monitor: Callable[[], MonitorStatus | None] = lambda: None,
    ) -> None:
        self.directory = directory
        self._monitor = monitor
        self._speech_ready = speech_ready
        self._station = station
        self._now = now
        self.planner = planner
        self.player = player
        self.watcher = watcher
        self.started = now()
        self._requests: dict[str, Queued] = {}
        self._lock = threading.Lock()
        self._last_adhoc: datetime | None = None

    def answer(self, message: Any) -> dict[str, Any]:
        """One request in its wire form; the reply always says ok or why not."""
        try:
            request = parse_request(message)
        except LoaError as error:
            return encode_reply(refusal(error))
        return encode_reply(self.handle(request))

    def handle(self, request: Request) -> Reply:
        try:
            if isinstance(request, Status):
                return self.status()
            if isinstance(request, Reload):
                error = self.watcher.reload(force=True)
                if error is not None:
                    return refusal(ProtocolError(error))
                return Reloaded(len(self.planner.entries))
            if isinstance(request, Stop):
                return Stopped(self.player.stop_current())
            return self.enqueue(request)
        except LoaError as error:
            return refusal(error)

    def enqueue(self, request: Broadcast | RelayNow) -> Queued:
        """An officer's `say`, `play` or relay: checked now, then queued once. A request id seen
        before is answered `already_queued`; two requests in the same instant are two items."""
        with self._lock:
            if request.request_id is not None and request.request_id in self._requests:
                return Queued(self._requests[request.request_id].ahead, already_queued=True)
            moment = self._now()
            if self._last_adhoc is not None and moment <= self._last_adhoc:
                moment = self._last_adhoc + timedelta(microseconds=1)  # its own as-run row
            item = (
                adhoc_relay(self._station(), request, moment)
                if isinstance(request, RelayNow)
                else adhoc_item(self._station(), request, moment)
            )
            self._last_adhoc = moment
            queued, ahead = self.player.enqueue(item)
            reply = Queued(ahead, already_queued=not queued, sound=self.player.sound_problem)
            if request.request_id is not None:
                self._requests[request.request_id] = reply
                while len(self._requests) > RECENT_REQUESTS:
                    del self._requests[next(iter(self._requests))]
        return reply

    def status(self) -> StatusReply:
        air, waiting = self.player.snapshot()
        upcoming = self.planner.upcoming(self._now(), NEXT_SHOWN, NEXT_DAYS)
        return StatusReply(
            pid=os.getpid(),
            since=self.started.isoformat(),
            station=str(self.directory),
            playing=None
            if air is None
            else OnAir(**asdict(_waiting(air.item)), started=air.started.isoformat()),
            queue=tuple(_waiting(item) for item in waiting),
            next=tuple(
                Upcoming(entry.id, occurrence_name(entry), at.isoformat()) for at, entry in upcoming
            ),
            reload_error=self.watcher.error,
            entries=len(self.planner.entries),
            sound=self.player.sound_problem,
            speech_ready=self._speech_ready(),
            monitor=self._monitor(),
        )


def _waiting(item: Item) -> Waiting:
    occurrence = item.occurrence
    return Waiting(
        occurrence.entry_id,
        occurrence.announcement,
        occurrence.scheduled.isoformat(),
        str(occurrence.priority),
    )
