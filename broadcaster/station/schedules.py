"""Schedule files (`schedules/*.yaml`) -> entries, every problem located as `file:line`.

Officers write times as 06:30, 06:30:15, 6h30 or 17h, weekdays as T2…T7 and CN (or mon…sun),
with ranges such as T2-T6. The YAML is read as 1.2, so an unquoted 06:30 stays a time. Holidays
(`holidays.yaml`, see station/holidays) are skipped days of every entry but emergencies.
"""

import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import Any

from broadcaster.core.compose import DEFAULT_GAP_S, MAX_GAP_S, MAX_REPEAT, MIN_GAP_S
from broadcaster.core.models import Priority, StartPolicy
from broadcaster.core.playout import relay_occurrence_name
from broadcaster.core.recurrence import Recurrence
from broadcaster.core.settings import DEFAULT_LATE_LIMIT_S, Station
from broadcaster.core.timeofday import parse_time
from broadcaster.errors import ScheduleError, describe_os_error
from broadcaster.files import decode_text, refuse_outside
from broadcaster.i18n import _, current_language
from broadcaster.station.announcements import list_announcements, list_recordings
from broadcaster.station.holidays import as_date, read_holidays
from broadcaster.station.station_file import duration_seconds
from broadcaster.station.yamlfile import (
    YamlList,
    YamlMap,
    item_line,
    key_line,
    node_line,
    parse_yaml,
)

ENTRY_KEYS = (
    "id",
    "announcement",
    "relay",
    "times",
    "duration",
    "ends",
    "fallback",
    "days",
    "from",
    "until",
    "every",
    "monthly",
    "except",
    "date",
    "repeat",
    "gap",
    "priority",
    "late_limit",
    "start",
    "status",
    "enabled",
    "catch_up",
    "created_by",
    "approved_by",
)
RELAY_ONLY_KEYS = ("duration", "ends", "fallback")
NOT_FOR_RELAYS = ("repeat", "gap")
MAX_RELAY_S = 24 * 3600
_ENTRY_KEY_SET = frozenset(ENTRY_KEYS)
PRIORITIES = tuple(priority.value for priority in Priority)
START_POLICIES = tuple(policy.value for policy in StartPolicy)
STATUSES = ("draft", "approved")
WEEKDAYS = {
    "t2": 0,
    "t3": 1,
    "t4": 2,
    "t5": 3,
    "t6": 4,
    "t7": 5,
    "cn": 6,
    "mon": 0,
    "tue": 1,
    "wed": 2,
    "thu": 3,
    "fri": 4,
    "sat": 5,
    "sun": 6,
}
WEEKDAY_NAMES = ("T2", "T3", "T4", "T5", "T6", "T7", "CN")
_EVERY = re.compile(r"(\d{1,9})\s*(days?|weeks?|ngày|tuần)")


@dataclass(frozen=True)
class Entry:
    """One entry of a schedule file: an announcement to air, or a relay of a source for a while
    (then `announcement` is empty; `what_airs` names either)."""

    id: str
    announcement: str
    rule: Recurrence
    """Holidays are among its skipped days, unless the entry is an emergency."""
    repeat: int = 1
    gap_s: float = DEFAULT_GAP_S
    priority: str = Priority.NORMAL
    late_limit_s: float = DEFAULT_LATE_LIMIT_S
    start: str = StartPolicy.AFTER_CURRENT
    status: str = "approved"
    enabled: bool = True
    catch_up: bool = False
    created_by: str | None = None
    approved_by: str | None = None
    start_chosen: bool = False
    """Whether the file says `start:` itself: the officer's answer to a clash."""
    relay: str | None = None
    """The relay source (`relay_sources:` in station.yaml) the entry airs instead of an
    announcement."""
    duration_s: float = 0.0
    """How long a relay lasts from each of its times; 0 for announcements."""
    fallback: str | None = None
    """The announcement a relay plays while its source is gone (else the station's)."""
    file: Path | None = field(default=None, compare=False)
    line: int = field(default=0, compare=False)

    @property
    def place(self) -> str:
        """Where the entry is written, as `file:line`."""
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Schedules:
    """Everything the schedule files say, what could not be read included."""

    entries: tuple[Entry, ...]
    holidays: Mapping[date, str]
    """Day -> its name (may be empty)."""
    problems: tuple[str, ...]
    """`file:line: message`, in the order of the files and their lines."""
    files: tuple[Path, ...]

    def raise_problems(self) -> None:
        """Raise the first problem, if any, saying how many more `loa schedule check` lists."""
        if not self.problems:
            return
        first, *others = self.problems
        more = _("({count} more problems: run 'loa schedule check' to see them all.)")
        raise ScheduleError(f"{first} {more.format(count=len(others))}" if others else first)


def what_airs(entry: Entry) -> str:
    """What an entry puts on the air, for views: its announcement, or "Relay vov1"."""
    if entry.relay is None:
        return entry.announcement
    return _("Relay {source}").format(source=entry.relay)


def occurrence_name(entry: Entry) -> str:
    """What the entry's occurrences (and their as-run rows) name: the announcement, or
    `relay:vov1`."""
    return entry.announcement if entry.relay is None else relay_occurrence_name(entry.relay)


def announcements_of(entries: Iterable[Entry], station: Station) -> list[str]:
    """The announcements `entries` may air, each once: relays air their fallback (their own, or
    the station's) while the source is gone."""
    found = []
    for entry in entries:
        if entry.relay is None:
            found.append(entry.announcement)
        elif fallback := entry.fallback or station.relay_fallback:
            found.append(fallback)
    return list(dict.fromkeys(found))


def airs(entry: Entry) -> bool:
    """Whether `entry` goes on air: enabled and approved. A draft never airs; where the station
    requires approval, an entry that does not say `status: approved` is a draft."""
    return entry.enabled and entry.status == "approved"


def waits_for_approval(entry: Entry) -> bool:
    """An enabled draft: what `status`, `doctor` and `schedule check` list for the approver."""
    return entry.enabled and entry.status != "approved"


def schedule_files(station: Station) -> list[Path]:
    folder = station.directory / "schedules"
    return sorted(folder.glob("*.yaml")) if folder.is_dir() else []


def load_schedules(station: Station) -> list[Entry]:
    """Every entry of every schedule file, checked; ids are unique across files. The first
    problem is raised: `loa schedule check` lists them all."""
    found = read_schedules(station)
    found.raise_problems()
    return list(found.entries)


def read_schedules(
    station: Station,
    files: Iterable[Path] | None = None,
    reading: Mapping[Path, Path] | None = None,
    cache: "ScheduleCache | None" = None,
) -> Schedules:
    """Read `files` (all of schedules/*.yaml by default) and the holidays file, keeping every
    entry that can be read and every problem found, one per bad entry or file.

    `reading` reads another file in place of a schedule file (an edit not yet saved), with
    messages still naming the schedule file. Files read before with the same content are not
    read again (`cache`, the process's own by default)."""
    cache = SCHEDULE_CACHE if cache is None else cache
    known = frozenset((*list_announcements(station), *list_recordings(station)))
    problems: list[str] = []
    holidays = read_holidays(station, problems)
    relays = frozenset(station.relay_sources)
    context = (known, frozenset(holidays), station.require_approval, current_language(), relays)
    entries: list[Entry] = []
    where: dict[str, Entry] = {}
    paths = tuple(schedule_files(station) if files is None else files)
    for path in paths:
        actual = (reading or {}).get(path, path)
        for found in cache.read(station.directory, path, actual, context):
            if isinstance(found, str):
                problems.append(found)
            elif found.id in where:
                problems.append(
                    f"{found.place}: "
                    + _(
                        "the id '{id}' is already used at {place}: give each entry its own id."
                    ).format(id=found.id, place=where[found.id].place)
                )
            else:
                where[found.id] = found
                entries.append(found)
    if files is None:
        cache.keep_only(station.directory, paths)
    return Schedules(tuple(entries), holidays, tuple(problems), paths)


Context = tuple[frozenset[str], frozenset[date], bool, str, frozenset[str]]
"""What reading an entry depends on besides its file: the announcements, the holidays, whether
the station requires approval, the language of the messages and the relay sources."""


class ScheduleCache:
    """Schedule files already read, by path, content and context: re-reading 10,000 entries after
    one file changed reads and checks that one file only. A daemon keeps one for its life.
    Safe across threads: the watcher and the province link's campaign check read at once."""

    def __init__(self) -> None:
        self._files: dict[tuple[Path, Path], tuple[bytes, Context, list[Entry | str]]] = {}
        self._lock = threading.Lock()

    def read(
        self, directory: Path, path: Path, actual: Path, context: Context
    ) -> list[Entry | str]:
        """The entries of one file, and the problem of each item that is not one."""
        try:
            refuse_outside(path, directory, ScheduleError)
            raw = _read_bytes(actual)
        except ScheduleError as error:
            return [error.message.replace(str(actual), str(path))]
        with self._lock:
            known = self._files.get((path, actual))
        if known is not None and known[0] == raw and known[1] == context:
            return known[2]
        found = _read_file(path, actual, raw, context)
        with self._lock:
            if len(self._files) >= MAX_CACHED_FILES:
                self._files.clear()  # many stations in one process (tests): start again
            self._files[(path, actual)] = (raw, context, found)
        return found

    def keep_only(self, directory: Path, paths: Iterable[Path]) -> None:
        """Forget the files of `directory` no longer read (deleted, renamed, or read in place
        of another); other stations' files stay."""
        wanted = set(paths)
        with self._lock:
            for key in [
                key
                for key in self._files
                if key[0].is_relative_to(directory) and (key[0] not in wanted or key[0] != key[1])
            ]:
                del self._files[key]


SCHEDULE_CACHE = ScheduleCache()
MAX_CACHED_FILES = 1000


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as problem:
        raise ScheduleError(
            _("Cannot read {file}: {reason}.").format(file=path, reason=describe_os_error(problem))
        ) from problem


def _read_file(path: Path, actual: Path, raw: bytes, context: Context) -> list[Entry | str]:
    known, holidays, approval, _language, relays = context
    try:
        items = _items(path, actual, raw)
    except ScheduleError as error:
        return [error.message]
    found: list[Entry | str] = []
    for item in items:
        if isinstance(item, str):
            found.append(item)
            continue
        try:
            found.append(_Reader(path, item).entry(known, holidays, approval, relays))
        except ScheduleError as error:
            found.append(error.message)
    return found


def _items(path: Path, actual: Path, raw: bytes) -> list[YamlMap | str]:
    """The entries of one file, or for an item that is not an entry, its problem; a file that is
    not a list is refused whole."""
    try:
        data = parse_yaml(decode_text(raw, actual, ScheduleError), actual, ScheduleError)
    except ScheduleError as error:
        raise ScheduleError(error.message.replace(str(actual), str(path))) from error
    if data is None:
        return []
    if not isinstance(data, YamlList):
        raise ScheduleError(
            f"{path}:1: " + _("a schedule file is a list of entries, each starting with '- id:'.")
        )
    return [
        item
        if isinstance(item, YamlMap)
        else f"{path}:{item_line(data, index)}: " + _("an entry must be a group of settings.")
        for index, item in enumerate(data)
    ]


class _Reader:
    def __init__(self, path: Path, item: YamlMap) -> None:
        self.path = path
        self.item = item

    def fail(self, key: str | None, message: str) -> ScheduleError:
        line = key_line(self.item, key) if key is not None else node_line(self.item)
        return ScheduleError(f"{self.path}:{line}: {message}")

    def entry(
        self,
        known: frozenset[str],
        holidays: frozenset[date],
        approval: bool,
        relays: frozenset[str],
    ) -> Entry:
        for key in self.item:
            if key not in _ENTRY_KEY_SET:
                raise self.fail(
                    key,
                    _("unknown setting '{key}'; known settings here: {known}.").format(
                        key=key, known=", ".join(ENTRY_KEYS)
                    ),
                )
        if not isinstance(self.item.get("id"), str) or not self.item["id"].strip():
            raise self.fail(None, _("every entry needs '{key}:'.").format(key="id"))
        if "relay" in self.item:
            relay, announcement = self.relay(relays, known), ""
        else:
            relay, announcement = None, self.announcement(known)
        priority = self.choice("priority", Entry.priority, PRIORITIES)
        rule = self.rule(frozenset() if priority == "emergency" else holidays)
        return Entry(
            id=unicodedata.normalize("NFC", self.item["id"].strip()),
            announcement=announcement,
            rule=rule,
            repeat=self.number("repeat", Entry.repeat, 1, MAX_REPEAT),
            gap_s=self.duration("gap", Entry.gap_s, MIN_GAP_S, MAX_GAP_S),
            priority=priority,
            late_limit_s=self.duration("late_limit", Entry.late_limit_s, 0, 24 * 3600),
            start=self.choice("start", Entry.start, START_POLICIES),
            status=self.choice("status", "draft" if approval else "approved", STATUSES),
            enabled=self.flag("enabled", Entry.enabled),
            catch_up=self.flag("catch_up", Entry.catch_up),
            created_by=self.name("created_by"),
            approved_by=self.name("approved_by"),
            start_chosen="start" in self.item,
            relay=relay,
            duration_s=self.relay_seconds(rule) if relay is not None else 0.0,
            fallback=self.fallback(known) if relay is not None else None,
            file=self.path,
            line=node_line(self.item),
        )

    def announcement(self, known: frozenset[str]) -> str:
        value = self.item.get("announcement")
        if not isinstance(value, str) or not value.strip():
            raise self.fail(
                None,
                _("every entry needs 'announcement:' (or 'relay:' to relay a radio programme)."),
            )
        for key in RELAY_ONLY_KEYS:
            if key in self.item:
                raise self.fail(
                    key,
                    _(
                        "'{key}' is for relays (entries with 'relay:'); an announcement plays "
                        "to its end: remove '{key}'."
                    ).format(key=key),
                )
        announcement = unicodedata.normalize("NFC", value.strip())
        if announcement not in known:
            raise self.fail(
                "announcement",
                _("no announcement '{id}' in announcements/; announcements there: {known}.").format(
                    id=announcement, known=", ".join(sorted(known)) or "-"
                ),
            )
        return announcement

    def relay(self, relays: frozenset[str], known: frozenset[str]) -> str:
        """The source of a relay entry; what only announcements take is refused."""
        if "announcement" in self.item:
            raise self.fail(
                "announcement",
                _(
                    "an entry has 'relay:' or 'announcement:', not both: a relay airs its source "
                    "(and 'fallback:' while the source is gone)."
                ),
            )
        for key in NOT_FOR_RELAYS:
            if key in self.item:
                raise self.fail(
                    key,
                    _(
                        "'{key}' makes no sense for a relay: it airs its source once, for its "
                        "'duration:'; remove '{key}'."
                    ).format(key=key),
                )
        value = self.item["relay"]
        name = value.strip() if isinstance(value, str) else ""
        if name not in relays:
            known_names = ", ".join(sorted(relays))
            raise self.fail(
                "relay",
                _(
                    "no relay source '{name}' in station.yaml (relay_sources:); sources there: "
                    "{known}."
                ).format(name=value, known=known_names)
                if relays
                else _(
                    "no relay source '{name}': station.yaml lists none; add it under "
                    "'relay_sources:' (see the example there)."
                ).format(name=value),
            )
        return name

    def relay_seconds(self, rule: Recurrence) -> float:
        """`duration: 30m`, or `ends: "06:30"` later the same day than the entry's one time."""
        if "duration" in self.item and "ends" in self.item:
            raise self.fail(
                "ends", _("write 'duration:' or 'ends:', not both: they say the same thing.")
            )
        if "ends" not in self.item:
            if "duration" not in self.item:
                raise self.fail(
                    None,
                    _(
                        "a relay needs 'duration:' (e.g. duration: 30m) or 'ends:' (the time "
                        'it ends, e.g. ends: "06:30").'
                    ),
                )
            return self.duration("duration", 0.0, 1, MAX_RELAY_S)
        ends = parse_time(self.item["ends"])
        if ends is None:
            raise self.fail(
                "ends",
                _("'{value}' is not a time; write 06:30, 6h30 or 17h.").format(
                    value=self.item["ends"]
                ),
            )
        if len(rule.times) != 1:
            raise self.fail(
                "ends",
                _(
                    "'ends:' fits an entry with one time; with several times, write how long "
                    "each relay lasts, e.g. duration: 30m."
                ),
            )
        (start,) = rule.times
        seconds = _seconds_of_day(ends) - _seconds_of_day(start)
        if seconds <= 0:
            raise self.fail(
                "ends",
                _(
                    "'ends: {ends}' is not after the start, {start}: a relay ends later the same "
                    "day; for one across midnight write its length, e.g. duration: 1h."
                ).format(ends=f"{ends:%H:%M}", start=f"{start:%H:%M}"),
            )
        return float(seconds)

    @staticmethod
    def until_is_a_day() -> str:
        return _(
            "'until' is the last day an entry airs (a date such as 2026-12-31); the time a "
            "relay ends is written 'ends: \"06:30\"' (or its length, 'duration: 30m')."
        )

    def fallback(self, known: frozenset[str]) -> str | None:
        value = self.item.get("fallback")
        if value is None:
            return None
        name = unicodedata.normalize("NFC", str(value).strip())
        if name not in known:
            raise self.fail(
                "fallback",
                _(
                    "no announcement '{id}' in announcements/ for 'fallback'; announcements "
                    "there: {known}."
                ).format(id=value, known=", ".join(sorted(known)) or "-"),
            )
        return name

    def rule(self, holidays: frozenset[date]) -> Recurrence:
        if "times" not in self.item:
            raise self.fail(None, _('every entry needs \'times:\', e.g. times: ["06:30", "17h"].'))
        times = self.item["times"]
        if times in (None, [], ""):
            raise self.fail("times", _("'times' is empty: write at least one time, e.g. 06:30."))
        first, last, on = self.day("from"), self.day("until"), self.day("date")
        if first and last and last < first:
            raise self.fail("until", _("'until' is before 'from'."))
        every = self.every()
        if every is not None and first is None:
            raise self.fail("every", _("'every' needs 'from:', the first day it counts from."))
        month_day, month_weekday = self.monthly()
        listed = self.item.get("except") or []
        skipped = [as_date(d) for d in (listed if isinstance(listed, list) else [listed])]
        if any(d is None for d in skipped):
            raise self.fail("except", _("'except' is a list of dates such as 2026-09-02."))
        return Recurrence(
            times=tuple(self.clock(t) for t in (times if isinstance(times, list) else [times])),
            weekdays=self.weekdays(),
            first=first,
            last=last,
            every_days=every,
            month_day=month_day,
            month_weekday=month_weekday,
            on=on,
            skipped=frozenset(d for d in skipped if d is not None) | holidays,
        )

    def clock(self, value: Any) -> time:
        moment = parse_time(value)
        if moment is not None:
            return moment
        raise self.fail(
            "times", _("'{value}' is not a time; write 06:30, 6h30 or 17h.").format(value=value)
        )

    def weekdays(self) -> frozenset[int] | None:
        days = self.item.get("days")
        if days is None:
            return None
        chosen: set[int] = set()
        for token in days if isinstance(days, list) else [days]:
            ends = [WEEKDAYS.get(part.strip().lower()) for part in str(token).split("-")]
            if not ends or None in ends or len(ends) > 2:
                raise self.fail(
                    "days",
                    _(
                        "'{value}' is not a weekday; write T2…T7, CN or a range such as T2-T6."
                    ).format(value=token),
                )
            low, high = ends[0], ends[-1]
            assert low is not None and high is not None
            chosen.update(
                range(low, high + 1) if low <= high else [*range(low, 7), *range(high + 1)]
            )
        return frozenset(chosen)

    def day(self, key: str) -> date | None:
        value = self.item.get(key)
        if value is None:
            return None
        found = as_date(value)
        if found is None and key == "until" and "relay" in self.item and parse_time(value):
            raise self.fail(key, self.until_is_a_day())
        if found is None:
            raise self.fail(
                key, _("'{key}' is a date such as 2026-12-01 or 01/12/2026.").format(key=key)
            )
        return found

    def every(self) -> int | None:
        value = self.item.get("every")
        if value is None:
            return None
        found = _EVERY.fullmatch(str(value).strip().lower())
        if not found or int(found[1]) < 1:
            raise self.fail("every", _("'every' is like '2 weeks' or '3 days'."))
        weeks = found[2].startswith(("week", "tuần"))
        return int(found[1]) * (7 if weeks else 1)

    def monthly(self) -> tuple[int | None, tuple[int, int] | None]:
        value = self.item.get("monthly")
        if value is None:
            return None, None
        if isinstance(value, dict) and set(value) == {"day"} and value["day"] in range(1, 32):
            return value["day"], None
        if isinstance(value, dict) and set(value) == {"weekday", "nth"}:
            weekday = WEEKDAYS.get(str(value["weekday"]).lower())
            if weekday is not None and value["nth"] in (1, 2, 3, 4, 5, -1):
                return None, (weekday, value["nth"])
        raise self.fail("monthly", _("'monthly' is {day: 15} or {weekday: T2, nth: -1}."))

    def number(self, key: str, default: int, low: int, high: int) -> int:
        value = self.item.get(key, default)
        if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
            return value
        raise self.fail(
            key,
            _("'{key}' is a whole number from {low} to {high}.").format(
                key=key, low=low, high=high
            ),
        )

    def duration(self, key: str, default: float, low: float, high: float) -> float:
        value = self.item.get(key)
        if value is None:
            return default
        seconds = duration_seconds(value)
        if seconds is None or not low <= seconds <= high:
            raise self.fail(
                key,
                _("'{key}' is a duration such as 30s, 5m or 1h, from {low} s to {high} s.").format(
                    key=key, low=int(low), high=int(high)
                ),
            )
        return float(seconds)

    def choice(self, key: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.item.get(key, default)
        if value in choices:
            return str(value)
        raise self.fail(
            key, _("'{key}' is one of: {choices}.").format(key=key, choices=", ".join(choices))
        )

    def name(self, key: str) -> str | None:
        value = self.item.get(key)
        if value is None or isinstance(value, str):
            return value
        raise self.fail(key, _("'{key}' is a name, written as text.").format(key=key))

    def flag(self, key: str, default: bool) -> bool:
        value = self.item.get(key, default)
        if isinstance(value, bool):
            return value
        raise self.fail(key, _("'{key}' is true or false.").format(key=key))


def _seconds_of_day(moment: time) -> int:
    return moment.hour * 3600 + moment.minute * 60 + moment.second
