"""`loa run` and the commands that talk to it or read what it aired: status, stop, reload, log,
report."""

import signal
import sys
import textwrap
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

import click

from broadcaster.cli.lazy import N_, command, examples, option
from broadcaster.cli.session import Moment, Month, Session, fit_cell, in_zone
from broadcaster.core.settings import Station
from broadcaster.errors import DaemonError, EditRefusedError, LoaError
from broadcaster.i18n import _

if TYPE_CHECKING:
    from broadcaster.core.models import Alarm
    from broadcaster.core.settings import MonitorSettings
    from broadcaster.monitor.station import StationMonitor
    from broadcaster.onair.asrun import AsRunLog, ItemReport, Row
    from broadcaster.onair.daemon import Daemon

LOG_DIR = "logs"
LOG_BYTES = 1_000_000
LOG_KEPT = 5
TABLE_WIDTH = 80


@command(
    epilog=examples("loa run", "loa --station /srv/loa/xa-an-binh run"),
    help=N_(
        "Run the station: broadcast the schedules at their times until stopped "
        "(Ctrl+C; as a service: sudo systemctl stop loa-STATION, see loa service status)."
    ),
)
@click.pass_obj
def run(session: Session) -> None:
    import logging

    from broadcaster.onair.daemon import Daemon
    from broadcaster.onair.player import probe_sound

    station = session.station()
    _log_to(station.directory / LOG_DIR, ZoneInfo(station.timezone))
    monitors: list[StationMonitor] = []
    daemon = Daemon(
        station.directory,
        output=lambda now_station: monitors[0].output_for(now_station) if monitors else None,
    )
    daemon.player.sound_problem = probe_sound(station)  # before anything plays
    daemon.start()
    if daemon.player.sound_problem:
        logging.getLogger("loa").warning("%s", daemon.player.sound_problem)
    if station.monitor is not None:  # after the station is on the air: it never waits on it
        monitors += _start_monitor(station, station.monitor, daemon)
    from broadcaster.system.service_unit import service_name

    click.echo(
        _(
            "Loa is on the air for {station}. Stop with Ctrl+C; installed as a service, it "
            "runs as {service}: sudo systemctl stop {service}."
        ).format(
            station=station.name or station.directory, service=service_name(station.directory)
        ),
        err=True,
    )

    link = None
    if station.province is not None:  # after the station is on the air: it never waits on it
        from broadcaster.province.link import StationLink
        from broadcaster.province.reports import DaemonView, Reporter

        view = DaemonView(daemon)
        link = StationLink(
            station.province,
            daemon,
            reporter=lambda station_id, db, publish, _station: Reporter(
                station_id, db, publish, view
            ),
        )
        link.start()

    def stop(_signal: int, _frame: FrameType | None) -> None:
        if link is not None:  # the link first: it hands the station requests
            link.stop()
        daemon.shutdown()
        for monitor in monitors:  # after the air: the last rows are judged
            monitor.close()

    signal.signal(signal.SIGTERM, stop)
    try:
        daemon.wait()
    finally:
        if link is not None:
            link.stop()
        daemon.shutdown()
        for monitor in monitors:
            monitor.close()


def _start_monitor(
    station: Station, settings: "MonitorSettings", daemon: "Daemon"
) -> list["StationMonitor"]:
    """The on-air monitor, opened in the background: the status says whether it listens; none
    when it cannot even start (the as-run log refuses it), and the air goes on."""
    import logging

    from broadcaster.monitor.station import StationMonitor

    try:
        monitor = StationMonitor(station, settings)
        monitor.start(daemon.events, daemon.now)
    except LoaError as error:
        logging.getLogger("loa").warning(_("The on-air monitor is off: %s"), error.message)
        return []
    daemon.monitor_status = monitor.status
    return [monitor]


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
    from broadcaster.onair.asrun import PLAYED, PLAYING, aired_at, entry_label, result_label

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
    from broadcaster.onair.asrun import aired_label

    for start, entry_id, announcement in upcoming_items:
        click.echo(f"  {start:%d/%m %H:%M}  {entry_id} ({aired_label(announcement)})")
    if station.province is not None:
        click.echo(_province_link(station))
    if drafts := _drafts(station):
        click.echo(
            _("Drafts, not on air until approved (loa approve ID): {ids}.").format(
                ids=", ".join(drafts)
            )
        )
    problems = [
        row
        for row in _rows(station.directory, now - timedelta(hours=24))
        if row.result not in (*PLAYED, PLAYING)
    ]
    if problems:
        click.echo(_("Not aired in the last 24 hours:"))
    for row in problems:
        click.echo(
            f"  {_when(aired_at(row))[:16]}  {entry_label(row.entry_id, row.priority)}: "
            f"{result_label(row.result)}"
            f" — {row.error}".rstrip(" —")
        )
    _show_not_heard(station.directory, now)
    # The running station counts its speech at each cache round: asking it costs nothing,
    # counting here would load every speech engine (without it, nothing is rendered ahead).
    ready = reply.get("speech_ready") if reply is not None else None
    if ready is not None and ready[1]:
        cached, needed = ready
        click.echo(
            _("Online speech ready for the next 48 hours: {cached} of {needed}.").format(
                cached=cached, needed=needed
            )
            + (" " + _("Run 'loa cache warm' while online.") if cached < needed else "")
        )


def _show_not_heard(directory: Path, now: datetime) -> None:
    """What aired in the last 24 hours that the on-air monitor did not hear (whole)."""
    from broadcaster.core.models import Heard
    from broadcaster.onair.asrun import aired_at, entry_label, heard_label, hearing_note

    rows = [
        row
        for row in _rows(directory, now - timedelta(hours=24))
        if row.heard in (Heard.NO, Heard.PARTLY)
    ]
    if rows:
        click.echo(_("Aired but not heard by the monitor in the last 24 hours:"))
    for row in rows:
        click.echo(
            f"  {_when(aired_at(row))[:16]}  {entry_label(row.entry_id, row.priority)}: "
            f"{heard_label(row.heard)}"
            f" — {hearing_note(row)}".rstrip(" —")
        )


def _show_monitor(monitor: dict[str, Any]) -> None:
    """The on-air monitor of the running station: whether it listens, the alarms that last."""
    from broadcaster.onair.asrun import NOT_TROUBLE, alarm_label

    if monitor.get("problem"):
        click.echo(
            _("On-air monitor ({device}): NOT listening: {problem}").format(
                device=monitor["device"], problem=monitor["problem"]
            )
        )
    else:
        click.echo(_("On-air monitor ({device}): listening.").format(device=monitor["device"]))
    for alarm in monitor.get("alarms", []):
        text = (
            _("Monitor: {alarm} since {since}: {detail}")
            if alarm["kind"] in NOT_TROUBLE
            else _("Monitor ALARM: {alarm} since {since}: {detail}")
        )
        click.echo(
            text.format(
                alarm=alarm_label(alarm["kind"]),
                since=_when(alarm["started"]),
                detail=alarm["detail"],
            )
        )


def _province_link(station: Station) -> str:
    """One line on the link to the province, as the running station last recorded it."""
    from broadcaster.province.inbox import LINK_FAILING, LINK_LOST, LINK_UP, Inbox

    assert station.province is not None
    broker = station.province.broker
    try:
        inbox = Inbox.for_station(station.directory)
        try:
            link = inbox.link()
        finally:
            inbox.close()
    except LoaError as error:
        return _("Province link: cannot read its state: {reason}").format(reason=error.message)
    if link is None:
        return _("Province link to {broker}: not connected yet.").format(broker=broker)
    since = f"{link.since.astimezone(ZoneInfo(station.timezone)):%d/%m %H:%M}"
    if link.state == LINK_UP:
        text = _("Province link to {broker}: connected since {since}.")
    elif link.state == LINK_LOST:
        text = _("Province link to {broker}: lost since {since} ({detail}); retrying.")
    elif link.state == LINK_FAILING:
        text = _("Province link to {broker}: cannot connect since {since}: {detail}")
    else:
        text = _("Province link to {broker}: off since {since} (Loa was stopped).")
    return text.format(broker=broker, since=since, detail=link.detail)


@command(help=N_("Stop what the running station plays now."), epilog=examples("loa stop"))
@click.pass_obj
def stop(session: Session) -> None:
    reply = _ask(session, {"command": "stop"})
    if reply.get("stopped"):
        from broadcaster.onair.asrun import entry_label

        click.echo(_("Stopped {id}.").format(id=entry_label(reply["stopped"])))
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
        "loa log --since 01/12/2026 --until 08/12/2026",
        "loa log --since 01/12/2026 --csv > phat-song.csv",
    ),
    name="log",
    help=N_("Show what aired (the as-run log): time, entry, result and reason."),
)
@option("--since", type=Moment(), metavar=N_("WHEN"))
@option("--until", type=Moment(), metavar=N_("WHEN"))
@option("--csv", "as_csv", is_flag=True, help=N_("Print CSV for a spreadsheet."))
@option(
    "--raw",
    is_flag=True,
    help=N_("With --csv: the stored columns and values (English), for other programs."),
)
@click.pass_obj
def log_(
    session: Session, since: datetime | None, until: datetime | None, as_csv: bool, raw: bool
) -> None:
    station = session.station()
    zone = ZoneInfo(station.timezone)
    rows = _rows(
        station.directory,
        in_zone(since, zone) if since else None,
        in_zone(until, zone) if until else None,
    )
    if as_csv:
        from broadcaster.onair.asrun import write_csv

        write_csv(rows, sys.stdout, raw)
        return
    alarms = _alarms(
        station.directory,
        in_zone(since, zone) if since else None,
        in_zone(until, zone) if until else None,
    )
    if not rows and not alarms:
        click.echo(_("Nothing in the as-run log for this time."))
        return
    for line in log_table(rows, alarms=alarms):
        click.echo(line)


@command(
    epilog=examples("loa report", "loa report --month 11/2026", "loa report --month 2026-11"),
    help=N_(
        "Played/total per entry for a month (by default this month), for the report to the "
        "district."
    ),
)
@option("--month", type=Month(), metavar=N_("MM/YYYY"), help=N_("e.g. 11/2026."))
@click.pass_obj
def report(session: Session, month: date | None) -> None:
    station = session.station()
    zone = ZoneInfo(station.timezone)
    month = month or datetime.now(zone).date().replace(day=1)
    first = datetime.combine(month, time(), tzinfo=zone)
    last = datetime.combine((first + timedelta(days=32)).replace(day=1), time(), tzinfo=zone)
    from broadcaster.onair.asrun import LOG_FILE

    aired = station.directory / LOG_FILE
    items = _log(station.directory).report(first, last) if aired.exists() else []
    click.echo(_("Broadcasts in {month}:").format(month=f"{first:%m/%Y}"))
    if not items:
        click.echo(_("Nothing in the as-run log for this time."))
        return
    for line in report_table(items):
        click.echo(line)


def report_table(items: list["ItemReport"]) -> list[str]:
    """The monthly report under headings, ad-hoc items named by what they said, with totals;
    with an on-air monitor, what was heard (whole, partly, not at all) beside what aired."""
    monitored = any(item.judged for item in items)
    widths: tuple[int, ...] = (22, 40, 6, 6)
    if monitored:
        widths = (20, 23, 6, 6, 6, 6, 6)

    def line(texts: tuple[str, ...]) -> str:
        cells = [fit_cell(texts[0], widths[0]), fit_cell(texts[1], widths[1])]
        cells += [text.rjust(width) for text, width in zip(texts[2:], widths[2:], strict=True)]
        return "  " + " ".join(cells).rstrip()

    from broadcaster.onair.asrun import ItemReport, aired_label, entry_label

    def counts(item: "ItemReport") -> tuple[str, ...]:
        heard = (str(item.heard), str(item.partly), str(item.not_heard))
        return (str(item.played), *(heard if monitored else ()), str(item.total))

    heard_headings = (_("HEARD"), _("PARTLY"), _("NOT")) if monitored else ()
    lines = [line((_("ENTRY"), _("ANNOUNCEMENT"), _("AIRED"), *heard_headings, _("TOTAL")))]
    for item in items:
        lines.append(
            line(
                (
                    entry_label(item.entry_id, item.priority),
                    aired_label(item.announcement),
                    *counts(item),
                )
            )
        )
    all_items = ItemReport(
        "",
        "",
        played=sum(i.played for i in items),
        total=sum(i.total for i in items),
        heard=sum(i.heard for i in items),
        partly=sum(i.partly for i in items),
        not_heard=sum(i.not_heard for i in items),
    )
    lines.append(line((_("Total"), "", *counts(all_items))))
    if monitored:
        lines.append(
            "  "
            + _(
                "HEARD, PARTLY, NOT: what the on-air monitor heard of what aired; rows aired "
                "without the monitor are not counted there."
            )
        )
    return lines


def _show_running(reply: dict[str, Any]) -> None:
    from broadcaster.onair.asrun import aired_label, entry_label, priority_label

    click.echo(
        _("Loa is on air (process {pid}, since {since}), {entries} schedule entries.").format(
            pid=reply["pid"], since=_when(reply["since"]), entries=reply["entries"]
        )
    )
    if reply.get("sound"):
        click.echo(_("Warning: {reason}").format(reason=reply["sound"]))
    if reply.get("monitor"):
        _show_monitor(reply["monitor"])
    if reply["reload_error"]:
        click.echo(
            _("The last edit was not taken (the last good schedule is on air): {error}").format(
                error=reply["reload_error"]
            )
        )
    playing = reply["playing"]
    scheduled = datetime.fromisoformat(playing["scheduled"]) if playing else None
    if playing and scheduled and scheduled > datetime.now(scheduled.tzinfo):
        # the pre-roll: the program is made and waits for its minute
        click.echo(
            _("Getting ready: {id} ({announcement}) airs at {start}.").format(
                id=entry_label(playing["id"], playing["priority"]),
                announcement=aired_label(playing["announcement"]),
                start=f"{scheduled:%H:%M:%S}",
            )
        )
    elif playing:
        click.echo(
            _("On air: {id} ({announcement}) since {start}.").format(
                id=entry_label(playing["id"], playing["priority"]),
                announcement=aired_label(playing["announcement"]),
                start=_when(playing["started"]),
            )
        )
    else:
        click.echo(_("Nothing on air."))
    for item in reply["queue"]:
        click.echo(
            _("Waiting: {id} ({announcement}), {priority}.").format(
                id=entry_label(item["id"]),
                announcement=aired_label(item["announcement"]),
                priority=priority_label(item["priority"]),
            )
        )


def _drafts(station: Station) -> list[str]:
    """The ids of the entries that wait for approval; a broken schedule is shown elsewhere."""
    from broadcaster.station.schedules import read_schedules, waits_for_approval

    try:
        entries = read_schedules(station).entries
    except LoaError:
        return []
    return [entry.id for entry in entries if waits_for_approval(entry)]


def _upcoming_from_files(station: Station, now: datetime) -> list[tuple[datetime, str, str]]:
    """The next broadcasts as the files say, when no daemon can say it; a broken schedule is
    shown, not raised, so that status always answers."""
    from broadcaster.station.lookahead import NEXT_DAYS, NEXT_SHOWN, upcoming
    from broadcaster.station.schedules import occurrence_name

    try:
        found = upcoming(station, now, NEXT_DAYS * 24)[:NEXT_SHOWN]
    except LoaError as error:
        click.echo(_("The schedules have a problem: {error}").format(error=error.message))
        return []
    return [(item.start, item.entry.id, occurrence_name(item.entry)) for item in found]


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
    """Rows of the as-run log."""
    return _from_log(directory, lambda log: log.rows(since, until))


def _alarms(
    directory: Path, since: datetime | None, until: datetime | None = None
) -> list["Alarm"]:
    """The on-air monitor's alarms."""
    return _from_log(directory, lambda log: log.alarms(since, until))


Listed = TypeVar("Listed")


def _from_log(directory: Path, read: "Callable[[AsRunLog], list[Listed]]") -> list[Listed]:
    """What `read` finds in the as-run log; none (and no new file) where nothing ever aired."""
    from broadcaster.onair.asrun import LOG_FILE

    if not (directory / LOG_FILE).exists():
        return []
    log = _log(directory)
    try:
        return read(log)
    finally:
        log.close()


def log_table(
    rows: list["Row"], width: int = TABLE_WIDTH, alarms: Sequence["Alarm"] = ()
) -> list[str]:
    """The as-run log for a terminal of `width` columns: one line per occurrence; below it what
    an ad-hoc item aired (its text, or its announcement) and the reason, wrapped. With an
    on-air monitor, a HEARD column and its alarms (an unexpected sound too) in time order."""
    from broadcaster.core.models import Alarm, Heard
    from broadcaster.onair.asrun import (
        ADHOC_IDS,
        aired_at,
        aired_label,
        alarm_label,
        entry_label,
        heard_label,
        hearing_note,
        result_label,
    )

    show_heard = bool(alarms) or any(row.heard for row in rows)
    headers: tuple[str, ...] = (_("AIRED AT"), _("ENTRY"), _("RESULT"), _("VOICE"))
    widths = [14, 24, 22, 10]
    if show_heard:
        headers += (_("HEARD"),)
        widths = [14, 21, 18, 9, 13]  # "nghe một phần" whole

    def line(texts: tuple[str, ...]) -> str:
        return " ".join(fit_cell(t, size) for t, size in zip(texts, widths, strict=True)).rstrip()

    lines = [line(headers)]
    indent = " " * (widths[0] + 1)

    def notes_below(notes: list[str]) -> None:
        for note in notes:
            lines.extend(
                textwrap.wrap(note, width, initial_indent=indent, subsequent_indent=indent)
            )

    items: list[tuple[datetime, Row | Alarm]] = [
        (datetime.fromisoformat(aired_at(row)), row) for row in rows
    ]
    items += [(alarm.started, alarm) for alarm in alarms]
    for moment, item in sorted(items, key=lambda pair: pair[0].timestamp()):
        if isinstance(item, Alarm):
            cells = (f"{moment:%d/%m/%y %H:%M}", _("(monitor)"), alarm_label(item.kind), "")
            lines.append(line((*cells, "")))
            ended = (
                " " + _("(until {time})").format(time=f"{item.ended:%H:%M:%S}")
                if item.ended
                else ""
            )
            notes_below([item.detail + ended])
            continue
        row = item
        cells = (
            f"{moment:%d/%m/%y %H:%M}",
            entry_label(row.entry_id, row.priority),
            result_label(row.result),
            row.source,
        )
        lines.append(line((*cells, heard_label(row.heard)) if show_heard else cells))
        notes = [f"«{aired_label(row.announcement)}»"] if row.entry_id in ADHOC_IDS else []
        notes += [row.error] if row.error else []
        if row.heard and row.heard != Heard.YES and hearing_note(row):
            notes.append(_("Monitor: {note}").format(note=hearing_note(row)))
        notes_below(notes)
    return lines


def _when(iso: str) -> str:
    return f"{datetime.fromisoformat(iso):%d/%m/%Y %H:%M:%S}"


def _log_to(folder: Path, zone: ZoneInfo) -> None:
    """The daemon logs to the terminal (the journal under systemd) and to rotating files in the
    station directory."""
    import logging.handlers

    logger = logging.getLogger("loa")
    logger.setLevel(logging.INFO)
    for level, name in (
        (logging.INFO, _("INFO")),
        (logging.WARNING, _("WARNING")),
        (logging.ERROR, _("ERROR")),
    ):
        logging.addLevelName(level, name)
    form = logging.Formatter("%(asctime)s %(levelname)s %(message)s")
    # the station's clock, as status and the log show it, not the PC's zone
    form.converter = lambda seconds: datetime.fromtimestamp(seconds or 0.0, zone).timetuple()
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
