"""The province's SQLite (`province.db`): what it sent (campaigns with every version and the
stations each reached, desired versions per target, emergencies) and what came back (presence,
the last heartbeat, as-run rows once per occurrence, acks).

Desired versions only grow, even when a publish fails half-way: a station applies a desired
document only if its version is higher than the one it has.
"""

import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from broadcaster.core.models import Result
from broadcaster.errors import DiskError, describe_os_error
from broadcaster.i18n import _
from broadcaster.province import topics
from broadcaster.province.messages import Ack, AsRun, Heartbeat, Presence
from broadcaster.province.topics import Target

SCHEMA = """
CREATE TABLE IF NOT EXISTS campaigns (
    id TEXT PRIMARY KEY, version INTEGER NOT NULL, priority TEXT NOT NULL, title TEXT NOT NULL,
    targets TEXT NOT NULL, state TEXT NOT NULL, first_sent TEXT NOT NULL, sent TEXT NOT NULL,
    cancelled TEXT
);
CREATE TABLE IF NOT EXISTS campaign_versions (
    id TEXT NOT NULL, version INTEGER NOT NULL, sent TEXT NOT NULL, schedule TEXT NOT NULL,
    stations TEXT NOT NULL, PRIMARY KEY (id, version)
);
CREATE TABLE IF NOT EXISTS desired (
    target TEXT PRIMARY KEY, version INTEGER NOT NULL, campaigns TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS emergencies (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, targets TEXT NOT NULL, sent TEXT NOT NULL,
    expires_s INTEGER NOT NULL, stopped TEXT
);
CREATE TABLE IF NOT EXISTS presence (
    station TEXT PRIMARY KEY, online INTEGER NOT NULL, connection INTEGER NOT NULL,
    software TEXT NOT NULL, since TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS heartbeats (
    station TEXT PRIMARY KEY, at TEXT NOT NULL, received TEXT NOT NULL, offset_s REAL,
    software TEXT NOT NULL, connection INTEGER NOT NULL, on_air TEXT, queue INTEGER NOT NULL,
    ready_48h INTEGER NOT NULL, due_48h INTEGER NOT NULL, last_asrun TEXT, errors TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS asrun (
    station TEXT NOT NULL, entry_id TEXT NOT NULL, scheduled TEXT NOT NULL,
    announcement TEXT NOT NULL, priority TEXT NOT NULL, started TEXT, ended TEXT,
    result TEXT NOT NULL, error TEXT NOT NULL, campaign TEXT, received TEXT NOT NULL,
    heard TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (station, entry_id, scheduled)
);
CREATE TABLE IF NOT EXISTS acks (
    station TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL, state TEXT NOT NULL,
    detail TEXT NOT NULL, received TEXT NOT NULL, PRIMARY KEY (station, id, version)
);
"""


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def target_key(target: Target) -> str:
    """`all`, `grp/ven-bien`, `st/xa-an-binh`: the target as stored and as typed in reports."""
    return topics.ALL if target.kind == topics.ALL else f"{target.kind}/{target.name}"


def target_from_key(key: str) -> Target:
    if key == topics.ALL:
        return topics.EVERYONE
    kind, _slash, name = key.partition("/")
    return Target(kind, name)


@dataclass(frozen=True)
class CampaignRow:
    id: str
    version: int
    priority: str
    title: str
    targets: tuple[str, ...]
    state: str
    """pending (being sent), live, cancelled."""
    first_sent: str
    sent: str
    cancelled: str | None


@dataclass(frozen=True)
class CampaignVersion:
    id: str
    version: int
    sent: str
    schedule: dict[str, Any]
    stations: tuple[str, ...]


@dataclass(frozen=True)
class EmergencyRow:
    id: str
    title: str
    targets: tuple[str, ...]
    sent: str
    expires_s: int
    stopped: str | None


@dataclass(frozen=True)
class AsRunRow:
    station: str
    entry_id: str
    scheduled: str
    announcement: str
    priority: str
    started: str | None
    ended: str | None
    result: str
    error: str
    campaign: str | None
    received: str
    heard: str = ""
    """What the station's on-air monitor heard: yes, partly, no, unknown; empty: not judged."""


FINAL_OVER_PLAYING = f"""
    INSERT INTO asrun (station, entry_id, scheduled, announcement, priority, started, ended,
        result, error, campaign, received, heard) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (station, entry_id, scheduled) DO UPDATE SET
        announcement = excluded.announcement, priority = excluded.priority,
        started = COALESCE(excluded.started, asrun.started),
        ended = COALESCE(excluded.ended, asrun.ended),
        result = excluded.result, error = excluded.error,
        campaign = COALESCE(excluded.campaign, asrun.campaign), received = excluded.received,
        heard = CASE WHEN excluded.heard != '' THEN excluded.heard ELSE asrun.heard END
    WHERE asrun.result = '{Result.PLAYING}' OR excluded.result != '{Result.PLAYING}'
"""
"""A row once per (station, entry, scheduled): a redelivery changes nothing, a final result is
never overwritten by `playing` arriving late, and a verdict of the monitor by none."""


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(SCHEMA)
            columns = {column[1] for column in self.db.execute("PRAGMA table_info(asrun)")}
            if "heard" not in columns:  # a province database of a Loa before the monitor
                self.db.execute("ALTER TABLE asrun ADD COLUMN heard TEXT NOT NULL DEFAULT ''")
        except sqlite3.OperationalError as error:
            raise DiskError(
                _("Cannot open the province database {file}: {reason}.").format(
                    file=path, reason=error
                )
            ) from error

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> None:
        """One transaction; a full disk leaves the database as it was."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                for sql, values in statements:
                    self.db.execute(sql, values)
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
        except (sqlite3.OperationalError, OSError) as error:
            reason = describe_os_error(error) if isinstance(error, OSError) else str(error)
            raise DiskError(
                _("Cannot write the province database {file}: {reason}.").format(
                    file=self.path, reason=reason
                )
            ) from error

    # Campaigns ---------------------------------------------------------------------------------

    def campaign(self, campaign_id: str) -> CampaignRow | None:
        row = self.db.execute("SELECT * FROM campaigns WHERE id = ?", (campaign_id,)).fetchone()
        return _campaign_row(row) if row else None

    def campaigns(self) -> list[CampaignRow]:
        return [_campaign_row(r) for r in self.db.execute("SELECT * FROM campaigns ORDER BY sent")]

    def versions(self, campaign_id: str) -> list[CampaignVersion]:
        rows = self.db.execute(
            "SELECT id, version, sent, schedule, stations FROM campaign_versions WHERE id = ? "
            "ORDER BY version",
            (campaign_id,),
        )
        return [
            CampaignVersion(r[0], r[1], r[2], json.loads(r[3]), tuple(json.loads(r[4])))
            for r in rows
        ]

    def live_on(self, target: str) -> dict[str, int]:
        """The live campaigns of a target: id → version."""
        found: dict[str, int] = {}
        for row in self.db.execute(
            "SELECT id, version, targets FROM campaigns WHERE state = 'live'"
        ):
            if target in json.loads(row[2]):
                found[row[0]] = row[1]
        return found

    def desired_version(self, target: str) -> int:
        row = self.db.execute("SELECT version FROM desired WHERE target = ?", (target,)).fetchone()
        return int(row[0]) if row else 0

    def reserve(
        self,
        campaign: CampaignRow,
        schedule: dict[str, Any],
        stations: Sequence[str],
        desired: dict[str, dict[str, int]],
    ) -> dict[str, int]:
        """Record a campaign version as being sent, and the next desired version of each target
        (with its campaigns): the versions, by target."""
        versions = {target: self.desired_version(target) + 1 for target in desired}
        statements: list[tuple[str, Sequence[Any]]] = [
            (
                "INSERT OR REPLACE INTO campaigns VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    campaign.id,
                    campaign.version,
                    campaign.priority,
                    campaign.title,
                    json.dumps(list(campaign.targets)),
                    campaign.state,
                    campaign.first_sent,
                    campaign.sent,
                    campaign.cancelled,
                ),
            ),
            (
                "INSERT OR REPLACE INTO campaign_versions VALUES (?, ?, ?, ?, ?)",
                (
                    campaign.id,
                    campaign.version,
                    campaign.sent,
                    json.dumps(schedule, ensure_ascii=False),
                    json.dumps(list(stations)),
                ),
            ),
        ]
        statements += self._desired_statements(desired, versions)
        self._write(statements)
        return versions

    def cancel(
        self, campaign_id: str, at: str, desired: dict[str, dict[str, int]]
    ) -> dict[str, int]:
        versions = {target: self.desired_version(target) + 1 for target in desired}
        self._write(
            [
                (
                    "UPDATE campaigns SET state = 'cancelled', cancelled = ? WHERE id = ?",
                    (at, campaign_id),
                ),
                *self._desired_statements(desired, versions),
            ]
        )
        return versions

    def _desired_statements(
        self, desired: dict[str, dict[str, int]], versions: dict[str, int]
    ) -> list[tuple[str, Sequence[Any]]]:
        return [
            (
                "INSERT OR REPLACE INTO desired VALUES (?, ?, ?)",
                (target, versions[target], json.dumps(campaigns)),
            )
            for target, campaigns in desired.items()
        ]

    def set_state(self, campaign_id: str, state: str) -> None:
        self._write([("UPDATE campaigns SET state = ? WHERE id = ?", (state, campaign_id))])

    # Emergencies -------------------------------------------------------------------------------

    def add_emergency(self, row: EmergencyRow) -> None:
        self._write(
            [
                (
                    "INSERT OR REPLACE INTO emergencies VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        row.id,
                        row.title,
                        json.dumps(list(row.targets)),
                        row.sent,
                        row.expires_s,
                        None,
                    ),
                )
            ]
        )

    def emergency(self, emergency_id: str) -> EmergencyRow | None:
        row = self.db.execute("SELECT * FROM emergencies WHERE id = ?", (emergency_id,)).fetchone()
        if row is None:
            return None
        return EmergencyRow(row[0], row[1], tuple(json.loads(row[2])), row[3], row[4], row[5])

    def emergencies(self) -> list[EmergencyRow]:
        """Every emergency sent, oldest first."""
        rows = self.db.execute(
            "SELECT id, title, targets, sent, expires_s, stopped FROM emergencies ORDER BY sent"
        ).fetchall()
        return [EmergencyRow(r[0], r[1], tuple(json.loads(r[2])), r[3], r[4], r[5]) for r in rows]

    def stop_emergency(self, emergency_id: str, at: str) -> None:
        self._write([("UPDATE emergencies SET stopped = ? WHERE id = ?", (at, emergency_id))])

    # What stations report ----------------------------------------------------------------------

    def record_presence(self, station: str, presence: Presence, received: str) -> None:
        """The highest connection counter wins; at the same counter, offline (the Will) wins
        over online, never the other way."""
        self._write(
            [
                (
                    """INSERT INTO presence VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (station) DO UPDATE SET
                        online = excluded.online, connection = excluded.connection,
                        software = CASE WHEN excluded.software != '' THEN excluded.software
                                   ELSE presence.software END,
                        since = CASE WHEN excluded.online != presence.online
                                THEN excluded.since ELSE presence.since END
                    WHERE excluded.connection > presence.connection
                       OR (excluded.connection = presence.connection AND excluded.online = 0)""",
                    (
                        station,
                        int(presence.online),
                        presence.connection,
                        presence.software,
                        presence.at if presence.online and presence.at else received,
                    ),
                )
            ]
        )

    def record_heartbeat(
        self, station: str, heartbeat: Heartbeat, received: str, offset_s: float | None
    ) -> None:
        """The latest heartbeat by the station's clock; the clock offset is kept from the last
        one received live (a retained one is old news)."""
        self._write(
            [
                (
                    """INSERT INTO heartbeats VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (station) DO UPDATE SET
                        at = excluded.at, received = excluded.received,
                        offset_s = COALESCE(excluded.offset_s, heartbeats.offset_s),
                        software = excluded.software, connection = excluded.connection,
                        on_air = excluded.on_air, queue = excluded.queue,
                        ready_48h = excluded.ready_48h, due_48h = excluded.due_48h,
                        last_asrun = excluded.last_asrun, errors = excluded.errors
                    WHERE excluded.at >= heartbeats.at""",
                    (
                        station,
                        heartbeat.at,
                        received,
                        offset_s,
                        heartbeat.software,
                        heartbeat.connection,
                        heartbeat.on_air,
                        heartbeat.queue,
                        heartbeat.ready_48h,
                        heartbeat.due_48h,
                        json.dumps(heartbeat.last_asrun, ensure_ascii=False)
                        if heartbeat.last_asrun is not None
                        else None,
                        json.dumps(list(heartbeat.errors), ensure_ascii=False),
                    ),
                )
            ]
        )

    def record_asrun(self, station: str, row: AsRun, received: str) -> None:
        self._write(
            [
                (
                    FINAL_OVER_PLAYING,
                    (
                        station,
                        row.entry_id,
                        row.scheduled,
                        row.announcement,
                        row.priority,
                        row.started,
                        row.ended,
                        row.result,
                        row.error,
                        row.campaign,
                        received,
                        row.heard,
                    ),
                )
            ]
        )

    def record_ack(self, station: str, ack: Ack, received: str) -> None:
        self._write(
            [
                (
                    "INSERT OR REPLACE INTO acks VALUES (?, ?, ?, ?, ?, ?)",
                    (station, ack.id, ack.version, ack.state, ack.detail, received),
                )
            ]
        )

    # Reading -----------------------------------------------------------------------------------

    def presence(self) -> dict[str, dict[str, Any]]:
        rows = self.db.execute("SELECT station, online, connection, software, since FROM presence")
        return {
            r[0]: {"online": bool(r[1]), "connection": r[2], "software": r[3], "since": r[4]}
            for r in rows
        }

    def heartbeats(self) -> dict[str, dict[str, Any]]:
        rows = self.db.execute("SELECT * FROM heartbeats")
        names = [d[0] for d in rows.description]
        found: dict[str, dict[str, Any]] = {}
        for row in rows:
            item = dict(zip(names, row, strict=True))
            item["last_asrun"] = json.loads(item["last_asrun"]) if item["last_asrun"] else None
            item["errors"] = json.loads(item["errors"])
            found[item.pop("station")] = item
        return found

    def last_asrun(self) -> dict[str, AsRunRow]:
        rows = self.db.execute(
            "SELECT * FROM asrun a WHERE scheduled = (SELECT MAX(scheduled) FROM asrun b "
            "WHERE b.station = a.station)"
        )
        return {row[0]: AsRunRow(*row) for row in rows}

    def asrun_rows(
        self, since: str | None = None, until: str | None = None, station: str | None = None
    ) -> Iterator[AsRunRow]:
        """Rows by scheduled time (UTC ISO text compares in order), oldest first."""
        sql = "SELECT * FROM asrun WHERE 1 = 1"
        values: list[Any] = []
        if station is not None:
            sql += " AND station = ?"
            values.append(station)
        rows = self.db.execute(sql + " ORDER BY scheduled, station", values)
        for row in rows:
            item = AsRunRow(*row)
            moment = _utc(item.scheduled)
            if (since is None or moment >= since) and (until is None or moment < until):
                yield item

    def acks(self) -> list[tuple[str, str, int, str, str, str]]:
        return list(self.db.execute("SELECT * FROM acks ORDER BY received"))


def _utc(value: str) -> str:
    """An ISO time as UTC text, so that times written with different offsets compare."""
    try:
        return iso(datetime.fromisoformat(value))
    except ValueError:
        return value


def _campaign_row(row: Sequence[Any]) -> CampaignRow:
    return CampaignRow(
        row[0], row[1], row[2], row[3], tuple(json.loads(row[4])), row[5], row[6], row[7], row[8]
    )
