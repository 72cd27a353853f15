"""Recordings brought into the station: a phone recording given to `loa play PATH` or uploaded
to the web console is copied into announcements/ under a plain name that collides with none, so
that the station (and the running daemon, which never reads outside its folder) plays its own
copy."""

import contextlib
import filecmp
import os
import re
import shutil
import unicodedata
from pathlib import Path

from broadcaster.core.settings import Station
from broadcaster.errors import AnnouncementError, describe_os_error
from broadcaster.files import is_file, partial_path
from broadcaster.i18n import _

DEFAULT_STEM = "ghi-am"
"""The name of a copy whose own name has nothing left once made plain ("Ghi âm" → ghi-am)."""


def slugify(text: str) -> str:
    """'Xã Đông Hòa' → 'xa-dong-hoa'."""
    text = text.replace("đ", "d").replace("Đ", "D")
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")[:60].strip("-")


def copy_into_station(station: Station, source: Path, name: str | None = None) -> Path:
    """Copy `source` into announcements/ under a plain form of its name (or of `name`, the name
    an upload came with) — no spaces, no diacritics — that no other announcement has:
    `ghi-am.m4a`, else `ghi-am-2.m4a`…; the same recording copied again is not copied twice."""
    folder = station.announcements_dir
    given = Path(name) if name is not None else source
    stem = slugify(given.stem) or DEFAULT_STEM
    suffix = given.suffix.lower()
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
