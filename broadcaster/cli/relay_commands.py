"""`loa relay`: the station's relay sources (radio streams, the line-in), tried by hand."""

from pathlib import Path

import click

from broadcaster.cli.lazy import N_, argument, examples, group, option
from broadcaster.cli.session import Session
from broadcaster.i18n import _


@group(
    epilog=examples("loa relay now vov1 --for 30m", "loa relay test vov1"),
    help=N_("Relay a radio programme (VOV, the province's station) or the line-in."),
)
def relay() -> None:
    pass


class Length(click.ParamType[float]):
    """How long: 30m, 1h, 90s or a number of seconds."""

    name = "length"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        from broadcaster.station.station_file import duration_seconds

        seconds = duration_seconds(value)
        if seconds is None or seconds <= 0:
            self.fail(
                _("'{value}' is not a length such as 30m, 1h or 90s.").format(value=value),
                param,
                ctx,
            )
        return float(seconds)


@relay.command(
    epilog=examples("loa relay now vov1 --for 30m", "loa relay now vov1 --for 1h --emergency"),
    help=N_(
        "Relay the source NAME of station.yaml now, on the running station, for the time "
        "given; loa stop ends it sooner."
    ),
)
@argument("name", metavar=N_("NAME"))
@option(
    "--for",
    "length",
    type=Length(),
    required=True,
    metavar=N_("DURATION"),
    help=N_("How long, e.g. 30m, 1h."),
)
@option(
    "--emergency",
    is_flag=True,
    help=N_("Take the air at once, whatever plays, also in quiet hours."),
)
@click.pass_obj
def now(session: Session, name: str, length: float, emergency: bool) -> None:
    from broadcaster.cli.delivery import queue_on_air
    from broadcaster.control.protocol import RelayNow
    from broadcaster.core.models import Priority
    from broadcaster.errors import DaemonError

    station = session.station()
    priority = Priority.EMERGENCY if emergency else Priority.PRIORITY
    if not queue_on_air(station, RelayNow(name, length, priority)):
        raise DaemonError(
            _(
                "Loa is not running for this station: a relay goes through the running station "
                "(start it with loa run, or the service)."
            )
        )


@relay.command(
    epilog=examples(
        "loa relay test vov1",
        "loa relay test vov1 --seconds 30 --out vov1.wav",
    ),
    help=N_(
        "Connect to a relay source of station.yaml and report its codec, bit rate, latency "
        "and loudness; with --out, write what came to a .wav or .mp3 file."
    ),
)
@argument("name", metavar=N_("NAME"))
@option(
    "--seconds",
    type=click.FloatRange(1, 3600),
    default=10.0,
    show_default=True,
    help=N_("How long to listen."),
)
@option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar=N_("FILE"),
    help=N_("Write what came to this .wav or .mp3 file."),
)
@click.pass_obj
def test(session: Session, name: str, seconds: float, out: Path | None) -> None:
    from broadcaster.relay.probe import describe, gains_of, source_named, try_source
    from broadcaster.relay.session import RelayError

    station = session.station()
    source = source_named(station.relay_sources, name)
    click.echo(_("Connecting to {name}…").format(name=name))
    report = try_source(source, station.output, seconds, out, gains_of(station.directory))
    if not report.heard:
        raise RelayError(_("{name}: no audio ({error}).").format(name=name, error=report.error))
    click.echo(f"{report.url}: {describe(report)}")
    if out is not None:
        click.echo(_("Written to {file}.").format(file=out))
