"""One grammar for a time of day, wherever officers write one: schedules (`times:`), quiet hours
and sessions in station.yaml. `06:30`, `06:30:15`, `6h30` and `17h` all mean what they say."""

import re
from dataclasses import dataclass
from datetime import time

_TIME = re.compile(r"(\d{1,2})(?::(\d{2})(?::(\d{2}))?|h(\d{2})?)")


def parse_time(value: object) -> time | None:
    """06:30, 06:30:15, 6h30 or 17h as a time of day; None for anything else."""
    found = _TIME.fullmatch(str(value).strip().lower())
    if found:
        hour, minute = int(found[1]), int(found[2] or found[4] or 0)
        second = int(found[3] or 0)
        if hour < 24 and minute < 60 and second < 60:
            return time(hour, minute, second)
    return None


@dataclass(frozen=True)
class QuietHours:
    """A daily window in which only emergencies air (`21:00-06:00`, `21h-6h`), which may cross
    midnight; equal ends mean no quiet hours. Parsed once, when station.yaml is read."""

    start: time
    end: time
    written: str
    """As the officer wrote it, for messages."""

    @classmethod
    def parse(cls, spec: str) -> "QuietHours | None":
        """`START-END`, each end a time of day; None for anything else."""
        parts = spec.split("-")
        if len(parts) != 2:
            return None
        start, end = parse_time(parts[0]), parse_time(parts[1])
        if start is None or end is None:
            return None
        return cls(start, end, spec)

    @classmethod
    def never(cls) -> "QuietHours":
        return cls(time(0), time(0), "00:00-00:00")

    def contains(self, moment: time) -> bool:
        """Whether a wall-clock time falls in the window."""
        moment = moment.replace(tzinfo=None)
        if self.start < self.end:
            return self.start <= moment < self.end
        if self.start == self.end:
            return False
        return moment >= self.start or moment < self.end

    def __str__(self) -> str:
        return self.written
