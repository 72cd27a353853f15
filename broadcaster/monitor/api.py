"""What the on-air monitor offers the station, apart from how it listens (Mopidy's audio API).

The station hands every chunk it sends to `Monitor.sent` (through `MonitoredOutput`, which wraps
the station's output), and asks `Monitor.judge` for each as-run row once the row is final. Alarms
(dead air, off the air, unexpected sound, too loud) come through the callback the monitor was
made with, on the monitor's own thread. A monitor never raises into the air path: a device that
is missing or gone makes every judgement `Heard.UNKNOWN` with the reason.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from broadcaster.audio.api import Chunk
from broadcaster.core.models import Heard


@dataclass(frozen=True)
class Hearing:
    """The monitor's verdict on one stretch of broadcast (an as-run row's sound)."""

    heard: Heard
    loudness_db: float | None = None
    """The level of what came back, dBFS (RMS) over the stretch's sound; None when unknown."""
    delay_ms: int | None = None
    """How long after it was sent the sound came back (found by correlation)."""
    reason: str = ""
    """Why not `yes`: the seconds not heard, or why the monitor could not listen (translated)."""
    audio_log: str = ""
    """Where the stretch is in the daily audio log: `FILE@SECONDS`, empty when there is none."""


class AlarmKind(StrEnum):
    DEAD_AIR = "dead-air"
    """Nothing heard for `monitor.dead_air_s` while an item plays."""
    OFF_AIR = "off-air"
    """Nothing heard at all during broadcasts: the amplifier is off or unplugged."""
    UNEXPECTED_SOUND = "unexpected-sound"
    """Sound outside broadcasts (someone at the microphone): logged, not an error."""
    TOO_LOUD = "too-loud"
    """Clipping or a level far above the station's target."""
    DEVICE = "device"
    """The monitor's input is missing or went away (an unplugged USB card)."""
    AUDIO_LOG = "audio-log"
    """The daily audio log stopped (a full disk); the checks go on."""


@dataclass(frozen=True)
class Alarm:
    kind: AlarmKind
    started: datetime
    ended: datetime | None
    """None while it lasts; the same alarm is reported again with its end."""
    detail: str
    """What happened, for `loa status`, the log and the province (translated)."""


class Monitor(Protocol):
    def sent(self, chunk: Chunk, heard_from: float) -> None:
        """The station sent this chunk; its first sample is due at `heard_from` (time.time())."""
        ...

    def judge(self, started: datetime, ended: datetime) -> Hearing:
        """What was heard of what was sent between these times. Waits (a few seconds at most)
        until the capture covers `ended` plus the longest delay it looks for."""
        ...

    def alarms(self) -> list[Alarm]:
        """The alarms that last now, for `loa status` and `loa doctor`."""
        ...

    def close(self) -> None:
        """Stop listening; the audio log is closed cleanly."""
        ...


class AudioLog(Protocol):
    def cut(self, at: datetime, seconds: float, out: Path) -> Path:
        """Write what was heard from `at` for `seconds` to `out` (its format by its extension);
        a LoaError says when the log has nothing there. Works without a running station."""
        ...
