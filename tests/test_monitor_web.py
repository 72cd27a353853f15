"""The on-air monitor in the web console: the log page's Heard column (only when rows were
judged) and the on-air page's monitor, with its alarms, from the running station's status."""

import html
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from broadcaster.control.protocol import MonitorAlarm, MonitorStatus
from broadcaster.core.models import Heard, Hearing, Occurrence, Priority
from broadcaster.onair.asrun import AsRunLog
from broadcaster.onair.daemon import Daemon
from tests.doubles import FakeClock, FastSink
from tests.web.conftest import Login, console_station, login

__all__ = ["console_station", "login"]  # the console's fixtures
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
MORNING = datetime(2026, 1, 5, 6, 30, tzinfo=HANOI)


def aired(station: Path, entry: str, heard: Heard | None) -> None:
    log = AsRunLog.for_station(station)
    occurrence = Occurrence(entry, MORNING, "bluezone", Priority.NORMAL)
    log.begin(occurrence, MORNING)
    log.finish(occurrence, "played", MORNING + timedelta(minutes=1), "cache")
    if heard is not None:
        log.hear(occurrence, Hearing(heard, -30.2, 250, "40 s not heard"))
    log.close()


def test_the_log_page_shows_what_was_heard(login: Login, console_station: Path) -> None:
    aired(console_station, "sang", Heard.PARTLY)
    aired(console_station, "trua", None)
    page = html.unescape(login("an").get("/log").text)
    assert "<th>Đã nghe</th>" in page or "<th>Heard</th>" in page
    assert "-30 dB" in page and "250 ms" in page and "40 s not heard" in page


def test_without_a_monitor_the_log_page_has_no_heard_column(
    login: Login, console_station: Path
) -> None:
    aired(console_station, "sang", None)
    page = login("an").get("/log").text
    assert "250 ms" not in page and page.count("<th>") == 6


@pytest.fixture
def monitored(console_station: Path) -> Iterator[Daemon]:
    config = console_station / "station.yaml"
    config.write_text(config.read_text().replace("voice: vi-VN-HoaiMyNeural", "voice: vi"))
    clock = FakeClock(datetime.now(HANOI))
    sink = FastSink(clock)
    daemon = Daemon(console_station, now=clock, output=lambda _station: sink)
    daemon.monitor_status = lambda: MonitorStatus(
        "hw:1",
        None,
        (
            MonitorAlarm("dead-air", "2026-01-05T06:31:12+07:00", "nothing heard for 10 s"),
            MonitorAlarm("unexpected-sound", "2026-01-05T06:40:00+07:00", "a voice"),
        ),
    )
    daemon.start()
    yield daemon
    daemon.shutdown()


def test_the_on_air_page_shows_the_monitor_and_its_alarms(login: Login, monitored: Daemon) -> None:
    page = html.unescape(login("an").get("/").text)
    assert 'id="monitor"' in page and "hw:1" in page
    assert 'id="monitor-alarms"' in page
    assert '<li class="error">⚠' in page and "06:31:12" in page
    assert "nothing heard for 10 s" in page
    assert "<li>•" in page and "a voice" in page


def test_without_a_monitor_the_on_air_page_says_nothing_of_it(
    login: Login, monitored: Daemon
) -> None:
    monitored.monitor_status = lambda: None
    page = login("an").get("/").text
    assert 'id="monitor"' not in page and 'id="monitor-alarms"' not in page
