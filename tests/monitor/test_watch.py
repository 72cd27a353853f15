"""The alarm watch fed frame by frame, as the monitor feeds it: each alarm at the very frame it
must start or end, and none from what a station hears every day."""

from datetime import UTC

import numpy as np
import pytest

from broadcaster.core.models import Alarm, AlarmKind
from broadcaster.monitor.verdict import MAX_LAG
from broadcaster.monitor.watch import Watch, time_of
from tests.monitor.levels import delayed, speech

pytestmark = pytest.mark.usefixtures("english")

NOTHING = np.nan
SECOND = 20  # frames


def watch(dead_air_s: float = 10.0) -> Watch:
    return Watch(dead_air_s, -16.0, UTC)


def feed(
    watching: Watch, sent: np.ndarray, heard: np.ndarray, peaks: np.ndarray | None = None
) -> list[tuple[int, Alarm]]:
    """Every alarm reported, with the frame whose step reported it."""
    size = max(len(sent), len(heard))
    sent = np.concatenate([sent, np.full(size - len(sent), NOTHING)])
    heard = np.concatenate([heard, np.full(size - len(heard), -100.0)])
    if peaks is None:
        peaks = np.sqrt(2) * 10 ** (np.nan_to_num(heard, nan=-100) / 20)
    reported = []
    for frame in range(size):
        for alarm in watching.step(frame, sent[frame], heard[frame], peaks[frame]):
            reported.append((frame, alarm))
    return reported


def at(frame: int):  # type: ignore[no-untyped-def]
    return time_of(frame, UTC)


def test_dead_air_starts_where_the_silence_began_and_ends_when_sound_is_back() -> None:
    sent = np.full(30 * SECOND, -20.0)
    heard = np.full(30 * SECOND, -100.0)
    heard[: 5 * SECOND] = heard[20 * SECOND :] = -25.0
    reported = feed(watch(), sent, heard)
    assert [(frame, alarm.kind, alarm.started, alarm.ended) for frame, alarm in reported] == [
        (15 * SECOND - 1, AlarmKind.DEAD_AIR, at(5 * SECOND), None),
        (20 * SECOND + 1, AlarmKind.DEAD_AIR, at(5 * SECOND), at(20 * SECOND)),
    ]
    assert "10 s" in reported[0][1].detail


def test_speech_heard_with_its_pauses_raises_nothing_over_ten_minutes() -> None:
    sent = speech(600 * SECOND)
    heard = delayed(sent, 6, -20, floor_db=-70)
    assert feed(watch(), sent, heard) == []


@pytest.mark.parametrize("lag", [0, -1], ids=["no delay", "heard a frame early"])
def test_the_wait_for_a_late_echo_after_a_broadcast_heard_to_its_end_is_no_dead_air(
    lag: int,
) -> None:
    """The shortest dead air (3 s) is as long as the wait for the echo (MAX_LAG); a monitor
    that hears without delay waits all of it in silence after the last word."""
    sent = np.concatenate([speech(10 * SECOND), np.full(SECOND, -100.0)])
    heard = np.concatenate([sent[-lag:], np.full(-lag, -100.0)]) if lag else sent.copy()
    heard = np.concatenate([np.where(heard > -100, -25.0, -100.0), np.full(5 * SECOND, -100.0)])
    assert feed(watch(3.0), sent, heard) == []


def test_a_dead_air_in_the_last_seconds_of_a_broadcast_is_raised() -> None:
    sent = np.concatenate([np.full(10 * SECOND, -20.0), np.full(SECOND, -100.0)])
    heard = np.concatenate([np.where(sent > -100, -25.0, -100.0), np.full(5 * SECOND, -100.0)])
    heard[8 * SECOND :] = -100.0
    reported = feed(watch(3.0), sent, heard)
    assert [(alarm.kind, alarm.started, alarm.ended is None) for _, alarm in reported][:1] == [
        (AlarmKind.DEAD_AIR, at(8 * SECOND), True)
    ]


def test_a_long_silent_gap_in_a_program_is_no_dead_air() -> None:
    sent = np.concatenate([np.full(5 * SECOND, -20.0), np.full(15 * SECOND, -100.0)])
    sent = np.concatenate([sent, np.full(5 * SECOND, -20.0)])
    heard = np.where(sent > -100, -25.0, -100.0)
    assert feed(watch(), sent, heard) == []


def test_a_whole_broadcast_unheard_is_off_the_air_until_one_is_heard() -> None:
    sent = np.full(40 * SECOND, NOTHING)
    sent[SECOND : 6 * SECOND] = -20.0  # heard by nobody
    sent[20 * SECOND : 25 * SECOND] = -20.0
    heard = np.full(40 * SECOND, -100.0)
    heard[20 * SECOND + 4 : 25 * SECOND + 4] = -30.0
    reported = feed(watch(), sent, heard)
    closed = 6 * SECOND - 1 + MAX_LAG + 1  # the first frame the broadcast is over
    assert [(frame, alarm.kind, alarm.started, alarm.ended) for frame, alarm in reported] == [
        (closed, AlarmKind.OFF_AIR, at(SECOND), None),
        (20 * SECOND + 5, AlarmKind.OFF_AIR, at(SECOND), at(20 * SECOND + 5)),
    ]


def test_a_voice_outside_broadcasts_is_unexpected_a_door_is_not() -> None:
    heard = np.full(30 * SECOND, -100.0)
    heard[2 * SECOND : 3 * SECOND] = -30.0  # a door
    heard[10 * SECOND : 15 * SECOND : 1] = -30.0
    heard[12 * SECOND : 12 * SECOND + 10] = -100.0  # a pause between words
    reported = feed(watch(), np.full(1, NOTHING), heard)
    assert [(frame, alarm.kind, alarm.started, alarm.ended) for frame, alarm in reported] == [
        (13 * SECOND - 1, AlarmKind.UNEXPECTED_SOUND, at(10 * SECOND), None),
        (17 * SECOND - 1, AlarmKind.UNEXPECTED_SOUND, at(10 * SECOND), at(15 * SECOND)),
    ]


def test_the_echo_of_a_broadcast_is_not_unexpected() -> None:
    sent = np.full(10 * SECOND, -20.0)
    heard = np.full(20 * SECOND, -100.0)
    heard[: 10 * SECOND + MAX_LAG] = -25.0
    assert feed(watch(), sent, heard) == []


def test_clipping_and_a_level_far_above_the_target_are_too_loud() -> None:
    heard = np.full(30 * SECOND, -20.0)
    peaks = np.full(30 * SECOND, 0.2)
    peaks[[100, 105, 110]] = 1.0
    sent = np.full(30 * SECOND, -20.0)
    reported = feed(watch(), sent, heard, peaks)
    assert [(frame, alarm.kind, alarm.ended) for frame, alarm in reported] == [
        (110, AlarmKind.TOO_LOUD, None),
        (110 + 5 * SECOND, AlarmKind.TOO_LOUD, at(110 + 5 * SECOND)),
    ]
    assert "clipping" in reported[0][1].detail
    loud = np.full(10 * SECOND, -4.0)  # 12 dB above -16
    reported = feed(watch(), np.full(10 * SECOND, -4.0), loud, np.full(10 * SECOND, 0.9))
    assert [(frame, alarm.kind) for frame, alarm in reported] == [
        (3 * SECOND - 1, AlarmKind.TOO_LOUD)
    ]
    assert "-4.0 dBFS" in reported[0][1].detail


def test_when_the_capture_has_nothing_the_alarms_that_need_it_end() -> None:
    sent = np.full(20 * SECOND, -20.0)
    heard = np.full(20 * SECOND, -100.0)
    heard[15 * SECOND :] = NOTHING  # the card was unplugged
    reported = feed(watch(), sent, heard)
    assert [(frame, alarm.kind, alarm.ended) for frame, alarm in reported] == [
        (10 * SECOND - 1, AlarmKind.DEAD_AIR, None),
        (15 * SECOND, AlarmKind.DEAD_AIR, at(15 * SECOND)),
    ]


def test_a_noisy_input_raises_the_threshold_of_sound() -> None:
    watching = watch()
    background = np.random.default_rng(3).normal(-50, 1, 120 * SECOND)
    assert feed(watching, np.full(1, NOTHING), background) == []
    assert watching.present_db == pytest.approx(-40, abs=2)
    sent = np.full(15 * SECOND, -20.0)  # the amplifier is off: the mic hears its background
    reported = feed(watching, sent, np.full(15 * SECOND, -50.0))
    assert [alarm.kind for _frame, alarm in reported] == [AlarmKind.DEAD_AIR]
