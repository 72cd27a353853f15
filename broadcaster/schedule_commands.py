"""`loa next` and the commands that read and edit schedules."""

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import click

from broadcaster.i18n import _
from broadcaster.service import upcoming
from broadcaster.session import Session


def add_schedule_commands(cli: click.Group) -> None:
    options = _("[OPTIONS]")

    @cli.command(
        name="next",
        help=_("List what the schedules air in the next days."),
        options_metavar=options,
    )
    @click.option("--days", type=click.IntRange(1, 366), default=7, show_default=True, metavar="N")
    @click.option(
        "--from",
        "start",
        type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]),
        metavar=_("WHEN"),
        help=_("Start from this date and time (ISO, e.g. 2026-12-01T06:00) instead of now."),
    )
    @click.option("--json", "as_json", is_flag=True, help=_("Print JSON for other programs."))
    @click.pass_obj
    def next_(session: Session, days: int, start: datetime | None, as_json: bool) -> None:
        station = session.station()
        zone = ZoneInfo(station.timezone)
        now = start.replace(tzinfo=zone) if start else datetime.now(zone)
        items = upcoming(station, now, days * 24)
        if as_json:
            click.echo(
                json.dumps(
                    [
                        {
                            "id": item.entry.id,
                            "announcement": item.entry.announcement,
                            "start": item.start.isoformat(),
                            "priority": item.entry.priority,
                        }
                        for item in items
                    ],
                    ensure_ascii=False,
                    indent=2,
                )
            )
            return
        if not items:
            click.echo(_("Nothing is scheduled in the next {hours} hours.").format(hours=days * 24))
        for item in items:
            click.echo(f"{item.start:%d/%m/%Y %H:%M}  {item.entry.announcement}  ({item.entry.id})")
