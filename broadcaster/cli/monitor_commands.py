"""`loa monitor`: what the on-air monitor heard — a stretch of its daily audio log cut out to a
file, and its alarms. Both read the station's files: no running station is needed."""

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from broadcaster.cli.lazy import N_, examples, group, option
from broadcaster.cli.relay_commands import Length
from broadcaster.cli.session import Moment, Session, in_zone
from broadcaster.errors import AudioFileError
from broadcaster.i18n import _

ALARM_DAYS = 7


@group(
    epilog=examples(
        "loa monitor listen --at '01/12/2026 06:30'", "loa monitor alarms --since 01/12/2026"
    ),
    help=N_(
        "The on-air monitor (monitor: in station.yaml): what the loudspeakers played, its "
        "daily audio log and its alarms."
    ),
)
def monitor() -> None:
    pass


@monitor.command(
    epilog=examples(
        "loa monitor listen --at '01/12/2026 06:30'",
        "loa monitor listen --at 2026-12-01T06:30 --for 5m --out hop-dan.wav",
    ),
    help=N_(
        "Cut out what the monitor heard from a time, from its daily audio log, to a file "
        "(by default in the current folder, named by the time)."
    ),
)
@option("--at", "at", type=Moment(), required=True, metavar=N_("WHEN"), help=N_("From when."))
@option(
    "--for",
    "length",
    type=Length(),
    default="2m",
    metavar=N_("DURATION"),
    help=N_("How long, e.g. 2m (the default), 30s."),
)
@option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar=N_("FILE"),
    help=N_("The file to write: .wav, .mp3 or .ogg."),
)
@click.pass_obj
def listen(session: Session, at: datetime, length: float, out: Path | None) -> None:
    from broadcaster.monitor.station import open_audio_log

    station = session.station()
    moment = in_zone(at, ZoneInfo(station.timezone))
    if not station.monitor_dir.is_dir():
        raise AudioFileError(
            _(
                "This station has no audio log of the on-air monitor ({folder}): turn the "
                "monitor on with 'monitor:' in station.yaml (see the example there)."
            ).format(folder=station.monitor_dir)
        )
    out = out or Path(f"monitor-{moment:%Y-%m-%d-%H%M%S}.wav")
    written = open_audio_log(station).cut(moment, length, out)
    click.echo(_("Written to {file}.").format(file=written))


@monitor.command(
    epilog=examples("loa monitor alarms", "loa monitor alarms --since 01/12/2026"),
    help=N_(
        "List the monitor's alarms (dead air, off the air, too loud) and the unexpected "
        "sounds it heard, by default of the last 7 days."
    ),
)
@option("--since", type=Moment(), metavar=N_("WHEN"))
@option("--until", type=Moment(), metavar=N_("WHEN"))
@click.pass_obj
def alarms(session: Session, since: datetime | None, until: datetime | None) -> None:
    from broadcaster.onair.asrun import LOG_FILE, AsRunLog, alarm_label

    station = session.station()
    zone = ZoneInfo(station.timezone)
    start = in_zone(since, zone) if since else datetime.now(zone) - timedelta(days=ALARM_DAYS)
    found = []
    if (station.directory / LOG_FILE).exists():
        log = AsRunLog.for_station(station.directory)
        try:
            found = log.alarms(start, in_zone(until, zone) if until else None)
        finally:
            log.close()
    if not found:
        click.echo(_("No monitor alarms since {since}.").format(since=f"{start:%d/%m/%Y %H:%M}"))
        return
    for alarm in found:
        started = alarm.started.astimezone(zone)
        ended = (
            _("until {time}").format(time=f"{alarm.ended.astimezone(zone):%d/%m %H:%M:%S}")
            if alarm.ended
            else _("lasting")
        )
        click.echo(
            f"{started:%d/%m/%Y %H:%M:%S}  {alarm_label(alarm.kind)} ({ended}): {alarm.detail}"
        )
