"""How a command delivers a broadcast: into the running station's queue when there is one, so
that two programs never play at once, else straight to the output; and how it tells the officer
what happened."""

import uuid
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from broadcaster.core.settings import Station
from broadcaster.errors import DaemonError, ExitCode
from broadcaster.i18n import _, format_decimal

if TYPE_CHECKING:
    from broadcaster.broadcast import BroadcastResult
    from broadcaster.control.protocol import Play, RelayNow, Say


def queue_on_air(station: Station, request: "Say | Play | RelayNow") -> bool:
    """Hand `request` to the running station; False when none runs. The request carries an id of
    its own, so that whatever happens to the reply the station airs it once. A refusal keeps the
    exit code the station gave it (the protocol has checked that it is one of ours)."""
    from broadcaster.control.channel import ask
    from broadcaster.control.protocol import Queued

    reply = ask(station.directory, replace(request, request_id=uuid.uuid4().hex))
    if reply is None:
        return False
    if not isinstance(reply, Queued):
        error = DaemonError(getattr(reply, "error", ""))
        error.exit_code = ExitCode(getattr(reply, "exit_code", ExitCode.DAEMON))
        raise error
    if reply.already_queued:
        message = _("Already queued on the running station ({ahead} ahead of it).")
    else:
        message = _("Queued on the running station ({ahead} ahead of it).")
    click.echo(message.format(ahead=reply.ahead))
    if reply.sound:
        click.echo(_("Warning: {reason}").format(reason=reply.sound), err=True)
    return True


def print_outcome(result: "BroadcastResult", out: Path | None, silent: bool = False) -> None:
    """What failed on the way (as warnings), what read instead, and how long it lasted; a
    station set to `device: silent` is told that nothing was heard."""
    from broadcaster.speech.chain import RECORDING

    for speech in result.speech:
        for reason in speech.failures:
            click.echo(_("Warning: {reason}").format(reason=reason), err=True)
        if speech.engine == RECORDING:
            click.echo(_("Played the announcement's own recording instead."), err=True)
        elif speech.failures:
            click.echo(
                _("Read with the voice {voice} ({engine}).").format(
                    voice=speech.voice, engine=speech.engine
                ),
                err=True,
            )
    duration = format_decimal(result.duration_s)
    if out is not None:
        click.echo(
            _("Wrote the broadcast to {file} ({seconds} s).").format(file=out, seconds=duration)
        )
    elif silent:
        click.echo(
            _(
                "Broadcast finished in silence ({seconds} s): output device: silent in "
                "station.yaml; write device: simpleaudio there to hear it on the loudspeakers."
            ).format(seconds=duration)
        )
    else:
        click.echo(_("Broadcast finished ({seconds} s).").format(seconds=duration))
