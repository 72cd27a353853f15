"""A schedule entry as a web form and back: the values as the officer typed them, checked by the
station's own reader (so the messages are `loa schedule check`'s), each message placed next to
the field it is about, and saved through the same round-trip edits as `loa schedule add`.

An entry airs an announcement or relays a source (`relay:` with `duration:` or `ends:`); the
form's kind says which of the two it writes, every other field goes to the reader as typed."""

import hashlib
import io
import re
import tempfile
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from broadcaster.core.settings import Station
from broadcaster.errors import LoaError, ScheduleError
from broadcaster.files import is_file
from broadcaster.i18n import _
from broadcaster.station.schedule_edit import yaml_value
from broadcaster.station.schedules import ENTRY_KEYS, Entry, announcements_of, read_schedules
from broadcaster.station.yamlfile import YamlList, YamlMap, load_yaml

FIELDS = (
    "announcement",
    "relay",
    "times",
    "duration",
    "ends",
    "fallback",
    "days",
    "from",
    "until",
    "date",
    "every",
    "except",
    "repeat",
    "gap",
    "priority",
    "start",
    "enabled",
)
"""What the form edits; other settings of the entry (monthly, late_limit…) stay as written."""
LISTS = ("times", "days", "except")
GENERAL = "form"
"""Where a message about no one field goes."""
ANNOUNCEMENT, RELAY = "announcement", "relay"
KINDS = (ANNOUNCEMENT, RELAY)
"""What an entry airs: the form writes `announcement:` or `relay:`, never both."""


@dataclass
class EntryForm:
    entry_id: str
    values: dict[str, str]
    errors: dict[str, list[str]] = field(default_factory=dict)
    file_hash: str = ""
    original: dict[str, str] = field(default_factory=dict)
    kind: str = ANNOUNCEMENT

    def add(self, key: str, message: str) -> None:
        self.errors.setdefault(key, []).append(message)


def file_hash(path: Path | None) -> str:
    if path is None or not is_file(path):
        return ""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def from_request(form: Mapping[str, Any]) -> EntryForm:
    """What was typed, NFC-normalized and kept as typed, to be shown again on an error."""

    def text(name: str) -> str:
        value = form.get(name, "")
        return unicodedata.normalize("NFC", value if isinstance(value, str) else "").strip()

    values = {key: text(key) for key in FIELDS if key != "enabled"}
    values["enabled"] = "on" if form.get("enabled") else ""
    kind = text("kind")
    if kind not in KINDS:  # a form of before relays: what it names says its kind
        kind = RELAY if values["relay"] and not values["announcement"] else ANNOUNCEMENT
    return EntryForm(
        entry_id=text("id"),
        values=values,
        file_hash=text("file_hash"),
        original={key: text(f"original_{key}") for key in FIELDS},
        kind=kind,
    )


def kind_of(item: Mapping[str, Any]) -> str:
    """The kind of an entry as written: the reader takes `relay:` as a relay."""
    return RELAY if "relay" in item else ANNOUNCEMENT


def raw_item(path: Path, entry_id: str) -> dict[str, Any] | None:
    """The entry's settings as written in its file (times as typed: 6h30 stays 6h30)."""
    data = load_yaml(path, ScheduleError)
    if not isinstance(data, YamlList):
        return None
    for item in data:
        if (
            isinstance(item, YamlMap)
            and unicodedata.normalize("NFC", str(item.get("id", "")).strip()) == entry_id
        ):
            return dict(item)
    return None


def values_of(item: Mapping[str, Any]) -> dict[str, str]:
    """The form's text for each field of a written entry."""
    values: dict[str, str] = {}
    for key in FIELDS:
        value = item.get(key)
        if key == "enabled":
            values[key] = "" if value is False else "on"
        elif isinstance(value, list):
            values[key] = ", ".join(_shown(v) for v in value)
        else:
            values[key] = "" if value is None else _shown(value)
    return values


def _shown(value: Any) -> str:
    if isinstance(value, date) and not isinstance(value, datetime):
        return f"{value:%d/%m/%Y}"
    return str(value)


def effective(form: EntryForm) -> dict[str, str]:
    """The values the form writes: the select of the other kind is left out (a browser sends
    both); what only the other kind takes (repeat, duration…) stays, for the reader to refuse."""
    other = ANNOUNCEMENT if form.kind == RELAY else RELAY
    return {**form.values, other: ""}


def changes_of(form: EntryForm) -> dict[str, Any]:
    """The form's values as the settings to write; None removes a setting left empty."""
    changes: dict[str, Any] = {}
    values = effective(form)
    for key in FIELDS:
        value = values.get(key, "")
        if key == "enabled":
            changes[key] = None if value else False
        elif key in LISTS:
            parts = [part.strip() for part in value.split(",") if part.strip()]
            changes[key] = parts or None
        elif key == "repeat" and value.isdigit():
            changes[key] = int(value)
        else:
            changes[key] = value or None
    return changes


def setting(key: str, value: Any) -> Any:
    """A setting as written in the file (see `yaml_value`); the end of a relay quoted, as the
    documentation writes it: ends: "06:30"."""
    if key == "ends" and isinstance(value, str) and value:
        return DoubleQuotedScalarString(value)
    return yaml_value(key, value)


def edits(form: EntryForm, new: bool, written: Mapping[str, Any]) -> dict[str, Any]:
    """The settings an edit writes: those the officer changed (all of them for a new entry).
    An edit puts each setting the entry did not have right under its id (or status): given last
    first, new settings (relay, duration, fallback) read in the form's order."""
    values = effective(form)
    changed = {
        key: setting(key, value)
        for key, value in changes_of(form).items()
        if new or values.get(key, "") != form.original.get(key, "")
    }
    added = [key for key, value in changed.items() if key not in written and value is not None]
    kept = [key for key in changed if key not in added]
    return {key: changed[key] for key in [*kept, *reversed(added)]}


def check(station: Station, path: Path, form: EntryForm, written: Mapping[str, Any]) -> None:
    """Read the entry as it would be saved (`written` are its other settings) with the station's
    own reader; each problem goes to the field on its line."""
    item = CommentedMap()
    merged = {**written, **changes_of(form), "id": form.entry_id or "?"}
    for key in ENTRY_KEYS:
        value = setting(key, merged.get(key)) if key in FIELDS or key == "id" else merged.get(key)
        if key == RELAY and form.kind == RELAY and value is None:
            value = ""  # no source chosen: the reader says which there are, at the source
        if isinstance(value, dict):
            value = CommentedMap(value)
            value.fa.set_flow_style()
        if value is not None:
            item[key] = value
    yaml = YAML(typ="rt")
    yaml.width = 4096
    out = io.StringIO()
    yaml.dump(CommentedSeq([item]), out)
    text = out.getvalue()
    parsed = yaml.load(text)[0]
    lines = {parsed.lc.key(key)[0] + 1: key for key in parsed}
    run_dir = station.directory / ".loa"
    run_dir.mkdir(mode=0o700, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", dir=run_dir, encoding="utf-8") as copy:
        copy.write(text)
        copy.flush()
        found = read_schedules(station, [path], reading={path: Path(copy.name)})
    prefix = re.compile(rf"^{re.escape(str(path))}:(\d+): ")
    for problem in found.problems:
        matched = prefix.match(problem)
        line = int(matched[1]) if matched else 0
        message = prefix.sub("", problem)
        key = lines.get(line, GENERAL)
        if key == "id":
            named = [k for k in FIELDS if f"'{k}'" in message or f"'{k}:'" in message]
            key = named[0] if named else GENERAL
        form.add(key if key in FIELDS else GENERAL, message)
    if not form.entry_id:
        form.add(GENERAL, _("every entry needs '{key}:'.").format(key="id"))


def changed_since(form: EntryForm, now: Mapping[str, str] | None) -> list[tuple[str, str, str]]:
    """What another officer changed since this form was opened: (field, then, now)."""
    if now is None:
        return [(GENERAL, "", _("removed"))]
    return [
        (key, form.original.get(key, ""), now.get(key, ""))
        for key in FIELDS
        if form.original.get(key, "") != now.get(key, "")
    ]


def findings_about(station: Station, entry: Entry) -> list[str]:
    """What `loa schedule check` says about this entry (clashes, quiet hours, sessions)."""
    from broadcaster.station.schedule_check import check_schedules, measure

    try:
        schedules = read_schedules(station)
        timing = measure(station, announcements_of(schedules.entries, station))
        today = datetime.now().date()
        return [
            finding.message if not finding.warning else _("warning: ") + finding.message
            for finding in check_schedules(schedules, timing, station, today)
            if (finding.file, finding.line) == (entry.file, entry.line)
            or f"'{entry.id}'" in finding.message
        ]
    except LoaError as error:
        return [error.message]
