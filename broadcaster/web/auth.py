"""Accounts, sessions, login attempts and the audit trail of the web console, in one SQLite file
of the station (`.loa/web.db`).

Passwords are hashed with the standard library's scrypt, its parameters stored with the hash
(`scrypt$N$r$p$salt$hash`), so that they can be raised later without breaking old hashes.
Sessions live on the server: the cookie holds a random id only, so a logout or a password change
ends them at once (a signed cookie could not be revoked).
"""

import hashlib
import hmac
import json
import secrets
import sqlite3
import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from broadcaster.errors import LoaError
from broadcaster.i18n import _

DB_FILE = "web.db"
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 5
"""OWASP's equivalent of N=2**17, r=8, p=1 that holds 16 MiB instead of 128 (the p passes run
one after the other): the web console stays small on the station's PC."""
SCRYPT_MAXMEM = 256 * 2**20
"""OpenSSL refuses more than 32 MiB unless told: N=2**17, r=8 needs 128 MiB."""
ALLOWED_N = range(14, 18)
ALLOWED_P = range(1, 11)
"""N from 2**14 to 2**17 and p up to 10 (older hashes: N=2**15, p=1): a stored hash with other
parameters is refused rather than trusted."""
SESSION_IDLE_S = 8 * 3600
"""A session unused for a working day ends."""
SESSION_TOUCH_S = 60.0
"""A session's last use is written at most this often: its idle time is counted to the
minute."""
ATTEMPTS_ALLOWED = 5
ATTEMPTS_WINDOW_S = 30.0
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
MAX_NAME = 64

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    password TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    last_seen REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS attempts (
    user TEXT NOT NULL,
    address TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_by_key ON attempts (user, address, at);
CREATE TABLE IF NOT EXISTS audit (
    at REAL NOT NULL,
    user TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    object TEXT NOT NULL,
    sha256 TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL DEFAULT ''
);
"""


class Role(StrEnum):
    OFFICER = "officer"
    APPROVER = "approver"
    ADMIN = "admin"


class AccountError(LoaError):
    """A user that cannot be added, changed or found, with the reason."""


@dataclass(frozen=True)
class User:
    name: str
    role: Role

    def may_approve(self) -> bool:
        return self.role in (Role.APPROVER, Role.ADMIN)

    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


@dataclass(frozen=True)
class Session:
    id: str
    user: User
    csrf: str


@dataclass(frozen=True)
class AuditRow:
    at: float
    user: str
    role: str
    action: str
    object: str
    sha256: str
    detail: str
    address: str


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=SCRYPT_MAXMEM)


M_MMAP_THRESHOLD = -3
"""glibc's mallopt() parameter (malloc.h)."""
LARGE_BLOCK = 2**20


def give_back_large_blocks() -> None:
    """Have glibc map every block of LARGE_BLOCK or more on its own and unmap it when freed. By
    default, once a block as large as scrypt's 16 MiB has been freed, glibc keeps the next one
    in a thread's heap for reuse, and `loa web` would hold 16 MB more from its second login on.
    Nothing to do elsewhere (musl, macOS, Windows). Only `loa web` calls it: `loa user` does not
    load ctypes."""
    import ctypes.util

    name = ctypes.util.find_library("c")
    mallopt = getattr(ctypes.CDLL(name), "mallopt", None) if name else None
    if mallopt is not None:
        mallopt(M_MMAP_THRESHOLD, LARGE_BLOCK)


def hash_password(password: str, n: int = SCRYPT_N) -> str:
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, n, SCRYPT_R, SCRYPT_P)
    return f"scrypt${n}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def password_matches(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        cost, block, parallel = int(n), int(r), int(p)
    except ValueError:
        return False
    if (
        kind != "scrypt"
        or cost.bit_length() - 1 not in ALLOWED_N
        or block != SCRYPT_R
        or parallel not in ALLOWED_P
    ):
        return False
    found = _scrypt(password, bytes.fromhex(salt), cost, block, parallel)
    return hmac.compare_digest(found.hex(), digest)


def check_name(name: str) -> str:
    cleaned = unicodedata.normalize("NFC", name.strip())
    if not cleaned or len(cleaned) > MAX_NAME or not all(c.isprintable() for c in cleaned):
        raise AccountError(
            _("A user name is 1 to {count} printable characters.").format(count=MAX_NAME)
        )
    return cleaned


def check_password(password: str) -> str:
    password = unicodedata.normalize("NFC", password)
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AccountError(
            _("A password has at least {count} characters.").format(count=MIN_PASSWORD)
        )
    return password


class Accounts:
    """The console's SQLite file. One connection per call: the web server answers in threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            db.execute("PRAGMA busy_timeout=10000")
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
        finally:
            db.close()
        path.chmod(0o600)

    @classmethod
    def for_station(cls, directory: Path) -> "Accounts":
        return cls(directory / ".loa" / DB_FILE)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            db.execute("PRAGMA busy_timeout=10000")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        finally:
            db.close()

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A connection for reading only: no write lock, no disk sync."""
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            db.execute("PRAGMA busy_timeout=10000")
            yield db
        finally:
            db.close()

    # users ------------------------------------------------------------------------------------

    def add_user(self, name: str, role: Role, password: str) -> User:
        name, password = check_name(name), check_password(password)
        hashed = hash_password(password)
        with self._db() as db:
            if db.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise AccountError(_("The user '{name}' exists already.").format(name=name))
            db.execute(
                "INSERT INTO users (name, role, password, created) VALUES (?, ?, ?, ?)",
                (name, str(role), hashed, time.time()),
            )
        return User(name, role)

    def set_password(self, name: str, password: str) -> None:
        """A new password; every session of the user ends."""
        name, password = check_name(name), check_password(password)
        hashed = hash_password(password)
        with self._db() as db:
            if not db.execute(
                "UPDATE users SET password = ? WHERE name = ?", (hashed, name)
            ).rowcount:
                raise self._unknown(name)
            db.execute("DELETE FROM sessions WHERE user = ?", (name,))

    def remove_user(self, name: str) -> None:
        name = check_name(name)
        with self._db() as db:
            db.execute("DELETE FROM sessions WHERE user = ?", (name,))
            if not db.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount:
                raise self._unknown(name)

    def users(self) -> list[User]:
        with self._db() as db:
            found = db.execute("SELECT name, role FROM users ORDER BY name").fetchall()
        return [User(name, Role(role)) for name, role in found]

    def user(self, name: str) -> User | None:
        with self._db() as db:
            found = db.execute("SELECT name, role FROM users WHERE name = ?", (name,)).fetchone()
        return User(found[0], Role(found[1])) if found else None

    def _unknown(self, name: str) -> AccountError:
        return AccountError(_("No user '{name}'.").format(name=name))

    # login and sessions -----------------------------------------------------------------------

    def too_many_attempts(self, name: str, address: str, now: float | None = None) -> bool:
        """ATTEMPTS_ALLOWED failed logins per user and address within ATTEMPTS_WINDOW_S."""
        now = time.time() if now is None else now
        with self._db() as db:
            db.execute("DELETE FROM attempts WHERE at < ?", (now - ATTEMPTS_WINDOW_S,))
            (count,) = db.execute(
                "SELECT COUNT(*) FROM attempts WHERE user = ? AND address = ?", (name, address)
            ).fetchone()
        return bool(count >= ATTEMPTS_ALLOWED)

    def log_in(self, name: str, password: str, address: str) -> Session | None:
        """A new session, or None (the failure counted) when the name or password is wrong."""
        name = unicodedata.normalize("NFC", name.strip())
        password = unicodedata.normalize("NFC", password)
        with self._db() as db:
            found = db.execute(
                "SELECT role, password FROM users WHERE name = ?", (name,)
            ).fetchone()
        stored = found[1] if found else hash_password("", SCRYPT_N)  # same time either way
        if found is None or not password_matches(password[:MAX_PASSWORD], stored):
            with self._db() as db:
                db.execute(
                    "INSERT INTO attempts (user, address, at) VALUES (?, ?, ?)",
                    (name[:MAX_NAME], address, time.time()),
                )
            return None
        session = Session(
            secrets.token_urlsafe(32), User(name, Role(found[0])), secrets.token_urlsafe(32)
        )
        with self._db() as db:
            db.execute("DELETE FROM attempts WHERE user = ? AND address = ?", (name, address))
            db.execute(
                "INSERT INTO sessions (id, user, csrf, last_seen) VALUES (?, ?, ?, ?)",
                (session.id, name, session.csrf, time.time()),
            )
        return session

    def session(self, session_id: str) -> Session | None:
        """The live session with this id (its idle time starts again), else None. Every request
        asks: it reads, and writes (a disk sync) only when the session was last seen more than
        SESSION_TOUCH_S ago."""
        now = time.time()
        with self._read() as db:
            found = db.execute(
                "SELECT s.user, u.role, s.csrf, s.last_seen FROM sessions s "
                "JOIN users u ON u.name = s.user WHERE s.id = ? AND s.last_seen >= ?",
                (session_id, now - SESSION_IDLE_S),
            ).fetchone()
        if found and now - found[3] > SESSION_TOUCH_S:
            with self._db() as db:
                db.execute("DELETE FROM sessions WHERE last_seen < ?", (now - SESSION_IDLE_S,))
                db.execute("UPDATE sessions SET last_seen = ? WHERE id = ?", (now, session_id))
        return Session(session_id, User(found[0], Role(found[1])), found[2]) if found else None

    def log_out(self, session_id: str) -> None:
        with self._db() as db:
            db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))

    # audit ------------------------------------------------------------------------------------

    def audit(
        self,
        user: User | None,
        action: str,
        subject: str,
        *,
        sha256: str = "",
        detail: object = "",
        address: str = "",
    ) -> None:
        """One row per change: who, when, what, and the hash of exactly what was approved."""
        text = detail if isinstance(detail, str) else json.dumps(detail, ensure_ascii=False)
        with self._db() as db:
            db.execute(
                "INSERT INTO audit (at, user, role, action, object, sha256, detail, address) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    time.time(),
                    user.name if user else "",
                    str(user.role) if user else "",
                    action,
                    subject,
                    sha256,
                    text,
                    address,
                ),
            )

    def audit_rows(self, limit: int = 500) -> list[AuditRow]:
        return self.audit_page(limit)[0]

    def audit_page(
        self, limit: int, older_than: int | None = None
    ) -> tuple[list[AuditRow], int | None]:
        """The newest `limit` rows of the audit trail older than the cursor `older_than`, and
        the cursor of the next page (None: no more rows)."""
        with self._read() as db:
            found = db.execute(
                "SELECT at, user, role, action, object, sha256, detail, address, rowid "
                "FROM audit WHERE rowid < ? ORDER BY rowid DESC LIMIT ?",
                (older_than if older_than is not None else 2**63 - 1, limit + 1),
            ).fetchall()
        rows = [AuditRow(*row[:-1]) for row in found[:limit]]
        return rows, found[limit - 1][-1] if len(found) > limit and limit > 0 else None
