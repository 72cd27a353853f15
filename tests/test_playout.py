"""The playout's decisions as pure functions of `now`: quiet hours, lateness, pre-emption, order.

Every moment is a fixed, time-zone-aware datetime; nothing sleeps or reads a clock.
"""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from broadcaster.core.models import Occurrence, StartPolicy
from broadcaster.core.playout import (
    MISSED,
    PLAY,
    PRIORITY_RANK,
    SKIPPED_QUIET,
    Item,
    PlayoutQueue,
    Verdict,
    in_quiet_hours,
    interrupts,
    may_retry,
    quiet_window,
    relay_end,
    verdict,
)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NIGHT = "21:00-06:00"
NOON = "12:00-13:00"
NO_QUIET = "00:00-00:00"
PRIORITIES = ("normal", "priority", "emergency")
STARTS = ("interrupt", "after-current", "wait")


def at(hour: int, minute: int = 0, second: int = 0, microsecond: int = 0, day: int = 2) -> datetime:
    """A moment in March 2026, station time (UTC+7)."""
    return datetime(2026, 3, day, hour, minute, second, microsecond, tzinfo=TZ)


def item(
    entry_id: str = "bluezone-sang",
    scheduled: datetime | None = None,
    priority: str = "normal",
    *,
    start: str = "after-current",
    late_limit_s: float = 300.0,
    catch_up: bool = False,
    retry: bool = False,
) -> Item:
    occurrence = Occurrence(entry_id, scheduled or at(10), "bluezone", priority)
    return Item(
        occurrence,
        late_limit_s=late_limit_s,
        start_policy=StartPolicy(start),
        catch_up=catch_up,
        retry=retry,
    )


# --- quiet hours ------------------------------------------------------------------------------


def evening_relay(starts: datetime, ends: datetime, priority: str = "normal") -> Item:
    return Item(Occurrence("vov1-toi", starts, "relay vov1", priority), relay="vov1", ends=ends)


def test_a_relay_into_the_quiet_hours_ends_where_they_begin() -> None:
    assert relay_end(evening_relay(at(20, 30), at(21, 30)), at(20, 30), NIGHT) == at(21)
    assert relay_end(evening_relay(at(20, 30), at(21, 30)), at(20, 59, 59), NIGHT) == at(21)


def test_a_relay_that_ends_before_the_quiet_hours_keeps_its_end() -> None:
    assert relay_end(evening_relay(at(19), at(20, 30)), at(19), NIGHT) == at(20, 30)
    assert relay_end(evening_relay(at(11), at(12, 30)), at(11), NO_QUIET) == at(12, 30)


def test_the_quiet_hours_of_the_next_day_count_for_a_relay_past_midnight() -> None:
    evening = evening_relay(at(22), at(13, day=3))
    assert relay_end(evening, at(22), NOON) == at(12, day=3)


def test_an_emergency_relay_passes_the_quiet_hours() -> None:
    assert relay_end(evening_relay(at(20, 30), at(21, 30), "emergency"), at(20, 30), NIGHT) == at(
        21, 30
    )


def test_quiet_window_parses_both_ends() -> None:
    assert quiet_window(NIGHT) == (time(21, 0), time(6, 0))
    assert quiet_window(NOON) == (time(12, 0), time(13, 0))
    assert quiet_window(" 22:30 - 05:15 ") == (time(22, 30), time(5, 15))


@pytest.mark.parametrize("spec", [NO_QUIET, "06:00-06:00", "21:00-21:00"])
def test_equal_ends_mean_no_quiet_hours(spec: str) -> None:
    assert quiet_window(spec) is None
    for hour in range(24):
        assert not in_quiet_hours(spec, at(hour).time())
        assert not in_quiet_hours(spec, at(hour, 59, 59).time())


@pytest.mark.parametrize(
    ("moment", "quiet"),
    [
        (at(20, 59, 59, 999999), False),
        (at(21, 0), True),  # the start is inclusive
        (at(23, 59, 59), True),
        (at(0, 0), True),  # across midnight
        (at(3, 0), True),
        (at(5, 59, 59, 999999), True),
        (at(6, 0), False),  # the end is exclusive
        (at(6, 0, 0, 1), False),
        (at(12, 0), False),
    ],
)
def test_a_night_window_crosses_midnight(moment: datetime, quiet: bool) -> None:
    assert in_quiet_hours(NIGHT, moment.time()) is quiet


@pytest.mark.parametrize(
    ("moment", "quiet"),
    [
        (at(0, 0), False),
        (at(11, 59, 59, 999999), False),
        (at(12, 0), True),  # the start is inclusive
        (at(12, 30), True),
        (at(12, 59, 59, 999999), True),
        (at(13, 0), False),  # the end is exclusive
        (at(22, 0), False),
    ],
)
def test_a_same_day_window(moment: datetime, quiet: bool) -> None:
    assert in_quiet_hours(NOON, moment.time()) is quiet


# --- verdict ----------------------------------------------------------------------------------


def test_an_item_on_time_outside_quiet_hours_plays() -> None:
    assert verdict(item(scheduled=at(10)), at(10), NIGHT) == Verdict(PLAY, 0.0)


def test_an_item_asked_before_its_time_is_not_late() -> None:
    assert verdict(item(scheduled=at(10)), at(9, 59), NIGHT) == Verdict(PLAY, 0.0)


@pytest.mark.parametrize("priority", ["normal", "priority"])
def test_quiet_hours_hold_back_normal_and_priority_items(priority: str) -> None:
    scheduled = at(22)
    decided = verdict(item(scheduled=scheduled, priority=priority), at(22, 0, 10), NIGHT)
    assert decided == Verdict(SKIPPED_QUIET, 10.0)


@pytest.mark.parametrize("priority", ["normal", "priority"])
def test_quiet_hours_apply_at_the_moment_of_start_not_the_schedule(priority: str) -> None:
    """Scheduled at 20:58 but reaching the air at 21:00: held back; at 05:59 → 06:00: plays."""
    late = item(scheduled=at(20, 58), priority=priority)
    assert verdict(late, at(21, 0), NIGHT).action == SKIPPED_QUIET
    dawn = item(scheduled=at(5, 59), priority=priority)
    assert verdict(dawn, at(6, 0), NIGHT).action == PLAY


def test_an_emergency_passes_quiet_hours() -> None:
    decided = verdict(item(scheduled=at(23), priority="emergency"), at(23, 1), NIGHT)
    assert decided == Verdict(PLAY, 60.0)


def test_no_quiet_hours_never_hold_anything_back() -> None:
    assert verdict(item(scheduled=at(23)), at(23), NO_QUIET) == Verdict(PLAY, 0.0)


@pytest.mark.parametrize("priority", PRIORITIES)
def test_an_item_later_than_its_limit_is_missed_with_its_lateness(priority: str) -> None:
    late = item(scheduled=at(10), priority=priority, late_limit_s=300)
    assert verdict(late, at(10, 5, 0, 1), NIGHT) == Verdict(MISSED, 300.000001)
    assert verdict(late, at(11), NIGHT) == Verdict(MISSED, 3600.0)


def test_an_item_exactly_at_its_late_limit_still_plays() -> None:
    late = item(scheduled=at(10), late_limit_s=300)
    assert verdict(late, at(10, 5), NIGHT) == Verdict(PLAY, 300.0)


def test_a_zero_late_limit_allows_only_the_exact_second() -> None:
    strict = item(scheduled=at(10), late_limit_s=0)
    assert verdict(strict, at(10), NIGHT).action == PLAY
    assert verdict(strict, at(10, 0, 0, 1), NIGHT).action == MISSED


def test_a_catch_up_ignores_lateness() -> None:
    caught_up = item(scheduled=at(8), late_limit_s=60, catch_up=True)
    assert verdict(caught_up, at(11), NIGHT) == Verdict(PLAY, 3 * 3600.0)


def test_a_catch_up_still_respects_quiet_hours() -> None:
    caught_up = item(scheduled=at(18), late_limit_s=60, catch_up=True)
    assert verdict(caught_up, at(22), NIGHT).action == SKIPPED_QUIET


def test_lateness_is_measured_between_instants_across_time_zones() -> None:
    """10:00 station time is 03:00 UTC: a `now` given in UTC is compared as an instant."""
    late = item(scheduled=at(10), late_limit_s=120)
    now_utc = datetime(2026, 3, 2, 3, 1, 30, tzinfo=UTC)
    assert verdict(late, now_utc, NO_QUIET) == Verdict(PLAY, 90.0)


# --- pre-emption ------------------------------------------------------------------------------


@pytest.mark.parametrize("start", STARTS)
@pytest.mark.parametrize("current_priority", ["normal", "priority"])
def test_an_emergency_interrupts_normal_and_priority_items(
    start: str, current_priority: str
) -> None:
    current = item("current", priority=current_priority, start="interrupt")
    assert interrupts(item("alarm", priority="emergency", start=start), current)


@pytest.mark.parametrize("start", STARTS)
@pytest.mark.parametrize("priority", PRIORITIES)
def test_nothing_interrupts_an_emergency(start: str, priority: str) -> None:
    current = item("current", priority="emergency")
    assert not interrupts(item("next", priority=priority, start=start), current)


@pytest.mark.parametrize(
    ("priority", "current_priority", "expected"),
    [
        ("normal", "normal", True),  # equal
        ("priority", "priority", True),  # equal
        ("priority", "normal", True),  # higher over lower
        ("normal", "priority", False),  # lower never over higher
    ],
)
def test_start_interrupt_takes_the_air_from_equal_or_lower_priority(
    priority: str, current_priority: str, expected: bool
) -> None:
    current = item("current", priority=current_priority)
    assert interrupts(item("next", priority=priority, start="interrupt"), current) is expected


@pytest.mark.parametrize("start", ["after-current", "wait"])
@pytest.mark.parametrize("priority", ["normal", "priority"])
@pytest.mark.parametrize("current_priority", ["normal", "priority"])
def test_after_current_and_wait_never_interrupt(
    start: str, priority: str, current_priority: str
) -> None:
    current = item("current", priority=current_priority)
    assert not interrupts(item("next", priority=priority, start=start), current)


# --- retry after an interruption --------------------------------------------------------------


def test_an_interrupted_item_may_retry_within_its_late_limit() -> None:
    interrupted = item(scheduled=at(10), late_limit_s=300, retry=True)
    assert may_retry(interrupted, at(9, 59))
    assert may_retry(interrupted, at(10))
    assert may_retry(interrupted, at(10, 4, 59))
    assert may_retry(interrupted, at(10, 5))  # exactly at the limit
    assert not may_retry(interrupted, at(10, 5, 0, 1))
    assert not may_retry(interrupted, at(12))


def test_may_retry_compares_instants_across_time_zones() -> None:
    interrupted = item(scheduled=at(10), late_limit_s=60)
    assert may_retry(interrupted, datetime(2026, 3, 2, 3, 1, tzinfo=UTC))
    assert not may_retry(interrupted, datetime(2026, 3, 2, 3, 1, 1, tzinfo=UTC))


# --- relays ---------------------------------------------------------------------------------


def relay(scheduled: datetime, ends: datetime, retry: bool = False) -> Item:
    occurrence = Occurrence("vov1-sang", scheduled, "", "normal")
    return Item(occurrence, late_limit_s=0.0, relay="vov1", ends=ends, retry=retry)


def test_a_relay_joins_late_while_its_slot_lasts_whatever_its_late_limit() -> None:
    slot = relay(at(6), ends=at(6, 30))
    assert verdict(slot, at(6), NO_QUIET) == Verdict(PLAY, 0.0)
    assert verdict(slot, at(6, 20), NO_QUIET) == Verdict(PLAY, 1200.0)
    assert verdict(slot, at(6, 29, 59), NO_QUIET).action == PLAY
    assert verdict(slot, at(6, 30), NO_QUIET) == Verdict(MISSED, 1800.0)


def test_quiet_hours_hold_back_a_relay_too() -> None:
    assert verdict(relay(at(21, 30), ends=at(22)), at(21, 30), NIGHT).action == SKIPPED_QUIET


def test_an_interrupted_relay_comes_back_until_its_slot_ends() -> None:
    interrupted = relay(at(6), ends=at(6, 30), retry=True)
    assert may_retry(interrupted, at(6, 10))
    assert may_retry(interrupted, at(6, 29, 59))
    assert not may_retry(interrupted, at(6, 30))


def test_a_relay_is_interrupted_like_any_item_of_its_priority() -> None:
    slot = relay(at(6), ends=at(6, 30))
    assert interrupts(item(priority="emergency", start="after-current"), slot)
    assert interrupts(item(start="interrupt"), slot)
    assert not interrupts(item(start="after-current"), slot)
    assert not interrupts(item(start="wait", priority="priority"), slot)


# --- the queue --------------------------------------------------------------------------------


def ids(queue: PlayoutQueue) -> list[str]:
    return [queued.occurrence.entry_id for queued in queue.items()]


def drain(queue: PlayoutQueue) -> list[str]:
    """Pop until empty; each pop must remove one item."""
    popped: list[str] = []
    for left in range(len(queue), 0, -1):
        next_item = queue.pop()
        assert next_item is not None
        popped.append(next_item.occurrence.entry_id)
        assert len(queue) == left - 1
    assert queue.pop() is None
    return popped


def test_priority_ranks_emergency_first() -> None:
    assert PRIORITY_RANK["emergency"] < PRIORITY_RANK["priority"] < PRIORITY_RANK["normal"]
    assert [item(priority=p).rank for p in PRIORITIES] == [2, 1, 0]
    assert item(priority="priority").priority == "priority"


def test_an_empty_queue() -> None:
    queue = PlayoutQueue()
    assert len(queue) == 0
    assert queue.pop() is None
    assert queue.peek() is None
    assert queue.items() == []


def test_higher_priority_goes_first_whatever_its_time() -> None:
    queue = PlayoutQueue()
    assert queue.push(item("normal", at(6), "normal"))
    assert queue.push(item("priority", at(7), "priority"))
    assert queue.push(item("emergency", at(8), "emergency"))
    assert len(queue) == 3
    assert drain(queue) == ["emergency", "priority", "normal"]
    assert len(queue) == 0


def test_equal_priority_goes_by_scheduled_time_not_arrival() -> None:
    queue = PlayoutQueue()
    for entry_id, hour in [("c", 9), ("a", 7), ("b", 8)]:
        queue.push(item(entry_id, at(hour)))
    assert drain(queue) == ["a", "b", "c"]


def test_scheduled_time_is_compared_as_an_instant_across_time_zones() -> None:
    """06:30 UTC is 13:30 station time: later than 13:00 station time despite its wall clock."""
    queue = PlayoutQueue()
    queue.push(item("utc", datetime(2026, 3, 2, 6, 30, tzinfo=UTC)))
    queue.push(item("local", at(13)))
    assert drain(queue) == ["local", "utc"]


def test_wait_items_come_after_everything_else() -> None:
    queue = PlayoutQueue()
    queue.push(item("filler-emergency", at(5), "emergency", start="wait"))
    queue.push(item("filler-normal", at(4), "normal", start="wait"))
    queue.push(item("late-normal", at(23), "normal"))
    queue.push(item("interrupting", at(22), "normal", start="interrupt"))
    queue.push(item("priority", at(21), "priority"))
    assert drain(queue) == [
        "priority",
        "interrupting",
        "late-normal",
        "filler-emergency",  # among waiting items, priority still ranks first
        "filler-normal",
    ]


def test_ties_keep_arrival_order() -> None:
    queue = PlayoutQueue()
    for entry_id in ["zeta", "alpha", "mu"]:
        queue.push(item(entry_id, at(10)))
    assert drain(queue) == ["zeta", "alpha", "mu"]


def test_the_same_occurrence_is_never_queued_twice() -> None:
    queue = PlayoutQueue()
    first = item("bluezone-sang", at(6, 30))
    assert queue.push(first)
    assert not queue.push(first)
    # the same occurrence with other playout details is still the same occurrence
    assert not queue.push(item("bluezone-sang", at(6, 30), start="interrupt", retry=True))
    assert len(queue) == 1
    assert queue.items() == [first]
    # another time or another entry is another occurrence
    assert queue.push(item("bluezone-sang", at(17)))
    assert queue.push(item("bluezone-chieu", at(6, 30)))
    assert len(queue) == 3


def test_a_popped_occurrence_may_be_queued_again() -> None:
    """An interrupted item comes back to the queue after it left it."""
    queue = PlayoutQueue()
    first = item("bluezone-sang", at(6, 30))
    queue.push(first)
    assert queue.pop() == first
    again = item("bluezone-sang", at(6, 30), retry=True)
    assert queue.push(again)
    assert queue.pop() == again


def test_peek_shows_the_best_without_removing_it() -> None:
    queue = PlayoutQueue()
    queue.push(item("later", at(11)))
    queue.push(item("sooner", at(10)))
    best = queue.peek()
    assert best is not None
    assert best.occurrence.entry_id == "sooner"
    assert len(queue) == 2
    assert queue.pop() == best
    assert ids(queue) == ["later"]


def test_items_lists_the_order_and_is_a_copy() -> None:
    queue = PlayoutQueue()
    queue.push(item("normal", at(6)))
    queue.push(item("emergency", at(8), "emergency"))
    listed = queue.items()
    assert [queued.occurrence.entry_id for queued in listed] == ["emergency", "normal"]
    listed.clear()
    assert len(queue) == 2


def test_an_emergency_pushed_later_jumps_the_queue() -> None:
    queue = PlayoutQueue()
    for minute in range(5):
        queue.push(item(f"normal-{minute}", at(10, minute)))
    popped = queue.pop()
    assert popped is not None
    assert popped.occurrence.entry_id == "normal-0"
    queue.push(item("emergency", at(10, 30), "emergency"))
    assert ids(queue) == ["emergency", "normal-1", "normal-2", "normal-3", "normal-4"]


def test_separate_queues_share_nothing() -> None:
    """One queue per output: a queue's contents and arrival counter are its own."""
    first, second = PlayoutQueue(), PlayoutQueue()
    first.push(item("a", at(10)))
    assert len(second) == 0
    assert second.push(item("a", at(10)))
    assert second.pop() is not None
    assert len(first) == 1


def test_every_queued_item_carries_its_details() -> None:
    queue = PlayoutQueue()
    pushed = item("say-1", at(10), "priority", start="interrupt", late_limit_s=30, catch_up=True)
    queue.push(pushed)
    popped = queue.pop()
    assert popped is pushed
    assert (popped.start_policy, popped.late_limit_s, popped.catch_up) == ("interrupt", 30, True)
    assert popped.occurrence.scheduled - at(10) == timedelta(0)
