"""Announcement files in the station's `announcements/` folder ↔ Announcement values.

`ID.yaml` holds a title, the text and optionally a voice; `ID.txt` is just the text, for officers
who prefer to paste a document into a plain file.
"""

import re
import unicodedata
from pathlib import Path

from ruamel.yaml.comments import CommentedMap

from broadcaster.config import Station
from broadcaster.errors import AnnouncementError
from broadcaster.i18n import _
from broadcaster.models import Announcement
from broadcaster.yamlfile import key_line, load_yaml, read_text

ANNOUNCEMENT_ID = re.compile(r"\w[\w .-]*")
"""Letters (Vietnamese too), digits, spaces, dots and dashes: any file name an officer gives, but
nothing that could lead outside the folder."""
ANNOUNCEMENT_KEYS = ("title", "text", "voice")
SUFFIXES = (".yaml", ".txt")


def list_announcements(station: Station) -> list[str]:
    folder = station.announcements_dir
    if not folder.is_dir():
        return []
    return sorted(
        {
            p.stem
            for p in folder.iterdir()
            if p.suffix in SUFFIXES and ANNOUNCEMENT_ID.fullmatch(p.stem)
        }
    )


def load_announcement(station: Station, announcement_id: str) -> Announcement:
    wanted = unicodedata.normalize("NFC", announcement_id)
    if ANNOUNCEMENT_ID.fullmatch(wanted):
        for suffix in SUFFIXES:
            path = station.announcements_dir / f"{wanted}{suffix}"
            if path.is_file():
                return _read(path, wanted)
    known = ", ".join(list_announcements(station)) or "-"
    raise AnnouncementError(
        _("No announcement '{id}' in {folder}. Announcements there: {known}.").format(
            id=announcement_id, folder=station.announcements_dir, known=known
        )
    )


def _read(path: Path, announcement_id: str) -> Announcement:
    if path.suffix == ".txt":
        return Announcement(id=announcement_id, text=read_text(path, AnnouncementError))
    data = load_yaml(path, AnnouncementError)
    if not isinstance(data, CommentedMap) or not data.get("text"):
        raise AnnouncementError(
            _("{file}:1: an announcement needs a 'text:' with what to say.").format(file=path)
        )
    for key, value in data.items():
        if key not in ANNOUNCEMENT_KEYS or not isinstance(value, str | None):
            raise AnnouncementError(
                f"{path}:{key_line(data, key)}: "
                + _("'{key}' is not a text setting of an announcement; use: {known}.").format(
                    key=key, known=", ".join(ANNOUNCEMENT_KEYS)
                )
            )
    return Announcement(
        id=announcement_id,
        text=data["text"],
        title=data.get("title") or "",
        voice=data.get("voice") or None,
    )
