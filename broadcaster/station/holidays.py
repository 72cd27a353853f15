"""The holidays file (`holidays.yaml` in the station directory): days on which nothing airs but
emergencies, each problem located as `file:line`."""

from datetime import date, datetime, timedelta

from broadcaster.core.settings import Station
from broadcaster.errors import ScheduleError
from broadcaster.i18n import _
from broadcaster.station.yamlfile import YamlList, YamlMap, item_line, load_yaml

HOLIDAYS_FILE = "holidays.yaml"
MAX_HOLIDAY_DAYS = 31
"""Tết is the longest break; a longer period is almost surely a mistyped year."""


def load_holidays(station: Station) -> dict[date, str]:
    """The station's holidays (day -> name); a bad file raises its first problem."""
    problems: list[str] = []
    holidays = read_holidays(station, problems)
    if problems:
        raise ScheduleError(problems[0])
    return holidays


def read_holidays(station: Station, problems: list[str]) -> dict[date, str]:
    """Days (`- 2027-02-06  # Tết`), named days (`- {date: …, name: …}`) or periods
    (`- {from: …, until: …, name: …}`); a missing file means no holidays. Problems are added to
    `problems`."""
    path = station.directory / HOLIDAYS_FILE
    if not path.exists():
        return {}
    try:
        data = load_yaml(path, ScheduleError, inside=station.directory)
    except ScheduleError as error:
        problems.append(error.message)
        return {}
    if data is None:
        return {}
    if not isinstance(data, YamlList):
        problems.append(
            f"{path}:1: " + _("the holidays file is a list of dates, one per line: - 2027-02-06")
        )
        return {}
    found: dict[date, str] = {}
    for index, item in enumerate(data):
        days, name = _holiday(item, data.comments.get(index, ""))
        if not days:
            problems.append(
                f"{path}:{item_line(data, index)}: "
                + _(
                    "a holiday is a date such as 2027-02-06, {{date: 2027-02-06, name: Tết}} or a "
                    "period of at most {most} days such as {{from: 2027-02-05, until: "
                    "2027-02-10, name: Tết}}."
                ).format(most=MAX_HOLIDAY_DAYS)
            )
        found.update((day, name) for day in days)
    return found


def _holiday(item: object, comment: str) -> tuple[list[date], str]:
    if not isinstance(item, YamlMap):
        day = as_date(item)
        return ([day] if day else []), comment
    name = item.get("name") or comment
    if set(item) - {"name"} == {"date"} and (day := as_date(item["date"])):
        return [day], str(name)
    if set(item) - {"name"} == {"from", "until"}:
        first, last = as_date(item["from"]), as_date(item["until"])
        if first and last and 0 <= (last - first).days < MAX_HOLIDAY_DAYS:
            return [first + timedelta(days=n) for n in range((last - first).days + 1)], str(name)
    return [], ""


def as_date(value: object) -> date | None:
    """A YAML date, or the same written in quotes: 2026-12-01; or as Loa prints dates and
    officers write them, day first: 01/12/2026, 1/12/2026."""
    if isinstance(value, datetime):
        return None  # a moment, not a day
    if isinstance(value, date):
        return value
    text = str(value).strip()
    try:
        if "/" in text:
            day, month, year = text.split("/")
            return date(int(year), int(month), int(day)) if len(year) == 4 else None
        return date.fromisoformat(text)
    except ValueError:
        return None
