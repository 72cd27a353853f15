"""`loa run` and the commands that talk to it or read what it aired: status, stop, reload, log,
report."""

import logging
import logging.handlers
import signal
import sys
from datetime import datetime, time, timedelta
from pathlib import Path
from types import FrameType
from typing import Any
from zoneinfo import ZoneInfo

import click

from broadcaster.asrun import LOG_FILE, AsRunLog, write_csv
from broadcaster.control import send
from broadcaster.daemon import Daemon
from broadcaster.errors import DaemonError
from broadcaster.i18n import _
from broadcaster.session import Session

LOG_DIR = "logs"
LOG_BYTES = 1_000_000
LOG_KEPT = 5
DATE_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]


def add_daemon_commands(cli: click.Group) -> None:
    options = _("[OPTIONS]")

    @cli.command(
        help=_(
            "Run the station: broadcast the schedules at their times until stopped "
            "(Ctrl+C, or systemctl stop)."
        ),
        options_metavar=options,
    )
    @click.pass_obj
    def run(session: Session) -> None:
        station = session.station()
        _log_to(station.directory / LOG_DIR)
        daemon = Daemon(station.directory)
        daemon.start()
        click.echo(
            _("Loa is on the air for {station}. Stop with Ctrl+C.").format(
                station=station.name or station.directory
            ),
            err=True,
        )

        def stop(_signal: int, _frame: FrameType | None) -> None:
            daemon.shutdown()

        signal.signal(signal.SIGTERM, stop)
        try:
            daemon.wait()
        finally:
            daemon.shutdown()

    @cli.command(help=_("Show whether the station is running and what it plays."))
    @click.pass_obj
    def status(session: Session) -> None:
        reply = _ask(session, {"command": "status"})
        click.echo(
            _("Loa is running (process {pid}, since {since}), {entries} entries.").format(
                pid=reply["pid"], since=_when(reply["since"]), entries=reply["entries"]
            )
        )
        if reply["reload_error"]:
            click.echo(
                _("The last edit was not taken (the last good schedule is on air): {error}").format(
                    error=reply["reload_error"]
                )
            )
        playing = reply["playing"]
        if playing:
            click.echo(
                _("On air: {id} ({announcement}) since {start}.").format(
                    id=playing["id"],
                    announcement=playing["announcement"],
                    start=_when(playing["started"]),
                )
            )
        else:
            click.echo(_("Nothing on air."))
        for item in reply["queue"]:
            click.echo(
                _("Waiting: {id} ({announcement}), {priority}.").format(
                    id=item["id"], announcement=item["announcement"], priority=item["priority"]
                )
            )
        for item in reply["next"]:
            click.echo(
                _("Next: {start}  {id} ({announcement})").format(
                    start=_when(item["start"]), id=item["id"], announcement=item["announcement"]
                )
            )

    @cli.command(help=_("Stop what the running station plays now."))
    @click.pass_obj
    def stop(session: Session) -> None:
        reply = _ask(session, {"command": "stop"})
        if reply.get("stopped"):
            click.echo(_("Stopped {id}.").format(id=reply["stopped"]))
        else:
            click.echo(_("Nothing was on air."))

    @cli.command(help=_("Make the running station read its schedules and announcements again."))
    @click.pass_obj
    def reload(session: Session) -> None:
        reply = _ask(session, {"command": "reload"}, fail_on_error=False)
        if not reply["ok"]:
            raise DaemonError(
                _("The edit was not taken; the last good schedule stays on air: {error}").format(
                    error=reply["error"]
                )
            )
        click.echo(_("Schedules read again."))

    @cli.command(
        name="log",
        help=_("Show what aired (the as-run log): time, entry, result and reason."),
        options_metavar=options,
    )
    @click.option("--since", type=click.DateTime(DATE_FORMATS), metavar=_("WHEN"))
    @click.option("--until", type=click.DateTime(DATE_FORMATS), metavar=_("WHEN"))
    @click.option("--csv", "as_csv", is_flag=True, help=_("Print CSV for a spreadsheet."))
    @click.pass_obj
    def log_(
        session: Session, since: datetime | None, until: datetime | None, as_csv: bool
    ) -> None:
        station = session.station()
        zone = ZoneInfo(station.timezone)
        rows = _log(station.directory).rows(
            since.replace(tzinfo=zone) if since else None,
            until.replace(tzinfo=zone) if until else None,
        )
        if as_csv:
            write_csv(rows, sys.stdout)
            return
        if not rows:
            click.echo(_("Nothing in the as-run log for this time."))
        for row in rows:
            line = f"{_when(row.scheduled)}  {row.entry_id:<20} {row.result:<16} {row.source}"
            click.echo(f"{line}  {row.error}".rstrip())

    @cli.command(
        help=_("Played/total per entry for a month, for the report to the district."),
        options_metavar=options,
    )
    @click.option(
        "--month",
        type=click.DateTime(["%Y-%m"]),
        required=True,
        metavar=_("YYYY-MM"),
    )
    @click.pass_obj
    def report(session: Session, month: datetime) -> None:
        station = session.station()
        zone = ZoneInfo(station.timezone)
        first = datetime.combine(month.date(), time(), tzinfo=zone)
        last = datetime.combine((first + timedelta(days=32)).replace(day=1), time(), tzinfo=zone)
        items = _log(station.directory).report(first, last)
        click.echo(_("Broadcasts in {month}:").format(month=f"{first:%m/%Y}"))
        if not items:
            click.echo(_("Nothing in the as-run log for this time."))
        for item in items:
            click.echo(f"  {item.entry_id:<24} {item.announcement:<24} {item.played}/{item.total}")


def _ask(session: Session, request: dict[str, Any], fail_on_error: bool = True) -> dict[str, Any]:
    reply = send(session.station().directory, request)
    if reply is None:
        raise DaemonError(_("Loa is not running for this station (start it with: loa run)."))
    if fail_on_error and not reply.get("ok"):
        raise DaemonError(str(reply.get("error", "")))
    return reply


def _log(directory: Path) -> AsRunLog:
    return AsRunLog(directory / LOG_FILE)


def _when(iso: str) -> str:
    return f"{datetime.fromisoformat(iso):%d/%m/%Y %H:%M:%S}"


def _log_to(folder: Path) -> None:
    """The daemon logs to the terminal (the journal under systemd) and to rotating files in the
    station directory."""
    logger = logging.getLogger("loa")
    logger.setLevel(logging.INFO)
    form = logging.Formatter("%(asctime)s %(levelname)s %(message)s")
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(form)
    logger.addHandler(console)
    try:
        folder.mkdir(exist_ok=True)
        to_file = logging.handlers.RotatingFileHandler(
            folder / "loa.log", maxBytes=LOG_BYTES, backupCount=LOG_KEPT, encoding="utf-8"
        )
    except OSError as error:
        logger.warning(_("Cannot write log files in %s: %s"), folder, error)
        return
    to_file.setFormatter(form)
    logger.addHandler(to_file)
