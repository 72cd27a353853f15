"""Files as a station needs them: written so that a reader sees the old content or the new one,
never a half-written file, whatever interrupts the write (a full disk, a power cut, Ctrl+C); and
read only from inside the station, as UTF-8 text whose faults are located."""

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from broadcaster.errors import LoaError, describe_os_error
from broadcaster.i18n import _

PARTIAL_SUFFIX = ".part"


def is_file(path: Path) -> bool:
    """Like Path.is_file, but a name too long or otherwise impossible is simply not a file."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def inside(path: Path, directory: Path) -> bool:
    """Whether `path`, every link followed, is a path within `directory`: the station reads only
    its own files, so a link an officer (or an intruder) made to /etc/shadow is never read out."""
    try:
        return path.resolve().is_relative_to(directory.resolve())
    except (OSError, ValueError, RuntimeError):  # a loop of links, a name too long
        return False


def partial_path(path: Path) -> Path:
    """A hidden temporary name beside `path`, unique to this write."""
    return path.with_name(f".{path.name}.{os.urandom(4).hex()}{PARTIAL_SUFFIX}")


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """A file to write `path` through: renamed into place, flushed to disk, only if the block
    ends normally; removed on any failure. Created with the process umask, like a normal file;
    OSError is left for the caller to word."""
    temporary = partial_path(path)
    try:
        with temporary.open("xb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


def write_atomically(path: Path, data: bytes | memoryview) -> None:
    with atomic_file(path) as out:
        out.write(data)


def read_text(path: Path, error: type[LoaError], inside: Path | None = None) -> str:
    """The file's text; a byte order mark is dropped, bytes that are not UTF-8 are located. With
    `inside`, a file that leads outside that directory (through a link) is refused."""
    if inside is not None:
        refuse_outside(path, inside, error)
    try:
        raw = path.read_bytes()
    except OSError as problem:
        raise error(
            _("Cannot read {file}: {reason}.").format(file=path, reason=describe_os_error(problem))
        ) from problem
    return decode_text(raw, path, error)


def decode_text(raw: bytes, path: Path, error: type[LoaError]) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as problem:
        line = raw[: problem.start].count(b"\n") + 1
        raise error(
            f"{path}:{line}: " + _("this line is not UTF-8 text; save the file as UTF-8.")
        ) from problem


def refuse_outside(path: Path, directory: Path, error: type[LoaError]) -> None:
    """Raise `error` naming the file if it leads outside `directory`."""
    if not inside(path, directory):
        raise error(
            f"{path}: "
            + _(
                "this file leads outside the station directory {folder} (a link?): Loa reads only "
                "files inside the station; copy the file into it."
            ).format(folder=directory)
        )
