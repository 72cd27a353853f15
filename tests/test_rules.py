"""Recurrence rules as pure functions of a window, with fixed tz-aware datetimes."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from broadcaster.core.recurrence import Recurrence, next_after, occurrences

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
MONDAY = datetime(2026, 11, 30, tzinfo=HANOI)
MORNING, EVENING = time(6, 30), time(17, 0)


def week(rule: Recurrence, start: datetime = MONDAY, days: int = 7) -> list[datetime]:
    return list(occurrences(rule, start, start + timedelta(days=days)))


def test_every_day_at_each_time_in_order() -> None:
    aired = week(Recurrence((EVENING, MORNING)), days=2)
    assert aired == [
        datetime(2026, 11, 30, 6, 30, tzinfo=HANOI),
        datetime(2026, 11, 30, 17, tzinfo=HANOI),
        datetime(2026, 12, 1, 6, 30, tzinfo=HANOI),
        datetime(2026, 12, 1, 17, tzinfo=HANOI),
    ]
    assert all(moment.utcoffset() == timedelta(hours=7) for moment in aired)


def test_the_window_is_half_open() -> None:
    start = datetime(2026, 11, 30, 6, 30, tzinfo=HANOI)
    assert week(Recurrence((MORNING,)), start, days=1) == [start]
    assert list(occurrences(Recurrence((MORNING,)), start - timedelta(hours=1), start)) == []


def test_weekdays_only() -> None:
    aired = week(Recurrence((MORNING,), weekdays=frozenset(range(5))))
    assert [moment.weekday() for moment in aired] == [0, 1, 2, 3, 4]


def test_campaign_window_and_exceptions() -> None:
    rule = Recurrence(
        (MORNING,),
        first=date(2026, 12, 1),
        last=date(2026, 12, 4),
        skipped=frozenset({date(2026, 12, 2)}),
    )
    assert [moment.day for moment in week(rule)] == [1, 3, 4]


def test_every_two_weeks_from_the_first_date() -> None:
    rule = Recurrence((MORNING,), first=date(2026, 11, 2), every_days=14)
    aired = list(occurrences(rule, MONDAY, MONDAY + timedelta(days=35)))
    assert [moment.date() for moment in aired] == [
        date(2026, 11, 30),
        date(2026, 12, 14),
        date(2026, 12, 28),
    ]


def test_monthly_by_day_and_by_nth_weekday() -> None:
    start = datetime(2026, 1, 1, tzinfo=HANOI)
    by_day = occurrences(Recurrence((MORNING,), month_day=15), start, start + timedelta(days=90))
    assert [moment.date() for moment in by_day] == [
        date(2026, 1, 15),
        date(2026, 2, 15),
        date(2026, 3, 15),
    ]
    last_monday = Recurrence((MORNING,), month_weekday=(0, -1))
    aired = occurrences(last_monday, start, start + timedelta(days=59))
    assert [moment.date() for moment in aired] == [date(2026, 1, 26), date(2026, 2, 23)]
    first_sunday = Recurrence((MORNING,), month_weekday=(6, 1))
    aired = occurrences(first_sunday, start, start + timedelta(days=59))
    assert [moment.date() for moment in aired] == [date(2026, 1, 4), date(2026, 2, 1)]


def test_a_one_off_date() -> None:
    rule = Recurrence((EVENING,), on=date(2026, 12, 1))
    assert week(rule) == [datetime(2026, 12, 1, 17, tzinfo=HANOI)]


def test_next_after_is_strictly_later_and_ends_with_the_campaign() -> None:
    rule = Recurrence((MORNING,), last=date(2026, 12, 1))
    at_morning = datetime(2026, 11, 30, 6, 30, tzinfo=HANOI)
    assert next_after(rule, at_morning) == datetime(2026, 12, 1, 6, 30, tzinfo=HANOI)
    assert next_after(rule, at_morning - timedelta(seconds=1)) == at_morning
    assert next_after(rule, datetime(2026, 12, 1, 7, tzinfo=HANOI)) is None
