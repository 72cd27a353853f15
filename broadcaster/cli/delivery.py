"""How a command delivers a broadcast: into the running station's queue when there is one, so
that two programs never play at once, else straight to the output; and how it tells the officer
what happened."""

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from broadcaster.core.settings import Station
from broadcaster.errors import DaemonError, ExitCode
from broadcaster.i18n import _, format_decimal

if TYPE_CHECKING:
    from broadcaster.broadcast import BroadcastResult


def queue_on_air(station: Station, request: dict[str, Any]) -> bool:
    """Hand `request` (say or play) to the running station; False when none runs. A refusal
    keeps the exit code the station gave it."""
    from broadcaster.control.channel import send

    reply = send(station.directory, request)
    if reply is None:
        return False
    if not reply["ok"]:
        error = DaemonError(str(reply.get("error", "")))
        code = reply.get("exit_code")
        if isinstance(code, int) and code in ExitCode._value2member_map_:
            error.exit_code = ExitCode(code)
        raise error
    click.echo(
        _("Queued on the running station ({ahead} ahead of it).").format(ahead=reply["ahead"])
    )
    return True


def print_outcome(result: "BroadcastResult", out: Path | None) -> None:
    """What failed on the way (as warnings), what read instead, and how long it lasted."""
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
    else:
        click.echo(_("Broadcast finished ({seconds} s).").format(seconds=duration))
