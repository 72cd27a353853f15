"""One daemon per station: a second one would play everything twice."""

import os
from pathlib import Path
from typing import IO

from broadcaster.control.channel import private_run_dir, run_dir
from broadcaster.errors import DaemonError, describe_os_error
from broadcaster.i18n import _

LOCK_NAME = "daemon.lock"


class StationLock:
    """An exclusive lock on `.loa/daemon.lock`, held while the daemon runs; the OS lets go of it
    when the process dies, however it dies. The file holds the daemon's process id."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        try:
            folder = private_run_dir(self.directory)
            handle = open(folder / LOCK_NAME, "a+")  # noqa: SIM115 - held while running
        except OSError as error:
            raise DaemonError(
                _("Cannot write to {folder}: {reason}.").format(
                    folder=run_dir(self.directory), reason=describe_os_error(error)
                )
            ) from error
        try:
            _lock(handle)
        except OSError as error:
            handle.close()
            raise DaemonError(
                _(
                    "Loa is already running for this station; stop it first (systemctl stop loa, "
                    "or Ctrl+C in its window)."
                )
            ) from error
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def _lock(handle: IO[str]) -> None:
    if os.name == "nt":
        import msvcrt

        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
    else:
        import fcntl

        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
