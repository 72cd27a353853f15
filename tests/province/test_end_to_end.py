"""The whole province path, as the operator and the communes would run it: `loa province init`,
`station add` (the printed block pasted into each station.yaml), `broker-config`, a Mosquitto
started from those files, two real `loa run` stations — then a campaign, an emergency, cancel,
and what the province sees back (status, log, report). Nothing here is a raw MQTT client."""

import csv
import io
import json
import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import RunLoa
from tests.mosquitto import Mosquitto, free_port
from tests.province.test_link import linked_station
from tests.province.test_link_restart import LoaRun

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def until(condition: Callable[[], object], timeout: float = 30.0) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout} s")


class Province:
    def __init__(self, run: RunLoa, directory: Path) -> None:
        self.run = run
        self.env = {"LOA_PROVINCE": str(directory)}
        self.directory = directory

    def __call__(self, *args: str) -> str:
        result = self.run("--lang", "en", "province", *args, env=self.env)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        return result.stdout


@pytest.fixture
def network(
    tmp_path: Path, run_loa: RunLoa, loa_env: dict[str, str]
) -> Iterator[tuple[Province, dict[str, LoaRun]]]:
    port = free_port()
    init = run_loa(
        "--lang", "en", "province", "init", str(tmp_path / "tinh"),
        "--broker", f"mqtt://127.0.0.1:{port}",
    )  # fmt: skip
    assert init.returncode == 0, init.stderr
    province = Province(run_loa, tmp_path / "tinh")
    stations: dict[str, LoaRun] = {}
    for station_id, group in (("xa-an-binh", "ven-bien"), ("xa-cao-son", "vung-lu")):
        block = province("station", "add", station_id, "--group", group)
        directory = linked_station(tmp_path / station_id, port)
        settings = (directory / "station.yaml").read_text()
        settings = settings[: settings.index("\nprovince:")] + "\n" + block
        (directory / "station.yaml").write_text(settings)
        stations[station_id] = LoaRun(directory, loa_env)
    province("broker-config", "--user", "root")
    broker = Mosquitto(province.directory / "broker" / "mosquitto.conf", port).start()
    for station in stations.values():
        station.start()
    try:
        yield province, stations
    finally:
        for station in stations.values():
            station.stop()
        broker.stop()


def test_a_campaign_and_an_emergency_from_the_province_cli_to_two_real_stations(
    network: tuple[Province, dict[str, LoaRun]], run_loa: RunLoa, tmp_path: Path
) -> None:
    province, stations = network
    an_binh, cao_son = stations["xa-an-binh"], stations["xa-cao-son"]
    until(lambda: "online" in province("status"), 60)
    station_status = run_loa("--lang", "en", "--station", str(an_binh.directory), "status")
    assert "Province link to mqtt://127.0.0.1:" in station_status.stdout
    assert ": connected since " in station_status.stdout, station_status.stdout

    text = tmp_path / "tiem-chung.txt"
    text.write_text("Lịch tiêm chủng mở rộng tháng này tại trạm y tế xã.", "utf-8")
    province(
        "send", str(text), "--to", "ven-bien", "--id", "tiem-chung",
        "--times", "06:30,17h", "--days", "T2-T6",
    )  # fmt: skip
    landed = an_binh.directory / "schedules" / "tinh-tiem-chung.yaml"
    until(landed.exists)
    assert not (cao_son.directory / "schedules" / "tinh-tiem-chung.yaml").exists()
    upcoming = run_loa("--lang", "en", "--station", str(an_binh.directory), "next", "--json")
    assert "tinh-tiem-chung" in upcoming.stdout, upcoming.stdout

    started = time.monotonic()
    province("emergency", "Bão số 3 đang vào bờ, bà con di chuyển đến nơi an toàn.",
             "--to", "all", "--expires", "15m")  # fmt: skip
    for station in (an_binh, cao_son):
        until(lambda station=station: station.emergencies(), 60)
    assert time.monotonic() - started < 60

    province("cancel", "tiem-chung")
    until(lambda: not landed.exists())

    def reported() -> str:
        return province("log", "--csv") if "emergency" in province("log", "--csv") else ""

    log = str(until(reported, 90))
    assert log.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(log.lstrip("\ufeff"))))
    header = rows[0]
    station, campaign, priority = (header.index(n) for n in ("Station", "Campaign", "Priority"))
    aired = {row[station]: row[campaign] for row in rows[1:] if row[priority] == "emergency"}
    assert set(aired) == {"xa-an-binh", "xa-cao-son"}, rows
    assert all(bulletin.startswith("kc-") for bulletin in aired.values()), aired
    status = json.loads(province("status", "--json"))
    names = json.dumps(status)
    assert "xa-an-binh" in names and "xa-cao-son" in names
    month = datetime.now(ZONE).strftime("%Y-%m")
    assert re.search(r"xa-an-binh", province("report", "--month", month))
