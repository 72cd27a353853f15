"""The reports through a real Mosquitto: a paho client as the station's link, a raw paho
subscriber as the province. PUBACKs empty the outbox, presence and heartbeats are retained for a
late subscriber, and a day of rows made while the broker was down all arrive after it is back."""

import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from broadcaster.core.models import Occurrence, Result
from broadcaster.onair.asrun import AsRunLog
from broadcaster.province import messages, topics
from broadcaster.province.reports import SOFTWARE, Reporter
from tests.mosquitto import Mosquitto, free_port
from tests.province.test_reports import NOW, STATION, View, occurrence, played


def wait_for(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("not within the time allowed")
        time.sleep(0.02)


def client(name: str, port: int) -> mqtt.Client:
    """A v5 client that keeps its session (Clean Start 0, an hour's expiry) and reconnects fast."""
    made = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=name, protocol=mqtt.MQTTv5)
    made.reconnect_delay_set(0.2, 1)
    made._loa_port = port  # type: ignore[attr-defined]
    return made


def connect(made: mqtt.Client) -> None:
    session = Properties(PacketTypes.CONNECT)
    session.SessionExpiryInterval = 3600
    made.connect_async(
        "127.0.0.1",
        made._loa_port,  # type: ignore[attr-defined]
        keepalive=10,
        clean_start=False,
        properties=session,
    )
    made.loop_start()


class StationLink:
    """The least the station's link does: paho's publish as the reporter's (None while not
    connected), its PUBACKs and connections handed on."""

    def __init__(self, port: int) -> None:
        self.client = client(STATION, port)
        self.connections = 0
        self.reporter: Reporter | None = None
        self.client.on_connect = self._connected
        self.client.on_publish = self._published

    def publish(self, topic: str, payload: bytes, qos: int, retain: bool) -> int | None:
        if not self.client.is_connected():
            return None
        info = self.client.publish(topic, payload, qos, retain)
        return info.mid if info.rc == mqtt.MQTT_ERR_SUCCESS else None

    def _connected(self, _client: mqtt.Client, _data: object, *_rest: object) -> None:
        self.connections += 1
        assert self.reporter is not None
        self.reporter.connected(self.connections)

    def _published(self, _client: mqtt.Client, _data: object, mid: int, *_rest: object) -> None:
        assert self.reporter is not None
        self.reporter.published(mid)


class Province:
    """A subscriber to every station's reports, keeping what it receives."""

    def __init__(self, port: int, name: str = "province") -> None:
        self.received: list[mqtt.MQTTMessage] = []
        self._lock = threading.Lock()
        self.client = client(name, port)
        self.client.on_connect = lambda c, *_: [c.subscribe(t, qos=1) for t in topics.FROM_STATIONS]
        self.client.on_message = self._message
        self.subscribed = threading.Event()
        self.client.on_subscribe = lambda *_: self.subscribed.set()

    def _message(self, _client: mqtt.Client, _data: object, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.received.append(message)

    def on(self, topic: str) -> list[tuple[messages.Message, bool]]:
        with self._lock:
            return [
                (messages.decode(m.payload), bool(m.retain))
                for m in self.received
                if m.topic == topic
            ]

    def rows(self) -> set[tuple[str, str, str]]:
        found = set()
        for row, _retained in self.on(topics.asrun(STATION)):
            assert isinstance(row, messages.AsRun)
            found.add((row.entry_id, row.scheduled, row.result))
        return found


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\n"
        f"persistence true\npersistence_location {tmp_path}/\n"
    )
    running = Mosquitto(conf, port).start()
    yield running
    running.stop()


@pytest.fixture
def asrun(tmp_path: Path) -> AsRunLog:
    return AsRunLog(tmp_path / "asrun.db")


@pytest.fixture
def province(broker: Mosquitto) -> Iterator[Province]:
    subscriber = Province(broker.port)
    connect(subscriber.client)
    assert subscriber.subscribed.wait(10)
    yield subscriber
    subscriber.client.disconnect()
    subscriber.client.loop_stop()


@pytest.fixture
def link(broker: Mosquitto, asrun: AsRunLog, tmp_path: Path) -> Iterator[StationLink]:
    station = StationLink(broker.port)
    station.reporter = Reporter(STATION, tmp_path / "outbox.db", station.publish, View(asrun.path))
    yield station
    station.client.disconnect()
    station.client.loop_stop()


def waiting(link: StationLink) -> int:
    assert link.reporter is not None and link.reporter.outbox is not None
    return link.reporter.outbox.count()


def test_rows_reach_the_province_and_pubacks_empty_the_outbox(
    broker: Mosquitto, province: Province, link: StationLink, asrun: AsRunLog
) -> None:
    assert link.reporter is not None
    items = [occurrence(f"muc-{n}", minutes=n) for n in range(3)]
    for item in items[:1]:  # finalized before the link first connects
        played(asrun, item)
        link.reporter.occurrence_finished(item, Result.PLAYED, "")
    connect(link.client)
    wait_for(lambda: link.connections == 1)
    for item in items[1:]:
        played(asrun, item)
        link.reporter.occurrence_finished(item, Result.PLAYED, "")
    wait_for(lambda: len(province.rows()) == 3 and waiting(link) == 0)
    assert province.rows() == {(i.entry_id, i.scheduled.isoformat(), "played") for i in items}


def test_presence_and_heartbeat_are_retained_for_a_late_subscriber(
    broker: Mosquitto, link: StationLink
) -> None:
    assert link.reporter is not None
    connect(link.client)
    wait_for(lambda: link.connections == 1)
    link.reporter.beat()
    late = Province(broker.port, "province-late")
    connect(late.client)
    try:
        wait_for(lambda: late.on(topics.heartbeat(STATION)) and late.on(topics.state(STATION)))
        [(state, retained)] = late.on(topics.state(STATION))
        assert retained and state == messages.Presence(
            True, 1, "2026-11-30T02:00:00.000+00:00", SOFTWARE
        )
        [(beat, retained)] = late.on(topics.heartbeat(STATION))
        assert retained and isinstance(beat, messages.Heartbeat) and beat.connection == 1
        link.reporter.closing()
        wait_for(lambda: len(late.on(topics.state(STATION))) == 2)
        assert late.on(topics.state(STATION))[-1][0] == messages.Presence(
            False, 1, "2026-11-30T02:00:00.000+00:00", SOFTWARE
        )
    finally:
        late.client.disconnect()
        late.client.loop_stop()
    again = Province(broker.port, "province-later")
    connect(again.client)
    try:
        wait_for(lambda: bool(again.on(topics.state(STATION))))
        [(state, retained)] = again.on(topics.state(STATION))
        assert retained and isinstance(state, messages.Presence) and not state.online
    finally:
        again.client.disconnect()
        again.client.loop_stop()


def test_a_day_made_while_the_broker_was_down_arrives_whole(
    broker: Mosquitto, province: Province, link: StationLink, asrun: AsRunLog
) -> None:
    assert link.reporter is not None
    connect(link.client)
    wait_for(lambda: link.connections == 1)
    broker.stop()  # graceful: the province's session and subscriptions are saved
    wait_for(lambda: not link.client.is_connected())
    day = [
        Occurrence(f"muc-{n % 24}", NOW - timedelta(minutes=3 * n), "hop", "normal")
        for n in range(300)
    ]
    for item in day:
        asrun.decide(item, Result.MISSED, "the amplifier was off")
        link.reporter.occurrence_finished(item, Result.MISSED, "the amplifier was off")
    assert waiting(link) == 300
    broker.start()
    wait_for(lambda: link.connections == 2)
    wait_for(lambda: len(province.rows()) == 300 and waiting(link) == 0)
    assert province.rows() == {(i.entry_id, i.scheduled.isoformat(), "missed") for i in day}
