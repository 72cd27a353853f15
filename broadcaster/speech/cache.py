"""Rendered speech kept on disk, so that a broadcast never waits for (or depends on) the network.

Each entry is an audio file plus a small JSON record written after it: the record holds the size
and SHA-256 of the audio, so an entry cut short by a power failure or damaged on disk is noticed
when read, dropped, and rendered again. Writes go to a temporary file first and are renamed into
place. Least recently used entries are pruned beyond a size cap.
"""

import contextlib
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from broadcaster.core.settings import Station
from broadcaster.errors import CacheError, describe_os_error
from broadcaster.files import PARTIAL_SUFFIX, write_atomically
from broadcaster.i18n import _

MEGABYTE = 1024 * 1024
RECORD_SUFFIX = ".json"
ABANDONED_AFTER_S = 600
"""A temporary or unrecorded file this old is a leftover of a crash, not a write in progress."""


@dataclass(frozen=True)
class CacheKey:
    """Everything that changes the sound: a change in any field is a different entry."""

    engine: str
    engine_version: str
    voice: str
    rate: str
    pitch: str
    volume: str
    text: str

    def digest(self) -> str:
        fields = json.dumps(self.__dict__, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(fields.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class CacheStats:
    entries: int
    size_bytes: int
    max_bytes: int


class AudioCache:
    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes

    @classmethod
    def for_station(cls, station: Station) -> "AudioCache":
        return cls(station.cache_dir, station.speech.cache_max_mb * MEGABYTE)

    def get(self, key: CacheKey) -> tuple[bytes, str] | None:
        """The cached audio for `key` and its file suffix, or None: a damaged entry is removed
        and counts as a miss. The bytes are returned, not the file: another process may prune
        the file while the broadcast still needs it."""
        digest = key.digest()
        record_path = self.directory / f"{digest}{RECORD_SUFFIX}"
        try:
            record = json.loads(record_path.read_text(encoding="utf-8"))
            audio = self.directory / f"{digest}{record['suffix']}"
            data = audio.read_bytes()
        except (OSError, ValueError, KeyError, TypeError):
            self._remove(digest)
            return None
        if len(data) != record.get("size") or _sha256(data) != record.get("sha256"):
            self._remove(digest)
            return None
        with contextlib.suppress(OSError):
            os.utime(record_path)  # marks the entry as recently used
        return data, audio.suffix

    def put(self, key: CacheKey, source: Path) -> Path:
        """Copy `source` into the cache, whole or not at all; raises CacheError (disk full...)."""
        digest = key.digest()
        data = source.read_bytes()
        audio = self.directory / f"{digest}{source.suffix}"
        record = {
            "size": len(data),
            "sha256": _sha256(data),
            "suffix": source.suffix,
            "key": key.__dict__,
            "created": time.time(),
        }
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            write_atomically(audio, data)
            write_atomically(
                self.directory / f"{digest}{RECORD_SUFFIX}",
                json.dumps(record, ensure_ascii=False).encode("utf-8"),
            )
        except OSError as error:
            self._remove(digest)
            raise CacheError(
                _("Cannot store speech in the cache {folder}: {reason}.").format(
                    folder=self.directory, reason=describe_os_error(error)
                )
            ) from error
        self.prune()
        return audio

    def stats(self) -> CacheStats:
        records = self._records()
        return CacheStats(len(records), self._size(), self.max_bytes)

    def prune(self, max_bytes: int | None = None) -> int:
        """Drop leftovers of interrupted writes, then least recently used entries until the cache
        fits in `max_bytes`; returns how many entries were removed."""
        limit = self.max_bytes if max_bytes is None else max_bytes
        records = {p.stem for p in self._records()}
        abandoned = time.time() - ABANDONED_AFTER_S
        for path in self._files():
            if path.name.split(".")[0] not in records and _stat(path).st_mtime < abandoned:
                _unlink(path)
        sizes: dict[str, int] = {}
        for path in self._files():
            digest = path.name.lstrip(".").split(".")[0]
            sizes[digest] = sizes.get(digest, 0) + _stat(path).st_size
        total = sum(sizes.values())
        removed = 0
        for record in sorted(self._records(), key=lambda p: _stat(p).st_mtime):
            if total <= limit:
                break
            self._remove(record.stem)
            total -= sizes.get(record.stem, 0)
            removed += 1
        return removed

    def _records(self) -> list[Path]:
        return list(self.directory.glob(f"*{RECORD_SUFFIX}"))

    def _files(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return [
            path
            for path in self.directory.iterdir()
            if path.is_file() and (not path.name.startswith(".") or path.suffix == PARTIAL_SUFFIX)
        ]

    def _size(self) -> int:
        return sum(_stat(p).st_size for p in self._files())

    def _remove(self, digest: str) -> None:
        for path in self.directory.glob(f"{digest}.*"):
            _unlink(path)


def _unlink(path: Path) -> None:
    """Removing is housekeeping: a file that cannot go now (permissions, another process) is
    left for a later prune rather than stopping a broadcast."""
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _stat(path: Path) -> os.stat_result:
    """A file another process (the daemon, `loa cache prune`) removed meanwhile counts as an
    empty file used just now: it is neither pruned nor counted."""
    try:
        return path.stat()
    except FileNotFoundError:
        return os.stat_result((0,) * 7 + (time.time(),) * 3)
