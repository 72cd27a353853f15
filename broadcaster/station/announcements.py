"""Announcement files in the station's `announcements/` folder ↔ Announcement values.

`ID.yaml` holds a title, the text and optionally a voice; `ID.txt` is just the text, for officers
who prefer to paste a document into a plain file.
"""

import re
import unicodedata
from pathlib import Path

from broadcaster.core.models import AUDIO_SUFFIXES, Announcement
from broadcaster.core.settings import LEXICON_FILE, Station
from broadcaster.core.voices import all_voices, engine_for
from broadcaster.errors import AnnouncementError
from broadcaster.files import inside, is_file, read_text
from broadcaster.i18n import _
from broadcaster.station.yamlfile import YamlMap, key_line, load_yaml

ANNOUNCEMENT_ID = re.compile(r"\w[\w .-]{0,99}")
"""Letters (Vietnamese too), digits, spaces, dots and dashes: any file name an officer gives, but
nothing that could lead outside the folder."""
ANNOUNCEMENT_KEYS = ("title", "text", "voice", "recording")
SUFFIXES = (".yaml", ".txt")
OTHER_AUDIO_SUFFIXES = (".m4a", ".aac", ".amr", ".opus", ".wma", ".3gp")
"""Phone recordings, played through ffmpeg."""


def list_announcements(station: Station) -> list[str]:
    folder = station.announcements_dir
    if not folder.is_dir():
        return []
    return sorted(
        {
            p.stem
            for p in folder.iterdir()
            if p.suffix in SUFFIXES and ANNOUNCEMENT_ID.fullmatch(p.stem) and p.name != LEXICON_FILE
        }
    )


def list_recordings(station: Station) -> list[str]:
    """Audio files in announcements/, which entries may air as they are: `ghi-am.m4a`."""
    folder = station.announcements_dir
    suffixes = (*AUDIO_SUFFIXES, *OTHER_AUDIO_SUFFIXES)
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.suffix.lower() in suffixes and is_file(p))


def load_announcement(station: Station, announcement_id: str) -> Announcement:
    wanted = unicodedata.normalize("NFC", announcement_id)
    if ANNOUNCEMENT_ID.fullmatch(wanted) and f"{wanted}.txt" != LEXICON_FILE:
        for suffix in SUFFIXES:
            path = station.announcements_dir / f"{wanted}{suffix}"
            if is_file(path):
                return _read(path, wanted, station)
    folder = station.announcements_dir
    audio = (*AUDIO_SUFFIXES, *OTHER_AUDIO_SUFFIXES)
    alike = (
        sorted(
            p.name
            for p in folder.iterdir()
            if unicodedata.normalize("NFC", p.stem) == wanted
            and p.suffix.lower() not in (*audio, *SUFFIXES)
        )
        if folder.is_dir() and ANNOUNCEMENT_ID.fullmatch(wanted)
        else []
    )
    if alike:
        raise AnnouncementError(
            _(
                "{file} in {folder} is not an announcement Loa reads: write the text in "
                "{id}.txt (or {id}.yaml), or give an audio file (.mp3, .wav, .m4a…)."
            ).format(file=alike[0], folder=folder, id=announcement_id)
        )
    known = ", ".join([*list_announcements(station), *list_recordings(station)]) or "-"
    raise AnnouncementError(
        _("No announcement '{id}' in {folder}. Announcements there: {known}.").format(
            id=announcement_id, folder=folder, known=known
        )
    )


def announcement_or_recording(station: Station, name: str) -> Announcement:
    """`loa play NAME`: an announcement by its id, or an audio file of the station played as it
    is. Files outside the station directory are refused, links leading out included: the
    station plays only what its officers put there."""
    if Path(name).suffix.lower() not in (*AUDIO_SUFFIXES, *OTHER_AUDIO_SUFFIXES):
        recording = _recording_named(station, name)
        if recording is None:
            return load_announcement(station, name)
        name = recording  # a recording's id is its name without extension: "Ghi âm 001"
    station_dir = station.directory.resolve()
    try:
        given = Path(name)
        if not given.is_absolute() and not is_file(Path.cwd() / given):
            given = station.announcements_dir / given  # `loa play ghi-am.m4a` means this one
        path = (Path.cwd() / given).resolve()
    except (OSError, ValueError, RuntimeError):
        path = station_dir
    if not inside(path, station_dir):
        raise AnnouncementError(
            _(
                "{file} is outside the station directory {folder}: copy it into {folder}/"
                "announcements first."
            ).format(file=name, folder=station_dir)
        )
    if not is_file(path):
        raise AnnouncementError(_("No audio file {file}.").format(file=name))
    return Announcement(id=path.stem, text="", recording=path)


def _recording_named(station: Station, name: str) -> str | None:
    """The audio file in announcements/ whose name without extension is `name`, unless an
    announcement (.txt, .yaml) has that id."""
    wanted = unicodedata.normalize("NFC", name.strip())
    if wanted in list_announcements(station):
        return None
    found = [
        r for r in list_recordings(station) if unicodedata.normalize("NFC", Path(r).stem) == wanted
    ]
    return found[0] if found else None


def _read(path: Path, announcement_id: str, station: Station) -> Announcement:
    return read_announcement_file(path, announcement_id, station, path.suffix)


def read_announcement_file(
    path: Path, announcement_id: str, station: Station, suffix: str
) -> Announcement:
    """The announcement a file holds, read as a `suffix` file (.txt or .yaml) and checked as the
    station reads it: also an edit not yet saved, written to a temporary name."""
    if suffix == ".txt":
        text = read_text(path, AnnouncementError, inside=station.directory)
        return Announcement(id=announcement_id, text=text)
    data = load_yaml(path, AnnouncementError, inside=station.directory)
    if not isinstance(data, YamlMap) or not data.get("text"):
        raise AnnouncementError(
            _("{file}:1: an announcement needs a 'text:' with what to say.").format(file=path)
        )
    for key, value in data.items():
        if key not in ANNOUNCEMENT_KEYS:
            raise AnnouncementError(
                f"{path}:{key_line(data, key)}: "
                + _("an announcement has no setting '{key}'; use: {known}.").format(
                    key=key, known=", ".join(ANNOUNCEMENT_KEYS)
                )
            )
        if not isinstance(value, str | None):
            raise AnnouncementError(
                f"{path}:{key_line(data, key)}: "
                + _("'{key}' must be text, written after '{key}:' on the same line.").format(
                    key=key
                )
            )
    voice = data.get("voice")
    if voice and engine_for(voice) is None:
        raise AnnouncementError(
            f"{path}:{key_line(data, 'voice')}: "
            + _("Unknown voice '{voice}'. Known voices: {known}.").format(
                voice=voice, known=", ".join(all_voices())
            )
        )
    return Announcement(
        id=announcement_id,
        text=data["text"],
        title=data.get("title") or "",
        voice=data.get("voice") or None,
        recording=_recording(path, data),
    )


def _recording(path: Path, data: YamlMap) -> Path | None:
    """The recording named in the file, which must exist inside the announcements folder."""
    name = data.get("recording")
    if not name:
        return None
    folder = path.parent.resolve()
    try:
        recording = (path.parent / str(name)).resolve()
    except (OSError, ValueError, RuntimeError):
        recording = folder  # not a file: refused below
    if not inside(recording, folder) or not is_file(recording):
        raise AnnouncementError(
            f"{path}:{key_line(data, 'recording')}: "
            + _("the recording {name} is not a file in {folder}.").format(name=name, folder=folder)
        )
    return recording
