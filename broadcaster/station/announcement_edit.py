"""Writing an announcement file the way an officer would, for the web console's editor.

An `ID.txt` stays plain text; an `ID.yaml` is edited round-trip (comments and order kept); a new
announcement is an `ID.yaml`. A Windows file stays a Windows file (BOM, CRLF). What is written is
read back with the station's own reader before it replaces the file: a file Loa cannot read is
never saved.
"""

import hashlib
import io
import unicodedata
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.scalarstring import LiteralScalarString

from broadcaster.core.models import Announcement
from broadcaster.core.settings import LEXICON_FILE, Station
from broadcaster.errors import AnnouncementError, describe_os_error
from broadcaster.files import atomic_file, is_file, read_text
from broadcaster.i18n import _
from broadcaster.station.announcements import ANNOUNCEMENT_ID, SUFFIXES, read_announcement_file

BOM = "\ufeff"


def announcement_file(station: Station, announcement_id: str) -> Path | None:
    """The file holding the announcement, None if there is none yet."""
    for suffix in SUFFIXES:
        path = station.announcements_dir / f"{announcement_id}{suffix}"
        if is_file(path):
            return path
    return None


def file_hash(path: Path | None) -> str:
    """The SHA-256 of a file's bytes ("" when missing): what an editor saw when it opened it."""
    if path is None or not is_file(path):
        return ""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_announcement_id(announcement_id: str) -> str:
    wanted = unicodedata.normalize("NFC", announcement_id.strip())
    if not ANNOUNCEMENT_ID.fullmatch(wanted) or f"{wanted}.txt" == LEXICON_FILE:
        raise AnnouncementError(
            _(
                "'{id}' cannot name an announcement: use letters, digits, spaces, dots and "
                "dashes (up to 100)."
            ).format(id=announcement_id)
        )
    return wanted


def save_announcement(
    station: Station, announcement_id: str, title: str, text: str, voice: str | None
) -> Announcement:
    """Write (or create) the announcement and return it as the station reads it."""
    wanted = check_announcement_id(announcement_id)
    path = announcement_file(station, wanted) or station.announcements_dir / f"{wanted}.yaml"
    original = read_text(path, AnnouncementError) if is_file(path) else ""
    body = text.replace("\r\n", "\n").strip() + "\n"
    if path.suffix == ".txt":
        new_text = body
    else:
        yaml = YAML(typ="rt")
        yaml.preserve_quotes = True
        yaml.width = 4096
        data = yaml.load(original.replace("\r\n", "\n")) if original.strip() else None
        if not isinstance(data, CommentedMap):
            data = CommentedMap()
        for key, value in (("title", title.strip()), ("voice", voice or "")):
            if value:
                data[key] = value
            elif key in data:
                del data[key]
        data["text"] = LiteralScalarString(body)
        out = io.StringIO()
        yaml.dump(data, out)
        new_text = out.getvalue()
    if "\r\n" in original:
        new_text = new_text.replace("\n", "\r\n")
    if original.startswith(BOM) or (is_file(path) and path.read_bytes().startswith(BOM.encode())):
        new_text = BOM + new_text.lstrip(BOM)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(path) as temporary:
            temporary.write(new_text.encode("utf-8"))
            temporary.flush()
            # read back from the unsaved copy, with the suffix that decides how it is read
            found = read_announcement_file(Path(temporary.name), wanted, station, path.suffix)
    except OSError as error:
        raise AnnouncementError(
            _("Cannot write {file}: {reason}.").format(file=path, reason=describe_os_error(error))
        ) from error
    return Announcement(wanted, found.text, found.title, found.voice, found.recording)
