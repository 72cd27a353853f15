"""The as-run log: one SQLite row per occurrence, written before the first sound, kept whole
through kill -9, damaged files and full disks."""

import csv
import gc
import io
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from broadcaster.errors import DiskError, ExitCode
from broadcaster.i18n import _
from broadcaster.onair.asrun import (
    COLUMNS,
    LOG_FILE,
    PLAYING,
    AsRunLog,
    ItemReport,
    Occurrence,
    Row,
    write_csv,
)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
ROOT = Path(__file__).resolve().parent.parent


def at(hour: int, minute: int = 0, day: int = 2, month: int = 3) -> datetime:
    """A moment in 2026, station time (UTC+7)."""
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


def occ(
    entry_id: str = "bluezone-sang",
    scheduled: datetime | None = None,
    announcement: str = "bluezone",
    priority: str = "normal",
) -> Occurrence:
    return Occurrence(entry_id, scheduled or at(6, 30), announcement, priority)


@pytest.fixture
def log(tmp_path: Path) -> Iterator[AsRunLog]:
    opened = AsRunLog.for_station(tmp_path)
    yield opened
    opened.close()


def only_row(log: AsRunLog) -> Row:
    rows = log.rows()
    assert len(rows) == 1, rows
    return rows[0]


def played(log: AsRunLog, occurrence: Occurrence, result: str = "played") -> None:
    assert log.begin(occurrence, occurrence.scheduled)
    log.finish(occurrence, result, occurrence.scheduled + timedelta(minutes=2), "edge")


# --- the file ---------------------------------------------------------------------------------


def test_the_log_lives_in_the_station_folder_in_wal_mode(tmp_path: Path, log: AsRunLog) -> None:
    assert log.path == tmp_path / LOG_FILE
    assert (tmp_path / LOG_FILE).is_file()
    other = sqlite3.connect(tmp_path / LOG_FILE)
    try:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        other.close()


def test_every_commit_is_synced(log: AsRunLog) -> None:
    """A power cut cannot be simulated here; at least the connection asks for full sync."""
    with log._database.read() as db:
        assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_rows_survive_closing_and_reopening(tmp_path: Path) -> None:
    first = AsRunLog.for_station(tmp_path)
    played(first, occ())
    first.set_state("heartbeat", "2026-03-02T06:32:00+07:00")
    first.close()
    second = AsRunLog.for_station(tmp_path)
    try:
        assert second.has(occ())
        assert only_row(second).result == "played"
        assert second.get_state("heartbeat") == "2026-03-02T06:32:00+07:00"
    finally:
        second.close()


# --- begin, finish, decide --------------------------------------------------------------------


def test_begin_writes_a_playing_row_once(log: AsRunLog) -> None:
    started = at(6, 30) + timedelta(seconds=1)
    assert log.begin(occ(), started)
    assert only_row(log) == Row(
        entry_id="bluezone-sang",
        scheduled="2026-03-02T06:30:00+07:00",
        announcement="bluezone",
        priority="normal",
        started=started.isoformat(),
        ended=None,
        result=PLAYING,
        source="",
        error="",
    )
    assert not log.begin(occ(), started + timedelta(minutes=1))
    assert only_row(log).started == started.isoformat()


def test_begin_after_finish_is_refused(log: AsRunLog) -> None:
    """After kill -9 and a restart, what completed never plays again."""
    played(log, occ())
    assert not log.begin(occ(), at(6, 35))
    assert only_row(log).result == "played"


def test_the_key_is_entry_and_scheduled_time(log: AsRunLog) -> None:
    assert log.begin(occ("bluezone-sang", at(6, 30)), at(6, 30))
    assert log.begin(occ("bluezone-sang", at(17)), at(17))
    assert log.begin(occ("mua-bao", at(6, 30)), at(6, 30))
    assert not log.begin(occ("mua-bao", at(6, 30), announcement="other"), at(6, 31))
    assert len(log.rows()) == 3


def test_begin_again_reopens_an_interrupted_row(log: AsRunLog) -> None:
    assert log.begin(occ(), at(6, 30))
    log.finish(occ(), "interrupted", at(6, 31), "cache", "emergency")
    assert log.begin(occ(), at(6, 33), again=True)
    row = only_row(log)
    assert (row.result, row.started, row.ended) == (PLAYING, at(6, 33).isoformat(), None)
    # playing again: a second re-open is refused
    assert not log.begin(occ(), at(6, 34), again=True)
    log.finish(occ(), "played", at(6, 36), "edge")
    row = only_row(log)
    assert (row.result, row.source, row.error) == ("played", "edge", "")
    assert row.ended == at(6, 36).isoformat()


@pytest.mark.parametrize(
    "result", ["played", "played-fallback", "missed", "skipped-quiet", "failed", PLAYING]
)
def test_begin_again_leaves_any_other_row_alone(log: AsRunLog, result: str) -> None:
    if result == PLAYING:
        assert log.begin(occ(), at(6, 30))
    elif result in ("played", "played-fallback"):
        played(log, occ(), result)
    else:
        assert log.decide(occ(), result, "why")
    before = only_row(log)
    assert not log.begin(occ(), at(6, 40), again=True)
    assert only_row(log) == before


def test_begin_again_does_not_create_a_row(log: AsRunLog) -> None:
    assert not log.begin(occ(), at(6, 30), again=True)
    assert not log.has(occ())
    assert log.rows() == []


def test_finish_records_result_source_error_and_end(log: AsRunLog) -> None:
    log.begin(occ(), at(6, 30))
    log.finish(occ(), "played-fallback", at(6, 32), "espeak-ng", "edge: mất mạng")
    row = only_row(log)
    assert (row.result, row.source, row.error) == ("played-fallback", "espeak-ng", "edge: mất mạng")
    assert row.ended == at(6, 32).isoformat()
    assert row.started == at(6, 30).isoformat()


def test_finish_touches_only_its_own_row(log: AsRunLog) -> None:
    log.begin(occ("a"), at(6, 30))
    log.begin(occ("b"), at(6, 30))
    log.finish(occ("a"), "played", at(6, 32))
    results = {row.entry_id: row.result for row in log.rows()}
    assert results == {"a": "played", "b": PLAYING}


def test_decide_records_an_occurrence_that_does_not_air(log: AsRunLog) -> None:
    assert log.decide(occ(priority="priority"), "missed", "trễ 420 giây")
    row = only_row(log)
    assert (row.result, row.error, row.priority) == ("missed", "trễ 420 giây", "priority")
    assert (row.started, row.ended) == (None, None)


def test_decide_never_overwrites_a_row(log: AsRunLog) -> None:
    played(log, occ())
    assert not log.decide(occ(), "missed", "late")
    assert only_row(log).result == "played"
    assert log.decide(occ("other"), "skipped-quiet", "quiet hours")
    assert not log.decide(occ("other"), "failed", "no voice")
    assert {row.entry_id: row.error for row in log.rows()} == {
        "bluezone-sang": "",
        "other": "quiet hours",
    }


def test_decide_all_records_the_new_ones_in_one_go(log: AsRunLog) -> None:
    played(log, occ())
    many = [occ(), occ("chieu", at(14)), occ("toi", at(19))]
    assert log.decide_all(many, "missed", "Loa was not running") == many[1:]
    assert {row.entry_id: row.result for row in log.rows()} == {
        "bluezone-sang": "played",
        "chieu": "missed",
        "toi": "missed",
    }
    assert log.decide_all(many, "missed", "again") == []


def test_begin_after_decide_is_refused(log: AsRunLog) -> None:
    log.decide(occ(), "missed", "late")
    assert not log.begin(occ(), at(6, 45))
    assert only_row(log).result == "missed"


def test_has(log: AsRunLog) -> None:
    assert not log.has(occ())
    log.begin(occ(), at(6, 30))
    assert log.has(occ())
    assert log.has(occ(announcement="something else", priority="emergency"))
    assert not log.has(occ(scheduled=at(6, 31)))
    assert not log.has(occ("bluezone-chieu"))


# --- start-up ---------------------------------------------------------------------------------


def test_close_unfinished_interrupts_only_playing_rows(log: AsRunLog) -> None:
    log.begin(occ("a"), at(6, 30))
    log.begin(occ("b"), at(6, 31))
    played(log, occ("c"))
    log.decide(occ("d"), "missed", "late")
    log.begin(occ("e"), at(6, 30))
    log.finish(occ("e"), "interrupted", at(6, 31), error="emergency")
    before = {row.entry_id: row for row in log.rows()}

    assert log.close_unfinished(at(7), "Loa stopped") == 2

    after = {row.entry_id: row for row in log.rows()}
    for entry_id in ("a", "b"):
        assert after[entry_id].result == "interrupted"
        assert after[entry_id].ended == at(7).isoformat()
        assert after[entry_id].error == "Loa stopped"
        assert after[entry_id].started == before[entry_id].started
    for entry_id in ("c", "d", "e"):
        assert after[entry_id] == before[entry_id]
    assert log.close_unfinished(at(8), "again") == 0


# --- state ------------------------------------------------------------------------------------


def test_state_keys(log: AsRunLog) -> None:
    assert log.get_state("last-run") is None
    log.set_state("last-run", "2026-03-02T06:00:00+07:00")
    log.set_state("lỗi", "Lịch phát sai: dòng 3")
    assert log.get_state("last-run") == "2026-03-02T06:00:00+07:00"
    log.set_state("last-run", "2026-03-02T07:00:00+07:00")
    assert log.get_state("last-run") == "2026-03-02T07:00:00+07:00"
    assert log.get_state("lỗi") == "Lịch phát sai: dòng 3"
    assert log.rows() == []


# --- reading ----------------------------------------------------------------------------------


def test_rows_are_oldest_first_whatever_the_order_written(log: AsRunLog) -> None:
    for entry_id, hour in [("c", 17), ("a", 6), ("b", 11)]:
        log.decide(occ(entry_id, at(hour)), "missed", "")
    log.decide(occ("a2", at(11)), "missed", "")  # same time: by entry id
    assert [row.entry_id for row in log.rows()] == ["a", "a2", "b", "c"]


def test_rows_filter_on_the_instant_across_time_zones(log: AsRunLog) -> None:
    """Stored scheduled strings carry different offsets; the bounds compare instants."""
    log.decide(occ("utc-before", datetime(2026, 3, 1, 16, 59, tzinfo=UTC)), "missed", "")
    log.decide(occ("utc-inside", datetime(2026, 3, 1, 17, 0, tzinfo=UTC)), "missed", "")
    log.decide(occ("local-inside", at(8, day=2)), "missed", "")
    log.decide(occ("utc-late", datetime(2026, 3, 2, 16, 59, tzinfo=UTC)), "missed", "")
    log.decide(occ("local-after", at(0, day=3)), "missed", "")
    tokyo = timezone(timedelta(hours=9))
    log.decide(occ("tokyo-inside", datetime(2026, 3, 2, 9, 30, tzinfo=tokyo)), "missed", "")

    since, until = at(0, day=2), at(0, day=3)  # [2 March 00:00, 3 March 00:00) UTC+7
    found = log.rows(since, until)
    assert [row.entry_id for row in found] == [
        "utc-inside",  # 00:00 +07:00
        "tokyo-inside",  # 07:30 +07:00
        "local-inside",  # 08:00 +07:00
        "utc-late",  # 23:59 +07:00
    ]
    assert found[0].scheduled == "2026-03-01T17:00:00+00:00"  # stored as given
    # the same bounds given in UTC select the same rows
    assert log.rows(since.astimezone(UTC), until.astimezone(UTC)) == found


def test_rows_with_one_bound(log: AsRunLog) -> None:
    for hour in (6, 12, 18):
        log.decide(occ(f"h{hour}", at(hour)), "missed", "")
    assert [row.entry_id for row in log.rows(since=at(12))] == ["h12", "h18"]
    assert [row.entry_id for row in log.rows(until=at(12))] == ["h6"]
    assert [row.entry_id for row in log.rows()] == ["h6", "h12", "h18"]


def test_limit_keeps_the_newest_oldest_first(log: AsRunLog) -> None:
    for hour in (9, 6, 18, 12, 15):
        log.decide(occ(f"h{hour}", at(hour)), "missed", "")
    assert [row.entry_id for row in log.rows(limit=2)] == ["h15", "h18"]
    assert [row.entry_id for row in log.rows(limit=1)] == ["h18"]
    assert [row.entry_id for row in log.rows(until=at(13), limit=2)] == ["h9", "h12"]
    assert len(log.rows(limit=100)) == 5
    assert log.rows(limit=0) == []


def test_report_counts_played_and_fallback_over_total_per_entry(log: AsRunLog) -> None:
    for day, result in [(1, "played"), (2, "played-fallback"), (3, "interrupted")]:
        played(log, occ("bluezone-sang", at(6, 30, day=day)), result)
    log.decide(occ("bluezone-sang", at(6, 30, day=4)), "missed", "late")
    log.decide(occ("bluezone-sang", at(6, 30, day=5)), "skipped-quiet", "quiet")
    log.decide(occ("mua-bao", at(22, day=1), "mưa bão"), "failed", "no voice")
    log.begin(occ("mua-bao", at(22, day=2), "mưa bão"), at(22, day=2))  # still on the air
    played(log, occ("tiem-phong", at(8, day=10), "tiêm phòng"))
    # outside the month
    played(log, occ("bluezone-sang", at(6, 30, day=28, month=2)))
    played(log, occ("tiem-phong", at(0, day=1, month=4), "tiêm phòng"))

    report = log.report(at(0, day=1), at(0, day=1, month=4))
    assert report == [
        ItemReport("bluezone-sang", "bluezone", played=2, total=5),
        ItemReport("mua-bao", "mưa bão", played=0, total=2),
        ItemReport("tiem-phong", "tiêm phòng", played=1, total=1),
    ]
    assert log.report(at(0, day=1, month=5), at(0, day=1, month=6)) == []


# --- CSV --------------------------------------------------------------------------------------


NOT_JUDGED = ["", "", "", "", ""]
"""heard, heard_db, heard_delay_ms, heard_reason, audio_log of a row without a monitor."""


def test_csv_round_trips_with_vietnamese_text_and_empty_nones(
    log: AsRunLog, tmp_path: Path
) -> None:
    played(log, occ("bluezone-sang", at(6, 30), "Phòng chống dịch: đeo khẩu trang"))
    log.decide(
        occ("mua-bao", at(7), "Bão số 3", "emergency"),
        "failed",
        'Giọng "Hoài My" lỗi, thử lại\ndòng hai',
    )
    rows = log.rows()

    out = io.StringIO()
    write_csv(rows, out, raw=True)
    parsed = list(csv.reader(io.StringIO(out.getvalue())))
    assert parsed[0] == list(COLUMNS)
    assert parsed[1] == [
        "bluezone-sang",
        "2026-03-02T06:30:00+07:00",
        "Phòng chống dịch: đeo khẩu trang",
        "normal",
        "2026-03-02T06:30:00+07:00",
        "2026-03-02T06:32:00+07:00",
        "played",
        "edge",
        "",
        *NOT_JUDGED,
    ]
    assert parsed[2] == [
        "mua-bao",
        "2026-03-02T07:00:00+07:00",
        "Bão số 3",
        "emergency",
        "",  # never started
        "",  # never ended
        "failed",
        "",
        'Giọng "Hoài My" lỗi, thử lại\ndòng hai',
        *NOT_JUDGED,
    ]
    assert len(parsed) == 3

    # the same through a real UTF-8 file, as `loa log --csv > file` writes it
    path = tmp_path / "log.csv"
    with path.open("w", encoding="utf-8", newline="") as file:
        write_csv(rows, file, raw=True)
    with path.open(encoding="utf-8", newline="") as file:
        assert list(csv.reader(file)) == parsed


def test_csv_for_people_has_a_bom_vietnamese_words_and_the_whole_text(log: AsRunLog) -> None:
    """Excel reads a BOM as UTF-8; an ad-hoc item shows what it said, at its air time."""
    text = "Kính mời bà con tổ dân phố số 3 họp lúc 19 giờ tối nay tại nhà văn hóa xã. " * 2
    say = occ("say", at(6, 30), text.strip(), "emergency")
    log.begin(say, at(6, 31))
    log.finish(say, "played", at(6, 33), "espeak")
    out = io.StringIO()
    write_csv(log.rows(), out)
    assert out.getvalue().startswith("\ufeff")
    heading, row = csv.reader(io.StringIO(out.getvalue().removeprefix("\ufeff")))
    assert heading[0] == "Thời điểm phát" and "entry_id" not in heading
    assert row[:5] == ["02/03/2026 06:31:00", "đọc ngay", text.strip(), "khẩn cấp", "đã phát"]


def test_csv_of_no_rows_is_the_header(log: AsRunLog) -> None:
    out = io.StringIO()
    write_csv([], out, raw=True)
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [list(COLUMNS)]


# --- durability -------------------------------------------------------------------------------

CHILD = """
import sys, time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo
from broadcaster.core.models import Occurrence
from broadcaster.onair.asrun import AsRunLog

tz = ZoneInfo("Asia/Ho_Chi_Minh")
log = AsRunLog.for_station(Path(sys.argv[1]))
done = Occurrence("bluezone-sang", datetime(2026, 3, 2, 6, 30, tzinfo=tz), "bluezone", "normal")
assert log.begin(done, done.scheduled)
log.finish(done, "played", datetime(2026, 3, 2, 6, 32, tzinfo=tz), "edge")
on_air = Occurrence("mua-bao", datetime(2026, 3, 2, 7, 0, tzinfo=tz), "mưa bão", "emergency")
assert log.begin(on_air, on_air.scheduled)
print("on air", flush=True)
time.sleep(60)
"""


def test_a_row_begun_survives_kill_9(tmp_path: Path) -> None:
    station = tmp_path / "station"
    station.mkdir()
    # the internet guard's log variable is inherited from the test's environment
    path = os.pathsep.join([str(ROOT / "tests" / "netguard"), str(ROOT)])
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(station)],
        env={**os.environ, "PYTHONPATH": path},
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line == "on air\n", child.communicate(timeout=10)
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=10) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate(timeout=10)

    log = AsRunLog.for_station(station)
    try:
        results = {row.entry_id: row.result for row in log.rows()}
        assert results == {"bluezone-sang": "played", "mua-bao": PLAYING}
        done = occ("bluezone-sang", at(6, 30))
        on_air = occ("mua-bao", at(7), "mưa bão", "emergency")
        assert not log.begin(done, at(8))  # nothing that completed plays again
        assert not log.begin(on_air, at(8))  # nor what was on the air

        assert log.close_unfinished(at(8), "Loa stopped") == 1
        rows = {row.entry_id: row for row in log.rows()}
        assert rows["mua-bao"].result == "interrupted"
        assert rows["mua-bao"].announcement == "mưa bão"
        assert rows["mua-bao"].ended == at(8).isoformat()
        assert rows["bluezone-sang"].result == "played"
    finally:
        log.close()


def fill(path: Path) -> None:
    """Write zeros to `path` until its file system has not one byte left."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        for size in (1 << 16, 1 << 12, 1 << 9, 1):
            block = bytes(size)
            try:
                while True:
                    os.write(descriptor, block)
            except OSError as error:
                assert error.errno == 28, error  # ENOSPC
    finally:
        os.close(descriptor)


def test_a_random_file_is_a_disk_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / LOG_FILE
    path.write_bytes(random.Random(39).randbytes(16384))
    with pytest.raises(DiskError) as caught:
        AsRunLog(path)
    assert str(path) in caught.value.message
    assert caught.value.exit_code == ExitCode.DISK
    assert path.read_bytes() == random.Random(39).randbytes(16384)  # left for the officer


def damage_after_first_page(path: Path) -> None:
    """Keep the header and schema page, overwrite every other page with noise."""
    log = AsRunLog(path)
    for day in range(1, 29):
        log.decide(occ("entry-6", at(6, day=day), "thông báo " * 100), "missed", "late")
    log.set_state("last-run", "yesterday")
    log.close()
    assert not path.with_name(path.name + "-wal").exists()  # all in the main file
    data = bytearray(path.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    assert len(data) > 4 * page_size
    data[page_size:] = random.Random(5).randbytes(len(data) - page_size)
    path.write_bytes(bytes(data))


DAMAGED_USES: dict[str, Callable[[AsRunLog], object]] = {
    "close_unfinished": lambda log: log.close_unfinished(at(8), "Loa stopped"),
    "begin": lambda log: log.begin(occ("new"), at(8)),
    "rows": lambda log: log.rows(),
    "has": lambda log: log.has(occ("entry-6", at(6))),
    "report": lambda log: log.report(at(0, day=1), at(0, day=1, month=4)),
    "get_state": lambda log: log.get_state("last-run"),
}


@pytest.mark.parametrize("use", list(DAMAGED_USES))
def test_a_log_damaged_inside_is_a_disk_error_naming_the_file(tmp_path: Path, use: str) -> None:
    path = tmp_path / LOG_FILE
    damage_after_first_page(path)

    def open_and_use() -> None:
        log = AsRunLog(path)
        try:
            DAMAGED_USES[use](log)
        finally:
            log.close()

    with pytest.raises(DiskError) as caught:
        open_and_use()
    assert str(path) in caught.value.message


def test_a_failed_open_leaves_no_file_open(tmp_path: Path) -> None:
    path = tmp_path / LOG_FILE
    path.write_bytes(b"not a database" * 1000)
    gc.disable()  # the leak must be visible without a collection happening to run
    try:
        with pytest.raises(DiskError):
            AsRunLog(path)
        open_files = [os.readlink(fd) for fd in Path("/proc/self/fd").iterdir() if fd.exists()]
    finally:
        gc.enable()
        gc.collect()
    assert str(path) not in open_files


def test_a_full_disk_is_a_disk_error_and_earlier_rows_stay(small_disk: Path) -> None:
    log = AsRunLog.for_station(small_disk)
    try:
        for hour in range(6, 12):
            played(log, occ("bluezone-sang", at(hour)))
        filler = small_disk / "filler"
        fill(filler)

        writes: dict[str, Callable[[], object]] = {
            "begin": lambda: log.begin(occ("mua-bao", at(13)), at(13)),
            "decide": lambda: log.decide(occ("mua-bao", at(14)), "missed", "x" * 20000),
            "set_state": lambda: log.set_state("last-run", "y" * 20000),
        }
        for name, write in writes.items():
            with pytest.raises(DiskError) as caught:
                write()
            assert str(log.path) in caught.value.message, name
            assert caught.value.exit_code == ExitCode.DISK

        rows = log.rows()
        assert [row.entry_id for row in rows] == ["bluezone-sang"] * 6
        assert all(row.result == "played" for row in rows)
        assert log.has(occ("bluezone-sang", at(6)))
        assert not log.has(occ("mua-bao", at(13)))
        assert log.get_state("last-run") is None

        # once the officer frees space, the same log writes again
        filler.unlink()
        assert log.begin(occ("mua-bao", at(13)), at(13))
        assert len(log.rows()) == 7
    finally:
        log.close()


def test_opening_on_a_full_disk_says_the_disk_is_full(small_disk: Path) -> None:
    fill(small_disk / "filler")
    with pytest.raises(DiskError) as caught:
        AsRunLog.for_station(small_disk)
    message = caught.value.message
    del caught
    gc.collect()  # a failed open leaks its connection until collected; the disk must unmount
    assert str(small_disk) in message
    assert _("the disk is full") in message


# --- threads ----------------------------------------------------------------------------------


def test_threads_share_one_log(log: AsRunLog) -> None:
    errors: list[BaseException] = []
    start = at(0, day=1)

    def work(thread: int) -> None:
        try:
            for n in range(200):
                occurrence = occ(f"thread-{thread}", start + timedelta(minutes=n))
                assert log.begin(occurrence, occurrence.scheduled)
                log.finish(occurrence, "played", occurrence.scheduled, f"source-{thread}")
                assert log.has(occurrence)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(thread,)) for thread in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    rows = log.rows()
    assert len(rows) == 800
    assert all(row.result == "played" for row in rows)
    assert {(row.entry_id, row.source) for row in rows} == {
        (f"thread-{n}", f"source-{n}") for n in range(4)
    }
    assert log.report(start, start + timedelta(days=1)) == [
        ItemReport(f"thread-{n}", "bluezone", 200, 200) for n in range(4)
    ]
