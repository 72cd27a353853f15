"""Writing files so that a reader sees the old content or the new one, never a half-written file,
whatever interrupts the write: a full disk, a power cut, or Ctrl+C."""

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

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
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}{PARTIAL_SUFFIX}")


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
