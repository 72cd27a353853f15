"""What stations report, into the province's SQLite: one persistent MQTT session (`province`,
clean start off, a two-week session) subscribed at QoS 1 to every station's state, heartbeat,
as-run and ack topics. Each message is acknowledged to the broker only once it is committed, so
a crash redelivers instead of losing; redeliveries change nothing (as-run rows are unique per
occurrence).

`loa province serve` runs it for good; `status`, `report` and `log` first drain what the broker
kept for it. A lock file keeps the two from sharing the session (the broker would throw one off).
"""

import contextlib
import fcntl
import logging
import os
import queue
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from paho.mqtt.client import Client, MQTTMessage

from broadcaster.errors import LoaError
from broadcaster.i18n import _
from broadcaster.province import topics
from broadcaster.province.connection import Connection
from broadcaster.province.directory import COLLECTOR, BrokerError, Province
from broadcaster.province.messages import (
    Ack,
    AsRun,
    BadMessage,
    Heartbeat,
    Presence,
    decode,
)
from broadcaster.province.store import Store, iso, utc_now

LOCK_FILE = "collector.lock"
QUIET_S = 0.5
"""A drain ends after this long without a message…"""
LONGEST_DRAIN_S = 10.0
"""…or after this long in all."""

log = logging.getLogger("loa.province")


@contextlib.contextmanager
def collector_lock(directory: Path) -> Iterator[bool]:
    """Whether this process holds the collector's session: False while `serve` runs."""
    path = directory / LOCK_FILE
    handle: IO[str] = path.open("a+")
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        try:
            yield True
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    finally:
        handle.close()


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    retained: bool
    mid: int
    qos: int
    at: datetime


class Collector:
    def __init__(self, province: Province, passwords: Mapping[str, str], store: Store) -> None:
        self.store = store
        self.inbox: queue.Queue[Received] = queue.Queue()
        self.link = Connection(
            province, COLLECTOR, passwords[COLLECTOR], persistent=True, manual_ack=True
        )
        self.link.client.on_message = self._on_message
        self.link.after_connect = self._subscribe
        self.stored = 0
        self.dropped = 0

    def connect(self) -> "Collector":
        self.link.connect()
        return self

    def _subscribe(self, session_present: bool) -> None:
        """On every connection: the session keeps as-run rows and acks queued while away, and
        subscribing again has the broker send each station's retained state and heartbeat
        (heartbeats are QoS 0, never queued)."""
        self.link.client.subscribe([(topic, 1) for topic in topics.FROM_STATIONS])

    def close(self) -> None:
        self.link.close()

    def drain(self, quiet_s: float = QUIET_S, longest_s: float = LONGEST_DRAIN_S) -> int:
        """Store what is waiting, until the broker has been quiet for `quiet_s`."""
        deadline = time.monotonic() + longest_s
        while (left := deadline - time.monotonic()) > 0:
            try:
                item = self.inbox.get(timeout=min(quiet_s, left))
            except queue.Empty:
                break
            self.handle(item)
        return self.stored

    def serve(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                item = self.inbox.get(timeout=0.5)
            except queue.Empty:
                continue
            self.handle(item)

    def handle(self, item: Received) -> None:
        """Store one message, then acknowledge it; a bad one is logged and acknowledged (it
        will not get better by being sent again); one that cannot be stored is not."""
        try:
            record(self.store, item)
            self.stored += 1
        except BadMessage as error:
            self.dropped += 1
            log.warning(_("Dropped a message on %s: %s"), item.topic, error)
        except LoaError as error:  # the disk: not acknowledged, so the broker sends it again
            log.error("%s", error.message)
            return
        if item.qos > 0:
            self.link.client.ack(item.mid, item.qos)

    def _on_message(self, client: Client, userdata: Any, message: MQTTMessage) -> None:
        self.inbox.put(
            Received(
                message.topic,
                bytes(message.payload),
                bool(message.retain),
                message.mid,
                message.qos,
                utc_now(),
            )
        )


def record(store: Store, item: Received) -> None:
    """One station report into the store, or BadMessage."""
    station = topics.station_of(item.topic)
    if station is None:
        raise BadMessage(f"not a station topic: {item.topic}")
    if not item.payload:
        return  # a retained message cleared
    message = decode(item.payload)
    kind = item.topic.rsplit("/", 1)[1]
    received = iso(item.at)
    expected = {"state": Presence, "hb": Heartbeat, "asrun": AsRun, "ack": Ack}.get(kind)
    if expected is None or not isinstance(message, expected):
        raise BadMessage(f"a {type(message).__name__} on {item.topic}")
    if isinstance(message, Presence):
        store.record_presence(station, message, received)
    elif isinstance(message, Heartbeat):
        offset = None
        if not item.retained:
            offset = (datetime.fromisoformat(message.at) - item.at).total_seconds()
        store.record_heartbeat(station, message, received, offset)
    elif isinstance(message, AsRun):
        store.record_asrun(station, message, received)
    elif isinstance(message, Ack):
        store.record_ack(station, message, received)


def refresh(province: Province, passwords: Mapping[str, str], store: Store) -> str | None:
    """Drain the collector's session before showing what stations reported; None when done, or
    why it could not be (serve runs — its data is fresh anyway —, or the broker is down)."""
    with collector_lock(province.directory) as mine:
        if not mine:
            return None
        collector = Collector(province, passwords, store)
        try:
            collector.connect()
        except BrokerError as error:
            return error.message
        try:
            collector.drain()
        finally:
            collector.close()
    return None
