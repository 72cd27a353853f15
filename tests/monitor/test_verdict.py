"""The verdict on one stretch, from envelopes written as levels: the delay found whatever the
monitor's gain, the share heard, and unknown when the monitor could not listen."""

import math

import numpy as np
import pytest

from broadcaster.core.models import Heard
from broadcaster.monitor.verdict import MAX_LAG, find_delay, judge_frames
from tests.monitor.levels import delayed, frames, speech

pytestmark = pytest.mark.usefixtures("english")

SENT = speech(400)  # 20 s
PRESENT_DB = -60.0


def heard_for(levels: np.ndarray) -> np.ndarray:
    """The heard frames a judge reads: the stretch and MAX_LAG more."""
    padded = np.full(len(SENT) + MAX_LAG, -100.0)
    padded[: min(len(levels), len(padded))] = levels[: len(padded)]
    return padded


@pytest.mark.parametrize("lag", [0, 1, 7, 33, MAX_LAG])
@pytest.mark.parametrize("gain_db", [-30.0, 0.0])
def test_the_delay_is_found_whatever_the_monitor_gain(lag: int, gain_db: float) -> None:
    heard = heard_for(delayed(SENT, lag, gain_db, floor_db=-75))
    found, correlation = find_delay(SENT, heard, PRESENT_DB - 6)
    assert found == pytest.approx(lag, abs=0.5) and correlation > 0.8
    hearing, _lag = judge_frames(frames(SENT), frames(heard), PRESENT_DB)
    assert hearing.heard is Heard.YES and hearing.reason == ""
    assert hearing.delay_ms == pytest.approx(lag * 50, abs=25)
    assert hearing.loudness_db == pytest.approx(-17 + gain_db, abs=4)


def test_a_steady_tone_has_no_delay_to_find_but_is_judged_heard() -> None:
    steady = np.full(100, -20.0)
    assert math.isnan(find_delay(steady, np.full(160, -20.0), -66)[0])
    hearing, found = judge_frames(frames(steady), frames(np.full(160, -30.0)), PRESENT_DB)
    assert hearing.heard is Heard.YES and hearing.delay_ms is None and found is None


def test_a_ten_second_hole_is_partly_with_the_seconds_lost() -> None:
    heard = delayed(SENT, 5, -10)
    heard[105:305] = -100.0  # 10 s the loudspeakers did not play
    hearing, _lag = judge_frames(frames(SENT), frames(heard_for(heard)), PRESENT_DB)
    audible = SENT >= -40
    lost = audible[100:300].sum() * 0.05
    assert hearing.heard is Heard.PARTLY
    assert hearing.reason == f"{lost:.1f} s of {audible.sum() * 0.05:.1f} s not heard"
    assert hearing.delay_ms == 250


def test_silence_where_sound_was_sent_is_no() -> None:
    hearing, found = judge_frames(frames(SENT), frames(heard_for(np.full(1, -100.0))), PRESENT_DB)
    assert hearing.heard is Heard.NO and found is None
    assert hearing.reason == f"nothing heard of {(SENT >= -40).sum() * 0.05:.1f} s sent"
    assert hearing.loudness_db == -100.0


def test_a_background_below_the_threshold_is_not_sound() -> None:
    heard = heard_for(np.full(len(SENT) + MAX_LAG, -58.0))
    assert judge_frames(frames(SENT), frames(heard), -48.0)[0].heard is Heard.NO


def test_the_delay_found_before_is_used_when_none_can_be_found() -> None:
    heard = delayed(SENT, 20, 0)
    heard[:] = np.where(heard > -100, -20.0, -100.0)  # levels flattened: little to correlate
    hearing, _lag = judge_frames(frames(SENT), frames(heard_for(heard)), PRESENT_DB, known_lag=20)
    assert hearing.heard is Heard.YES and hearing.delay_ms == 1000


def test_without_the_capture_it_is_unknown_with_the_monitors_reason() -> None:
    missing = np.full(len(SENT) + MAX_LAG, np.nan)
    hearing, _lag = judge_frames(frames(SENT), frames(missing), PRESENT_DB, None, "card unplugged")
    assert hearing.heard is Heard.UNKNOWN and hearing.reason == "card unplugged"
    assert hearing.loudness_db is None and hearing.delay_ms is None
    half = heard_for(delayed(SENT, 3, 0))
    half[: len(SENT) // 2] = np.nan  # the capture came back halfway: the rest is judged
    assert judge_frames(frames(SENT), frames(half), PRESENT_DB)[0].heard is Heard.YES


def test_nothing_audible_sent_is_unknown() -> None:
    quiet = np.full(100, -70.0)
    hearing, _lag = judge_frames(frames(quiet), frames(np.full(160, -20.0)), PRESENT_DB)
    assert hearing.heard is Heard.UNKNOWN and hearing.reason == "nothing audible was sent"


def test_a_ten_second_dropout_in_a_long_relay_is_partly_however_much_else_was_heard() -> None:
    sent = speech(24000, seed=5)  # 20 minutes
    heard = delayed(sent, 4, -10)
    heard[12004:12204] = -100.0
    padded = np.concatenate([heard, np.full(MAX_LAG, -100.0)])[: len(sent) + MAX_LAG]
    hearing, _lag = judge_frames(frames(sent), frames(padded), PRESENT_DB)
    assert hearing.heard is Heard.PARTLY and hearing.reason.endswith("not heard")
    heard = delayed(sent, 4, -10)
    heard[12004:12044] = -100.0  # two seconds of the same: yes
    padded = np.concatenate([heard, np.full(MAX_LAG, -100.0)])[: len(sent) + MAX_LAG]
    assert judge_frames(frames(sent), frames(padded), PRESENT_DB)[0].heard is Heard.YES
