"""The province side against a real Mosquitto started from the configuration `loa province
broker-config` writes: accounts, the ACL, TLS, campaigns, emergencies, cancelling, and the
collector's view of what stations report. Stations are raw paho clients here."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from paho.mqtt.client import Client, ConnectFlags, MQTTMessage
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from broadcaster.errors import ExitCode
from broadcaster.province import messages, topics
from broadcaster.province.messages import AsRun, Heartbeat, Presence, encode
from tests.conftest import ROOT, RunLoa
from tests.mosquitto import Mosquitto, free_port

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


@dataclass
class StationClient:
    """A station as the broker sees it: its own account, raw paho."""

    client: Client
    received: list[MQTTMessage] = field(default_factory=list)
    acks: dict[int, ReasonCode] = field(default_factory=dict)
    connected: threading.Event = field(default_factory=threading.Event)
    refused: ReasonCode | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def subscribe(self, *patterns: str) -> None:
        done = threading.Event()
        self.client.on_subscribe = lambda *args: done.set()
        self.client.subscribe([(p, 1) for p in patterns])
        assert done.wait(5)

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> ReasonCode:
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        deadline = time.monotonic() + 5
        while info.mid not in self.acks and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.acks[info.mid]

    def messages_on(self, topic: str) -> list[MQTTMessage]:
        with self.lock:
            return [m for m in self.received if m.topic == topic]

    def wait_for(self, topic: str, count: int = 1, timeout: float = 5) -> list[MQTTMessage]:
        deadline = time.monotonic() + timeout
        while len(self.messages_on(topic)) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.messages_on(topic)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def connect_station(
    port: int, user: str, password: str, ca: Path | None = None, wait: bool = True
) -> StationClient:
    client = Client(
        CallbackAPIVersion.VERSION2, client_id=user, protocol=MQTTProtocolVersion.MQTTv5
    )
    client.username_pw_set(user, password)
    if ca is not None:
        client.tls_set(ca_certs=str(ca))
    station = StationClient(client)

    def on_connect(
        c: Client, u: object, flags: ConnectFlags, reason: ReasonCode, props: object
    ) -> None:
        if reason.is_failure:
            station.refused = reason
            c.disconnect()
        station.connected.set()

    def on_message(c: Client, u: object, message: MQTTMessage) -> None:
        with station.lock:
            station.received.append(message)

    def on_publish(c: Client, u: object, mid: int, reason: ReasonCode, props: object) -> None:
        station.acks[mid] = reason

    client.on_connect = on_connect
    client.on_message = on_message
    client.on_publish = on_publish
    client.connect("127.0.0.1", port)
    client.loop_start()
    if wait:
        assert station.connected.wait(5)
    return station


@dataclass
class ProvinceRig:
    directory: Path
    port: int
    broker: Mosquitto
    passwords: dict[str, str]
    run: RunLoa
    env: dict[str, str]
    stations: list[StationClient] = field(default_factory=list)

    def loa(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run("--lang", "en", "province", *args, env=self.env)

    def station(self, station_id: str) -> StationClient:
        client = connect_station(self.port, station_id, self.passwords[station_id])
        assert client.refused is None, client.refused
        self.stations.append(client)
        return client


def add_station(run: RunLoa, env: dict[str, str], station_id: str, *groups: str) -> str:
    args = [f"--group={g}" for g in groups]
    result = run("--lang", "en", "province", "station", "add", station_id, *args, env=env)
    assert result.returncode == 0, result.stderr
    found = re.search(r'password: "([^"]+)"', result.stdout)
    assert found, result.stdout
    return found[1]


def make_province(
    tmp_path: Path, run: RunLoa, broker_url: str, extra_init: tuple[str, ...] = ()
) -> tuple[Path, dict[str, str], dict[str, str]]:
    directory = tmp_path / "tinh"
    init = run(
        "--lang", "en", "province", "init", str(directory), "--broker", broker_url, *extra_init
    )
    assert init.returncode == 0, init.stderr
    env = {"LOA_PROVINCE": str(directory)}
    passwords = {
        "xa-an-binh": add_station(run, env, "xa-an-binh", "ven-bien"),
        "xa-binh-minh": add_station(run, env, "xa-binh-minh", "ven-bien", "vung-lu"),
        "xa-cao-son": add_station(run, env, "xa-cao-son", "vung-lu"),
    }
    return directory, env, passwords


@pytest.fixture
def rig(tmp_path: Path, run_loa: RunLoa) -> Iterator[ProvinceRig]:
    port = free_port()
    directory, env, passwords = make_province(tmp_path, run_loa, f"mqtt://127.0.0.1:{port}")
    config = run_loa("--lang", "en", "province", "broker-config", "--user", "root", env=env)
    assert config.returncode == 0, config.stderr
    broker = Mosquitto(directory / "broker" / "mosquitto.conf", port).start()
    made = ProvinceRig(directory, port, broker, passwords, run_loa, env)
    try:
        yield made
    finally:
        for client in made.stations:
            client.close()
        broker.stop()


def assert_clean_error(result: subprocess.CompletedProcess[str], code: int) -> None:
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("Error: ")


# Accounts and the broker's files ------------------------------------------------------------


def test_init_add_list_remove(tmp_path: Path, run_loa: RunLoa) -> None:
    directory, env, passwords = make_province(tmp_path, run_loa, "mqtt://10.0.0.5")
    text = (directory / "province.yaml").read_text()
    assert "broker: mqtt://10.0.0.5:1883" in text
    assert all(password not in text for password in passwords.values())
    assert "$7$101$" in text
    assert (directory / "secrets.yaml").stat().st_mode & 0o777 == 0o600
    listed = run_loa("--lang", "en", "province", "station", "list", env=env)
    assert "xa-binh-minh" in listed.stdout and "ven-bien, vung-lu" in listed.stdout
    assert "3 stations; groups: ven-bien, vung-lu" in listed.stdout
    again = run_loa("--lang", "en", "province", "station", "add", "xa-an-binh", env=env)
    assert_clean_error(again, ExitCode.STATION_CONFIG)
    for bad in ("Xã-An", "a/b", "province", "all", "x-"):
        refused = run_loa("--lang", "en", "province", "station", "add", bad, env=env)
        assert_clean_error(refused, ExitCode.STATION_CONFIG)
    removed = run_loa("--lang", "en", "province", "station", "remove", "xa-cao-son", env=env)
    assert removed.returncode == 0 and "broker-config" in removed.stdout
    assert "xa-cao-son" not in (directory / "province.yaml").read_text()
    unknown = run_loa("--lang", "en", "province", "station", "remove", "xa-cao-son", env=env)
    assert_clean_error(unknown, ExitCode.USAGE)
    assert "xa-an-binh, xa-binh-minh" in unknown.stderr
    elsewhere = run_loa(
        "--lang", "en", "province", "station", "list", env={"LOA_PROVINCE": str(tmp_path)}
    )
    assert_clean_error(elsewhere, ExitCode.STATION_NOT_FOUND)
    assert "loa province init" in elsewhere.stderr


def test_the_broker_takes_the_files_and_refuses_a_wrong_password(rig: ProvinceRig) -> None:
    rig.station("xa-an-binh")
    wrong = connect_station(rig.port, "xa-an-binh", "not-the-password")
    # Mosquitto 2.0.11 answers "Not authorized" (later versions: "Bad user name or password")
    assert wrong.refused is not None and wrong.refused.is_failure
    wrong.close()
    other = connect_station(rig.port, "xa-cao-son", rig.passwords["xa-an-binh"])
    assert other.refused is not None
    other.close()
    secrets_file = rig.directory / "secrets.yaml"
    secrets_file.write_text(
        re.sub(r'province-send: ".*"', 'province-send: "wrong"', secrets_file.read_text())
    )
    refused = rig.loa("emergency", "Thử", "--to", "all")
    assert_clean_error(refused, ExitCode.DAEMON)
    assert "refused the account 'province-send'" in refused.stderr
    assert f"127.0.0.1:{rig.port}" in refused.stderr


def test_a_station_reads_and_writes_only_its_own_topics(rig: ProvinceRig) -> None:
    collector = connect_station(rig.port, "province", read_secret(rig.directory, "province"))
    collector.subscribe(*topics.FROM_STATIONS)
    an_binh = rig.station("xa-an-binh")
    an_binh.subscribe("loa/v1/#")
    row = encode(AsRun("e1", "2026-11-30T06:30:00+07:00", "a", "normal", None, None, "played"))
    # its own report goes through; another station's, or any command, is refused and dropped
    assert not an_binh.publish(topics.asrun("xa-an-binh"), row).is_failure
    for topic in (
        topics.asrun("xa-cao-son"),
        topics.station("xa-an-binh").cmd,
        topics.EVERYONE.cmd,
        topics.group("ven-bien").desired,
        topics.station("xa-cao-son").campaign("x"),
    ):
        assert an_binh.publish(topic, row).getName() == "Not authorized", topic
    assert len(collector.wait_for(topics.asrun("xa-an-binh"))) == 1
    time.sleep(0.5)
    assert [m.topic for m in collector.received] == [topics.asrun("xa-an-binh")]
    # it hears its own group, not another one
    emergency = rig.loa("emergency", "Lũ về", "--to", "vung-lu,ven-bien", "--id", "kc-1")
    assert emergency.returncode == 0, emergency.stderr
    assert len(an_binh.wait_for(topics.group("ven-bien").cmd)) == 1
    time.sleep(0.5)
    assert an_binh.messages_on(topics.group("vung-lu").cmd) == []
    collector.close()


def read_secret(directory: Path, account: str) -> str:
    found = re.search(rf'^{account}: "([^"]+)"', (directory / "secrets.yaml").read_text(), re.M)
    assert found
    return found[1]


def test_tls_with_the_province_ca(tmp_path: Path, run_loa: RunLoa) -> None:
    certs = tmp_path / "certs"
    certs.mkdir()
    make_certificates(certs)
    port = free_port()
    directory, env, passwords = make_province(
        tmp_path, run_loa, f"mqtts://localhost:{port}", ("--ca", str(certs / "ca.crt"))
    )
    block = run_loa("--lang", "en", "province", "station", "add", "xa-moi", env=env)
    assert "  ca: ca.crt" in block.stdout
    plain_config = run_loa("--lang", "en", "province", "broker-config", "--user", "root", env=env)
    assert_clean_error(plain_config, ExitCode.STATION_CONFIG)
    assert "--cert" in plain_config.stderr
    config = run_loa(
        "--lang",
        "en",
        "province",
        "broker-config",
        "--user",
        "root",
        "--cert",
        str(certs / "server.crt"),
        "--key",
        str(certs / "server.key"),
        "--cafile",
        str(certs / "ca.crt"),
        env=env,
    )
    assert config.returncode == 0, config.stderr
    broker = Mosquitto(directory / "broker" / "mosquitto.conf", port).start()
    try:
        secure = connect_station(port, "xa-an-binh", passwords["xa-an-binh"], certs / "ca.crt")
        assert secure.refused is None
        secure.subscribe(topics.group("ven-bien").cmd)
        sent = run_loa(
            "--lang", "en", "province", "emergency", "Thử TLS", "--to", "ven-bien", env=env
        )
        assert sent.returncode == 0, sent.stderr
        assert len(secure.wait_for(topics.group("ven-bien").cmd)) == 1
        secure.close()
        plain = connect_station(port, "xa-an-binh", passwords["xa-an-binh"], wait=False)
        assert not plain.connected.wait(2) or plain.refused is not None
        plain.close()
    finally:
        broker.stop()


def make_certificates(folder: Path) -> None:
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
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-subj",
        "/CN=Loa test CA",
    )
    openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    )
    (folder / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-extfile",
        "san.ext",
    )


# Campaigns, emergencies, cancelling ---------------------------------------------------------


def test_a_campaign_lands_retained_with_its_desired_document(
    rig: ProvinceRig, tmp_path: Path
) -> None:
    bulletin = tmp_path / "Tiêm chủng đợt 2.txt"
    bulletin.write_text("Kính thưa bà con, xã tổ chức tiêm chủng.", encoding="utf-8")
    sent = rig.loa(
        "send", str(bulletin), "--to", "ven-bien", "--times", "06:30,17h", "--days", "T2-T6"
    )
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout.strip() == "tiem-chung-dot-2"
    again = rig.loa(
        "send", str(bulletin), "--to", "ven-bien", "--times", "07:00", "--priority", "priority"
    )
    assert again.returncode == 0, again.stderr
    # a station that connects later gets what is retained: the content and the desired state
    binh_minh = rig.station("xa-binh-minh")
    group = topics.group("ven-bien")
    binh_minh.subscribe(
        *(f"{t.prefix}/#" for t in topics.targets_of("xa-binh-minh", ("ven-bien", "vung-lu")))
    )
    content = binh_minh.wait_for(group.campaign("tiem-chung-dot-2"))
    desired = binh_minh.wait_for(group.desired)
    assert content[0].retain and desired[0].retain
    campaign = messages.decode(content[0].payload)
    assert isinstance(campaign, messages.Campaign)
    assert (campaign.version, campaign.priority, campaign.schedule) == (
        2,
        "priority",
        {"times": ["07:00"]},
    )
    assert campaign.content.text == "Kính thưa bà con, xã tổ chức tiêm chủng."
    assert messages.decode(desired[0].payload) == messages.Desired(2, {"tiem-chung-dot-2": 2})
    cao_son = rig.station("xa-cao-son")
    cao_son.subscribe("loa/v1/#")
    time.sleep(0.5)
    assert all("ven-bien" not in m.topic for m in cao_son.received)


def test_an_emergency_expires_at_the_broker(rig: ProvinceRig) -> None:
    an_binh = rig.station("xa-an-binh")
    an_binh.subscribe(topics.EVERYONE.cmd)
    sent = rig.loa(
        "emergency", "Bão số 3 đổ bộ, bà con vào nơi trú ẩn.", "--to", "all", "--expires", "10m"
    )
    assert sent.returncode == 0, sent.stderr
    [message] = an_binh.wait_for(topics.EVERYONE.cmd)
    assert not message.retain
    properties: Properties = message.properties
    assert 590 <= properties.MessageExpiryInterval <= 600
    emergency = messages.decode(message.payload)
    assert isinstance(emergency, messages.Emergency)
    assert emergency.expires_s == 600 and emergency.id == sent.stdout.strip()
    bad = rig.loa("emergency", "x", "--to", "all", "--expires", "2d")
    assert bad.returncode == ExitCode.USAGE


def test_cancel_clears_a_campaign_and_stops_an_emergency(rig: ProvinceRig, tmp_path: Path) -> None:
    bulletin = tmp_path / "bao.yaml"
    bulletin.write_text("title: Bão\ntext: Bà con chằng chống nhà cửa.\n", encoding="utf-8")
    assert rig.loa("send", str(bulletin), "--to", "all", "--times", "6h").returncode == 0
    assert rig.loa("emergency", "Lũ", "--to", "xa-an-binh", "--id", "kc-lu").returncode == 0
    an_binh = rig.station("xa-an-binh")
    an_binh.subscribe(topics.station("xa-an-binh").cmd, topics.EVERYONE.desired)
    cancelled = rig.loa("cancel", "bao")
    assert cancelled.returncode == 0 and "Cancelled campaign bao" in cancelled.stdout
    stopped = rig.loa("cancel", "kc-lu")
    assert stopped.returncode == 0 and "Stopped emergency kc-lu" in stopped.stdout
    [stop] = an_binh.wait_for(topics.station("xa-an-binh").cmd)
    assert messages.decode(stop.payload) == messages.StopEmergency("kc-lu")
    desired = an_binh.wait_for(topics.EVERYONE.desired, 2)
    assert messages.decode(desired[-1].payload) == messages.Desired(2, {})
    late = rig.station("xa-binh-minh")
    late.subscribe(topics.EVERYONE.campaign("bao"))
    time.sleep(0.5)
    assert late.received == []
    unknown = rig.loa("cancel", "khong-co")
    assert_clean_error(unknown, ExitCode.USAGE)


def test_bad_campaigns_are_refused_before_anything_is_sent(
    rig: ProvinceRig, tmp_path: Path
) -> None:
    bulletin = tmp_path / "tiem-chung.txt"
    bulletin.write_text("Tiêm chủng.", encoding="utf-8")
    bad_time = rig.loa("send", str(bulletin), "--to", "all", "--times", "25:00")
    assert_clean_error(bad_time, ExitCode.SCHEDULE)
    assert re.search(r"campaign tiem-chung:\d+: '25:00' is not a time", bad_time.stderr)
    assert str(tmp_path) not in bad_time.stderr and "/tmp" not in bad_time.stderr
    bad_days = rig.loa("send", str(bulletin), "--to", "all", "--times", "6h", "--days", "T9")
    assert_clean_error(bad_days, ExitCode.SCHEDULE)
    assert "campaign tiem-chung:" in bad_days.stderr
    unknown = rig.loa("send", str(bulletin), "--to", "ven-bien,mien-nui", "--times", "6h")
    assert_clean_error(unknown, ExitCode.USAGE)
    assert "Groups: ven-bien, vung-lu" in unknown.stderr and "xa-cao-son" in unknown.stderr
    noise = tmp_path / "ghi-am.mp3"
    noise.write_bytes(b"not audio at all" * 100)
    assert_clean_error(
        rig.loa("send", str(noise), "--to", "all", "--times", "6h"), ExitCode.AUDIO_FILE
    )
    empty = tmp_path / "trong.txt"
    empty.write_text("  \n")
    assert_clean_error(
        rig.loa("send", str(empty), "--to", "all", "--times", "6h"), ExitCode.EMPTY_TEXT
    )
    with_store = rig.directory / "province.db"
    if with_store.exists():
        import sqlite3

        assert sqlite3.connect(with_store).execute("SELECT COUNT(*) FROM campaigns").fetchone() == (
            0,
        )


def test_a_recording_travels_whole(rig: ProvinceRig, tmp_path: Path) -> None:
    recording = tmp_path / "ghi-am.wav"
    shutil.copy(
        ROOT
        / "broadcaster"
        / "audio"
        / "jingles"
        / next(
            p.name
            for p in (ROOT / "broadcaster" / "audio" / "jingles").iterdir()
            if p.suffix == ".wav"
        ),
        recording,
    )
    sent = rig.loa("send", str(recording), "--to", "xa-an-binh", "--times", "18:00")
    assert sent.returncode == 0, sent.stderr
    an_binh = rig.station("xa-an-binh")
    an_binh.subscribe(topics.station("xa-an-binh").campaign("ghi-am"))
    [message] = an_binh.wait_for(topics.station("xa-an-binh").campaign("ghi-am"))
    campaign = messages.decode(message.payload)
    assert isinstance(campaign, messages.Campaign)
    assert campaign.content.recording == recording.read_bytes()


def test_an_unreachable_broker_is_named_with_the_fix(rig: ProvinceRig, tmp_path: Path) -> None:
    rig.broker.stop()
    result = rig.loa("emergency", "Thử", "--to", "all")
    assert_clean_error(result, ExitCode.DAEMON)
    assert f"Cannot reach the broker mqtt://127.0.0.1:{rig.port}" in result.stderr
    assert "systemctl status mosquitto" in result.stderr
    status = rig.loa("status")
    assert status.returncode == 0
    assert "Warning: Cannot reach the broker" in status.stderr and "never seen" in status.stdout


# What stations report -----------------------------------------------------------------------


def report_as(station: StationClient, station_id: str, rows: list[AsRun]) -> None:
    presence = Presence(True, 3, datetime.now(ZONE).isoformat(), "loa 1.4")
    assert not station.publish(topics.state(station_id), encode(presence), retain=True).is_failure
    beat = Heartbeat(
        at=(datetime.now(ZONE) + timedelta(seconds=30)).isoformat(),
        software="loa 1.4",
        connection=3,
        on_air="tinh-bao",
        queue=2,
        ready_48h=5,
        due_48h=6,
        last_asrun=None,
        errors=("the sound card is gone",),
    )
    station.client.publish(topics.heartbeat(station_id), encode(beat), qos=0, retain=True)
    for row in rows:
        assert not station.publish(topics.asrun(station_id), encode(row)).is_failure


def test_the_collector_keeps_each_as_run_row_once(rig: ProvinceRig, tmp_path: Path) -> None:
    tomorrow = datetime.now(ZONE).date() + timedelta(days=1)
    bulletin = tmp_path / "bao.txt"
    bulletin.write_text("Bà con chú ý.", encoding="utf-8")
    sent = rig.loa(
        "send",
        str(bulletin),
        "--to",
        "ven-bien",
        "--times",
        "06:30,17h",
        "--date",
        tomorrow.isoformat(),
    )
    assert sent.returncode == 0, sent.stderr
    assert rig.loa("status").returncode == 0  # the collector's session exists from now on
    scheduled = f"{tomorrow.isoformat()}T06:30:00+07:00"
    playing = AsRun(
        "tinh-bao", scheduled, "tinh-bao", "normal", scheduled, None, "playing", campaign="bao"
    )
    played = AsRun(
        "tinh-bao",
        scheduled,
        "tinh-bao",
        "normal",
        scheduled,
        f"{tomorrow.isoformat()}T06:31:00+07:00",
        "played",
        campaign="bao",
    )
    an_binh = rig.station("xa-an-binh")
    report_as(an_binh, "xa-an-binh", [playing, played, playing, played])  # redelivered, late
    status = rig.loa("status", "--json")
    assert status.returncode == 0, status.stderr
    by_station = {item["station"]: item for item in json.loads(status.stdout)}
    an_binh_state = by_station["xa-an-binh"]
    assert an_binh_state["state"] == "online" and an_binh_state["software"] == "loa 1.4"
    assert (an_binh_state["queue"], an_binh_state["ready_48h"], an_binh_state["due_48h"]) == (
        2,
        5,
        6,
    )
    assert an_binh_state["clock_offset_s"] is None  # a retained heartbeat may be old news
    assert an_binh_state["last_asrun"]["result"] == "played"
    assert an_binh_state["errors"] == ["the sound card is gone"]
    assert by_station["xa-cao-son"]["state"] == "never-seen"
    table = rig.loa("status")
    assert "never seen" in table.stdout and "the sound card is gone" in table.stdout
    log = rig.loa("log", "--csv", "--month", tomorrow.strftime("%Y-%m"))
    assert log.stdout.startswith("\ufeff")
    lines = log.stdout.strip().splitlines()
    assert len(lines) == 2 and "xa-an-binh" in lines[1] and ",bao," in lines[1]
    report = rig.loa("report", "--month", tomorrow.strftime("%Y-%m"), "--csv")
    rows = [line.split(",") for line in report.stdout.lstrip("\ufeff").strip().splitlines()]
    assert rows[0][:3] == ["Campaign", "Station", "Expected"]
    assert ["bao", "xa-an-binh", "2", "1", "0", "0", "1", "0", "0"] in rows  # no monitor: 0 heard
    assert ["bao", "xa-binh-minh", "2", "0", "0", "0", "2", "0", "0"] in rows
    text = rig.loa("report", "--month", tomorrow.strftime("%Y-%m"))
    assert "bao: aired 1 times by 1 of 2 stations: xa-an-binh (1)" in text.stdout


def test_serve_collects_while_status_reads_the_database(rig: ProvinceRig) -> None:
    env = {**os.environ, **rig.env, "PYTHONPATH": str(ROOT), "LOA_LANG": "en"}
    env.pop("LOA_STATION", None)
    serve = subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), "province", "serve"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert serve.stderr is not None
        assert "Collecting from" in serve.stderr.readline()
        second = rig.loa("serve")
        assert_clean_error(second, ExitCode.STATION_CONFIG)
        row = AsRun("sang", "2026-11-30T06:30:00+07:00", "tin-sang", "normal", None, None, "missed")
        report_as(rig.station("xa-cao-son"), "xa-cao-son", [row])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            log = rig.loa("log", "--month", "2026-11")
            if "xa-cao-son" in log.stdout:
                break
            time.sleep(0.2)
        assert "xa-cao-son" in log.stdout and "Warning" not in log.stderr
        [state] = [
            s
            for s in json.loads(rig.loa("status", "--json").stdout)
            if s["station"] == "xa-cao-son"
        ]
        assert 25 < state["clock_offset_s"] < 35  # received live: the station's clock is ahead
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(10)
    assert serve.returncode == 0
