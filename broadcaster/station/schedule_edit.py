"""Editing schedule files from the command line, keeping what officers wrote by hand.

Files are edited round-trip (ruamel.yaml): comments, order, quotes and flow lists survive. Every
edit is read back by the same reader as the daemon's, together with the other schedule files,
before it replaces the file atomically: an edit that would break the schedules is not saved.
"""

import io
import re
import unicodedata
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from broadcaster.core.settings import Station
from broadcaster.core.timeofday import parse_time
from broadcaster.errors import EditRefusedError, ScheduleError, describe_os_error
from broadcaster.files import atomic_file, is_file, read_text
from broadcaster.i18n import _
from broadcaster.station.holidays import as_date
from broadcaster.station.schedules import (
    ENTRY_KEYS,
    Entry,
    Schedules,
    read_schedules,
    schedule_files,
)
from broadcaster.station.yamlfile import load_yaml

DEFAULT_FILE = "lich.yaml"
"""Where `loa schedule add` writes when no file is named ("lịch" is "schedule")."""
MAX_IDS_SHOWN = 30
PROVINCE_PREFIX = "tinh-"
"""The entries the province link writes (province/landing.PREFIX): the province changes them,
the station may only approve them."""
APPROVAL_KEYS = frozenset(("status", "approved_by"))
BOM = "\ufeff"


def schedule_path(station: Station, name: str | None) -> Path:
    """A file in schedules/ by its name (`.yaml` may be left out); the daemon reads no other."""
    given = Path(name or DEFAULT_FILE)
    if given.suffix != ".yaml":
        given = given.with_name(f"{given.name}.yaml")
    path = station.directory / "schedules" / given.name
    if given.parent != Path() and given.resolve() != path.resolve():
        raise ScheduleError(
            _("{file} is not in {folder}: Loa reads schedules from there only.").format(
                file=name, folder=path.parent
            )
        )
    return path


def add_entry(station: Station, fields: Mapping[str, Any], path: Path) -> Entry:
    """Append an entry (settings in the documented order) to `path`, created if need be."""
    entry = CommentedMap()
    for key in ENTRY_KEYS:
        value = yaml_value(key, fields.get(key))
        if value is not None:
            entry[key] = value
    after = _edit(station, path, _dumping(lambda entries: entries.append(entry)))
    return _by_id(after, unicodedata.normalize("NFC", str(entry["id"]).strip()))


def yaml_value(key: str, value: Any) -> Any:
    """A setting as officers write it in the file: times and days as one-line lists, dates as
    dates; None for an empty one (left out)."""
    if value is None or value == [] or value == "":
        return None
    if key == "times":
        return _flow([DoubleQuotedScalarString(str(t)) for t in value])
    if key in ("days", "except"):
        return _flow([_as_date_if_valid(str(v)) if key == "except" else v for v in value])
    if key in ("from", "until", "date"):
        return _as_date_if_valid(str(value))
    return value


def remove_entry(station: Station, entry_id: str) -> Entry:
    """Cut the entry's own lines out of its file; every comment line around it stays, since it
    may belong to the next entry or head the file."""

    def cut(text: str, data: CommentedSeq | None) -> str:
        entries = data if data is not None else CommentedSeq()
        index = _index(entries, found.id)
        lines = text.splitlines(keepends=True)
        first = entries.lc.item(index)[0]
        end = entries.lc.item(index + 1)[0] if index + 1 < len(entries) else len(lines)
        while end > first + 1 and _comment_or_blank(lines[end - 1]):
            end -= 1
        return "".join(lines[:first] + lines[end:])

    found = find_entry(station, entry_id)
    _refuse_province_entry(found)
    _edit(station, _file(found), cut)
    return found


def change_entry(station: Station, entry_id: str, changes: Mapping[str, object]) -> Entry:
    """Set settings of an entry (None removes one); one it did not have goes under its status, or
    else its id, where officers look first (at the end it could land below the comments about
    the next entry)."""

    def change(entries: CommentedSeq) -> None:
        item = entries[_index(entries, found.id)]
        for key, value in changes.items():
            if value is None:
                item.pop(key, None)
            elif key in item:
                item[key] = value
            else:
                anchor = "status" if "status" in item else "id"
                item.insert(list(item).index(anchor) + 1, key, value)

    found = find_entry(station, entry_id)
    if not set(changes) <= APPROVAL_KEYS:
        _refuse_province_entry(found)
    return _by_id(_edit(station, _file(found), _dumping(change)), found.id)


def _refuse_province_entry(entry: Entry) -> None:
    """A province bulletin is changed or cancelled by the province only: the link would write
    the province's version back anyway."""
    if entry.id.startswith(PROVINCE_PREFIX):
        raise EditRefusedError(
            _(
                "'{id}' is a bulletin of the province: only the province changes or cancels it "
                "(ask them); here it may only be approved (loa approve {id})."
            ).format(id=entry.id)
        )


def find_entry(station: Station, entry_id: str) -> Entry:
    """The entry with this id in the station's schedules; an unknown id names the known ones."""
    wanted = unicodedata.normalize("NFC", entry_id.strip())
    entries = read_schedules(station).entries
    for entry in entries:
        if entry.id == wanted:
            return entry
    ids = [entry.id for entry in entries]
    shown = ", ".join(ids[:MAX_IDS_SHOWN]) + (", …" if len(ids) > MAX_IDS_SHOWN else "")
    raise ScheduleError(
        _("No schedule entry '{id}'. Entries: {known}.").format(id=entry_id, known=shown or "-")
    )


def next_id(station: Station, announcement: str, first_time: str) -> str:
    """An id for a new entry: the announcement and its first time, e.g. bluezone-0630, or
    Ghi-âm-001-0630 for the recording "Ghi âm 001.m4a"."""
    moment = parse_time(first_time)
    digits = f"{moment:%H%M}" if moment else "".join(c for c in first_time if c.isalnum())
    used = {entry.id for entry in read_schedules(station).entries}
    # no spaces: the id is typed after commands (loa approve ID) and must not need quotes
    stem = "-".join(Path(announcement).stem.split())
    base = unicodedata.normalize("NFC", f"{stem}-{digits}")
    number = 2
    chosen = base
    while chosen in used:
        chosen, number = f"{base}-{number}", number + 1
    return chosen


Change = Callable[[str, CommentedSeq | None], str]
"""The file's text (LF line ends) and its entries as parsed -> the new text."""


def _dumping(change: Callable[[CommentedSeq], object]) -> Change:
    """A change made to the parsed entries, written back round-trip."""

    def edit(text: str, data: CommentedSeq | None) -> str:
        entries = data if data is not None else CommentedSeq()
        change(entries)
        out = io.StringIO()
        _round_trip().dump(entries, out)
        # a file of comments only parses as nothing: keep its comments above the new entries
        return out.getvalue() if data is not None else _with_newline(text) + out.getvalue()

    return edit


def _edit(station: Station, path: Path, change: Change) -> Schedules:
    """Apply `change` to the file and save it, only if the schedules still read without a
    problem; a Windows file stays a Windows file (BOM, CRLF)."""
    original = read_text(path, ScheduleError) if is_file(path) else ""
    text = original.replace("\r\n", "\n")
    if text.strip():
        load_yaml(path, ScheduleError)  # a file that does not parse is reported at its line
    data = _round_trip().load(text) if text.strip() else None
    if data is not None and not isinstance(data, CommentedSeq):
        raise ScheduleError(
            f"{path}:1: " + _("a schedule file is a list of entries, each starting with '- id:'.")
        )
    new_text = change(text, data)
    if "\r\n" in original:
        new_text = new_text.replace("\n", "\r\n")
    raw = path.read_bytes() if is_file(path) else b""
    if raw.startswith(BOM.encode()):
        new_text = BOM + new_text
    files = sorted({*schedule_files(station), path})
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(path) as temporary:
            temporary.write(new_text.encode("utf-8"))
            temporary.flush()
            after = read_schedules(station, files, reading={path: Path(temporary.name)})
            if after.problems:
                # a line of the unsaved file means nothing to the officer: the problem alone
                problem = re.sub(rf"^{re.escape(str(path))}:\d+: ", "", after.problems[0])
                raise ScheduleError(
                    _("The change was not saved: {problem}").format(problem=problem)
                )
    except OSError as error:
        raise ScheduleError(
            _("Cannot write {file}: {reason}.").format(file=path, reason=describe_os_error(error))
        ) from error
    return after


def _by_id(schedules: Schedules, entry_id: str) -> Entry:
    return next(entry for entry in schedules.entries if entry.id == entry_id)


def _round_trip() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=2, offset=0)
    yaml.width = 4096  # never re-wrap an officer's long lines
    return yaml


def _index(entries: CommentedSeq, entry_id: str) -> int:
    """Where the entry is in its file's list; the file may have changed since it was read."""
    ids = [
        unicodedata.normalize("NFC", item["id"].strip())
        if isinstance(item, CommentedMap) and isinstance(item.get("id"), str)
        else None
        for item in entries
    ]
    if entry_id not in ids:
        raise ScheduleError(_("No schedule entry '{id}'.").format(id=entry_id))
    return ids.index(entry_id)


def _file(entry: Entry) -> Path:
    assert entry.file is not None  # entries read from files know theirs
    return entry.file


def _flow(items: list[object]) -> CommentedSeq:
    """A list written on one line, `[T2-T6, CN]`, as officers write them."""
    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq


def _as_date_if_valid(value: str) -> object:
    """A date written as a date (01/12/2026 too); anything else as given, for the reader to
    report."""
    return as_date(value) or value


def _comment_or_blank(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _with_newline(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"
