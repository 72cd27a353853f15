"""`loa relay`: the station's relay sources (radio streams, the line-in), tried by hand."""

from pathlib import Path

import click

from broadcaster.cli.lazy import N_, argument, examples, group, option
from broadcaster.cli.session import Session
from broadcaster.i18n import _


@group(
    epilog=examples("loa relay test vov1"),
    help=N_("Relay a radio programme (VOV, the province's station) or the line-in."),
)
def relay() -> None:
    pass


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
