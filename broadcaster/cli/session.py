"""What the `loa` group options decided, shared by every command module."""

import os
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo
from pathlib import Path

import click

from broadcaster.core.settings import Station
from broadcaster.core.timeofday import parse_time
from broadcaster.i18n import _, set_language
from broadcaster.station.holidays import as_date
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
    (midnight), a time without zone (the station's), or with an offset or `Z`; or day first, as
    Loa prints dates: 01/12/2026, 1/12/2026 06:30."""

    name = "moment"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass
        day_text, _space, clock = text.partition(" ")
        day = as_date(day_text)
        moment = parse_time(clock) if clock.strip() else time()
        if day is not None and moment is not None:
            return datetime.combine(day, moment)
        self.fail(
            _(
                "'{value}' is not a date: write it as 01/12/2026 or 2026-12-01, with a time if "
                "needed: 01/12/2026 06:30."
            ).format(value=value),
            param,
            ctx,
        )


class Day(click.ParamType[date]):
    """A day as officers write it (01/12/2026, 1/12/2026) or as ISO (2026-12-01)."""

    name = "day"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> date:
        if isinstance(value, date):
            return value
        day = as_date(value)
        if day is None:
            self.fail(
                _("'{value}' is not a date: write it as 01/12/2026 or 2026-12-01.").format(
                    value=value
                ),
                param,
                ctx,
            )
        return day


class Month(click.ParamType[date]):
    """A month: 12/2026 as Loa prints it, or 2026-12; its first day."""

    name = "month"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> date:
        if isinstance(value, date):
            return value
        text = str(value).strip()
        first = as_date(f"1/{text}") if "/" in text else as_date(f"{text}-01")
        if first is None:
            self.fail(
                _("'{value}' is not a month: write it as 12/2026 or 2026-12.").format(value=value),
                param,
                ctx,
            )
        return first


def in_zone(moment: datetime, zone: tzinfo) -> datetime:
    """`moment` in the station's zone: a time without zone is the station's own."""
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment.astimezone(zone)
