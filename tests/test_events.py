"""The event stream: listeners hear a real run in simulated time, on a thread of their own, and
a failing listener never stops the air."""

import threading
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from broadcaster.core.models import Occurrence, Result
from broadcaster.onair.daemon import Daemon
from broadcaster.onair.events import Listener
from tests.conftest import CLOSED_EDGE_ENDPOINT
from tests.doubles import FakeClock, FastSink

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
MORNING = '- id: sang\n  announcement: hop-to-dan-pho\n  times: ["06:30"]\n'


class Heard(Listener):
    def __init__(self) -> None:
        self.events: list[tuple[object, ...]] = []
        self.threads: set[str] = set()

    def _note(self, *event: object) -> None:
        self.events.append(event)
        self.threads.add(threading.current_thread().name)

    def occurrence_started(self, occurrence: Occurrence, started: datetime) -> None:
        self._note("started", occurrence.entry_id, started.strftime("%H:%M:%S"))

    def occurrence_finished(self, occurrence: Occurrence, result: Result, error: str) -> None:
        self._note("finished", occurrence.entry_id, str(result))

    def queue_changed(self, queued: tuple[Occurrence, ...]) -> None:
        self._note("queue", tuple(o.entry_id for o in queued))

    def reload_succeeded(self, entries: int) -> None:
        self._note("reloaded", entries)

    def reload_failed(self, error: str) -> None:
        self._note("reload failed", "test.yaml:3" in error)

    def clock_jumped(self, seconds: int) -> None:
        self._note("jumped", seconds)


class Broken(Listener):
    def occurrence_started(self, occurrence: Occurrence, started: datetime) -> None:
        raise RuntimeError("a listener's own bug")


@pytest.fixture
def station_dir(station: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LOA_EDGE_ENDPOINT", CLOSED_EDGE_ENDPOINT)
    config = station / "station.yaml"
    config.write_text(config.read_text().replace("voice: vi-VN-HoaiMyNeural", "voice: vi"))
    (station / "schedules").mkdir()
    (station / "schedules" / "test.yaml").write_text(MORNING, encoding="utf-8")
    return station


def test_a_listener_hears_a_day_in_simulated_time(station_dir: Path) -> None:
    clock = FakeClock(datetime(2026, 11, 30, 6, 20, tzinfo=HANOI))
    sink = FastSink(clock)
    daemon = Daemon(station_dir, now=clock, output=lambda _s: sink, monotonic=clock.monotonic)
    heard, broken = Heard(), Broken()
    daemon.subscribe(broken)
    daemon.subscribe(heard)
    daemon.open()
    daemon.heartbeat()
    clock.set(datetime(2026, 11, 30, 6, 29, 55, tzinfo=HANOI))  # set by hand: +595 s
    daemon.heartbeat()
    while daemon.play_next(timeout=0):
        pass
    (station_dir / "schedules" / "test.yaml").write_text(MORNING.replace("06:30", "25:00"))
    assert daemon.answer({"command": "reload"})["ok"] is False
    late = daemon.answer({"command": "say", "text": "Tin nhanh.", "priority": "emergency"})
    assert late["ok"]
    while daemon.play_next(timeout=0):
        pass
    assert daemon.events.flush(10)
    daemon.shutdown()
    said_at = [event[2] for event in heard.events if event[:2] == ("started", "say")]
    assert heard.events == [
        ("reloaded", 1),
        ("jumped", 595),
        ("queue", ("sang",)),
        ("queue", ()),
        ("started", "sang", "06:30:00"),
        ("finished", "sang", "played"),
        ("reload failed", True),
        ("queue", ("say",)),
        ("queue", ()),
        ("started", "say", *said_at),
        ("finished", "say", "played"),
    ]
    assert heard.threads == {"loa-events"}, "never on the player's thread"
    assert sink.completed == 2, "the broken listener did not stop the air"
