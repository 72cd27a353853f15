"""The playout queue's decisions, as pure functions of `now`: order, pre-emption, lateness and
quiet hours. The daemon owns the threads and the sound; nothing here reads a clock.

Thông tư 39/2020 ranks bulletins normal < priority < emergency. Waiting items go by priority,
then by scheduled time. How an item treats what is on the air when it falls due is its
`start_policy`:

- `interrupt` stops the current item unless that one has a higher priority (emergencies always
  interrupt);
- `after-current` (the default) waits for the current item to end;
- `wait` also yields to every other waiting item, whatever their priority: for fillers.

An interrupted item is queued again from its start when the air is free, if that is still within
its late limit; otherwise it stays logged as interrupted.

A relay (a radio programme taken live) has a slot instead: it may start, or come back after an
interruption, at any moment before its slot ends, and then joins the programme where it is live —
a late relay is shorter, never shifted.
"""

import itertools
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from broadcaster.core.compose import DEFAULT_GAP_S
from broadcaster.core.models import Occurrence, Priority, Result, StartPolicy
from broadcaster.core.settings import DEFAULT_LATE_LIMIT_S
from broadcaster.core.timeofday import QuietHours

PRIORITY_RANK = {Priority.EMERGENCY: 0, Priority.PRIORITY: 1, Priority.NORMAL: 2}
"""Lower goes first."""
PLAY, MISSED, SKIPPED_QUIET = Result.PLAYING, Result.MISSED, Result.SKIPPED_QUIET
"""A verdict: the item goes on the air, or gets its row with one of the two results."""


RELAY_MARK = "relay:"
"""What a relay's occurrence names instead of an announcement (`relay:vov1`): no announcement id
has a colon, so views and reports tell the two apart."""


def relay_occurrence_name(source: str) -> str:
    return f"{RELAY_MARK}{source}"


def relayed_source(announcement: str) -> str | None:
    """The source an occurrence relays, or None for an announcement."""
    return announcement.removeprefix(RELAY_MARK) if announcement.startswith(RELAY_MARK) else None


@dataclass(frozen=True)
class Item:
    """An occurrence waiting for the air, with what the playout needs to decide about it."""

    occurrence: Occurrence
    late_limit_s: float = DEFAULT_LATE_LIMIT_S
    start_policy: StartPolicy = StartPolicy.AFTER_CURRENT
    repeat: int = 1
    gap_s: float = DEFAULT_GAP_S
    text: str | None = None
    """Ad-hoc text to read (`loa say`); None plays `occurrence.announcement`."""
    voice: str | None = None
    catch_up: bool = False
    """Missed while Loa was stopped and caught up: lateness does not apply."""
    retry: bool = False
    """Queued again after an interruption."""
    relay: str | None = None
    """The relay source this item takes live; None: a program of announcements."""
    ends: datetime | None = None
    """A relay's slot end: it goes off the air then, whatever the stream does."""
    fallback: str | None = None
    """The announcement a relay plays while its source is gone (else the station's)."""

    @property
    def priority(self) -> Priority:
        return Priority(self.occurrence.priority)

    @property
    def rank(self) -> int:
        return PRIORITY_RANK[self.priority]


@dataclass(frozen=True)
class Verdict:
    action: Result
    """PLAY, MISSED or SKIPPED_QUIET."""
    late_s: float = 0.0


def quiet_window(spec: QuietHours | str) -> tuple[time, time] | None:
    """ "21:00-06:00" as (start, end); equal ends mean no quiet hours."""
    hours = _quiet_hours(spec)
    return None if hours.start == hours.end else (hours.start, hours.end)


def in_quiet_hours(spec: QuietHours | str, moment: time) -> bool:
    """Whether a wall-clock time falls in the quiet hours `spec`, which may cross midnight."""
    return _quiet_hours(spec).contains(moment)


def _quiet_hours(spec: QuietHours | str) -> QuietHours:
    """Quiet hours as station.yaml gives them (read once), or as text (`21:00-06:00`)."""
    if isinstance(spec, QuietHours):
        return spec
    hours = QuietHours.parse(spec)
    if hours is None:
        raise ValueError(f"not quiet hours: {spec!r}")
    return hours


def verdict(item: Item, now: datetime, quiet_hours: QuietHours | str) -> Verdict:
    """Whether `item` may start at `now`: emergencies pass quiet hours; anything later than its
    late limit is missed, unless it is a catch-up after a stop."""
    late_s = max(0.0, (now - item.occurrence.scheduled).total_seconds())
    if item.priority != Priority.EMERGENCY and in_quiet_hours(quiet_hours, now.time()):
        return Verdict(SKIPPED_QUIET, late_s)
    if item.ends is not None:
        return Verdict(PLAY if now < item.ends else MISSED, late_s)
    if late_s > item.late_limit_s and not item.catch_up:
        return Verdict(MISSED, late_s)
    return Verdict(PLAY, late_s)


def relay_end(item: Item, now: datetime, quiet_hours: QuietHours | str) -> datetime:
    """Where a relay that plays at `now` ends: at its slot's end, or where the quiet hours begin
    if that comes first (a relay is an item like any other; an emergency's passes them)."""
    assert item.ends is not None
    window = quiet_window(quiet_hours)
    if window is None or item.priority == Priority.EMERGENCY:
        return item.ends
    quiet = now.replace(hour=window[0].hour, minute=window[0].minute, second=0, microsecond=0)
    if quiet <= now:
        quiet += timedelta(days=1)
    return min(item.ends, quiet)


def interrupts(item: Item, current: Item) -> bool:
    """Whether `item`, falling due, takes the air from `current`."""
    if current.priority == Priority.EMERGENCY:
        return False
    return item.priority == Priority.EMERGENCY or (
        item.start_policy == StartPolicy.INTERRUPT and item.rank <= current.rank
    )


def may_retry(item: Item, now: datetime) -> bool:
    """An interrupted item comes back while it is within its late limit; a relay while its slot
    lasts."""
    if item.ends is not None:
        return now < item.ends
    return now - item.occurrence.scheduled <= timedelta(seconds=item.late_limit_s)


@dataclass
class PlayoutQueue:
    """Items waiting for the air, best first; the same occurrence is never queued twice."""

    _items: list[tuple[tuple[int, int, float, int], Item]] = field(default_factory=list)
    _counter: "itertools.count[int]" = field(default_factory=itertools.count)

    def push(self, item: Item) -> bool:
        if any(queued.occurrence == item.occurrence for _, queued in self._items):
            return False
        order = (
            1 if item.start_policy == StartPolicy.WAIT else 0,
            item.rank,
            item.occurrence.scheduled.timestamp(),
            next(self._counter),
        )
        self._items.append((order, item))
        self._items.sort(key=lambda pair: pair[0])
        return True

    def pop(self) -> Item | None:
        return self._items.pop(0)[1] if self._items else None

    def peek(self) -> Item | None:
        return self._items[0][1] if self._items else None

    def items(self) -> list[Item]:
        return [item for _, item in self._items]

    def __len__(self) -> int:
        return len(self._items)
