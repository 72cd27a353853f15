"""What the on-air monitor adds to the province link: as-run rows carry `heard` (a row judged
after it was sent goes out again and the province keeps the verdict), older stations' rows and
older outboxes and province databases still work, and the monitor's troubles ride on the
heartbeat's errors."""

import json
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from broadcaster.control.protocol import MonitorAlarm, MonitorStatus
from broadcaster.core.models import Heard, Hearing, Result
from broadcaster.onair.asrun import AsRunLog
from broadcaster.province import messages, topics
from broadcaster.province.reports import Outbox
from broadcaster.province.store import Store
from tests.province.test_reports import (
    IDLE,
    STATION,
    Link,
    View,
    asrun,
    occurrence,
    played,
    reporter_for,
)

__all__ = ["asrun"]  # the as-run log fixture of the reports' tests

ROW = messages.AsRun(
    entry_id="sang",
    scheduled="2026-11-30T06:00:00+07:00",
    announcement="hop",
    priority="normal",
    started="2026-11-30T06:00:01+07:00",
    ended="2026-11-30T06:02:00+07:00",
    result="played",
)
RECEIVED = datetime(2026, 11, 30, tzinfo=UTC).isoformat()


# --- the wire -----------------------------------------------------------------------------------


def test_a_judged_row_travels_with_its_verdict() -> None:
    judged = replace(ROW, heard="partly", heard_db=-21.5, heard_delay_ms=180, heard_reason="8 s")
    assert messages.decode(messages.encode(judged)) == judged


def test_a_row_not_judged_is_sent_as_an_older_loa_sent_it() -> None:
    """A province of an older Loa refuses unknown fields: without a monitor, nothing changes."""
    body = json.loads(messages.encode(ROW))
    assert not set(body) & set(messages.HEARD_FIELDS)
    assert messages.decode(messages.encode(ROW)) == ROW


def test_an_older_station_s_row_is_taken() -> None:
    older = {"kind": "asrun", "v": 1, **{k: v for k, v in vars(ROW).items() if v is not None}}
    for name in (*messages.HEARD_FIELDS, "campaign"):
        older.pop(name, None)
    assert messages.decode(json.dumps(older).encode()) == ROW


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("heard", "maybe"),
        ("heard", 1),
        ("heard_db", "loud"),
        ("heard_db", 1e9),
        ("heard_delay_ms", -5),
        ("heard_delay_ms", True),
    ],
)
def test_a_bad_verdict_is_refused(field: str, value: object) -> None:
    body = json.loads(messages.encode(replace(ROW, heard="yes")))
    body[field] = value
    with pytest.raises(messages.BadMessage):
        messages.decode(json.dumps(body).encode())


# --- the station's reports ----------------------------------------------------------------------


def test_a_row_judged_after_it_was_sent_is_sent_again(asrun: AsRunLog, tmp_path: Path) -> None:
    link, view = Link(), View(asrun.path)
    reporter = reporter_for(link, view, tmp_path)
    item = occurrence()
    played(asrun, item)
    reporter.occurrence_finished(item, Result.PLAYED, "")
    link.acknowledge()
    assert [row.heard for row in link.rows()] == [""]
    asrun.hear(item, Hearing(Heard.NO, -60.0, None, "nothing came back"))
    reporter.heard(item, Hearing(Heard.NO))
    link.acknowledge()
    _first, again = link.rows()
    assert (again.entry_id, again.result, again.heard, again.heard_reason) == (
        "sang",
        "played",
        "no",
        "nothing came back",
    )
    assert reporter.outbox is not None and reporter.outbox.count() == 0
    assert reporter.outbox.unreported(asrun.rows()) == [], "acknowledged with its verdict"
    reporter.close()


def test_the_reconciliation_sends_a_verdict_the_event_did_not_bring(
    asrun: AsRunLog, tmp_path: Path
) -> None:
    link, view = Link(), View(asrun.path)
    reporter = reporter_for(link, view, tmp_path)  # reconciles: the row goes out
    item = occurrence()
    played(asrun, item)
    reporter.connected(1)
    link.acknowledge()
    asrun.hear(item, Hearing(Heard.YES, -19.0, 120))  # the link was down for the event
    reporter.connected(2)
    assert [row.heard for row in link.rows()] == ["", "yes"]
    reporter.close()


def test_an_outbox_of_an_older_loa_gets_the_column(asrun: AsRunLog, tmp_path: Path) -> None:
    old = sqlite3.connect(tmp_path / "outbox.db")
    old.executescript(
        "CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, entry_id TEXT NOT NULL, "
        "scheduled TEXT NOT NULL, scheduled_ts REAL NOT NULL, result TEXT NOT NULL, ended TEXT, "
        "payload BLOB NOT NULL, UNIQUE (entry_id, scheduled));"
        "CREATE TABLE reported (entry_id TEXT NOT NULL, scheduled TEXT NOT NULL, "
        "scheduled_ts REAL NOT NULL, result TEXT NOT NULL, ended TEXT, "
        "PRIMARY KEY (entry_id, scheduled));"
    )
    item = occurrence()
    played(asrun, item)
    (row,) = asrun.rows()
    old.execute(
        "INSERT INTO reported VALUES (?, ?, 0, ?, ?)",
        (row.entry_id, row.scheduled, row.result, row.ended),
    )
    old.commit()
    old.close()
    outbox = Outbox(tmp_path / "outbox.db")
    assert outbox.unreported(asrun.rows()) == [], "reported by the older Loa: not again"
    asrun.hear(item, Hearing(Heard.PARTLY))
    assert [r.heard for r in outbox.unreported(asrun.rows())] == ["partly"]
    outbox.close()


def test_the_heartbeat_carries_the_monitor_s_troubles(asrun: AsRunLog, tmp_path: Path) -> None:
    link = Link()
    monitor = MonitorStatus(
        "hw:1",
        None,
        (
            MonitorAlarm("dead-air", "2026-11-30T08:59:00+07:00", "nothing heard for 10 s"),
            MonitorAlarm("unexpected-sound", "2026-11-30T08:00:00+07:00", "a voice"),
        ),
    )
    view = View(asrun.path, reply=replace(IDLE, monitor=monitor))
    reporter = reporter_for(link, view, tmp_path)
    reporter.beat()
    (beat,) = [sent.message for sent in link.on(topics.heartbeat(STATION))]
    assert isinstance(beat, messages.Heartbeat)
    assert len(beat.errors) == 1, "an unexpected sound is not a problem"
    assert "nothing heard for 10 s" in beat.errors[0]
    view.reply = replace(IDLE, monitor=MonitorStatus("hw:1", "the USB card is gone"))
    reporter.beat()
    beat = link.on(topics.heartbeat(STATION))[-1].message
    assert isinstance(beat, messages.Heartbeat)
    assert len(beat.errors) == 1 and "the USB card is gone" in beat.errors[0]
    reporter.close()


# --- the province ------------------------------------------------------------------------------


def test_the_province_keeps_the_verdict_and_no_redelivery_erases_it(tmp_path: Path) -> None:
    store = Store(tmp_path / "province.db")
    store.record_asrun(STATION, ROW, RECEIVED)
    store.record_asrun(STATION, replace(ROW, heard="no"), RECEIVED)
    store.record_asrun(STATION, ROW, RECEIVED)  # a late redelivery of the first state
    (row,) = store.asrun_rows()
    assert (row.result, row.heard) == ("played", "no")
    store.close()


def test_a_province_database_of_an_older_loa_gets_the_column(tmp_path: Path) -> None:
    old = sqlite3.connect(tmp_path / "province.db")
    old.executescript(
        "CREATE TABLE asrun (station TEXT NOT NULL, entry_id TEXT NOT NULL, scheduled TEXT NOT "
        "NULL, announcement TEXT NOT NULL, priority TEXT NOT NULL, started TEXT, ended TEXT, "
        "result TEXT NOT NULL, error TEXT NOT NULL, campaign TEXT, received TEXT NOT NULL, "
        "PRIMARY KEY (station, entry_id, scheduled));"
    )
    old.execute(
        "INSERT INTO asrun VALUES (?, 'toi', '2026-11-29T19:00:00+07:00', 'hop', 'normal', "
        "NULL, NULL, 'played', '', NULL, ?)",
        (STATION, RECEIVED),
    )
    old.commit()
    old.close()
    store = Store(tmp_path / "province.db")
    store.record_asrun(STATION, replace(ROW, heard="yes"), RECEIVED)
    assert [(row.entry_id, row.heard) for row in store.asrun_rows()] == [
        ("toi", ""),
        ("sang", "yes"),
    ]
    store.close()
