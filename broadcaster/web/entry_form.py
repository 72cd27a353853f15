"""A schedule entry as a web form and back: the values as the officer typed them, checked by the
station's own reader (so the messages are `loa schedule check`'s), each message placed next to
the field it is about, and saved through the same round-trip edits as `loa schedule add`."""

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

from broadcaster.core.settings import Station
from broadcaster.errors import LoaError, ScheduleError
from broadcaster.files import is_file
from broadcaster.i18n import _
from broadcaster.station.schedule_edit import yaml_value
from broadcaster.station.schedules import ENTRY_KEYS, Entry, read_schedules
from broadcaster.station.yamlfile import YamlList, YamlMap, load_yaml

FIELDS = (
    "announcement",
    "times",
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


@dataclass
class EntryForm:
    entry_id: str
    values: dict[str, str]
    errors: dict[str, list[str]] = field(default_factory=dict)
    file_hash: str = ""
    original: dict[str, str] = field(default_factory=dict)

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
    return EntryForm(
        entry_id=text("id"),
        values=values,
        file_hash=text("file_hash"),
        original={key: text(f"original_{key}") for key in FIELDS},
    )


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


def changes_of(form: EntryForm) -> dict[str, Any]:
    """The form's values as the settings to write; None removes a setting left empty."""
    changes: dict[str, Any] = {}
    for key in FIELDS:
        value = form.values.get(key, "")
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


def check(station: Station, path: Path, form: EntryForm, written: Mapping[str, Any]) -> None:
    """Read the entry as it would be saved (`written` are its other settings) with the station's
    own reader; each problem goes to the field on its line."""
    item = CommentedMap()
    merged = {**written, **changes_of(form), "id": form.entry_id or "?"}
    for key in ENTRY_KEYS:
        value = (
            yaml_value(key, merged.get(key)) if key in FIELDS or key == "id" else merged.get(key)
        )
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
        timing = measure(station, [item.announcement for item in schedules.entries])
        today = datetime.now().date()
        return [
            finding.message if not finding.warning else _("warning: ") + finding.message
            for finding in check_schedules(schedules, timing, station, today)
            if (finding.file, finding.line) == (entry.file, entry.line)
            or f"'{entry.id}'" in finding.message
        ]
    except LoaError as error:
        return [error.message]
