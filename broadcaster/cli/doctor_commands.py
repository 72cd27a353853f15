"""loa doctor: checks the station PC, one line per check."""

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from broadcaster.cli.lazy import N_, command, examples
from broadcaster.cli.session import Session
from broadcaster.i18n import _, set_language
from broadcaster.station.station_file import find_station

if TYPE_CHECKING:
    from broadcaster.system.doctor import Result


@command(
    help=N_(
        "Check the station PC and say what to fix: the sound device (a short beep is "
        "played), the programs Loa needs, both voices, the station folder and free disk, "
        "the schedules, the speech ready for the next 48 hours, and whether Loa runs."
    ),
    epilog=examples("loa doctor", "loa --lang en doctor", "loa --station /srv/loa doctor"),
)
@click.pass_context
def doctor(ctx: click.Context) -> None:
    from broadcaster.system.doctor import (
        WARNING,
        ChecksFailed,
        Result,
        run_checks,
        station_label,
        station_settings,
    )

    session: Session = ctx.obj
    debug = bool(ctx.find_root().params.get("debug"))
    directory = find_station(session.station_dir, os.environ, Path.cwd())
    station, settings = station_settings(directory)
    if not session.language_chosen and not settings.failed:
        set_language(station.language)
    results = [_show(Result(settings.status, settings.detail, settings.fix, station_label()))]
    for result in run_checks(station):
        results.append(_show(result, debug))
    failed = sum(result.failed for result in results)
    warned = sum(result.status == WARNING for result in results)
    if failed:
        raise ChecksFailed(
            _(
                "checks failed: {count}. Do what the lines marked ✘ say, then run loa doctor again."
            ).format(count=failed)
        )
    if warned:
        click.echo(_("No check failed; warnings (!): {count}.").format(count=warned))
    else:
        click.echo(_("Every check passed."))


def _show(result: "Result", debug: bool = False) -> "Result":
    from broadcaster.system.doctor import FAILED, OK, WARNING

    marks = {OK: "✔", WARNING: "!", FAILED: "✘"}
    line = f"{marks[result.status]} {result.what}: {result.detail}"
    if result.fix and result.status != OK:
        line += f" — {result.fix}"
    click.echo(line)
    if debug and result.trace:
        click.echo(result.trace, err=True)
    return result
