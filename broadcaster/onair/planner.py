"""Which occurrences fall due: a plan of the next hours looked up by each sweep, and the time
Loa was not running accounted for at start-up."""

import bisect
import threading
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from itertools import islice

from broadcaster.core.models import Occurrence, Priority, Result, StartPolicy
from broadcaster.core.playout import Item
from broadcaster.core.recurrence import occurrences
from broadcaster.core.settings import Station
from broadcaster.i18n import _
from broadcaster.onair.adhoc import RELAY, RELAY_NOW_STATE, relay_now_again
from broadcaster.onair.asrun import AsRunLog
from broadcaster.onair.events import EventBus
from broadcaster.station.schedules import Entry, airs, announcements_of, occurrence_name

PREROLL_S = 10.0
"""An occurrence is taken this long before its time, so that speech and the first sound buffer
are ready and the first sample goes out on the second."""
PLAN_HOURS = 6.0
"""Occurrences are planned this far ahead, so each sweep is a lookup, even with 10,000 entries."""
LOOKBACK = timedelta(days=7)
"""After a stop, occurrences this far back are accounted for (missed, or caught up)."""


def scheduled_item(entry: Entry, at: datetime) -> Item:
    if entry.relay is not None:
        return Item(
            Occurrence(entry.id, at, occurrence_name(entry), Priority(entry.priority)),
            start_policy=StartPolicy(entry.start),
            relay=entry.relay,
            ends=at + timedelta(seconds=entry.duration_s),
            fallback=entry.fallback,
        )
    return Item(
        Occurrence(entry.id, at, entry.announcement, Priority(entry.priority)),
        late_limit_s=entry.late_limit_s,
        start_policy=StartPolicy(entry.start),
        repeat=entry.repeat,
        gap_s=entry.gap_s,
    )


class Planner:
    """The entries on the air and their plan; safe to call from the heartbeat, the watcher and
    the control threads."""

    def __init__(self, asrun: AsRunLog, events: EventBus) -> None:
        self.asrun = asrun
        self.events = events
        self._lock = threading.Lock()
        self._entries: list[Entry] = []
        self._airing: list[Entry] = []
        self._plan: list[tuple[datetime, int]] = []
        self._plan_from: datetime | None = None
        self._plan_until: datetime | None = None
        self._swept_until: datetime | None = None
        self._rewind = False
        """New entries arrived: the next sweep looks again from now, not from the horizon."""
        self._seen: dict[tuple[str, str], datetime] = {}
        """Occurrences queued in this run, so a sweep does not ask the log about each again."""

    @property
    def entries(self) -> list[Entry]:
        return self._entries

    @property
    def planned(self) -> int:
        """Occurrences in the current plan."""
        return len(self._plan)

    def airing(self) -> list[Entry]:
        return self._airing

    def set_entries(self, entries: Iterable[Entry]) -> None:
        """New entries from a reading of the files: planned again at the next sweep."""
        with self._lock:
            self._entries = list(entries)
            self._airing = [entry for entry in self._entries if airs(entry)]
            self._plan_until = None
            self._rewind = True

    def start_sweeping(self, now: datetime) -> None:
        with self._lock:
            self._swept_until = now

    def due(self, now: datetime) -> list[Item]:
        """Every occurrence that fell due (pre-roll included) since the last sweep, each once.
        After the clock went back, occurrences come due again: the as-run log stops them."""
        horizon = now + timedelta(seconds=PREROLL_S)
        with self._lock:
            since = self._swept_until or now
            if horizon < since or self._rewind:
                # the clock went back, or new entries may fall in the pre-roll already swept
                since = min(since, now)
            self._rewind = False
            found = [
                item
                for at, entry in self._lookup(since, horizon)
                if self._first_time(item := scheduled_item(entry, at))
            ]
            self._swept_until = horizon
        return found

    def forget_before(self, moment: datetime) -> None:
        """The as-run log remembers older occurrences."""
        with self._lock:
            self._seen = {key: at for key, at in self._seen.items() if at >= moment}

    def account_for_downtime(self, saved: datetime, now: datetime) -> list[Item]:
        """Occurrences that fell between `saved` (the last heartbeat) and `now`: logged as
        missed with that reason, except the last one of each `catch_up: true` entry, returned to
        be queued now."""
        since = max(saved, now - LOOKBACK)
        if since >= now:
            return []
        reason = _("Loa was not running (from {since} to {now}).").format(
            since=f"{since:%d/%m/%Y %H:%M}", now=f"{now:%d/%m/%Y %H:%M}"
        )
        caught_up, missed_all = [], []
        for entry in self.airing():
            # an occurrence may have waited in the queue for up to its late limit
            waited = since - timedelta(seconds=entry.late_limit_s)
            missed = list(occurrences(entry.rule, max(waited, now - LOOKBACK), now))
            if entry.catch_up and missed:
                *missed, last = missed
                item = replace(scheduled_item(entry, last), catch_up=True)
                with self._lock:
                    if self._first_time(item):
                        caught_up.append(item)
            missed_all += [scheduled_item(entry, at).occurrence for at in missed]
        for occurrence in self.asrun.decide_all(missed_all, Result.MISSED, reason):
            self._missed(occurrence, reason)
        return caught_up

    def relays_cut_off(self, cut: list[tuple[str, str]], now: datetime) -> list[Item]:
        """Relays that were on the air when Loa died and whose slot is still on: they come back
        at the live point (their row, closed as interrupted, opens again)."""
        relays = {entry.id: entry for entry in self.airing() if entry.relay is not None}
        found = []
        for entry_id, scheduled in cut:
            entry = relays.get(entry_id)
            if entry_id == RELAY:  # `loa relay now`: its end was saved as it began
                again = relay_now_again(self.asrun.get_state(RELAY_NOW_STATE), scheduled, now)
                found += [again] if again is not None else []
                continue
            if entry is None:
                continue
            item = replace(scheduled_item(entry, datetime.fromisoformat(scheduled)), retry=True)
            if item.ends is not None and item.ends > now:
                with self._lock:
                    self._seen[(entry_id, scheduled)] = item.occurrence.scheduled
                found.append(item)
        return found

    def _missed(self, occurrence: Occurrence, reason: str) -> None:
        self.events.emit(
            lambda listener: listener.occurrence_finished(occurrence, Result.MISSED, reason)
        )

    def upcoming(self, now: datetime, count: int, days: float) -> list[tuple[datetime, Entry]]:
        """The next `count` occurrences of all entries within `days`."""
        soon = now + timedelta(days=days)
        return sorted(
            (
                (at, entry)
                for entry in self.airing()
                for at in islice(occurrences(entry.rule, now, soon), count)
            ),
            key=lambda pair: (pair[0], pair[1].id),
        )[:count]

    def announcements_within(self, now: datetime, hours: float, station: Station) -> list[str]:
        """The announcements that may air in the next `hours` (a relay's fallback too), each
        once."""
        until = now + timedelta(hours=hours)
        soon = [entry for entry in self.airing() if next(occurrences(entry.rule, now, until), None)]
        return announcements_of(soon, station)

    def _first_time(self, item: Item) -> bool:
        key = (item.occurrence.entry_id, item.occurrence.scheduled.isoformat())
        if key in self._seen or self.asrun.has(item.occurrence):
            return False
        self._seen[key] = item.occurrence.scheduled
        return True

    def _lookup(self, since: datetime, now: datetime) -> list[tuple[datetime, Entry]]:
        """Occurrences in (since, now], looked up in the plan."""
        if (
            self._plan_until is None
            or self._plan_from is None
            or since < self._plan_from
            or now >= self._plan_until
        ):
            self._replan(since, max(now, since + timedelta(hours=PLAN_HOURS)))
        low = bisect.bisect_right(self._plan, since, key=lambda planned: planned[0])
        high = bisect.bisect_right(self._plan, now, key=lambda planned: planned[0])
        return [(at, self._entries[index]) for at, index in self._plan[low:high]]

    def _replan(self, since: datetime, until: datetime) -> None:
        """Plan (since, until] and a little beyond: a long clock jump plans its whole span."""
        self._plan_from = since
        self._plan_until = until + timedelta(seconds=1)
        self._plan = sorted(
            (
                (at, index)
                for index, entry in enumerate(self._entries)
                if airs(entry)
                for at in occurrences(entry.rule, since, self._plan_until)
            ),
            key=lambda planned: (planned[0], self._entries[planned[1]].id),
        )
