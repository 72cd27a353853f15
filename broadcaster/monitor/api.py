"""What the on-air monitor offers the station, apart from how it listens (Mopidy's audio API).

The station hands every chunk it sends to `Monitor.sent` (through `MonitoredOutput`, which wraps
the station's output), and asks `Monitor.judge` for each as-run row once the row is final. Alarms
(dead air, off the air, unexpected sound, too loud) come through the callback the monitor was
made with, on the monitor's own thread. A monitor never raises into the air path: a device that
is missing or gone makes every judgement `Heard.UNKNOWN` with the reason. The values it hands
over (`Hearing`, `Alarm`) are the core's, so that the as-run log and the events carry them
without knowing the monitor.
"""

from datetime import datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

from broadcaster.audio.api import Chunk
from broadcaster.core.models import Alarm, Hearing


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


@runtime_checkable
class Withdrawing(Protocol):
    """A monitor that can be told that playback stopped early (MonitoredOutput tells it): the
    chunks an output took ahead of time, due after the stop, will not be heard."""

    def withdraw(self, after: float) -> None:
        """Nothing sent for after `after` (time.time()) plays."""
        ...
