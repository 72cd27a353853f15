"""The arrays behind `loa schedule check`: every occurrence of every entry over the next year,
so that clashes, quiet hours and session caps over 10,000 entries take a fraction of a second.
Imported only when checking, so that the CLI starts without numpy."""

from collections.abc import Iterable, Iterator, Sequence
from datetime import date, time, timedelta

import numpy as np

from broadcaster.core.models import Priority
from broadcaster.core.recurrence import Recurrence
from broadcaster.core.settings import Station
from broadcaster.core.timeofday import QuietHours
from broadcaster.i18n import _
from broadcaster.station.schedule_check import (
    DAY_S,
    LOOKAHEAD_DAYS,
    Finding,
    clock_text,
    day_text,
    time_of,
    warning,
)
from broadcaster.station.schedules import Entry, airs

SESSION_JOIN_S = 30 * 60
"""Programs less than 30 minutes apart make one session."""
CHUNK = 1 << 16
"""Occurrences made and examined at once (whole days, however many a day has): bounds the
memory the arrays take."""
_RANKS: dict[str, int] = {Priority.EMERGENCY: 0, Priority.PRIORITY: 1, Priority.NORMAL: 2}


class Calendar:
    """The days examined, as arrays, so that a rule's days are a few array operations."""

    def __init__(self, first: date, days: int) -> None:
        dates = [first + timedelta(days=n) for n in range(days)]
        self.first = first
        self.ordinal = np.arange(first.toordinal(), first.toordinal() + days)
        self.weekday = (self.ordinal - 1) % 7  # ordinal 1, 0001-01-01, was a Monday
        self.day = np.array([d.day for d in dates])
        self.nth = (self.day - 1) // 7 + 1
        self.last_week = np.array([(d + timedelta(days=7)).month != d.month for d in dates])
        self.dates = dates

    def date(self, seconds: float) -> date:
        return self.dates[int(seconds // DAY_S)]

    def masks(self, rules: Sequence[Recurrence]) -> list[np.ndarray]:
        """The days each rule airs; rules differing only in their times share one array."""
        known: dict[tuple[object, ...], np.ndarray] = {}
        masks = []
        for rule in rules:
            key = (
                rule.weekdays,
                rule.first,
                rule.last,
                rule.every_days,
                rule.month_day,
                rule.month_weekday,
                rule.on,
                rule.skipped,
            )
            if key not in known:
                known[key] = self.mask(rule)
            masks.append(known[key])
        return masks

    def mask(self, rule: Recurrence) -> np.ndarray:
        """The same days as rules.occurrences, computed for the whole window at once."""
        mask: np.ndarray = np.ones(len(self.ordinal), dtype=bool)
        if rule.on is not None:
            mask &= self.ordinal == rule.on.toordinal()
        else:
            if rule.first is not None:
                mask &= self.ordinal >= rule.first.toordinal()
            if rule.last is not None:
                mask &= self.ordinal <= rule.last.toordinal()
            if rule.weekdays is not None:
                mask &= np.array([d in rule.weekdays for d in range(7)])[self.weekday]
            if rule.every_days is not None and rule.first is not None:
                mask &= (self.ordinal - rule.first.toordinal()) % rule.every_days == 0
            elif rule.month_day is not None:
                mask &= self.day == rule.month_day
            elif rule.month_weekday is not None:
                weekday, nth = rule.month_weekday
                mask &= (self.weekday == weekday) & (self.last_week if nth < 0 else self.nth == nth)
        first = self.first.toordinal()
        offsets = [day.toordinal() - first for day in rule.skipped]
        mask[[n for n in offsets if 0 <= n < len(mask)]] = False
        return mask


class Plan:
    """Every occurrence of the enabled entries in the window, in order of start (then priority,
    then file order), made a few days at a time (`windows`) so that a year of 10,000 entries
    never sits in memory at once: `start` in seconds from the window's first midnight (wall
    clock), `who` the entry's index."""

    def __init__(
        self,
        entries: Sequence[Entry],
        masks: Sequence[np.ndarray],
        seconds: Sequence[float],
        calendar: Calendar,
    ) -> None:
        self.entries = entries
        self.seconds = np.array(seconds, dtype=float)
        self.calendar = calendar
        self.days_aired = np.array([mask.any() for mask in masks], dtype=bool)
        shared: dict[int, int] = {}  # entries differing only in their times share masks
        for mask in masks:
            shared.setdefault(id(mask), len(shared))
        unique = list({id(mask): mask for mask in masks}.values())
        self.days = np.stack(unique) if unique else np.zeros((0, len(calendar.ordinal)), dtype=bool)
        """Which days each distinct mask airs: distinct masks x days."""
        # One slot per entry and time of day, in the order occurrences of one day take.
        clocks = [_clock_seconds(entry.rule.times) for entry in entries]
        who = np.repeat(np.arange(len(entries), dtype=np.int32), [len(c) for c in clocks])
        clock = np.concatenate(clocks) if clocks else np.zeros(0, dtype=np.int32)
        ranks = np.array([_RANKS[entry.priority] for entry in entries], dtype=np.int32)
        order = np.lexsort((who, ranks[who], clock))
        self.slot_who, self.slot_clock = who[order], clock[order]
        self.slot_days = np.array([shared[id(masks[i])] for i in self.slot_who], dtype=np.intp)
        slots = np.bincount(self.slot_days, minlength=len(self.days))
        self.daily = np.zeros(len(calendar.ordinal), dtype=np.int64)
        """Occurrences on each day, summed a block of masks at a time (a product of all of
        them would make an integer copy of every mask)."""
        for low in range(0, len(self.days), 1024):
            self.daily += slots[low : low + 1024] @ self.days[low : low + 1024]

    def windows(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """`start` and `who` of every occurrence in order, whole days at a time, about CHUNK
        occurrences at most (a day has as many as it has)."""
        first = 0
        total_days = len(self.daily)
        while first < total_days:
            taken = np.cumsum(self.daily[first:])
            last = first + max(1, int(np.searchsorted(taken, CHUNK, side="right")))
            airing = self.days[self.slot_days, first:last]  # slots x days
            day, slot = np.nonzero(airing.T)  # day by day, each day in slot order
            del airing
            start = (day + first).astype(np.int32) * np.int32(DAY_S) + self.slot_clock[slot]
            yield start, self.slot_who[slot]
            first = last

    def clashes(self) -> list[Finding]:
        """An occurrence that starts before the longest one so far has ended clashes with it;
        each pair of entries is reported once, at its first clash, at the later entry."""
        chosen = np.array([entry.start_chosen for entry in self.entries], dtype=bool)
        count = len(self.entries)
        first_clashes: tuple[np.ndarray, ...] | None = None
        """Each pair of entries clashing (sorted), when the later one starts and the earlier
        one ends at its first clash, and how many times; merged window by window, as a pair
        clashes on many days."""
        carried_end, carried_holder = -np.inf, 0
        for start, who in self.windows():
            if not len(start):
                continue
            end = start + self.seconds[who]
            longest = np.maximum(np.maximum.accumulate(end), carried_end)
            # the holder is the latest occurrence whose end is the longest so far; -1 is the
            # one carried from the windows before
            position = np.arange(len(end), dtype=np.int64)
            holder = np.maximum.accumulate(np.where(end == longest, position, -1))
            holder_who = np.where(holder >= 0, who[holder], carried_holder).astype(np.int32)
            before_end = np.concatenate(([carried_end], longest[:-1]))
            before_holder = np.concatenate(([carried_holder], holder_who[:-1]))
            carried_end, carried_holder = float(longest[-1]), int(holder_who[-1])
            del end, longest, holder, holder_who, position
            at = np.flatnonzero(start < before_end)
            holding, starting = before_holder[at], who[at]
            keep = np.flatnonzero((holding != starting) & ~chosen[starting])
            if len(keep):
                found = _first_of_each(holding, starting, start[at], before_end[at], keep, count)
                first_clashes = found if first_clashes is None else _merged(first_clashes, found)
        if first_clashes is None:
            return []
        pairs, later_starts, earlier_ends, totals = first_clashes
        template = _(
            "'{id}' starts at {time} on {date} while '{other}' ({place}) is still on "
            "air until about {end} (clashes in the next {days} days: {count}). Add "
            "'start: interrupt' to '{id}' to cut in, or 'start: after-current' to "
            "play it after."
        )
        queued = _(
            "'{id}' starts at {time} on {date} while '{other}' ({place}) is still on "
            "air until about {end} (clashes in the next {days} days: {count}): '{id}' will "
            "wait and play right after it. To cut in instead, add 'start: interrupt' to "
            "'{id}'; to keep this order and silence this warning, add 'start: after-current'."
        )
        findings = []
        for one_at, other_at, start, end, clashes in zip(
            (pairs // count).tolist(),
            (pairs % count).tolist(),
            later_starts.tolist(),
            earlier_ends.tolist(),
            totals.tolist(),
            strict=True,
        ):
            one, other = self.entries[one_at], self.entries[other_at]
            # two normal entries: the player queues the later one after the earlier (its
            # default start), which is what an officer wants: a warning, not an error
            both_normal = one.priority == other.priority == Priority.NORMAL
            findings.append(
                Finding(
                    other.file,
                    other.line,
                    (queued if both_normal else template).format(
                        id=other.id,
                        time=clock_text(start),
                        date=day_text(self.calendar.date(start)),
                        other=one.id,
                        place=one.place,
                        end=clock_text(end),
                        days=LOOKAHEAD_DAYS,
                        count=clashes,
                    ),
                    warning=both_normal,
                )
            )
        return findings

    def quiet_hours(self, quiet: QuietHours | None) -> list[Finding]:
        """Normal and priority entries held back by the quiet hours, each time of day once."""
        findings: list[Finding] = []
        if quiet is None:
            return findings
        for index, entry in enumerate(self.entries):
            if entry.priority == Priority.EMERGENCY or not self.days_aired[index]:
                continue
            for moment in sorted(set(entry.rule.times)):
                start = moment.hour * 3600 + moment.minute * 60 + moment.second
                end = time_of((start + float(self.seconds[index])) % DAY_S)
                if quiet.contains(moment):
                    message = _(
                        "'{id}' at {time} falls in the quiet hours ({quiet}, station.yaml): only "
                        "emergencies air then, so it will be held back."
                    )
                elif quiet.contains(end) and entry.relay is not None:
                    message = _(
                        "'{id}' at {time} runs into the quiet hours ({quiet}, station.yaml): "
                        "the relay ends at {quiet_start}."
                    )
                elif quiet.contains(end):
                    message = _(
                        "'{id}' at {time} runs into the quiet hours ({quiet}, station.yaml) "
                        "until about {end}."
                    )
                else:
                    continue
                findings.append(
                    Finding(
                        entry.file,
                        entry.line,
                        message.format(
                            id=entry.id,
                            time=clock_text(start),
                            quiet=quiet,
                            end=f"{end:%H:%M}",
                            quiet_start=f"{quiet.start:%H:%M}",
                        ),
                        warning=True,
                    )
                )
        return findings

    def sessions(self, station: Station) -> list[Finding]:
        """Sessions of normal and priority programs that air, against the station's caps."""
        limits = station.sessions
        counted = np.array(
            [e.priority != Priority.EMERGENCY and airs(e) for e in self.entries], dtype=bool
        )
        first, last, opener = self._sessions(counted)
        if not len(first):
            return []
        day = first // DAY_S
        findings = []
        cap_s = limits.minutes * 60
        # a relay longer than the cap by itself has its own warning, with the fix
        told = np.array([e.relay is not None and e.duration_s > cap_s for e in self.entries])
        too_long = np.flatnonzero((last - first > cap_s) & ~told[opener])
        for index, count in self._grouped(opener, first, too_long):
            entry = self.entries[opener[index]]
            findings.append(
                warning(
                    entry,
                    _(
                        "the session that '{id}' opens at {time} lasts about {minutes} minutes "
                        "on {date}, more than the {limit} of sessions.minutes in station.yaml "
                        "(days like this in the next {days} days: {count})."
                    ).format(
                        id=entry.id,
                        time=clock_text(float(first[index])),
                        minutes=round(float(last[index] - first[index]) / 60),
                        date=day_text(self.calendar.date(float(first[index]))),
                        limit=limits.minutes,
                        days=LOOKAHEAD_DAYS,
                        count=count,
                    ),
                )
            )
        rank = np.arange(len(day)) - np.searchsorted(day, day)
        per_day = np.bincount(day)
        extra = np.flatnonzero(rank == limits.per_day)
        for index, count in self._grouped(opener, first, extra):
            entry = self.entries[opener[index]]
            findings.append(
                warning(
                    entry,
                    _(
                        "with '{id}' at {time}, {date} has {sessions} sessions, more than the "
                        "{limit} of sessions.per_day in station.yaml (days like this in the "
                        "next {days} days: {count})."
                    ).format(
                        id=entry.id,
                        time=clock_text(float(first[index])),
                        date=day_text(self.calendar.date(float(first[index]))),
                        sessions=int(per_day[day[index]]),
                        limit=limits.per_day,
                        days=LOOKAHEAD_DAYS,
                        count=count,
                    ),
                )
            )
        findings += self._days_per_week(day, opener, limits.days_per_week)
        return findings

    def _sessions(self, counted: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each session's first start, last end and opening entry, of the occurrences of the
        `counted` entries. A session ends where the next occurrence starts more than
        SESSION_JOIN_S after every one before it has ended; examined a window at a time."""
        firsts, lasts, openers = [], [], []
        reach = -np.inf
        for all_starts, all_who in self.windows():
            chosen = counted[all_who]
            start, who = all_starts[chosen], all_who[chosen]
            del all_starts, all_who, chosen
            if not len(start):
                continue
            running = np.maximum(np.maximum.accumulate(start + self.seconds[who]), reach)
            before = np.concatenate(([reach], running[:-1]))
            opens = np.flatnonzero(start > before + SESSION_JOIN_S)
            firsts.append(start[opens])
            lasts.append(before[opens])  # where each session opens, the one before it ended
            openers.append(who[opens])
            reach = float(running[-1])
        if not firsts:
            return np.zeros(0, np.int32), np.zeros(0), np.zeros(0, np.int32)
        ended = np.concatenate([*lasts, [reach]])[1:]
        return np.concatenate(firsts), ended, np.concatenate(openers)

    def _days_per_week(self, day: np.ndarray, opener: np.ndarray, limit: int) -> list[Finding]:
        """Weeks (Monday to Sunday) with more days on air than allowed: one warning, at the
        entry that opens the first day too many."""
        aired, first_session = np.unique(day, return_index=True)
        week = (aired + self.calendar.first.toordinal() - 1) // 7
        rank = np.arange(len(week)) - np.searchsorted(week, week)
        over = np.flatnonzero(rank == limit)
        if not len(over):
            return []
        entry = self.entries[opener[first_session[over[0]]]]
        first_day = self.calendar.first + timedelta(days=int(aired[over[0]]))
        monday = first_day - timedelta(days=first_day.weekday())
        return [
            warning(
                entry,
                _(
                    "the schedules air on {count} days in the week of {monday}, more than the "
                    "{limit} of sessions.days_per_week in station.yaml (weeks like this in the "
                    "next {days} days: {weeks})."
                ).format(
                    count=int(np.sum(week == week[over[0]])),
                    monday=day_text(monday),
                    limit=limit,
                    days=LOOKAHEAD_DAYS,
                    weeks=len(over),
                ),
            )
        ]

    def finished(self) -> list[Finding]:
        return [
            warning(
                entry,
                _(
                    "'{id}' airs on no day in the next {days} days: its dates are past, or "
                    "holidays and exceptions cover them."
                ).format(id=entry.id, days=LOOKAHEAD_DAYS),
            )
            for entry, aired in zip(self.entries, self.days_aired, strict=True)
            if not aired
        ]

    @staticmethod
    def _grouped(
        opener: np.ndarray, first: np.ndarray, chosen: np.ndarray
    ) -> list[tuple[int, int]]:
        """The chosen sessions grouped by opening entry and time of day: (first one, count)."""
        keys = opener[chosen] * DAY_S + first[chosen] % DAY_S
        _keys, at, counts = np.unique(keys, return_index=True, return_counts=True)
        return [(int(chosen[i]), int(n)) for i, n in zip(at, counts, strict=True)]


def _first_of_each(
    holding: np.ndarray,
    starting: np.ndarray,
    later_start: np.ndarray,
    earlier_end: np.ndarray,
    keep: np.ndarray,
    count: int,
) -> tuple[np.ndarray, ...]:
    """Of the clashes at `keep`, each pair of entries once: the pair, when its first clash
    starts and when the earlier program then ends, and how many; one sort of (pair, position)."""
    span = len(holding)
    keys = (holding[keep].astype(np.int64) * count + starting[keep]) * span + keep
    keys.sort()
    pair_of = keys // span
    group = np.flatnonzero(np.concatenate(([True], pair_of[1:] != pair_of[:-1])))
    index = keys[group] % span
    counts = np.diff(np.append(group, len(keys)))
    return pair_of[group], later_start[index], earlier_end[index], counts


def _merged(known: tuple[np.ndarray, ...], found: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """First clashes of the windows so far and of the next one: a pair's first clash is the
    known one, if any (windows are in time order), its count the sum."""
    pairs, later_starts, earlier_ends, counts = (
        np.concatenate(parts) for parts in zip(known, found, strict=True)
    )
    order = np.argsort(pairs, kind="stable")
    pairs, later_starts, earlier_ends, counts = (
        pairs[order],
        later_starts[order],
        earlier_ends[order],
        counts[order],
    )
    group = np.flatnonzero(np.concatenate(([True], pairs[1:] != pairs[:-1])))
    return pairs[group], later_starts[group], earlier_ends[group], np.add.reduceat(counts, group)


def _clock_seconds(times: Iterable[time]) -> np.ndarray:
    seconds = sorted({t.hour * 3600 + t.minute * 60 + t.second for t in times})
    return np.array(seconds, dtype=np.int32)
