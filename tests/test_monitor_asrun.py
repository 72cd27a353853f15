"""What the on-air monitor adds to the as-run log: a `heard` verdict on each row (empty when not
judged), the alarms, and logs written by an older Loa opened without losing a row."""

import csv
import io
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from broadcaster.core.models import Alarm, AlarmKind, Heard, Hearing
from broadcaster.onair.asrun import LOG_FILE, AsRunLog, ItemReport, hearing_note, write_csv
from tests.test_asrun import at, occ, played

OLD_SCHEMA = """
CREATE TABLE asrun (
    entry_id TEXT NOT NULL, scheduled TEXT NOT NULL, scheduled_ts REAL NOT NULL,
    announcement TEXT NOT NULL, priority TEXT NOT NULL, started TEXT, ended TEXT,
    result TEXT NOT NULL, source TEXT NOT NULL DEFAULT '', error TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (entry_id, scheduled)
);
CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
"""The as-run log as Loa wrote it before the monitor."""


@pytest.fixture
def log(tmp_path: Path) -> Iterator[AsRunLog]:
    opened = AsRunLog.for_station(tmp_path)
    yield opened
    opened.close()


def test_a_log_of_an_older_loa_gets_the_columns_and_keeps_its_rows(tmp_path: Path) -> None:
    old = sqlite3.connect(tmp_path / LOG_FILE)
    old.executescript(OLD_SCHEMA)
    old.execute(
        "INSERT INTO asrun VALUES ('bluezone-sang', ?, ?, 'bluezone', 'normal', ?, ?, 'played', "
        "'edge', '')",
        (
            at(6, 30).isoformat(),
            at(6, 30).timestamp(),
            at(6, 30).isoformat(),
            at(6, 32).isoformat(),
        ),
    )
    old.commit()
    old.close()
    log = AsRunLog.for_station(tmp_path)
    (row,) = log.rows()
    assert (row.entry_id, row.result, row.heard, row.heard_db) == (
        "bluezone-sang",
        "played",
        "",
        None,
    )
    assert log.hear(occ("bluezone-sang", at(6, 30)), Hearing(Heard.YES, -20.5, 180))
    log.close()
    again = AsRunLog.for_station(tmp_path)  # the columns are there now: nothing added twice
    assert [(row.heard, row.heard_delay_ms) for row in again.rows()] == [("yes", 180)]
    again.close()


def test_a_row_is_not_judged_until_the_monitor_says(log: AsRunLog) -> None:
    played(log, occ())
    (row,) = log.rows()
    assert (row.heard, row.heard_db, row.heard_delay_ms, row.heard_reason, row.audio_log) == (
        "",
        None,
        None,
        "",
        "",
    )


def test_a_hearing_is_stored_on_its_row(log: AsRunLog) -> None:
    played(log, occ())
    played(log, occ("mua-bao", at(7)))
    hearing = Hearing(Heard.PARTLY, -23.4, 212, "12 s not heard", "2026-03-02.ogg@23400.5")
    assert log.hear(occ(), hearing)
    first, second = log.rows()
    assert (
        first.heard,
        first.heard_db,
        first.heard_delay_ms,
        first.heard_reason,
        first.audio_log,
    ) == ("partly", -23.4, 212, "12 s not heard", "2026-03-02.ogg@23400.5")
    assert second.heard == ""
    assert log.row(first.entry_id, first.scheduled) == first


def test_a_hearing_of_a_row_that_is_not_there_says_so(log: AsRunLog) -> None:
    assert not log.hear(occ(), Hearing(Heard.NO))
    assert log.rows() == []


def test_the_report_counts_what_was_heard_beside_what_aired(log: AsRunLog) -> None:
    verdicts = [Heard.YES, Heard.YES, Heard.PARTLY, Heard.NO, Heard.UNKNOWN, None]
    for day, verdict in enumerate(verdicts, start=1):
        occurrence = occ(scheduled=at(6, 30, day=day))
        played(log, occurrence)
        if verdict is not None:
            log.hear(occurrence, Hearing(verdict))
    log.decide(occ(scheduled=at(6, 30, day=20)), "missed", "")
    (item,) = log.report(at(0, day=1), at(0, day=1, month=4))
    assert item == ItemReport(
        "bluezone-sang", "bluezone", played=6, total=7, heard=2, partly=1, not_heard=1
    )
    assert item.judged == 4


def test_an_alarm_is_stored_then_ended(log: AsRunLog) -> None:
    dead = Alarm(AlarmKind.DEAD_AIR, at(6, 31), None, "nothing heard for 10 s")
    voice = Alarm(AlarmKind.UNEXPECTED_SOUND, at(9), at(9, 2), "sound outside broadcasts")
    log.record_alarm(dead)
    log.record_alarm(voice)
    assert log.alarms() == [dead, voice]
    assert log.alarms(active_only=True) == [dead]
    ended = Alarm(AlarmKind.DEAD_AIR, at(6, 31), at(6, 33), "nothing heard for 2 min")
    log.record_alarm(ended)
    assert log.alarms() == [ended, voice]
    assert log.alarms(active_only=True) == []
    assert log.alarms(since=at(7)) == [voice]
    assert log.alarms(limit=1) == [voice]


def test_alarms_left_lasting_by_a_monitor_that_is_gone_are_ended(log: AsRunLog) -> None:
    log.record_alarm(Alarm(AlarmKind.OFF_AIR, at(6), None, "off"))
    log.record_alarm(Alarm(AlarmKind.TOO_LOUD, at(5), at(5, 1), "clipping"))
    assert log.close_alarms(at(8)) == 1
    assert [alarm.ended for alarm in log.alarms()] == [at(5, 1), at(8)]


def test_the_spreadsheet_has_a_heard_column(log: AsRunLog, english: None) -> None:
    played(log, occ())
    played(log, occ("mua-bao", at(7)))
    log.hear(occ(), Hearing(Heard.NO, reason="nothing came back"))
    out = io.StringIO()
    write_csv(log.rows(), out)
    heading, first, second = csv.reader(io.StringIO(out.getvalue().removeprefix("\ufeff")))
    column = heading.index("Heard")
    assert heading[column - 1] == "Result"
    assert (first[column], second[column]) == ("NOT heard", "")


def test_a_hearing_note_gives_the_measures_and_the_reason(log: AsRunLog, english: None) -> None:
    played(log, occ())
    log.hear(occ(), Hearing(Heard.PARTLY, -21.6, 180, "8 s not heard"))
    assert hearing_note(log.rows()[0]) == "-22 dB, delay 180 ms; 8 s not heard"
    log.hear(occ(), Hearing(Heard.UNKNOWN, reason="the monitor device is gone"))
    assert hearing_note(log.rows()[0]) == "the monitor device is gone"


def test_judging_a_row_much_later_keeps_its_result(log: AsRunLog) -> None:
    played(log, occ(), result="relayed_with_dropouts")
    log.hear(occ(), Hearing(Heard.PARTLY, delay_ms=90))
    (row,) = log.rows()
    assert (row.result, row.ended) == (
        "relayed_with_dropouts",
        (at(6, 30) + timedelta(minutes=2)).isoformat(),
    )
