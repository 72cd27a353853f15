"""`loa run` and the commands that talk to it or read what it aired: status, stop, reload, log,
report."""

import signal
import sys
import textwrap
from datetime import datetime, time, timedelta
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import click

from broadcaster.cli.lazy import N_, command, examples, option
from broadcaster.cli.session import Moment, Session, fit_cell, in_zone
from broadcaster.core.models import Result
from broadcaster.core.settings import Station
from broadcaster.errors import DaemonError, EditRefusedError, LoaError
from broadcaster.i18n import _

if TYPE_CHECKING:
    from broadcaster.onair.asrun import AsRunLog, Row

LOG_DIR = "logs"
LOG_BYTES = 1_000_000
LOG_KEPT = 5
TABLE_WIDTH = 80


@command(
    epilog=examples("loa run", "loa --station /srv/loa/xa-an-binh run"),
    help=N_(
        "Run the station: broadcast the schedules at their times until stopped "
        "(Ctrl+C, or systemctl stop)."
    ),
)
@click.pass_obj
def run(session: Session) -> None:
    from broadcaster.onair.daemon import Daemon

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


@command(
    epilog=examples("loa status"),
    help=N_(
        "Show whether the station is on air, what it plays and what waits, the next "
        "broadcasts, recent problems and how much speech is ready."
    ),
)
@click.pass_obj
def status(session: Session) -> None:
    from broadcaster.control.channel import send
    from broadcaster.onair.asrun import PLAYED, PLAYING

    station = session.station()
    now = datetime.now(ZoneInfo(station.timezone))
    reply = send(station.directory, {"command": "status"})
    if reply is None:
        click.echo(
            _(
                "Loa is NOT running for this station: nothing will be broadcast. Start it "
                "with: loa run (or install it as a service: loa service install)."
            )
        )
        upcoming_items = _upcoming_from_files(station, now)
    else:
        _show_running(reply)
        upcoming_items = [
            (datetime.fromisoformat(i["start"]), i["id"], i["announcement"]) for i in reply["next"]
        ]
    click.echo(
        _("Next broadcasts:") if upcoming_items else _("Nothing scheduled in the next 7 days.")
    )
    for start, entry_id, announcement in upcoming_items:
        click.echo(f"  {start:%d/%m %H:%M}  {entry_id} ({announcement})")
    problems = [
        row
        for row in _rows(station.directory, now - timedelta(hours=24))
        if row.result not in (*PLAYED, PLAYING)
    ]
    if problems:
        click.echo(_("Not aired in the last 24 hours:"))
    for row in problems:
        click.echo(
            f"  {_when(row.scheduled)[:16]}  {row.entry_id}: {result_label(row.result)}"
            f" — {row.error}".rstrip(" —")
        )
    from broadcaster.broadcast import cache_coverage
    from broadcaster.onair.daemon import WARM_HOURS

    try:
        coverage = cache_coverage(station, now, WARM_HOURS)
    except LoaError:  # a broken schedule, already shown above
        return
    if coverage.needed:
        click.echo(
            _("Online speech ready for the next 48 hours: {cached} of {needed}.").format(
                cached=coverage.cached, needed=coverage.needed
            )
            + (" " + _("Run 'loa cache warm' while online.") if coverage.missing else "")
        )


@command(help=N_("Stop what the running station plays now."), epilog=examples("loa stop"))
@click.pass_obj
def stop(session: Session) -> None:
    reply = _ask(session, {"command": "stop"})
    if reply.get("stopped"):
        click.echo(_("Stopped {id}.").format(id=reply["stopped"]))
    else:
        click.echo(_("Nothing was on air."))


@command(
    epilog=examples("loa reload"),
    help=N_("Make the running station read its schedules and announcements again."),
)
@click.pass_obj
def reload(session: Session) -> None:
    reply = _ask(session, {"command": "reload"}, fail_on_error=False)
    if not reply["ok"]:
        raise EditRefusedError(
            _("The edit was not taken; the last good schedule stays on air: {error}").format(
                error=reply["error"]
            )
        )
    click.echo(_("Schedules read again."))


@command(
    epilog=examples(
        "loa log",
        "loa log --since 2026-12-01 --until 2026-12-08",
        "loa log --since 2026-12-01 --csv > phat-song.csv",
    ),
    name="log",
    help=N_("Show what aired (the as-run log): time, entry, result and reason."),
)
@option("--since", type=Moment(), metavar=N_("WHEN"))
@option("--until", type=Moment(), metavar=N_("WHEN"))
@option("--csv", "as_csv", is_flag=True, help=N_("Print CSV for a spreadsheet."))
@click.pass_obj
def log_(session: Session, since: datetime | None, until: datetime | None, as_csv: bool) -> None:
    station = session.station()
    zone = ZoneInfo(station.timezone)
    rows = _rows(
        station.directory,
        in_zone(since, zone) if since else None,
        in_zone(until, zone) if until else None,
    )
    if as_csv:
        from broadcaster.onair.asrun import write_csv

        write_csv(rows, sys.stdout)
        return
    if not rows:
        click.echo(_("Nothing in the as-run log for this time."))
        return
    for line in log_table(rows):
        click.echo(line)


@command(
    epilog=examples("loa report --month 2026-12"),
    help=N_("Played/total per entry for a month, for the report to the district."),
)
@option(
    "--month",
    type=click.DateTime(["%Y-%m"]),
    required=True,
    metavar=N_("YYYY-MM"),
)
@click.pass_obj
def report(session: Session, month: datetime) -> None:
    station = session.station()
    zone = ZoneInfo(station.timezone)
    first = datetime.combine(month.date(), time(), tzinfo=zone)
    last = datetime.combine((first + timedelta(days=32)).replace(day=1), time(), tzinfo=zone)
    from broadcaster.onair.asrun import LOG_FILE

    aired = station.directory / LOG_FILE
    items = _log(station.directory).report(first, last) if aired.exists() else []
    click.echo(_("Broadcasts in {month}:").format(month=f"{first:%m/%Y}"))
    if not items:
        click.echo(_("Nothing in the as-run log for this time."))
    for item in items:
        click.echo(
            f"  {fit_cell(item.entry_id, 24)} {fit_cell(item.announcement, 40)} "
            f"{item.played}/{item.total}"
        )


def _show_running(reply: dict[str, Any]) -> None:
    click.echo(
        _("Loa is on air (process {pid}, since {since}), {entries} schedule entries.").format(
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


def _upcoming_from_files(station: Station, now: datetime) -> list[tuple[datetime, str, str]]:
    """The next broadcasts as the files say, when no daemon can say it; a broken schedule is
    shown, not raised, so that status always answers."""
    from broadcaster.onair.daemon import NEXT_DAYS, NEXT_SHOWN
    from broadcaster.station.lookahead import upcoming

    try:
        found = upcoming(station, now, NEXT_DAYS * 24)[:NEXT_SHOWN]
    except LoaError as error:
        click.echo(_("The schedules have a problem: {error}").format(error=error.message))
        return []
    return [(item.start, item.entry.id, item.entry.announcement) for item in found]


def result_label(result: str) -> str:
    """A result of the as-run log in the officer's words."""
    return {
        "played": _("played"),
        "played-fallback": _("played (fallback)"),
        "missed": _("missed"),
        "skipped-quiet": _("held: quiet hours"),
        "interrupted": _("interrupted"),
        "failed": _("failed"),
        Result.PLAYING: _("on air"),
    }.get(result, result)


def _ask(session: Session, request: dict[str, Any], fail_on_error: bool = True) -> dict[str, Any]:
    from broadcaster.control.channel import send

    reply = send(session.station().directory, request)
    if reply is None:
        raise DaemonError(_("Loa is not running for this station (start it with: loa run)."))
    if fail_on_error and not reply.get("ok"):
        raise DaemonError(str(reply.get("error", "")))
    return reply


def _log(directory: Path) -> "AsRunLog":
    from broadcaster.onair.asrun import LOG_FILE, AsRunLog

    return AsRunLog(directory / LOG_FILE)


def _rows(directory: Path, since: datetime | None, until: datetime | None = None) -> list["Row"]:
    """Rows of the as-run log; none (and no new file) where nothing ever aired."""
    from broadcaster.onair.asrun import LOG_FILE

    if not (directory / LOG_FILE).exists():
        return []
    log = _log(directory)
    try:
        return log.rows(since, until)
    finally:
        log.close()


def log_table(rows: list["Row"], width: int = TABLE_WIDTH) -> list[str]:
    """The as-run log for a terminal of `width` columns: one line per occurrence, its reason
    wrapped on the lines below."""
    headers = (_("SCHEDULED"), _("ENTRY"), _("RESULT"), _("VOICE"))
    cells = [
        (
            f"{datetime.fromisoformat(row.scheduled):%d/%m/%y %H:%M}",
            row.entry_id,
            result_label(row.result),
            row.source,
        )
        for row in rows
    ]
    widths = [14, 18, 20, 8]

    def line(texts: tuple[str, ...]) -> str:
        return "  ".join(fit_cell(t, size) for t, size in zip(texts, widths, strict=True)).rstrip()

    lines = [line(headers)]
    indent = " " * (widths[0] + 2)
    for row, cell in zip(rows, cells, strict=True):
        lines.append(line(cell))
        if row.error:
            lines.extend(
                textwrap.wrap(row.error, width, initial_indent=indent, subsequent_indent=indent)
            )
    return lines


def _when(iso: str) -> str:
    return f"{datetime.fromisoformat(iso):%d/%m/%Y %H:%M:%S}"


def _log_to(folder: Path) -> None:
    """The daemon logs to the terminal (the journal under systemd) and to rotating files in the
    station directory."""
    import logging
    import logging.handlers

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


ONAIR_COMMANDS = (run, status, stop, reload, log_, report)
