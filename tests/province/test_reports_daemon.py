"""The reports of a real daemon, on a copy of the example station with the `silent` output and
the local Edge endpoint: its heartbeat told through the control protocol (clock, queue, what is
on the air, cache coverage, a bad edit) and its as-run rows through its own event stream."""

import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from broadcaster.control.protocol import Queued, Say, Status, StatusReply, Stop
from broadcaster.onair.daemon import Daemon
from broadcaster.province import messages, topics
from broadcaster.province.reports import DaemonView, Reporter
from tests.doubles import FakeClock
from tests.edge_endpoint import EdgeEndpoint
from tests.province.test_reports import STATION, Link
from tests.schedule_station import write_schedule

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
MORNING = datetime(2026, 11, 30, 9, 0, tzinfo=HANOI)
SCHEDULE = """\
- id: hop
  announcement: hop-to-dan-pho
  times: ["10:00"]
- id: bluezone
  announcement: bluezone
  times: ["17:00"]
"""


@pytest.fixture
def daemon(station: Path, edge: EdgeEndpoint, monkeypatch: pytest.MonkeyPatch) -> Iterator[Daemon]:
    monkeypatch.setenv("LOA_EDGE_ENDPOINT", edge.url)
    config = station / "station.yaml"
    config.write_text(config.read_text().replace("device: simpleaudio", "device: silent"))
    write_schedule(station, SCHEDULE)
    opened = Daemon(station, now=FakeClock(MORNING))
    opened.open()
    yield opened
    opened.shutdown()


def heartbeat(link: Link) -> messages.Heartbeat:
    beat = link.on(topics.heartbeat(STATION))[-1].message
    assert isinstance(beat, messages.Heartbeat)
    return beat


def test_the_heartbeat_tells_a_real_daemon(daemon: Daemon, tmp_path: Path) -> None:
    link = Link()
    reporter = Reporter(STATION, tmp_path / "outbox.db", link.publish, DaemonView(daemon))
    link.reporter = reporter
    daemon.subscribe(reporter)
    reporter.connected(1)
    reporter.beat()
    first = heartbeat(link)
    assert datetime.fromisoformat(first.at) == MORNING, "the province computes the offset"
    assert (first.on_air, first.queue, first.errors, first.last_asrun) == (None, 0, (), None)
    assert (first.ready_48h, first.due_48h) == (0, 0), "not counted before the first cache round"
    daemon.warm()  # the station's cache round renders the next 48 hours and counts them
    daemon.events.unsubscribe(reporter)

    later = Link()  # the link started again
    reporter = Reporter(STATION, tmp_path / "outbox.db", later.publish, DaemonView(daemon))
    later.reporter = reporter
    daemon.subscribe(reporter)
    for text in ("Mời bà con đi họp.", "Mời bà con đi tiêm."):
        assert isinstance(daemon.handle(Say(text)), Queued)
    reporter.beat()
    queued = heartbeat(later)
    assert (queued.on_air, queued.queue, queued.errors) == (None, 2, ())
    assert (queued.ready_48h, queued.due_48h) == (2, 2)
    write_schedule(daemon.directory, "- id: [broken\n", "hong.yaml")
    bad_edit = daemon.reload(force=True)
    assert bad_edit is not None
    reporter.beat()
    assert heartbeat(later).errors == (bad_edit,)

    player = threading.Thread(target=daemon.play_next, kwargs={"timeout": 5})
    player.start()
    deadline = time.monotonic() + 30
    while not _playing(daemon) and time.monotonic() < deadline:
        time.sleep(0.02)
    reporter.beat()
    on_air = heartbeat(later)
    assert (on_air.on_air, on_air.queue) == ("say", 1)
    daemon.handle(Stop())
    player.join(10)
    assert daemon.events.flush()
    [row] = later.rows()
    assert (row.entry_id, row.announcement, row.result) == (
        "say",
        "Mời bà con đi họp.",
        "interrupted",
    )
    assert row.started is not None and row.ended is not None
    later.acknowledge()
    assert reporter.outbox is not None and reporter.outbox.count() == 0
    reporter.beat()
    assert heartbeat(later).last_asrun == {
        "entry_id": "say",
        "scheduled": row.scheduled,
        "result": "interrupted",
        "ended": row.ended,
    }


def _playing(daemon: Daemon) -> bool:
    status = daemon.handle(Status())
    return isinstance(status, StatusReply) and status.playing is not None
