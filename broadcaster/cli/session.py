"""What the `loa` group options decided, shared by every command module."""

import os
from dataclasses import dataclass
from pathlib import Path

from broadcaster.core.settings import Station
from broadcaster.i18n import _, set_language
from broadcaster.station.station_file import find_station, load_station


@dataclass
class Session:
    station_dir: Path | None
    language_chosen: bool
    _station: Station | None = None

    def station(self) -> Station:
        """The station, read once; its language applies unless the officer chose one."""
        if self._station is None:
            directory = find_station(self.station_dir, os.environ, Path.cwd())
            self._station = load_station(directory)
            if not self.language_chosen:
                set_language(self._station.language)
        return self._station


def examples(*commands: str) -> str:
    """A help epilog listing example commands, kept as written (click rewraps other text)."""
    return "\b\n" + _("Examples:") + "\n" + "\n".join(f"  {command}" for command in commands)


def fit_cell(text: str, width: int) -> str:
    """`text` in a table column of `width` characters, cut with an ellipsis when too long."""
    return (text if len(text) <= width else text[: width - 1] + "…").ljust(width)
