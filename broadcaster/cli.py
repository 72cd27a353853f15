"""The `loa` command: a thin click shell over the service; errors become messages here only."""

import importlib
import os
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import click

from broadcaster import __version__
from broadcaster.config import Station, find_station, load_station
from broadcaster.errors import ExitCode, LoaError
from broadcaster.i18n import (
    LANGUAGES,
    _,
    click_gettext,
    click_ngettext,
    format_decimal,
    set_language,
)
from broadcaster.models import Announcement
from broadcaster.service import BroadcastResult, broadcast
from broadcaster.storage import load_announcement

LANGUAGE_ENV = "LOA_LANG"
CLICK_MODULES = ("core", "decorators", "exceptions", "formatting", "parser", "termui", "types")


def translate_click() -> None:
    """click translates its messages ("Usage:", "Missing argument") with the stdlib's global
    gettext, bound in each of its modules as `_` and `ngettext`: point those at Loa's catalogs,
    so that officers get usage errors in their language too."""
    for name in CLICK_MODULES:
        module = importlib.import_module(f"click.{name}")
        if hasattr(module, "_"):
            module._ = click_gettext  # type: ignore[attr-defined]
        if hasattr(module, "ngettext"):
            module.ngettext = click_ngettext  # type: ignore[attr-defined]


@dataclass
class Session:
    """What the group options decided, shared by every command."""

    station_dir: Path | None
    language_chosen: bool
    _station: Station | None = None

    def station(self) -> Station:
        if self._station is None:
            directory = find_station(self.station_dir, os.environ, Path.cwd())
            self._station = load_station(directory)
            if not self.language_chosen:
                set_language(self._station.language)
        return self._station


def build_cli() -> click.Group:
    """Build the commands after the language is set, so their help is in that language."""
    options = _("[OPTIONS]")

    @click.group(
        help=_("Loa: broadcasts for commune loudspeaker stations."),
        options_metavar=options,
        subcommand_metavar=_("COMMAND [ARGS]..."),
    )
    @click.version_option(__version__, prog_name="loa")
    @click.option(
        "--station",
        "station_dir",
        type=click.Path(path_type=Path),
        metavar=_("FOLDER"),
        help=_("Station directory (default: LOA_STATION, or the current folder)."),
    )
    @click.option("--lang", type=click.Choice(LANGUAGES), help=_("Language of messages."))
    @click.option("--debug", is_flag=True, help=_("Show the full traceback of errors."))
    @click.pass_context
    def cli(ctx: click.Context, station_dir: Path | None, lang: str | None, debug: bool) -> None:
        ctx.obj = Session(station_dir, language_chosen=bool(lang or os.environ.get(LANGUAGE_ENV)))

    voice_option = click.option(
        "--voice", metavar=_("VOICE"), help=_("Voice to read with, e.g. vi-VN-NamMinhNeural.")
    )
    out_option = click.option(
        "--out",
        type=click.Path(path_type=Path, dir_okay=False),
        metavar=_("FILE"),
        help=_("Write the broadcast to this WAV file instead of playing it."),
    )

    @cli.command(
        help=_("Read TEXT aloud on the loudspeakers now, between the chimes."),
        options_metavar=options,
    )
    @click.argument("text", metavar=_("TEXT"))
    @voice_option
    @out_option
    @click.pass_obj
    def say(session: Session, text: str, voice: str | None, out: Path | None) -> None:
        _deliver(session.station(), Announcement(id="say", text=text), voice, out)

    @cli.command(
        help=_("Broadcast the announcement ANNOUNCEMENT from the station's announcements/ folder."),
        options_metavar=options,
    )
    @click.argument("announcement_id", metavar=_("ANNOUNCEMENT"))
    @voice_option
    @out_option
    @click.pass_obj
    def play(session: Session, announcement_id: str, voice: str | None, out: Path | None) -> None:
        station = session.station()
        _deliver(station, load_announcement(station, announcement_id), voice, out)

    return cli


def _deliver(
    station: Station, announcement: Announcement, voice: str | None, out: Path | None
) -> None:
    click.echo(_("Preparing the broadcast…"), err=True)
    result = broadcast(station, announcement, voice=voice, out=out)
    _report(result, out)


def _report(result: BroadcastResult, out: Path | None) -> None:
    for speech in result.speech:
        for reason in speech.failures:
            click.echo(_("Warning: {reason}").format(reason=reason), err=True)
        if speech.failures:
            click.echo(
                _("Used the offline voice {voice} ({engine}) instead.").format(
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


def _early_language(argv: Sequence[str]) -> str | None:
    """--lang or LOA_LANG, read before click parses anything so that help is translated too."""
    for index, arg in enumerate(argv):
        if arg == "--lang" and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
    return os.environ.get(LANGUAGE_ENV)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of `loa`: exit codes come from ExitCode, tracebacks only with --debug."""
    args = list(sys.argv[1:] if argv is None else argv)
    language = _early_language(args)
    if language in LANGUAGES:
        set_language(language)
    translate_click()
    debug = "--debug" in args
    try:
        result = build_cli().main(args=args, prog_name="loa", standalone_mode=False)
    except LoaError as error:
        click.echo(_("Error: {message}").format(message=error.message), err=True)
        if debug:
            traceback.print_exc()
        sys.exit(error.exit_code)
    except click.exceptions.Abort:
        click.echo(_("Stopped."), err=True)
        sys.exit(ExitCode.INTERRUPTED)
    except KeyboardInterrupt:
        click.echo(_("Stopped."), err=True)
        sys.exit(ExitCode.INTERRUPTED)
    except click.ClickException as error:
        error.show()
        sys.exit(ExitCode.USAGE if isinstance(error, click.UsageError) else ExitCode.FAILURE)
    except Exception:
        if debug:
            traceback.print_exc()
        else:
            click.echo(
                _(
                    "Unexpected error: run the same command with --debug and send the output "
                    "to the Loa maintainers."
                ),
                err=True,
            )
        sys.exit(ExitCode.FAILURE)
    sys.exit(result if isinstance(result, int) else ExitCode.OK)
