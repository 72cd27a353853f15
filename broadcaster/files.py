"""Writing files so that a reader sees the old content or the new one, never a half-written file,
whatever interrupts the write: a full disk, a power cut, or Ctrl+C."""

import contextlib
import os
import secrets
from pathlib import Path

PARTIAL_SUFFIX = ".part"


def is_file(path: Path) -> bool:
    """Like Path.is_file, but a name too long or otherwise impossible is simply not a file."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def write_atomically(path: Path, data: bytes | memoryview) -> None:
    """Write to a temporary file beside `path`, flush it to disk, then rename it into place.

    The temporary file is created with the process umask (as a normal file would be) and is
    removed on any failure; OSError is left for the caller to word.
    """
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}{PARTIAL_SUFFIX}")
    try:
        with temporary.open("xb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
