"""What the `loa` group options decided, shared by every command module."""

import os
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path

import click

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


def fit_cell(text: str, width: int) -> str:
    """`text` in a table column of `width` characters, cut with an ellipsis when too long."""
    return (text if len(text) <= width else text[: width - 1] + "…").ljust(width)


class Moment(click.ParamType[datetime]):
    """A date and time as ISO 8601 writes it, the way `loa next --json` prints it: a date alone
    (midnight), a time without zone (the station's), or with an offset or `Z`."""

    name = "moment"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return datetime.fromisoformat(str(value).strip())
        except ValueError:
            self.fail(
                _(
                    "'{value}' is not a date and time: write it as ISO 8601, e.g. 2026-12-01, "
                    "2026-12-01T06:30 or 2026-12-01T06:30:00+07:00."
                ).format(value=value),
                param,
                ctx,
            )


def in_zone(moment: datetime, zone: tzinfo) -> datetime:
    """`moment` in the station's zone: a time without zone is the station's own."""
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment.astimezone(zone)
