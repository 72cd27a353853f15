"""The station's SQLite files (the as-run log, the province inbox and outbox, the web console's
accounts): one connection shared by a process's threads, one transaction at a time, WAL with full
sync so that a file stays whole through `kill -9` and power cuts, and every SQLite fault a
DiskError in the officer's words (a full disk, permissions, a damaged file) naming the file."""

import errno
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from broadcaster.errors import DiskError, describe_os_error

Describe = Callable[[Path, str], str]
"""The message of a fault: (file, reason) → text, e.g. "Cannot write the as-run log …"."""
Damaged = Callable[[Path], str]
"""The message for a damaged file: what to do with it."""


class Database:
    def __init__(self, path: Path, schema: str, describe: Describe, damaged: Damaged) -> None:
        self.path = path
        self._describe = describe
        self._damaged = damaged
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        except (OSError, sqlite3.Error) as error:
            raise self.error(error) from error
        try:
            self._db.execute("PRAGMA busy_timeout = 5000")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = FULL")
            self._db.executescript(schema)
        except sqlite3.Error as error:
            self._db.close()
            raise self.error(error) from error

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One immediate transaction: all of it is written, or none of it."""
        with self.read() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._db
            except sqlite3.Error as error:
                raise self.error(error) from error

    def error(self, error: Exception) -> DiskError:
        """The reason in the officer's words, and the fix: free space, permissions, a new file."""
        code = (getattr(error, "sqlite_errorcode", 0) or 0) & 0xFF
        if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
            return DiskError(self._damaged(self.path))
        if code == sqlite3.SQLITE_FULL:
            reason = describe_os_error(OSError(errno.ENOSPC, ""))
        elif code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM, sqlite3.SQLITE_CANTOPEN):
            reason = describe_os_error(OSError(errno.EACCES, ""))
        elif isinstance(error, OSError):
            reason = describe_os_error(error)
        else:
            reason = str(error)
        return DiskError(self._describe(self.path, reason))
