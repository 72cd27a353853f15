"""`loa next`, `loa schedule check|add|list|remove|enable|disable` and `loa approve`."""

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import click

from broadcaster.cli.lazy import N_, argument, command, examples, group, option
from broadcaster.cli.session import Day, Moment, Session, fit_cell, in_zone
from broadcaster.core.models import Priority, StartPolicy
from broadcaster.errors import ExitCode
from broadcaster.i18n import _

if TYPE_CHECKING:
    from broadcaster.core.recurrence import Recurrence
    from broadcaster.station.lookahead import Upcoming
    from broadcaster.station.schedules import Entry

CELL = 9
"""A calendar cell: 5 columns of times, then 7 days of a separator and 9 characters (75)."""
MARKS = {"emergency": "!", "priority": "+", "normal": ""}
RELAY_MARK = "~"
"""Before a relay's source in the calendar: `~vov1 30m`."""


ECHO_LINES = 1000
"""Problems written a thousand lines at a time: few writes, and no second copy of them all."""


@command(
    epilog=examples("loa next", "loa next --days 14", "loa next --from 2026-12-01 --json"),
    name="next",
    help=N_("Show what the schedules air next. The days are shown as a week calendar."),
)
@option("--days", type=click.IntRange(1, 366), default=7, show_default=True, metavar="N")
@option(
    "--from",
    "start",
    type=Moment(),
    metavar=N_("WHEN"),
    help=N_("Start from this date and time (ISO, e.g. 2026-12-01T06:00) instead of now."),
)
@option("--json", "as_json", is_flag=True, help=N_("Print JSON for other programs."))
@click.pass_obj
def next_(session: Session, days: int, start: datetime | None, as_json: bool) -> None:
    from broadcaster.station.holidays import load_holidays
    from broadcaster.station.lookahead import upcoming

    station = session.station()
    zone = ZoneInfo(station.timezone)
    now = in_zone(start, zone) if start else datetime.now(zone)
    items = upcoming(station, now, days * 24)
    if as_json:
        import json

        click.echo(
            json.dumps(
                [
                    {
                        "id": item.entry.id,
                        "announcement": item.entry.announcement,
                        "start": item.start.isoformat(),
                        "priority": item.entry.priority,
                        **_relay_json(item),
                    }
                    for item in items
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    if not items:
        click.echo(_("Nothing is scheduled in the next {hours} hours.").format(hours=days * 24))
        return
    for line in week_calendar(items, now.date(), days, load_holidays(station)):
        click.echo(line)


@group(
    epilog=examples(
        "loa schedule check",
        "loa schedule list",
        "loa schedule add --announcement bluezone --times 06:30,17h --days T2-T6",
    ),
    help=N_("Check and edit the schedules (schedules/*.yaml)."),
)
def schedule() -> None:
    pass


@schedule.command(
    epilog=examples("loa schedule check", "loa schedule check schedules/lich.yaml"),
    help=N_(
        "Check the schedules for errors and clashes. FILES (by default every file in "
        "schedules/) are checked for errors, clashes, quiet hours and session caps, each "
        "reported at its file:line."
    ),
)
@argument(
    "files",
    nargs=-1,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar=N_("[FILES]..."),
)
@click.pass_obj
def check(session: Session, files: tuple[Path, ...]) -> None:
    from broadcaster.station.schedule_check import check_schedules, measure
    from broadcaster.station.schedules import announcements_of, read_schedules

    station = session.station()
    schedules = read_schedules(station, files or None)
    timing = measure(station, announcements_of(schedules.entries, station))
    today = datetime.now(ZoneInfo(station.timezone)).date()
    findings = check_schedules(schedules, timing, station, today)
    lines = [*schedules.problems, *(str(finding) for finding in findings)]
    for first in range(0, len(lines), ECHO_LINES):  # a large station has tens of thousands
        click.echo("\n".join(lines[first : first + ECHO_LINES]))
    errors = len(schedules.problems) + sum(not finding.warning for finding in findings)
    counts = {
        "errors": errors,
        "warnings": sum(finding.warning for finding in findings),
        "entries": len(schedules.entries),
        "files": len(schedules.files),
    }
    if errors:
        failed = _("Errors: {errors}, warnings: {warnings} (entries: {entries}, files: {files})")
        click.echo(failed.format(**counts), err=True)
        click.get_current_context().exit(ExitCode.SCHEDULE)
    passed = _("OK: no errors (entries: {entries}, files: {files}, warnings: {warnings}).")
    click.echo(passed.format(**counts))


@schedule.command(
    epilog=examples("loa schedule list"),
    name="list",
    help=N_("List the schedule entries in a table."),
)
@click.pass_obj
def list_(session: Session) -> None:
    from broadcaster.station.schedules import read_schedules

    schedules = read_schedules(session.station())
    if schedules.entries:
        for line in entry_table(schedules.entries):
            click.echo(line)
    else:
        click.echo(_("No schedule entries."))
    schedules.raise_problems()


@schedule.command(
    epilog=examples(
        "loa schedule add --announcement bluezone --times 06:30,17h --days T2-T6",
        "loa schedule add --id hop-to --announcement hop-to-dan-pho --date 05/12/2026 --times 19h",
        "loa schedule add --relay vov1 --duration 30m --times 06:00,18h",
    ),
    help=N_("Add an entry to a schedule file. It is checked before the file is saved."),
)
@option("--announcement", metavar=N_("ANNOUNCEMENT"))
@option(
    "--relay",
    metavar=N_("SOURCE"),
    help=N_("Relay this source (relay_sources: in station.yaml) instead of an announcement."),
)
@option("--duration", metavar=N_("DURATION"), help=N_("How long a relay lasts, e.g. 30m, 1h."))
@option(
    "--times",
    required=True,
    multiple=True,
    metavar=N_("TIMES"),
    help=N_("Times of day, e.g. 06:30,17h."),
)
@option("--id", "entry_id", metavar="ID", help=N_("Default: the announcement and its first time."))
@option("--days", multiple=True, metavar=N_("DAYS"), help=N_("e.g. T2-T6,CN."))
@option("--from", "first", type=Day(), metavar=N_("DATE"), help=N_("First day, e.g. 01/12/2026."))
@option("--until", "last", type=Day(), metavar=N_("DATE"), help=N_("Last day, e.g. 12/12/2026."))
@option("--date", "on", type=Day(), metavar=N_("DATE"), help=N_("One day only."))
@option("--repeat", type=int, metavar="N", help=N_("Plays in each slot, 1 to 10."))
@option("--gap", metavar=N_("DURATION"), help=N_("Between plays, e.g. 30s, 5m."))
@option(
    "--priority",
    type=click.Choice([p.value for p in Priority]),
    help=N_("normal (the default), priority, or emergency (airs even in quiet hours)."),
)
@option(
    "--start",
    type=click.Choice([s.value for s in StartPolicy]),
    help=N_(
        "If another broadcast is on air at its time: after-current (the default: wait, then "
        "play), interrupt (cut in), or wait (play after everything else that waits)."
    ),
)
@option(
    "--file",
    "file_name",
    metavar=N_("FILE"),
    help=N_("Schedule file in schedules/ (default: lich.yaml)."),
)
@option("--by", metavar=N_("NAME"), help=N_("Who adds it (default: the user name)."))
@click.pass_obj
def add(session: Session, /, **given: Any) -> None:
    from broadcaster.station.schedule_edit import add_entry, next_id, schedule_path

    station = session.station()
    times = _split(given["times"])
    airs = given["announcement"] or given["relay"]
    if not airs:  # missing: the usage error shows the examples
        raise click.MissingParameter(
            _("Give --announcement, or --relay with --duration for a relay."),
            ctx=click.get_current_context(),
            param_hint="'--announcement' / '--relay'",
            param_type="option",
        )
    if given["announcement"] and given["relay"]:
        raise click.UsageError(_("Give --announcement or --relay, not both."))
    fields = {
        "id": given["entry_id"] or next_id(station, airs, "".join(times[:1])),
        "announcement": given["announcement"],
        "relay": given["relay"],
        "times": times,
        "duration": given["duration"],
        "days": _split(given["days"]),
        "from": given["first"],
        "until": given["last"],
        "date": given["on"],
        "repeat": given["repeat"],
        "gap": given["gap"],
        "priority": given["priority"],
        "start": given["start"],
        "status": "draft" if station.require_approval else None,
        "created_by": given["by"] or _user(),
    }
    entry = add_entry(station, fields, schedule_path(station, given["file_name"]))
    click.echo(_("Added '{id}' at {place}.").format(id=entry.id, place=entry.place))
    findings = _findings_about(session, entry)
    for finding in findings:
        click.echo(finding)
    if any("start: interrupt" in finding for finding in findings):  # a clash: the YAML key
        click.echo(
            _(
                "When adding, --start chooses: --start interrupt cuts in, --start after-current "
                "plays after without a warning."
            )
        )
    if entry.status == "draft":
        from broadcaster.station.schedule_check import typed

        click.echo(
            _("It is a draft: 'loa approve {id}' puts it on air.").format(id=typed(entry.id))
        )


@schedule.command(
    epilog=examples("loa schedule remove hop-to"),
    help=N_("Remove the entry ID from its schedule file."),
)
@argument("entry_id", metavar="ID")
@click.pass_obj
def remove(session: Session, entry_id: str) -> None:
    from broadcaster.station.schedule_edit import remove_entry

    entry = remove_entry(session.station(), entry_id)
    click.echo(_("Removed '{id}' from {file}.").format(id=entry.id, file=entry.file))


@schedule.command(
    epilog=examples("loa schedule enable bluezone-sang"),
    help=N_("Put the entry ID back on air."),
)
@argument("entry_id", metavar="ID")
@click.pass_obj
def enable(session: Session, entry_id: str) -> None:
    _switch(session, entry_id, True)


@schedule.command(
    epilog=examples("loa schedule disable bluezone-sang"),
    help=N_("Take the entry ID off the air; it stays in its file."),
)
@argument("entry_id", metavar="ID")
@click.pass_obj
def disable(session: Session, entry_id: str) -> None:
    _switch(session, entry_id, False)


@command(
    epilog=examples('loa approve bluezone-0630 --by "Nguyễn Văn An"'),
    help=N_(
        "Approve the schedule entry ID. Where approval is required, only approved entries air."
    ),
)
@argument("entry_id", metavar="ID")
@option("--by", metavar=N_("NAME"), help=N_("Who approves (default: the user name)."))
@click.pass_obj
def approve(session: Session, entry_id: str, by: str | None) -> None:
    from broadcaster.station.schedule_edit import change_entry, find_entry

    station = session.station()
    entry = find_entry(station, entry_id)
    if entry.status == "approved" and not station.require_approval:
        click.echo(
            _(
                "This station does not require approval (require_approval: false in "
                "station.yaml): '{id}' airs as scheduled without it."
            ).format(id=entry.id)
        )
        return
    if entry.status == "approved":
        click.echo(_("'{id}' is already approved.").format(id=entry.id))
        return
    changes: dict[str, object] = {"status": "approved"}
    if name := by or _user():
        changes["approved_by"] = name
    change_entry(station, entry.id, changes)
    click.echo(_("'{id}' is approved: it airs as scheduled.").format(id=entry.id))


def _findings_about(session: Session, entry: "Entry") -> list[str]:
    """What `loa schedule check` says about a new entry (clashes, quiet hours, sessions), so
    that the officer hears it at once, not at the next check."""
    from broadcaster.station.schedule_check import check_schedules, drafts, measure
    from broadcaster.station.schedules import announcements_of, read_schedules

    station = session.station()
    schedules = read_schedules(station)
    timing = measure(station, announcements_of(schedules.entries, station))
    today = datetime.now(ZoneInfo(station.timezone)).date()
    told = drafts([entry])  # `add` says it is a draft in its own words
    return [
        str(finding)
        for finding in check_schedules(schedules, timing, station, today)
        if finding not in told
        and (
            (finding.file, finding.line) == (entry.file, entry.line)
            or f"'{entry.id}'" in finding.message
        )
    ]


def _switch(session: Session, entry_id: str, on: bool) -> None:
    from broadcaster.station.schedule_edit import change_entry, find_entry

    station = session.station()
    entry = find_entry(station, entry_id)
    if entry.enabled == on:
        message = _("'{id}' is already enabled.") if on else _("'{id}' is already disabled.")
    else:
        change_entry(station, entry.id, {"enabled": on})
        message = (
            _("'{id}' is enabled: it airs again.")
            if on
            else _("'{id}' is disabled: it stays in {file} and airs no more.")
        )
    click.echo(message.format(id=entry.id, file=entry.file))


def week_calendar(
    items: Sequence["Upcoming"], first: date, days: int, holidays: Mapping[date, str]
) -> list[str]:
    """Weeks of seven day columns (T2 30/11 …) and rows of times, each cell an announcement
    (! emergency, + priority) or a relay (~vov1 30m); a time with several items gets several
    rows. 75 columns."""
    from broadcaster.station.schedules import WEEKDAY_NAMES
    from broadcaster.station.station_file import length_text

    cells: dict[tuple[int, str], list[str]] = defaultdict(list)
    for item in items:
        column = (item.start.date() - first).days
        entry = item.entry
        shown = (
            entry.announcement
            if entry.relay is None
            else f"{RELAY_MARK}{entry.relay} {length_text(entry.duration_s)}"
        )
        cells[column, f"{item.start:%H:%M}"].append(MARKS[entry.priority] + shown)
    lines: list[str] = []
    for week in range(0, days, 7):
        columns = range(week, min(week + 7, days))
        dates = [first + timedelta(days=n) for n in columns]
        lines += [
            _("Week {first} - {last}").format(
                first=f"{dates[0]:%d/%m/%Y}", last=f"{dates[-1]:%d/%m/%Y}"
            ),
            _row("", [f"{WEEKDAY_NAMES[d.weekday()]} {d:%d/%m}" for d in dates]),
            "-" * 5 + ("+" + "-" * CELL) * len(dates),
        ]
        if any(d in holidays for d in dates):
            names = [(holidays[d] or "*") if d in holidays else "" for d in dates]
            lines.append(_row(_("off"), names))
        times = sorted({moment for column, moment in cells if column in columns})
        for moment in times:
            depth = max(len(cells.get((column, moment), [])) for column in columns)
            for level in range(depth):
                row = [_nth(cells.get((column, moment), []), level) for column in columns]
                lines.append(_row(moment if level == 0 else "", row))
        if not times:
            lines.append(_("Nothing is scheduled this week."))
        lines.append("")
    if any(item.entry.priority != "normal" for item in items):
        lines.append(_("! emergency, + priority"))
    if any(item.entry.relay is not None for item in items):
        lines.append(_("~ relay of a source (relay_sources: in station.yaml), and how long"))
    return lines[:-1] if lines[-1] == "" else lines


def _relay_json(item: "Upcoming") -> dict[str, object]:
    """A relay's source, length and end, for `loa next --json`; nothing for announcements."""
    entry = item.entry
    if entry.relay is None:
        return {}
    ends = item.start + timedelta(seconds=entry.duration_s)
    return {"relay": entry.relay, "duration_s": entry.duration_s, "end": ends.isoformat()}


def entry_table(entries: Sequence["Entry"]) -> list[str]:
    """One line per entry, at most 78 columns, long values cut with '…'; below an entry its
    dates and plays when it has any."""
    from broadcaster.onair.asrun import priority_label
    from broadcaster.station.schedules import what_airs

    widths = (15, 13, 12, 10, 9, 10, 3)
    header = (
        _("ID"),
        _("ANNOUNCEMENT"),
        _("TIMES"),
        _("DAYS"),
        _("PRIORITY"),
        _("STATUS"),
        _("ON"),
    )

    def line(row: Sequence[str]) -> str:
        return " ".join(fit_cell(v, w) for v, w in zip(row, widths, strict=True)).rstrip()

    lines = [line(header)]
    for entry in entries:
        lines.append(
            line(
                (
                    entry.id,
                    what_airs(entry),
                    ",".join(f"{t:%H:%M}" for t in entry.rule.times),
                    days_text(entry.rule),
                    priority_label(entry.priority),
                    _("approved") if entry.status == "approved" else _("draft"),
                    "+" if entry.enabled else "-",
                )
            )
        )
        if details := _details(entry):
            lines.append(" " * (widths[0] + 1) + details)
    return lines


def _details(entry: "Entry") -> str:
    """A relay's source, length and fallback, dates, plays and gap: relays vov1 for 30m
    (06:00-06:30), from 01/12/2026 to 12/12/2026, 2 plays 30 s apart"""
    rule = entry.rule
    parts = []
    if entry.relay is not None:
        parts.append(_relay_text(entry))
    first = f"{rule.first:%d/%m/%Y}" if rule.first and rule.on is None else None
    last = f"{rule.last:%d/%m/%Y}" if rule.last and rule.on is None else None
    if first and last:
        parts.append(_("from {first} to {last}").format(first=first, last=last))
    elif first:
        parts.append(_("from {first}").format(first=first))
    elif last:
        parts.append(_("until {last}").format(last=last))
    if entry.repeat > 1:
        parts.append(
            _("{count} plays {gap} s apart").format(count=entry.repeat, gap=f"{entry.gap_s:g}")
        )
    return ", ".join(parts)


def _relay_text(entry: "Entry") -> str:
    """relays vov1 for 30m (06:00-06:30), fallback bluezone"""
    from broadcaster.station.station_file import length_text

    text = _("relays {source} for {length}").format(
        source=entry.relay, length=length_text(entry.duration_s)
    )
    if len(entry.rule.times) == 1:
        (start,) = entry.rule.times
        moment = datetime.combine(date.min, start)
        ends = moment + timedelta(seconds=entry.duration_s)
        text += f" ({moment:%H:%M}-{ends:%H:%M})"
    if entry.fallback:
        text += ", " + _("fallback {id}").format(id=entry.fallback)
    return text


def days_text(rule: "Recurrence") -> str:
    """The days of a rule in the officers' own words: T2-T6, 15/m, T2#-1, 01/12/26…"""
    from broadcaster.station.schedules import WEEKDAY_NAMES

    if rule.on is not None:
        return f"{rule.on:%d/%m/%y}"
    if rule.month_day is not None:
        text = _("{day}/month").format(day=rule.month_day)
    elif rule.month_weekday is not None:
        weekday, nth = rule.month_weekday
        text = f"{WEEKDAY_NAMES[weekday]}#{nth}"
    elif rule.weekdays is None:
        text = _("daily")
    else:
        text = _weekday_ranges(sorted(rule.weekdays))
    if rule.every_days is not None:
        text += f"/{rule.every_days}" + _("d")
    return text


def _weekday_ranges(days: list[int]) -> str:
    from broadcaster.station.schedules import WEEKDAY_NAMES

    runs: list[list[int]] = []
    for day in days:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts: list[str] = []
    for run in runs:
        names = [WEEKDAY_NAMES[day] for day in run]
        parts += [f"{names[0]}-{names[-1]}"] if len(run) > 2 else names
    return ",".join(parts)


def _row(label: str, cells: Sequence[str]) -> str:
    return (fit_cell(label, 5) + "".join("|" + fit_cell(cell, CELL) for cell in cells)).rstrip(" |")


def _nth(labels: list[str], index: int) -> str:
    return labels[index] if index < len(labels) else ""


def _split(values: Sequence[str]) -> list[str]:
    """`--times 06:30,17h --times 19h` -> ["06:30", "17h", "19h"]."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _user() -> str | None:
    """The PC's user name, recorded as who added or approved an entry."""
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):
        return None
