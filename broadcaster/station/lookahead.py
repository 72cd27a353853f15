"""What the schedules air next: the look-ahead that `loa next`, `loa status`, the cache warmer and
the doctor share, from the same rules as the daemon's planner."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from broadcaster.core.recurrence import occurrences
from broadcaster.core.settings import Station
from broadcaster.station.schedules import Entry, airs, announcements_of, load_schedules

NEXT_SHOWN = 5
NEXT_DAYS = 7
"""`loa status` shows the next NEXT_SHOWN broadcasts within NEXT_DAYS days."""


@dataclass(frozen=True)
class Upcoming:
    entry: Entry
    start: datetime


def upcoming(station: Station, now: datetime, hours: float) -> list[Upcoming]:
    """What the schedules air in the next `hours` after `now`, in order; drafts and disabled
    entries do not air."""
    end = now + timedelta(hours=hours)
    found = [
        Upcoming(entry, start)
        for entry in load_schedules(station)
        if airs(entry)
        for start in occurrences(entry.rule, now, end)
    ]
    return sorted(found, key=lambda item: (item.start, item.entry.id))


def announcements_due(station: Station, now: datetime, hours: float) -> list[str]:
    """The announcements aired in the next `hours`, first due first, each once; a relay's
    fallback too, ready for when its source is gone."""
    return announcements_of((item.entry for item in upcoming(station, now, hours)), station)
