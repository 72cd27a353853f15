"""The `province:` block of station.yaml: read into settings, every mistake named at its line."""

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from broadcaster.core.settings import ProvinceSettings
from broadcaster.errors import StationConfigError
from broadcaster.province.inbox import LINK_FAILING, LINK_UP, Inbox
from broadcaster.station.station_file import load_station
from tests.conftest import ROOT, RunLoa
from tests.province.test_link import linked_station


def settings_with(folder: Path, block: str) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "station.yaml").write_text("name: Xã An Bình\n" + block, encoding="utf-8")
    return folder


def test_without_a_province_block_the_station_stands_alone(tmp_path: Path) -> None:
    assert load_station(settings_with(tmp_path, "")).province is None
    assert load_station(settings_with(tmp_path, "province:\n")).province is None


def test_the_bundled_example_is_commented_out_and_reads_when_uncommented(tmp_path: Path) -> None:
    bundled = (ROOT / "station.yaml").read_text(encoding="utf-8")
    assert "# province:" in bundled
    start = bundled.index("# province:")
    end = bundled.find("\n\n", start)  # the blocks after it (monitor:) stay commented
    block = "\n".join(line[2:] for line in bundled[start : end if end > 0 else None].splitlines())
    (tmp_path / "province-ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    province = load_station(settings_with(tmp_path, block)).province
    assert province == ProvinceSettings(
        broker="mqtts://tinh.example.vn:8883",
        host="tinh.example.vn",
        port=8883,
        tls=True,
        station_id="xa-an-binh",
        password="doi-mat-khau-nay",
        groups=("ven-bien", "vung-lu"),
        ca=tmp_path / "province-ca.pem",
        accept="auto",
    )


def test_plain_mqtt_takes_its_default_port(tmp_path: Path) -> None:
    block = "province:\n  broker: mqtt://10.0.0.5\n  id: phuong-1\n  accept: approve\n"
    province = load_station(settings_with(tmp_path, block)).province
    assert province is not None
    assert (province.host, province.port, province.tls) == ("10.0.0.5", 1883, False)
    assert (province.groups, province.password, province.ca, province.accept) == (
        (),
        None,
        None,
        "approve",
    )


@pytest.mark.parametrize(
    ("block", "line", "said"),
    [
        ("province:\n  id: xa\n", 2, "broker"),
        ("province:\n  broker: mqtt://h\n", 2, "'id:'"),
        ("province:\n  broker: http://tinh.vn\n  id: xa\n", 3, "mqtts://"),
        ("province:\n  broker: mqtt://h:70000\n  id: xa\n", 3, "65535"),
        ("province:\n  broker: mqtt://h\n  id: Xã An Bình\n", 4, "xa-an-binh"),
        ("province:\n  broker: mqtt://h\n  id: xa/b\n", 4, "xa-an-binh"),
        ("province:\n  broker: mqtt://h\n  id: xa\n  groups: ven-bien\n", 5, "[ven-bien"),
        ("province:\n  broker: mqtt://h\n  id: xa\n  groups:\n  - ok\n  - '#'\n", 7, "'#'"),
        ("province:\n  broker: mqtt://h\n  id: xa\n  ca: nowhere.pem\n", 5, "certificate"),
        ("province:\n  broker: mqtt://h\n  id: xa\n  ca: ../../etc/passwd\n", 5, "inside"),
        ("province:\n  broker: mqtt://h\n  id: xa\n  accept: yes\n", 5, "auto, approve"),
        ("province:\n  broker: mqtt://h\n  id: xa\n  password: 1234\n", 5, "text"),
        ("province:\n  broker: mqtt://h\n  id: xa\n  pasword: x\n", 5, "pasword"),
        ("province: mqtt://h\n", 2, "group of settings"),
    ],
)
def test_every_mistake_is_named_at_its_line(
    tmp_path: Path, english: None, block: str, line: int, said: str
) -> None:
    folder = settings_with(tmp_path, block)
    with pytest.raises(StationConfigError) as raised:
        load_station(folder)
    assert raised.value.message.startswith(f"{folder / 'station.yaml'}:{line}: ")
    assert said in raised.value.message


def test_loa_status_says_how_the_link_last_was(tmp_path: Path, run_loa: RunLoa) -> None:
    """From the state the link records in province.db: never connected, connected, failing."""
    directory = linked_station(tmp_path / "station", 9)

    def status() -> str:
        result = run_loa("--lang", "en", "--station", str(directory), "status")
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert "Province link to mqtt://127.0.0.1:9: not connected yet." in status()
    inbox = Inbox.for_station(directory)
    at = datetime(2026, 12, 1, 6, 30, tzinfo=timezone(timedelta(hours=7)))
    inbox.set_link(LINK_UP, "", at)
    inbox.set_link(LINK_UP, "", at + timedelta(hours=1))  # still the same state: same since
    assert "connected since 01/12 06:30." in status()
    inbox.set_link(LINK_FAILING, "the broker refused this station.", at + timedelta(hours=2))
    inbox.close()
    assert "cannot connect since 01/12 08:30: the broker refused this station." in status()
