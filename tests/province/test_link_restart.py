"""The link through what happens to real stations: `loa run` stopped and started again, killed
with -9 while a bulletin arrives, the broker restarted. Nothing lost, nothing aired twice, and
no emergency aired after its time."""

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from broadcaster.onair.asrun import AsRunLog, Row
from broadcaster.province import topics
from broadcaster.province.inbox import Inbox
from tests.conftest import ROOT
from tests.mosquitto import Mosquitto
from tests.province.test_link import (
    GROUP,
    Province,
    campaign,
    emergency,
    linked_station,
    start_broker,
    wait_for,
)

START_S = 60.0


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    mosquitto = start_broker(tmp_path / "broker")
    yield mosquitto
    mosquitto.stop()


@pytest.fixture
def province(broker: Mosquitto) -> Iterator[Province]:
    sender = Province(broker.port)
    yield sender
    sender.close()


class LoaRun:
    """`loa run` on the station, as the service runs it."""

    def __init__(self, directory: Path, env: dict[str, str]) -> None:
        self.directory = directory
        self.env = {**env, "LOA_LANG": "en"}  # the tests read its log
        self.process: subprocess.Popen[bytes] | None = None
        self.output = directory.parent / "loa-run.log"

    def start(self) -> "LoaRun":
        with self.output.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, str(ROOT / "cli.py"), "--station", str(self.directory), "run"],
                env=self.env,
                cwd=self.directory.parent,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(30)
        self.process = None

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(30)
        self.process = None

    def emergencies(self) -> list[Row]:
        log = AsRunLog.for_station(self.directory)
        try:
            return [row for row in log.rows() if row.priority == "emergency"]
        finally:
            log.close()

    def log_text(self) -> str:
        return self.output.read_text(errors="replace")


@pytest.fixture
def loa_run(tmp_path: Path, broker: Mosquitto, loa_env: dict[str, str]) -> Iterator[LoaRun]:
    station = LoaRun(linked_station(tmp_path / "station", broker.port), loa_env)
    yield station
    station.stop()


def aired(station: LoaRun) -> list[tuple[str, str]]:
    return [(row.announcement, row.result) for row in station.emergencies()]


def test_an_offline_station_gets_what_waited_for_it_and_nothing_expired(
    loa_run: LoaRun, province: Province
) -> None:
    loa_run.start()
    province.online(1, START_S)
    loa_run.stop()
    province.campaign(campaign())
    province.desired(1, bao_lu=1)
    province.emergency(emergency("con-han", text="Còn hạn."), expiry=600)
    province.emergency(emergency("het-han", text="Hết hạn."), expiry=1)
    province.emergency(emergency("nhom", text="Cho nhóm."), expiry=600, target=topics.group(GROUP))
    time.sleep(2.5)
    loa_run.start()
    province.ack("bao-lu", "received", START_S)
    wait_for(
        lambda: sorted(aired(loa_run)) == [("Cho nhóm.", "played"), ("Còn hạn.", "played")], START_S
    )
    assert (loa_run.directory / "schedules" / "tinh-bao-lu.yaml").exists()
    time.sleep(1.0)
    assert len(aired(loa_run)) == 2
    assert province.states("het-han") == []
    inbox = Inbox.for_station(loa_run.directory)
    assert inbox.emergency_state("het-han") is None, "the broker dropped it, as it must"
    inbox.close()


def test_a_graceful_broker_restart_loses_nothing_and_repeats_nothing(
    loa_run: LoaRun, province: Province, broker: Mosquitto
) -> None:
    loa_run.start()
    province.online(1, START_S)
    province.emergency(emergency("truoc", text="Trước."))
    wait_for(lambda: aired(loa_run) == [("Trước.", "played")], START_S)
    loa_run.stop()  # the station is off while the province sends
    province.emergency(emergency("trong", text="Trong lúc tắt."))
    province.campaign(campaign())
    province.desired(1, bao_lu=1)
    broker.restart()  # saves its persistence file, comes back with the station's queue
    wait_for(province.client.is_connected)
    loa_run.start()
    province.ack("bao-lu", "received", START_S)
    wait_for(lambda: len(aired(loa_run)) == 2, START_S)
    broker.restart()  # now with the station connected: it comes back by itself
    province.online(3, START_S)
    province.emergency(emergency("sau", text="Sau."))
    everything = sorted([("Trước.", "played"), ("Trong lúc tắt.", "played"), ("Sau.", "played")])
    wait_for(lambda: sorted(aired(loa_run)) == everything, START_S)
    time.sleep(1.0)
    assert sorted(aired(loa_run)) == everything
    assert province.states("bao-lu").count("received") == 1


@pytest.mark.parametrize("moment", ["at-once", "on-its-ack"])
def test_kill_9_while_receiving_airs_the_bulletin_once(
    loa_run: LoaRun, province: Province, moment: str
) -> None:
    loa_run.start()
    province.online(1, START_S)
    province.emergency(emergency("giet", text="Tin khẩn lúc tắt máy."))
    if moment == "on-its-ack":
        province.ack("giet", "received")
    loa_run.kill()
    loa_run.start()
    province.online(2, START_S)
    wait_for(lambda: aired(loa_run) and aired(loa_run)[-1][1] != "playing", START_S)
    time.sleep(2.0)
    rows = aired(loa_run)
    assert len(rows) == 1, rows
    inbox = Inbox.for_station(loa_run.directory)
    assert inbox.emergency_state("giet") is not None
    inbox.close()


def test_the_broker_unreachable_the_station_airs_on_and_says_why(
    tmp_path: Path, loa_env: dict[str, str], province: Province
) -> None:
    del province
    directory = linked_station(tmp_path / "alone", 9)  # nobody listens on port 9
    station = LoaRun(directory, loa_env).start()
    try:
        wait_for(lambda: "cannot connect to mqtt://127.0.0.1:9" in station.log_text(), START_S)
        said = subprocess.run(
            [sys.executable, str(ROOT / "cli.py"), "--station", str(directory), "say", "Vẫn phát."],
            env=loa_env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert said.returncode == 0, said.stderr
        wait_for(lambda: station_rows(directory), START_S)
    finally:
        station.stop()


def station_rows(directory: Path) -> list[Row]:
    log = AsRunLog.for_station(directory)
    try:
        return [row for row in log.rows() if row.result == "played"]
    finally:
        log.close()
