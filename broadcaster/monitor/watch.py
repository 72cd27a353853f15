"""The alarms, from the envelopes frame by frame: dead air, off the air, unexpected sound, too loud.

`Watch.step` takes one 50 ms frame at a time — what was sent due then and what was heard then —
and returns the alarms that start or end at it. It knows no clock: the monitor feeds it frames
as the capture completes them, the bench a whole simulated day as fast as it can. An alarm is
reported twice: when it starts (`ended` None) and when it ends.

What counts as sound: the monitor's own background is learnt from what it hears while nothing is
sent (a low percentile over the last minutes), and a heard frame is sound when it is
PRESENT_ABOVE_DB above it (within PRESENT_MIN_DB … PRESENT_MAX_DB).
"""

import collections
import math
from dataclasses import dataclass
from datetime import datetime, tzinfo

import numpy as np

from broadcaster.core.models import Alarm, AlarmKind
from broadcaster.i18n import _, format_decimal
from broadcaster.monitor.envelope import FRAME_S
from broadcaster.monitor.verdict import MAX_LAG, SENT_AUDIBLE_DB, TOLERANCE_FRAMES

PRESENT_MIN_DB = -60.0
PRESENT_MAX_DB = -35.0
PRESENT_ABOVE_DB = 10.0
BACKGROUND_FRAMES = round(120 / FRAME_S)
"""The background is learnt from the last two minutes heard while nothing was sent."""
BACKGROUND_PERCENTILE = 10
BACKGROUND_EVERY = 20
"""Frames between two updates of the background (a percentile of 2400 values each time)."""
HEARD_AFTER = 2
"""Consecutive frames of sound that end a dead air (one click does not)."""
OFF_AIR_MIN_S = 3.0
"""A broadcast with at least this much audible sent and nothing heard: off the air."""
OFF_AIR_AFTER_S = 60.0
"""…or this much audible sent, still playing, and nothing heard of it yet."""
UNEXPECTED_S = 3.0
"""Sound heard this long while nothing is sent: unexpected (a voice, not a door)."""
UNEXPECTED_GAP_S = 1.0
"""Pauses shorter than this (between words) do not end the sound."""
UNEXPECTED_END_S = 2.0
CLIP_PEAK = 0.99
CLIPPED_FRAMES = 3
"""Frames with a clipped peak within CLIP_WINDOW_S that make the sound too loud."""
CLIP_WINDOW_S = 1.0
TOO_LOUD_ABOVE_DB = 10.0
"""The heard level over LOUD_WINDOW_S this far above the station's target: too loud."""
LOUD_WINDOW_S = 3.0
TOO_LOUD_END_S = 5.0


def time_of(frame: int, tz: tzinfo | None = None) -> datetime:
    """When frame `frame` begins (aware; the PC's zone unless `tz`)."""
    moment = datetime.fromtimestamp(frame * FRAME_S, tz)
    return moment if tz is not None else moment.astimezone()


class Board:
    """The alarms that last, by kind: raising one that lasts (or ending one that does not) says
    nothing new."""

    def __init__(self, tz: tzinfo | None = None) -> None:
        self.tz = tz
        self.lasting: dict[AlarmKind, Alarm] = {}

    def start(self, kind: AlarmKind, frame: int, detail: str) -> list[Alarm]:
        return self.start_at(kind, time_of(frame, self.tz), detail)

    def start_at(self, kind: AlarmKind, started: datetime, detail: str) -> list[Alarm]:
        if kind in self.lasting:
            return []
        alarm = Alarm(kind, started, None, detail)
        self.lasting[kind] = alarm
        return [alarm]

    def end(self, kind: AlarmKind, frame: int) -> list[Alarm]:
        return self.end_at(kind, time_of(frame, self.tz))

    def end_at(self, kind: AlarmKind, ended: datetime) -> list[Alarm]:
        alarm = self.lasting.pop(kind, None)
        if alarm is None:
            return []
        return [Alarm(kind, alarm.started, max(ended, alarm.started), alarm.detail)]


@dataclass
class _Broadcast:
    """One broadcast as the monitor sees it: sent sound with pauses under MAX_DELAY_S."""

    first: int
    audible_frames: int = 0
    heard: bool = False


class Watch:
    """The alarm state machine; `present_db` is what the judge takes for sound too."""

    def __init__(self, dead_air_s: float, target_lufs: float, tz: tzinfo | None = None) -> None:
        self.dead_air_frames = max(1, round(dead_air_s / FRAME_S))
        self.loud_db = target_lufs + TOO_LOUD_ABOVE_DB
        self.board = Board(tz)
        self.present_db = PRESENT_MIN_DB
        self._background: collections.deque[float] = collections.deque(maxlen=BACKGROUND_FRAMES)
        self._since_background = 0
        self._last_sent: int | None = None
        self._last_audible: int | None = None
        self._broadcast: _Broadcast | None = None
        self._sound_streak = 0
        self._unheard_since: int | None = None
        """The first frame that should have been heard and was not, in the current silence."""
        self._unheard_frames = 0
        self._unexpected_since: int | None = None
        self._unexpected_last: int | None = None
        self._clipped: collections.deque[int] = collections.deque()
        self._loud: collections.deque[float] = collections.deque()
        self._loud_sum = 0.0
        self._too_loud_last: int | None = None

    def step(self, frame: int, sent_db: float, heard_db: float, heard_peak: float) -> list[Alarm]:
        """Frame `frame`: the level sent due then (NaN if nothing was), the level heard then
        (NaN if the capture has nothing) and its peak (0…1)."""
        if not math.isnan(sent_db):
            self._last_sent = frame
            if sent_db >= SENT_AUDIBLE_DB:
                self._last_audible = frame
        sending = self._last_sent is not None and frame - self._last_sent <= MAX_LAG
        should_hear = self._last_audible is not None and frame - self._last_audible <= MAX_LAG
        alarms = self._follow_broadcast(frame, sending, should_hear)
        if math.isnan(heard_db):
            return alarms + self._not_listening(frame)
        if not sending:
            self._learn_background(heard_db)
        sound = heard_db >= self.present_db
        self._sound_streak = self._sound_streak + 1 if sound else 0
        alarms += self._dead_air(frame, should_hear, sound)
        alarms += self._unexpected(frame, sending, sound)
        alarms += self._too_loud(frame, heard_db, heard_peak)
        return alarms

    def _follow_broadcast(self, frame: int, sending: bool, should_hear: bool) -> list[Alarm]:
        alarms: list[Alarm] = []
        if sending and self._broadcast is None:
            self._broadcast = _Broadcast(frame)
        broadcast = self._broadcast
        if broadcast is None:
            return alarms
        if not sending:
            self._broadcast = None
            alarms += self.board.end(AlarmKind.DEAD_AIR, frame)
            self._unheard_since, self._unheard_frames = None, 0
            if not broadcast.heard and broadcast.audible_frames * FRAME_S >= OFF_AIR_MIN_S:
                alarms += self._off_air(broadcast.first)
            return alarms
        if should_hear:
            broadcast.audible_frames += 1
        if not broadcast.heard and broadcast.audible_frames * FRAME_S >= OFF_AIR_AFTER_S:
            alarms += self._off_air(broadcast.first)
        return alarms

    def _off_air(self, first: int) -> list[Alarm]:
        detail = _(
            "The monitor heard nothing of a whole broadcast: the amplifier may be off or "
            "unplugged, or the loudspeakers' line cut."
        )
        return self.board.start(AlarmKind.OFF_AIR, first, detail)

    def _dead_air(self, frame: int, should_hear: bool, sound: bool) -> list[Alarm]:
        alarms: list[Alarm] = []
        if self._sound_streak >= HEARD_AFTER:
            if should_hear and self._broadcast is not None:
                self._broadcast.heard = True
                alarms += self.board.end(AlarmKind.OFF_AIR, frame)
            alarms += self.board.end(AlarmKind.DEAD_AIR, frame - HEARD_AFTER + 1)
            self._unheard_since, self._unheard_frames = None, 0
            return alarms
        if sound or not should_hear:
            return alarms
        if self._unheard_since is None:
            self._unheard_since = frame
        self._unheard_frames += 1
        if self._unheard_frames >= self.dead_air_frames and self._sent_while_unheard():
            seconds = format_decimal(self.dead_air_frames * FRAME_S, 0)
            detail = _(
                "Nothing heard for {seconds} s while a broadcast plays: check the amplifier, "
                "its volume and the loudspeakers' line."
            ).format(seconds=seconds)
            alarms += self.board.start(AlarmKind.DEAD_AIR, self._unheard_since, detail)
        return alarms

    def _sent_while_unheard(self) -> bool:
        """Whether audible sound was sent after the silence began (beyond the timing
        tolerance): the silence that follows a broadcast heard to its end is only its tail,
        however long the wait for a late echo."""
        return (
            self._last_audible is not None
            and self._unheard_since is not None
            and self._last_audible - self._unheard_since > TOLERANCE_FRAMES
        )

    def _unexpected(self, frame: int, sending: bool, sound: bool) -> list[Alarm]:
        alarms: list[Alarm] = []
        if sending:
            alarms += self.board.end(AlarmKind.UNEXPECTED_SOUND, frame)
            self._unexpected_since = self._unexpected_last = None
            return alarms
        if sound:
            gap = frame - self._unexpected_last if self._unexpected_last is not None else math.inf
            new = self._unexpected_since is None or gap * FRAME_S > UNEXPECTED_GAP_S
            if new and AlarmKind.UNEXPECTED_SOUND not in self.board.lasting:
                self._unexpected_since = frame
            self._unexpected_last = frame
            since = self._unexpected_since
            if since is not None and (frame - since + 1) * FRAME_S >= UNEXPECTED_S:
                detail = _(
                    "Sound heard while nothing was broadcast (someone at the microphone, or "
                    "another source on the amplifier)."
                )
                alarms += self.board.start(AlarmKind.UNEXPECTED_SOUND, since, detail)
        elif (
            self._unexpected_last is not None
            and (frame - self._unexpected_last) * FRAME_S >= UNEXPECTED_END_S
        ):
            alarms += self.board.end(AlarmKind.UNEXPECTED_SOUND, self._unexpected_last + 1)
            self._unexpected_since = self._unexpected_last = None
        return alarms

    def _too_loud(self, frame: int, heard_db: float, peak: float) -> list[Alarm]:
        if peak >= CLIP_PEAK:
            self._clipped.append(frame)
        while self._clipped and (frame - self._clipped[0]) * FRAME_S >= CLIP_WINDOW_S:
            self._clipped.popleft()
        energy = 10 ** (heard_db / 10)
        self._loud.append(energy)
        self._loud_sum += energy
        if len(self._loud) > round(LOUD_WINDOW_S / FRAME_S):
            self._loud_sum -= self._loud.popleft()
        full = len(self._loud) == round(LOUD_WINDOW_S / FRAME_S)
        level = 10 * math.log10(max(self._loud_sum / len(self._loud), 1e-12))
        clipping = len(self._clipped) >= CLIPPED_FRAMES
        if clipping or (full and level >= self.loud_db):
            self._too_loud_last = self._clipped[-1] if clipping else frame
            detail = (
                _("The monitor hears clipping: turn the amplifier's input or Loa's level down.")
                if clipping
                else _(
                    "The monitor hears {level} dBFS, far above the station's level: turn the "
                    "amplifier's input down."
                ).format(level=format_decimal(level))
            )
            return self.board.start(AlarmKind.TOO_LOUD, frame, detail)
        if (
            self._too_loud_last is not None
            and (frame - self._too_loud_last) * FRAME_S >= TOO_LOUD_END_S
        ):
            self._too_loud_last = None
            return self.board.end(AlarmKind.TOO_LOUD, frame)
        return []

    def _not_listening(self, frame: int) -> list[Alarm]:
        """The capture has nothing here: what it heard says nothing now (the device alarm
        does); the alarms that depend on hearing end."""
        self._sound_streak = 0
        self._unheard_since, self._unheard_frames = None, 0
        self._unexpected_since = self._unexpected_last = None
        self._loud.clear()
        self._loud_sum = 0.0
        self._clipped.clear()
        self._too_loud_last = None
        alarms: list[Alarm] = []
        for kind in (AlarmKind.DEAD_AIR, AlarmKind.UNEXPECTED_SOUND, AlarmKind.TOO_LOUD):
            alarms += self.board.end(kind, frame)
        return alarms

    def _learn_background(self, heard_db: float) -> None:
        self._background.append(heard_db)
        self._since_background += 1
        if self._since_background >= BACKGROUND_EVERY:
            self._since_background = 0
            floor = float(np.percentile(self._background, BACKGROUND_PERCENTILE))
            self.present_db = min(PRESENT_MAX_DB, max(PRESENT_MIN_DB, floor + PRESENT_ABOVE_DB))
