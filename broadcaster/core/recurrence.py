"""When scheduled entries air: pure functions of a time window, no clock, no files.

Times in schedules are the station's wall-clock times; the window's time zone decides what
they mean. Dates follow the rule's kind: every day, chosen weekdays, every N days or weeks from
the first date, a day or an nth weekday of each month, or one date; a campaign window and
exceptions limit them all.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Recurrence:
    times: tuple[time, ...]
    weekdays: frozenset[int] | None = None
    """0 = Monday … 6 = Sunday; None is every day."""
    first: date | None = None
    last: date | None = None
    every_days: int | None = None
    """Every N days, counted from `first` (N weeks are 7N days)."""
    month_day: int | None = None
    month_weekday: tuple[int, int] | None = None
    """(weekday, n): the n-th such weekday of each month; n = -1 is the last one."""
    on: date | None = None
    """A single date."""
    skipped: frozenset[date] = field(default_factory=frozenset)


def occurrences(rule: Recurrence, start: datetime, end: datetime) -> Iterator[datetime]:
    """The times `rule` airs in [start, end), in order, in the time zone of `start`."""
    zone = start.tzinfo
    day, last = start.date(), end.date()
    moments = sorted(rule.times)
    while day <= last:
        if _airs_on(rule, day):
            for moment in moments:
                at = datetime.combine(day, moment, tzinfo=zone)
                if start <= at < end:
                    yield at
        day += ONE_DAY


def next_after(rule: Recurrence, after: datetime, horizon_days: int = 800) -> datetime | None:
    """The first time `rule` airs strictly after `after`, or None within the horizon (a finished
    campaign, a past one-off date)."""
    end = after + timedelta(days=horizon_days)
    return next((at for at in occurrences(rule, after, end) if at > after), None)


def _airs_on(rule: Recurrence, day: date) -> bool:
    if day in rule.skipped:
        return False
    if rule.on is not None:
        return day == rule.on
    if (rule.first and day < rule.first) or (rule.last and day > rule.last):
        return False
    if rule.weekdays is not None and day.weekday() not in rule.weekdays:
        return False
    if rule.every_days is not None:
        assert rule.first is not None  # the schedule reader requires it
        return (day - rule.first).days % rule.every_days == 0
    if rule.month_day is not None:
        return day.day == rule.month_day
    if rule.month_weekday is not None:
        weekday, nth = rule.month_weekday
        if day.weekday() != weekday:
            return False
        if nth > 0:
            return (day.day - 1) // 7 + 1 == nth
        return (day + timedelta(days=7)).month != day.month
    return True
