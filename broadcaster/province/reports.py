"""What a station tells its province: presence, a heartbeat every 30 s, and one as-run row per
occurrence — each row delivered at least once, whatever the network or a `kill -9` does.

As-run rows go through an outbox (SQLite, WAL): a row is stored before it is published and
deleted only when the broker acknowledges it (PUBACK), so rows finalized while the link was down
all go out at the next connection. Its commits are not synced to the disk one by one: the as-run
log, synced before each row's first sound and at its end, is what keeps a row over a power cut.
The outbox is reconciled with the as-run log itself at start, at each connection and every few
minutes, so a row finalized just before a crash (before it reached the outbox) or closed by the
daemon without an event is still reported. The province
keeps one row per (station, entry, scheduled): duplicates cost nothing, losses are not allowed.

Heartbeats are QoS 0, so they never fill the broker's queue for an offline province. Nothing
here raises into its caller (the link's callbacks, the event dispatcher): the air never waits
on the network, and a broken outbox is logged and shown in the heartbeat.
"""

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, Protocol, TypeVar

from broadcaster import __version__
from broadcaster.control.protocol import Refused, Reply, Status, StatusReply
from broadcaster.core.models import Hearing, Occurrence, Priority, Result
from broadcaster.database import Database
from broadcaster.errors import LoaError
from broadcaster.i18n import _
from broadcaster.onair.asrun import LOG_FILE, PLAYING, AsRunLog, Row
from broadcaster.onair.events import Listener
from broadcaster.province import messages, topics
from broadcaster.province.landing import campaign_of

if TYPE_CHECKING:
    from broadcaster.onair.daemon import Daemon

log = logging.getLogger("loa")

HEARTBEAT_EVERY_S = 30.0
"""How often the link calls `beat`."""
SURVEY_EVERY_S = 300.0
"""How often a beat also reconciles the outbox with the as-run log."""
RECONCILE_DAYS = 31
"""As-run rows this recent are reported if the province never acknowledged them."""
FORGET_DAYS = 40
"""Acknowledged keys are kept this long: longer than RECONCILE_DAYS, so none is sent twice."""
EARLY_ACK_S = 60.0
"""A PUBACK may come before `publish` has returned its mid; such an ack is kept this long (mids
repeat only after 65,535 publishes)."""
MAX_ERRORS = 20
MAX_ERROR_CHARS = 1000
SOFTWARE = __version__

Publish = Callable[[str, bytes, int, bool], int | None]
"""(topic, payload, qos, retain) → the MQTT message id, or None when offline."""


class StationView(Protocol):
    """What the reports need of a running station: small, so that a benchmark can run thousands
    of light stations with honest stand-ins."""

    @property
    def asrun_path(self) -> Path:
        """The station's as-run log (SQLite), read with a connection of the reports' own."""

    def now(self) -> datetime:
        """The station's clock (aware): the heartbeat carries it, the province computes the
        offset."""

    def status(self) -> Reply:
        """The control protocol's answer to Status: on air, queue, reload error, sound, the
        speech ready for the next 48 hours."""


class DaemonView:
    """The StationView of a running daemon: its control protocol, its clock, its files."""

    def __init__(self, daemon: "Daemon") -> None:
        self._daemon = daemon

    @property
    def asrun_path(self) -> Path:
        return self._daemon.directory / LOG_FILE

    def now(self) -> datetime:
        return self._daemon.now()

    def status(self) -> Reply:
        return self._daemon.handle(Status())


# The outbox -------------------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    entry_id TEXT NOT NULL,
    scheduled TEXT NOT NULL,
    scheduled_ts REAL NOT NULL,
    result TEXT NOT NULL,
    ended TEXT,
    payload BLOB NOT NULL,
    heard TEXT NOT NULL DEFAULT '',
    UNIQUE (entry_id, scheduled)
);
CREATE TABLE IF NOT EXISTS reported (
    entry_id TEXT NOT NULL,
    scheduled TEXT NOT NULL,
    scheduled_ts REAL NOT NULL,
    result TEXT NOT NULL,
    ended TEXT,
    heard TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (entry_id, scheduled)
);
CREATE INDEX IF NOT EXISTS reported_by_time ON reported (scheduled_ts);
"""
Version = tuple[str, str | None, str]
"""What identifies one state of an as-run row: its result, its end (a row interrupted, then
played again, is reported again) and what the on-air monitor heard of it (judged after it was
sent, it is sent again: the province keeps the last)."""


class Outbox:
    """As-run rows waiting for the broker's PUBACK, and the keys it acknowledged. Ids never
    repeat (AUTOINCREMENT), so a late ack of a replaced row deletes nothing."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._database = Database(path, _SCHEMA, _cannot_write, _damaged)
        with self._database.read() as db:
            # No disk sync at each commit (a `kill -9` keeps all, a power cut may take the
            # last few): the as-run log is what keeps a row; a row lost from here is found
            # again by the reconciliation, an acknowledgement lost sends a row twice.
            db.execute("PRAGMA synchronous = NORMAL")
        with self._database.write() as db:  # an outbox of a Loa before the monitor
            for table in ("outbox", "reported"):
                if "heard" not in {
                    column[1] for column in db.execute(f"PRAGMA table_info({table})")
                }:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN heard TEXT NOT NULL DEFAULT ''")

    def close(self) -> None:
        self._database.close()

    def put(self, rows: Iterable[Row]) -> list[tuple[int, bytes]]:
        """Store rows (a newer state replaces the waiting one) in one transaction; their ids
        and payloads, to publish."""
        rows, stored = list(rows), list[tuple[int, bytes]]()
        if not rows:
            return stored
        with self._database.write() as db:
            for row in rows:
                payload = messages.encode(as_run_message(row, _emergency_of(db, row)))
                cursor = db.execute(
                    "INSERT OR REPLACE INTO outbox (entry_id, scheduled, scheduled_ts, result, "
                    "ended, payload, heard) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        row.entry_id,
                        row.scheduled,
                        _timestamp(row.scheduled),
                        row.result,
                        row.ended,
                        payload,
                        row.heard,
                    ),
                )
                assert cursor.lastrowid is not None
                stored.append((cursor.lastrowid, payload))
        return stored

    def pending(self) -> list[tuple[int, bytes]]:
        """Every waiting row, oldest first."""
        with self._database.read() as db:
            return db.execute("SELECT id, payload FROM outbox ORDER BY id").fetchall()

    def count(self) -> int:
        with self._database.read() as db:
            (count,) = db.execute("SELECT COUNT(*) FROM outbox").fetchone()
        return int(count)

    def acknowledge(self, row_id: int) -> bool:
        """The broker has the row: it leaves the outbox and its key is remembered."""
        with self._database.write() as db:
            found = db.execute(
                "SELECT entry_id, scheduled, scheduled_ts, result, ended, heard FROM outbox "
                "WHERE id = ?",
                (row_id,),
            ).fetchone()
            if found is None:
                return False
            db.execute("DELETE FROM outbox WHERE id = ?", (row_id,))
            db.execute(
                "INSERT OR REPLACE INTO reported (entry_id, scheduled, scheduled_ts, result, "
                "ended, heard) VALUES (?, ?, ?, ?, ?, ?)",
                found,
            )
        return True

    def unreported(self, rows: list[Row]) -> list[Row]:
        """The rows whose state was neither acknowledged nor is waiting already."""
        with self._database.read() as db:
            known: dict[tuple[str, str], set[Version]] = {}
            for table in ("reported", "outbox"):
                query = f"SELECT entry_id, scheduled, result, ended, heard FROM {table}"
                for entry_id, scheduled, result, ended, heard in db.execute(query):
                    known.setdefault((entry_id, scheduled), set()).add((result, ended, heard))
        return [
            row
            for row in rows
            if (row.result, row.ended, row.heard)
            not in known.get((row.entry_id, row.scheduled), ())
        ]

    def forget_before(self, moment: datetime) -> None:
        with self._database.write() as db:
            db.execute("DELETE FROM reported WHERE scheduled_ts < ?", (moment.timestamp(),))


def _cannot_write(path: Path, reason: str) -> str:
    return _(
        "Cannot write the province outbox {file}: {reason}. As-run rows are not lost: they are "
        "sent again from the as-run log once it works."
    ).format(file=path, reason=reason)


def _damaged(path: Path) -> str:
    return _(
        "The province outbox {file} is damaged: move it away; Loa starts a new one and sends "
        "the as-run rows of the last 31 days again."
    ).format(file=path)


def as_run_message(row: Row, bulletin: str | None = None) -> messages.AsRun:
    """An as-run row on the wire, cut to the sizes the province accepts (an officer's `say`
    has its whole text as announcement). `bulletin`: the province emergency it aired, which
    its entry id (`say`, `play`) does not tell."""
    return messages.AsRun(
        entry_id=row.entry_id[:200],
        scheduled=row.scheduled,
        announcement=row.announcement[:300],
        priority=row.priority[:20],
        started=row.started,
        ended=row.ended,
        result=row.result[:30],
        error=row.error[:2000],
        campaign=campaign_of(row.entry_id) or bulletin,
        heard=row.heard[:20],
        heard_db=row.heard_db,
        heard_delay_ms=row.heard_delay_ms,
        heard_reason=row.heard_reason[:2000],
    )


def _emergency_of(db: sqlite3.Connection, row: Row) -> str | None:
    """The province emergency an ad-hoc emergency row aired: the link's inbox (the same
    database) says which one it handed over with that announcement."""
    if row.priority != Priority.EMERGENCY or campaign_of(row.entry_id) is not None:
        return None
    try:
        found = db.execute(
            "SELECT id FROM emergencies WHERE announcement = ? AND state IN ('handed', 'aired') "
            "ORDER BY received DESC LIMIT 1",
            (row.announcement,),
        ).fetchone()
    except sqlite3.Error:  # no link has written here (no inbox table)
        return None
    return str(found[0]) if found else None


def _timestamp(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


# The reporter -----------------------------------------------------------------------------------

P = ParamSpec("P")
T = TypeVar("T")


def _quietly(
    method: "Callable[Concatenate[Reporter, P], None]",
) -> "Callable[Concatenate[Reporter, P], None]":
    """A reporter's entry point: whatever fails is logged, and the caller goes on."""

    def guarded(self: "Reporter", /, *args: P.args, **kwargs: P.kwargs) -> None:
        try:
            method(self, *args, **kwargs)
        except Exception:
            log.exception(
                _("Reporting to the province failed (%s); the air goes on."), method.__name__
            )

    return guarded


class Reporter(Listener):
    """The station's reports, driven by the link (connected, published, beat, closing) and by
    the station's events (occurrence_finished). Safe to call from the event dispatcher, the
    MQTT client's thread and the heartbeat ticker at once."""

    def __init__(self, station_id: str, db: Path, publish: Publish, station: StationView) -> None:
        self.station_id = station_id
        self._publish = publish
        self._station = station
        self._lock = threading.Lock()
        self._in_flight: dict[int, int] = {}
        """mid → outbox row id, for the rows published on this connection."""
        self._early_acks: dict[int, float] = {}
        """mid → monotonic time, for acks of mids not known (yet)."""
        self._connection = 0
        self._surveyed: float | None = None
        self._ready: tuple[int, int] = (0, 0)
        self._problems: dict[str, str] = {}
        """What keeps the reports from working (outbox, as-run log), shown in the heartbeat."""
        self.outbox: Outbox | None = self._open("outbox", lambda: Outbox(db))
        self._asrun: AsRunLog | None = self._open("asrun", lambda: AsRunLog(station.asrun_path))
        try:
            self._reconcile()
        except Exception:
            log.exception(_("Reporting to the province failed (%s); the air goes on."), "start")

    def close(self) -> None:
        """Let go of the databases (after the link has disconnected)."""
        for database in (self.outbox, self._asrun):
            if database is not None:
                database.close()
        self.outbox = self._asrun = None

    # The link's calls ---------------------------------------------------------------------------

    @_quietly
    def connected(self, connection: int) -> None:
        """The link is (re)connected, for the `connection`-th time: retained presence online,
        then every row the broker has not acknowledged."""
        with self._lock:
            self._connection = connection
            self._in_flight.clear()
            self._early_acks.clear()
        self._publish_presence(online=True)
        self._reconcile()
        if self.outbox is not None:
            self._send(self.outbox.pending())

    @_quietly
    def published(self, mid: int) -> None:
        """The broker acknowledged message `mid` (PUBACK): its row leaves the outbox."""
        with self._lock:
            row_id = self._in_flight.pop(mid, None)
            if row_id is None:
                self._remember_early_ack(mid)
                return
        self._acknowledge(row_id)

    @_quietly
    def beat(self) -> None:
        """Every HEARTBEAT_EVERY_S: the heartbeat, QoS 0 and retained (the province keeps the
        last one, the broker queues none for it)."""
        now = self._station.now()
        tick = time.monotonic()
        if self._surveyed is None or tick - self._surveyed >= SURVEY_EVERY_S:
            self._surveyed = tick
            self._survey(now)
        status = self._station.status()
        errors = list(self._problems.values())
        if isinstance(status, StatusReply):
            on_air = status.playing.id if status.playing is not None else None
            queue = len(status.queue)
            errors += [problem for problem in (status.reload_error, status.sound) if problem]
            errors += monitor_problems(status)
        else:
            on_air, queue = None, 0
            if isinstance(status, Refused):
                errors.append(status.error)
        if isinstance(status, StatusReply) and status.speech_ready is not None:
            self._ready = status.speech_ready  # counted by the station at its cache rounds
        ready, due = self._ready
        heartbeat = messages.Heartbeat(
            at=_utc(now),
            software=SOFTWARE,
            connection=self._connection,
            on_air=on_air,
            queue=queue,
            ready_48h=ready,
            due_48h=due,
            last_asrun=self._last_asrun(),
            errors=tuple(error[:MAX_ERROR_CHARS] for error in dict.fromkeys(errors))[:MAX_ERRORS],
        )
        self._call_publish(topics.heartbeat(self.station_id), messages.encode(heartbeat), 0, True)

    @_quietly
    def closing(self) -> None:
        """A clean shutdown: retained presence offline (the Will says it after a crash)."""
        self._publish_presence(online=False)

    # The station's events -----------------------------------------------------------------------

    @_quietly
    def occurrence_finished(self, occurrence: Occurrence, result: Result, error: str) -> None:
        """Its whole as-run row into the outbox, then out."""
        scheduled = occurrence.scheduled.isoformat()
        row = self._asrun.row(occurrence.entry_id, scheduled) if self._asrun else None
        if row is None:  # the log could not be read, or had no room: the event is all we know
            row = Row(
                occurrence.entry_id,
                scheduled,
                occurrence.announcement,
                str(occurrence.priority),
                None,
                None,
                str(result),
                "",
                error,
            )
        elif row.result == PLAYING:  # queued again after an interruption: its end reports it
            return
        try:
            if self.outbox is not None:
                self._send(self.outbox.put([row]))
                return
        except LoaError as failure:  # a full disk: sent at least this once; reconciled later
            self._problems["outbox"] = failure.message
        payload = messages.encode(as_run_message(row))
        self._call_publish(topics.asrun(self.station_id), payload, 1, False)

    @_quietly
    def heard(self, occurrence: Occurrence, hearing: Hearing) -> None:
        """The on-air monitor judged a row after it was reported: its new state goes out too."""
        if self._asrun is None or self.outbox is None:
            return  # the reconciliation sends it once the log and the outbox work
        row = self._asrun.row(occurrence.entry_id, occurrence.scheduled.isoformat())
        if row is None or row.result == PLAYING:
            return  # the reconciliation sends it once the log or the outbox works
        try:
            self._send(self.outbox.put([row]))
        except LoaError as failure:
            self._problems["outbox"] = failure.message

    # Inside -------------------------------------------------------------------------------------

    def _send(self, rows: list[tuple[int, bytes]]) -> None:
        """Publish outbox rows in order; offline, the rest wait for the next connection."""
        topic = topics.asrun(self.station_id)
        for row_id, payload in rows:
            mid = self._call_publish(topic, payload, 1, False)
            if mid is None:
                return
            with self._lock:
                acked_already = self._early_acks.pop(mid, None) is not None
                if not acked_already:
                    self._in_flight[mid] = row_id
            if acked_already:
                self._acknowledge(row_id)

    def _acknowledge(self, row_id: int) -> None:
        if self.outbox is not None:
            self.outbox.acknowledge(row_id)

    def _remember_early_ack(self, mid: int) -> None:
        """Called under the lock."""
        tick = time.monotonic()
        for old in [mid for mid, at in self._early_acks.items() if tick - at > EARLY_ACK_S]:
            del self._early_acks[old]
        self._early_acks[mid] = tick

    def _reconcile(self) -> list[tuple[int, bytes]]:
        """Put every final as-run row of the last RECONCILE_DAYS that the province never
        acknowledged into the outbox: those added, to send."""
        if self.outbox is None or self._asrun is None:
            return []
        now = self._station.now()
        rows = self._asrun.rows(since=now - timedelta(days=RECONCILE_DAYS))
        missing = self.outbox.unreported([row for row in rows if row.result != PLAYING])
        if missing:
            log.info(_("%d as-run row(s) not yet reported to the province."), len(missing))
        return self.outbox.put(missing)

    def _survey(self, now: datetime) -> None:
        """Every few minutes: the rows the events did not bring."""
        try:
            self._send(self._reconcile())
            if self.outbox is not None:
                self.outbox.forget_before(now - timedelta(days=FORGET_DAYS))
        except LoaError as error:
            self._problems["outbox"] = error.message

    def _last_asrun(self) -> dict[str, Any] | None:
        if self._asrun is None:
            return None
        try:
            recent = self._asrun.rows(limit=3)
        except LoaError as error:
            self._problems["asrun"] = error.message
            return None
        final = [row for row in recent if row.result != PLAYING]
        if not final:
            return None
        last = final[-1]
        return {
            "entry_id": last.entry_id[:200],
            "scheduled": last.scheduled,
            "result": last.result,
            "ended": last.ended,
        }

    def _publish_presence(self, online: bool) -> None:
        presence = messages.Presence(
            online=online,
            connection=self._connection,
            at=_utc(self._station.now()),
            software=SOFTWARE,
        )
        self._call_publish(topics.state(self.station_id), messages.encode(presence), 1, True)

    def _call_publish(self, topic: str, payload: bytes, qos: int, retain: bool) -> int | None:
        try:
            return self._publish(topic, payload, qos, retain)
        except Exception:
            log.exception(_("Could not hand a message to the province link; sent again later."))
            return None

    def _open(self, name: str, opener: Callable[[], T]) -> T | None:
        try:
            return opener()
        except LoaError as error:
            log.error("%s", error)
            self._problems[name] = error.message
            return None


def monitor_problems(status: StatusReply) -> list[str]:
    """The on-air monitor's troubles for the heartbeat's errors: why it does not listen, and the
    alarms that last (an unexpected sound is an entry of the log, not a problem)."""
    from broadcaster.onair.asrun import NOT_TROUBLE, alarm_label

    monitor = status.monitor
    if monitor is None:
        return []
    found = (
        [
            _("On-air monitor ({device}): NOT listening: {problem}").format(
                device=monitor.device, problem=monitor.problem
            )
        ]
        if monitor.problem
        else []
    )
    for alarm in monitor.alarms:
        if alarm.kind not in NOT_TROUBLE:
            found.append(
                _("Monitor ALARM: {alarm} since {since}: {detail}").format(
                    alarm=alarm_label(alarm.kind), since=alarm.started, detail=alarm.detail
                )
            )
    return found


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")
