"""The live buffer over hours, on a simulated clock: a source whose clock runs fast or slow, and
HLS's bursts, never make the latency grow; a pause resumes at the live point."""

import pytest

from broadcaster.relay.live import (
    CAPACITY_S,
    CUSHION_S,
    SLACK_S,
    STEADY_WINDOW_S,
    WINDOW_S,
    LiveBuffer,
)

RATE = 8000
FRAME = 2
PER_SECOND = RATE * FRAME
STEP_S = 0.1


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def run(
    buffer: LiveBuffer,
    clock: Clock,
    hours: float,
    source_speed: float,
    burst_s: float = STEP_S,
) -> list[float]:
    """The player takes 100 ms every 100 ms of the clock; the source writes `source_speed`
    times real time, in bursts of `burst_s`. The levels seen by the player, in seconds."""
    levels = []
    written_s = 0.0
    owed_s = 0.0
    for step in range(int(hours * 3600 / STEP_S)):
        clock.now += STEP_S
        owed_s += STEP_S * source_speed
        if owed_s >= burst_s:
            frames = int(owed_s * RATE)
            buffer.write(b"\x01\x00" * frames)
            owed_s -= frames / RATE
            written_s += frames / RATE
        buffer.read(int(STEP_S * RATE) * FRAME)
        if step % 10 == 0:
            buffer.settle()
        levels.append(buffer.level_s())
    return levels


@pytest.mark.parametrize("source_speed", [1.001, 0.999, 1.0])
def test_latency_stays_bounded_for_hours_whatever_the_source_clock(source_speed: float):
    clock = Clock()
    buffer = LiveBuffer(PER_SECOND, FRAME, clock)
    levels = run(buffer, clock, hours=3, source_speed=source_speed)
    assert max(levels[6000:]) <= CUSHION_S + SLACK_S + STEP_S + 0.05
    assert buffer.capacity <= CAPACITY_S * PER_SECOND
    if source_speed > 1:
        assert buffer.dropped > 0  # 0.1 % of three hours: about 10 s dropped at the edge
    if source_speed < 1:
        assert buffer.filled > 0


def test_hls_bursts_play_through_without_drops_once_settled():
    clock = Clock()
    buffer = LiveBuffer(PER_SECOND, FRAME, clock)
    run(buffer, clock, hours=0.05, source_speed=1.0, burst_s=2.0)
    dropped, filled = buffer.dropped, buffer.filled
    levels = run(buffer, clock, hours=1, source_speed=1.0, burst_s=2.0)
    assert buffer.dropped == dropped
    assert buffer.filled == filled
    assert max(levels) <= 2.0 + CUSHION_S + SLACK_S + STEP_S


def test_a_burst_larger_than_the_buffer_keeps_the_newest_audio():
    clock = Clock()
    buffer = LiveBuffer(PER_SECOND, FRAME, clock)
    seconds = int(CAPACITY_S) + 5
    buffer.write(b"".join(second.to_bytes(2, "little") * RATE for second in range(seconds)))
    assert buffer.level_s() == pytest.approx(CAPACITY_S)
    data, real = buffer.read(FRAME)
    assert real == FRAME
    assert int.from_bytes(data, "little") == seconds - CAPACITY_S


def test_skipping_for_a_pause_goes_no_further_than_the_live_edge_and_pads_with_silence():
    clock = Clock()
    buffer = LiveBuffer(PER_SECOND, FRAME, clock)
    buffer.write(b"\x07\x00" * RATE)
    buffer.skip(PER_SECOND * 5)
    assert buffer.level() == 0
    data, real = buffer.read(100)
    assert (real, data) == (0, bytes(100))
    assert buffer.filled == 100


def test_a_steady_streams_connection_burst_is_trimmed_within_the_short_window():
    """Before a slot, a stream at the pace of the clock is watched for STEADY_WINDOW_S, not
    WINDOW_S: the connection's burst is gone before the first sample is heard."""
    clock = Clock()
    buffer = LiveBuffer(PER_SECOND, FRAME, clock)
    buffer.write(b"\x01\x00" * int(RATE * 1.5))  # the server's burst on connecting
    trimmed_at = None
    for step in range(int(WINDOW_S / STEP_S)):
        clock.now += STEP_S
        buffer.write(b"\x01\x00" * int(RATE * STEP_S))
        buffer.skip(int(RATE * STEP_S) * FRAME)  # nobody plays: the position follows the clock
        buffer.settle(cushion_s=0.8, window_s=STEADY_WINDOW_S, slack_s=STEP_S)
        if trimmed_at is None and buffer.level_s() <= 0.8 + STEP_S:
            trimmed_at = step * STEP_S
    assert trimmed_at is not None and trimmed_at <= STEADY_WINDOW_S
    assert buffer.level_s() == pytest.approx(0.8, abs=STEP_S)
