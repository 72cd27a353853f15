"""`loa play ~/Downloads/ghi-am.m4a`: an audio file from outside the station is copied into its
announcements/ folder first (station/recordings.py)."""

import os
from pathlib import Path

from broadcaster.core.models import AUDIO_SUFFIXES
from broadcaster.core.settings import Station
from broadcaster.files import is_file


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
