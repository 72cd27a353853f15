"""Honest doubles for what no real part can do in a test: a clock that simulates days, and a
sound card that takes no real time."""

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from pydub import AudioSegment

from broadcaster.audio.outputs import PlaybackStopped


@dataclass
class FakeClock:
    """Wall-clock time that moves only when told to, as the daemon's `now`, with a monotonic
    clock beside it: time passing moves both, setting the wall clock moves only the wall."""

    moment: datetime
    steady: float = 0.0

    def __call__(self, zone: ZoneInfo) -> datetime:
        return self.moment.astimezone(zone)

    def monotonic(self) -> float:
        return self.steady

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)
        self.steady += seconds

    def set(self, moment: datetime) -> None:
        """The clock set by hand (or a PC waking from sleep): only the wall clock moves."""
        self.moment = moment


@dataclass
class Program:
    """One program the sink was given: when its first sample played (on the fake clock), how
    long it was heard, and whether it was played to its end."""

    started: datetime
    heard_s: float = 0.0
    completed: bool = False
    ended: datetime | None = None
    tag: object = None


@dataclass
class FastSink:
    """Plays every rendered segment instantly, moving the clock on by the segment's length, so a
    simulated day passes as fast as the audio renders; keeps only what it was given per program.
    `hold` makes it wait (really) on each segment until stopped or released, to test
    interruptions; `fail` makes it refuse like a missing sound card."""

    clock: FakeClock
    programs: list[float] = field(default_factory=list)
    """Seconds of audio per completed or stopped program, in order."""
    hold: threading.Event | None = None
    started: threading.Event = field(default_factory=threading.Event)
    fail: BaseException | None = None
    fail_after: int = 0
    """Segments played before `fail` is raised; 0 fails when the device is opened."""
    completed: int = 0
    """Programs played to their end."""
    played: list[Program] = field(default_factory=list)
    """Every program, in order, with its start on the fake clock: what a listener heard."""
    tag: object = None
    """Copied into each program as it starts: what the test wants to know it was played under."""
    after_segment: Callable[[Program, int], None] | None = None
    """Called after each segment heard (the program, the segment's index): lets a test act in
    the middle of a broadcast, as an officer's emergency does."""

    def play(
        self,
        segments: Iterable[AudioSegment],
        stop: threading.Event | None = None,
        start_at: float | None = None,
    ) -> None:
        if self.fail is not None and not self.fail_after:
            raise self.fail
        if start_at is not None and start_at > self.clock.moment.timestamp():
            self.clock.advance(start_at - self.clock.moment.timestamp())  # waits for its time
        heard_ms = 0.0
        self.programs.append(0.0)
        program = Program(self.clock.moment, tag=self.tag)
        self.played.append(program)
        try:
            for index, segment in enumerate(segments):
                if self.fail is not None and index >= self.fail_after > 0:
                    raise self.fail  # in the middle of the program
                self.started.set()
                if stop is not None and stop.is_set():
                    raise PlaybackStopped
                heard_ms += len(segment)
                self.clock.advance(len(segment) / 1000)
                program.heard_s = heard_ms / 1000
                if self.after_segment is not None:
                    self.after_segment(program, index)
                while self.hold is not None and not self.hold.is_set():
                    if stop is not None and stop.wait(0.01):
                        raise PlaybackStopped
        finally:
            self.programs[-1] = heard_ms / 1000
            program.ended = self.clock.moment
        program.completed = True
        self.completed += 1
