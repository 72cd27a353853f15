"""No races between the daemon's real threads: two reloads at once, a `say` while the player
clears the air, a retried request. An accepted request airs once; a refused one says so."""

import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from broadcaster.onair.daemon import Daemon
from tests.conftest import CLOSED_EDGE_ENDPOINT
from tests.doubles import FakeClock, FastSink

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
MORNING = '- id: sang\n  announcement: hop-to-dan-pho\n  times: ["06:30"]\n'


@pytest.fixture
def offline_station(station: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LOA_EDGE_ENDPOINT", CLOSED_EDGE_ENDPOINT)
    config = station / "station.yaml"
    config.write_text(config.read_text().replace("voice: vi-VN-HoaiMyNeural", "voice: vi"))
    (station / "schedules").mkdir()
    (station / "schedules" / "test.yaml").write_text(MORNING, encoding="utf-8")
    return station


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 12, 1, 9, tzinfo=HANOI))


@pytest.fixture
def running(offline_station: Path, clock: FakeClock) -> Iterator[tuple[Daemon, FastSink]]:
    """A started daemon: its watcher, player and heartbeat threads run for real."""
    sink = FastSink(clock)
    daemon = Daemon(offline_station, now=clock, output=lambda _station: sink)
    daemon.start()
    yield daemon, sink
    daemon.shutdown()


def test_reloads_from_many_threads_at_once_all_get_an_answer(
    running: tuple[Daemon, FastSink], offline_station: Path
) -> None:
    daemon, _sink = running
    replies: list[dict[str, object]] = []
    errors: list[BaseException] = []

    def reload() -> None:
        try:
            replies.append(daemon.answer({"command": "reload"}))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=reload) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert [reply["ok"] for reply in replies] == [True] * 8, replies
    assert all(reply["entries"] == 1 for reply in replies)
    assert daemon.watcher.threaded, "the readings ran on the watcher thread"


def test_a_say_while_the_player_clears_the_air_is_answered_and_airs_once(
    running: tuple[Daemon, FastSink],
) -> None:
    """Each `say` comes while the player is taking items off the air; every reply is "queued",
    and every text airs exactly once."""
    daemon, sink = running
    replies = []
    for number in range(12):
        replies.append(daemon.answer({"command": "say", "text": f"Tin số {number}."}))
    assert all(reply["ok"] and not reply["already_queued"] for reply in replies), replies
    assert all(isinstance(reply["ahead"], int) for reply in replies)
    deadline = threading.Event()
    for _ in range(600):
        if sink.completed >= 12 and daemon.player.air is None:
            break
        deadline.wait(0.1)
    said = [row for row in daemon.asrun.rows() if row.entry_id == "say"]
    assert len(said) == 12 and {row.result for row in said} == {"played"}
    assert sink.completed == 12


def test_a_retried_request_is_answered_already_queued_and_airs_once(
    running: tuple[Daemon, FastSink],
) -> None:
    daemon, sink = running
    hold = sink.hold = threading.Event()  # the first item holds the air
    request = {"command": "say", "text": "Họp tổ dân phố.", "request_id": "abc-1"}
    first = daemon.answer(dict(request))
    again = daemon.answer(dict(request))
    assert first["ok"] and not first["already_queued"]
    assert again["ok"] and again["already_queued"], "the retry says it was queued before"
    hold.set()
    for _ in range(600):
        if sink.completed >= 1 and daemon.player.air is None and not len(daemon.queue):
            break
        threading.Event().wait(0.1)
    assert [row.result for row in daemon.asrun.rows() if row.entry_id == "say"] == ["played"]


def test_two_requests_in_the_same_instant_are_two_broadcasts(
    offline_station: Path, clock: FakeClock
) -> None:
    """Without a request id, a command run twice is two requests: each has its own row."""
    sink = FastSink(clock)
    daemon = Daemon(offline_station, now=clock, output=lambda _station: sink)
    daemon.open()
    try:
        first = daemon.answer({"command": "say", "text": "Mất điện lúc 14 giờ."})
        second = daemon.answer({"command": "say", "text": "Mất điện lúc 14 giờ."})
        assert first["ok"] and second["ok"] and not second["already_queued"]
        assert (first["ahead"], second["ahead"]) == (0, 1)
        while daemon.play_next(timeout=0):
            pass
        assert [row.result for row in daemon.asrun.rows()] == ["played", "played"]
    finally:
        daemon.shutdown()


def test_a_refused_request_says_so_and_queues_nothing(running: tuple[Daemon, FastSink]) -> None:
    daemon, _sink = running
    reply = daemon.answer({"command": "play", "announcement": "khong-co"})
    assert reply["ok"] is False and reply["error"]
    assert len(daemon.queue) == 0
