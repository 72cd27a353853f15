"""The `loa` command: a thin click shell over the service; errors become messages here only."""

import importlib
import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click

from broadcaster import __version__
from broadcaster.cli.lazy import (
    N_,
    ClickMessage,
    Examples,
    LazyGroup,
    LoaOption,
    argument,
    examples,
    group,
    option,
)
from broadcaster.cli.session import Session
from broadcaster.core.compose import DEFAULT_GAP_S, clean_text
from broadcaster.core.models import Announcement, Priority
from broadcaster.core.settings import WARM_HOURS, Station
from broadcaster.core.voices import VOICES_BY_ENGINE
from broadcaster.errors import CacheError, ExitCode, LoaError, caused_by_interrupt
from broadcaster.i18n import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    _,
    click_gettext,
    click_ngettext,
    format_decimal,
    set_language,
)
from broadcaster.station.station_file import find_station, load_station

LANGUAGE_ENV = "LOA_LANG"
CLICK_MODULES = (
    "core",
    "decorators",
    "exceptions",
    "formatting",
    "parser",
    "shell_completion",
    "termui",
    "types",
    "utils",
    "_termui_impl",
)


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


COMMANDS = {
    **{
        name: f"broadcaster.cli.onair_commands:{attribute}"
        for name, attribute in (
            ("run", "run"),
            ("status", "status"),
            ("stop", "stop"),
            ("reload", "reload"),
            ("log", "log_"),
            ("report", "report"),
        )
    },
    "next": "broadcaster.cli.schedule_commands:next_",
    "schedule": "broadcaster.cli.schedule_commands:schedule",
    "approve": "broadcaster.cli.schedule_commands:approve",
    "doctor": "broadcaster.cli.doctor_commands:doctor",
    "voices": "broadcaster.cli.voices_commands:voices",
    "completion": "broadcaster.cli.completion_commands:completion",
    "service": "broadcaster.cli.service_commands:service",
    "province": "broadcaster.cli.province_commands:province",
    "web": "broadcaster.cli.web_commands:web",
    "user": "broadcaster.cli.web_commands:user",
    "relay": "broadcaster.cli.relay_commands:relay",
    "monitor": "broadcaster.cli.monitor_commands:monitor",
}
"""The commands of their own modules, imported when used: a command pays only for itself."""


@group(
    cls=LazyGroup,
    lazy=COMMANDS,
    help=N_("Loa: broadcasts for commune loudspeaker stations."),
)
@click.version_option(
    __version__,
    prog_name="loa",
    cls=LoaOption,
    help="Show the version and exit.",  # click's message, translated through LoaOption
    message=ClickMessage("%(prog)s, version %(version)s"),
)
@option(
    "--station",
    "station_dir",
    type=click.Path(path_type=Path),
    metavar=N_("FOLDER"),
    help=N_("Station directory (default: LOA_STATION, or the current folder)."),
)
@option("--lang", type=click.Choice(LANGUAGES), help=N_("Language of messages."))
@option("--debug", is_flag=True, help=N_("Show the full traceback of errors."))
@click.pass_context
def cli(ctx: click.Context, station_dir: Path | None, lang: str | None, debug: bool) -> None:
    # main() hands over whether the officer chose the language (--lang, LOA_LANG)
    ctx.obj = Session(station_dir, language_chosen=bool(ctx.obj))


voice_option = option(
    "--voice", metavar=N_("VOICE"), help=N_("Voice to read with, e.g. vi-VN-NamMinhNeural.")
)
out_option = option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar=N_("FILE"),
    help=N_("Write the broadcast to this .wav (or .mp3, with ffmpeg) file instead of playing it."),
)
repeat_option = option(
    "--repeat",
    type=int,
    default=1,
    show_default=True,
    metavar="N",
    help=N_("Play the message N times (1 to 10)."),
)
gap_option = option(
    "--gap",
    type=float,
    default=DEFAULT_GAP_S,
    show_default=True,
    metavar=N_("SECONDS"),
    help=N_("Silence between repeats, in seconds."),
)
emergency_option = option(
    "--emergency",
    is_flag=True,
    help=N_("Open with the attention tone (emergencies)."),
)


def broadcast_options(command: Callable[..., None]) -> Callable[..., None]:
    """The options `say` and `play` share, in the order their help lists them."""
    for add in (out_option, emergency_option, gap_option, repeat_option, voice_option):
        command = add(command)
    return command


@cli.command(
    epilog=examples(
        'loa say "Kính thưa bà con, chiều nay xã tổ chức tiêm phòng."',
        'loa say "Cháy ở chợ xã, bà con tránh xa khu vực chợ." --emergency --repeat 3',
        'loa say "Xin chào bà con" --out ban-tin.wav',
    ),
    help=N_("Read TEXT aloud on the loudspeakers now, between the chimes."),
)
@argument("text", metavar=N_("TEXT"))
@broadcast_options
@click.pass_obj
def say(session: Session, /, text: str, **options: Any) -> None:
    _deliver(session.station(), Announcement(id="say", text=text), **options)


@cli.command(
    epilog=examples(
        "loa play bluezone",
        "loa play bluezone --repeat 2 --gap 30",
        "loa play announcements/ghi-am.m4a",
        "loa play ~/Downloads/ghi-am.m4a",
    ),
    help=N_(
        "Broadcast ANNOUNCEMENT from the station's announcements/ folder, or an audio file: "
        "one from outside the station is first copied into announcements/."
    ),
)
@argument("announcement_id", metavar=N_("ANNOUNCEMENT"))
@broadcast_options
@click.pass_obj
def play(session: Session, /, announcement_id: str, **options: Any) -> None:
    from broadcaster.cli.import_recording import outside_audio_file
    from broadcaster.station.announcements import announcement_or_recording
    from broadcaster.station.recordings import copy_into_station

    station = session.station()
    if (outside := outside_audio_file(station, announcement_id)) is not None:
        copy = copy_into_station(station, outside)
        click.echo(
            _("Copied {file} into the station: {copy}").format(file=outside, copy=copy),
            err=True,
        )
        announcement_id = str(copy)
    announcement = announcement_or_recording(station, announcement_id)
    if announcement.recording is not None and not announcement.text:
        # the running station resolves names against its own folder: give it the file
        announcement_id = str(announcement.recording)
    _deliver(station, announcement, announcement_id=announcement_id, **options)


@cli.command(
    epilog=examples(
        'loa text "UBND xã họp lúc 14h30 ngày 01/12"',
        'loa text "Liên hệ 0912 345 678" --engine espeak',
        'loa text "Mưa 100-200mm, gió cấp 8-9" --engine all',
    ),
    help=N_("Show exactly what a voice engine will read for TEXT (abbreviations, numbers…)."),
)
@argument("text", metavar=N_("TEXT"))
@option(
    "--engine",
    type=click.Choice((*VOICES_BY_ENGINE, "all")),
    default="edge",
    show_default=True,
    help=N_("The engine whose reading to show ('all': each one, labelled)."),
)
@click.pass_obj
def text(session: Session, text: str, engine: str) -> None:
    from broadcaster.speech import Speaker

    speaker = Speaker.for_station(session.station())
    cleaned = clean_text(text)
    if engine != "all":
        click.echo(speaker.prepared_text(cleaned, engine))
        return
    for name in VOICES_BY_ENGINE:
        click.echo(f"{name}: {speaker.prepared_text(cleaned, name)}")


@cli.group(
    epilog=examples("loa cache warm", "loa cache stats"),
    help=N_("The cache of speech rendered ahead (audio_cache/)."),
)
def cache() -> None:
    pass


@cache.command(
    epilog=examples("loa cache warm", "loa cache warm --hours 72", "loa cache warm --all"),
    help=N_(
        "Render ahead the online speech of what the schedules air in the next HOURS hours "
        "(or of every announcement)."
    ),
)
@option(
    "--hours",
    type=click.FloatRange(min=0),
    default=WARM_HOURS,
    show_default=True,
    metavar=N_("HOURS"),
)
@option("--all", "every", is_flag=True, help=N_("Every announcement, scheduled or not."))
@click.pass_obj
def warm(session: Session, hours: float, every: bool) -> None:
    from broadcaster.broadcast import warm_cache
    from broadcaster.station.announcements import list_announcements
    from broadcaster.station.lookahead import announcements_due

    station = session.station()
    now = datetime.now(ZoneInfo(station.timezone))
    ids = list_announcements(station) if every else announcements_due(station, now, hours)
    if not ids:
        click.echo(
            _("Nothing is scheduled in the next {hours} hours.").format(
                hours=format_decimal(hours, 0)
            )
        )
        return
    with click.progressbar(length=len(ids), label=_("Rendering"), file=sys.stderr) as bar:
        results = warm_cache(station, ids, lambda _result: bar.update(1))
    for result in results:
        click.echo(
            f"{result.announcement}: {_warm_outcome(result.outcome)} {result.detail}".rstrip()
        )
    if any(r.outcome in ("failed", "offline") for r in results):
        raise CacheError(
            _(
                "Some announcements could not be rendered ahead: the offline voice will read "
                "them unless you run this again once the Internet works."
            )
        )


@cache.command(
    epilog=examples("loa cache stats"),
    help=N_("Show how much speech the cache holds."),
)
@click.pass_obj
def stats(session: Session) -> None:
    from broadcaster.speech.cache import MEGABYTE, AudioCache

    station = session.station()
    numbers = AudioCache.for_station(station).stats()
    click.echo(
        _("{entries} recordings, {size} MB of {limit} MB, in {folder}").format(
            entries=numbers.entries,
            size=format_decimal(numbers.size_bytes / MEGABYTE),
            limit=numbers.max_bytes // MEGABYTE,
            folder=station.cache_dir,
        )
    )


@cache.command(
    epilog=examples("loa cache prune"),
    help=N_("Remove the least recently used speech beyond the size limit."),
)
@click.pass_obj
def prune(session: Session) -> None:
    from broadcaster.speech.cache import AudioCache

    removed = AudioCache.for_station(session.station()).prune()
    click.echo(_("Removed {count} recordings.").format(count=removed))


def _warm_outcome(outcome: str) -> str:
    return {
        "cached": _("already in the cache"),
        "rendered": _("rendered and cached"),
        "offline-voice": _("offline voice, nothing to cache"),
        "recording": _("a recording, nothing to read"),
        "offline": _("the online voices failed; the offline voice will read it."),
        "failed": _("failed:"),
    }[outcome]


def _deliver(station: Station, announcement: Announcement, **options: Any) -> None:
    """Through the running station's queue when there is one (so two programs never play at
    once), else directly."""
    from broadcaster.cli.delivery import print_outcome, queue_on_air

    if options["out"] is None:
        from broadcaster.control.protocol import Play, Say

        details = {
            "voice": options["voice"],
            "repeat": options["repeat"],
            "gap_s": float(options["gap"]),
            "priority": Priority.EMERGENCY if options["emergency"] else Priority.PRIORITY,
        }
        request = (
            Say(announcement.text, **details)
            if announcement.id == "say"
            else Play(options.get("announcement_id", ""), **details)
        )
        if queue_on_air(station, request):
            return
    from broadcaster.broadcast import broadcast

    click.echo(_("Preparing the broadcast…"), err=True)
    result = broadcast(
        station,
        announcement,
        voice=options["voice"],
        repeat=options["repeat"],
        gap_s=options["gap"],
        emergency=options["emergency"],
        out=options["out"],
    )
    print_outcome(result, options["out"], silent=station.output.device == "silent")


def _option(argv: Sequence[str], name: str) -> str | None:
    """An option's value, read before click parses anything."""
    for index, arg in enumerate(argv):
        if arg == name and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith(f"{name}="):
            return arg.split("=", 1)[1]
    return None


def _early_language(argv: Sequence[str]) -> tuple[str, bool]:
    """The language and whether the officer chose it (--lang, LOA_LANG) rather than the station.

    Decided before the commands are built, so that their help is in that language too; a
    station that cannot be read yet leaves Vietnamese, and its error comes later, in context.
    """
    for chosen in (_option(argv, "--lang"), os.environ.get(LANGUAGE_ENV)):
        if chosen in LANGUAGES:
            return chosen, True
    station = _option(argv, "--station")
    try:
        directory = find_station(Path(station) if station else None, os.environ, Path.cwd())
        return load_station(directory).language, False
    except LoaError:
        return DEFAULT_LANGUAGE, False


def _usage_fix(error: click.ClickException) -> list[str]:
    """What to type instead, after click's own message: quotes around a name with spaces, or
    the command's examples for a missing option or argument."""
    if not isinstance(error, click.UsageError):
        return []
    extra = click_ngettext(
        "Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})", 1
    ).split("(")[0]
    if error.message.startswith(extra):
        return [
            _(
                "A name or a text with spaces goes in double quotes: "
                'loa play "Ghi âm 001", loa say "Kính mời bà con…".'
            )
        ]
    epilog = getattr(error.ctx.command, "_lazy_epilog", None) if error.ctx else None
    if isinstance(error, click.MissingParameter) and isinstance(epilog, Examples):
        return [_("Examples:"), *(f"  {example}" for example in epilog.commands)]
    return []


def _print_traceback() -> None:
    """--debug's traceback; the module (with linecache and tokenize) loads only then."""
    import traceback

    traceback.print_exc()


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of `loa`: exit codes come from ExitCode, tracebacks only with --debug."""
    args = list(sys.argv[1:] if argv is None else argv)
    language, chosen = _early_language(args)
    set_language(language)
    translate_click()
    debug = "--debug" in args
    try:
        result = cli.main(args=args, prog_name="loa", standalone_mode=False, obj=chosen)
    except LoaError as error:
        click.echo(_("Error: {message}").format(message=error.message), err=True)
        if debug:
            _print_traceback()
        sys.exit(error.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo(_("Stopped."), err=True)
        sys.exit(ExitCode.INTERRUPTED)
    except click.ClickException as error:
        error.show()
        for line in _usage_fix(error):
            click.echo(line, err=True)
        sys.exit(ExitCode.USAGE if isinstance(error, click.UsageError) else ExitCode.FAILURE)
    except Exception as error:
        if caused_by_interrupt(error):
            click.echo(_("Stopped."), err=True)
            sys.exit(ExitCode.INTERRUPTED)
        if debug:
            _print_traceback()
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
