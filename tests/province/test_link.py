"""The station's end of the province link against a real Mosquitto: a raw paho client plays the
province (retained campaigns and desired states, emergencies with a message expiry), a real
daemon on a copy of the example station plays out into a sink that takes no real time."""

import logging
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from paho.mqtt.client import Client, MQTTMessage
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from broadcaster.core.models import Occurrence, Priority, Result
from broadcaster.onair.asrun import AsRunLog, Row
from broadcaster.onair.daemon import Daemon
from broadcaster.onair.events import Listener
from broadcaster.province import topics
from broadcaster.province.inbox import Inbox, Landed
from broadcaster.province.link import (
    CHECK_DIR,
    LinkedStation,
    MakeReporter,
    Publish,
    Reporting,
    StationLink,
)
from broadcaster.province.messages import (
    Ack,
    Campaign,
    Content,
    Desired,
    Emergency,
    Message,
    Presence,
    StopEmergency,
    decode,
    encode,
    utc_now_iso,
)
from broadcaster.station.station_file import load_station
from tests.conftest import CLOSED_EDGE_ENDPOINT, ROOT, RunLoa
from tests.doubles import FakeClock, FastSink
from tests.mosquitto import Mosquitto, free_port

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
DATA = ROOT / "tests" / "data"
STATION_ID = "xa-an-binh"
GROUP = "ven-bien"
OWN = topics.station(STATION_ID)
WAIT_S = 60.0


def wait_for(condition: Callable[[], object], timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


# The broker and the province --------------------------------------------------------------------


def broker_conf(folder: Path, port: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    conf = folder / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\n"
        f"persistence true\npersistence_location {folder}/\n"
        # started as root, Mosquitto would save as user mosquitto, who cannot enter tmp_path
        + ("user root\n" if os.geteuid() == 0 else "")
    )
    return conf


def start_broker(folder: Path) -> Mosquitto:
    port = free_port()
    return Mosquitto(broker_conf(folder, port), port).start()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    mosquitto = start_broker(tmp_path / "broker")
    yield mosquitto
    mosquitto.stop()


class Province:
    """The province's side, as raw MQTT: what a station must cope with, whatever sends it."""

    def __init__(self, port: int) -> None:
        self.acks: list[Ack] = []
        self._lock = threading.Lock()
        self.client = Client(
            CallbackAPIVersion.VERSION2, client_id="province", protocol=MQTTProtocolVersion.MQTTv5
        )
        self.presences: list[Presence] = []
        self.client.on_message = self._heard
        self.client.on_connect = self._connected
        self.client.reconnect_delay_set(1, 1)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        wait_for(self.client.is_connected)

    def _connected(self, client: Client, *_args: object) -> None:
        """Subscribed again at every connection: a broker restart ends a clean session."""
        client.subscribe([(topics.ack(STATION_ID), 1), (topics.state(STATION_ID), 1)])

    def _heard(self, _client: Client, _userdata: object, message: MQTTMessage) -> None:
        decoded = decode(message.payload)
        with self._lock:
            if isinstance(decoded, Ack):
                self.acks.append(decoded)
            elif isinstance(decoded, Presence):
                self.presences.append(decoded)

    def online(self, connection: int, timeout: float = WAIT_S) -> None:
        """Wait for the station to say it is online on this connection (or a later one)."""

        def said() -> bool:
            with self._lock:
                return any(p.online and p.connection >= connection for p in self.presences)

        wait_for(said, timeout)

    def send(
        self,
        topic: str,
        payload: Message | bytes,
        retain: bool = False,
        expiry: int | None = None,
    ) -> None:
        properties = None
        if expiry is not None:
            properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            properties.MessageExpiryInterval = expiry
        data = payload if isinstance(payload, bytes) else encode(payload)
        info = self.client.publish(topic, data, qos=1, retain=retain, properties=properties)
        info.wait_for_publish(10)

    def campaign(self, campaign: Campaign, target: topics.Target = OWN) -> None:
        self.send(target.campaign(campaign.id), campaign, retain=True)

    def desired(self, version: int, target: topics.Target = OWN, **campaigns: int) -> None:
        listed = {name.replace("_", "-"): v for name, v in campaigns.items()}
        self.send(target.desired, Desired(version, listed), retain=True)

    def emergency(
        self, emergency: Emergency, expiry: int | None = 600, target: topics.Target = OWN
    ) -> None:
        self.send(target.cmd, emergency, expiry=expiry)

    def ack(self, bulletin: str, state: str, timeout: float = WAIT_S) -> Ack:
        found: list[Ack] = []

        def arrived() -> bool:
            with self._lock:
                found[:] = [a for a in self.acks if a.id == bulletin and a.state == state]
            return bool(found)

        wait_for(arrived, timeout)
        return found[-1]

    def states(self, bulletin: str) -> list[str]:
        with self._lock:
            return [ack.state for ack in self.acks if ack.id == bulletin]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def province(broker: Mosquitto) -> Iterator[Province]:
    sender = Province(broker.port)
    yield sender
    sender.close()


def campaign(
    campaign_id: str = "bao-lu",
    version: int = 1,
    text: str = "Nước sông lên cao, bà con chú ý.",
    priority: Priority = Priority.NORMAL,
    **schedule: object,
) -> Campaign:
    return Campaign(
        id=campaign_id,
        version=version,
        priority=priority,
        content=Content(title="Báo lũ", text=text),
        schedule=schedule or {"times": ["06:30", "17:00"]},
        sent=utc_now_iso(),
        sender="so-vhtt",
    )


def emergency(
    emergency_id: str = "khan-1",
    text: str = "Bão số ba sắp đổ bộ.",
    sent: datetime | None = None,
    expires_s: int = 600,
    recording: bytes | None = None,
) -> Emergency:
    content = (
        Content(title="Khẩn", recording=recording, suffix=".mp3")
        if recording is not None
        else Content(title="Khẩn", text=text)
    )
    return Emergency(
        id=emergency_id,
        content=content,
        sent=(sent or datetime.now(UTC)).isoformat(),
        expires_s=expires_s,
        sender="so-vhtt",
    )


# The station --------------------------------------------------------------------------------------


def linked_station(folder: Path, port: int, accept: str = "auto") -> Path:
    """A copy of the example station (announcements, settings, no schedules), offline voice,
    no quiet hours, with a province block for the test broker."""
    folder.mkdir(parents=True)
    shutil.copytree(ROOT / "announcements", folder / "announcements")
    (folder / "schedules").mkdir()
    settings = (
        (ROOT / "station.yaml")
        .read_text()
        .replace("voice: vi-VN-HoaiMyNeural", "voice: vi")
        .replace("device: simpleaudio", "device: silent")
        .replace('quiet_hours: "21:00-06:00"', 'quiet_hours: "00:00-00:00"')
    )
    settings += (
        f"\nprovince:\n  broker: mqtt://127.0.0.1:{port}\n  id: {STATION_ID}\n"
        f"  groups: [{GROUP}]\n  accept: {accept}\n"
    )
    (folder / "station.yaml").write_text(settings)
    return folder


@dataclass
class Running:
    directory: Path
    daemon: Daemon
    link: StationLink
    sink: FastSink
    clock: FakeClock
    stopped: bool = field(default=False)

    def rows(self, priority: str | None = None) -> list[Row]:
        log = AsRunLog.for_station(self.directory)
        try:
            return [row for row in log.rows() if priority in (None, row.priority)]
        finally:
            log.close()

    def emergencies(self) -> list[Row]:
        return self.rows(Priority.EMERGENCY)

    def entry_ids(self) -> list[str]:
        return [entry.id for entry in self.daemon.entries]

    def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            if self.sink.hold is not None:
                self.sink.hold.set()
            self.link.stop()
            self.daemon.shutdown()


Start = Callable[..., Running]


@pytest.fixture
def start_station(
    tmp_path: Path, broker: Mosquitto, province: Province, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Start]:
    monkeypatch.setenv("LOA_EDGE_ENDPOINT", CLOSED_EDGE_ENDPOINT)
    started: list[Running] = []

    def start(
        accept: str = "auto",
        offset: timedelta = timedelta(0),
        hold: bool = False,
        directory: Path | None = None,
        reporter: MakeReporter | None = None,
    ) -> Running:
        folder = directory or linked_station(tmp_path / "station", broker.port, accept)
        clock = FakeClock(datetime.now(HANOI) + offset)
        sink = FastSink(clock, hold=threading.Event() if hold else None)
        daemon = Daemon(folder, now=clock, output=lambda _station: sink)
        daemon.start()
        settings = load_station(folder).province
        assert settings is not None
        link = StationLink(settings, daemon, reporter=reporter)
        before = link.inbox.connections()
        link.start()
        running = Running(folder, daemon, link, sink, clock)
        started.append(running)
        # Until the broker has its subscriptions, not only its connection: a message sent
        # before would reach no one. It says it is online after it subscribed, and a broker
        # takes one client's packets in order.
        province.online(before + 1)
        return running

    yield start
    for running in started:
        running.stop()


def landed(directory: Path) -> dict[str, Landed]:
    inbox = Inbox.for_station(directory)
    try:
        return inbox.landed()
    finally:
        inbox.close()


# Campaigns ----------------------------------------------------------------------------------------


def test_a_campaign_lands_as_files_that_loa_next_shows(
    start_station: Start, province: Province, run_loa: RunLoa
) -> None:
    station = start_station()
    province.campaign(campaign())
    province.desired(1, bao_lu=1)
    ack = province.ack("bao-lu", "received")
    assert ack.version == 1
    schedule = station.directory / "schedules" / "tinh-bao-lu.yaml"
    announcement = station.directory / "announcements" / "tinh-bao-lu.yaml"
    assert schedule.read_text().startswith("# loa-province id=bao-lu version=1 sha256=")
    assert "Nước sông lên cao" in announcement.read_text()
    wait_for(lambda: "tinh-bao-lu" in station.entry_ids())
    shown = run_loa("--station", str(station.directory), "next", "--days", "2", "--json")
    assert shown.returncode == 0, shown.stderr
    assert "tinh-bao-lu" in shown.stdout and "06:30" in shown.stdout, shown.stdout


def test_a_campaign_sent_to_a_group_lands_and_one_for_another_group_does_not(
    start_station: Start, province: Province
) -> None:
    station = start_station()
    ours, theirs = topics.group(GROUP), topics.group("vung-nui")
    province.campaign(campaign("lu-nhom"), ours)
    province.desired(3, ours, lu_nhom=1)
    province.campaign(campaign("nui-nhom"), theirs)
    province.desired(3, theirs, nui_nhom=1)
    province.campaign(campaign("ca-tinh"), topics.EVERYONE)
    province.desired(1, topics.EVERYONE, ca_tinh=1)
    province.ack("ca-tinh", "received")
    province.ack("lu-nhom", "received")
    assert not (station.directory / "schedules" / "tinh-nui-nhom.yaml").exists()
    assert province.states("nui-nhom") == []


def test_a_campaign_dropped_from_the_desired_state_leaves_the_air(
    start_station: Start, province: Province
) -> None:
    station = start_station()
    province.campaign(campaign())
    province.desired(1, bao_lu=1)
    province.ack("bao-lu", "received")
    wait_for(lambda: "tinh-bao-lu" in station.entry_ids())
    province.desired(2)
    assert province.ack("bao-lu", "cancelled").version == 1
    assert not list((station.directory / "schedules").iterdir())
    assert not (station.directory / "announcements" / "tinh-bao-lu.yaml").exists()
    wait_for(lambda: "tinh-bao-lu" not in station.entry_ids())
    province.desired(1, bao_lu=1)  # an older desired state, delivered late: ignored
    time.sleep(0.5)
    assert not (station.directory / "schedules" / "tinh-bao-lu.yaml").exists()


def test_a_new_version_replaces_the_files(start_station: Start, province: Province) -> None:
    station = start_station()
    province.campaign(campaign())
    province.desired(1, bao_lu=1)
    province.ack("bao-lu", "received")
    province.campaign(campaign(version=2, text="Nước đã rút.", times=["07:00"]))
    province.desired(2, bao_lu=2)
    wait_for(lambda: [a.version for a in province.acks if a.state == "received"] == [1, 2])
    text = (station.directory / "schedules" / "tinh-bao-lu.yaml").read_text()
    assert "version=2" in text and "07:00" in text and "06:30" not in text
    assert "Nước đã rút." in (station.directory / "announcements" / "tinh-bao-lu.yaml").read_text()


def test_a_recording_campaign_lands_as_the_provinces_audio(
    start_station: Start, province: Province
) -> None:
    station = start_station()
    audio = (DATA / "xin-chao.mp3").read_bytes()
    sent = Campaign(
        id="ghi-am",
        version=1,
        priority=Priority.PRIORITY,
        content=Content(title="Ghi âm", recording=audio, suffix=".mp3"),
        schedule={"times": ["08:00"], "days": ["T2-T6"]},
        sent=utc_now_iso(),
    )
    province.campaign(sent)
    province.desired(1, ghi_am=1)
    province.ack("ghi-am", "received")
    assert (station.directory / "announcements" / "tinh-ghi-am.mp3").read_bytes() == audio
    wait_for(lambda: "tinh-ghi-am" in station.entry_ids())


def test_in_approve_mode_a_campaign_is_a_draft_loa_approve_keeps(
    start_station: Start, province: Province, run_loa: RunLoa, caplog: pytest.LogCaptureFixture
) -> None:
    station = start_station(accept="approve")
    schedule = station.directory / "schedules" / "tinh-bao-lu.yaml"
    province.campaign(campaign())
    province.campaign(campaign("uu-tien", priority=Priority.PRIORITY))
    province.desired(1, bao_lu=1, uu_tien=1)
    province.ack("bao-lu", "received")
    province.ack("uu-tien", "received")
    assert "status: draft" in schedule.read_text()
    assert "status: approved" in (schedule.parent / "tinh-uu-tien.yaml").read_text()
    approved = run_loa(
        "--station", str(station.directory), "--lang", "en", "approve", "tinh-bao-lu", "--by", "An"
    )
    assert approved.returncode == 0, approved.stderr
    station.daemon.reload(force=True)  # as the watcher would: the link checks after a reload
    wait_for(
        lambda: "loa-province" in schedule.read_text() and "approved_by: An" in schedule.read_text()
    )
    # the announcement edited by hand is written back; the approval stays
    announcement = station.directory / "announcements" / "tinh-bao-lu.yaml"
    announcement.write_text(announcement.read_text().replace("lên cao", "xuống thấp"))
    station.daemon.reload(force=True)
    wait_for(lambda: "lên cao" in announcement.read_text())
    assert "status: approved" in schedule.read_text() and "approved_by: An" in schedule.read_text()
    # a new version needs approving again
    province.campaign(campaign(version=2))
    province.desired(2, bao_lu=2, uu_tien=1)
    wait_for(lambda: "version=2" in schedule.read_text())
    assert "status: draft" in schedule.read_text() and "approved_by" not in schedule.read_text()


def test_a_province_entry_is_not_edited_or_removed_here(
    start_station: Start, province: Province, run_loa: RunLoa
) -> None:
    station = start_station()
    province.campaign(campaign())
    province.desired(1, bao_lu=1)
    province.ack("bao-lu", "received")
    before = (station.directory / "schedules" / "tinh-bao-lu.yaml").read_text()
    for command in (("schedule", "remove"), ("schedule", "disable")):
        refused = run_loa(
            "--station", str(station.directory), "--lang", "en", *command, "tinh-bao-lu"
        )
        assert refused.returncode != 0
        assert "bulletin of the province" in refused.stderr and "Traceback" not in refused.stderr
    assert (station.directory / "schedules" / "tinh-bao-lu.yaml").read_text() == before


def test_a_hand_edit_of_a_province_file_is_undone(
    start_station: Start, province: Province, caplog: pytest.LogCaptureFixture
) -> None:
    station = start_station()
    province.campaign(campaign())
    province.desired(1, bao_lu=1)
    province.ack("bao-lu", "received")
    schedule = station.directory / "schedules" / "tinh-bao-lu.yaml"
    original = schedule.read_text()
    with caplog.at_level(logging.WARNING, logger="loa"):
        schedule.write_text(original.replace("06:30", "03:00"))
        station.daemon.reload(force=True)
        wait_for(lambda: schedule.read_text() == original)
        wait_for(lambda: "edited by hand" in caplog.text)
    schedule.unlink()
    station.daemon.reload(force=True)
    wait_for(lambda: schedule.exists() and schedule.read_text() == original)


@pytest.mark.parametrize(
    ("sent", "reason"),
    [
        (campaign(times=["25:99"]), "25:99"),
        (campaign(times=["06:30"], every="never"), "every"),
        (
            Campaign(
                id="hong",
                version=1,
                priority=Priority.NORMAL,
                content=Content(recording=(DATA / "not-audio.mp3").read_bytes(), suffix=".mp3"),
                schedule={"times": ["06:30"]},
                sent=utc_now_iso(),
            ),
            "",
        ),
    ],
    ids=["bad-time", "bad-field-value", "audio-that-does-not-decode"],
)
def test_a_refused_campaign_writes_nothing_and_says_why(
    start_station: Start, province: Province, sent: Campaign, reason: str
) -> None:
    station = start_station()
    province.campaign(sent)
    province.desired(1, **{sent.id.replace("-", "_"): 1})
    ack = province.ack(sent.id, "refused")
    assert ack.detail and reason in ack.detail
    assert "province-check" not in ack.detail
    assert not list((station.directory / "schedules").iterdir())
    assert not [p for p in (station.directory / "announcements").iterdir() if "tinh" in p.name]
    assert not (station.directory / CHECK_DIR).exists()
    assert station.daemon.reload_error is None


def test_ids_that_are_not_names_are_dropped_and_nothing_is_written(
    start_station: Start, province: Province, caplog: pytest.LogCaptureFixture
) -> None:
    station = start_station()
    with caplog.at_level(logging.WARNING, logger="loa"):
        bad = encode(campaign("..-x")).replace(b'"..-x"', b'"../x"')
        province.send(OWN.campaign("x"), bad, retain=True)
        province.send(OWN.desired, b'{"kind":"desired","v":1,"version":1,"campaigns":{"../x":1}}')
        province.send(OWN.cmd, encode(emergency("a-b")).replace(b'"a-b"', b'"a/b"'))
        wait_for(lambda: caplog.text.count("dropped a message") >= 3)
    assert not list((station.directory / "schedules").iterdir())
    assert not [p for p in (station.directory / "announcements").iterdir() if "tinh" in p.name]
    assert station.emergencies() == []


# Emergencies --------------------------------------------------------------------------------------


def test_an_emergency_airs_at_once_and_a_duplicate_does_not_air_again(
    start_station: Start, province: Province
) -> None:
    station = start_station()
    sent = emergency()
    province.emergency(sent)
    province.ack("khan-1", "received")
    wait_for(lambda: [row.result for row in station.emergencies()] == ["played"])
    province.emergency(sent)  # QoS 1 delivers twice at times; the province may resend
    province.emergency(sent, target=topics.EVERYONE)
    time.sleep(1.0)
    assert len(station.emergencies()) == 1
    [row] = station.emergencies()
    assert row.announcement == "Bão số ba sắp đổ bộ." and row.priority == "emergency"
    inbox = Inbox.for_station(station.directory)
    assert inbox.emergency_state("khan-1") == ("aired", "")
    inbox.close()


def test_an_emergency_recording_airs_and_then_leaves_the_folder(
    start_station: Start, province: Province
) -> None:
    station = start_station()
    province.emergency(emergency("khan-am", recording=(DATA / "xin-chao.mp3").read_bytes()))
    wait_for(lambda: [row.result for row in station.emergencies()] == ["played"])
    assert station.emergencies()[0].announcement == "tinh-khan-am.mp3"
    wait_for(lambda: not (station.directory / "announcements" / "tinh-khan-am.mp3").exists())


def test_an_emergency_that_does_not_decode_is_refused_and_said_so(
    start_station: Start, province: Province
) -> None:
    station = start_station()
    province.emergency(emergency("khan-hong", recording=(DATA / "not-audio.mp3").read_bytes()))
    assert province.ack("khan-hong", "refused").detail
    assert station.emergencies() == []


def test_an_emergency_text_the_station_cannot_say_is_refused_and_the_link_goes_on(
    start_station: Start, province: Province
) -> None:
    """The wire allows longer texts than a station says, and text of invisible characters only:
    kept, refused with the station's reason, acknowledged — not a message resent for ever."""
    station = start_station()
    province.emergency(emergency("khan-dai", text="Mưa lớn. " * 700))
    assert "5000" in province.ack("khan-dai", "refused").detail
    province.emergency(emergency("khan-an", text="\u200b\u200b"))
    assert province.ack("khan-an", "refused").detail
    province.emergency(emergency("khan-sau"))
    wait_for(lambda: [row.result for row in station.emergencies()] == ["played"])
    inbox = Inbox.for_station(station.directory)
    assert inbox.emergency_state("khan-dai")[0] == "refused"  # type: ignore[index]
    inbox.close()


@pytest.mark.parametrize("offset", [timedelta(minutes=10), timedelta(minutes=-10)])
def test_the_brokers_expiry_rules_whatever_the_station_clock(
    start_station: Start, province: Province, offset: timedelta
) -> None:
    station = start_station(offset=offset)
    province.emergency(emergency("khan-gio", expires_s=300), expiry=300)
    wait_for(lambda: [row.result for row in station.emergencies()] == ["played"])
    province.ack("khan-gio", "received")  # told after the hand-over: it may come after the play
    assert province.states("khan-gio") == ["received"]


def test_an_emergency_past_its_time_never_airs(start_station: Start, province: Province) -> None:
    """Without the broker's expiry (another broker), `sent` + `expires_s` on the station clock."""
    station = start_station()
    late = emergency("khan-cu", sent=datetime.now(UTC) - timedelta(minutes=10), expires_s=60)
    province.emergency(late, expiry=None)
    province.ack("khan-cu", "expired")
    province.emergency(emergency("khan-moi"), expiry=None)
    wait_for(lambda: len(station.emergencies()) == 2)
    time.sleep(0.5)
    rows = {row.entry_id: row for row in station.emergencies()}
    assert rows["tinh-khan-cu"].result == "expired" and rows["tinh-khan-cu"].started is None
    aired = [row.announcement for row in station.emergencies() if row.result != "expired"]
    assert aired == ["Bão số ba sắp đổ bộ."]
    inbox = Inbox.for_station(station.directory)
    assert inbox.emergency_state("khan-cu") == ("expired", "")
    inbox.close()


def test_stop_emergency_takes_it_off_the_air(start_station: Start, province: Province) -> None:
    station = start_station(hold=True)
    province.emergency(emergency())
    assert station.sink.started.wait(WAIT_S)
    province.send(OWN.cmd, StopEmergency("khan-1"))
    province.ack("khan-1", "cancelled")
    wait_for(lambda: [row.result for row in station.emergencies()] == ["interrupted"])
    province.emergency(emergency())  # a late duplicate
    time.sleep(0.5)
    assert len(station.emergencies()) == 1


def test_a_stop_before_its_emergency_keeps_it_off_the_air(
    start_station: Start, province: Province
) -> None:
    station = start_station()
    province.send(OWN.cmd, StopEmergency("khan-2"))
    province.emergency(emergency("khan-2"))
    province.ack("khan-2", "cancelled")
    province.emergency(emergency("khan-3", text="Tin khác."))
    wait_for(lambda: len(station.emergencies()) == 1)
    assert station.emergencies()[0].announcement == "Tin khác."


def test_malformed_oversized_and_unknown_messages_are_dropped_and_the_station_lives(
    start_station: Start, province: Province, caplog: pytest.LogCaptureFixture
) -> None:
    station = start_station()
    with caplog.at_level(logging.WARNING, logger="loa"):
        province.send(OWN.cmd, b"\xff\xfe not json")
        province.send(OWN.cmd, b'{"kind":"launch","v":1}')
        province.send(OWN.cmd, b'{"kind":"stop","v":2,"id":"x"}')
        province.send(OWN.cmd, b"[" * 12_000_000)
        province.send(OWN.cmd, encode(campaign()))  # a campaign has no business on cmd
        province.send(OWN.desired, encode(emergency()), retain=True)
        province.send(OWN.campaign("khac"), encode(campaign()), retain=True)  # id ≠ topic
        wait_for(lambda: caplog.text.count("dropped a message") >= 7)
    province.emergency(emergency("van-song"))
    wait_for(lambda: len(station.emergencies()) == 1)
    assert station.link.connected


def test_emergencies_a_crash_left_committed_air_after_a_restart_only_within_their_time(
    tmp_path: Path, broker: Mosquitto, start_station: Start, province: Province
) -> None:
    """Committed and acknowledged, then the station died before the player had them: the
    deadline is counted on the station's clock from the moment they arrived."""
    directory = linked_station(tmp_path / "station", broker.port)
    inbox = Inbox.for_station(directory)
    now = datetime.now(HANOI)
    waiting = emergency("con-han", text="Còn hạn.")
    late = emergency("qua-han", text="Quá hạn.")
    inbox.add_emergency(waiting, encode(waiting), now - timedelta(seconds=20), 300, "received")
    inbox.add_emergency(late, encode(late), now - timedelta(seconds=20), 15, "received")
    inbox.close()
    station = start_station(directory=directory)
    province.ack("qua-han", "expired")
    wait_for(lambda: sorted(row.result for row in station.emergencies()) == ["expired", "played"])
    results = {row.announcement: row.result for row in station.emergencies()}
    assert results == {"Còn hạn.": "played", "Khẩn": "expired"}
    station.stop()
    again = start_station(directory=directory)  # a second start hands over nothing again
    time.sleep(1.0)
    assert len(again.emergencies()) == 2


def test_an_emergency_killed_on_the_air_is_not_aired_again_one_handed_unheard_is(
    tmp_path: Path, broker: Mosquitto, start_station: Start, province: Province
) -> None:
    """Loa killed between an emergency's first sound and the link's note of it: the as-run log
    has it (interrupted at the next start), so it does not air twice; one handed over but
    never heard airs."""
    directory = linked_station(tmp_path / "station", broker.port)
    now = datetime.now(HANOI)
    heard = emergency("da-nghe", text="Đã nghe một phần.")
    unheard = emergency("chua-nghe", text="Chưa ai nghe.")
    inbox = Inbox.for_station(directory)
    for message in (heard, unheard):
        inbox.add_emergency(message, encode(message), now - timedelta(seconds=5), 300, "received")
        inbox.set_emergency(message.id, "handed", announcement=message.content.text)
    inbox.close()
    log = AsRunLog.for_station(directory)
    log.begin(Occurrence("say", now - timedelta(seconds=3), "Đã nghe một phần.", "emergency"), now)
    log.close()
    station = start_station(directory=directory)
    wait_for(lambda: [row.result for row in station.emergencies()] == ["interrupted", "played"])
    time.sleep(1.0)
    aired = [(row.announcement, row.result) for row in station.emergencies()]
    assert aired == [("Đã nghe một phần.", "interrupted"), ("Chưa ai nghe.", "played")]
    inbox = Inbox.for_station(directory)
    assert inbox.emergency_state("da-nghe") == ("aired", "")
    inbox.close()


class RecordingReporter(Listener):
    """A reporter as province/reports.py builds it, keeping what the link told it."""

    def __init__(self, station_id: str, db: Path, publish: Publish, station: LinkedStation) -> None:
        self.station_id, self.db, self.publish, self.station = station_id, db, publish, station
        self.calls: list[tuple[str, object]] = []
        self.sent: list[int | None] = []

    def connected(self, connection: int) -> None:
        self.calls.append(("connected", connection))
        presence = encode(Presence(True, connection, utc_now_iso()))
        self.sent.append(self.publish(topics.state(self.station_id), presence, 1, True))

    def published(self, mid: int) -> None:
        self.calls.append(("published", mid))

    def beat(self) -> None:
        self.calls.append(("beat", None))

    def closing(self) -> None:
        self.calls.append(("closing", None))

    def occurrence_finished(self, occurrence: Occurrence, result: Result, error: str) -> None:
        self.calls.append(("finished", occurrence.announcement))


def test_the_reporter_hears_the_connection_its_publishes_and_the_air(
    start_station: Start, province: Province
) -> None:
    made: list[RecordingReporter] = []

    def make(station_id: str, db: Path, publish: Publish, station: LinkedStation) -> Reporting:
        made.append(RecordingReporter(station_id, db, publish, station))
        return made[-1]

    station = start_station(reporter=make)
    [reporter] = made
    assert (reporter.station_id, reporter.db) == (STATION_ID, station.directory / "province.db")
    province.online(1)
    wait_for(lambda: ("published", reporter.sent[0]) in reporter.calls)
    assert reporter.calls[0] == ("connected", 1)
    province.emergency(emergency())
    wait_for(lambda: ("finished", "Bão số ba sắp đổ bộ.") in reporter.calls)
    station.stop()
    assert reporter.calls[-1] == ("closing", None)
    assert reporter.publish(topics.state(STATION_ID), b"", 1, True) is None, "not connected"


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A province CA and the broker's certificate for localhost, made with openssl."""
    folder.mkdir(parents=True, exist_ok=True)

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=tinh-ca",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    )
    openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "broker.key",
        "-out",
        "broker.csr",
    )
    (folder / "san.ext").write_text("subjectAltName=DNS:localhost\n")
    openssl(
        "x509",
        "-req",
        "-in",
        "broker.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "san.ext",
        "-out",
        "broker.pem",
    )
    return folder / "ca.pem", folder / "broker.pem", folder / "broker.key"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make certificates")
def test_mqtts_with_the_provinces_ca_and_a_clear_line_with_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("LOA_EDGE_ENDPOINT", CLOSED_EDGE_ENDPOINT)
    ca, certificate, key = make_certificates(tmp_path / "pki")
    port = free_port()
    conf = broker_conf(tmp_path / "broker", port)
    conf.write_text(conf.read_text() + f"cafile {ca}\ncertfile {certificate}\nkeyfile {key}\n")
    mosquitto = Mosquitto(conf, port).start()
    directory = linked_station(tmp_path / "station", port)
    settings = (directory / "station.yaml").read_text()
    settings = settings.replace(f"mqtt://127.0.0.1:{port}", f"mqtts://localhost:{port}")
    shutil.copy(ca, directory / "province-ca.pem")
    (directory / "station.yaml").write_text(settings + "  ca: province-ca.pem\n")
    other, _, _ = make_certificates(tmp_path / "other-pki")
    daemon = Daemon(directory, output=lambda _station: None)
    daemon.start()
    try:
        province = load_station(directory).province
        assert province is not None and province.tls
        link = StationLink(province, daemon)
        link.start()
        wait_for(lambda: link.connected)
        link.stop()
        shutil.copy(other, directory / "province-ca.pem")
        with caplog.at_level(logging.ERROR, logger="loa"):
            untrusted = StationLink(load_station(directory).province or province, daemon)
            untrusted.start()
            wait_for(lambda: "certificate is not trusted" in caplog.text)
            assert f"mqtts://localhost:{port}" in caplog.text and "ca:" in caplog.text
            assert not untrusted.connected
            untrusted.stop()
    finally:
        daemon.shutdown()
        mosquitto.stop()
