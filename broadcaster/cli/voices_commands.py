"""`loa voices`: the Vietnamese voices of this PC, and a sample of one."""

from pathlib import Path

import click

from broadcaster.cli.delivery import print_outcome, queue_on_air
from broadcaster.cli.lazy import N_, command, examples, option
from broadcaster.cli.session import Session
from broadcaster.core.models import Announcement
from broadcaster.core.settings import Station
from broadcaster.errors import (
    StationNotFoundError,
)
from broadcaster.i18n import _
from broadcaster.system.voice_list import (
    SAMPLE_TEXT,
    Voice,
    edge_voices,
    espeak_voices,
    read_espeak_voices,
)

SAMPLE_ID = "voice-sample"


@command(
    help=N_(
        "List the Vietnamese voices of each speech engine, or play a short sample of one "
        "with --sample."
    ),
    epilog=examples(
        "loa voices",
        "loa voices --sample vi-VN-NamMinhNeural",
        "loa voices --sample vi --out thu-giong.wav",
    ),
)
@option(
    "--sample",
    metavar=N_("VOICE"),
    help=N_("Play a short Vietnamese sentence read by VOICE, between the chimes."),
)
@option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar=N_("FILE"),
    help=N_("With --sample: write the sample to this .wav file instead of playing it."),
)
@click.pass_obj
def voices(session: Session, sample: str | None, out: Path | None) -> None:
    if sample is not None:
        _play_sample(session.station(), sample, out)
        return
    if out is not None:
        raise click.UsageError(_("--out goes with --sample VOICE."))
    try:
        station: Station | None = session.station()
    except StationNotFoundError:
        station = None  # the voices of this PC are worth listing outside a station too
    _list_voices(station)


def _list_voices(station: Station | None) -> None:
    chosen = station.speech.voice if station else None
    fallback = station.speech.fallback_voice if station else None

    def show(voice: Voice) -> None:
        notes = []
        if not voice.installed:
            notes.append(_("not installed"))
        if voice.name == chosen:
            notes.append(_("the station's voice"))
        if voice.name == fallback:
            notes.append(_("the fallback voice"))
        mark = f"  ← {', '.join(notes)}" if notes else ""
        click.echo(f"  {voice.name:<22}{voice.description:<24}{mark}".rstrip())

    click.echo(_("Online voices (Microsoft Edge, need the Internet):"))
    for voice in edge_voices():
        show(voice)
    click.echo(_("Offline voices (espeak-ng, work without the Internet):"))
    installed = read_espeak_voices()
    if installed is None:
        click.echo(
            "  " + _("espeak-ng is not installed (on Debian/Ubuntu: sudo apt install espeak-ng).")
        )
    else:
        for voice in espeak_voices(installed):
            show(voice)
    click.echo(
        _("Hear one: {command}  ·  choose it: speech.voice in station.yaml").format(
            command="loa voices --sample vi-VN-NamMinhNeural"
        )
    )


def _play_sample(station: Station, voice: str, out: Path | None) -> None:
    from broadcaster.broadcast import broadcast
    from broadcaster.speech import Speaker

    Speaker.for_station(station).plan(voice)  # an unknown voice: UnknownVoiceError, listing all
    announcement = Announcement(id=SAMPLE_ID, text=SAMPLE_TEXT)
    if out is None:
        from broadcaster.control.protocol import Say

        if queue_on_air(
            station, Say(SAMPLE_TEXT, voice=voice)
        ):  # the station is on air: never two programs at once
            return
    click.echo(_("A sample of the voice {voice}: {text}").format(voice=voice, text=SAMPLE_TEXT))
    print_outcome(broadcast(station, announcement, voice=voice, out=out), out)
