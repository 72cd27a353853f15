"""The station's reports to the province against a link that keeps what it is given: the outbox
(real SQLite) and the as-run log (real), PUBACKs, being offline, a day of rows, a crash between
the as-run log and the outbox (a real kill -9), heartbeats and presence, and never raising."""

import signal
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from broadcaster.control.protocol import OnAir, Refused, Reply, StatusReply, Waiting
from broadcaster.core.models import Occurrence, Result
from broadcaster.onair.asrun import AsRunLog
from broadcaster.province import messages, topics
from broadcaster.province.reports import FORGET_DAYS, SOFTWARE, Reporter

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=HANOI)
STATION = "xa-an-binh"
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Sent:
    topic: str
    payload: bytes
    qos: int
    retain: bool
    mid: int

    @property
    def message(self) -> messages.Message:
        return messages.decode(self.payload)


@dataclass
class Link:
    """What the reporter sees of an MQTT client: `publish` returns a message id while online and
    None while offline; `acknowledge` plays the broker's PUBACKs. `ack_at_once` acknowledges
    inside `publish`, before the id is returned, as paho's thread may."""

    online: bool = True
    ack_at_once: bool = False
    fail: bool = False
    sent: list[Sent] = field(default_factory=list)
    reporter: Reporter | None = None
    _mid: int = 0

    def publish(self, topic: str, payload: bytes, qos: int, retain: bool) -> int | None:
        if self.fail:
            raise OSError("the socket broke")
        if not self.online:
            return None
        self._mid += 1
        self.sent.append(Sent(topic, payload, qos, retain, self._mid))
        if self.ack_at_once and qos == 1:
            assert self.reporter is not None
            self.reporter.published(self._mid)
        return self._mid

    def acknowledge(self, *only: Sent) -> None:
        assert self.reporter is not None
        for sent in only or [s for s in self.sent if s.qos == 1]:
            self.reporter.published(sent.mid)

    def on(self, topic: str) -> list[Sent]:
        return [sent for sent in self.sent if sent.topic == topic]

    def rows(self) -> list[messages.AsRun]:
        found = [sent.message for sent in self.on(topics.asrun(STATION))]
        assert all(isinstance(row, messages.AsRun) for row in found)
        return found  # type: ignore[return-value]


IDLE = StatusReply(1, NOW.isoformat(), "/station", None, (), (), None, 3)


@dataclass
class View:
    """A station as the reporter sees it: its as-run log is real, the rest is told."""

    asrun_path: Path
    clock: datetime = NOW
    reply: Reply = IDLE

    def now(self) -> datetime:
        return self.clock

    def status(self) -> Reply:
        return self.reply


@pytest.fixture
def asrun(tmp_path: Path) -> AsRunLog:
    return AsRunLog(tmp_path / "asrun.db")


@pytest.fixture
def view(asrun: AsRunLog) -> View:
    return View(asrun.path)


def reporter_for(link: Link, view: View, tmp_path: Path) -> Reporter:
    reporter = Reporter(STATION, tmp_path / "outbox.db", link.publish, view)
    link.reporter = reporter
    return reporter


def occurrence(entry_id: str = "sang", minutes: int = 0, announcement: str = "hop") -> Occurrence:
    return Occurrence(entry_id, NOW - timedelta(hours=3, minutes=-minutes), announcement, "normal")


def played(asrun: AsRunLog, item: Occurrence, result: Result = Result.PLAYED) -> None:
    asrun.begin(item, item.scheduled + timedelta(seconds=1))
    asrun.finish(item, result, item.scheduled + timedelta(minutes=2), "edge", "")


def waiting(reporter: Reporter) -> int:
    assert reporter.outbox is not None
    return reporter.outbox.count()


def test_a_row_is_published_whole_and_leaves_the_outbox_on_its_puback(
    asrun: AsRunLog, view: View, tmp_path: Path
) -> None:
    link = Link()
    reporter = reporter_for(link, view, tmp_path)
    item = occurrence()
    played(asrun, item)
    reporter.occurrence_finished(item, Result.PLAYED, "")
    [sent] = link.on(topics.asrun(STATION))
    assert (sent.qos, sent.retain) == (1, False)
    assert sent.message == messages.AsRun(
        entry_id="sang",
        scheduled="2026-11-30T06:00:00+07:00",
        announcement="hop",
        priority="normal",
        started="2026-11-30T06:00:01+07:00",
        ended="2026-11-30T06:02:00+07:00",
        result="played",
    )
    assert waiting(reporter) == 1
    link.acknowledge(sent)
    assert waiting(reporter) == 0
    again = Link()
    reporter_for(again, view, tmp_path).connected(2)
    assert again.rows() == [], "an acknowledged row is not sent again by the next process"


def test_a_province_entry_names_its_campaign(asrun: AsRunLog, view: View, tmp_path: Path) -> None:
    link = Link()
    reporter = reporter_for(link, view, tmp_path)
    item = occurrence("tinh-sot-xuat-huyet", announcement="tinh-sot-xuat-huyet")
    asrun.decide(item, Result.SKIPPED_QUIET, "quiet hours")
    reporter.occurrence_finished(item, Result.SKIPPED_QUIET, "quiet hours")
    [row] = link.rows()
    assert (row.campaign, row.result, row.error, row.started) == (
        "sot-xuat-huyet",
        "skipped-quiet",
        "quiet hours",
        None,
    )


def test_offline_rows_wait_and_every_one_goes_out_at_the_next_connection(
    asrun: AsRunLog, view: View, tmp_path: Path
) -> None:
    link = Link(online=False)
    reporter = reporter_for(link, view, tmp_path)
    items = [occurrence(f"muc-{n}", minutes=n) for n in range(5)]
    for item in items:
        played(asrun, item)
        reporter.occurrence_finished(item, Result.PLAYED, "")
    assert link.sent == [] and waiting(reporter) == 5
    link.online = True
    reporter.connected(1)
    state, *rows = link.sent
    assert state.topic == topics.state(STATION) and (state.qos, state.retain) == (1, True)
    assert state.message == messages.Presence(True, 1, "2026-11-30T02:00:00.000+00:00", SOFTWARE)
    assert [row.message.entry_id for row in rows] == [f"muc-{n}" for n in range(5)]  # type: ignore[union-attr]
    link.acknowledge(*rows[:2])
    assert waiting(reporter) == 3
    reporter.connected(2)  # the link dropped before the other acks: all three again
    assert [row.entry_id for row in link.rows()[5:]] == ["muc-2", "muc-3", "muc-4"]
    link.acknowledge()
    assert waiting(reporter) == 0


def test_a_day_offline_is_delivered_in_order_after_reconnecting(
    asrun: AsRunLog, view: View, tmp_path: Path
) -> None:
    link = Link(online=False)
    reporter = reporter_for(link, view, tmp_path)
    day = [
        Occurrence(f"muc-{n % 24}", NOW - timedelta(minutes=n), "hop", "normal") for n in range(400)
    ]
    for item in day:
        asrun.decide(item, Result.MISSED, "the PC slept")
        reporter.occurrence_finished(item, Result.MISSED, "the PC slept")
    assert waiting(reporter) == 400
    link.online = True
    reporter.connected(1)
    delivered = {(row.entry_id, row.scheduled) for row in link.rows()}
    assert delivered == {(item.entry_id, item.scheduled.isoformat()) for item in day}
    link.acknowledge()
    assert waiting(reporter) == 0


def test_a_puback_before_publish_returns_still_clears_the_row(
    asrun: AsRunLog, view: View, tmp_path: Path
) -> None:
    link = Link(ack_at_once=True)
    reporter = reporter_for(link, view, tmp_path)
    item = occurrence()
    played(asrun, item)
    reporter.occurrence_finished(item, Result.PLAYED, "")
    assert len(link.rows()) == 1
    assert waiting(reporter) == 0


def test_an_unknown_or_stale_ack_deletes_nothing(
    asrun: AsRunLog, view: View, tmp_path: Path
) -> None:
    link = Link()
    reporter = reporter_for(link, view, tmp_path)
    item = occurrence()
    played(asrun, item)
    reporter.occurrence_finished(item, Result.PLAYED, "")
    [first] = link.on(topics.asrun(STATION))
    reporter.published(999)
    reporter.connected(2)  # resent under a new id; the old id's ack came through the old session
    link.acknowledge(first)
    assert waiting(reporter) == 1
    link.acknowledge(link.on(topics.asrun(STATION))[-1])
    assert waiting(reporter) == 0


def test_rows_finalized_but_never_in_the_outbox_are_recovered_at_start(
    asrun: AsRunLog, view: View, tmp_path: Path
) -> None:
    link = Link()
    reporter = reporter_for(link, view, tmp_path)
    first, replayed, on_air = (occurrence(name, minutes=n) for n, name in enumerate("abc"))
    for item in (first, replayed):
        played(asrun, item)
        reporter.occurrence_finished(item, Result.PLAYED, "")
    link.acknowledge()
    # then the station interrupts `replayed`'s second airing, plays two more, and dies
    asrun.finish(replayed, Result.INTERRUPTED, NOW, "", "stopped by an officer")
    lost = [occurrence(f"lost-{n}", minutes=10 + n) for n in range(3)]
    for item in lost:
        played(asrun, item)
    long_ago = Occurrence("cu", NOW - timedelta(days=32), "hop", "normal")
    played(asrun, long_ago)
    asrun.begin(on_air, NOW)

    restarted = Link()
    reporter = reporter_for(restarted, view, tmp_path)
    assert waiting(reporter) == 4, "three lost rows and the newer state of one reported"
    reporter.connected(1)
    assert sorted((row.entry_id, row.result) for row in restarted.rows()) == [
        ("b", "interrupted"),
        ("lost-0", "played"),
        ("lost-1", "played"),
        ("lost-2", "played"),
    ]


def test_a_real_kill_between_the_as_run_log_and_the_outbox_loses_nothing(
    asrun: AsRunLog, view: View, tmp_path: Path
) -> None:
    """A child process finalizes rows and reports half of them (offline), then kills itself
    with SIGKILL; the next process reports every row."""
    script = textwrap.dedent(
        f"""
        import os, signal
        from datetime import datetime, timedelta
        from pathlib import Path
        from zoneinfo import ZoneInfo
        from broadcaster.core.models import Occurrence, Result
        from broadcaster.onair.asrun import AsRunLog
        from broadcaster.province.reports import Reporter
        from tests.province.test_reports import View

        now = datetime.fromisoformat({NOW.isoformat()!r})
        log = AsRunLog(Path({str(asrun.path)!r}))
        reporter = Reporter({STATION!r}, Path({str(tmp_path / "outbox.db")!r}),
                            lambda *message: None, View(log.path, now))
        for n in range(40):
            item = Occurrence(f"muc-{{n}}", now - timedelta(minutes=n), "hop", "normal")
            log.decide(item, Result.MISSED, "away")
            if n % 2:
                reporter.occurrence_finished(item, Result.MISSED, "away")
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    child = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    link = Link()
    reporter = reporter_for(link, view, tmp_path)
    reporter.connected(1)
    assert sorted(row.entry_id for row in link.rows()) == sorted(f"muc-{n}" for n in range(40))
    link.acknowledge()
    assert waiting(reporter) == 0


def test_acknowledged_keys_are_forgotten_after_forty_days(
    asrun: AsRunLog, view: View, tmp_path: Path
) -> None:
    link = Link()
    reporter = reporter_for(link, view, tmp_path)
    item = occurrence()
    played(asrun, item)
    reporter.occurrence_finished(item, Result.PLAYED, "")
    link.acknowledge()
    assert reporter.outbox is not None
    reporter.outbox.forget_before(item.scheduled)
    assert reporter.outbox.unreported(asrun.rows()) == []
    reporter.outbox.forget_before(item.scheduled + timedelta(seconds=1))
    assert reporter.outbox.unreported(asrun.rows()) == asrun.rows()
    view.clock = NOW + timedelta(days=FORGET_DAYS + 1)
    later = Link()
    reporter_for(later, view, tmp_path).beat()  # the first beat surveys: prunes, reconciles
    assert later.rows() == [], "a row older than 31 days is not reported again"


def test_the_heartbeat_carries_the_clock_queue_on_air_coverage_and_errors(
    asrun: AsRunLog, view: View, tmp_path: Path
) -> None:
    link = Link()
    reporter = reporter_for(link, view, tmp_path)
    reporter.connected(3)
    item = occurrence()
    played(asrun, item)
    asrun.begin(occurrence("tiep", minutes=5), NOW)  # on the air: not the last row
    view.reply = StatusReply(
        1,
        NOW.isoformat(),
        "/station",
        OnAir("tiep", "hop", NOW.isoformat(), "normal", NOW.isoformat()),
        (Waiting("trua", "hop", NOW.isoformat(), "normal"),) * 2,
        (),
        "schedules/a.yaml:3: unknown field",
        3,
        "The sound device does not open",
        (3, 4),
    )
    reporter.beat()
    [sent] = link.on(topics.heartbeat(STATION))
    assert (sent.qos, sent.retain) == (0, True)
    beat = sent.message
    assert isinstance(beat, messages.Heartbeat)
    assert datetime.fromisoformat(beat.at) == NOW and beat.at.endswith("+00:00")
    assert (beat.software, beat.connection, beat.on_air, beat.queue) == (SOFTWARE, 3, "tiep", 2)
    assert (beat.ready_48h, beat.due_48h) == (3, 4)
    assert beat.last_asrun == {
        "entry_id": "sang",
        "scheduled": "2026-11-30T06:00:00+07:00",
        "result": "played",
        "ended": "2026-11-30T06:02:00+07:00",
    }
    assert beat.errors == ("schedules/a.yaml:3: unknown field", "The sound device does not open")
    view.reply = Refused("the station is busy")
    reporter.beat()
    later = link.on(topics.heartbeat(STATION))[-1].message
    assert isinstance(later, messages.Heartbeat)
    assert (later.on_air, later.queue, later.errors) == (None, 0, ("the station is busy",))
    assert (later.ready_48h, later.due_48h) == (3, 4), "the last count, while the station is busy"


def test_presence_offline_at_a_clean_shutdown(view: View, tmp_path: Path) -> None:
    link = Link()
    reporter = reporter_for(link, view, tmp_path)
    reporter.connected(7)
    reporter.closing()
    online, offline = link.on(topics.state(STATION))
    assert [online.message, offline.message] == [
        messages.Presence(True, 7, "2026-11-30T02:00:00.000+00:00", SOFTWARE),
        messages.Presence(False, 7, "2026-11-30T02:00:00.000+00:00", SOFTWARE),
    ]
    assert offline.retain and offline.qos == 1


def test_a_failing_link_never_raises_and_the_row_waits(
    asrun: AsRunLog, view: View, tmp_path: Path
) -> None:
    link = Link(fail=True)
    reporter = reporter_for(link, view, tmp_path)
    item = occurrence()
    played(asrun, item)
    reporter.occurrence_finished(item, Result.PLAYED, "")
    reporter.beat()
    reporter.connected(1)
    reporter.closing()
    reporter.published(1)
    assert waiting(reporter) == 1
    link.fail = False
    reporter.connected(2)
    assert len(link.rows()) == 1


def test_without_a_writable_outbox_rows_still_go_out_and_the_heartbeat_says_why(
    asrun: AsRunLog, view: View, read_only_dir: Path
) -> None:
    link = Link()
    reporter = Reporter(STATION, read_only_dir / "outbox.db", link.publish, view)
    link.reporter = reporter
    assert reporter.outbox is None
    item = occurrence()
    played(asrun, item)
    reporter.occurrence_finished(item, Result.PLAYED, "")
    reporter.published(1)
    reporter.beat()
    assert [row.entry_id for row in link.rows()] == ["sang"]
    beat = link.on(topics.heartbeat(STATION))[0].message
    assert isinstance(beat, messages.Heartbeat)
    assert [str(read_only_dir / "outbox.db") in error for error in beat.errors] == [True]


def test_long_texts_are_cut_to_what_the_province_accepts(
    asrun: AsRunLog, view: View, tmp_path: Path
) -> None:
    link = Link()
    reporter = reporter_for(link, view, tmp_path)
    item = Occurrence("say", NOW, "Mời bà con " * 500, "emergency")
    asrun.decide(item, Result.FAILED, "lỗi " * 1000)
    reporter.occurrence_finished(item, Result.FAILED, "lỗi " * 1000)
    [row] = link.rows()  # decoded by the province's own validator
    assert (len(row.announcement), len(row.error), row.priority) == (300, 2000, "emergency")


def test_at_is_utc_whatever_the_station_zone(view: View, tmp_path: Path) -> None:
    link = Link()
    view.clock = datetime(2026, 1, 1, 0, 0, 30, tzinfo=UTC)
    reporter_for(link, view, tmp_path).beat()
    beat = link.on(topics.heartbeat(STATION))[0].message
    assert isinstance(beat, messages.Heartbeat)
    assert beat.at == "2026-01-01T00:00:30.000+00:00"


def test_a_full_disk_under_the_outbox_sends_the_row_anyway_and_again_once_freed(
    asrun: AsRunLog, view: View, small_disk: Path
) -> None:
    link = Link()
    reporter = Reporter(STATION, small_disk / "outbox.db", link.publish, view)
    link.reporter = reporter
    filler = small_disk / "filler"
    with filler.open("wb", buffering=0) as out, pytest.raises(OSError):
        while True:
            out.write(b"\0" * 4096)
    item = occurrence()
    played(asrun, item)
    reporter.occurrence_finished(item, Result.PLAYED, "")
    reporter.beat()
    assert [row.entry_id for row in link.rows()] == ["sang"], "sent once, straight away"
    beat = link.on(topics.heartbeat(STATION))[0].message
    assert isinstance(beat, messages.Heartbeat) and "outbox.db" in beat.errors[0]
    filler.unlink()
    reporter.connected(2)  # its PUBACK was never taken: it is sent again from the as-run log
    assert [row.entry_id for row in link.rows()] == ["sang", "sang"]
    link.acknowledge()
    assert waiting(reporter) == 0
    reporter.close()  # lets the small disk be unmounted
