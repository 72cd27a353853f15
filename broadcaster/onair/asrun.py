"""The as-run log: what aired, when, and why not — one SQLite row per occurrence.

A row is unique per (entry id, scheduled time) and is written *before* the first sound, so after a
crash or a power cut an occurrence that started is never played a second time: its row says
`playing` and is closed as `interrupted` at the next start. WAL with full sync keeps the log
whole through `kill -9` and power cuts.

With an on-air monitor, a row also says what was *heard* of it, once judged (a few seconds after
its end): `yes`, `partly`, `no`, or `unknown` with the reason (the monitor could not listen). An
empty `heard` means nobody judged the row: no monitor, or the row did not air. The monitor's
alarms (dead air, off the air, unexpected sound …) have a table of their own.
"""

import csv
import sqlite3
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TextIO

from broadcaster.core.models import (
    AIRED,
    Alarm,
    AlarmKind,
    Heard,
    Hearing,
    Occurrence,
    Priority,
    Result,
)
from broadcaster.core.playout import relayed_source
from broadcaster.database import Database
from broadcaster.i18n import _

LOG_FILE = "asrun.db"
PLAYING = Result.PLAYING
PLAYED = AIRED

_SCHEMA = """
CREATE TABLE IF NOT EXISTS asrun (
    entry_id TEXT NOT NULL,
    scheduled TEXT NOT NULL,
    scheduled_ts REAL NOT NULL,
    announcement TEXT NOT NULL,
    priority TEXT NOT NULL,
    started TEXT,
    ended TEXT,
    result TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '',
    heard TEXT NOT NULL DEFAULT '',
    heard_db REAL,
    heard_delay_ms INTEGER,
    heard_reason TEXT NOT NULL DEFAULT '',
    audio_log TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (entry_id, scheduled)
);
CREATE INDEX IF NOT EXISTS asrun_by_time ON asrun (scheduled_ts);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS relay_dropouts (
    entry_id TEXT NOT NULL,
    scheduled TEXT NOT NULL,
    started TEXT NOT NULL,
    seconds REAL NOT NULL,
    cause TEXT NOT NULL,
    url TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS relay_dropouts_by_row ON relay_dropouts (entry_id, scheduled);
CREATE TABLE IF NOT EXISTS monitor_alarms (
    kind TEXT NOT NULL,
    started TEXT NOT NULL,
    started_ts REAL NOT NULL,
    ended TEXT,
    detail TEXT NOT NULL,
    PRIMARY KEY (kind, started)
);
CREATE INDEX IF NOT EXISTS monitor_alarms_by_time ON monitor_alarms (started_ts);
"""
ADDED_COLUMNS = {
    "heard": "TEXT NOT NULL DEFAULT ''",
    "heard_db": "REAL",
    "heard_delay_ms": "INTEGER",
    "heard_reason": "TEXT NOT NULL DEFAULT ''",
    "audio_log": "TEXT NOT NULL DEFAULT ''",
}
"""Columns added after the first release: a log written by an older Loa gets them at opening
(its rows: not judged)."""
COLUMNS = (
    "entry_id",
    "scheduled",
    "announcement",
    "priority",
    "started",
    "ended",
    "result",
    "source",
    "error",
    "heard",
    "heard_db",
    "heard_delay_ms",
    "heard_reason",
    "audio_log",
)


@dataclass(frozen=True)
class Row:
    entry_id: str
    scheduled: str
    announcement: str
    priority: str
    started: str | None
    ended: str | None
    result: str
    source: str
    error: str
    heard: str = ""
    """yes, partly, no, unknown (the reason says why); empty: not judged (no monitor)."""
    heard_db: float | None = None
    heard_delay_ms: int | None = None
    heard_reason: str = ""
    audio_log: str = ""
    """Where the row's sound is in the daily audio log, `FILE@SECONDS`."""


@dataclass(frozen=True)
class Dropout:
    """A stretch of a relay in which its source was not heard."""

    started: datetime
    seconds: float
    cause: str
    """eof, stall, http-4xx, http-5xx, decode, connect, device or exit."""
    url: str


@dataclass(frozen=True)
class RowFilter:
    """Which rows an officer looks for: scheduled in [since, until), with this result and
    priority (empty: any), holding `text` in the entry id, the announcement (or the text read
    out), the voice or the reason, in any case."""

    since: datetime | None = None
    until: datetime | None = None
    result: str = ""
    priority: str = ""
    text: str = ""


SEARCHED = ("entry_id", "announcement", "source", "error")
"""The columns a RowFilter's text is looked for in."""
Cursor = tuple[float, str]
"""Where a page of rows ends: the last row's scheduled time (as stored) and entry id."""


@dataclass(frozen=True)
class ItemReport:
    entry_id: str
    announcement: str
    played: int
    total: int
    priority: str = Priority.NORMAL
    heard: int = 0
    """Rows the monitor heard whole."""
    partly: int = 0
    not_heard: int = 0
    """Rows that aired (as sent) and that the monitor did not hear at all."""

    @property
    def judged(self) -> int:
        return self.heard + self.partly + self.not_heard


class AsRunLog:
    """The station's as-run log; safe to share between the daemon's threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._database = Database(path, _SCHEMA, _cannot_write, _damaged)
        self._add_missing_columns()

    @classmethod
    def for_station(cls, directory: Path) -> "AsRunLog":
        return cls(directory / LOG_FILE)

    def close(self) -> None:
        self._database.close()

    def begin(self, occurrence: Occurrence, started: datetime, again: bool = False) -> bool:
        """Mark an occurrence as on the air; False if it already has a row (it aired, or was
        decided). `again` re-opens an interrupted occurrence that the playout queued again."""
        with self._database.write() as db:
            if again:
                changed = db.execute(
                    "UPDATE asrun SET result = ?, started = ?, ended = NULL WHERE entry_id = ? "
                    "AND scheduled = ? AND result = 'interrupted'",
                    (PLAYING, started.isoformat(), *_key(occurrence)),
                ).rowcount
                return changed == 1
            return self._insert(db, occurrence, PLAYING, started=started)

    def finish(
        self,
        occurrence: Occurrence,
        result: str,
        ended: datetime,
        source: str = "",
        error: str = "",
    ) -> None:
        with self._database.write() as db:
            db.execute(
                "UPDATE asrun SET result = ?, ended = ?, source = ?, error = ? "
                "WHERE entry_id = ? AND scheduled = ?",
                (result, ended.isoformat(), source, error, *_key(occurrence)),
            )

    def record_dropouts(self, occurrence: Occurrence, dropouts: list[Dropout]) -> None:
        """A relay's dropouts, all of them (those of an earlier stretch replaced): the row's
        reason says them in words, this table keeps them for whoever counts."""
        with self._database.write() as db:
            db.execute(
                "DELETE FROM relay_dropouts WHERE entry_id = ? AND scheduled = ?",
                _key(occurrence),
            )
            db.executemany(
                "INSERT INTO relay_dropouts (entry_id, scheduled, started, seconds, cause, url) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (*_key(occurrence), d.started.isoformat(), d.seconds, d.cause, d.url)
                    for d in dropouts
                ],
            )

    def hear(self, occurrence: Occurrence, hearing: Hearing) -> bool:
        """The monitor's verdict on a row's sound, once judged; False if the row is gone."""
        with self._database.write() as db:
            return (
                db.execute(
                    "UPDATE asrun SET heard = ?, heard_db = ?, heard_delay_ms = ?, "
                    "heard_reason = ?, audio_log = ? WHERE entry_id = ? AND scheduled = ?",
                    (
                        str(hearing.heard),
                        hearing.loudness_db,
                        hearing.delay_ms,
                        hearing.reason,
                        hearing.audio_log,
                        *_key(occurrence),
                    ),
                ).rowcount
                == 1
            )

    def record_alarm(self, alarm: Alarm) -> None:
        """An alarm as it starts, and again when it ends (the same kind and start)."""
        with self._database.write() as db:
            db.execute(
                "INSERT INTO monitor_alarms (kind, started, started_ts, ended, detail) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (kind, started) DO UPDATE SET "
                "ended = excluded.ended, detail = excluded.detail",
                (
                    str(alarm.kind),
                    alarm.started.isoformat(),
                    alarm.started.timestamp(),
                    alarm.ended.isoformat() if alarm.ended else None,
                    alarm.detail,
                ),
            )

    def alarms(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        active_only: bool = False,
        limit: int = -1,
    ) -> list[Alarm]:
        """The monitor's alarms that started in [since, until), oldest first (`limit` keeps the
        newest); `active_only`: those that last now."""
        bounds = (
            since.timestamp() if since else float("-inf"),
            until.timestamp() if until else float("inf"),
        )
        lasting = " AND ended IS NULL" if active_only else ""
        with self._database.read() as db:
            found = db.execute(
                "SELECT kind, started, ended, detail FROM (SELECT * FROM monitor_alarms WHERE "
                f"started_ts >= ? AND started_ts < ?{lasting} ORDER BY started_ts DESC LIMIT ?) "
                "ORDER BY started_ts, kind",
                (*bounds, limit),
            ).fetchall()
        return [_alarm(*row) for row in found]

    def close_alarms(self, ended: datetime) -> int:
        """At start-up and shutdown: alarms left lasting by a monitor that is gone end now."""
        with self._database.write() as db:
            return db.execute(
                "UPDATE monitor_alarms SET ended = ? WHERE ended IS NULL", (ended.isoformat(),)
            ).rowcount

    def dropouts(self, entry_id: str, scheduled: str) -> list[Dropout]:
        with self._database.read() as db:
            found = db.execute(
                "SELECT started, seconds, cause, url FROM relay_dropouts "
                "WHERE entry_id = ? AND scheduled = ? ORDER BY started",
                (entry_id, scheduled),
            ).fetchall()
        return [Dropout(datetime.fromisoformat(row[0]), *row[1:]) for row in found]

    def decide(self, occurrence: Occurrence, result: str, reason: str) -> bool:
        """Record an occurrence that does not air (missed, skipped-quiet, failed before its
        start); False if it already has a row."""
        with self._database.write() as db:
            return self._insert(db, occurrence, result, error=reason)

    def decide_all(
        self, occurrences: list[Occurrence], result: str, reason: str
    ) -> list[Occurrence]:
        """`decide` for many occurrences in one transaction (one disk sync, not one each): those
        that had no row yet."""
        with self._database.write() as db:
            return [o for o in occurrences if self._insert(db, o, result, error=reason)]

    def has(self, occurrence: Occurrence) -> bool:
        with self._database.read() as db:
            found = db.execute(
                "SELECT 1 FROM asrun WHERE entry_id = ? AND scheduled = ?", _key(occurrence)
            ).fetchone()
        return found is not None

    def unfinished(self) -> list[tuple[str, str]]:
        """(entry id, scheduled) of what was on the air when Loa died."""
        with self._database.read() as db:
            return db.execute(
                "SELECT entry_id, scheduled FROM asrun WHERE result = ?", (PLAYING,)
            ).fetchall()

    def close_unfinished(self, ended: datetime, reason: str) -> int:
        """At start-up: what was on the air when Loa died is recorded as interrupted, and is not
        played again."""
        with self._database.write() as db:
            return db.execute(
                "UPDATE asrun SET result = 'interrupted', ended = ?, error = ? WHERE result = ?",
                (ended.isoformat(), reason, PLAYING),
            ).rowcount

    def get_state(self, key: str) -> str | None:
        with self._database.read() as db:
            found = db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return found[0] if found else None

    def set_state(self, key: str, value: str) -> None:
        with self._database.write() as db:
            db.execute(
                "INSERT INTO state (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def rows(
        self, since: datetime | None = None, until: datetime | None = None, limit: int = -1
    ) -> list[Row]:
        """Rows by scheduled time in [since, until), oldest first; `limit` keeps the newest."""
        columns = ", ".join(COLUMNS)
        bounds = (
            since.timestamp() if since else float("-inf"),
            until.timestamp() if until else float("inf"),
        )
        with self._database.read() as db:
            found = db.execute(
                f"SELECT {columns} FROM (SELECT * FROM asrun WHERE scheduled_ts >= ? AND "
                "scheduled_ts < ? ORDER BY scheduled_ts DESC LIMIT ?) "
                "ORDER BY scheduled_ts, entry_id",
                (*bounds, limit),
            ).fetchall()
        return [Row(*row) for row in found]

    def matching(
        self,
        wanted: RowFilter,
        limit: int,
        cursor: Cursor | None = None,
        newest_first: bool = True,
    ) -> tuple[list[Row], Cursor | None]:
        """At most `limit` rows matching `wanted` beyond `cursor` (older when `newest_first`,
        else newer), and the cursor of the next page (None: no more rows). A page of the log
        reads only its rows, not the whole year."""
        clauses = ["scheduled_ts >= ?", "scheduled_ts < ?"]
        values: list[object] = [
            wanted.since.timestamp() if wanted.since else float("-inf"),
            wanted.until.timestamp() if wanted.until else float("inf"),
        ]
        if cursor is not None:
            beyond = "<" if newest_first else ">"
            clauses.append(
                f"(scheduled_ts {beyond} ? OR (scheduled_ts = ? AND entry_id {beyond} ?))"
            )
            values += [cursor[0], cursor[0], cursor[1]]
        for column, value in (("result", wanted.result), ("priority", wanted.priority)):
            if value:
                clauses.append(f"{column} = ?")
                values.append(value)
        if wanted.text:
            clauses.append(
                "("
                + " OR ".join(
                    f"({column} LIKE ? ESCAPE '\\' AND loa_contains({column}, ?))"
                    for column in SEARCHED
                )
                + ")"
            )
            values += [_like_superset(wanted.text), _folded(wanted.text)] * len(SEARCHED)
        order = "DESC" if newest_first else "ASC"
        with self._database.read() as db:
            db.create_function("loa_contains", 2, _contains, deterministic=True)
            found = db.execute(
                f"SELECT {', '.join(COLUMNS)}, scheduled_ts FROM asrun WHERE "
                f"{' AND '.join(clauses)} ORDER BY scheduled_ts {order}, entry_id {order} "
                "LIMIT ?",
                (*values, limit + 1),
            ).fetchall()
        more = len(found) > limit
        last = found[limit - 1] if more and limit > 0 else None
        return [Row(*row[:-1]) for row in found[:limit]], (
            (last[-1], last[0]) if last is not None else None
        )

    def row(self, entry_id: str, scheduled: str) -> Row | None:
        """One occurrence's row (its key as stored), for whoever reports it onwards."""
        with self._database.read() as db:
            found = db.execute(
                f"SELECT {', '.join(COLUMNS)} FROM asrun WHERE entry_id = ? AND scheduled = ?",
                (entry_id, scheduled),
            ).fetchone()
        return Row(*found) if found else None

    def report(self, since: datetime, until: datetime) -> list[ItemReport]:
        """Played / total per entry over [since, until), as officers report to the district."""
        played = ", ".join(f"'{result}'" for result in PLAYED)
        with self._database.read() as db:
            found = db.execute(
                f"SELECT entry_id, announcement, SUM(result IN ({played})), COUNT(*), priority, "
                "SUM(heard = ?), SUM(heard = ?), SUM(heard = ?) FROM asrun "
                "WHERE scheduled_ts >= ? AND scheduled_ts < ? "
                "GROUP BY entry_id, announcement, priority ORDER BY entry_id, announcement",
                (Heard.YES, Heard.PARTLY, Heard.NO, since.timestamp(), until.timestamp()),
            ).fetchall()
        return [ItemReport(*row) for row in found]

    def _add_missing_columns(self) -> None:
        with self._database.write() as db:
            have = {column[1] for column in db.execute("PRAGMA table_info(asrun)")}
            for name, kind in ADDED_COLUMNS.items():
                if name not in have:
                    db.execute(f"ALTER TABLE asrun ADD COLUMN {name} {kind}")

    def _insert(
        self,
        db: sqlite3.Connection,
        occurrence: Occurrence,
        result: str,
        *,
        started: datetime | None = None,
        error: str = "",
    ) -> bool:
        return (
            db.execute(
                "INSERT OR IGNORE INTO asrun (entry_id, scheduled, scheduled_ts, announcement, "
                "priority, started, result, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    *_key(occurrence),
                    occurrence.scheduled.timestamp(),
                    occurrence.announcement,
                    occurrence.priority,
                    started.isoformat() if started else None,
                    result,
                    error,
                ),
            ).rowcount
            == 1
        )


def _alarm(kind: str, started: str, ended: str | None, detail: str) -> Alarm:
    return Alarm(
        AlarmKind(kind),
        datetime.fromisoformat(started),
        datetime.fromisoformat(ended) if ended else None,
        detail,
    )


def _cannot_write(path: Path, reason: str) -> str:
    return _("Cannot write the as-run log {file}: {reason}.").format(file=path, reason=reason)


def _damaged(path: Path) -> str:
    return _(
        "The as-run log {file} is damaged: move it away (Loa then starts a new log) and keep it "
        "for the record."
    ).format(file=path)


ADHOC_IDS = ("say", "play", "relay")
"""The entry ids of ad-hoc items (onair/adhoc.py): their announcement is what they aired."""


def result_label(result: str) -> str:
    """A result of the as-run log in the officer's words."""
    labels: dict[str, str] = {
        Result.PLAYED: _("played"),
        Result.PLAYED_FALLBACK: _("played (fallback)"),
        Result.MISSED: _("missed"),
        Result.SKIPPED_QUIET: _("held: quiet hours"),
        Result.INTERRUPTED: _("interrupted"),
        Result.FAILED: _("failed"),
        Result.EXPIRED: _("expired: arrived too late"),
        Result.RELAYED: _("relayed"),
        Result.RELAYED_WITH_DROPOUTS: _("relayed, with dropouts"),
        Result.PLAYING: _("on air"),
    }
    return labels.get(result, result)


def heard_label(heard: str) -> str:
    """What the monitor heard of a row, in the officer's words; empty when not judged."""
    labels: dict[str, str] = {
        Heard.YES: _("heard"),
        Heard.PARTLY: _("partly heard"),
        Heard.NO: _("NOT heard"),
        Heard.UNKNOWN: _("not known"),
    }
    return labels.get(heard, heard)


def hearing_note(row: Row) -> str:
    """A judged row's measures and reason, for the log: "-23 dB, 180 ms; 4 s not heard"."""
    measures = []
    if row.heard_db is not None:
        measures.append(_("{db:.0f} dB").format(db=row.heard_db))
    if row.heard_delay_ms is not None:
        measures.append(_("delay {ms} ms").format(ms=row.heard_delay_ms))
    return "; ".join(part for part in (", ".join(measures), row.heard_reason) if part)


def alarm_label(kind: str) -> str:
    """A kind of monitor alarm in the officer's words."""
    labels: dict[str, str] = {
        AlarmKind.DEAD_AIR: _("dead air"),
        AlarmKind.OFF_AIR: _("off the air"),
        AlarmKind.UNEXPECTED_SOUND: _("unexpected sound"),
        AlarmKind.TOO_LOUD: _("too loud"),
        AlarmKind.DEVICE: _("monitor device"),
        AlarmKind.AUDIO_LOG: _("audio log"),
    }
    return labels.get(kind, kind)


NOT_TROUBLE = (AlarmKind.UNEXPECTED_SOUND,)
"""Alarms that are entries of the log, not problems: someone spoke at the microphone."""


def aired_label(announcement: str) -> str:
    """What an occurrence aired, for views: its announcement, or "Relay vov1"."""
    source = relayed_source(announcement)
    return announcement if source is None else _("Relay {source}").format(source=source)


def priority_label(priority: str) -> str:
    """A priority in the officer's words."""
    labels: dict[str, str] = {
        Priority.NORMAL: _("normal"),
        Priority.PRIORITY: _("priority"),
        Priority.EMERGENCY: _("emergency"),
    }
    return labels.get(priority, priority)


def entry_label(entry_id: str, priority: str = Priority.NORMAL) -> str:
    """What a row's entry was: a schedule entry's id, or what an officer asked for at once
    (`loa say`, `loa play`), marked when it was an emergency."""
    label = {
        "say": _("read out now"),
        "play": _("played now"),
        "relay": _("relayed now"),
    }.get(entry_id, entry_id)
    if priority == Priority.EMERGENCY:
        label = _("{label} (EMERGENCY)").format(label=label)
    return label


def aired_at(row: Row) -> str:
    """When a row aired: an ad-hoc item's air time (it was asked for earlier), else its
    scheduled time."""
    return row.started if row.entry_id in ADHOC_IDS and row.started else row.scheduled


def write_csv(rows: list[Row], out: TextIO, raw: bool = False, heading: bool = True) -> None:
    """The log for a spreadsheet: headings, times, results and priorities in the officer's
    words, with a UTF-8 BOM so that Excel shows the diacritics; `raw`: the stored columns and
    values, for other programs; without `heading`, the rows only (the next part of a download
    that is written in parts)."""
    writer = csv.writer(out)
    if raw:
        if heading:
            writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow(
                [
                    getattr(row, column) if getattr(row, column) is not None else ""
                    for column in COLUMNS
                ]
            )
        return
    if heading:
        out.write("\ufeff")
        writer.writerow(
            [
                _("Time"),
                _("Entry"),
                _("Announcement or text"),
                _("Priority"),
                _("Result"),
                _("Heard"),
                _("Ended"),
                _("Voice"),
                _("Reason"),
            ]
        )
    for row in rows:
        writer.writerow(
            [
                _clock(aired_at(row)),
                entry_label(row.entry_id),
                aired_label(row.announcement),
                priority_label(row.priority),
                result_label(row.result),
                heard_label(row.heard),
                _clock(row.ended),
                row.source,
                row.error,
            ]
        )


def _clock(iso: str | None) -> str:
    return f"{datetime.fromisoformat(iso):%d/%m/%Y %H:%M:%S}" if iso else ""


def _folded(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def _like_superset(text: str) -> str:
    """A LIKE pattern that every text holding `text` in any case matches, and most others do
    not: SQLite checks it in C, so that only those rows reach `_contains` in Python (a call per
    row would double the time of a search through a year). LIKE ignores the case of ASCII
    letters only, so each run of other letters becomes `%`."""
    pattern = ["%"]
    for character in unicodedata.normalize("NFC", text):
        if character.isascii():
            pattern.append("\\" + character if character in "%_\\" else character)
        elif pattern[-1] != "%":
            pattern.append("%")
    return "".join(pattern) + ("" if pattern[-1] == "%" else "%")


def _contains(haystack: str | None, needle: str) -> bool:
    return needle in _folded(haystack or "")


def _key(occurrence: Occurrence) -> tuple[str, str]:
    return occurrence.entry_id, occurrence.scheduled.isoformat()
