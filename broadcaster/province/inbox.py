"""What a station received from its province, committed before the broker hears "got it": the
campaigns (once per id and version), each target's desired state, the emergencies and their stops
(once per id), the campaigns landed as files, and a count of connections.

One SQLite file beside the as-run log, WAL with full sync like it: a bulletin acknowledged to the
broker survives `kill -9` and a power cut, and a duplicate delivery (QoS 1 redelivers) is
recognised by its id. One note is not synced to the disk at its commit — that an emergency
aired — because the as-run log, synced before its first sound, says it again (`Inbox.aired`).
Safe to share between the link's threads.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from broadcaster.database import Database
from broadcaster.i18n import _
from broadcaster.province.messages import BadMessage, Campaign, Desired, Emergency, decode

INBOX_FILE = "province.db"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS campaigns (
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    target TEXT NOT NULL,
    payload BLOB NOT NULL,
    received TEXT NOT NULL,
    refused TEXT,
    PRIMARY KEY (id, version)
);
CREATE TABLE IF NOT EXISTS desired (
    target TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    campaigns TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS landed (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    files TEXT NOT NULL,
    approved INTEGER NOT NULL,
    approved_by TEXT
);
CREATE TABLE IF NOT EXISTS emergencies (
    id TEXT PRIMARY KEY,
    payload BLOB NOT NULL,
    received TEXT NOT NULL,
    remaining_s REAL NOT NULL,
    state TEXT NOT NULL,
    announcement TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS stops (id TEXT PRIMARY KEY, received TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

RECEIVED, HANDED, AIRED = "received", "handed", "aired"
EXPIRED, CANCELLED, REFUSED = "expired", "cancelled", "refused"
WAITING = (RECEIVED, HANDED)
"""Emergency states that may still go on the air: committed, and perhaps with the player but not
yet heard (a crash loses the player's queue, not the inbox; at the next start the as-run log says
whether it began). HANDED is what an earlier Loa wrote once the player had it."""


@dataclass(frozen=True)
class Landed:
    """A campaign written into the station's files: which version, the files with their sha256
    (a difference is an edit by hand), and whether an officer approved it."""

    id: str
    version: int
    files: dict[str, str]
    approved: bool
    approved_by: str | None = None


@dataclass(frozen=True)
class LinkState:
    state: str
    """LINK_UP, LINK_LOST, LINK_FAILING or LINK_STOPPED."""
    since: datetime
    detail: str


LINK_UP, LINK_LOST, LINK_FAILING, LINK_STOPPED = "connected", "lost", "failing", "stopped"


@dataclass(frozen=True)
class EmergencyRow:
    emergency: Emergency
    received: datetime
    """The station's clock at receipt: with `remaining_s`, the deadline on the same clock."""
    remaining_s: float
    state: str
    announcement: str


class Inbox:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._database = Database(path, _SCHEMA, _cannot_write, _damaged)
        self._notes = Database(path, _SCHEMA, _cannot_write, _damaged)
        """The same file without a disk sync at each commit (a `kill -9` keeps what it wrote,
        a power cut may take its last few): for notes that the as-run log can tell again."""
        with self._notes.read() as db:
            db.execute("PRAGMA synchronous = NORMAL")

    @classmethod
    def for_station(cls, directory: Path) -> "Inbox":
        return cls(directory / INBOX_FILE)

    def close(self) -> None:
        self._database.close()
        self._notes.close()

    # Connections ---------------------------------------------------------------------------

    def next_connection(self) -> int:
        """Count one more connection to the broker; the province trusts the highest."""
        with self._database.write() as db:
            row = db.execute("SELECT value FROM state WHERE key = 'connections'").fetchone()
            count = int(row[0]) + 1 if row else 1
            db.execute(
                "INSERT OR REPLACE INTO state (key, value) VALUES ('connections', ?)", (str(count),)
            )
        return count

    def set_link(self, state: str, detail: str, at: datetime) -> None:
        """The link's state for `loa status`: since when it holds, and why (a failure's fix)."""
        with self._database.write() as db:
            row = db.execute("SELECT value FROM state WHERE key = 'link'").fetchone()
            if row is not None and json.loads(row[0])["state"] == state:
                since = json.loads(row[0])["since"]
            else:
                since = at.isoformat()
            value = json.dumps({"state": state, "since": since, "detail": detail})
            db.execute("INSERT OR REPLACE INTO state (key, value) VALUES ('link', ?)", (value,))

    def link(self) -> LinkState | None:
        with self._database.read() as db:
            row = db.execute("SELECT value FROM state WHERE key = 'link'").fetchone()
        if row is None:
            return None
        value = json.loads(row[0])
        return LinkState(value["state"], datetime.fromisoformat(value["since"]), value["detail"])

    def connections(self) -> int:
        with self._database.read() as db:
            row = db.execute("SELECT value FROM state WHERE key = 'connections'").fetchone()
        return int(row[0]) if row else 0

    # Campaigns -----------------------------------------------------------------------------

    def add_campaign(self, campaign: Campaign, target: str, payload: bytes, at: datetime) -> bool:
        """Keep a campaign's content; False if this id and version was kept before."""
        with self._database.write() as db:
            return (
                db.execute(
                    "INSERT OR IGNORE INTO campaigns (id, version, target, payload, received) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (campaign.id, campaign.version, target, payload, at.isoformat()),
                ).rowcount
                == 1
            )

    def set_desired(self, target: str, desired: Desired) -> bool:
        """Take a target's desired state unless an older one (a lower version); whether it
        changed anything."""
        listed = json.dumps(desired.campaigns, sort_keys=True)
        with self._database.write() as db:
            row = db.execute(
                "SELECT version, campaigns FROM desired WHERE target = ?", (target,)
            ).fetchone()
            if row is not None and (row[0] > desired.version or row[1] == listed):
                return False
            db.execute(
                "INSERT OR REPLACE INTO desired (target, version, campaigns) VALUES (?, ?, ?)",
                (target, desired.version, listed),
            )
        return True

    def live_campaigns(self) -> dict[str, Campaign]:
        """The campaigns a desired state lists whose content (that very version) is here; the
        highest version when two targets disagree."""
        wanted: dict[str, set[int]] = {}
        with self._database.read() as db:
            for (listed,) in db.execute("SELECT campaigns FROM desired").fetchall():
                for campaign_id, version in json.loads(listed).items():
                    wanted.setdefault(campaign_id, set()).add(int(version))
            found: dict[str, Campaign] = {}
            for campaign_id, versions in sorted(wanted.items()):
                for version in sorted(versions, reverse=True):
                    row = db.execute(
                        "SELECT payload FROM campaigns WHERE id = ? AND version = ?",
                        (campaign_id, version),
                    ).fetchone()
                    campaign = _campaign(row[0]) if row else None
                    if campaign is not None:
                        found[campaign_id] = campaign
                        break
        return found

    def refusal(self, campaign: Campaign) -> str | None:
        """Why this version was refused, if it was."""
        with self._database.read() as db:
            row = db.execute(
                "SELECT refused FROM campaigns WHERE id = ? AND version = ?",
                (campaign.id, campaign.version),
            ).fetchone()
        return row[0] if row else None

    def refuse(self, campaign: Campaign, reason: str) -> None:
        with self._database.write() as db:
            db.execute(
                "UPDATE campaigns SET refused = ? WHERE id = ? AND version = ?",
                (reason, campaign.id, campaign.version),
            )

    def forget_campaign(self, campaign_id: str, below: int | None = None) -> None:
        """Drop the content of a cancelled campaign, or of its versions older than `below`."""
        with self._database.write() as db:
            if below is None:
                db.execute("DELETE FROM campaigns WHERE id = ?", (campaign_id,))
            else:
                db.execute(
                    "DELETE FROM campaigns WHERE id = ? AND version < ?", (campaign_id, below)
                )

    def landed(self) -> dict[str, Landed]:
        with self._database.read() as db:
            rows = db.execute(
                "SELECT id, version, files, approved, approved_by FROM landed"
            ).fetchall()
        return {
            row[0]: Landed(row[0], row[1], json.loads(row[2]), bool(row[3]), row[4]) for row in rows
        }

    def set_landed(self, landed: Landed) -> None:
        with self._database.write() as db:
            db.execute(
                "INSERT OR REPLACE INTO landed (id, version, files, approved, approved_by) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    landed.id,
                    landed.version,
                    json.dumps(landed.files, sort_keys=True),
                    int(landed.approved),
                    landed.approved_by,
                ),
            )

    def drop_landed(self, campaign_id: str) -> None:
        with self._database.write() as db:
            db.execute("DELETE FROM landed WHERE id = ?", (campaign_id,))

    # Emergencies ---------------------------------------------------------------------------

    def add_emergency(
        self, emergency: Emergency, payload: bytes, at: datetime, remaining_s: float, state: str
    ) -> bool:
        """Keep an emergency as received; False if its id came before (a duplicate)."""
        with self._database.write() as db:
            return (
                db.execute(
                    "INSERT OR IGNORE INTO emergencies (id, payload, received, remaining_s, state) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (emergency.id, payload, at.isoformat(), remaining_s, state),
                ).rowcount
                == 1
            )

    def receive_emergency(
        self,
        emergency: Emergency,
        payload: bytes,
        at: datetime,
        remaining_s: float,
        announcement: str,
    ) -> str | None:
        """Keep an emergency as received, in one transaction with the question whether the
        province cancelled it already: its state (cancelled, expired or received), or None if
        its id came before (a duplicate). `announcement` is what its as-run row will name."""
        with self._database.write() as db:
            state = (
                CANCELLED
                if db.execute("SELECT 1 FROM stops WHERE id = ?", (emergency.id,)).fetchone()
                else EXPIRED
                if remaining_s <= 0
                else RECEIVED
            )
            inserted = db.execute(
                "INSERT OR IGNORE INTO emergencies "
                "(id, payload, received, remaining_s, state, announcement) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (emergency.id, payload, at.isoformat(), remaining_s, state, announcement),
            ).rowcount
        return state if inserted == 1 else None

    def aired(self, announcement: str) -> None:
        """The oldest waiting emergency with this announcement was on the air. A note: its
        as-run row, synced before its first sound, is what keeps it from airing twice."""
        with self._notes.write() as db:
            db.execute(
                "UPDATE emergencies SET state = ? WHERE rowid = (SELECT rowid FROM emergencies "
                "WHERE announcement = ? AND state IN (?, ?) ORDER BY rowid LIMIT 1)",
                (AIRED, announcement, RECEIVED, HANDED),
            )

    def emergency(self, emergency_id: str) -> EmergencyRow | None:
        with self._database.read() as db:
            row = db.execute(
                "SELECT payload, received, remaining_s, state, announcement FROM emergencies "
                "WHERE id = ?",
                (emergency_id,),
            ).fetchone()
        return _emergency_row(row) if row else None

    def set_emergency(
        self, emergency_id: str, state: str, detail: str = "", announcement: str | None = None
    ) -> None:
        with self._database.write() as db:
            db.execute(
                "UPDATE emergencies SET state = ?, detail = ?, "
                "announcement = COALESCE(?, announcement) WHERE id = ?",
                (state, detail, announcement, emergency_id),
            )

    def emergencies(self, states: tuple[str, ...]) -> list[EmergencyRow]:
        """The emergencies in these states, oldest first."""
        marks = ", ".join("?" * len(states))
        with self._database.read() as db:
            rows = db.execute(
                "SELECT payload, received, remaining_s, state, announcement FROM emergencies "
                f"WHERE state IN ({marks}) ORDER BY rowid",
                states,
            ).fetchall()
        return [_emergency_row(row) for row in rows]

    def emergency_state(self, emergency_id: str) -> tuple[str, str] | None:
        """Its state and why (a refusal's reason), for the tests and the reports."""
        with self._database.read() as db:
            row = db.execute(
                "SELECT state, detail FROM emergencies WHERE id = ?", (emergency_id,)
            ).fetchone()
        return (row[0], row[1]) if row else None

    def add_stop(self, emergency_id: str, at: datetime) -> bool:
        """Remember that an emergency is cancelled, even before it arrives; False if known."""
        with self._database.write() as db:
            return (
                db.execute(
                    "INSERT OR IGNORE INTO stops (id, received) VALUES (?, ?)",
                    (emergency_id, at.isoformat()),
                ).rowcount
                == 1
            )

    def stopped(self, emergency_id: str) -> bool:
        with self._database.read() as db:
            return (
                db.execute("SELECT 1 FROM stops WHERE id = ?", (emergency_id,)).fetchone()
                is not None
            )

    # The connection ------------------------------------------------------------------------


def _campaign(payload: bytes) -> Campaign | None:
    try:
        message = decode(payload)
    except BadMessage:
        return None
    return message if isinstance(message, Campaign) else None


def _emergency_row(row: tuple[bytes, str, float, str, str]) -> EmergencyRow:
    message = decode(row[0])  # stored only once decoded: decodes again
    assert isinstance(message, Emergency)
    return EmergencyRow(message, datetime.fromisoformat(row[1]), row[2], row[3], row[4])


def _cannot_write(path: Path, reason: str) -> str:
    return _("Cannot write the province inbox {file}: {reason}.").format(file=path, reason=reason)


def _damaged(path: Path) -> str:
    return _(
        "The province inbox {file} is damaged: move it away; Loa starts a new one and the "
        "province sends the live campaigns again."
    ).format(file=path)
