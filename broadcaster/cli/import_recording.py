"""`loa play ~/Downloads/ghi-am.m4a`: an audio file from outside the station is copied into its
announcements/ folder first, so that the station (and the running daemon, which never reads
outside its folder) plays its own copy."""

import contextlib
import filecmp
import os
import shutil
from pathlib import Path

from broadcaster.core.models import AUDIO_SUFFIXES
from broadcaster.core.settings import Station
from broadcaster.errors import AnnouncementError, describe_os_error
from broadcaster.files import is_file, partial_path
from broadcaster.i18n import _
from broadcaster.system.service_unit import slugify

DEFAULT_STEM = "ghi-am"
"""The name of a copy whose own name has nothing left once made plain ("Ghi âm" → ghi-am)."""


def outside_audio_file(station: Station, name: str) -> Path | None:
    """The file `name` means when it is an audio file outside the station directory; None for
    an announcement id or a file of the station (a link inside that leads out stays refused by
    the station itself)."""
    from broadcaster.station.announcements import OTHER_AUDIO_SUFFIXES

    given = Path(name).expanduser()
    if given.suffix.lower() not in (*AUDIO_SUFFIXES, *OTHER_AUDIO_SUFFIXES):
        return None
    path = Path(os.path.abspath(given))
    if not is_file(path):
        return None
    inside = (station.directory.absolute(), station.directory.resolve())
    if any(path.is_relative_to(folder) for folder in inside):
        return None
    return path


def copy_into_station(station: Station, source: Path) -> Path:
    """Copy `source` into announcements/ under a plain name (no spaces, no diacritics) that no
    other announcement has: `ghi-am.m4a`, else `ghi-am-2.m4a`…; the same recording copied again
    is not copied twice."""
    folder = station.announcements_dir
    stem = slugify(source.stem) or DEFAULT_STEM
    suffix = source.suffix.lower()
    temporary = partial_path(folder / f"{stem}{suffix}")
    try:
        folder.mkdir(exist_ok=True)
        shutil.copyfile(source, temporary)
        number = 1
        while True:
            name = stem if number == 1 else f"{stem}-{number}"
            target = folder / f"{name}{suffix}"
            if is_file(target) and filecmp.cmp(target, temporary, shallow=False):
                return target
            # a name taken in another form (ghi-am.txt) is taken too: `loa play ghi-am`
            if not any(folder.glob(f"{name}.*")) and _publish(temporary, target):
                return target
            number += 1
    except OSError as error:
        raise AnnouncementError(
            _("Cannot copy {file} into {folder}: {reason}.").format(
                file=source, folder=folder, reason=describe_os_error(error)
            )
        ) from error
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink()


def _publish(temporary: Path, target: Path) -> bool:
    """Give `temporary` the name `target` unless that name exists (False): a hard link never
    replaces a file, so two copies at once cannot take the same name."""
    try:
        os.link(temporary, target)
    except FileExistsError:
        return False
    except OSError:  # a file system without hard links (FAT): a rename, checked first
        if target.exists():
            return False
        temporary.rename(target)
    return True
